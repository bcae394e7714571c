"""The words of a side-by-side comparison with the base revision (``--sla-compare-ref``,
``--sla-compare-dir``), for every human-readable report: a record's line, the table's
order and cells, and the measurements that could not be compared."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import fmt

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..schema import RevisionEntry, SlaRecord

__all__ = [
    "OUTCOME_ORDER",
    "OUTCOME_TEXT",
    "changed_models",
    "not_comparable_text",
    "ratio_cell",
    "revision_of",
    "revision_text",
]


def revision_text(entry: RevisionEntry) -> str:
    """One line on the comparison, base and head side by side, e.g. ``against main: p50
    102 µs -> 123 µs, 1.21x (1.18-1.24); p99 140 µs -> 167 µs, 1.19x (1.08-1.31):
    regression; this run could tell a change of 3%``."""
    ref = entry["ref"]
    status = entry["status"]
    if status == "unchanged":
        return f"model identical at {ref} (same bytes): not measured again"
    if status == "new":
        return f"new: no such model at {ref}"
    if status == "not comparable":
        return f"not comparable by revision (only model files are compared with {ref})"
    p50, tail, percentile = entry["p50_ratio"], entry["percentile_ratio"], entry["percentile"]
    if percentile is None:
        return f"against {ref}: {status}"
    detectable = entry["detectable"]
    could = (
        f"; this run could tell a change of {detectable * 100:.0f}%"
        if detectable is not None and detectable < 10
        else ""
    )
    reason = entry.get("stop_reason")
    unsettled = (
        f"; unsettled after {fmt.duration(entry['duration_s'])} ({reason})"
        if reason not in (None, "decided")
        else ""
    )
    sides = (
        f"p50 {_sides(entry['base_p50_s'], entry['head_p50_s'])}{_ratio(p50)}; "
        f"{fmt.pct_label(percentile)} "
        f"{_sides(entry['base_percentile_s'], entry['head_percentile_s'])}{_ratio(tail)}"
    )
    return f"against {ref}: {sides}: {entry['outcome']}{could}{unsettled}"


def _sides(base: float | None, head: float | None) -> str:
    if base is None or head is None:
        return ""
    return f"{fmt.duration(base)} -> {fmt.duration(head)}, "


def _ratio(values: list[float] | None) -> str:
    if not values:
        return "no ratio (too few blocks side by side)"
    ratio, low, high = values
    return f"{ratio:.2f}x ({low:.2f}-{high:.2f})"


def revision_of(record: SlaRecord) -> RevisionEntry | None:
    """The record's comparison with the base revision (None in reports of versions
    before 3, and without ``--sla-compare-ref``)."""
    found: RevisionEntry | None = record.get("revision")
    return found


#: How the side-by-side tables order and name outcomes: slower first.
OUTCOME_ORDER = {"regression": 0, "unknown": 1, "unchanged": 2, "improvement": 3}
OUTCOME_TEXT = {
    "regression": "slower",
    "improvement": "faster",
    "unchanged": "unchanged",
    "unknown": "cannot tell",
}


def changed_models(records: Sequence[SlaRecord]) -> list[tuple[SlaRecord, RevisionEntry]]:
    """The measurements of models measured side by side with the base revision (their
    files changed), with their entries: slower first, then undecided, unchanged, faster."""
    changed = [(r, e) for r in records if (e := revision_of(r)) and e["status"] == "changed"]
    changed.sort(key=lambda pair: OUTCOME_ORDER.get(pair[1]["outcome"] or "", 1))
    return changed


def not_comparable_text(records: Sequence[SlaRecord], quote: str = "") -> str | None:
    """The measurements that could not be measured side by side with the base revision,
    e.g. ``1 measurement not comparable with main (t.py::test_fn): only model files given
    by path are measured side by side with the base``; None when there are none. Labels
    go between ``quote`` (Markdown's backticks)."""
    apart = [
        (r["label"], e)
        for r in records
        if (e := revision_of(r)) is not None and e["status"] == "not comparable"
    ]
    if not apart:
        return None
    count, ref = len(apart), apart[0][1]["ref"]
    shown = ", ".join(f"{quote}{label}{quote}" for label, _ in apart[:_NAMED])
    more = f" and {count - _NAMED} more" if count > _NAMED else ""
    return (
        f"{count} measurement{'s' if count != 1 else ''} not comparable with {ref} "
        f"({shown}{more}): only model files given by path are measured side by side "
        "with the base"
    )


#: The most measurements named in one line of notes.
_NAMED = 3


def ratio_cell(values: list[float] | None) -> str:
    """A ratio with its interval, ``1.21x (1.18-1.24)``; ``-`` without one."""
    if not values:
        return "-"
    return _ratio(values)
