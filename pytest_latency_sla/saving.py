"""Whether ``--sla-save`` may write a baseline from a run's (or a merge's) records: the
rules a pytest run and the merge command share.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from .schema import SlaRecord

__all__ = ["measured_twice", "save_refusal"]


def save_refusal(
    save: str, records: Sequence[SlaRecord], stopped: str, where: str, exists: bool
) -> str:
    """Why ``--sla-save`` must not write the baseline at ``save`` from ``records``, in a
    sentence, or "". ``stopped``: why the results are partial ("" when whole); ``where``:
    the results ("this run"); ``exists``: a file is at ``save``. The rules of a pytest
    run and of the merge command alike."""
    count = len(records)
    if not count:
        return (
            f"no SLA measurements in {where}, so --sla-save wrote no baseline to {save} "
            "(a file there is left as it was)"
        )
    if stopped and exists:
        return (
            f"{stopped}, so --sla-save left the baseline {save} as it was rather than "
            f"replace it with {count} measurement{'s' if count != 1 else ''}: run every "
            "test to save one"
        )
    if twice := measured_twice(records):
        return (
            f"{twice} was measured twice in {where} (a test collected twice, as "
            f"--keep-duplicates with a path given twice does), so --sla-save wrote no "
            f"baseline to {save}, which holds one measurement of each: run each test once "
            "to save one"
        )
    return ""


def measured_twice(records: Iterable[SlaRecord]) -> str:
    """A measurement made more than once (by label), or ""."""
    seen: set[tuple[str, int]] = set()
    for record in records:
        key = (record["nodeid"], record["index"])
        if key in seen:
            return record["label"]
        seen.add(key)
    return ""
