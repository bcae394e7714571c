"""The ``sla`` marker: its arguments, parsed once into a frozen :class:`MarkerSpec`.

A bad marker raises :class:`MarkerError` with a message naming the argument and a
correct example. No pytest import here: the glue in ``plugin.py`` hands in the marker's
arguments and adds the test's name.
"""

from __future__ import annotations

import decimal
import math
import numbers
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeGuard

from .fmt import given
from .settings import OPTIONS
from .values import PERCENTILE_LIMIT, SettingError, parse_percentile

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from .loadspec import LoadSpec
    from .result import Budget

__all__ = [
    "MARKER_HELP",
    "MarkerError",
    "MarkerSpec",
    "as_written",
    "not_for_benchmarks",
    "own_sla_marks",
    "parse_marker",
    "parse_marker_spec",
    "stacked_sla_marks",
]

#: The sampling settings a marker may set for its test, by their setting names
#: (``max_time=`` for ``sla_max_time``): every setting that feeds the sampling plan.
SAMPLING_ARGS = {o.name: o for o in OPTIONS if o.plan is not None}

MARKER_HELP = (
    "sla(*, ms=None, us=None, percentile=None, isolate=None, cold_ms=None, rps=None, "
    "arrivals='poisson', concurrency=32, capacity=None, **sampling): latency budget "
    "for the `sla` fixture's measurements: exactly one of ms= or us= (a positive number), "
    "on the given percentile, in percent or as a fraction below 1 (default: the "
    "sla_percentile setting, 99); isolate=True measures in a separate process, so a crash "
    "or hang fails only this test (default: the sla_isolate setting); cold_ms= a budget "
    "on session creation plus the first call of each sla.onnx() model, in fresh "
    "processes; rps= judges the budget under an open-loop load of that many requests a "
    "second, arrivals= 'poisson' or 'constant', from up to concurrency= threads; "
    "capacity=True searches for the highest rate the budget holds at; sampling settings "
    f"for this test alone: {', '.join(a + '=' for a in SAMPLING_ARGS)} (as the sla_* "
    "settings of those names). E.g. @pytest.mark.sla(ms=50, percentile=95, max_time=60)"
)
_MARKER_EXAMPLE = "@pytest.mark.sla(ms=50) or @pytest.mark.sla(us=200, percentile=95)"
_LOAD_ARGS = ("rps", "arrivals", "concurrency", "capacity")
_MARKER_ARGS = ("ms", "us", "percentile", "isolate", "cold_ms", *_LOAD_ARGS, *SAMPLING_ARGS)
_PERCENTILE = parse_percentile


class MarkerError(ValueError):
    """A ``@pytest.mark.sla(...)`` that cannot be used."""


def _is_number(value: object) -> TypeGuard[numbers.Real]:
    """A real number, numpy's scalars and ``Decimal`` included (``np.float32(5)`` is no
    ``float``; a ``Decimal`` is no ``numbers.Real``); not a bool (``True`` is an ``int``)."""
    real = isinstance(value, (numbers.Real, decimal.Decimal))
    return real and not isinstance(value, bool)


def _number(value: object) -> float:
    """A marker's number as a float: NaN for what is none, infinity for an int too large
    for a float (``10**400``), so each is refused as not a positive, finite number."""
    if not _is_number(value):
        return math.nan
    try:
        return float(value)
    except OverflowError:
        return math.inf
    except ValueError:  # Decimal("sNaN") will not become a float
        return math.nan


def _flag(value: object) -> object:
    """numpy's bool as a bool (``np.True_`` is no ``bool``); anything else as it is."""
    if getattr(getattr(value, "dtype", None), "kind", None) == "b" and not hasattr(
        value, "__len__"
    ):
        return bool(value)
    return value


def _example(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class MarkerSpec:
    """The closest ``sla`` marker, parsed: the budget and how to measure against it."""

    budget: Budget
    #: ``isolate=`` as written: True or False, or None to follow the ``sla_isolate`` setting.
    isolate: bool | None = None
    #: Sampling settings for this test (``max_time=`` ...), parsed as the ``sla_*``
    #: settings of those names are: setting name -> value.
    sampling: Mapping[str, Any] = field(default_factory=dict)
    #: ``cold_ms=``: a budget on session creation plus the first call, in milliseconds.
    cold_ms: float | None = None
    #: ``rps=``, ``arrivals=``, ``concurrency=``, ``capacity=``: the load to judge under
    #: (None: calls one at a time, and no capacity search unless ``sla_capacity``).
    load: LoadSpec | None = None


def own_sla_marks(item: Any) -> list[Any]:
    """The sla markers written on a test itself (a pytest item): decorators on its
    function, and its ``pytest.param``'s marks (``item.own_markers`` also holds those a
    conftest added with ``item.add_marker`` over a whole suite)."""
    marks = list(getattr(getattr(item, "obj", None), "pytestmark", None) or [])
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        marks += list(callspec.marks)
    return [mark for mark in marks if getattr(mark, "name", None) == "sla"]


def stacked_sla_marks(item: Any) -> tuple[str, list[Any]]:
    """Where more than one sla marker is written at one level, and those markers: the
    test's own ("one test"), or else the nearest class's or module's that has one
    (``pytestmark = [...]``), whose markers pytest would all hand on with only the first
    judged; ("", []) for none."""
    own = own_sla_marks(item)
    if own:
        return ("one test", own) if len(own) > 1 else ("", [])
    # The nearest level with a marker is the one that applies.
    for node in reversed(item.listchain()[:-1]):
        obj = getattr(node, "obj", None) or object
        # (A class node of any kind, unittest.TestCase's too, holds a class.)
        kind = "class" if isinstance(obj, type) else "module"
        # A class's own markers, else the nearest base class's that has some (pytest
        # hands a subclass its bases' markers); a module's own.
        for owner in obj.__mro__ if kind == "class" and isinstance(obj, type) else (obj,):
            marks = written_sla_marks(owner)
            if len(marks) > 1:
                inherited = f", a base class of {node.name}" if owner is not obj else ""
                name = owner.__name__ if kind == "class" else node.name
                return f"the {kind} {name}{inherited}", marks
            if marks:
                return "", []
    return "", []


def written_sla_marks(owner: object) -> list[Any]:
    """The sla markers written on a class or module itself (its ``pytestmark``), not
    those a class inherits."""
    written = vars(owner).get("pytestmark", []) if hasattr(owner, "__dict__") else []
    written = written if isinstance(written, list) else [written]
    return [getattr(m, "mark", m) for m in written if getattr(m, "name", None) == "sla"]


def closest_sla_mark(item: Any) -> Any:
    """The sla marker that applies to a test (a pytest item), or None: pytest's closest,
    except that a class's own marker comes before its base classes'. pytest lists a
    class's markers base class first, so its ``get_closest_marker`` returns a base
    class's over the subclass's own (pytest issue 14329)."""
    node, mark = next(iter(item.iter_markers_with_node("sla")), (None, None))
    obj = getattr(node, "obj", None)
    if mark is None or not isinstance(obj, type):  # (any class node, a TestCase's too)
        return mark
    written = [m for owner in obj.__mro__ for m in written_sla_marks(owner)]
    # (One added to the class at run time, add_marker, is pytest's to order.)
    return written[0] if any(m is mark for m in written) else mark


def not_for_benchmarks(spec: MarkerSpec) -> str:
    """Why the marker cannot judge a pytest-benchmark test's rounds ("" if it can): the
    arguments they cannot honour, as written (``confidence=`` applies to the verdict on
    its rounds)."""
    if spec.load is not None and spec.load.rps is not None:
        return (
            "rps= does not apply to pytest-benchmark's rounds, which it times one at a time; "
            "measure under load with the sla fixture: sla.measure(fn) or sla.onnx(model)"
        )
    names = [f"{name}=" for name in spec.sampling if name != "confidence"]
    if spec.isolate:
        names.append("isolate=True")
    if spec.cold_ms is not None:
        names.append("cold_ms=")
    if spec.load is not None and spec.load.capacity:
        names.append("capacity=True")
    if not names:
        return ""
    ignored = ", ".join(names)
    return (
        f"{ignored} on @pytest.mark.sla {'does' if ',' not in ignored else 'do'} not apply "
        "to pytest-benchmark's rounds, which it times in this process as it chooses; remove "
        "it, or measure with the sla fixture: sla.measure(fn) or sla.onnx(model)"
    )


def as_written(marker: Any) -> str:
    """A marker's (a ``pytest.Mark``'s) arguments as written, e.g. ``ms=50, percentile=95``."""
    return ", ".join(
        [*map(given, marker.args), *(f"{k}={given(v)}" for k, v in marker.kwargs.items())]
    )


def parse_marker(
    args: Sequence[object], kwargs: Mapping[str, object], default_percentile: float
) -> Budget:
    """Turn the closest ``sla`` marker's arguments into a :class:`Budget`."""
    return parse_marker_spec(args, kwargs, default_percentile).budget


def _meant(unknown: list[str]) -> str:
    """What a misspelt argument may have meant, e.g. "did you mean percentile=? ", or ""."""
    import difflib

    hints = []
    for name in unknown:
        if name.startswith("sla_") and name[4:] in SAMPLING_ARGS:
            hints.append(f"{name} is the ini key: on the marker write {name[4:]}=")
        elif name.startswith("sla_") and name[4:] in _MARKER_ARGS:
            hints.append(f"on the marker write {name[4:]}=")
        elif name in ("s", "sec", "secs", "seconds", "ns", "min", "msec", "usec"):
            hints.append("a budget is ms= or us=, e.g. ms=50 for 0.05 s")
        elif close := difflib.get_close_matches(name, _MARKER_ARGS, n=1, cutoff=0.6):
            hints.append(f"did you mean {close[0]}=?")
    return "; ".join(dict.fromkeys(hints)) + "; " if hints else ""


def parse_marker_spec(
    args: Sequence[object], kwargs: Mapping[str, object], default_percentile: float
) -> MarkerSpec:
    """Turn the closest ``sla`` marker's arguments into a :class:`MarkerSpec`."""
    if args:
        raise MarkerError(
            f"@pytest.mark.sla takes keyword arguments only, got positional "
            f"{', '.join(given(a) for a in args)}; write {_MARKER_EXAMPLE}"
        )
    unknown = sorted(set(kwargs) - set(_MARKER_ARGS))
    if unknown:
        raise MarkerError(
            f"@pytest.mark.sla got unknown argument {', '.join(repr(u) for u in unknown)} "
            f"({_meant(unknown)}it takes ms=, us=, percentile=, isolate=, cold_ms=, rps=, "
            f"arrivals=, concurrency=, capacity= and the sampling settings "
            f"{', '.join(a + '=' for a in SAMPLING_ARGS)}); write {_MARKER_EXAMPLE}"
        )
    units = [unit for unit in ("ms", "us") if kwargs.get(unit) is not None]
    if not units:
        raise MarkerError(
            f"@pytest.mark.sla needs a budget: give ms= or us=; write {_MARKER_EXAMPLE}"
        )
    if len(units) == 2:
        raise MarkerError(
            f"@pytest.mark.sla got both ms={given(kwargs['ms'])} and "
            f"us={given(kwargs['us'])}; give exactly one, e.g. @pytest.mark.sla(ms=50)"
        )
    unit = units[0]
    raw = kwargs[unit]
    value = _number(raw)
    # In nanoseconds too: 1e305 ms is finite, its nanoseconds are not.
    if not math.isfinite(value * 1e6) or value <= 0:
        value_text = f"{type(raw).__name__} {given(raw)}"
        if math.isfinite(value) and value > 0:  # (finite, but not in nanoseconds)
            value_text += ", too large to count in nanoseconds"
        raise MarkerError(
            f"@pytest.mark.sla({unit}={given(raw)}): {unit}= must be a positive, finite number "
            f"({'milliseconds' if unit == 'ms' else 'microseconds'}), got {value_text}; "
            f"write e.g. @pytest.mark.sla({unit}=50)"
        )
    if value * (1e6 if unit == "ms" else 1e3) < 1.0 - 1e-6:  # (us=1e-300; float32 1 ns: 0.99...)
        raise MarkerError(
            f"@pytest.mark.sla({unit}={given(raw)}): {unit}= is under a nanosecond, less than "
            f"any call can take or a clock can time; write a budget of 1 ns or more, e.g. "
            f"@pytest.mark.sla(us=1)"
        )
    raw_pct = kwargs.get("percentile")
    percentile = default_percentile
    if raw_pct is not None:
        try:
            if not _is_number(raw_pct):
                raise SettingError("not a number")
            # The one rule for shares: below 1 a fraction (0.99 is p99), else percent.
            percentile = _PERCENTILE(repr(_number(raw_pct)))
        except SettingError:
            raise MarkerError(
                f"@pytest.mark.sla(percentile={given(raw_pct)}): percentile= must be a number "
                f"from {PERCENTILE_LIMIT:g} to {100 - PERCENTILE_LIMIT:.7f} (or exactly 100), "
                "in percent (99 for p99, 99.9 for p99.9) or as a fraction below 1 "
                f"(0.99), got {type(raw_pct).__name__} {given(raw_pct)}; write e.g. "
                f"@pytest.mark.sla({unit}={_example(value)}, percentile=95)"
            ) from None
    isolate = _flag(kwargs.get("isolate"))
    if isolate is not None and not isinstance(isolate, bool):
        raise MarkerError(
            f"@pytest.mark.sla(isolate={given(isolate)}): isolate= must be True or False, got "
            f"{type(isolate).__name__} {given(isolate)}; write e.g. "
            f"@pytest.mark.sla({unit}={_example(value)}, isolate=True)"
        )
    sampling = {
        name: _sampling_value(name, kwargs[name], f"{unit}={_example(value)}")
        for name in SAMPLING_ARGS
        if kwargs.get(name) is not None
    }
    cold = kwargs.get("cold_ms")
    cold_ms = _number(cold)
    if cold is not None and not (math.isfinite(cold_ms * 1e6) and cold_ms > 0):
        raise MarkerError(
            f"@pytest.mark.sla(cold_ms={given(cold)}): cold_ms= must be a positive, finite number "
            f"of milliseconds (session creation plus the first call), got "
            f"{type(cold).__name__} {given(cold)}; write e.g. "
            f"@pytest.mark.sla({unit}={_example(value)}, cold_ms=500)"
        )
    from .result import Budget

    budget = Budget(value=value, unit=unit, percentile=percentile)
    load = _load_spec(kwargs, f"{unit}={_example(value)}")
    return MarkerSpec(budget, isolate, sampling, None if cold is None else cold_ms, load)


def _load_spec(kwargs: Mapping[str, object], budget: str) -> LoadSpec | None:
    """The marker's load arguments, checked; None when it has none."""
    from .load import ARRIVALS
    from .loadspec import LoadSpec

    if all(kwargs.get(name) is None for name in _LOAD_ARGS):
        return None
    rps = kwargs.get("rps")
    rate = _number(rps)
    from .loadgen import MAX_RPS

    shown = given(rps)
    if rps is not None and rate > MAX_RPS:  # (infinity too: it is no rate to refuse as negative)
        raise MarkerError(
            f"@pytest.mark.sla(rps={shown}): this load generator cannot issue more than "
            f"{MAX_RPS:,.0f} requests per second from Python threads (about 20,000 on a "
            "2-core runner); load one process with less and add processes for more, or "
            f"search what one process holds with capacity=True; write e.g. "
            f"@pytest.mark.sla({budget}, rps=5000)"
        )
    if rps is not None and not (math.isfinite(rate) and rate > 0):
        raise MarkerError(
            f"@pytest.mark.sla(rps={shown}): rps= must be a positive number of requests per "
            f"second, got {type(rps).__name__} {shown}; write e.g. "
            f"@pytest.mark.sla({budget}, rps=300)"
        )
    arrivals = kwargs.get("arrivals")
    if arrivals is not None and arrivals not in ARRIVALS:
        raise MarkerError(
            f"@pytest.mark.sla(arrivals={given(arrivals)}): arrivals= must be 'poisson' (random "
            f"arrivals, as independent users send them) or 'constant' (evenly spaced); "
            f"write e.g. @pytest.mark.sla({budget}, rps=300, arrivals='constant')"
        )
    concurrency = kwargs.get("concurrency")
    if concurrency is not None and (
        not isinstance(concurrency, numbers.Integral)
        or isinstance(concurrency, bool)
        or not 1 <= int(concurrency) <= 1024
    ):
        raise MarkerError(
            f"@pytest.mark.sla(concurrency={given(concurrency)}): concurrency= must be a whole "
            f"number of calls in flight from 1 to 1024 (1 serializes calls, for a callable "
            f"that is not thread-safe); write e.g. @pytest.mark.sla({budget}, rps=300, "
            "concurrency=1)"
        )
    capacity = _flag(kwargs.get("capacity"))
    if capacity is not None and not isinstance(capacity, bool):
        raise MarkerError(
            f"@pytest.mark.sla(capacity={given(capacity)}): capacity= must be True or False, got "
            f"{type(capacity).__name__} {given(capacity)}; write e.g. "
            f"@pytest.mark.sla({budget}, capacity=True)"
        )
    if rps is None and capacity is None:
        load_args = ", ".join(f"{n}=" for n in _LOAD_ARGS if kwargs.get(n) is not None)
        raise MarkerError(
            f"@pytest.mark.sla: {load_args} only applies under load: give rps= (requests per "
            f"second) or capacity=; write e.g. @pytest.mark.sla({budget}, rps=300)"
        )
    defaults = LoadSpec()
    return LoadSpec(
        rps=None if rps is None else rate,
        arrivals=str(arrivals) if arrivals is not None else defaults.arrivals,
        concurrency=int(concurrency) if concurrency is not None else defaults.concurrency,
        capacity=capacity,
    )


def _sampling_value(name: str, raw: object, budget: str) -> object:
    """A marker's sampling setting, parsed as the setting of that name is."""
    option = SAMPLING_ARGS[name]
    text = ""
    try:
        if not _is_number(raw):
            raise SettingError(f"expected a number, got {type(raw).__name__} {given(raw)}")
        number = _number(raw)
        text = str(int(number)) if number.is_integer() else repr(number)
        return option.parse(text)
    except SettingError as exc:
        example = "0.95" if name == "confidence" else "60" if "time" in name else "5000"
        # The setting's parser saw the value as text; the marker was given a number.
        problem = str(exc)
        if text:
            problem = problem.replace(f", got {text!r}", f", got {type(raw).__name__} {given(raw)}")
        raise MarkerError(
            f"@pytest.mark.sla({name}={given(raw)}): {name}= sets {option.ini} for this test "
            f"and {problem}; write e.g. @pytest.mark.sla({budget}, {name}={example})"
        ) from None
