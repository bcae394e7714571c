"""The Markdown report: for a pull-request comment or a CI job summary.

A pure function of the report document: a status line, then the table, tightest margin
first, with regressions against the baseline in bold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import fmt
from .document import xdist_note
from .labels import (
    BAND_TEXT,
    STATUS_TEXT,
    budget_label,
    change_label,
    defaulted_note,
    merged_lines,
    revision_of,
    revision_text,
    run_status,
    summary_line,
    verdict_label,
)

if TYPE_CHECKING:
    from ..schema import Document, SlaRecord

__all__ = ["render"]


def _cell(text: str) -> str:
    """Escape what would break a table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


#: The run's status (:func:`.labels.run_status`) as an icon.
_STATUS_ICON = {"fail": "❌", "inconclusive": "⚠️", "regression": "🔺", "met": "✅", "none": "-"}


def _status(document: Document) -> str:
    status = run_status(document["totals"])
    return f"{_STATUS_ICON[status]} **{STATUS_TEXT[status]}**"


def _row(record: SlaRecord, compared: bool) -> str:
    verdict = verdict_label(record)
    cells = [
        f"`{_cell(record['label'])}`",
        _cell(budget_label(record).replace("<=", "≤")),
        fmt.duration(record["measured_s"]),
        fmt.duration(record["p50_s"]),
        fmt.margin(record["margin"]),
        BAND_TEXT.get(record["band"] or "", "-"),
        f"**{verdict}**" if verdict in ("fail", "inconclusive") else verdict,
        fmt.count(record["samples"]),
    ]
    if compared:
        change = _cell(change_label(record))
        comparison = record["comparison"]
        cells.append(f"**🔺 {change}**" if comparison and comparison["status"] == "regression"
                     else change)  # fmt: skip
    return "| " + " | ".join(cells) + " |"


#: How a side-by-side outcome reads in a pull-request comment.
_OUTCOME = {
    "regression": "**slower**",
    "improvement": "faster",
    "unchanged": "unchanged",
    "unknown": "cannot tell",
}


def _side_by_side(records: list[SlaRecord]) -> list[str]:
    """The models measured side by side with the base revision, for a reviewer: base and
    head p50, both ratios with their intervals, and the outcome; slower ones first."""
    changed = [(r, e) for r in records if (e := revision_of(r)) and e["status"] == "changed"]
    if not changed:
        return []
    ref = changed[0][1]["ref"]
    order = {"regression": 0, "unknown": 1, "unchanged": 2, "improvement": 3}
    changed.sort(key=lambda pair: order.get(pair[1]["outcome"] or "", 1))
    pct = fmt.pct_label(changed[0][1]["percentile"] or 99.0)
    lines = [
        f"**Changed models, measured side by side with `{_cell(ref)}`** (interleaved, in "
        "the same minutes):",
        "",
        f"| test | base p50 | head p50 | p50 head/base | {pct} head/base | |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for record, entry in changed:
        base, head = entry["base_p50_s"], entry["head_p50_s"]
        lines.append(
            f"| `{_cell(record['label'])}` | {fmt.duration(base or 0.0)} "
            f"| {fmt.duration(head or 0.0)} | {_ratio_cell(entry['p50_ratio'])} "
            f"| {_ratio_cell(entry['percentile_ratio'])} "
            f"| {_OUTCOME.get(entry['outcome'] or '', '-')} |"
        )
    return [*lines, ""]


def _ratio_cell(values: list[float] | None) -> str:
    if not values:
        return "-"
    ratio, low, high = values
    return f"{ratio:.2f}x ({low:.2f}-{high:.2f})"


def render(document: Document, headroom: float | None = None) -> str:
    """The Markdown report of a run."""
    records = document["results"]
    run = document["run"]
    compared = any(r["comparison"] is not None for r in records)
    headroom = headroom if headroom is not None else float(run["settings"].get("headroom", 10))
    lines = [f"## pytest-latency-sla: {_status(document)}", ""]
    if run["interrupted"]:
        lines += ["> **Interrupted**: the run was stopped; these results are partial.", ""]
    note = xdist_note(run)
    if note:
        lines += [f"> {'⚠️ ' if run['xdist_mode'] == 'parallel' else ''}{_cell(note)}.", ""]
    for number, line in enumerate(merged_lines(run)):
        lines += [f"> {'⚠️ ' if number else ''}{_cell(line[0].upper() + line[1:])}.", ""]
    if records:
        lines += [_cell(summary_line(records, headroom)), ""]
        lines += _side_by_side(records)
        header = ["test", "budget", "measured", "p50", "margin", "band", "verdict", "calls"]
        align = ["---", "---", "---:", "---:", "---:", "---", "---", "---:"]
        if compared:
            header.append("change")
            align.append("---")
        lines.append("| " + " | ".join(header) + " |")
        lines.append("| " + " | ".join(align) + " |")
        lines += [_row(record, compared) for record in records]
        lines.append("")
        notes = [(r["label"], defaulted_note(r)) for r in records if defaulted_note(r)]
        for record in records:
            revision = revision_of(record)
            if revision is not None and revision["status"] in ("unchanged", "new"):
                notes.append((record["label"], revision_text(revision)))
        for label, text in notes:
            lines.append(f"- `{_cell(label)}`: {_cell(text)}")
        if notes:
            lines.append("")
    env = run["environment"]
    packages = env["packages"]
    software = ", ".join(f"{name} {packages[name]}" for name in sorted(packages))
    lines.append(
        f"<sub>{env['cpu_model'] or env['machine']}, {env['cpu_count']} CPUs, "
        f"{env['implementation']} {env['python']}, {software}; "
        f"started {run['started_at']}, {run['duration_s']:.1f} s"
        + (f"; baseline `{_cell(run['baseline'])}`" if run["baseline"] else "")
        + "</sub>"
    )
    return "\n".join(lines) + "\n"
