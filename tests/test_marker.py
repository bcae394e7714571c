"""Unit tests for the marker (``pytest_latency_sla.marker``)."""

from __future__ import annotations

import ast
import math
import re
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

from pytest_latency_sla.marker import MARKER_HELP, MarkerError, parse_marker, parse_marker_spec
from pytest_latency_sla.result import Budget

# --- the marker ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "default", "expected"),
    [
        ({"ms": 50}, 99.0, Budget(50.0, "ms", 99.0)),
        ({"us": 200}, 99.0, Budget(200.0, "us", 99.0)),
        ({"ms": 50}, 95.0, Budget(50.0, "ms", 95.0)),  # percentile from the setting
        ({"ms": 0.5, "percentile": 95}, 99.0, Budget(0.5, "ms", 95.0)),
        ({"us": 200, "percentile": 99.9}, 99.0, Budget(200.0, "us", 99.9)),
        ({"ms": 1, "percentile": 100}, 99.0, Budget(1.0, "ms", 100.0)),
        ({"ms": 1, "percentile": 1}, 99.0, Budget(1.0, "ms", 1.0)),
        # The one rule for shares: below 1 is a fraction, 1 or more is percent.
        ({"ms": 50, "percentile": 0.99}, 99.0, Budget(50.0, "ms", 99.0)),
        ({"ms": 50, "percentile": 0.999}, 99.0, Budget(50.0, "ms", 99.9)),
        ({"us": 5, "percentile": 0.5}, 99.0, Budget(5.0, "us", 50.0)),
        ({"ms": 3, "us": None}, 99.0, Budget(3.0, "ms", 99.0)),  # explicit None ignored
        ({"ms": None, "us": 7, "percentile": None}, 90.0, Budget(7.0, "us", 90.0)),
        # numpy's scalars are numbers too (np.float32 is no float).
        ({"ms": np.float32(5), "percentile": np.int64(95)}, 99.0, Budget(5.0, "ms", 95.0)),
        # So are Decimal and Fraction (a Decimal is no numbers.Real).
        ({"ms": Decimal("2.5"), "percentile": Fraction(19, 20)}, 99.0, Budget(2.5, "ms", 95.0)),
    ],
)
def test_parse_marker_valid(kwargs: dict[str, object], default: float, expected: Budget) -> None:
    budget = parse_marker((), kwargs, default)
    assert budget == expected
    assert type(budget.value) is float
    assert type(budget.percentile) is float


@pytest.mark.parametrize(
    ("kwargs", "isolate"),
    [({"ms": 50}, None), ({"ms": 50, "isolate": True}, True), ({"us": 9, "isolate": False}, False)],
)
def test_parse_marker_spec_carries_isolate(kwargs: dict[str, object], isolate: bool | None) -> None:
    spec = parse_marker_spec((), kwargs, 99.0)
    assert spec.isolate is isolate
    # The budget is the same with or without isolate=.
    assert spec.budget == parse_marker((), kwargs, 99.0)
    assert spec.budget.value == kwargs.get("ms", kwargs.get("us"))


def test_numpy_scalars_are_numbers_everywhere_in_the_marker() -> None:
    spec = parse_marker_spec(
        (),
        {"us": np.float64(30), "cold_ms": np.float32(500), "rps": np.int32(300)},
        99.0,
    )
    assert spec.cold_ms == 500.0
    assert spec.load is not None
    assert spec.load.rps == 300.0
    timed = parse_marker_spec((), {"ms": 5, "max_time": np.float32(26)}, 99.0)
    assert timed.sampling == {"max_time": 26.0}
    flags = parse_marker_spec(
        (),
        {"ms": 5, "rps": 100, "concurrency": np.int64(4), "isolate": np.bool_(True)},
        99.0,
    )
    assert flags.isolate is True
    assert flags.load is not None
    assert flags.load.concurrency == 4
    searched = parse_marker_spec((), {"ms": 5, "capacity": np.bool_(True)}, 99.0)
    assert searched.load is not None
    assert searched.load.capacity is True
    with pytest.raises(MarkerError, match="ms= must be a positive"):
        parse_marker((), {"ms": np.bool_(True)}, 99.0)


@pytest.mark.parametrize("name", ["ms", "cold_ms", "rps", "max_samples"])
def test_an_int_too_large_for_a_float_is_refused_with_a_sentence(name: str) -> None:
    kwargs: dict[str, object] = {"ms": 5, name: 10**400}
    with pytest.raises(MarkerError, match=rf"@pytest.mark.sla\({name}=1000"):
        parse_marker_spec((), kwargs, 99.0)


class _Unprintable:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"ms": 10**400},
        {"ms": -(10**5000)},  # past Python's 4,300 digits, repr raises
        {"ms": 5, "cold_ms": 10**5000},
        {"ms": 5, "max_samples": 10**5000},
        {"ms": 5, "confidence": 10**400},
        {"ms": 5, "percentile": 10**400},
        {"ms": 5, "isolate": 10**400},
        {"ms": 5, "rps": 300, "concurrency": 10**5000},
        {"ms": 5, "rps": 300, "arrivals": "x" * 5_000},
        {"ms": 5, "capacity": _Unprintable()},
        {"ms": 5, "us": 10**5000},
    ],
    ids=lambda kwargs: ",".join(kwargs),
)
def test_a_huge_or_unprintable_value_is_quoted_short(kwargs: dict[str, object]) -> None:
    # A trial: ms=10**400 printed its 401 digits twice in one message; past 4,300 digits
    # Python's repr raises, and a value whose repr raises is the user's to give.
    with pytest.raises(MarkerError) as raised:
        parse_marker_spec((), kwargs, 99.0)
    message = str(raised.value)
    assert len(message) < 700, message
    assert "digits)" in message or "characters)" in message or "<_Unprintable>" in message


def test_budget_units() -> None:
    ms = parse_marker((), {"ms": 50}, 99.0)
    us = parse_marker((), {"us": 200, "percentile": 99.9}, 99.0)
    assert ms.ns == 50_000_000
    assert ms.seconds == pytest.approx(0.05)
    assert us.ns == 200_000
    assert us.seconds == pytest.approx(200e-6)
    assert str(ms) == "p99 <= 50 ms"
    assert str(us) == "p99.9 <= 200 µs"


def _examples_after_write(message: str) -> list[str]:
    """The ``@pytest.mark.sla(...)`` examples a message recommends ("write ...", "e.g.")."""
    parts = re.split(r"\bwrite\b|\be\.g\.", message)
    assert len(parts) > 1, message
    advice = parts[-1]
    return re.findall(r"@pytest\.mark\.sla\([^)]*\)", advice)


def _parse_example(example: str) -> Budget:
    call = ast.parse(example.removeprefix("@"), mode="eval").body
    assert isinstance(call, ast.Call)
    args = [ast.literal_eval(a) for a in call.args]
    kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg}
    return parse_marker(args, kwargs, 99.0)


_NAN = math.nan
_INF = math.inf


@pytest.mark.parametrize(
    ("args", "kwargs", "names"),
    [
        ((), {}, ["ms=", "us="]),
        ((), {"percentile": 95}, ["ms=", "us="]),
        ((), {"ms": None, "us": None}, ["ms=", "us="]),
        ((), {"ms": 50, "us": 200}, ["ms=50", "us=200"]),
        ((), {"ms": 0}, ["ms=0"]),
        ((), {"us": 0.0}, ["us=0.0"]),
        ((), {"ms": -5}, ["ms=-5"]),
        ((), {"ms": _NAN}, ["ms=nan"]),
        ((), {"us": _INF}, ["us=inf"]),
        ((), {"ms": -_INF}, ["ms=-inf"]),
        ((), {"ms": "50"}, ["ms='50'", "str"]),
        ((), {"ms": True}, ["ms=True", "bool"]),
        ((), {"us": [1]}, ["us=[1]", "list"]),
        ((), {"ms": 50, "p": 99}, ["'p'", "percentile="]),
        ((), {"ms": 50, "budget": 1, "unit": "ms"}, ["'budget'", "'unit'"]),
        ((50,), {}, ["positional", "50"]),
        ((50,), {"percentile": 99}, ["positional", "50"]),
        ((), {"ms": 50, "percentile": 0}, ["percentile=0"]),
        ((), {"ms": 50, "percentile": -1}, ["percentile=-1"]),
        ((), {"ms": 50, "percentile": 101}, ["percentile=101"]),
        ((), {"ms": 50, "percentile": 100.5}, ["percentile=100.5"]),
        ((), {"ms": 50, "percentile": "99"}, ["percentile='99'"]),
        ((), {"ms": 50, "percentile": True}, ["percentile=True"]),
        ((), {"ms": 50, "percentile": _NAN}, ["percentile=nan"]),
        ((), {"us": 200, "percentile": _INF}, ["percentile=inf"]),
        ((), {"ms": 50, "isolate": "yes"}, ["isolate='yes'", "str", "True or False"]),
        ((), {"ms": 50, "isolate": 1}, ["isolate=1", "int", "isolate=True"]),
        ((), {"ms": 50, "isolated": True}, ["'isolated'", "isolate="]),
        ((), {"ms": 1e305}, ["ms=1e+305", "finite"]),
        ((), {"ms": 50, "percentile": 1e-20}, ["percentile=1e-20"]),
        ((), {"ms": 50, "percentile": 99.99999999}, ["percentile=99.99999999"]),
        # Rounded to 12 digits it read 100 (the maximum, judged apart): silently p100.
        ((), {"ms": 50, "percentile": 99.99999999999}, ["percentile=99.99999999999"]),
        ((), {"ms": 50, "percentile": 0.99999999999999}, ["percentile=0.99999999999999"]),
        ((), {"ms": Decimal("sNaN")}, ["ms=Decimal('sNaN')", "finite"]),  # no float at all
    ],
)
def test_parse_marker_rejects_bad_forms(
    args: tuple[object, ...], kwargs: dict[str, object], names: list[str]
) -> None:
    with pytest.raises(MarkerError) as info:
        parse_marker(args, kwargs, 99.0)
    message = str(info.value)
    assert "@pytest.mark.sla(" in message
    for name in names:
        assert name in message, message
    # Every example the message recommends must itself be a valid marker.
    examples = _examples_after_write(message)
    assert examples, message
    for example in examples:
        assert _parse_example(example).value > 0


def test_marker_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="needs a budget"):
        parse_marker((), {}, 99.0)


def test_marker_help_example_is_valid() -> None:
    assert MARKER_HELP.startswith(
        "sla(*, ms=None, us=None, percentile=None, isolate=None, cold_ms=None, rps=None, "
        "arrivals='poisson', concurrency=32, capacity=None, **sampling)"
    )
    (example,) = re.findall(r"@pytest\.mark\.sla\([^)]*\)", MARKER_HELP)
    assert _parse_example(example) == Budget(50.0, "ms", 95.0)


@pytest.mark.parametrize("rps", [float("inf"), 10**400])
def test_an_endless_rate_is_refused_as_too_high_and_shown_short(rps: object) -> None:
    # A trial: infinity was "not a positive number", and 10**400 printed its 401 digits twice.
    with pytest.raises(MarkerError) as raised:
        parse_marker_spec((), {"ms": 50, "rps": rps}, 99.0)
    message = str(raised.value)
    assert "this load generator cannot issue more than 100,000 requests per second" in message
    assert len(message) < 500


@pytest.mark.parametrize(
    ("kwargs", "hint"),
    [
        ({"ms": 50, "percentil": 95}, "(did you mean percentile=?; it takes ms=, "),
        ({"msec": 50}, "(a budget is ms= or us=, e.g. ms=50 for 0.05 s; it takes ms=, "),
        ({"s": 0.05}, "(a budget is ms= or us=, e.g. ms=50 for 0.05 s; it takes ms=, "),
        (
            {"ms": 50, "sla_max_time": 5},
            "(sla_max_time is the ini key: on the marker write max_time=; it takes ms=, ",
        ),
        ({"sla_ms": 50}, "(on the marker write ms=; it takes ms=, "),  # no such ini key
        ({"ms": 50, "p": 99}, "'p' (it takes ms=, "),  # nothing close: no guess
    ],
)
def test_a_misspelt_argument_is_told_what_it_may_have_meant(
    kwargs: dict[str, object], hint: str
) -> None:
    # A trial: the full list of arguments, but no "did you mean".
    with pytest.raises(MarkerError) as raised:
        parse_marker((), kwargs, 99.0)
    assert hint in str(raised.value)


def test_a_percentile_that_is_not_a_number_is_shown_as_given() -> None:
    with pytest.raises(MarkerError, match=r"\(0\.99\), got str 'p99'; write e\.g\. "):
        parse_marker((), {"ms": 50, "percentile": "p99"}, 99.0)


@pytest.mark.parametrize("percentile", [99.99999999999, 100.0000000001, 0])
def test_a_percentile_out_of_reach_is_told_the_real_range(percentile: float) -> None:
    # A trial: 99.99999999999 was told "must be a number in (0, 100]", which it is; and
    # 100.0000000001 (rounded to 12 digits) passed as p100.
    with pytest.raises(MarkerError, match=r"must be a number from 1e-07 to 99\.9999999 \(or "):
        parse_marker((), {"ms": 50, "percentile": percentile}, 99.0)
    assert parse_marker((), {"ms": 50, "percentile": 100}, 99.0).percentile == 100


def test_a_budget_of_one_nanosecond_is_accepted_however_written() -> None:
    # A review: numpy's float32 of 1e-6 ms is 0.99999999... ns, and was refused as "under
    # a nanosecond"; a budget under one is refused.
    import numpy as np

    for kwargs in ({"ms": np.float32(1e-6)}, {"ms": 1e-6}, {"us": 0.001}):
        assert parse_marker((), kwargs, 99.0).ns == pytest.approx(1.0, rel=1e-6)
    with pytest.raises(MarkerError, match="is under a nanosecond"):
        parse_marker((), {"us": 0.0009}, 99.0)
