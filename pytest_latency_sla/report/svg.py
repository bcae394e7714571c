"""The latency histogram of one record as inline SVG, for the HTML report.

A log-scale time axis over the samples (and the budget, when it is near), bars with the
bins at or beyond the budget in the "over" colour, the confidence interval of the
measured percentile behind them, and the budget, the measured percentile and p50 as
vertical lines whose labels never overlap. Styled by ``html.css`` (``svg.histogram``).
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING, NamedTuple

from .. import fmt
from .markup import duration, esc, finite

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from ..schema import SlaRecord

__all__ = ["histogram", "sweep_chart"]

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
    return f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}">{esc(text)}</text>'


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


def histogram(record: SlaRecord, title_id: str) -> str:
    """The latency histogram of a record as inline SVG."""
    pct = fmt.pct_label(record["percentile"])
    histogram = record["histogram"]
    edges = [finite(e) for e in histogram.get("edges_s", [])]
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
        f'aria-labelledby="{title_id}"><title id="{title_id}">{esc(label)}</title>'
    )
    if not usable:
        return (
            f'{svg_open}<text class="empty" x="{_n(_W / 2)}" y="{_n(_H / 2)}" '
            'text-anchor="middle">no samples to draw</text></svg>'
        )
    seconds = [e for e in edges if e is not None]
    budget = finite(record["budget_s"])
    budget = budget if budget is not None and budget > 0 else None
    measured = finite(record["measured_s"])
    p50 = finite(record["p50_s"])
    interval = [v for v in (finite(b) for b in record["interval_s"] or []) if v is not None]
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
            f'height="10"/><text x="{_n(_X0 + 19)}" y="{_n(_H - 4)}">{esc(confidence)} '
            f"confidence interval of {esc(pct)}</text></g>"
        )
        parts.append(
            f'<rect class="ci" x="{_n(left)}" y="{_n(_Y0)}" width="{_n(max(right - left, 1.0))}" '
            f'height="{_n(_Y1 - _Y0)}"><title>{esc(pct)} {esc(confidence)} confidence interval: '
            f"{esc(duration(interval[0]))} to {esc(duration(interval[1]))}</title></rect>"
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
            f"{duration(seconds[i])} to {duration(seconds[i + 1])}: "
            f"{fmt.count(count)} call{'s' if count != 1 else ''}"
        )
        parts.append(
            f'<rect class="bar{" over" if over else ""}" x="{_n(left)}" y="{_n(_Y1 - height)}" '
            f'width="{_n(max(width, 1.0))}" height="{_n(height)}"><title>{esc(tip)}</title></rect>'
        )
    parts.append(_line("axis", _X0, _X1, _Y1, _Y1))

    # Marks: budget, measured percentile, median.
    marks: list[_Mark] = []
    if budget is not None:
        declared, unit = record["budget_value"], record["budget_unit"]
        shown = fmt.budget(declared, unit) if declared is not None and unit else duration(budget)
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
            f'<g class="{mark.kind}">{f"<title>{esc(mark.tip)}</title>" if mark.tip else ""}'
            f'{line}<text x="{_n(text_x)}" y="{_n(y)}" '
            f'text-anchor="{side}">{esc(mark.text)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def sweep_chart(record: SlaRecord) -> str:
    """Latency against size for a sweep (``sweep=``): the judged percentile and p50 per
    size on log-log axes, and the budget as a horizontal line; "" without a sweep."""
    sweep = record.get("sweep")
    if not sweep or len(sweep["sizes"]) < 2:
        return ""
    width, height, left, right, top, bottom = 360.0, 170.0, 52.0, 12.0, 12.0, 30.0
    sizes = [float(e["size"]) for e in sweep["sizes"]]
    values = [e["percentile_s"] for e in sweep["sizes"]] + [e["p50_s"] for e in sweep["sizes"]]
    budget = finite(record["budget_s"])
    lows = [v for v in values if v > 0] + ([budget] if budget else [])
    lo_y, hi_y = math.log10(min(lows)) - 0.1, math.log10(max(lows)) + 0.1
    lo_x, hi_x = math.log10(min(sizes)), math.log10(max(sizes))

    def x(size: float) -> float:
        return left + (math.log10(size) - lo_x) / max(hi_x - lo_x, 1e-9) * (width - left - right)

    def y(seconds: float) -> float:
        share = (math.log10(max(seconds, 1e-12)) - lo_y) / max(hi_y - lo_y, 1e-9)
        return height - bottom - share * (height - top - bottom)

    parts = [_line("axis", left, width - right, height - bottom, height - bottom)]
    lines = (
        ("measured", [e["percentile_s"] for e in sweep["sizes"]]),
        ("p50", [e["p50_s"] for e in sweep["sizes"]]),
    )
    for css, seconds in lines:
        points = " ".join(f"{_n(x(s))},{_n(y(v))}" for s, v in zip(sizes, seconds, strict=True))
        parts.append(f'<polyline class="{css}" fill="none" points="{points}"/>')
    if budget:
        parts.append(_line("budget", left, width - right, y(budget), y(budget)))
        parts.append(_text(width - right, y(budget) - 4, "end", f"budget {duration(budget)}"))
    for size in sizes:
        parts.append(_text(x(size), height - bottom + 16, "middle", f"{int(size)}"))
    parts.append(_text(left - 6, y(max(lows)) + 4, "end", duration(max(lows))))
    parts.append(_text(left - 6, y(min(lows)) + 4, "end", duration(min(lows))))
    label = f"{fmt.pct_label(record['percentile'])} and p50 against {sweep['dim']}"
    return (
        f'<svg class="sweep" viewBox="0 0 {_n(width)} {_n(height)}" role="img" '
        f'aria-label="{esc(label)}">{"".join(parts)}</svg>'
    )
