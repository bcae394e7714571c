"""Unit tests for the settings (``pytest_latency_sla.settings``)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pytest_latency_sla.plan import SamplingPlan
from pytest_latency_sla.settings import OPTIONS, Option, SettingError, Settings, resolve_settings
from pytest_latency_sla.values import refuse_unknown

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
    fields = {
        f.name: f.default if f.default_factory is dataclasses.MISSING else f.default_factory()
        for f in dataclasses.fields(Settings)
    }
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
        # The one rule for shares: below 1 a fraction, 1 or more percent, "%" percent.
        ("confidence", "99", 0.99),
        ("confidence", "99.9%", 0.999),
        ("percentile", "0.99", 99.0),
        ("percentile", "0.999", 99.9),
        ("percentile", "95%", 95.0),
        ("max_regression", "20", 0.2),
        ("max_regression", "0.2", 0.2),
        ("max_regression", "20%", 0.2),
        ("noise_floor", "100", 1.0),
        ("noise_floor", "0.5", 0.5),
        ("max_time", "0.5", 0.5),
        ("max_time", "3600", 3600.0),
        ("time_limit", "0", 0.0),
        ("time_limit", "120", 120.0),
        ("run_time", "0", 0.0),
        ("run_time", "7200", 7200.0),
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
    # sla_max_regression needs a baseline to compare with.
    extra = {"compare": "base.json"} if name == "max_regression" else {}
    from_ini = resolve(ini=ini_values(**{name: text}, **extra))
    assert getattr(from_ini, name) == expected
    if not _BY_NAME[name].flag:
        from_cli = resolve(cli=cli_values(**{name: text}, **extra))
        assert getattr(from_cli, name) == expected


_BAD = [
    ("percentile", "0"),
    ("percentile", "101"),
    ("percentile", "p99"),
    ("percentile", "nan"),
    ("percentile", "-1"),
    ("confidence", "0.5"),
    ("confidence", "1"),
    ("confidence", "50%"),
    ("confidence", "high"),
    ("max_time", "0"),
    ("max_time", "-3"),
    ("max_time", "3601"),
    ("max_time", "inf"),
    ("max_time", "3s"),
    ("time_limit", "-1"),
    ("time_limit", "1e6"),
    ("time_limit", "soon"),
    ("run_time", "-1"),
    ("run_time", "forever"),
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
    ("advise", "maybe"),
    ("capacity", "maybe"),
    ("load_time", "-1"),
    ("load_time", "5s"),
    ("timeout", "0"),
    ("timeout", "-1"),
    ("timeout", "soon"),
    ("timeout", "86401"),
]

#: Paths: any text is a valid path here; a missing baseline is a usage error at start-up.
_NO_BAD_VALUES = {
    "save",
    "compare",
    "compare_ref",
    "compare_dir",
}  # any text is a path or a revision


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
        # A trial: settings.md says choices are read in any case; JSON was refused.
        (["JSON:Out.json", "Term", "Markdown"], [], ("json:Out.json", "term", "md")),
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


def test_default_settings_give_the_default_sampling_plan() -> None:
    # A simulation driven with SamplingPlan() shows exactly what users get by default.
    assert Settings().plan() == SamplingPlan()


def test_a_time_below_a_nanosecond_is_one_not_zero() -> None:
    # sla_max_time = 1e-10 is in (0, 3600]; as 0 ns the plan refused it in a traceback.
    assert Settings(max_time=1e-10, min_time=0.0).plan().max_time_ns == 1
    assert Settings(min_time=0.0).plan().min_time_ns == 0


def test_plan_follows_every_setting_that_feeds_it() -> None:
    settings = resolve(
        cli_values(
            max_time="7",
            time_limit="30",
            min_time="0.25",
            settle_time="2",
            warmup_time="0.5",
            warmup_calls="3",
            max_samples="500",
            confidence="95",
            load_time="3",
        )
    )
    assert settings.plan() == SamplingPlan(
        max_time_ns=7_000_000_000,
        time_limit_ns=30_000_000_000,
        min_time_ns=250_000_000,
        settle_time_ns=2_000_000_000,
        warmup_time_ns=500_000_000,
        warmup_calls=3,
        max_samples=500,
        confidence=0.95,
        load_time_ns=3_000_000_000,
    )
    fed = {option.name for option in OPTIONS if option.plan}
    assert fed == {
        "confidence",
        "max_time",
        "time_limit",
        "max_samples",
        "min_time",
        "settle_time",
        "warmup_calls",
        "warmup_time",
        "load_time",
    }


@pytest.mark.parametrize("option", OPTIONS, ids=[o.name for o in OPTIONS])
def test_help_states_the_declared_default(option: Option) -> None:
    # The help text is generated from the declaration: its default is the parsed one.
    shown = option.help.rsplit("(default: ", 1)[1]
    assert shown.endswith(")")
    if option.default and not option.many:
        assert option.parse(option.default) == getattr(Settings(), option.name)


def test_max_regression_without_a_baseline_is_a_usage_error() -> None:
    with pytest.raises(
        SettingError, match=r"needs something to compare with: add --sla-compare-ref=REF"
    ):
        resolve(cli_values(max_regression="10"))
    assert resolve(cli_values(max_regression="10", compare="base.json")).max_regression == 0.1
    assert resolve(cli_values(max_regression="10", compare_ref="main")).compare_ref == "main"
    assert resolve(cli_values(max_regression="10", compare_dir="../b")).compare_dir == "../b"
    with pytest.raises(SettingError, match=r"both name a base to measure against; give one"):
        resolve(cli_values(compare_ref="main", compare_dir="../b"))


def test_a_gate_in_a_file_applies_to_the_runs_that_compare_and_no_others() -> None:
    # A trial: sla_max_regression in pyproject.toml made `--sla-save` on main a usage
    # error. From a file it is the gate for the runs that compare, and stays in the
    # settings of a run with no base, which applies it to nothing (and says so).
    gate = ini_values(max_regression="20")
    assert resolve(ini=gate).max_regression == 0.2
    assert resolve(cli_values(save="base.json"), gate).max_regression == 0.2
    assert resolve(cli_values(compare="base.json"), gate).max_regression == 0.2
    # On the command line, without a base, it is still a mistake to point out.
    with pytest.raises(SettingError, match=r"needs something to compare with"):
        resolve(cli_values(max_regression="20"), gate)


def test_a_bare_percent_sign_is_shown_as_given() -> None:
    # A trial: --sla-percentile=% read "got ''".
    from pytest_latency_sla.values import SettingError, parse_percentile

    with pytest.raises(SettingError, match="expected a number, got '%'"):
        parse_percentile("%")


KNOWN = [option.ini for option in OPTIONS]


def test_a_misspelt_setting_is_refused_with_the_one_it_meant() -> None:
    where = "/tmp/myproject/pyproject.toml"
    with pytest.raises(SettingError) as info:
        refuse_unknown({"sla_percentil", "timeout", "sla_percentile"}, KNOWN, where, ())
    message = str(info.value)
    assert message == (
        f"sla_percentil (in {where}; did you mean sla_percentile?) is not a setting of "
        "pytest-latency-sla: as written, pytest ignores it and the defaults decide the "
        "verdicts; correct or remove it (every setting: docs/settings.md)"
    )
    page = " ".join((Path(__file__).parent.parent / "docs" / "settings.md").read_text().split())
    assert f"ERROR: {message}" in page


def test_only_keys_like_this_plugins_are_refused() -> None:
    refuse_unknown({"timeout", "asyncio_mode", "slack_webhook"}, KNOWN, "pytest.ini", ())
    with pytest.raises(SettingError, match=r"^SLA_Max_Time \(in -o on the command line; "):
        refuse_unknown({"SLA_Max_Time"}, KNOWN, "pytest.ini", {"SLA_Max_Time"})
