"""The Markdown report: for a pull-request comment or a CI job summary.

A pure function of the report document: a status line, then the table, tightest margin
first, with regressions against the baseline in bold.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .. import fmt
from .document import (
    inconclusive_fails,
    no_gate_line,
    tracer_text,
    unmatched_line,
    xdist_note,
)
from .labels import (
    STATUS_TEXT,
    advice_header,
    advice_of,
    advice_rows,
    band_label,
    budget_label,
    change_label,
    cold_text,
    defaulted_note,
    merged_lines,
    mismatch_text,
    renamed_text,
    run_status,
    summary_line,
    sweep_text,
    unmeasured_heading,
    verdict_label,
)
from .loadlabels import capacity_text, load_text
from .revisionlabels import (
    OUTCOME_TEXT,
    changed_models,
    not_comparable_text,
    ratio_cell,
    revision_of,
    revision_text,
)

if TYPE_CHECKING:
    from ..schema import Document, SlaRecord

__all__ = ["render"]


def _cell(text: str) -> str:
    """Escape what would break a table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _code(text: str, cell: bool = False) -> str:
    """``text`` as a code span: fenced by more backticks than it holds in a row (a test id
    with a backtick in it broke the span). Backslashes stay as they are (a code span
    shows them as written); in a table ``cell`` a ``|`` is escaped, as GFM reads it."""
    fence = "`" * (max(map(len, re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    text = text.replace("\n", " ")
    if cell:
        text = text.replace("|", "\\|")
    return f"{fence}{pad}{text}{pad}{fence}"


#: The run's status (:func:`.labels.run_status`) as an icon.
_STATUS_ICON = {
    "fail": "❌",
    "unmeasured": "❌",
    "gate": "❌",
    "failed": "❌",
    "inconclusive": "⚠️",
    "regression": "🔺",
    "met": "✅",
    "none": "-",
}


def _status(document: Document) -> str:
    status = run_status(document["totals"])
    return f"{_STATUS_ICON[status]} **{STATUS_TEXT[status]}**"


def _row(record: SlaRecord, compared: bool) -> str:
    verdict = verdict_label(record)
    cells = [
        f"{_code(record['label'], cell=True)}",
        _cell(budget_label(record).replace("<=", "≤")),
        fmt.duration(record["measured_s"]),
        fmt.duration(record["p50_s"]),
        fmt.margin(record["margin"]),
        band_label(record),
        f"**{verdict}**"
        if verdict in ("fail", "inconclusive") or "cold miss" in verdict
        else verdict,
        fmt.count(record["samples"]),
    ]
    if compared:
        change = _cell(change_label(record))
        comparison = record["comparison"]
        cells.append(f"**🔺 {change}**" if comparison and comparison["status"] == "regression"
                     else change)  # fmt: skip
    return "| " + " | ".join(cells) + " |"


#: How a side-by-side outcome reads in a pull-request comment.


def _side_by_side(records: list[SlaRecord]) -> list[str]:
    """The models measured side by side with the base revision, for a reviewer: base and
    head at p50 and at the budget's percentile, both ratios with their intervals, and the
    outcome; slower ones first."""
    changed = changed_models(records)
    if not changed:
        return []
    ref = changed[0][1]["ref"]
    pct = fmt.pct_label(changed[0][1]["percentile"] or 99.0)
    lines = [
        f"**Changed models, measured side by side with {_code(ref)}** (interleaved, in "
        "the same minutes):",
        "",
        f"| test | base p50 | head p50 | p50 head/base | base {pct} | head {pct} "
        f"| {pct} head/base | |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for record, entry in changed:
        outcome = OUTCOME_TEXT.get(entry["outcome"] or "", "-")
        lines.append(
            f"| {_code(record['label'], cell=True)} | {_seconds(entry['base_p50_s'])} "
            f"| {_seconds(entry['head_p50_s'])} | {ratio_cell(entry['p50_ratio'])} "
            f"| {_seconds(entry['base_percentile_s'])} "
            f"| {_seconds(entry['head_percentile_s'])} "
            f"| {ratio_cell(entry['percentile_ratio'])} "
            f"| {f'**{outcome}**' if entry['outcome'] == 'regression' else outcome} |"
        )
    return [*lines, ""]


def _advice(records: list[SlaRecord]) -> list[str]:
    """The advisor's findings: per model, its sentence and the variants' table."""
    advised = [r for r in records if advice_of(r) is not None]
    if not advised:
        return []
    lines = ["**Advice**: the usual optimizations, each timed side by side with the model:", ""]
    for record in advised:
        found = advice_of(record)
        assert found is not None
        lines += [f"{_code(record['label'])}: {_cell(found['sentence'])}", ""]
        rows = advice_rows(record)
        if not rows:
            continue
        header = advice_header(record)
        lines.append("| " + " | ".join(header) + " |")
        lines.append("| --- | " + "---: | " * (len(header) - 2) + "--- |")
        lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
        lines.append("")
    return lines


def _seconds(value: float | None) -> str:
    return "-" if value is None else fmt.duration(value)


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
    ungated = no_gate_line(run)
    if ungated:
        lines += [f"> ⚠️ {_cell(ungated[0].upper() + ungated[1:])}.", ""]
    failed = document.get("unmeasured", [])
    if failed:
        lines += [f"**{unmeasured_heading(len(failed))}:**", ""]
        lines += [f"- {_code(e['nodeid'])} ({e['phase']}): {_cell(e['message'])}" for e in failed]
        lines.append("")
    if records:
        partial = bool(run["interrupted"])
        lines += [_cell(summary_line(records, headroom, inconclusive_fails(run), partial)), ""]
        missing = unmatched_line(run, _code)
        if missing:
            lines += [f"> ⚠️ {missing[0].upper() + missing[1:]}", ""]
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
        notes += [(r["label"], text) for r in records if (text := renamed_text(r))]
        notes += [(r["label"], text) for r in records if (text := mismatch_text(r))]
        notes += [(r["label"], text) for r in records if (text := tracer_text(r))]
        notes += [(r["label"], text) for r in records if (text := load_text(r))]
        notes += [(r["label"], text) for r in records if (text := capacity_text(r))]
        notes += [(r["label"], text) for r in records if (text := cold_text(r))]
        notes += [(r["label"], text) for r in records if (text := sweep_text(r))]
        for record in records:
            revision = revision_of(record)
            if revision is not None and revision["status"] in ("unchanged", "new"):
                notes.append((record["label"], revision_text(revision)))
        for label, text in notes:
            lines.append(f"- {_code(label)}: {_cell(text)}")
        apart = not_comparable_text(records, quote="`")
        if apart:
            lines.append(f"- {_cell(apart)}")
        if notes or apart:
            lines.append("")
        lines += _advice(records)
    env = run["environment"]
    packages = env["packages"]
    software = ", ".join(f"{name} {packages[name]}" for name in sorted(packages))
    lines.append(
        f"<sub>{env['cpu_model'] or env['machine']}, {env['cpu_count']} CPUs, "
        f"{env['implementation']} {env['python']}, {software}; "
        f"started {run['started_at']}, {run['duration_s']:.1f} s"
        + (f"; baseline {_code(run['baseline'])}" if run["baseline"] else "")
        + "</sub>"
    )
    return "\n".join(lines) + "\n"
