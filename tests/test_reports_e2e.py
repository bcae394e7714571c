"""End-to-end tests of the file reports, JUnit properties, interrupted runs and baselines."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

import pytest
from support import EMPTY_BASELINE, FAST, load_report, output, skip_if_too_busy_to_compare

from pytest_latency_sla.schema import json_schema

TWO_TESTS = """
    import pytest

    @pytest.mark.sla(ms=50)
    def test_fast(sla):
        sla.measure(lambda: None)

    def test_no_budget(sla):
        sla.measure(sum, [1, 2, 3])
"""


def assert_clean(result: pytest.RunResult) -> None:
    text = output(result)
    assert "INTERNALERROR" not in text, text
    assert "Traceback" not in text, text


# --- JSON -------------------------------------------------------------------------------


def test_json_report_is_schema_valid_and_announced(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TWO_TESTS)
    result = pytester.runpytest(*FAST, "--sla-report=json:out/sla.json")
    result.assert_outcomes(passed=2)
    path = pytester.path / "out" / "sla.json"
    result.stdout.fnmatch_lines([f"*SLA json report written to {path}*"])
    document = load_report(path)
    assert document["schema_version"] == 3
    assert document["run"]["interrupted"] is False
    assert document["run"]["exit_status"] == 0
    assert document["run"]["environment"]["packages"]["pytest"] == pytest.__version__
    totals = document["totals"]
    assert (totals["measurements"], totals["pass"], totals["no_budget"]) == (2, 1, 1)
    first, second = document["results"]
    assert first["nodeid"].endswith("::test_fast")  # budgets first, tightest first
    assert first["verdict"] == "pass"
    assert first["outcome"] == "passed"
    assert first["budget_s"] == pytest.approx(0.05)
    assert set(first["percentiles_s"]) == {"p50", "p90", "p95", "p99", "p99.9"}
    low, high = first["interval_s"]
    assert low <= first["measured_s"] <= high
    assert sum(first["histogram"]["counts"]) == first["samples"]
    assert first["raw_ns"] is None
    assert second["verdict"] is None
    assert second["margin"] is None
    assert not [p for p in (pytester.path / "out").iterdir() if p.suffix == ".tmp"]
    assert_clean(result)


def test_raw_samples_on_request(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TWO_TESTS)
    result = pytester.runpytest(*FAST, "--sla-report=json", "--sla-raw")
    result.assert_outcomes(passed=2)
    document = load_report(pytester.path / "sla-report.json")  # the default path
    for entry in document["results"]:
        assert len(entry["raw_ns"]) == entry["samples"]
    # Each setting's unit as declared, for reports to show (noise_floor 1.0 is 100%).
    units = document["run"]["setting_units"]
    assert (units["noise_floor"], units["max_time"], units["headroom"]) == ("fraction", "s", "x")
    assert "report" not in units


def test_onnx_measurement_records_the_model(pytester: pytest.Pytester) -> None:
    import shutil
    from pathlib import Path

    funnel = Path(__file__).parents[1] / "examples" / "funnel" / "funnel.onnx"
    shutil.copy(funnel, pytester.path / "funnel.onnx")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.sla(ms=50)
        def test_model(sla):
            sla.onnx("funnel.onnx", dims={"batch": 2})
        """
    )
    result = pytester.runpytest(*FAST, "--sla-report=json:r.json")
    result.assert_outcomes(passed=1)
    (entry,) = load_report(pytester.path / "r.json")["results"]
    import hashlib

    assert entry["model_sha256"] == hashlib.sha256(funnel.read_bytes()).hexdigest()
    assert entry["inputs"] == [{"name": "features", "dtype": "float32", "shape": [2, 6]}]
    assert entry["providers"] == entry["providers_requested"] == ["CPUExecutionProvider"]
    assert entry["session_options"]["graph_optimization_level"] == "ORT_ENABLE_ALL"


def test_unwritable_report_path_is_reported_not_crashed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TWO_TESTS)
    (pytester.path / "blocked").write_text("a file, not a folder")
    result = pytester.runpytest(*FAST, "--sla-report=json:blocked/r.json", "--sla-report=md:ok.md")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["sla: could not write the SLA json report to blocked/r.json: Not a directory"]
    )
    assert (pytester.path / "ok.md").exists()  # the other report is still written
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # but the run must not pass unnoticed


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
def test_a_report_that_cannot_be_written_is_named_not_its_temporary_file(
    pytester: pytest.Pytester,
) -> None:
    # A bad-input hunt: "No such file or directory: '/proc/.sla-7hq97ofh.tmp'" named the
    # temporary file the report is written through, not the report.
    pytester.makepyfile(TWO_TESTS)
    result = pytester.runpytest(*FAST, "--sla-report=json:/proc/sla-r.json")
    result.assert_outcomes(passed=2)
    assert ".tmp" not in result.stdout.str()
    result.stdout.fnmatch_lines(["sla: could not write the SLA json report to /proc/sla-r.json: *"])


def test_report_files_get_the_usual_permissions(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TWO_TESTS)
    old = os.umask(0o022)
    try:
        pytester.runpytest(*FAST, "--sla-report=json:r.json").assert_outcomes(passed=2)
    finally:
        os.umask(old)
    assert (pytester.path / "r.json").stat().st_mode & 0o777 == 0o644


def test_a_report_path_that_is_a_link_is_written_through_it(pytester: pytest.Pytester) -> None:
    # A trial: the rename replaced the link (a CI cache's) with a file, and the file it
    # named kept the old report.
    pytester.makepyfile(TWO_TESTS)
    (pytester.path / "cache").mkdir()
    pytester.runpytest(*FAST, "--sla-report=json:cache/r.json").assert_outcomes(passed=2)
    first = (pytester.path / "cache" / "r.json").read_text(encoding="utf-8")
    (pytester.path / "r.json").symlink_to(pytester.path / "cache" / "r.json")
    pytester.runpytest(*FAST, "--sla-report=json:r.json").assert_outcomes(passed=2)
    assert (pytester.path / "r.json").is_symlink()
    assert (pytester.path / "cache" / "r.json").read_text(encoding="utf-8") != first


# --- Markdown ---------------------------------------------------------------------------


def test_markdown_report_table(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TWO_TESTS)
    result = pytester.runpytest(*FAST, "--sla-report=md:summary.md")
    result.assert_outcomes(passed=2)
    text = (pytester.path / "summary.md").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == "## pytest-latency-sla: ✅ **SLA met**"
    assert "| test | budget | measured | p50 | margin | band | verdict | calls |" in lines
    rows = [line for line in lines if line.startswith("| `")]
    assert rows[0].startswith("| `test_markdown_report_table.py::test_fast` | p99 ≤ 50 ms |")
    assert rows[1].startswith("| `test_markdown_report_table.py::test_no_budget` | p99 (no")


def test_markdown_appends_to_the_github_step_summary(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = pytester.path / "step_summary.md"
    summary.write_text("# earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    pytester.makepyfile(TWO_TESTS)
    result = pytester.runpytest(*FAST, "--sla-report=md")
    result.assert_outcomes(passed=2)
    text = summary.read_text(encoding="utf-8")
    # A blank line between: the heading must start a paragraph of its own.
    assert text.startswith("# earlier step\n\n## pytest-latency-sla")
    assert not (pytester.path / "sla-report.md").exists()
    # After a step that wrote no newline at its end, or a blank line already, or nothing.
    for before, after in [("tests: ok", "tests: ok\n\n"), ("ok\n\n", "ok\n\n"), ("", "")]:
        summary.write_text(before, encoding="utf-8")
        pytester.runpytest(*FAST, "--sla-report=md").assert_outcomes(passed=2)
        assert summary.read_text(encoding="utf-8").startswith(after + "## pytest-latency-sla")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_step_summary_that_is_a_device_is_appended_to_without_reading_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A new user's trial: $GITHUB_STEP_SUMMARY=/dev/zero hung, reading "the file's end".
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", "/dev/zero")
    pytester.makepyfile(TWO_TESTS)
    result = pytester.runpytest(*FAST, "--sla-report=md")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*SLA md report written to /dev/zero*"])


def test_markdown_without_the_github_variable_goes_to_a_file(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    pytester.makepyfile(TWO_TESTS)
    pytester.runpytest(*FAST, "--sla-report=md").assert_outcomes(passed=2)
    assert (pytester.path / "sla-report.md").read_text(encoding="utf-8").startswith("## ")


# --- JUnit ------------------------------------------------------------------------------


def test_junit_xml_carries_sla_properties(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.sla(ms=50, percentile=95)
        def test_twice(sla):
            sla.measure(lambda: None)
            sla.measure(lambda: None)
        """
    )
    result = pytester.runpytest(*FAST, "--junitxml=junit.xml")
    result.assert_outcomes(passed=1)
    case = ET.parse(pytester.path / "junit.xml").getroot().find(".//testcase")
    assert case is not None
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props["sla_verdict"] == "pass"
    assert props["sla_verdict_2"] == "pass"
    assert props["sla_percentile"] == "95.0"
    assert float(props["sla_margin"] or 0) > 1
    assert float(props["sla_budget_s"] or 0) == pytest.approx(0.05)
    assert float(props["sla_measured_s"] or 0) > 0


# --- interrupted runs -------------------------------------------------------------------


def test_interrupted_run_still_writes_what_it_measured(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.sla(ms=50)
        def test_a_measured_first(sla):
            sla.measure(lambda: None)

        def test_b_interrupts():
            raise KeyboardInterrupt

        @pytest.mark.sla(ms=50)
        def test_c_never_runs(sla):
            sla.measure(lambda: None)
        """
    )
    (pytester.path / "base.json").write_text(EMPTY_BASELINE)
    result = pytester.runpytest_subprocess(
        *FAST, "--sla-report=json:r.json", "--sla-report=md:r.md", "--sla-save=base.json"
    )
    assert result.ret == pytest.ExitCode.INTERRUPTED
    # A trial: the baseline of the whole suite was replaced by one of the tests that ran,
    # and the others became "new" to every later comparison.
    assert (pytester.path / "base.json").read_text() == EMPTY_BASELINE
    result.stdout.fnmatch_lines(
        [
            "sla: the run stopped before its end, so --sla-save left the baseline base.json "
            "as it was rather than replace it with 1 measurement: run every test to save one"
        ]
    )
    document = load_report(pytester.path / "r.json")
    assert document["run"]["interrupted"] is True
    assert [r["nodeid"].split("::")[1] for r in document["results"]] == ["test_a_measured_first"]
    assert "**Interrupted**" in (pytester.path / "r.md").read_text(encoding="utf-8")
    result.stdout.fnmatch_lines(["*SLA json report written to*"])


@pytest.mark.parametrize("stop", ["pytest.exit('enough')", "raise KeyboardInterrupt"])
def test_a_test_stopped_after_it_measured_keeps_its_measurement(
    pytester: pytest.Pytester, stop: str
) -> None:
    # A trial: pytest raises pytest.exit() (and Ctrl-C) past the phase's report, which
    # carries the records: the measurement made before it was lost.
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.sla(ms=50)
        def test_measures_then_stops(sla):
            sla.measure(lambda: None)
            {stop}
        """
    )
    result = pytester.runpytest_subprocess(*FAST, "--sla-report=json:r.json")
    assert result.ret in (pytest.ExitCode.INTERRUPTED, 0)
    document = load_report(pytester.path / "r.json")
    assert document["run"]["interrupted"] is True
    (record,) = document["results"]
    assert record["outcome"] == "interrupted"
    assert record["verdict"] == "pass"
    assert document["totals"]["unmeasured"] == 0


def test_a_run_stopped_by_maxfail_saves_a_first_baseline_but_replaces_none(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.sla(ms=50)
        def test_a_measured(sla):
            sla.measure(lambda: None)

        def test_b_fails():
            assert False

        @pytest.mark.sla(ms=50)
        def test_c_not_reached(sla):
            sla.measure(lambda: None)
        """
    )
    run = (*FAST, "-x", "-p", "no:randomly", "--sla-save=base.json")
    pytester.runpytest(*run)
    saved = load_report(pytester.path / "base.json")
    assert [r["nodeid"].split("::")[1] for r in saved["results"]] == ["test_a_measured"]
    first = (pytester.path / "base.json").read_bytes()
    # (Nor may a JSON report through a link to the baseline write it.)
    (pytester.path / "link.json").symlink_to(pytester.path / "base.json")
    result = pytester.runpytest(*run, "--sla-report=json:link.json", "--sla-report=md:r.md")
    result.assert_outcomes(passed=1, failed=1)
    assert (pytester.path / "base.json").read_bytes() == first
    result.stdout.fnmatch_lines(
        ["*run every test to save one (nor the SLA json report at link.json, the same file)"]
    )
    # Its reports say the results are partial, as after Ctrl-C (and a merge fails on it).
    assert "**Interrupted**" in (pytester.path / "r.md").read_text(encoding="utf-8")
    result.stdout.fnmatch_lines(["sla: the run stopped before its end, so --sla-save left*"])
    # A review: stopped by -x at its last test, the run is whole, and its baseline saved.
    result = pytester.runpytest(*run, "-k", "not test_c")
    result.assert_outcomes(passed=1, failed=1)
    assert (pytester.path / "base.json").read_bytes() != first
    assert "stopped before its end" not in result.stdout.str()


def test_an_xfail_tests_missed_budget_does_not_make_the_run_read_missed(
    pytester: pytest.Pytester,
) -> None:
    # A trial: pytest passed the run (1 xfailed), the Markdown said "SLA missed".
    pytester.makepyfile(
        """
        import time

        import pytest

        @pytest.mark.xfail(reason="known slow")
        @pytest.mark.sla(us=100)
        def test_known_slow(sla):
            sla.measure(time.sleep, 0.002)
        """
    )
    result = pytester.runpytest(*FAST, "--sla-report=json:r.json", "--sla-report=md:r.md")
    result.assert_outcomes(xfailed=1)
    (record,) = load_report(pytester.path / "r.json")["results"]
    assert (record["verdict"], record["outcome"]) == ("fail", "xfailed")
    totals = load_report(pytester.path / "r.json")["totals"]
    assert (totals["fail"], totals["xfailed"]) == (0, 1)
    markdown = (pytester.path / "r.md").read_text(encoding="utf-8")
    assert "SLA missed" not in markdown.splitlines()[0], markdown
    assert "1 SLA measurement: 1 xfailed" in markdown


# --- baselines --------------------------------------------------------------------------

#: A callable with a stable median (a sleep): baselines compare the judged percentile, and
#: p50 moves about 1% between runs, so these end-to-end checks cannot flake.
SLEEPER = """
    import time
    import pytest

    DELAY = {delay}

    @pytest.mark.sla(ms=50, percentile=50)
    def test_sleepy(sla):
        sla.measure(time.sleep, DELAY)
"""
BASELINE_RUN = (
    "--sla-warmup-time=0.01",
    "--sla-warmup-calls=5",
    "--sla-min-time=0.05",
    "--sla-settle-time=0.3",
    "--sla-max-time=1",
)


def test_same_code_twice_reports_no_regression(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SLEEPER.format(delay=0.002))
    first = pytester.runpytest(*BASELINE_RUN, "--sla-save=base.json")
    first.assert_outcomes(passed=1)
    first.stdout.fnmatch_lines([f"*SLA baseline written to {pytester.path / 'base.json'}*"])
    second = pytester.runpytest(
        *BASELINE_RUN, "--sla-compare=base.json", "--sla-max-regression=10",
        "--sla-report", "--sla-report=json:new.json",
    )  # fmt: skip
    second.assert_outcomes(passed=1)
    skip_if_too_busy_to_compare(first, second)
    (entry,) = load_report(pytester.path / "new.json")["results"]
    assert entry["comparison"]["status"] == "unchanged", entry["comparison"]
    assert abs(entry["comparison"]["change"]) < 0.15
    second.stdout.fnmatch_lines(
        [
            "*change*",
            "*test_sleepy*p50 *%*",
            "*against the baseline: no change beyond the noise*",
        ]
    )


def test_a_baseline_spans_a_machine_state_even_under_a_shorter_max_time(
    pytester: pytest.Pytester,
) -> None:
    # A trial: --sla-max-time=1 stopped a saved measurement at 1 s, short of the 2 s the
    # docs promise, so a burst could read as a regression against it.
    pytester.makepyfile(SLEEPER.format(delay=0.002))
    result = pytester.runpytest(*BASELINE_RUN, "--sla-save=base.json")
    result.assert_outcomes(passed=1)
    (record,) = load_report(pytester.path / "base.json")["results"]
    assert record["duration_s"] >= 2.0
    assert "went past" not in result.stdout.str()


def test_three_times_slower_is_a_regression(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SLEEPER.format(delay=0.002))
    saved = pytester.runpytest(*BASELINE_RUN, "--sla-save=base.json")
    saved.assert_outcomes(passed=1)
    pytester.makepyfile(SLEEPER.format(delay=0.006))
    # Reported without a gate ...
    result = pytester.runpytest(*BASELINE_RUN, "--sla-compare=base.json", "--sla-report=md:r.md")
    result.assert_outcomes(passed=1)
    skip_if_too_busy_to_compare(saved, result)
    assert "🔺" in (pytester.path / "r.md").read_text(encoding="utf-8")
    result.stdout.fnmatch_lines(["*against the baseline: 1 regression*"])
    # ... and failing with one.
    result = pytester.runpytest(*BASELINE_RUN, "--sla-compare=base.json", "--sla-max-regression=20")
    skip_if_too_busy_to_compare(saved, result)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*SLA regression: p50 * is +*% against the baseline's * (base.json), beyond the 20%*"]
    )
    assert_clean(result)


def test_baseline_of_another_configuration_is_marked_or_failed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SLEEPER.format(delay=0.001))
    pytester.runpytest(*BASELINE_RUN, "--sla-save=base.json").assert_outcomes(passed=1)
    document = json.loads((pytester.path / "base.json").read_text())
    document["results"][0]["percentile"] = 99.0
    document["run"]["environment"]["cpu_model"] = "Some Other CPU"
    (pytester.path / "base.json").write_text(json.dumps(document))
    result = pytester.runpytest(*BASELINE_RUN, "--sla-compare=base.json", "--sla-report")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_sleepy*mismatch*", "*against the baseline: 1 mismatch*"])
    result = pytester.runpytest(*BASELINE_RUN, "--sla-compare=base.json", "--sla-strict-baseline")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*recorded under another configuration (percentile 99.0 -> 50.0; cpu_model*"]
    )
    # A regression gate with nothing it could compare fails the run (a trial: a busy
    # runner's mismatches passed a 3.3x slowdown); strict, each test fails instead.
    result = pytester.runpytest(*BASELINE_RUN, "--sla-compare=base.json", "--sla-max-regression=9")
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "sla: --sla-max-regression compared nothing: none of this run's 1 measurement "
            "could be compared with the baseline base.json (1 under another configuration)*"
        ]
    )
    gate = ("--sla-compare=base.json", "--sla-max-regression=9", "--sla-strict-baseline")
    result = pytester.runpytest(*BASELINE_RUN, *gate)
    result.assert_outcomes(failed=1)
    assert "compared nothing" not in result.stdout.str()
    # Set in a configuration file, which every run reads (a laptop's too): said, not
    # failed (a review).
    pytester.makeini("[pytest]\nsla_max_regression = 9\n")
    result = pytester.runpytest(*BASELINE_RUN, "--sla-compare=base.json")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*its regression gate, set in the configuration, gated nothing*"])
    # -o on the command line is this run's own: it fails.
    result = pytester.runpytest(
        *BASELINE_RUN, "--sla-compare=base.json", "-o", "sla_max_regression=9"
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_a_changed_model_the_gate_could_not_compare_fails_the_run(
    pytester: pytest.Pytester,
) -> None:
    # A new user's trial: a model made 2.3x slower was a mismatch (a busy runner) while
    # the run's other tests were compared, and the gate passed it unchecked.
    funnel = Path(__file__).resolve().parents[1] / "examples" / "funnel" / "funnel.onnx"
    for name in ("kept.onnx", "changed.onnx"):
        (pytester.path / name).write_bytes(funnel.read_bytes())
    pytester.makepyfile(
        test_models="""
        import pytest

        @pytest.mark.sla(ms=50, percentile=50)
        def test_kept(sla):
            sla.onnx("kept.onnx")

        @pytest.mark.sla(ms=50, percentile=50)
        def test_changed(sla):
            sla.onnx("changed.onnx")
        """
    )
    saved = pytester.runpytest(*BASELINE_RUN, "--sla-save=base.json")
    saved.assert_outcomes(passed=2)
    document = json.loads((pytester.path / "base.json").read_text())
    (changed,) = [e for e in document["results"] if e["nodeid"].endswith("test_changed")]
    changed["model_sha256"] = "0" * 64  # its model changed since ...
    changed["percentile"] = 99.0  # ... and it cannot be compared (another configuration)
    (pytester.path / "base.json").write_text(json.dumps(document))
    gate = ("--sla-compare=base.json", "--sla-max-regression=900")
    result = pytester.runpytest(*BASELINE_RUN, *gate)
    skip_if_too_busy_to_compare(saved, result)  # (test_kept must be compared)
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "sla: --sla-max-regression could not compare a changed model with the baseline "
            "base.json (test_models.py::test_changed: 1 under another configuration), so the "
            "run fails rather than pass it unchecked; re-record the baseline from the base "
            "revision on a quiet runner of this type with --sla-save or measure base and head "
            "side by side, in the same minutes, with --sla-compare-ref"
        ]
    )
    assert "compared nothing" not in result.stdout.str()
    # Picked alone (-k, a node id: a review), it is all the run compared: still failed.
    for picked in (("-k", "test_changed"), ("test_models.py::test_changed",)):
        result = pytester.runpytest(*BASELINE_RUN, *gate, *picked)
        result.assert_outcomes(passed=1)
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        result.stdout.fnmatch_lines(["sla: --sla-max-regression could not compare a changed*"])
    # Set in a configuration file, which every run reads: said, not failed.
    pytester.makeini("[pytest]\nsla_max_regression = 900\n")
    result = pytester.runpytest(*BASELINE_RUN, "--sla-compare=base.json")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*set in the configuration, passed it unchecked*"])


def test_a_test_missing_from_the_baseline_is_new(pytester: pytest.Pytester) -> None:
    (pytester.path / "base.json").write_text(EMPTY_BASELINE)
    pytester.makepyfile(TWO_TESTS)
    result = pytester.runpytest(*FAST, "--sla-compare=base.json", "--sla-settle-time=0.01",
                                "--sla-strict-baseline", "--sla-report")  # fmt: skip
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_fast*new*"])


def test_a_regression_gate_that_matched_nothing_fails_the_run(pytester: pytest.Pytester) -> None:
    # A trial: a baseline of another suite gated nothing, and the run passed green.
    pytester.makepyfile(test_other=TWO_TESTS.replace("def test_fast(", "def test_elsewhere("))
    pytester.runpytest(*FAST, "--sla-save=base.json").assert_outcomes(passed=2)
    (pytester.path / "test_other.py").unlink()
    pytester.makepyfile(test_model=TWO_TESTS)
    gate = ("--sla-compare=base.json", "--sla-report=json:r.json")

    def failed_saying(passed: int, said: str) -> list[str]:
        result = pytester.runpytest(*FAST, *gate, "--sla-max-regression=10")
        result.assert_outcomes(passed=passed)
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        result.stdout.fnmatch_lines([said])
        return result.stdout.lines

    failed_saying(
        2,
        "sla: --sla-max-regression compared nothing: none of this run's 2 measurements "
        "is in the baseline base.json (saved from another suite, or the test ids differ?)*",
    )
    assert load_report(pytester.path / "r.json")["run"]["exit_status"] == 1
    # Without a gate, the summary asks, and the run stands.
    assert pytester.runpytest(*FAST, *gate).ret == pytest.ExitCode.OK
    # Nor does a part of the suite picked by the user: its tests may all be new (a review).
    for picked in (("-k", "fast"), ("test_model.py::test_fast",)):
        result = pytester.runpytest(*FAST, *gate, "--sla-max-regression=10", *picked)
        assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    # A new user's trial: a gate run on tests with no SLA test passed, gating nothing,
    # without a word. Said, not failed (a review): SLA tests skipped by design (a provider
    # the runner lacks) or a gate in the ini file for every run must not fail the run.
    (pytester.path / "test_model.py").unlink()
    pytester.makepyfile(test_plain="def test_plain():\n    assert True\n")
    result = pytester.runpytest(*FAST, *gate, "--sla-max-regression=10")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "sla: --sla-max-regression compared nothing: this run made no SLA measurement, and "
            "the baseline base.json holds 2 (no SLA test collected here, or all skipped?)*"
        ]
    )
    (said,) = [line for line in result.stdout.lines if "made no SLA measurement" in line]
    page = Path(__file__).parent.parent / "docs" / "premerge.md"
    assert f'"{said}"' in " ".join(page.read_text(encoding="utf-8").split())
    assert pytester.runpytest(*FAST, *gate, "--sla-max-regression=10", "-k", "plain").ret == 0
    assert pytester.runpytest(*FAST, *gate, "--sla-max-regression=10", "--sla-disable").ret == 0


def test_a_renamed_test_is_named_as_missing_from_the_run(pytester: pytest.Pytester) -> None:
    # A trial: a test renamed and made 4x slower read "1 new", and the baseline's entry
    # for its old name appeared nowhere.
    pytester.makepyfile(test_model=TWO_TESTS)
    pytester.runpytest(*FAST, "--sla-save=base.json").assert_outcomes(passed=2)
    pytester.makepyfile(test_model=TWO_TESTS.replace("def test_fast(", "def test_renamed("))
    result = pytester.runpytest(
        *FAST,
        "--sla-compare=base.json",
        "--sla-report=json:r.json",
        "--sla-report=md:r.md",
        "--sla-report=html:r.html",
    )
    result.assert_outcomes(passed=2)
    sentence = (
        "1 measurement of the baseline was not made in this run (a test renamed, removed, "
        "not selected, skipped or failed before measuring; a renamed test not found by its "
        "model is compared as new): test_model.py::test_fast"
    )
    result.stdout.fnmatch_lines([f"sla: {sentence}"])
    document = load_report(pytester.path / "r.json")
    assert document["run"]["baseline_unmatched"] == ["test_model.py::test_fast"]
    coded = sentence.replace(
        "test_model.py::test_fast", "`test_model.py::test_fast`"
    )  # each test id a code span
    assert f"> ⚠️ {coded}\n" in (pytester.path / "r.md").read_text(encoding="utf-8")
    page = (pytester.path / "r.html").read_text(encoding="utf-8")
    assert (
        "<strong>Not measured.</strong> 1 measurement of the baseline was not made in this run "
        "(a test renamed, removed, not selected, skipped or failed before measuring; a "
        "renamed test not found by its model is compared as new): "
        "<code>test_model.py::test_fast</code></div>"
    ) in page
    # Without a baseline, no such field.
    pytester.runpytest(*FAST, "--sla-report=json:r.json").assert_outcomes(passed=2)
    assert "baseline_unmatched" not in load_report(pytester.path / "r.json")["run"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "cannot be read"),
        ("not json at all", "is not valid JSON"),
        ('{"schema_version": 99, "run": {}, "results": []}', "has schema_version 99"),
        ("[" * 100_000 + "]" * 100_000, "nests too deeply"),
        ('{"schema_version": 1, "run": {}, "results": [{"nodeid": 1}]}', "results?0?.nodeid"),
        ('["a", "list"]', "is not a JSON object"),
        # pytest-benchmark's own JSON, say: not a report of this plugin at all.
        ('{"machine_info": {}, "benchmarks": []}', "is not a report of pytest-latency-sla"),
    ],
    ids=["missing", "not-json", "schema-version", "deep", "bad-entry", "not-object", "other-tool"],
)
def test_bad_baseline_files_are_usage_errors(
    pytester: pytest.Pytester, content: str | None, problem: str
) -> None:
    if content is not None:
        (pytester.path / "base.json").write_text(content)
    pytester.makepyfile(TWO_TESTS)
    result = pytester.runpytest("--sla-compare=base.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: --sla-compare / sla_compare: baseline 'base.json'*{problem}*"]
    )
    assert_clean(result)


def test_huge_baseline_is_refused_unread(pytester: pytest.Pytester) -> None:
    path = pytester.path / "base.json"
    with open(path, "wb") as handle:
        handle.truncate(300 * 1024 * 1024)  # sparse: no disk used, nothing read
    pytester.makepyfile(TWO_TESTS)
    result = pytester.runpytest("--sla-compare=base.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*is 314,572,800 bytes, over the *"])
    os.unlink(path)


def test_json_schema_is_the_shipped_file() -> None:
    shipped = resources.files("pytest_latency_sla").joinpath("schema.json").read_text()
    assert json_schema() == json.loads(shipped)


def test_the_schemas_id_names_its_version() -> None:
    # A new user's trial: the $id said report-1.json of a schema whose version is 3.
    from pytest_latency_sla.schema import SCHEMA_VERSION

    schema = json_schema()
    assert schema["properties"]["schema_version"] == {"const": SCHEMA_VERSION}
    assert schema["$id"].endswith(f"/report-{SCHEMA_VERSION}.json")


# --- SLA tests that failed without a measurement ------------------------------------------

UNMEASURED = """
    import pytest

    @pytest.mark.sla(ms=50)
    def test_measured(sla):
        sla.measure(lambda: None)

    @pytest.mark.sla(ms=50)
    def test_missing_model(sla):
        sla.onnx("nope.onnx")

    @pytest.mark.sla(ms="fast")
    def test_bad_marker(sla):
        sla.measure(lambda: None)

    def test_fixture_only_raises(sla):
        try:
            {}["feed"]
        except KeyError as exc:
            raise RuntimeError("the model's feed could not be built") from exc

    def test_not_an_sla_test():
        assert False
"""


def test_sla_tests_that_failed_unmeasured_keep_every_report_from_saying_met(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_um=UNMEASURED)
    result = pytester.runpytest(
        *FAST,
        "--sla-report",
        "--sla-report=json:r.json",
        "--sla-report=md:r.md",
        "--sla-report=html:r.html",
    )
    result.assert_outcomes(passed=1, failed=3, errors=1)
    assert_clean(result)
    result.stdout.fnmatch_lines(
        [
            "sla: 3 SLA tests failed without a measurement, so they have no verdict:",
            "  test_um.py::test_missing_model (call)",
            "  test_um.py::test_bad_marker (setup)",
            "  test_um.py::test_fixture_only_raises (call)",
        ]
    )
    document = load_report(pytester.path / "r.json")  # valid against the schema
    assert document["totals"]["unmeasured"] == 3
    assert document["totals"]["pass"] == 1
    found = {e["nodeid"].split("::")[1]: e for e in document["unmeasured"]}
    assert set(found) == {"test_missing_model", "test_bad_marker", "test_fixture_only_raises"}
    assert found["test_bad_marker"]["phase"] == "setup"
    assert found["test_bad_marker"]["message"].startswith("@pytest.mark.sla(ms='fast'): ms=")
    assert "'nope.onnx' does not exist" in found["test_missing_model"]["message"]
    # The failure itself (not the cause it was raised from), without "(in <node id>)".
    assert found["test_fixture_only_raises"]["message"] == (
        "RuntimeError: the model's feed could not be built"
    )
    assert not any("(in test_um.py" in e["message"] for e in found.values())
    markdown = (pytester.path / "r.md").read_text(encoding="utf-8")
    assert markdown.splitlines()[0] == (
        "## pytest-latency-sla: ❌ **SLA tests failed without a measurement**"
    )
    assert "**3 SLA tests failed without a measurement, so they have no verdict:**" in markdown
    assert "- `test_um.py::test_bad_marker` (setup): @pytest.mark.sla(ms='fast')" in markdown
    html = (pytester.path / "r.html").read_text(encoding="utf-8")
    assert "SLA tests failed without a measurement" in html
    assert "SLA met" not in html


def test_a_later_attempt_that_measures_takes_a_test_off_the_unmeasured(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_late="""
        import pytest

        ATTEMPTS = []

        @pytest.mark.sla(ms=50)
        def test_late(sla):
            ATTEMPTS.append(1)
            if len(ATTEMPTS) == 1:
                raise OSError("the model file was still being written")
            sla.measure(lambda: None)
        """
    )
    result = pytester.runpytest(
        *FAST, "-p", "rerunfailures", "--reruns=1", "--sla-report=json:r.json"
    )
    assert result.parseoutcomes() == {"passed": 1, "rerun": 1}
    document = load_report(pytester.path / "r.json")
    assert document["unmeasured"] == []
    assert document["totals"]["unmeasured"] == 0


def test_a_gate_set_in_a_file_with_nothing_to_compare_says_it_applied_to_nothing(
    pytester: pytest.Pytester,
) -> None:
    # A review: a PR job that forgot its base lost the gate without a word.
    pytester.makeini("[pytest]\nsla_max_regression = 20\n")
    pytester.makepyfile(TWO_TESTS)
    result = pytester.runpytest(*FAST, "--sla-report=md:r.md", "--sla-report=html:r.html")
    result.assert_outcomes(passed=2)
    sentence = (
        "no regression gate in this run: sla_max_regression (20%) has nothing to "
        "compare with; pass --sla-compare, --sla-compare-ref or --sla-compare-dir to "
        "apply it"
    )
    result.stdout.fnmatch_lines([f"sla: {sentence}"])
    # Where a reviewer reads it too: the step summary and the HTML report.
    capital = sentence[0].upper() + sentence[1:]
    assert f"> ⚠️ {capital}." in (pytester.path / "r.md").read_text(encoding="utf-8")
    html = (pytester.path / "r.html").read_text(encoding="utf-8")
    assert f"<strong>No gate.</strong> {capital}." in html
    # Saving a baseline on main: the gate is for the runs that compare with it.
    saving = pytester.runpytest(*FAST, "--sla-save=base.json", "--sla-report=md:r.md")
    saving.assert_outcomes(passed=2)
    assert "no regression gate" not in saving.stdout.str()
    assert "regression gate" not in (pytester.path / "r.md").read_text(encoding="utf-8")


def test_a_test_collected_twice_writes_no_baseline_that_later_runs_refuse(
    pytester: pytest.Pytester,
) -> None:
    # A trial: --keep-duplicates with a path given twice saved two entries of one test,
    # and every later --sla-compare refused the baseline, blaming --dist each.
    pytester.makepyfile(test_dup=TWO_TESTS)
    result = pytester.runpytest(
        *FAST, "--keep-duplicates", "test_dup.py", "test_dup.py", "--sla-save=base.json"
    )
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        [
            "sla: test_dup.py::test_fast was measured twice in this run (a test collected "
            "twice, as --keep-duplicates with a path given twice does), so --sla-save wrote "
            "no baseline to base.json, which holds one measurement of each: run each test "
            "once to save one"
        ]
    )
    assert not (pytester.path / "base.json").exists()


def test_saving_a_subset_over_a_baseline_names_what_it_drops(pytester: pytest.Pytester) -> None:
    # A trial: --sla-save under -k (or --lf) replaced a baseline of 7 with 1, silently.
    pytester.makepyfile(TWO_TESTS)
    pytester.runpytest(*FAST, "--sla-save=base.json").assert_outcomes(passed=2)
    result = pytester.runpytest(*FAST, "-k", "test_fast", "--sla-save=base.json")
    result.assert_outcomes(passed=1, deselected=1)
    result.stdout.fnmatch_lines(
        [
            "sla: --sla-save replaced the baseline base.json, and 1 of its measurements that "
            "this run did not make (deselected, skipped or failed before measuring) is no "
            "longer in it, so it will be new against it: *::test_no_budget"
        ]
    )
    assert len(load_report(pytester.path / "base.json")["results"]) == 1
    # Saving every test again says nothing.
    again = pytester.runpytest(*FAST, "--sla-save=base.json")
    assert "no longer in it" not in again.stdout.str()
