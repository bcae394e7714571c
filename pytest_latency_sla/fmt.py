"""Number formatting: durations, margins, counts and rates, for messages and reports."""

from __future__ import annotations

import math

__all__ = [
    "budget",
    "count",
    "duration",
    "given",
    "margin",
    "pct_label",
    "percent",
    "rate",
    "share",
]


def duration(seconds: float) -> str:
    """3 significant figures in the unit that fits: ``27.0 µs``, ``1.55 ms``, ``2.10 s``."""
    if not math.isfinite(seconds):
        return str(seconds)
    shown = abs(_round3(seconds))
    for scale, unit in _UNITS[:-1]:
        if shown >= scale:
            return f"{_sig3(seconds / scale)} {unit}"
    return f"{_sig3(seconds / 1e-9)} ns"


#: Units of time, largest first.
_UNITS = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"))


def _round3(value: float) -> float:
    """``value`` rounded to 3 significant figures: choose units and decimals on what
    prints, so 0.9997 ms is ``1.00 ms`` rather than ``1,000 µs``, 9.996 ``10.0``."""
    return float(f"{value:.3g}")


def _sig3(value: float) -> str:
    shown = abs(_round3(value))
    if shown >= 100:
        return f"{value:,.0f}"
    if shown >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def margin(value: float | None) -> str:
    """Budget / measured with thousands separators: ``1,850x``, ``12.4x``, ``0.82x``; a
    billion or more in powers of ten (``1.36e+305x``, from a budget of ``ms=1e300``: the
    digits would widen every row of the table)."""
    if value is None:
        return "-"
    if not math.isfinite(value):
        return "inf"
    shown = _round3(value)
    if shown >= 1e9:
        return f"{value:.3g}x"
    if shown >= 100:
        return f"{value:,.0f}x"
    if shown >= 10:
        return f"{value:.1f}x"
    if value >= 0.01:
        return f"{_off_one(value, 2)}x"
    return f"{value:.2g}x"


def _off_one(value: float, places: int) -> str:
    """``value`` to ``places`` decimals, or more where it would read as exactly 1 and is
    not: a miss by 0.4% reads ``0.996x``, not ``1.00x`` (up to 12 decimals: a p99 a
    nanosecond over a 1 s budget reads ``0.999999999x``)."""
    text = f"{value:.{places}f}"
    while value != 1.0 and float(text) == 1.0 and places < 12:
        places += 1
        text = f"{value:.{places}f}"
    return text


def duration_beside(seconds: float, other: float) -> str:
    """:func:`duration`, with the figures it takes not to read as ``other`` does when it
    differs: ``1.004 ms`` beside a 1 ms budget, not ``1.00 ms``."""
    text = duration(seconds)
    if seconds == other or not math.isfinite(seconds) or text != duration(other):
        return text
    unit = text.split(" ")[1]
    scale = next(size for size, name in _UNITS if name == unit)
    for places in range(3, 7):
        mine, theirs = f"{seconds / scale:.{places}f}", f"{other / scale:.{places}f}"
        if mine != theirs:
            return f"{mine} {unit}"
    return text


def count(value: int) -> str:
    """``1240`` -> ``1,240``."""
    return f"{value:,}"


def rate(per_second: float) -> str:
    """Calls per second: ``10.9M/s``, ``163k/s``, ``3,658/s``, ``2.5/s``."""
    if not math.isfinite(per_second):
        return "inf"
    shown = _round3(per_second)
    if shown >= 1e6:
        return f"{_sig3(per_second / 1e6)}M/s"
    if round(per_second) >= 1e5:
        return f"{_sig3(per_second / 1e3)}k/s"
    if round(per_second, 1) >= 100:
        return f"{per_second:,.0f}/s"
    return f"{per_second:.1f}/s"


def budget(value: float, unit: str) -> str:
    """A budget as declared: ``50 ms``, ``200 µs``, ``0.5 ms``."""
    return f"{value:g} {'µs' if unit == 'us' else unit}"


def percent(fraction: float) -> str:
    """``0.99`` -> ``99%``, ``0.995`` -> ``99.5%``."""
    return f"{fraction * 100:g}%"


def long_duration(seconds: float) -> str:
    """A long wait in the unit people plan with: ``1800`` -> ``30 min``, ``9000`` ->
    ``2.5 h`` (under two minutes, as :func:`duration`)."""
    if seconds >= 7200:
        return f"{math.ceil(seconds / 360) / 10:g} h"  # (up: "10 min" read as within a cap)
    return f"{math.ceil(seconds / 60):.0f} min" if seconds >= 120 else duration(seconds)


def share(fraction: float, places: int = 2) -> str:
    """``fraction`` as a percentage rounded to ``places`` of the fraction (``0.384`` ->
    ``38%`` at 2), but never to nothing: a positive share too small for them keeps two
    figures (``0.0019`` -> ``0.19%``; it read "0% of calls waited", and that this wait
    alone stood between the samples and a verdict)."""
    rounded = round(fraction, places)
    if rounded == 0 and fraction > 0:
        return f"{fraction * 100:.2g}%"
    return percent(rounded)


def pct_label(percentile: float) -> str:
    """``99`` -> ``p99``, ``99.9`` -> ``p99.9`` (``percentile`` in percent), every digit
    the value has: ``99.99999`` read "p100", the label of another kind of budget."""
    return f"p{percentile:.15g}"


#: A value a message quotes is cut to this many characters.
GIVEN_MAX = 40


def given(value: object, limit: int = GIVEN_MAX) -> str:
    """``repr(value)`` as a message quotes what a user wrote, at most ``limit`` (at least
    20) characters: a longer whole number by its first digits and its length (``10**400``
    printed all 401 digits, and past 4,300 ``repr`` raises), anything else cut short;
    a ``repr`` that raises by its type."""
    if isinstance(value, int) and not isinstance(value, bool):
        size = abs(value)
        digits = int(size.bit_length() * 0.30102999566398120) + 1
        if size and 10 ** (digits - 1) > size:
            digits -= 1
        if digits > limit:
            head = size // 10 ** (digits - 20)
            return f"{'-' if value < 0 else ''}{head}... ({digits:,} digits)"
    try:
        text = repr(value)
    except Exception:  # a repr of the user's that raises
        return f"<{type(value).__name__}>"
    if len(text) > limit:
        return f"{text[: max(1, limit - 20)]}... ({len(text):,} characters)"
    return text


def round_up(seconds: float) -> str:
    """A number of seconds to suggest: 2 significant figures, up."""
    if seconds <= 10:
        return f"{math.ceil(seconds):g}"
    step = 10 ** (math.floor(math.log10(seconds)) - 1)
    return f"{math.ceil(seconds / step) * step:g}"
