"""Settings and the marker, each parsed once into frozen values.

Settings resolve command line > ini/pyproject > default. Each has one help text shared
by its ``--sla-...`` option and its ``sla_...`` ini key, and a bad value names where it
came from. The marker becomes a :class:`MarkerSpec` (a
:class:`~pytest_latency_sla.result.Budget` and how to run the measurement); a bad marker
raises :class:`MarkerError` with a message naming the argument and a correct example.
No pytest import here: the glue in ``plugin.py`` hands in plain values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping, Sequence

    from .result import Budget

__all__ = [
    "INCONCLUSIVE_POLICIES",
    "MARKER_HELP",
    "OPTIONS",
    "MarkerError",
    "MarkerSpec",
    "Option",
    "SettingError",
    "Settings",
    "parse_marker",
    "parse_marker_spec",
    "resolve_settings",
]

MARKER_HELP = (
    "sla(*, ms=None, us=None, percentile=None, isolate=None): latency budget for the `sla` "
    "fixture's measurements: exactly one of ms= or us= (a positive number), on the given "
    "percentile (default: the sla_percentile setting, 99); isolate=True measures in a "
    "separate process, so a crash or hang fails only this test (default: the sla_isolate "
    "setting). E.g. @pytest.mark.sla(ms=50, percentile=95)"
)
_MARKER_EXAMPLE = "@pytest.mark.sla(ms=50) or @pytest.mark.sla(us=200, percentile=95)"
_MARKER_ARGS = ("ms", "us", "percentile", "isolate")

INCONCLUSIVE_POLICIES = ("fail", "pass", "warn")


class MarkerError(ValueError):
    """A ``@pytest.mark.sla(...)`` that cannot be used."""


class SettingError(ValueError):
    """A setting with a value that cannot be used."""


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _example(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class MarkerSpec:
    """The closest ``sla`` marker, parsed: the budget and how to measure against it."""

    budget: Budget
    #: ``isolate=`` as written: True or False, or None to follow the ``sla_isolate`` setting.
    isolate: bool | None = None


def parse_marker(
    args: Sequence[object], kwargs: Mapping[str, object], default_percentile: float
) -> Budget:
    """Turn the closest ``sla`` marker's arguments into a :class:`Budget`."""
    return parse_marker_spec(args, kwargs, default_percentile).budget


def parse_marker_spec(
    args: Sequence[object], kwargs: Mapping[str, object], default_percentile: float
) -> MarkerSpec:
    """Turn the closest ``sla`` marker's arguments into a :class:`MarkerSpec`."""
    if args:
        raise MarkerError(
            f"@pytest.mark.sla takes keyword arguments only, got positional "
            f"{', '.join(repr(a) for a in args)}; write {_MARKER_EXAMPLE}"
        )
    unknown = sorted(set(kwargs) - set(_MARKER_ARGS))
    if unknown:
        raise MarkerError(
            f"@pytest.mark.sla got unknown argument {', '.join(repr(u) for u in unknown)} "
            f"(it takes ms=, us=, percentile= and isolate=); write {_MARKER_EXAMPLE}"
        )
    given = [unit for unit in ("ms", "us") if kwargs.get(unit) is not None]
    if not given:
        raise MarkerError(
            f"@pytest.mark.sla needs a budget: give ms= or us=; write {_MARKER_EXAMPLE}"
        )
    if len(given) == 2:
        raise MarkerError(
            f"@pytest.mark.sla got both ms={kwargs['ms']!r} and us={kwargs['us']!r}; give "
            f"exactly one, e.g. @pytest.mark.sla(ms=50)"
        )
    unit = given[0]
    raw = kwargs[unit]
    value = float(raw) if _is_number(raw) else math.nan  # type: ignore[arg-type]
    if not math.isfinite(value) or value <= 0:
        value_text = f"{type(raw).__name__} {raw!r}"
        raise MarkerError(
            f"@pytest.mark.sla({unit}={raw!r}): {unit}= must be a positive, finite number "
            f"({'milliseconds' if unit == 'ms' else 'microseconds'}), got {value_text}; "
            f"write e.g. @pytest.mark.sla({unit}=50)"
        )
    raw_pct = kwargs.get("percentile")
    percentile = default_percentile
    if raw_pct is not None:
        percentile = float(raw_pct) if _is_number(raw_pct) else math.nan  # type: ignore[arg-type]
        if 0 < percentile < 1:
            raise MarkerError(
                f"@pytest.mark.sla(percentile={raw_pct!r}) looks like a fraction: percentile= "
                f"is in percent (99 for p99, 99.9 for p99.9); write e.g. "
                f"@pytest.mark.sla({unit}={_example(value)}, percentile={percentile * 100:g})"
            )
        if not 0 < percentile <= 100:
            raise MarkerError(
                f"@pytest.mark.sla(percentile={raw_pct!r}): percentile= must be a number in "
                f"(0, 100], in percent (99 for p99, 99.9 for p99.9); write e.g. "
                f"@pytest.mark.sla({unit}={_example(value)}, percentile=95)"
            )
    isolate = kwargs.get("isolate")
    if isolate is not None and not isinstance(isolate, bool):
        raise MarkerError(
            f"@pytest.mark.sla(isolate={isolate!r}): isolate= must be True or False, got "
            f"{type(isolate).__name__} {isolate!r}; write e.g. "
            f"@pytest.mark.sla({unit}={_example(value)}, isolate=True)"
        )
    from .result import Budget

    return MarkerSpec(Budget(value=value, unit=unit, percentile=percentile), isolate)


# --- settings ---------------------------------------------------------------------------


def _number(low: float, high: float, low_open: bool, high_open: bool) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise SettingError(f"expected a number, got {text!r}") from None
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


def _choice(choices: Sequence[str]) -> Callable[[str], str]:
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


#: Report types for --sla-report; a path after a colon is optional where one is implied.
REPORT_TYPES = ("term", "json", "md", "html")


def _report(text: str) -> str:
    value = text.strip()
    kind, colon, path = value.partition(":")
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
    return f"{kind}:{path.strip()}" if path.strip() else kind


def _percentile(text: str) -> float:
    value = _number(0, 100, True, False)(text)
    if value < 1:
        # Like the marker: 0.99 is almost always a fraction meant as p99.
        raise SettingError(
            f"expected a percentile in percent, in [1, 100], got {text!r}, which looks like a "
            f"fraction; write {value * 100:g} for p{value * 100:g}"
        )
    return value


def _optional(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """A parser that reads "" (not given) as None."""

    def parse_optional(text: str) -> Any:
        return None if not text.strip() else parse(text)

    return parse_optional


def _path(text: str) -> str:
    return text.strip()


def _percent_as_fraction(text: str) -> float:
    return _number(0, math.inf, False, True)(text.strip().rstrip("%")) / 100.0


@dataclass(frozen=True)
class Option:
    """One setting: its ``--sla-<name>`` option, ``sla_<name>`` ini key and parser."""

    name: str
    help: str
    default: str
    parse: Callable[[str], Any]
    metavar: str | None = None
    #: A flag takes no value on the command line.
    flag: bool = False
    #: Repeatable on the command line (values accumulate); ini takes a list.
    many: bool = False
    #: For --sla-report: the value when the option is given without one.
    const: str | None = None
    #: The type a TOML config may give; inferred from the default when None.
    toml_type: type | None = None

    @property
    def value_type(self) -> type:
        """The Python type of the value (float, int, bool or str)."""
        if self.toml_type is not None:
            return self.toml_type
        return type(self.parse(self.default)) if not self.many else list

    @property
    def cli(self) -> str:
        return "--sla-" + self.name.replace("_", "-")

    @property
    def ini(self) -> str:
        return "sla_" + self.name


OPTIONS: tuple[Option, ...] = (
    Option(
        "percentile",
        "percentile that a budget applies to when the marker gives none, in percent (default: 99)",
        "99",
        _percentile,
        "PCT",
    ),
    Option(
        "confidence",
        "confidence a pass or fail verdict must reach, in (0.5, 1) (default: 0.99)",
        "0.99",
        _number(0.5, 1, True, True),
        "C",
    ),
    Option(
        "max_time",
        "seconds of sampling after which an undecided verdict is inconclusive (default: 3)",
        "3",
        _number(0, 3600, True, False),
        "SECONDS",
    ),
    Option(
        "max_samples",
        "timed calls after which an undecided verdict is inconclusive (default: 1000000)",
        "1000000",
        _count(10),
        "N",
    ),
    Option(
        "min_time",
        "seconds that samples must span before any verdict, so they spread over time "
        "(default: 0.03)",
        "0.03",
        _number(0, 3600, False, False),
        "SECONDS",
    ),
    Option(
        "settle_time",
        "seconds that samples must span before a verdict within 2x of the budget "
        "(either way); clearer margins are called after sla_min_time (default: 1)",
        "1",
        _number(0, 3600, False, False),
        "SECONDS",
    ),
    Option(
        "warmup_calls",
        "calls after the cold first call before timing starts (default: 100)",
        "100",
        _count(0),
        "N",
    ),
    Option(
        "warmup_time",
        "seconds of warmup at least, besides warmup_calls (default: 0.05)",
        "0.05",
        _number(0, 3600, False, False),
        "SECONDS",
    ),
    Option(
        "inconclusive",
        "what a measurement too close to its budget to call does to the test: "
        "fail, pass or warn (default: fail)",
        "fail",
        _choice(INCONCLUSIVE_POLICIES),
        "{fail,pass,warn}",
    ),
    Option(
        "tight_margin",
        "margins (budget / measured) below this are reported as tight (default: 1.5)",
        "1.5",
        _number(1, math.inf, False, True),
        "X",
    ),
    Option(
        "headroom",
        "margins at or above this are reported as headroom: stop optimizing (default: 10)",
        "10",
        _number(1, math.inf, False, True),
        "X",
    ),
    Option(
        "report",
        "SLA report to produce, TYPE[:PATH]: term (the table in the terminal summary; the "
        "default when no TYPE is given), json, md or html (to PATH, default sla-report.EXT; "
        "md without PATH appends to $GITHUB_STEP_SUMMARY when set); may be repeated",
        "",
        _report,
        "TYPE[:PATH]",
        many=True,
        const="term",
    ),
    Option(
        "raw",
        "include every raw sample in JSON reports and baselines (default: a histogram)",
        "false",
        _flag,
        flag=True,
    ),
    Option(
        "save",
        "write the JSON report to PATH as a baseline for --sla-compare",
        "",
        _optional(_path),
        "PATH",
        toml_type=str,
    ),
    Option(
        "compare",
        "compare each measurement with its entry in the baseline at PATH (a JSON report); "
        "adds a change column to every report",
        "",
        _optional(_path),
        "PATH",
        toml_type=str,
    ),
    Option(
        "max_regression",
        "fail a test whose measured percentile is more than PCT percent slower than its "
        "baseline, when the change is beyond the noise of both runs (default: off)",
        "",
        _optional(_percent_as_fraction),
        "PCT",
        toml_type=float,
    ),
    Option(
        "noise_floor",
        "against a baseline, call a change a regression or improvement only when even the "
        "closest ends of the two runs' confidence intervals differ by more than PCT percent "
        "(default: 100, i.e. 2x: machine states on shared runners move latency that much "
        "between runs; lower it on quiet, dedicated runners)",
        "100",
        _percent_as_fraction,
        "PCT",
    ),
    Option(
        "strict_baseline",
        "fail a test whose baseline entry was recorded under another configuration (model, "
        "onnxruntime version, providers, threads, CPU) instead of marking it",
        "false",
        _flag,
        flag=True,
    ),
    Option(
        "require_providers",
        "fail (instead of skip) a test that asks for an execution provider this "
        "onnxruntime does not have",
        "false",
        _flag,
        flag=True,
    ),
    Option(
        "xdist",
        "under pytest-xdist: serial runs each SLA test alone (no other test runs on any "
        "worker meanwhile); parallel measures beside other tests, with a warning in the "
        "report (default: serial)",
        "serial",
        _choice(("serial", "parallel")),
        "{serial,parallel}",
    ),
    Option(
        "isolate",
        "run each measurement in a separate process, so a native crash or a hang fails "
        "only its test (a marker's isolate= overrides this)",
        "false",
        _flag,
        flag=True,
    ),
    Option(
        "timeout",
        "seconds an isolated measurement may take, worker start included, before its "
        "process is killed and the test fails (default: 60)",
        "60",
        _number(0, 86400, True, False),
        "SECONDS",
    ),
    Option(
        "disable",
        "run each measured callable once, without warmup or verdict (for debugging)",
        "false",
        _flag,
        flag=True,
    ),
)


@dataclass(frozen=True)
class Settings:
    """Every setting, resolved once per session."""

    percentile: float = 99.0
    confidence: float = 0.99
    max_time: float = 3.0
    max_samples: int = 1_000_000
    min_time: float = 0.03
    settle_time: float = 1.0
    warmup_calls: int = 100
    warmup_time: float = 0.05
    inconclusive: str = "fail"
    tight_margin: float = 1.5
    headroom: float = 10.0
    report: tuple[str, ...] = ()
    raw: bool = False
    save: str | None = None
    compare: str | None = None
    max_regression: float | None = None
    noise_floor: float = 1.0
    strict_baseline: bool = False
    require_providers: bool = False
    xdist: str = "serial"
    isolate: bool = False
    timeout: float = 60.0
    disable: bool = False

    def report_targets(self) -> list[tuple[str, str | None]]:
        """(type, path or None) for each requested report, in order."""
        targets = []
        for spec in self.report:
            kind, _, path = spec.partition(":")
            targets.append((kind, path or None))
        return targets


def _as_text(raw: object) -> str:
    """A value as the user wrote it: pytest may hand ini numbers over as floats."""
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw)


def resolve_settings(
    cli: Mapping[str, object],
    ini: Mapping[str, object],
    ini_source: str,
    overridden: Collection[str] = (),
) -> Settings:
    """Command line beats ini beats default. ``cli`` and ``ini`` map option names to
    what pytest parsed (None or "" when not given); ``ini_source`` names the config file;
    ``overridden`` names the ini keys set on the command line with ``-o``.
    """
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for option in OPTIONS:
        raw_cli = cli.get(option.name)
        raw_ini = ini.get(option.name)
        if raw_cli not in (None, [], False):
            source = f"from the command line, {option.cli}"
            raw = raw_cli
        elif raw_ini not in (None, "", []):
            if option.ini in overridden:
                source = f"from the command line, -o {option.ini}"
            else:
                source = f"from {option.ini} in {ini_source}"
            raw = raw_ini
        else:
            source = "default"
            raw = option.default
        try:
            if option.many:
                items = raw if isinstance(raw, list) else str(raw).split()
                values[option.name] = tuple(dict.fromkeys(option.parse(str(i)) for i in items))
            elif option.flag and isinstance(raw, bool):
                values[option.name] = raw
            else:
                values[option.name] = option.parse(_as_text(raw))
        except SettingError as exc:
            raise SettingError(f"{option.cli} / {option.ini}: {exc} ({source})") from None
        sources[option.name] = source
    settings = Settings(**values)
    if settings.headroom < settings.tight_margin:
        raise SettingError(
            f"--sla-headroom / sla_headroom ({settings.headroom:g}, {sources['headroom']}) "
            f"must not be below --sla-tight-margin / sla_tight_margin "
            f"({settings.tight_margin:g}, {sources['tight_margin']})"
        )
    if settings.save and settings.disable:
        raise SettingError(
            f"--sla-save / sla_save ({sources['save']}) with --sla-disable / sla_disable "
            f"({sources['disable']}) would record a baseline of one untimed call per test; "
            "drop one of them"
        )
    return settings
