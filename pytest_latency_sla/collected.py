"""The tests of this run as pytest collected them, before any was deselected: which of a
stored baseline's tests are gone from the suite (``renamed.gone``), to find a renamed
test's old entry by its model.

Registered with ``--sla-compare`` in every process that runs tests (each pytest-xdist
worker collects the whole suite too), before the ``sla`` fixture reads the baseline.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import pytest

from .renamed import gone

if TYPE_CHECKING:
    from collections.abc import Generator

    from .baseline import Baseline

__all__ = ["CollectedTests"]


class CollectedTests:
    """A pytest plugin object: once collection is over, the baseline in ``config.stash``
    at ``key`` is replaced by one that knows which of its entries are gone."""

    def __init__(self, config: pytest.Config, key: pytest.StashKey[Baseline]) -> None:
        self._config = config
        self._key = key
        self._collected: set[str] = set()

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_collection_modifyitems(
        self, items: list[pytest.Item]
    ) -> Generator[None, object, object]:
        # Before -k, -m, --deselect or --sw deselect tests, or a splitting plugin leaves
        # them to other CI jobs: tests of the suite all the same, whose entries no
        # renamed test may take.
        self._collected = {item.nodeid for item in items}
        return (yield)

    @pytest.hookimpl
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        baseline = self._config.stash.get(self._key, None)
        if baseline is None:
            return
        tests = self._collected | {item.nodeid for item in session.items}
        # Given node ids (a.py::test_x), pytest collects those alone from their files;
        # --lf leaves a file's passed tests out while it collects it (no deselection).
        narrowed = any("::" in str(arg) for arg in self._config.args) or bool(
            self._config.getoption("lf", False)
        )
        root = str(self._config.rootpath)
        found = gone(baseline.entries, tests, narrowed, root)
        self._config.stash[self._key] = dataclasses.replace(baseline, gone=found)
