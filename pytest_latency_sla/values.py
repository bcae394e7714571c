"""Values as users write them: text from the command line or an ini file -> a typed value.

Each parser raises :class:`SettingError` with what was expected and what was given; the
settings add where the value came from. Shares (percentiles, confidence, regressions)
follow one rule, :func:`parse_percent`: below 1 a fraction, 1 or more percent.
"""

from __future__ import annotations

import difflib
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable

__all__ = [
    "REPORT_ALIASES",
    "REPORT_TYPES",
    "SettingError",
    "as_text",
    "parse_fraction",
    "parse_percent",
    "parse_percentile",
    "refuse_unknown",
]

#: Report types for --sla-report; a path after a colon is optional where one is implied.
REPORT_TYPES = ("term", "json", "md", "html")
#: Other names accepted for a report type.
REPORT_ALIASES = {"markdown": "md"}


class SettingError(ValueError):
    """A setting with a value that cannot be used."""


def refuse_unknown(
    unknown: Iterable[str], known: Collection[str], source: str, overridden: Collection[str]
) -> None:
    """Raise for the keys of the configuration that look like this plugin's (``sla_...``)
    and are none of its ``known`` ini keys: pytest only warns of an unknown key, and a
    misspelt setting would leave its default to decide the verdicts."""
    keys = sorted(k for k in unknown if k.lower().startswith("sla_") and k not in known)
    if not keys:
        return
    names = sorted(k[4:] for k in known)  # (compared without "sla_", which every one has)
    named = []
    for key in keys:
        close = difflib.get_close_matches(key.lower()[4:], names, n=1, cutoff=0.6)
        where = "-o on the command line" if key in overridden else source
        hint = f"did you mean sla_{close[0]}?" if close else "no setting is close"
        named.append(f"{key} (in {where}; {hint})")
    what = f"{named[0]} is not a setting" if len(named) == 1 else ", ".join(named[:-1])
    if len(named) > 1:
        what += f" and {named[-1]} are not settings"
    them = "it" if len(named) == 1 else "them"
    raise SettingError(
        f"{what} of pytest-latency-sla: as written, pytest ignores {them} and the defaults "
        f"decide the verdicts; correct or remove {them} (every setting: docs/settings.md)"
    )


# --- parsers: text as the user wrote it -> value -------------------------------------------


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SettingError(f"expected a number, got {text!r}") from None
    return value


def _number(low: float, high: float, low_open: bool, high_open: bool) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = _float(text)
        ok_low = value > low if low_open else value >= low
        ok_high = value < high if high_open else value <= high
        if not (math.isfinite(value) and ok_low and ok_high):
            lo = "(" if low_open else "["
            hi = ")" if high_open else "]"
            raise SettingError(f"expected a number in {lo}{low:g}, {high:g}{hi}, got {text!r}")
        return value

    return parse


def _count(low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            number = float(text.replace("_", ""))
        except ValueError:
            raise SettingError(f"expected a whole number, got {text!r}") from None
        if not number.is_integer():
            raise SettingError(f"expected a whole number, got {text!r}")
        value = int(number)
        if value < low:
            raise SettingError(f"expected a whole number >= {low}, got {text!r}")
        return value

    return parse


def _choice(choices: Collection[str]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.strip().lower()
        if value not in choices:
            raise SettingError(f"expected one of {', '.join(choices)}, got {text!r}")
        return value

    return parse


def _flag(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise SettingError(f"expected true or false, got {text!r}")


def _share(text: str) -> tuple[float, float]:
    """A share as (percent, fraction): ``99``, ``99%`` or, below 1, a fraction ``0.99``.

    The one rule for every setting and marker argument that is a share: a value below 1
    is a fraction; 1 or more is percent; a trailing ``%`` always means percent. Values
    are rounded to 12 significant digits, so ``0.999`` is exactly 99.9 percent.
    """
    stripped = text.strip()
    if stripped.endswith("%"):
        try:
            percent = _float(stripped[:-1])
        except SettingError:
            raise SettingError(f"expected a number, got {text!r}") from None
    else:
        value = _float(stripped)
        percent = value * 100.0 if 0.0 < value < 1.0 else value
    return float(f"{percent:.12g}"), float(f"{percent / 100.0:.12g}")


def parse_percent(
    low: float, high: float, low_open: bool, high_open: bool
) -> Callable[[str], float]:
    """A share in percent (``99``, ``99%``, ``0.99``), checked against [low, high] percent."""

    def parse(text: str) -> float:
        percent, _ = _share(text)
        ok_low = percent > low if low_open else percent >= low
        ok_high = percent < high if high_open else percent <= high
        if not (math.isfinite(percent) and ok_low and ok_high):
            raise SettingError(_range_text(low, high, low_open, high_open, text))
        return percent

    return parse


def parse_fraction(
    low: float, high: float, low_open: bool, high_open: bool
) -> Callable[[str], float]:
    """A share kept as a fraction, written as percent or fraction; bounds in percent."""
    check = parse_percent(low, high, low_open, high_open)

    def parse(text: str) -> float:
        check(text)
        return _share(text)[1]

    return parse


#: The most extreme percentiles a verdict can be computed for (besides exactly 100).
PERCENTILE_LIMIT = 1e-7


def parse_percentile(text: str) -> float:
    """A percentile in percent (``99``, ``99.9%``, ``0.999``), in (0, 100], not so close to
    0 or 100 (unless exactly 100) that 1 - q cannot be computed."""
    percent, _ = _share(text)  # (a number; its range is judged below, in one sentence)
    # Before rounding (_share): 99.99999999999 rounds to 100, the maximum, judged apart.
    stripped = text.strip()
    unrounded = _float(stripped.removesuffix("%"))
    if not stripped.endswith("%") and 0.0 < unrounded < 1.0:
        unrounded *= 100.0
    # (Bounds met as written: 100 - 99.9999999 falls a hair below 1e-7 in floats.)
    near = PERCENTILE_LIMIT * (1 - 1e-6)
    # (Past 100 as written, though it rounds to 100: no percentile.)
    too_near = unrounded < 100 and 100 - unrounded < near
    in_range = PERCENTILE_LIMIT <= percent <= 100 and unrounded <= 100
    if not math.isfinite(percent) or not in_range or too_near:
        raise SettingError(
            f"expected a percentile from {PERCENTILE_LIMIT:g} to {100 - PERCENTILE_LIMIT:.7f} "
            "(or exactly 100), written as percent (99) or as a fraction below 1 (0.99), "
            f"got {text!r}"
        )
    return percent


def _range_text(low: float, high: float, low_open: bool, high_open: bool, text: str) -> str:
    lo = "(" if low_open else "["
    hi = ")" if high_open else "]"
    return (
        f"expected a percentage in {lo}{low:g}, {high:g}{hi}, written as percent (99) or as a "
        f"fraction below 1 (0.99), got {text!r}"
    )


def _report(text: str) -> str:
    value = text.strip()
    kind, colon, path = value.partition(":")
    kind = REPORT_ALIASES.get(kind.lower(), kind.lower())  # (choices: any case)
    if kind not in REPORT_TYPES:
        raise SettingError(
            f"unknown report type {value!r} (known: {', '.join(REPORT_TYPES)}, as TYPE or "
            "TYPE:PATH); if that was a test path, put it before --sla-report or write "
            "--sla-report=term"
        )
    if kind == "term" and path:
        raise SettingError(f"the term report prints to the terminal and takes no path: {value!r}")
    if colon and not path.strip():
        raise SettingError(f"empty path in {value!r}; write {kind}:PATH or just {kind}")
    if path.strip() == "-":
        raise SettingError(
            f"{value!r} would write a file named '-': the SLA reports go to files, not to "
            f"standard output; write {kind}:PATH and read that file, or --sla-report=term "
            "for the table"
        )
    return f"{kind}:{path.strip()}" if path.strip() else kind


def _optional(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """A parser that reads "" (not given) as None."""

    def parse_optional(text: str) -> Any:
        return None if not text.strip() else parse(text)

    return parse_optional


def _path(text: str) -> str:
    path = text.strip()
    if path.endswith(".py"):
        # `pytest --sla-save test_x.py`: argparse took the test path as the option's value.
        raise SettingError(
            f"{path!r} looks like a test path, not a JSON file (was a space written where "
            "'=' was meant?); write the option as --sla-save=PATH / --sla-compare=PATH with a "
            ".json path, and give test paths apart"
        )
    if path == "-":
        raise SettingError(
            "'-' would name a file called '-', not standard input or output: write the "
            "option as --sla-save=PATH / --sla-compare=PATH with a .json path"
        )
    return path


def as_text(raw: object) -> str:
    """A value as the user wrote it: pytest may hand ini numbers over as floats. A TOML
    list or table (``sla_compare_ref = ["main"]``) is one value too many."""
    if isinstance(raw, (list, tuple, dict)):
        raise SettingError(
            f"takes one value, got a {'table' if isinstance(raw, dict) else 'list'} "
            f"{raw!r}; write one, e.g. a TOML string or number"
        )
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw)
