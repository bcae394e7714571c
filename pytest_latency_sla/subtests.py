"""pytest's subtests (the ``subtests`` fixture, built in from pytest 9): which test
reports are a subtest's, and which of a test's records go with one.

A subtest's report is made (``pytest_runtest_makereport`` with ``when="call"``) while a
phase of its test (setup, call or teardown) still runs; the test's own reports are made
between the phases. A measurement made within a subtest goes with that subtest's report,
and so has its outcome; one made before the subtest began stays for the test's own
report. The test counts as measured either way.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from .schema import SlaRecord

__all__ = ["begin", "is_subtest", "made", "measured", "running", "take"]

#: Whether a phase of the item runs: a call report made meanwhile is a subtest's.
RUNNING_KEY = pytest.StashKey[bool]()
#: When each record of the item's current run was made (``time.perf_counter()``, whose
#: resolution a subtest's ``duration`` has too: ``time.time()`` ticks every 15.6 ms on
#: some platforms), by the record's ``id()``.
MADE_KEY = pytest.StashKey[dict[int, float]]()
#: The records of the item's current run that went with a subtest's report.
SENT_KEY: pytest.StashKey[list[SlaRecord]] = pytest.StashKey()


def begin(item: pytest.Item) -> None:
    """A run of the item starts: its setup phase runs (called before its fixtures)."""
    item.stash[RUNNING_KEY] = True
    item.stash[MADE_KEY] = {}
    item.stash[SENT_KEY] = []


@contextlib.contextmanager
def running(item: pytest.Item) -> Iterator[None]:
    """Around the item's call or teardown phase."""
    item.stash[RUNNING_KEY] = True
    try:
        yield
    finally:
        item.stash[RUNNING_KEY] = False


def made(item: pytest.Item, record: SlaRecord) -> None:
    """Note when a record was made."""
    item.stash.setdefault(MADE_KEY, {})[id(record)] = time.perf_counter()


def is_subtest(item: pytest.Item, call: pytest.CallInfo[None]) -> bool:
    """Whether the report being made is a subtest's. (The setup's own report, made once
    its phase is over, ends that phase.)"""
    if call.when != "call":
        item.stash[RUNNING_KEY] = False
        return False
    return item.stash.get(RUNNING_KEY, False)


def take(
    item: pytest.Item, records: list[SlaRecord], call: pytest.CallInfo[None]
) -> list[SlaRecord]:
    """The records made within the subtest that ``call`` reports (since it started),
    taken out of ``records``, where the others stay."""
    when = item.stash.get(MADE_KEY, {})
    # Its start on the same clock: the report is made as the subtest ends.
    began = time.perf_counter() - call.duration
    within = [r for r in records if when.get(id(r), began) >= began]
    taken = {id(r) for r in within}
    records[:] = [r for r in records if id(r) not in taken]
    item.stash.setdefault(SENT_KEY, []).extend(within)
    return within


def measured(item: pytest.Item, records: list[SlaRecord]) -> list[SlaRecord]:
    """What the item's current run measured: the records its subtests' reports took,
    and ``records``, those not sent yet."""
    return [*item.stash.get(SENT_KEY, []), *records]
