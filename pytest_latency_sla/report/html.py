"""The HTML report: one self-contained file (no scripts, fonts or network).

A pure function of the report document: a status header, the table (tightest margin
first, as in the Markdown report), one card per measurement with its latency histogram
drawn as inline SVG (:mod:`.svg`), and the environment of the run. The style sheet,
``html.css`` beside this module, is inlined in the page.

The markup is well-formed XML as well as HTML (every element closed, every attribute
quoted), so tools may parse it either way. A Content-Security-Policy forbids every
fetch, so the file shows the same offline as online.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import fmt
from . import svg
from .document import inconclusive_fails, tracer_text, xdist_note
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
    renamed_text,
    run_status,
    summary_line,
    sweep_text,
    verdict_label,
)
from .loadlabels import capacity_text, load_text
from .markup import baseline_banners, css, duration, esc, finite, setting_text, unmeasured_banner
from .revisionlabels import OUTCOME_TEXT, changed_models, ratio_cell, revision_of, revision_text

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..schema import Document, Run, SlaRecord

__all__ = ["render"]

# --- status -------------------------------------------------------------------------------
_VERDICT_CLASS = {"pass": "s-pass", "fail": "s-fail", "inconclusive": "s-warn"}
_BAND_CLASS = {"miss": "s-fail", "tight": "s-warn", "ok": "s-info", "headroom": "s-pass"}


#: The run's status (:func:`.labels.run_status`) as a colour class.
_STATUS_CLASS = {
    "fail": "s-fail",
    "unmeasured": "s-fail",
    "gate": "s-fail",
    "failed": "s-fail",
    "inconclusive": "s-warn",
    "regression": "s-warn",
    "met": "s-pass",
    "none": "s-none",
}


def _status(totals: dict[str, Any]) -> tuple[str, str]:
    """The run's status in words, and its colour class."""
    status = run_status(totals)
    word = STATUS_TEXT[status]
    return word[0].upper() + word[1:], _STATUS_CLASS[status]


def _pill(text: str, css: str) -> str:
    return f'<span class="pill {css}">{esc(text)}</span>'


def _verdict_pill(record: SlaRecord, absent: str = "-") -> str:
    text = verdict_label(record)
    if text == "-":
        return _pill(absent, "s-none") if absent != "-" else '<span class="muted">-</span>'
    css = "s-fail" if text.endswith("cold miss") else _VERDICT_CLASS.get(text, "s-none")
    return _pill(text, css)


def _band_pill(record: SlaRecord) -> str:
    label = band_label(record)
    if label == "-":
        return '<span class="muted">-</span>'
    return _pill(label, _BAND_CLASS.get(record["band"] or "", "s-none"))


def _change_cell(record: SlaRecord) -> str:
    comparison = record["comparison"]
    text = change_label(record)
    if comparison is None:
        return '<span class="muted">-</span>'
    status = comparison["status"]
    arrow = {"regression": "\u25b2 ", "improvement": "\u25bc "}.get(status, "")
    title = ""
    if status == "mismatch" and comparison.get("mismatch"):
        title = f' title="{esc("differs from the baseline: " + ", ".join(comparison["mismatch"]))}"'
    return f'<span class="chg-{esc(status)}"{title}>{esc(arrow + text)}</span>'


def _label_html(label: str) -> str:
    """The node id with its path muted: ``tests/test_a.py::`` then ``test_b[x]``."""
    bracket = label.find("[")
    head = label if bracket < 0 else label[:bracket]
    cut = head.rfind("::")
    if cut < 0:
        return f'<span class="name">{esc(label)}</span>'
    cut += 2
    return (
        f'<span class="path">{esc(label[:cut])}</span><span class="name">{esc(label[cut:])}</span>'
    )


# --- the table ----------------------------------------------------------------------------

_HEAD = ["test", "budget", "measured", "p50", "margin", "band", "verdict", "calls"]
_NUMERIC = {"measured", "p50", "margin", "calls"}


def _table(records: Sequence[SlaRecord], anchors: Sequence[str], compared: bool) -> str:
    head = [*_HEAD, "change"] if compared else _HEAD
    header = "".join(
        f'<th scope="col" class="num">{h}</th>' if h in _NUMERIC else f'<th scope="col">{h}</th>'
        for h in head
    )
    rows = []
    for record, anchor in zip(records, anchors, strict=True):
        comparison = record["comparison"]
        regression = comparison is not None and comparison["status"] == "regression"
        cells = [
            f'<td class="test mono"><a href="#{anchor}">{_label_html(record["label"])}</a></td>',
            f'<td class="nowrap">{esc(budget_label(record).replace("<=", "≤"))}</td>',
            f'<td class="num">{esc(duration(record["measured_s"]))}</td>',
            f'<td class="num">{esc(duration(record["p50_s"]))}</td>',
            f'<td class="num">{esc(fmt.margin(record["margin"]))}</td>',
            f"<td>{_band_pill(record)}</td>",
            f"<td>{_verdict_pill(record)}</td>",
            f'<td class="num">{esc(fmt.count(record["samples"]))}</td>',
        ]
        if compared:
            cells.append(f'<td class="nowrap">{_change_cell(record)}</td>')
        css = ' class="regression"' if regression else ""
        rows.append(f"<tr{css}>{''.join(cells)}</tr>")
    return (
        '<div class="card tablewrap"><table class="results">'
        f"<thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _side_by_side(records: Sequence[SlaRecord], anchors: Sequence[str]) -> str:
    """The models measured side by side with the base revision: base and head at p50 and
    at the budget's percentile, both ratios with intervals, the outcome; slower first."""
    changed = changed_models(records)
    if not changed:
        return ""
    anchor_of = {id(r): a for r, a in zip(records, anchors, strict=True)}
    ref = changed[0][1]["ref"]
    pct = fmt.pct_label(changed[0][1]["percentile"] or 99.0)
    head = [
        ("test", ""),
        ("base p50", "num"),
        ("head p50", "num"),
        ("p50 head/base", "num"),
        (f"base {pct}", "num"),
        (f"head {pct}", "num"),
        (f"{pct} head/base", "num"),
        ("outcome", ""),
    ]
    header = "".join(
        f'<th scope="col" class="{css}">{esc(name)}</th>'
        if css
        else f'<th scope="col">{esc(name)}</th>'
        for name, css in head
    )
    rows = []
    for record, entry in changed:
        outcome = entry["outcome"] or ""
        cells = [
            f'<td class="test mono"><a href="#{anchor_of[id(record)]}">'
            f"{_label_html(record['label'])}</a></td>",
            *(
                f'<td class="num">{esc(duration(value) if value is not None else "-")}</td>'
                for value in (entry["base_p50_s"], entry["head_p50_s"])
            ),
            f'<td class="num nowrap">{esc(ratio_cell(entry["p50_ratio"]))}</td>',
            *(
                f'<td class="num">{esc(duration(value) if value is not None else "-")}</td>'
                for value in (entry["base_percentile_s"], entry["head_percentile_s"])
            ),
            f'<td class="num nowrap">{esc(ratio_cell(entry["percentile_ratio"]))}</td>',
            f'<td><span class="chg-{esc(outcome)}">'
            f"{esc(OUTCOME_TEXT.get(outcome, '-'))}</span></td>",
        ]
        css = ' class="regression"' if outcome == "regression" else ""
        rows.append(f"<tr{css}>{''.join(cells)}</tr>")
    return (
        f'<h2 id="side-by-side">Changed models, measured side by side with '
        f"<code>{esc(ref)}</code></h2>"
        '<div class="card tablewrap"><table class="results">'
        f"<thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


# --- one card per measurement -------------------------------------------------------------


def _stats(record: SlaRecord) -> str:
    pct = fmt.pct_label(record["percentile"])
    columns: list[tuple[str, object]] = list(record["percentiles_s"].items())
    if pct not in record["percentiles_s"]:
        columns.append((pct, record["measured_s"]))
    columns += [("mean", record["mean_s"]), ("min", record["min_s"]), ("max", record["max_s"])]
    columns.append(("first call", record["cold_start_s"]))  # (cold_ms= is "cold start")
    head, cells = [], []
    for name, value in columns:
        css = ' class="judged"' if name == pct else ""
        head.append(f"<th{css}>{esc(name)}</th>")
        cells.append(f"<td{css}>{esc(duration(value))}</td>")
    return (
        '<div class="tablewrap"><table class="stats">'
        f"<thead><tr>{''.join(head)}</tr></thead><tbody><tr>{''.join(cells)}</tr></tbody>"
        "</table></div>"
    )


def _threads(record: SlaRecord) -> str | None:
    intra, inter = record["intra_op_threads"], record["inter_op_threads"]
    if intra is None and inter is None:
        return None
    return f"intra-op {intra or 'default'}, inter-op {inter or 'default'}"


def _advice(record: SlaRecord) -> str:
    """The advisor's sentence and its table of variants, in the measurement's card."""
    found = advice_of(record)
    if found is None:
        return ""
    rows = advice_rows(record)
    head = "".join(f'<th scope="col">{esc(c)}</th>' for c in advice_header(record))
    body = "".join(
        "<tr>"
        + "".join(
            (
                f'<td class="num">{esc(cell)}</td>'
                if 0 < i < len(row) - 1
                else f"<td>{esc(cell)}</td>"
            )
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    table = (
        f'<div class="tablewrap"><table class="stats advice"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
        if rows
        else ""
    )
    return f'<p class="advice"><strong>Advice.</strong> {esc(found["sentence"])}</p>{table}'


def _facts(record: SlaRecord) -> str:
    pct = fmt.pct_label(record["percentile"])
    facts: list[tuple[str, str]] = []
    verdict = _verdict_pill(record, "no budget") + (
        f" {_band_pill(record)}" if record["band"] else ""
    )
    facts.append(("verdict", verdict))
    facts.append(("budget", esc(budget_label(record).replace("<=", "≤"))))
    measured = f"{duration(record['measured_s'])}"
    interval = record["interval_s"] or []
    if len(interval) == 2:
        measured += (
            f" ({fmt.percent(record['confidence'])} CI {duration(interval[0])}"
            f" to {duration(interval[1])})"
        )
    facts.append((f"measured {pct}", esc(measured)))
    facts.append(("margin", esc(fmt.margin(record["margin"]))))
    comparison = record["comparison"]
    if comparison is not None:
        change = _change_cell(record)
        base = finite(comparison.get("baseline_measured_s"))
        if base is not None:
            change += f' <span class="muted">(baseline {esc(fmt.duration(base))})</span>'
        facts.append(("vs baseline", change))
        renamed = renamed_text(record)
        if renamed:
            facts.append(("baseline entry", esc(renamed)))
        if comparison.get("mismatch"):
            facts.append(("differs", esc(", ".join(comparison["mismatch"]))))
    rate = finite(record["throughput"])
    facts.append(
        (
            "calls",
            esc(
                f"{fmt.count(record['samples'])} timed in {duration(record['duration_s'])}, "
                f"after {fmt.count(record['warmup_calls'])} warmup"
            ),
        )
    )
    one = "" if record["load"] is not None else " (1 thread)"  # under load: see "load"
    facts.append(("rate", esc(fmt.rate(rate) + one if rate is not None else "-")))
    facts.append(("stopped", esc(record["stop_reason"])))
    facts.append(("measured what", f"<code>{esc(record['subject'])}</code>"))
    if defaulted_note(record):
        facts.append(("sizes", esc(defaulted_note(record))))
    revision = revision_of(record)
    if revision is not None:
        facts.append(("vs base revision", esc(revision_text(revision))))
    for name, text in (
        ("under load", load_text(record)),
        ("capacity", capacity_text(record)),
        ("cold start", cold_text(record)),
        ("tracer", tracer_text(record)),
    ):
        if text:
            facts.append((name, esc(text.removeprefix(name + ": ").removeprefix(name + " "))))
    sweep = sweep_text(record)
    if sweep:
        facts.append(("sizes", esc(sweep.removeprefix("sweep of ")) + svg.sweep_chart(record)))
    if record["providers"] or record["providers_requested"]:
        used = ", ".join(p.replace("ExecutionProvider", "") for p in record["providers"]) or "-"
        asked = ", ".join(p.replace("ExecutionProvider", "") for p in record["providers_requested"])
        text = used if not asked or asked == used else f"{used} (asked for {asked})"
        facts.append(("providers", esc(text)))
    threads = _threads(record)
    if threads:
        facts.append(("threads", esc(threads)))
    if record["inputs"]:
        inputs = ", ".join(
            f"{i['name']}: {i['dtype']}[{', '.join(str(d) for d in i['shape'])}]"
            for i in record["inputs"]
        )
        facts.append(("inputs", f"<code>{esc(inputs)}</code>"))
    if record["model_sha256"]:
        sha = record["model_sha256"]
        facts.append(("sha256", f'<code title="{esc(sha)}">{esc(sha[:16])}\u2026</code>'))
    if record["outcome"]:
        facts.append(("test outcome", esc(record["outcome"])))
    body = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in facts)
    return f'<dl class="facts">{body}</dl>'


def _measurement(record: SlaRecord, anchor: str) -> str:
    sub = f"{record['kind']}: {record['api']}"
    return (
        f'<section class="card measurement" id="{anchor}">'
        f'<div class="mhead"><h3 class="mono">{esc(record["label"])}</h3>'
        f"{_verdict_pill(record, 'no budget')}{_band_pill(record) if record['band'] else ''}"
        f'<span class="sub">{esc(sub)}</span></div>'
        f'<div class="mbody"><div>{svg.histogram(record, anchor + "-title")}{_stats(record)}</div>'
        f"{_facts(record)}</div>{_advice(record)}</section>"
    )


# --- the run ------------------------------------------------------------------------------


def _when(started_at: str) -> str:
    """``2026-01-02T03:04:05Z`` -> ``2026-01-02 03:04:05 UTC``; anything else as is."""
    if len(started_at) == 20 and started_at[10] == "T" and started_at.endswith("Z"):
        return f"{started_at[:10]} {started_at[11:19]} UTC"
    return started_at


def _environment(run: Run, tool: dict[str, str]) -> str:
    env = run["environment"]
    cpu = env.get("cpu_model") or env.get("machine") or "unknown"
    if env.get("cpu_count"):
        cpu += f", {env['cpu_count']} logical CPUs"
    load = finite(env.get("load_avg_1m"))
    if load is not None:
        cpu += f" (load {load:.2f} at start)"
    packages = env.get("packages") or {}
    software = ", ".join(f"{name} {packages[name]}" for name in sorted(packages))
    facts = [
        ("started", _when(run["started_at"])),
        ("duration", duration(run["duration_s"])),
        ("CPU", cpu),
        ("Python", f"{env.get('implementation', '')} {env.get('python', '')}".strip()),
        ("OS", env.get("platform") or env.get("os") or "-"),
        ("packages", software or "-"),
        ("baseline", run["baseline"] or "none"),
    ]
    if run.get("xdist_workers"):
        mode = run.get("xdist_mode")
        workers = f"{run['xdist_workers']} workers" + (f", {mode}" if mode else "")
        facts.append(("pytest-xdist", workers))
    facts.append(("exit status", str(run["exit_status"])))
    facts.append(("report", f"{tool.get('name', '')} {tool.get('version', '')}".strip()))
    body = "".join(f"<dt>{esc(name)}</dt><dd>{esc(value)}</dd>" for name, value in facts)
    settings = run.get("settings") or {}
    units = run.get("setting_units") or {}  # absent from older reports: values as stored
    rows = "".join(
        f"<dt><code>sla_{esc(name)}</code></dt>"
        f"<dd>{esc(setting_text(settings[name], units.get(name)))}</dd>"
        for name in sorted(settings)
    )
    more = (
        f'<details><summary>Settings</summary><dl class="facts">{rows}</dl></details>'
        if rows
        else ""
    )
    return (
        '<h2 id="environment">Environment</h2><section class="card environment">'
        f'<dl class="facts">{body}</dl>{more}</section>'
    )


def _header(document: Document) -> str:
    records = document["results"]
    run = document["run"]
    totals = document["totals"]
    word, css = _status(totals)
    counts = [
        (totals.get("pass", 0), "pass", "pass", "s-pass"),
        (totals.get("fail", 0), "fail", "fail", "s-fail"),
        (totals.get("cold_fail", 0), "cold misses", "cold miss", "s-fail"),
        (totals.get("inconclusive", 0), "inconclusive", "inconclusive", "s-warn"),
        (totals.get("no_budget", 0), "no budget", "no budget", "s-none"),
        (totals.get("xfailed", 0), "xfailed", "xfailed", "s-none"),
    ]
    if any(r["comparison"] is not None for r in records):
        counts += [
            (totals.get("regressions", 0), "regressions", "regression", "s-fail"),
            (totals.get("improvements", 0), "improvements", "improvement", "s-pass"),
            (totals.get("mismatches", 0), "mismatches", "mismatch", "s-warn"),
        ]
    pills = "".join(
        f'<li class="{cls if n else "s-none"}"><b>{fmt.count(int(n))}</b> '
        f"{esc(one if n == 1 else name)}</li>"
        for n, name, one, cls in counts
        if n or name in ("pass", "fail", "inconclusive")
    )
    headroom = finite(run.get("settings", {}).get("headroom")) or 10.0
    fails = inconclusive_fails(run)
    summary = summary_line(records, headroom, fails, run["interrupted"]) if records else ""
    tests = totals.get("tests", 0)
    meta = (
        f"{fmt.count(len(records))} measurement{'s' if len(records) != 1 else ''} in "
        f"{fmt.count(int(tests))} test{'s' if tests != 1 else ''} · started "
        f"{_when(run['started_at'])} · took {duration(run['duration_s'])}"
    )
    if run["baseline"]:
        meta += f" · compared with {run['baseline']}"
    banner = ""
    if run["interrupted"]:
        banner = (
            '<div class="banner" role="alert"><strong>Interrupted.</strong> The run was '
            "stopped before it finished: these results are partial, and tests that did not "
            "run are missing.</div>"
        )
    note = xdist_note(run)
    if note and run.get("xdist_mode") == "parallel":
        banner += f'<div class="banner"><strong>Parallel workers.</strong> {esc(note)}.</div>'
    elif note:
        banner += f'<p class="meta">{esc(note[0].upper() + note[1:])}.</p>'
    merged, *mixed = merged_lines(run) or [""]
    if merged:
        banner += f'<p class="meta">{esc(merged[0].upper() + merged[1:])}.</p>'
    for line in mixed:
        banner += f'<div class="banner"><strong>Mixed shards.</strong> {esc(line)}.</div>'
    banner += unmeasured_banner(document.get("unmeasured", [])) + baseline_banners(run)
    return (
        '<header class="card"><div class="titlebar"><h1>SLA report</h1>'
        f'<span class="tool">{esc(document["tool"].get("name", "pytest-latency-sla"))} '
        f"{esc(document['tool'].get('version', ''))}</span></div>"
        f'<div class="status"><span class="verdict-big {css}">{esc(word)}</span>'
        f'<ul class="counts">{pills}</ul></div>'
        f'<p class="meta">{esc(meta)}</p>'
        + (f'<p class="summary">{esc(summary)}</p>' if summary else "")
        + f"{banner}</header>"
    )


def render(document: Document) -> str:
    """The HTML report of a run: one self-contained page."""
    records = document["results"]
    compared = any(r["comparison"] is not None for r in records)
    anchors = [f"m{i + 1}" for i in range(len(records))]
    word, _ = _status(document["totals"])
    if records:
        results = (
            '<h2 id="results">Results <span class="muted">(tightest margin first)</span></h2>'
            + _table(records, anchors, compared)
            + _side_by_side(records, anchors)
            + '<h2 id="measurements">Latency distributions</h2>'
            + "".join(_measurement(r, a) for r, a in zip(records, anchors, strict=True))
        )
    else:
        results = (
            '<h2 id="results">Results</h2><p class="muted">No SLA measurements in this run.</p>'
        )
    tool = document["tool"]
    generator = f"{tool.get('name', '')} {tool.get('version', '')}".strip()
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8"/>'
        '<meta name="viewport" content="width=device-width, initial-scale=1"/>'
        '<meta name="color-scheme" content="light dark"/>'
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\"/>"
        f'<meta name="generator" content="{esc(generator)}"/>'
        f"<title>{esc(word)} · SLA report</title>"
        f"<style>\n{css()}</style></head>\n<body><main>"
        + _header(document)
        + results
        + _environment(document["run"], tool)
        + f"<footer>Generated by {esc(generator)} "
        f"from report schema version {esc(document['schema_version'])}. "
        "Self-contained: no scripts, fonts or network.</footer>"
        "</main></body></html>\n"
    )
