"""The terminal report: a one-line summary and the ``--sla-report`` table.

Pure functions from records to lines of text; printing is the caller's business.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import fmt
from .document import sort_by_margin

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..schema import SlaRecord

__all__ = [
    "BAND_TEXT",
    "budget_label",
    "change_label",
    "sort_by_margin",
    "summary_line",
    "table",
    "verdict_label",
]


def verdict_label(record: SlaRecord) -> str:
    """The verdict, ``disabled`` under ``--sla-disable``, or ``-`` without a budget."""
    return record["verdict"] or ("disabled" if record["stop_reason"] == "disabled" else "-")


def budget_label(record: SlaRecord) -> str:
    """``p99 <= 50 ms``, or ``p99 (no budget)``."""
    pct = f"p{record['percentile']:g}"
    if record["budget_value"] is None or record["budget_unit"] is None:
        return f"{pct} (no budget)"
    return f"{pct} <= {fmt.budget(record['budget_value'], record['budget_unit'])}"


def change_label(record: SlaRecord) -> str:
    """Against the baseline: ``p99 +23% regression``, ``p99 -3%``, ``new``, ``mismatch``."""
    comparison = record["comparison"]
    if comparison is None:
        return "-"
    status, change = comparison["status"], comparison["change"]
    if status in ("new", "mismatch") or change is None:
        return status
    text = f"p{record['percentile']:g} {change * 100:+.0f}%"
    return f"{text} {status}" if status in ("regression", "improvement") else text


def summary_line(records: Sequence[SlaRecord], headroom: float) -> str:
    """E.g. ``2 SLA measurements: 2 pass; tightest margin 1,850x (test_a): stop optimizing``."""
    counts: dict[str, int] = {}
    for record in records:
        verdict = record["verdict"] or "no budget"
        counts[verdict] = counts.get(verdict, 0) + 1
    order = ("fail", "inconclusive", "pass", "no budget")
    parts = ", ".join(f"{counts[v]} {v}" for v in order if v in counts)
    noun = "measurement" if len(records) == 1 else "measurements"
    line = f"{len(records)} SLA {noun}: {parts}"
    judged = [r for r in records if r["margin"] is not None]
    if judged:
        tightest = sort_by_margin(judged)[0]
        margin = tightest["margin"]
        assert margin is not None
        line += f"; tightest margin {fmt.margin(margin)} ({tightest['label']})"
        if all(r["band"] == "headroom" for r in judged):
            line += (
                f": every margin is {headroom:g}x or more, "
                "further optimization buys nothing for these SLAs"
            )
    statuses = [r["comparison"]["status"] for r in records if r["comparison"]]
    if statuses:
        changes = [
            f"{statuses.count(s)} {s}{'s' if statuses.count(s) > 1 else ''}"
            for s in ("regression", "improvement", "mismatch")
            if s in statuses
        ]
        line += "; against the baseline: " + (", ".join(changes) if changes else "no change")
    return line


BAND_TEXT = {
    "miss": "MISS",
    "tight": "tight",
    "ok": "ok",
    "headroom": "stop optimizing",
}


def _row(record: SlaRecord, verbose: bool, compared: bool) -> list[str]:
    row = [
        record["label"],
        budget_label(record),
        fmt.duration(record["measured_s"]),
        fmt.duration(record["p50_s"]),
        fmt.margin(record["margin"]),
        BAND_TEXT.get(record["band"] or "", "-"),
        verdict_label(record),
        fmt.count(record["samples"]),
        fmt.rate(record["throughput"]),
    ]
    if compared:
        row.append(change_label(record))
    if verbose:
        providers = ",".join(p.replace("ExecutionProvider", "") for p in record["providers"])
        threads = _threads(record)
        row += [
            fmt.duration(record["cold_start_s"]),
            record["subject"] + (f" [{providers}]" if providers else ""),
            threads,
        ]
    return row


def _threads(record: SlaRecord) -> str:
    """``intra/inter`` op threads of an ONNX session; 0 is onnxruntime's default."""
    intra, inter = record["intra_op_threads"], record["inter_op_threads"]
    if intra is None and inter is None:
        return "-"
    if not intra and not inter:
        return "default"
    return f"{intra or 'default'}/{inter or 'default'}"


_HEADER = ["test", "budget", "measured", "p50", "margin", "band", "verdict", "calls", "rate"]
_HEADER_VERBOSE = ["cold start", "measured what", "threads"]
_RIGHT = {2, 3, 4, 7, 8, 9}


def table(records: Sequence[SlaRecord], verbosity: int = 0) -> list[str]:
    """The SLA table, tightest margin first. A change column appears against a
    baseline; ``verbosity > 0`` adds cold start, the model or callable with its
    providers, and the session's thread setting."""
    verbose = verbosity > 0
    compared = any(r["comparison"] is not None for r in records)
    header = _HEADER + (["change"] if compared else []) + (_HEADER_VERBOSE if verbose else [])
    rows = [header] + [_row(r, verbose, compared) for r in sort_by_margin(records)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for number, row in enumerate(rows):
        cells = [
            cell.rjust(widths[i]) if i in _RIGHT else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines
