"""Unit tests for the marker and the settings (``pytest_latency_sla.config``)."""

from __future__ import annotations

import ast
import dataclasses
import math
import re

import pytest

from pytest_latency_sla.config import (
    MARKER_HELP,
    OPTIONS,
    MarkerError,
    SettingError,
    Settings,
    parse_marker,
    parse_marker_spec,
    resolve_settings,
)
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
        ({"ms": 3, "us": None}, 99.0, Budget(3.0, "ms", 99.0)),  # explicit None ignored
        ({"ms": None, "us": 7, "percentile": None}, 90.0, Budget(7.0, "us", 90.0)),
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
        # A fraction where percent was meant: the example converts it.
        ((), {"ms": 50, "percentile": 0.99}, ["percentile=0.99", "fraction", "percentile=99"]),
        ((), {"ms": 50, "percentile": "99"}, ["percentile='99'"]),
        ((), {"ms": 50, "percentile": True}, ["percentile=True"]),
        ((), {"ms": 50, "percentile": _NAN}, ["percentile=nan"]),
        ((), {"us": 200, "percentile": _INF}, ["percentile=inf"]),
        ((), {"ms": 50, "isolate": "yes"}, ["isolate='yes'", "str", "True or False"]),
        ((), {"ms": 50, "isolate": 1}, ["isolate=1", "int", "isolate=True"]),
        ((), {"ms": 50, "isolated": True}, ["'isolated'", "isolate="]),
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
    assert MARKER_HELP.startswith("sla(*, ms=None, us=None, percentile=None, isolate=None)")
    (example,) = re.findall(r"@pytest\.mark\.sla\([^)]*\)", MARKER_HELP)
    assert _parse_example(example) == Budget(50.0, "ms", 95.0)


# --- settings -----------------------------------------------------------------------------

_NAMES = [o.name for o in OPTIONS]
_BY_NAME = {o.name: o for o in OPTIONS}


def cli_values(**given: object) -> dict[str, object]:
    """What ``config.getoption`` returns: None for every option not given."""
    values: dict[str, object] = dict.fromkeys(_NAMES)
    values.update(given)
    return values


def ini_values(**given: object) -> dict[str, object]:
    """What ``config.getini`` returns: "" (or [] for lists) for every key not set."""
    values: dict[str, object] = {o.name: ([] if o.many else "") for o in OPTIONS}
    values.update(given)
    return values


def resolve(cli: dict[str, object] | None = None, ini: dict[str, object] | None = None) -> Settings:
    return resolve_settings(cli or cli_values(), ini or ini_values(), "pyproject.toml")


def test_defaults() -> None:
    settings = resolve()
    assert settings == Settings()
    assert settings.percentile == 99.0
    assert settings.confidence == 0.99
    assert settings.inconclusive == "fail"
    assert settings.report == ()
    assert settings.disable is False


def test_every_setting_has_an_option_and_matching_default() -> None:
    fields = {f.name: f.default for f in dataclasses.fields(Settings)}
    assert set(fields) == set(_NAMES)
    for option in OPTIONS:
        parsed = option.parse(option.default) if not option.many else ()
        assert parsed == fields[option.name], option.name
        assert option.cli == "--sla-" + option.name.replace("_", "-")
        assert option.ini == "sla_" + option.name
        assert option.help


def test_empty_mappings_give_defaults() -> None:
    assert resolve_settings({}, {}, "tox.ini") == Settings()


@pytest.mark.parametrize(
    ("cli", "ini", "expected"),
    [
        (None, None, 99.0),
        (None, "90", 90.0),
        ("95", None, 95.0),
        ("95", "90", 95.0),
        ("99.9", "", 99.9),
    ],
)
def test_command_line_beats_ini_beats_default(
    cli: str | None, ini: str | None, expected: float
) -> None:
    settings = resolve(cli_values(percentile=cli), ini_values(percentile=ini or ""))
    assert settings.percentile == expected


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("percentile", "100", 100.0),
        ("percentile", "1", 1.0),
        ("confidence", "0.95", 0.95),
        ("confidence", "0.999", 0.999),
        ("max_time", "0.5", 0.5),
        ("max_time", "3600", 3600.0),
        ("max_samples", "10", 10),
        ("max_samples", "1_000", 1_000),
        ("max_samples", " 2000 ", 2_000),
        ("min_time", "0", 0.0),
        ("settle_time", "0", 0.0),
        ("settle_time", "2.5", 2.5),
        ("warmup_calls", "0", 0),
        ("warmup_calls", "5000", 5_000),
        ("warmup_time", "0", 0.0),
        ("inconclusive", "warn", "warn"),
        ("inconclusive", " PASS ", "pass"),
        ("tight_margin", "1", 1.0),
        ("tight_margin", "2", 2.0),
        ("headroom", "100", 100.0),
        ("headroom", "1.5", 1.5),  # equal to tight_margin is allowed
        ("disable", "yes", True),
        ("disable", "ON", True),
        ("disable", "1", True),
        ("disable", "off", False),
        ("disable", "false", False),
        ("isolate", "true", True),
        ("timeout", "2.5", 2.5),
        ("timeout", "86400", 86400.0),
    ],
)
def test_good_values(name: str, text: str, expected: object) -> None:
    from_ini = resolve(ini=ini_values(**{name: text}))
    assert getattr(from_ini, name) == expected
    if not _BY_NAME[name].flag:
        from_cli = resolve(cli=cli_values(**{name: text}))
        assert getattr(from_cli, name) == expected


_BAD = [
    ("percentile", "0"),
    ("percentile", "101"),
    ("percentile", "p99"),
    ("percentile", "nan"),
    ("percentile", "0.99"),  # a fraction meant as p99
    ("percentile", "-1"),
    ("confidence", "0.5"),
    ("confidence", "1"),
    ("confidence", "99"),
    ("confidence", "high"),
    ("max_time", "0"),
    ("max_time", "-3"),
    ("max_time", "3601"),
    ("max_time", "inf"),
    ("max_time", "3s"),
    ("max_samples", "9"),
    ("max_samples", "2.5"),
    ("max_samples", "many"),
    ("max_samples", "-10"),
    ("min_time", "-0.1"),
    ("min_time", "30ms"),
    ("settle_time", "-1"),
    ("settle_time", "long"),
    ("warmup_calls", "-1"),
    ("warmup_calls", "1.5"),
    ("warmup_time", "-0.05"),
    ("warmup_time", "nan"),
    ("inconclusive", "maybe"),
    ("inconclusive", "xfail"),
    ("tight_margin", "0.9"),
    ("tight_margin", "inf"),
    ("tight_margin", "x"),
    ("headroom", "0.5"),
    ("headroom", "inf"),
    ("report", "pdf"),
    ("report", "term:out.txt"),
    ("report", "json:"),
    ("disable", "maybe"),
    ("disable", "2"),
    ("raw", "maybe"),
    ("strict_baseline", "sometimes"),
    ("require_providers", "2"),
    ("max_regression", "-5"),
    ("max_regression", "ten"),
    ("xdist", "sometimes"),
    ("noise_floor", "-1"),
    ("noise_floor", "lots"),
    ("isolate", "maybe"),
    ("timeout", "0"),
    ("timeout", "-1"),
    ("timeout", "soon"),
    ("timeout", "86401"),
]

#: Paths: any text is a valid path here; a missing baseline is a usage error at start-up.
_NO_BAD_VALUES = {"save", "compare"}


def test_bad_values_cover_every_option() -> None:
    assert {name for name, _ in _BAD} | _NO_BAD_VALUES == set(_NAMES)


@pytest.mark.parametrize(("name", "text"), _BAD)
def test_bad_value_from_ini_names_option_and_file(name: str, text: str) -> None:
    option = _BY_NAME[name]
    raw: object = [text] if option.many else text
    with pytest.raises(SettingError) as info:
        resolve_settings(cli_values(), ini_values(**{name: raw}), "/proj/pyproject.toml")
    message = str(info.value)
    assert option.cli in message
    assert option.ini in message
    assert "/proj/pyproject.toml" in message
    assert repr(text) in message
    assert "command line" not in message


@pytest.mark.parametrize(("name", "text"), [(n, t) for n, t in _BAD if not _BY_NAME[n].flag])
def test_bad_value_from_command_line_names_option_and_source(name: str, text: str) -> None:
    option = _BY_NAME[name]
    raw: object = [text] if option.many else text
    with pytest.raises(SettingError) as info:
        # A good ini value must not hide a bad command-line value.
        resolve_settings(cli_values(**{name: raw}), ini_values(**{name: option.default}), "tox.ini")
    message = str(info.value)
    assert option.cli in message
    assert option.ini in message
    assert "command line" in message
    assert repr(text) in message
    assert "tox.ini" not in message


def test_command_line_value_is_not_checked_against_a_bad_ini_value() -> None:
    # The command line wins outright: a bad ini value it overrides is never parsed.
    settings = resolve(cli_values(percentile="95"), ini_values(percentile="bogus"))
    assert settings.percentile == 95.0


def test_setting_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="sla_percentile"):
        resolve(ini=ini_values(percentile="x"))


@pytest.mark.parametrize(
    ("tight", "headroom"),
    [("2", "1.5"), ("20", "10"), (None, "1.2")],
)
def test_headroom_below_tight_margin_is_an_error(tight: str | None, headroom: str) -> None:
    ini = ini_values(tight_margin=tight or "", headroom=headroom)
    with pytest.raises(SettingError) as info:
        resolve(ini=ini)
    message = str(info.value)
    assert "sla_headroom" in message
    assert "sla_tight_margin" in message
    assert headroom in message


def test_flag_on_the_command_line_beats_ini() -> None:
    assert resolve(cli_values(disable=True), ini_values(disable="false")).disable is True
    # store_true's "not given" (None or False) falls through to ini.
    assert resolve(cli_values(disable=False), ini_values(disable="true")).disable is True
    assert resolve(cli_values(disable=None), ini_values(disable="")).disable is False


@pytest.mark.parametrize(
    ("cli", "ini", "expected"),
    [
        (None, [], ()),
        (["term"], [], ("term",)),  # `--sla-report` without a value gives its const
        (["term", "term"], [], ("term",)),
        (None, ["term"], ("term",)),
        (None, "term", ("term",)),  # a plain string from an ini file
        (None, "term term", ("term",)),
        (["json:out/r.json", "md", "html:r.html"], [], ("json:out/r.json", "md", "html:r.html")),
        (["term"], ["html"], ("term",)),  # command line wins over ini
        (None, ["json:a.json", "term"], ("json:a.json", "term")),
    ],
)
def test_report_lists(cli: list[str] | None, ini: object, expected: tuple[str, ...]) -> None:
    assert resolve(cli_values(report=cli), ini_values(report=ini)).report == expected


def test_report_option_const_is_term() -> None:
    option = _BY_NAME["report"]
    assert option.many
    assert option.const == "term"


def test_unknown_report_type_hints_at_a_swallowed_test_path() -> None:
    # `pytest --sla-report tests/test_x.py`: argparse hands the path to --sla-report.
    with pytest.raises(SettingError) as info:
        resolve(cli_values(report=["tests/test_x.py"]))
    message = str(info.value)
    assert "'tests/test_x.py'" in message
    assert "test path" in message
    assert "--sla-report=term" in message
    assert "known: term" in message


def test_save_with_disable_is_refused() -> None:
    with pytest.raises(SettingError, match="baseline of one untimed call"):
        resolve(cli_values(save="base.json", disable=True))
