"""The terminal table of ``--sla-report``: records as aligned columns of text.

A pure function from records to lines of text, tightest margin first; printing is the
caller's business. (The summary line below it comes from :mod:`.labels`.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import fmt
from .document import sort_by_margin, tracer_text
from .labels import (
    advice_header,
    advice_of,
    advice_rows,
    band_label,
    budget_label,
    change_label,
    cold_text,
    defaulted_note,
    mismatch_text,
    renamed_text,
    sweep_text,
    verdict_label,
)
from .loadlabels import capacity_text, load_text
from .revisionlabels import not_comparable_text, revision_of, revision_text

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..schema import SlaRecord

__all__ = ["advice", "notes", "table"]


def _row(record: SlaRecord, verbose: bool, compared: bool) -> list[str]:
    row = [
        record["label"],
        budget_label(record),
        fmt.duration(record["measured_s"]),
        fmt.duration(record["p50_s"]),
        fmt.margin(record["margin"]),
        band_label(record),
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
_HEADER_VERBOSE = ["first call", "measured what", "threads"]
_RIGHT = {2, 3, 4, 7, 8, 9}


def table(records: Sequence[SlaRecord], verbosity: int = 0) -> list[str]:
    """The SLA table, tightest margin first. A change column appears against a
    baseline; ``verbosity > 0`` adds the first call, the model or callable with its
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


def notes(records: Sequence[SlaRecord]) -> list[str]:
    """Lines under the table for what a row cannot say: sizes that defaulted to 1."""
    out = []
    for record in sort_by_margin(records):
        note = defaulted_note(record)
        if note:
            out.append(f"sla: {record['label']}: {note}")
        extras = (
            tracer_text(record),
            renamed_text(record),
            mismatch_text(record),
            load_text(record),
            capacity_text(record),
            cold_text(record),
            sweep_text(record),
        )
        for extra in extras:
            if extra:
                out.append(f"sla: {record['label']}: {extra}")
        revision = revision_of(record)
        if revision is not None and revision["status"] != "not comparable":
            out.append(f"sla: {record['label']}: {revision_text(revision)}")
    apart = not_comparable_text(records)
    if apart:
        out.append(f"sla: {apart}")
    return out


def advice(records: Sequence[SlaRecord]) -> list[str]:
    """The advisor's section (``--sla-advise``): per measurement, its sentence and a table
    of the variants timed beside it."""
    out: list[str] = []
    for record in sort_by_margin(records):
        found = advice_of(record)
        if found is None:
            continue
        out.append(f"sla: {record['label']}: advice: {found['sentence']}")
        rows = advice_rows(record)
        if not rows:
            continue
        header = advice_header(record)
        every = [header, *rows]
        widths = [max(len(row[i]) for row in every) for i in range(len(header))]
        for row in every:
            cells = [
                cell.rjust(widths[i]) if 0 < i < len(header) - 1 else cell.ljust(widths[i])
                for i, cell in enumerate(row)
            ]
            out.append(("    " + "  ".join(cells)).rstrip())
    return out
