"""The HTML report: one self-contained file (no scripts, fonts or network).

A pure function of the report document: a status header, the table (tightest margin
first, as in the Markdown report), one card per measurement with its latency histogram
drawn as inline SVG (log-scale time axis, the budget, the measured percentile and p50
as vertical lines), and the environment of the run.

The markup is well-formed XML as well as HTML (every element closed, every attribute
quoted), so tools may parse it either way. A Content-Security-Policy forbids every
fetch, so the file shows the same offline as online.
"""

from __future__ import annotations

import itertools
import math
from html import escape
from typing import TYPE_CHECKING, Any, NamedTuple

from .. import fmt
from .document import xdist_note
from .labels import (
    BAND_TEXT,
    STATUS_TEXT,
    budget_label,
    change_label,
    run_status,
    summary_line,
    verdict_label,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from ..schema import Document, Run, SlaRecord

__all__ = ["render"]


def _e(value: object) -> str:
    """Text (or an attribute value) escaped for HTML and XML."""
    return escape(str(value), quote=True)


def _finite(value: object) -> float | None:
    """A finite number, or None (JSON documents hold None for infinities)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _duration(value: object) -> str:
    number = _finite(value)
    return fmt.duration(number) if number is not None else "-"


# --- styles -------------------------------------------------------------------------------

_FONT = (
    'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "Noto Sans", '
    '"Liberation Sans", Arial, sans-serif'
)
_MONO = 'ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace'

_CSS = f"""
:root {{
  color-scheme: light dark;
  --bg: #f6f7f9; --card: #ffffff; --text: #1f2328; --muted: #59636e; --line: #d8dee4;
  --head: #f0f3f6; --accent: #2f6fdb;
  --pass: #1a7f37; --pass-bg: #dafbe1; --fail: #cf222e; --fail-bg: #ffebe9;
  --warn: #9a6700; --warn-bg: #fff8c5; --info: #0969da; --info-bg: #ddf4ff;
  --none: #59636e; --none-bg: #eaeef2; --regress-row: #fff1f0;
  --bar: #8fa9cc; --bar-over: #e5868c; --grid: #e6eaef; --ci: rgba(47, 111, 219, 0.13);
}}
@media (prefers-color-scheme: dark) {{
  :root {{
    --bg: #0d1117; --card: #161b22; --text: #e6edf3; --muted: #8d96a0; --line: #30363d;
    --head: #1c2129; --accent: #6ea8fe;
    --pass: #3fb950; --pass-bg: rgba(46, 160, 67, 0.18); --fail: #f85149;
    --fail-bg: rgba(248, 81, 73, 0.18); --warn: #d29922; --warn-bg: rgba(187, 128, 9, 0.2);
    --info: #58a6ff; --info-bg: rgba(56, 139, 253, 0.18); --none: #8d96a0;
    --none-bg: rgba(110, 118, 129, 0.22); --regress-row: rgba(248, 81, 73, 0.1);
    --bar: #4d6a91; --bar-over: #a8474c; --grid: #262c35; --ci: rgba(110, 168, 254, 0.16);
  }}
}}
* {{ box-sizing: border-box; }}
html {{ background: var(--bg); }}
body {{ margin: 0; padding: 28px 24px 40px; color: var(--text); background: var(--bg);
  font: 14px/1.5 {_FONT}; }}
main {{ max-width: 1200px; margin: 0 auto; }}
h1 {{ font-size: 22px; margin: 0; font-weight: 650; }}
h2 {{ font-size: 17px; margin: 32px 0 12px; font-weight: 650; }}
h3 {{ font-size: 14px; margin: 0; font-weight: 600; overflow-wrap: anywhere; }}
code, .mono {{ font-family: {_MONO}; font-size: 12.5px; }}
a {{ color: inherit; text-decoration: none; }}
a:hover {{ text-decoration: underline; }}
.muted {{ color: var(--muted); }}
.card {{ background: var(--card); border: 1px solid var(--line); border-radius: 10px; }}
header.card {{ padding: 20px 24px; }}
.titlebar {{ display: flex; flex-wrap: wrap; align-items: baseline; gap: 6px 14px; }}
.titlebar .tool {{ color: var(--muted); font-size: 13px; }}
.status {{ display: flex; flex-wrap: wrap; align-items: center; gap: 10px 18px;
  margin-top: 16px; }}
.verdict-big {{ font-size: 16px; font-weight: 650; padding: 6px 14px; border-radius: 8px; }}
.counts {{ display: flex; flex-wrap: wrap; gap: 8px; margin: 0; padding: 0;
  list-style: none; }}
.counts li {{ padding: 3px 10px; border-radius: 999px; font-size: 13px; }}
.counts b {{ font-variant-numeric: tabular-nums; }}
.summary {{ margin: 14px 0 0; color: var(--muted); overflow-wrap: anywhere; }}
.meta {{ margin: 6px 0 0; color: var(--muted); font-size: 13px; }}
.banner {{ margin-top: 16px; padding: 12px 16px; border-radius: 8px;
  border: 1px solid var(--warn); background: var(--warn-bg); color: var(--text); }}
.banner strong {{ color: var(--warn); }}
.s-pass {{ color: var(--pass); background: var(--pass-bg); }}
.s-fail {{ color: var(--fail); background: var(--fail-bg); }}
.s-warn {{ color: var(--warn); background: var(--warn-bg); }}
.s-info {{ color: var(--info); background: var(--info-bg); }}
.s-none {{ color: var(--none); background: var(--none-bg); }}
.pill {{ display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 12px;
  font-weight: 600; white-space: nowrap; }}
.tablewrap {{ overflow-x: auto; }}
table {{ border-collapse: collapse; width: 100%; }}
table.results th, table.results td {{ padding: 8px 12px; text-align: left;
  border-bottom: 1px solid var(--line); vertical-align: middle; }}
table.results th {{ background: var(--head); font-size: 12px; font-weight: 600;
  color: var(--muted); text-transform: uppercase; letter-spacing: 0.03em;
  white-space: nowrap; }}
table.results tr:last-child td {{ border-bottom: 0; }}
table.results th:first-child {{ border-top-left-radius: 10px; }}
table.results th:last-child {{ border-top-right-radius: 10px; }}
td.num, th.num {{ text-align: right; font-variant-numeric: tabular-nums;
  white-space: nowrap; }}
td.test {{ overflow-wrap: anywhere; min-width: 16em; }}
td.test .path {{ color: var(--muted); }}
td.test .name {{ font-weight: 600; }}
td.nowrap {{ white-space: nowrap; }}
tr.regression td {{ background: var(--regress-row); }}
.chg-regression {{ color: var(--fail); font-weight: 700; }}
.chg-improvement {{ color: var(--pass); font-weight: 600; }}
.chg-mismatch {{ color: var(--warn); font-weight: 600; }}
.chg-new {{ color: var(--muted); }}
section.measurement {{ margin: 0 0 16px; padding: 16px 20px 18px; }}
.mhead {{ display: flex; flex-wrap: wrap; align-items: center; gap: 6px 10px; }}
.mhead .sub {{ color: var(--muted); font-size: 13px; }}
.mbody {{ display: grid; grid-template-columns: minmax(0, 1fr) 300px; gap: 8px 28px;
  margin-top: 12px; }}
@media (max-width: 860px) {{ .mbody {{ grid-template-columns: minmax(0, 1fr); }} }}
svg.histogram {{ display: block; width: 100%; height: auto; }}
svg.histogram text {{ font-family: {_FONT}; font-size: 11.5px; fill: var(--muted); }}
svg.histogram .grid {{ stroke: var(--grid); stroke-width: 1; }}
svg.histogram .grid.minor {{ stroke-dasharray: 1 3; }}
svg.histogram .axis {{ stroke: var(--line); stroke-width: 1; }}
svg.histogram .bar {{ fill: var(--bar); }}
svg.histogram .bar.over {{ fill: var(--bar-over); }}
svg.histogram .ci {{ fill: var(--ci); }}
svg.histogram .mark {{ stroke-width: 1.6; }}
svg.histogram .budget .mark {{ stroke: var(--fail); stroke-dasharray: 6 4; }}
svg.histogram .budget text {{ fill: var(--fail); font-weight: 600; }}
svg.histogram .measured .mark {{ stroke: var(--accent); stroke-width: 2; }}
svg.histogram .measured text {{ fill: var(--accent); font-weight: 600; }}
svg.histogram .p50 .mark {{ stroke: var(--muted); stroke-dasharray: 2 3; }}
svg.histogram .p50 text {{ fill: var(--muted); font-weight: 600; }}
svg.histogram text.empty {{ font-size: 14px; }}
table.stats {{ margin-top: 10px; font-size: 13px; }}
table.stats th, table.stats td {{ padding: 3px 8px; text-align: right;
  font-variant-numeric: tabular-nums; white-space: nowrap; }}
table.stats th {{ color: var(--muted); font-weight: 500; font-size: 12px;
  border-bottom: 1px solid var(--line); }}
table.stats th.judged, table.stats td.judged {{ color: var(--accent); font-weight: 650; }}
dl.facts {{ display: grid; grid-template-columns: max-content minmax(0, 1fr);
  gap: 4px 14px; margin: 0; font-size: 13px; }}
dl.facts dt {{ color: var(--muted); }}
dl.facts dd {{ margin: 0; overflow-wrap: anywhere; }}
section.environment {{ padding: 16px 20px; }}
details {{ margin-top: 12px; }}
summary {{ cursor: pointer; color: var(--muted); }}
footer {{ margin-top: 28px; color: var(--muted); font-size: 12px; text-align: center; }}
@media print {{
  body {{ background: #fff; padding: 0; }}
  .card {{ border-color: #ccc; break-inside: avoid; }}
}}
"""

# --- status -------------------------------------------------------------------------------

_VERDICT_CLASS = {"pass": "s-pass", "fail": "s-fail", "inconclusive": "s-warn"}
_BAND_CLASS = {"miss": "s-fail", "tight": "s-warn", "ok": "s-info", "headroom": "s-pass"}


#: The run's status (:func:`.labels.run_status`) as a colour class.
_STATUS_CLASS = {
    "fail": "s-fail",
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
    return f'<span class="pill {css}">{_e(text)}</span>'


def _verdict_pill(record: SlaRecord, absent: str = "-") -> str:
    text = verdict_label(record)
    if text == "-":
        return _pill(absent, "s-none") if absent != "-" else '<span class="muted">-</span>'
    return _pill(text, _VERDICT_CLASS.get(text, "s-none"))


def _band_pill(record: SlaRecord) -> str:
    band = record["band"] or ""
    if band not in BAND_TEXT:
        return '<span class="muted">-</span>'
    return _pill(BAND_TEXT[band], _BAND_CLASS.get(band, "s-none"))


def _change_cell(record: SlaRecord) -> str:
    comparison = record["comparison"]
    text = change_label(record)
    if comparison is None:
        return '<span class="muted">-</span>'
    status = comparison["status"]
    arrow = {"regression": "\u25b2 ", "improvement": "\u25bc "}.get(status, "")
    title = ""
    if status == "mismatch" and comparison.get("mismatch"):
        title = f' title="{_e("differs from the baseline: " + ", ".join(comparison["mismatch"]))}"'
    return f'<span class="chg-{_e(status)}"{title}>{_e(arrow + text)}</span>'


def _label_html(label: str) -> str:
    """The node id with its path muted: ``tests/test_a.py::`` then ``test_b[x]``."""
    bracket = label.find("[")
    head = label if bracket < 0 else label[:bracket]
    cut = head.rfind("::")
    if cut < 0:
        return f'<span class="name">{_e(label)}</span>'
    cut += 2
    return f'<span class="path">{_e(label[:cut])}</span><span class="name">{_e(label[cut:])}</span>'


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
            f'<td class="nowrap">{_e(budget_label(record).replace("<=", "≤"))}</td>',
            f'<td class="num">{_e(_duration(record["measured_s"]))}</td>',
            f'<td class="num">{_e(_duration(record["p50_s"]))}</td>',
            f'<td class="num">{_e(fmt.margin(record["margin"]))}</td>',
            f"<td>{_band_pill(record)}</td>",
            f"<td>{_verdict_pill(record)}</td>",
            f'<td class="num">{_e(fmt.count(record["samples"]))}</td>',
        ]
        if compared:
            cells.append(f'<td class="nowrap">{_change_cell(record)}</td>')
        css = ' class="regression"' if regression else ""
        rows.append(f"<tr{css}>{''.join(cells)}</tr>")
    return (
        '<div class="card tablewrap"><table class="results">'
        f"<thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


# --- the histogram ------------------------------------------------------------------------

_W, _H = 860.0, 250.0
_LEFT, _RIGHT, _ROW, _ROWS, _BOTTOM = 56.0, 16.0, 16.0, 3, 36.0
_TOP = _ROW * _ROWS + 12.0
_X0, _X1, _Y0, _Y1 = _LEFT, _W - _RIGHT, _TOP, _H - _BOTTOM
_CHAR = 6.6  # average advance of an 11.5 px label character, in user units
#: A budget further than this factor beyond the samples is drawn as an off-scale marker,
#: unless the samples would still fill a third of the axis.
_OFF_SCALE = 10.0


def _n(value: float) -> str:
    """A coordinate: short, and never ``-0``."""
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _line(css: str, x1: float, x2: float, y1: float, y2: float) -> str:
    return f'<line class="{css}" x1="{_n(x1)}" x2="{_n(x2)}" y1="{_n(y1)}" y2="{_n(y2)}"/>'


def _text(x: float, y: float, anchor: str, text: str) -> str:
    return f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}">{_e(text)}</text>'


class _Axis(NamedTuple):
    lo: float
    hi: float

    def x(self, seconds: float) -> float:
        seconds = min(max(seconds, self.lo), self.hi)
        return _X0 + (_X1 - _X0) * math.log(seconds / self.lo) / math.log(self.hi / self.lo)


def _axis(edges: Sequence[float], points: Iterable[float], budget: float | None) -> _Axis:
    """A log axis over the samples and ``points``, with the budget when it is near."""
    lo = min([edges[0], *points])
    hi = max([edges[-1], *points])
    if budget is not None:
        span = math.log(hi / lo)
        if budget > hi and (budget / hi <= _OFF_SCALE or math.log(budget / lo) <= 3 * span):
            hi = budget
        elif budget < lo and (lo / budget <= _OFF_SCALE or math.log(hi / budget) <= 3 * span):
            lo = budget
    span = math.log(hi / lo)
    minimum = math.log(1.5)
    if span < minimum:  # a narrow distribution: widen around its middle
        middle = math.sqrt(lo * hi)
        lo, hi = middle / math.exp(minimum / 2), middle * math.exp(minimum / 2)
        span = minimum
    pad = span * 0.04
    return _Axis(lo / math.exp(pad), hi * math.exp(pad))


def _unit(seconds: float) -> tuple[float, str]:
    rounded = float(f"{seconds:.6g}")
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if rounded >= scale:
            return scale, unit
    return 1e-9, "ns"


def _tick_label(seconds: float) -> str:
    """``10 µs``, ``2.5 ms``: as short as the tick allows."""
    scale, unit = _unit(seconds)
    return f"{float(f'{seconds / scale:.4g}'):g} {unit}"


def _x_ticks(lo: float, hi: float) -> tuple[list[float], list[float]]:
    """Round times between ``lo`` and ``hi``: labelled ticks (1-2-5 steps or finer, at
    least 3 of them) and the unlabelled minor gridlines of a log axis."""
    low, high = math.floor(math.log10(lo)), math.ceil(math.log10(hi))

    def within(mantissas: Sequence[float]) -> list[float]:
        return [
            m * 10.0**k for k in range(low, high + 1) for m in mantissas if lo <= m * 10.0**k <= hi
        ]

    minor = within(range(1, 10))
    for mantissas in ((1,), (1, 2, 5), (1, 2, 3, 5), range(1, 10)):
        ticks = within(mantissas)
        if len(ticks) >= 4:
            return ticks, [m for m in minor if m not in ticks] if len(minor) <= 40 else []
    if len(minor) >= 3:
        return minor, []
    step = _nice((hi - lo) / 4)
    first = math.ceil(lo / step)
    return [k * step for k in range(first, first + 8) if k * step <= hi], []


def _nice(value: float) -> float:
    """The round number (1, 2, 2.5 or 5 times a power of ten) at or above ``value``."""
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if step * power >= value * 0.999:
            return step * power
    return 10.0 * power  # pragma: no cover


class _Mark(NamedTuple):
    kind: str  # "budget", "measured" or "p50": the CSS class
    x: float
    text: str
    line: bool  # False for an off-scale budget: a label at the edge, no line
    tip: str = ""  # a tooltip


def _place(marks: Sequence[_Mark]) -> list[tuple[int, str]]:
    """A row (0 nearest the plot) and a side (``start``: text right of its line) per mark,
    so that no label overlaps another label or crosses another mark's line."""

    def box(mark: _Mark, side: str) -> tuple[float, float]:
        width = len(mark.text) * _CHAR
        return (
            (mark.x + 4, mark.x + 4 + width)
            if side == "start"
            else (mark.x - 4 - width, mark.x - 4)
        )

    def valid(choice: Sequence[tuple[int, str]]) -> bool:
        boxes = [box(mark, side) for mark, (_, side) in zip(marks, choice, strict=True)]
        for i, (row, _) in enumerate(choice):
            left, right = boxes[i]
            if left < 2 or right > _W - 2:
                return False
            for j, (other, (other_row, _)) in enumerate(zip(marks, choice, strict=True)):
                other_left, other_right = boxes[j]
                if j == i:
                    continue
                if row == other_row and left < other_right + 10 and other_left < right + 10:
                    return False  # labels overlap
                # A line runs from the plot up to its label's row: it must not cross a
                # label of a lower row.
                if other.line and other_row > row and left - 5 <= other.x <= right + 5:
                    return False
        return True

    options = [(row, side) for row in range(_ROWS) for side in ("start", "end")]
    choices = sorted(
        itertools.product(options, repeat=len(marks)),
        key=lambda choice: sum(row * 10 + (side == "end") for row, side in choice),
    )
    best = next((list(choice) for choice in choices if valid(choice)), None)
    if best is None:  # too crowded: one row each
        return [
            (min(i, _ROWS - 1), "start" if m.x < _W / 2 else "end") for i, m in enumerate(marks)
        ]
    return best


def _histogram(record: SlaRecord, title_id: str) -> str:
    """The latency histogram of a record as inline SVG."""
    pct = f"p{record['percentile']:g}"
    histogram = record["histogram"]
    edges = [_finite(e) for e in histogram.get("edges_s", [])]
    counts = [int(c) for c in histogram.get("counts", [])]
    usable = (
        len(edges) >= 2
        and len(counts) == len(edges) - 1
        and all(e is not None and e > 0 for e in edges)
        and sum(counts) > 0
    )
    label = f"Latency histogram of {record['label']}"
    svg_open = (
        f'<svg class="histogram" viewBox="0 0 {_n(_W)} {_n(_H)}" role="img" '
        f'aria-labelledby="{title_id}"><title id="{title_id}">{_e(label)}</title>'
    )
    if not usable:
        return (
            f'{svg_open}<text class="empty" x="{_n(_W / 2)}" y="{_n(_H / 2)}" '
            'text-anchor="middle">no samples to draw</text></svg>'
        )
    seconds = [e for e in edges if e is not None]
    budget = _finite(record["budget_s"])
    budget = budget if budget is not None and budget > 0 else None
    measured = _finite(record["measured_s"])
    p50 = _finite(record["p50_s"])
    interval = [v for v in (_finite(b) for b in record["interval_s"] or []) if v is not None]
    points = [v for v in (measured, p50, *interval) if v is not None and v > 0]
    axis = _axis(seconds, points, budget)
    parts = [svg_open]

    # Gridlines and axes.
    top = max(counts)
    step = _nice(top / 4) if top >= 4 else 1.0
    for k in range(int(top // step) + 1):
        value = k * step
        y = _Y1 - (_Y1 - _Y0) * value / top
        parts.append(_line("grid", _X0, _X1, y, y))
        parts.append(_text(_X0 - 8, y + 4, "end", fmt.count(int(value))))
    ticks, minor = _x_ticks(axis.lo, axis.hi)
    parts += [_line("grid minor", axis.x(t), axis.x(t), _Y0, _Y1) for t in minor]
    for tick in ticks:
        x = axis.x(tick)
        parts.append(_line("grid", x, x, _Y0, _Y1))
        parts.append(_text(x, _Y1 + 16, "middle", _tick_label(tick)))
    parts.append(_text(_X1, _H - 4, "end", "latency per call (log scale)"))
    parts.append(_text(_X0 - 8, _Y0 - 8 - _ROW * (_ROWS - 1), "end", "calls"))

    # The confidence interval of the measured percentile, behind the bars.
    if len(interval) == 2 and interval[0] > 0 and interval[1] >= interval[0]:
        left, right = axis.x(interval[0]), axis.x(interval[1])
        confidence = fmt.percent(record["confidence"])
        parts.append(
            f'<g class="legend"><rect class="ci" x="{_n(_X0)}" y="{_n(_H - 13)}" width="14" '
            f'height="10"/><text x="{_n(_X0 + 19)}" y="{_n(_H - 4)}">{_e(confidence)} '
            f"confidence interval of {_e(pct)}</text></g>"
        )
        parts.append(
            f'<rect class="ci" x="{_n(left)}" y="{_n(_Y0)}" width="{_n(max(right - left, 1.0))}" '
            f'height="{_n(_Y1 - _Y0)}"><title>{_e(pct)} {_e(confidence)} confidence interval: '
            f"{_e(_duration(interval[0]))} to {_e(_duration(interval[1]))}</title></rect>"
        )

    # Bars; bins at or beyond the budget in the "over" colour.
    for i, count in enumerate(counts):
        if count <= 0:
            continue
        left, right = axis.x(seconds[i]), axis.x(seconds[i + 1])
        width = right - left
        if width > 2.5:
            left, width = left + 0.5, width - 1.0
        height = max((_Y1 - _Y0) * count / top, 1.5)
        over = budget is not None and seconds[i] >= budget
        tip = (
            f"{_duration(seconds[i])} to {_duration(seconds[i + 1])}: "
            f"{fmt.count(count)} call{'s' if count != 1 else ''}"
        )
        parts.append(
            f'<rect class="bar{" over" if over else ""}" x="{_n(left)}" y="{_n(_Y1 - height)}" '
            f'width="{_n(max(width, 1.0))}" height="{_n(height)}"><title>{_e(tip)}</title></rect>'
        )
    parts.append(_line("axis", _X0, _X1, _Y1, _Y1))

    # Marks: budget, measured percentile, median.
    marks: list[_Mark] = []
    if budget is not None:
        declared, unit = record["budget_value"], record["budget_unit"]
        shown = fmt.budget(declared, unit) if declared is not None and unit else _duration(budget)
        text = f"budget {shown}"
        tip = f"{text} is off the scale: the margin is {fmt.margin(record['margin'])}"
        if budget > axis.hi:
            marks.append(_Mark("budget", _X1, f"{text} \u2192", line=False, tip=tip))
        elif budget < axis.lo:
            marks.append(_Mark("budget", _X0, f"\u2190 {text}", line=False, tip=tip))
        else:
            marks.append(_Mark("budget", axis.x(budget), text, line=True))
    if measured is not None and measured > 0:
        marks.append(_Mark("measured", axis.x(measured), f"{pct} {fmt.duration(measured)}", True))
    if p50 is not None and p50 > 0 and pct != "p50":
        marks.append(_Mark("p50", axis.x(p50), f"p50 {fmt.duration(p50)}", line=True))
    for mark, (row, side) in zip(marks, _place(marks), strict=True):
        y = _Y0 - 6 - row * _ROW
        if mark.line:
            x = mark.x
            text_x = x + 4 if side == "start" else x - 4
            line = _line("mark", x, x, y - 9, _Y1)
        else:  # off scale: the label alone, at the edge it is beyond
            side = "end" if mark.x >= _X1 else "start"
            text_x, line = mark.x, ""
        parts.append(
            f'<g class="{mark.kind}">{f"<title>{_e(mark.tip)}</title>" if mark.tip else ""}'
            f'{line}<text x="{_n(text_x)}" y="{_n(y)}" '
            f'text-anchor="{side}">{_e(mark.text)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


# --- one card per measurement -------------------------------------------------------------


def _stats(record: SlaRecord) -> str:
    pct = f"p{record['percentile']:g}"
    columns: list[tuple[str, object]] = list(record["percentiles_s"].items())
    if pct not in record["percentiles_s"]:
        columns.append((pct, record["measured_s"]))
    columns += [("mean", record["mean_s"]), ("min", record["min_s"]), ("max", record["max_s"])]
    columns.append(("cold start", record["cold_start_s"]))
    head, cells = [], []
    for name, value in columns:
        css = ' class="judged"' if name == pct else ""
        head.append(f"<th{css}>{_e(name)}</th>")
        cells.append(f"<td{css}>{_e(_duration(value))}</td>")
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


def _facts(record: SlaRecord) -> str:
    pct = f"p{record['percentile']:g}"
    facts: list[tuple[str, str]] = []
    verdict = _verdict_pill(record, "no budget") + (
        f" {_band_pill(record)}" if record["band"] else ""
    )
    facts.append(("verdict", verdict))
    facts.append(("budget", _e(budget_label(record).replace("<=", "≤"))))
    measured = f"{_duration(record['measured_s'])}"
    interval = record["interval_s"] or []
    if len(interval) == 2:
        measured += (
            f" ({fmt.percent(record['confidence'])} CI {_duration(interval[0])}"
            f" to {_duration(interval[1])})"
        )
    facts.append((f"measured {pct}", _e(measured)))
    facts.append(("margin", _e(fmt.margin(record["margin"]))))
    comparison = record["comparison"]
    if comparison is not None:
        change = _change_cell(record)
        base = _finite(comparison.get("baseline_measured_s"))
        if base is not None:
            change += f' <span class="muted">(baseline {_e(fmt.duration(base))})</span>'
        facts.append(("vs baseline", change))
        if comparison.get("mismatch"):
            facts.append(("differs", _e(", ".join(comparison["mismatch"]))))
    rate = _finite(record["throughput"])
    facts.append(
        (
            "calls",
            _e(
                f"{fmt.count(record['samples'])} timed in {_duration(record['duration_s'])}, "
                f"after {fmt.count(record['warmup_calls'])} warmup"
            ),
        )
    )
    facts.append(("rate", _e(fmt.rate(rate) + " (1 thread)" if rate is not None else "-")))
    facts.append(("stopped", _e(record["stop_reason"])))
    subject = f"<code>{_e(record['subject'])}</code>"
    facts.append(("measured what", subject))
    if record["providers"] or record["providers_requested"]:
        used = ", ".join(p.replace("ExecutionProvider", "") for p in record["providers"]) or "-"
        asked = ", ".join(p.replace("ExecutionProvider", "") for p in record["providers_requested"])
        text = used if not asked or asked == used else f"{used} (asked for {asked})"
        facts.append(("providers", _e(text)))
    threads = _threads(record)
    if threads:
        facts.append(("threads", _e(threads)))
    if record["inputs"]:
        inputs = ", ".join(
            f"{i['name']}: {i['dtype']}[{', '.join(str(d) for d in i['shape'])}]"
            for i in record["inputs"]
        )
        facts.append(("inputs", f"<code>{_e(inputs)}</code>"))
    if record["model_sha256"]:
        sha = record["model_sha256"]
        facts.append(("sha256", f'<code title="{_e(sha)}">{_e(sha[:16])}\u2026</code>'))
    if record["outcome"]:
        facts.append(("test outcome", _e(record["outcome"])))
    body = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in facts)
    return f'<dl class="facts">{body}</dl>'


def _measurement(record: SlaRecord, anchor: str) -> str:
    sub = f"{record['kind']}: {record['api']}"
    return (
        f'<section class="card measurement" id="{anchor}">'
        f'<div class="mhead"><h3 class="mono">{_e(record["label"])}</h3>'
        f"{_verdict_pill(record, 'no budget')}{_band_pill(record) if record['band'] else ''}"
        f'<span class="sub">{_e(sub)}</span></div>'
        f'<div class="mbody"><div>{_histogram(record, anchor + "-title")}{_stats(record)}</div>'
        f"{_facts(record)}</div></section>"
    )


# --- the run ------------------------------------------------------------------------------


def _when(started_at: str) -> str:
    """``2026-01-02T03:04:05Z`` -> ``2026-01-02 03:04:05 UTC``; anything else as is."""
    if len(started_at) == 20 and started_at[10] == "T" and started_at.endswith("Z"):
        return f"{started_at[:10]} {started_at[11:19]} UTC"
    return started_at


def _setting(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or "-"
    return "-" if value is None else str(value)


def _environment(run: Run, tool: dict[str, str]) -> str:
    env = run["environment"]
    cpu = env.get("cpu_model") or env.get("machine") or "unknown"
    if env.get("cpu_count"):
        cpu += f", {env['cpu_count']} logical CPUs"
    load = _finite(env.get("load_avg_1m"))
    if load is not None:
        cpu += f" (load {load:.2f} at start)"
    packages = env.get("packages") or {}
    software = ", ".join(f"{name} {packages[name]}" for name in sorted(packages))
    facts = [
        ("started", _when(run["started_at"])),
        ("duration", _duration(run["duration_s"])),
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
    body = "".join(f"<dt>{_e(name)}</dt><dd>{_e(value)}</dd>" for name, value in facts)
    settings = run.get("settings") or {}
    rows = "".join(
        f"<dt><code>sla_{_e(name)}</code></dt><dd>{_e(_setting(settings[name]))}</dd>"
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
        (totals.get("inconclusive", 0), "inconclusive", "inconclusive", "s-warn"),
        (totals.get("no_budget", 0), "no budget", "no budget", "s-none"),
    ]
    if any(r["comparison"] is not None for r in records):
        counts += [
            (totals.get("regressions", 0), "regressions", "regression", "s-fail"),
            (totals.get("improvements", 0), "improvements", "improvement", "s-pass"),
            (totals.get("mismatches", 0), "mismatches", "mismatch", "s-warn"),
        ]
    pills = "".join(
        f'<li class="{cls if n else "s-none"}"><b>{fmt.count(int(n))}</b> '
        f"{_e(one if n == 1 else name)}</li>"
        for n, name, one, cls in counts
        if n or name in ("pass", "fail", "inconclusive")
    )
    headroom = _finite(run.get("settings", {}).get("headroom"))
    summary = summary_line(records, headroom if headroom is not None else 10.0) if records else ""
    tests = totals.get("tests", 0)
    meta = (
        f"{fmt.count(len(records))} measurement{'s' if len(records) != 1 else ''} in "
        f"{fmt.count(int(tests))} test{'s' if tests != 1 else ''} · started "
        f"{_when(run['started_at'])} · took {_duration(run['duration_s'])}"
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
        banner += f'<div class="banner"><strong>Parallel workers.</strong> {_e(note)}.</div>'
    elif note:
        banner += f'<p class="meta">{_e(note[0].upper() + note[1:])}.</p>'
    return (
        '<header class="card"><div class="titlebar"><h1>SLA report</h1>'
        f'<span class="tool">{_e(document["tool"].get("name", "pytest-latency-sla"))} '
        f"{_e(document['tool'].get('version', ''))}</span></div>"
        f'<div class="status"><span class="verdict-big {css}">{_e(word)}</span>'
        f'<ul class="counts">{pills}</ul></div>'
        f'<p class="meta">{_e(meta)}</p>'
        + (f'<p class="summary">{_e(summary)}</p>' if summary else "")
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
        f'<meta name="generator" content="{_e(generator)}"/>'
        f"<title>{_e(word)} · SLA report</title>"
        f"<style>{_CSS}</style></head>\n<body><main>"
        + _header(document)
        + results
        + _environment(document["run"], tool)
        + f"<footer>Generated by {_e(generator)} "
        f"from report schema version {_e(document['schema_version'])}. "
        "Self-contained: no scripts, fonts or network.</footer>"
        "</main></body></html>\n"
    )
