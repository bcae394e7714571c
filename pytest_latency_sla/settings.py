"""The settings: each declared once, and resolved once per session.

A setting is one field of :class:`Settings`, declared with :func:`setting`: its name,
type (the annotation), default, unit and help text. Everything else is derived from
that one declaration: the ``--sla-<name>`` option, the ``sla_<name>`` ini key, the help
text with its "(default: ...)", the TOML type, and the :class:`~.plan.SamplingPlan`
fields in nanoseconds. Sampling defaults are the plan's own (``plan.py``), converted.

Values resolve command line > ini/pyproject > default; a bad value names where it came
from. No pytest import here: the glue in ``plugin.py`` hands in plain values.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from .conflicts import check_together
from .plan import DEFAULT_PERCENTILE, SamplingPlan
from .values import (
    REPORT_TYPES,
    SettingError,
    _choice,
    _count,
    _flag,
    _number,
    _optional,
    _path,
    _report,
    as_text,
    parse_fraction,
    parse_percent,
    parse_percentile,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping

__all__ = [
    "INCONCLUSIVE_POLICIES",
    "OPTIONS",
    "REPORT_TYPES",
    "Option",
    "SettingError",
    "Settings",
    "parse_fraction",
    "parse_percent",
    "resolve_settings",
]

INCONCLUSIVE_POLICIES = ("fail", "pass", "warn")

T = TypeVar("T")


# --- the declaration --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Declared:
    """What :func:`setting` records on a field, besides its name, type and default."""

    help: str
    parse: Callable[[str], Any]
    metavar: str | None
    #: "value" (takes a value), "flag" (a switch) or "many" (repeatable; ini takes a list).
    kind: str
    #: How the default reads in the help text (None: derived from the value).
    shown: str | None
    #: Said after the default in the help text, e.g. why it is what it is.
    note: str | None
    #: Unit of the value: "s" (seconds), "%" (a share, kept as percent), "fraction" (a
    #: share, kept as a fraction), "x" (a ratio) or None.
    unit: str | None
    #: The SamplingPlan field this setting feeds, or None.
    plan: str | None
    #: For "many": the value when the option is given without one.
    const: str | None


def setting(
    default: T,
    help: str,
    parse: Callable[[str], Any],
    *,
    metavar: str | None = None,
    kind: str = "value",
    shown: str | None = None,
    note: str | None = None,
    unit: str | None = None,
    plan: str | None = None,
    const: str | None = None,
) -> T:
    """Declare one setting: a :class:`Settings` field with everything derived from it."""
    declared = _Declared(help, parse, metavar, kind, shown, note, unit, plan, const)
    if isinstance(default, tuple):
        return dataclasses.field(default_factory=lambda: default, metadata={"sla": declared})
    return dataclasses.field(default=default, metadata={"sla": declared})


_PLAN_DEFAULTS = SamplingPlan()


def _from_plan(name: str) -> float:
    """A SamplingPlan default in the setting's unit (ns fields become seconds)."""
    value = getattr(_PLAN_DEFAULTS, name)
    return value / 1e9 if name.endswith("_ns") else value  # type: ignore[no-any-return]


#: The longest time setting (s): an hour.
MAX_SECONDS = 3600
_SECONDS = _number(0, MAX_SECONDS, False, False)


@dataclass(frozen=True)
class Settings:
    """Every setting, resolved once per session. Each field is the setting's declaration."""

    percentile: float = setting(
        DEFAULT_PERCENTILE,
        "percentile that a budget applies to when the marker gives none",
        parse_percentile,
        metavar="PCT",
        unit="%",
    )
    confidence: float = setting(
        _PLAN_DEFAULTS.confidence,
        "confidence a pass or fail verdict must reach, in (50%, 100%)",
        parse_fraction(50, 100, True, True),
        metavar="PCT",
        unit="fraction",
        plan="confidence",
    )
    max_time: float = setting(
        _from_plan("max_time_ns"),
        "seconds of sampling after which an undecided verdict is inconclusive",
        _number(0, MAX_SECONDS, True, False),
        metavar="SECONDS",
        unit="s",
        plan="max_time_ns",
    )
    time_limit: float = setting(
        _from_plan("time_limit_ns"),
        "seconds a measurement may sample in all (from its start, not added to "
        "sla_max_time): past sla_max_time only while the calls so far project a verdict "
        "within its reach, before 1.5 times it (slow models); with none, sampling stops "
        "at sla_max_time; at or below sla_max_time: never past sla_max_time",
        _number(0, 86400, False, False),
        metavar="SECONDS",
        unit="s",
        plan="time_limit_ns",
    )
    run_time: float = setting(
        1800.0,
        "seconds of measuring per test session (per xdist worker) after which no "
        "measurement goes past sla_max_time; 0: no such cap",
        _number(0, 864000, False, False),
        metavar="SECONDS",
        unit="s",
    )
    max_samples: int = setting(
        _PLAN_DEFAULTS.max_samples,
        "timed calls after which an undecided verdict is inconclusive",
        _count(10),
        metavar="N",
        plan="max_samples",
    )
    min_time: float = setting(
        _from_plan("min_time_ns"),
        "seconds that samples must span before any verdict, so they spread over time",
        _SECONDS,
        metavar="SECONDS",
        unit="s",
        plan="min_time_ns",
    )
    settle_time: float = setting(
        _from_plan("settle_time_ns"),
        "seconds that samples must span before a verdict within 2x of the budget (either "
        "way); clearer margins are called after sla_min_time",
        _SECONDS,
        metavar="SECONDS",
        unit="s",
        plan="settle_time_ns",
    )
    warmup_calls: int = setting(
        _PLAN_DEFAULTS.warmup_calls,
        "calls after the cold first call before timing starts",
        _count(0),
        metavar="N",
        plan="warmup_calls",
    )
    warmup_time: float = setting(
        _from_plan("warmup_time_ns"),
        "seconds of warmup at least; warmup ends once both this and sla_warmup_calls are "
        "reached, or after 1 s (a slow model)",
        _SECONDS,
        metavar="SECONDS",
        unit="s",
        plan="warmup_time_ns",
    )
    load_time: float = setting(
        _from_plan("load_time_ns"),
        "seconds an open-loop load (the marker's rps=) runs before it may pass (a clear "
        "failure is called sooner): queues and periodic stalls take time to show",
        _SECONDS,
        metavar="SECONDS",
        unit="s",
        plan="load_time_ns",
    )
    inconclusive: str = setting(
        "fail",
        "what a measurement too close to its budget to call does to the test: fail, pass or warn",
        _choice(INCONCLUSIVE_POLICIES),
        metavar="{fail,pass,warn}",
    )
    tight_margin: float = setting(
        1.5,
        "margins (budget / measured) below this are reported as tight",
        _number(1, math.inf, False, True),
        metavar="X",
        unit="x",
    )
    headroom: float = setting(
        10.0,
        "margins at or above this are reported as headroom: stop optimizing",
        _number(1, math.inf, False, True),
        metavar="X",
        unit="x",
    )
    report: tuple[str, ...] = setting(
        (),
        "SLA report to produce, TYPE[:PATH]: term (the table in the terminal summary; the "
        "default when no TYPE is given), json, md or html (to PATH, default sla-report.EXT; a "
        "PATH ending in / or naming a folder gets index.html / sla-report.EXT inside; md "
        "without PATH appends to $GITHUB_STEP_SUMMARY when set); may be repeated; an empty "
        "value means no report",
        _report,
        metavar="TYPE[:PATH]",
        kind="many",
        const="term",
        shown="none",
    )
    raw: bool = setting(
        False,
        "include every raw sample in JSON reports and baselines, instead of a histogram",
        _flag,
        kind="flag",
    )
    save: str | None = setting(
        None,
        "write the JSON report to PATH as a baseline for --sla-compare",
        _optional(_path),
        metavar="PATH",
        shown="none",
    )
    compare: str | None = setting(
        None,
        "compare each measurement with its entry in the baseline at PATH (a JSON report); "
        "adds a change column to every report",
        _optional(_path),
        metavar="PATH",
        shown="none",
    )
    compare_ref: str | None = setting(
        None,
        "measure each sla.onnx(path) model whose file differs at git revision REF (e.g. "
        "origin/main) side by side with that revision's bytes, interleaved, and report "
        "the ratio head/base with its interval; with sla_max_regression, fail a slowdown "
        "beyond it",
        _optional(str),
        metavar="REF",
        shown="none",
    )
    compare_dir: str | None = setting(
        None,
        "as --sla-compare-ref, with the base taken from a folder holding a checkout of it "
        "(e.g. made with git worktree add): each model at the same path relative to the "
        "current directory",
        _optional(_path),
        metavar="DIR",
        shown="none",
    )
    max_regression: float | None = setting(
        None,
        "fail a test more than PCT percent slower than its baseline (p50, beyond the noise "
        "floor) or than its base revision (the whole interval of the paired p50 ratio)",
        _optional(parse_fraction(0, math.inf, True, True)),
        metavar="PCT",
        unit="fraction",
        shown="off",
    )
    noise_floor: float = setting(
        1.0,
        "against a stored baseline, call a change of the median a regression or improvement "
        "only beyond PCT percent either way",
        parse_fraction(0, math.inf, False, True),
        metavar="PCT",
        unit="fraction",
        note="i.e. 2x: machine states on shared runners move latency that much between runs; "
        "lower it on quiet, dedicated runners",
    )
    strict_baseline: bool = setting(
        False,
        "fail a test whose baseline entry was recorded under another configuration "
        "(onnxruntime version, providers, threads, CPU, percentile); without it, it is only "
        "marked 'mismatch' in the reports (a changed model is compared, not a mismatch)",
        _flag,
        kind="flag",
    )
    require_providers: bool = setting(
        False,
        "fail (instead of skip) a test asking for an execution provider onnxruntime lacks",
        _flag,
        kind="flag",
    )
    xdist: str = setting(
        "serial",
        "under pytest-xdist: serial runs each SLA test alone (no other test runs on any "
        "worker meanwhile); parallel measures beside other tests, with a warning in the "
        "report",
        _choice(("serial", "parallel")),
        metavar="{serial,parallel}",
    )
    advise: bool = setting(
        False,
        "time the usual optimizations of each ONNX model (int8 dynamic quantization, made in "
        "a separate process; graph optimization levels; intra-op threads 1 and the number "
        "of cores; the IO-binding call path) side by side with it, and say whether any "
        "changes the SLA's outcome",
        _flag,
        kind="flag",
    )
    capacity: bool = setting(
        False,
        "also search the highest request rate at which each budget holds (open-loop "
        "load), for sla.onnx() models and callables marked with rps= (thread-safe); a "
        "marker's capacity= overrides this",
        _flag,
        kind="flag",
    )
    isolate: bool = setting(
        False,
        "run each measurement in a separate process, so a native crash or a hang fails only "
        "its test (a marker's isolate= overrides this)",
        _flag,
        kind="flag",
    )
    timeout: float = setting(
        60.0,
        "seconds an isolated measurement (or a cold start's process) may take, worker "
        "start included, before its process is killed and the test fails",
        _number(0, 86400, True, False),
        metavar="SECONDS",
        unit="s",
    )
    disable: bool = setting(
        False,
        "run each measured callable once, without warmup or verdict (for debugging)",
        _flag,
        kind="flag",
    )

    def report_targets(self) -> list[tuple[str, str | None]]:
        """(type, path or None) for each requested report, in order."""
        return [(kind, path or None) for kind, _, path in (s.partition(":") for s in self.report)]

    def units(self) -> dict[str, str]:
        """Each setting's unit, where it has one (``Option.unit``), for the reports."""
        return {o.name: o.unit for o in OPTIONS if o.unit}

    def plan(self) -> SamplingPlan:
        """The sampling plan these settings give (seconds become nanoseconds; a time above
        0 is at least 1 ns)."""
        values = {o.plan: getattr(self, o.name) for o in OPTIONS if o.plan is not None}
        ns = {k: max(round(v * 1e9), 1 if v > 0 else 0) for k, v in values.items() if "_ns" in k}
        return SamplingPlan(**{**values, **ns})


# --- derived: options and ini keys ------------------------------------------------------------


def _show(value: object, unit: str | None) -> str:
    """A value as the help text and docs show a default."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and unit == "fraction":
        return f"{value * 100:g}%"
    if isinstance(value, float) and unit == "%":
        return f"{value:g}%"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _text(value: object, unit: str | None) -> str:
    """A default as text the parser reads back to the same value: as the help shows it
    (every parser of a share reads "99%"), or "" for no value."""
    return "" if value is None or value == () else _show(value, unit)


@dataclass(frozen=True)
class Option:
    """One setting as the command line and the ini file see it (derived, never declared)."""

    name: str
    help: str
    #: The default as text that ``parse`` reads back to the default value.
    default: str
    parse: Callable[[str], Any]
    metavar: str | None
    flag: bool
    many: bool
    const: str | None
    #: The Python type of the value (float, int, bool, str; list for repeatable ones).
    value_type: type
    #: The SamplingPlan field this setting feeds, or None.
    plan: str | None
    #: "s", "%", "fraction" (a share kept as 0-1), "x" or None (see ``_Declared.unit``).
    unit: str | None = None

    @property
    def cli(self) -> str:
        return "--sla-" + self.name.replace("_", "-")

    @property
    def ini(self) -> str:
        return "sla_" + self.name


_TYPES = {"float": float, "int": int, "bool": bool, "str": str}


def _value_type(annotation: object, kind: str) -> type:
    if kind == "many":
        return list
    text = str(annotation).split("|")[0].strip()
    return _TYPES[text]


def _options() -> tuple[Option, ...]:
    options = []
    for field in dataclasses.fields(Settings):
        declared: _Declared = field.metadata["sla"]
        default = field.default if field.default_factory is dataclasses.MISSING else ()
        shown = declared.shown or _show(default, declared.unit)
        if declared.unit == "s" and declared.shown is None:
            shown += " s"
        note = f", {declared.note}" if declared.note else ""
        options.append(
            Option(
                name=field.name,
                help=f"{declared.help} (default: {shown}{note})",
                default=_text(default, declared.unit),
                parse=declared.parse,
                metavar=declared.metavar,
                flag=declared.kind == "flag",
                many=declared.kind == "many",
                const=declared.const,
                value_type=_value_type(field.type, declared.kind),
                plan=declared.plan,
                unit=declared.unit,
            )
        )
    return tuple(options)


OPTIONS: tuple[Option, ...] = _options()


# --- resolution -------------------------------------------------------------------------------


def setting_source(
    option: Option, on_cli: bool, ini_source: str, overridden: Collection[str]
) -> str:
    """Where a value came from, as errors say: ``on_cli``, ``-o`` or ``ini_source``."""
    if on_cli or option.ini in overridden:
        return f"from the command line, {option.cli if on_cli else '-o ' + option.ini}"
    return f"from {option.ini} in {ini_source}"


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
        given = raw_cli not in (None, [], False)
        if given or raw_ini not in (None, "", []):
            source = setting_source(option, given, ini_source, overridden)
            raw = raw_cli if given else raw_ini
        else:
            source = "default"
            raw = option.default
        try:
            if option.many:
                items = raw if isinstance(raw, list) else str(raw).split()
                # An empty value (`--sla-report=`) asks for nothing.
                parsed = (option.parse(str(i)) for i in items if str(i).strip())
                values[option.name] = tuple(dict.fromkeys(parsed))
            elif option.flag and isinstance(raw, bool):
                values[option.name] = raw
            else:
                values[option.name] = option.parse(as_text(raw))
        except SettingError as exc:
            raise SettingError(f"{option.cli} / {option.ini}: {exc} ({source})") from None
        sources[option.name] = source
    return check_together(Settings(**values), sources)
