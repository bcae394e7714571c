"""Cold start (``cold_ms=``): session creation plus the first call in fresh processes."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from support import FAST, load_report

from pytest_latency_sla.checkmessages import cold_message
from pytest_latency_sla.cold import IDLE_GAP_S, judge_cold
from pytest_latency_sla.marker import MarkerError, parse_marker_spec

MS = 1_000_000
FUNNEL = Path(__file__).resolve().parent.parent / "examples" / "funnel" / "funnel.onnx"


def test_the_worst_fresh_process_is_judged() -> None:
    runs = [(8 * MS, 1 * MS), (9 * MS, 1 * MS), (30 * MS, 2 * MS), (8 * MS, 1 * MS)]
    entry = judge_cold(runs, 250_000, budget_ms=40)
    assert entry["runs"] == 4
    assert entry["total_s"] == pytest.approx([0.009, 0.010, 0.032, 0.009])
    assert entry["worst_s"] == pytest.approx(0.032)
    assert entry["median_s"] == pytest.approx(0.0095)
    assert entry["verdict"] == "pass"
    assert entry["idle_gap_s"] == IDLE_GAP_S
    assert entry["after_idle_s"] == pytest.approx(250e-6)
    # One slow process in five is enough to miss: a few runs cannot bound a tail.
    assert judge_cold(runs, None, budget_ms=30)["verdict"] == "fail"
    assert judge_cold(runs, None, budget_ms=30)["after_idle_s"] is None


def test_the_miss_sentence_names_the_worst_process() -> None:
    entry = judge_cold([(8 * MS, 1 * MS), (30 * MS, 2 * MS)], None, budget_ms=20)
    assert cold_message(entry, "m.onnx") == (
        "SLA cold start missed: session creation plus the first call of m.onnx took up to "
        "32.0 ms in 2 fresh processes (median 20.5 ms; the worst: session 30.0 ms + first "
        "call 2.00 ms) > 20.0 ms cold_ms budget. Load less at start-up (a smaller or "
        "pre-optimized model: SessionOptions.optimized_model_filepath), or give the cold "
        "start more room"
    )


def test_cold_starts_left_too_little_time_by_a_timeout_say_so_without_starting_a_worker() -> None:
    import time

    from pytest_latency_sla.cold import measure_cold
    from pytest_latency_sla.runner import OnnxJob

    job = OnnxJob(str(FUNNEL), None, None, None, None)
    # The first start needs its idle gap (2 s) and a second more: 2.5 s is too little.
    soon = (time.monotonic_ns() + 2_500_000_000, "pytest-timeout's 9 s timeout")
    started = time.monotonic()
    found = measure_cold(job, 100.0, 60.0, soon)
    assert isinstance(found, str)
    assert re.fullmatch(
        r"cold start \(cold_ms=\): pytest-timeout's 9 s timeout left 2\.\d s, too little for "
        r"cold starts 1-5 of 5 \(1 s each, and 2 s idle\): raise it, or drop cold_ms=",
        found,
    ), found
    assert time.monotonic() - started < 1.0


def test_sla_timeout_bounds_each_cold_start_with_the_idle_gap_on_top(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A trial: the first fresh process also idles 2 s, and an sla_timeout of 2 s (the
    limit the message advised after 1 s) could never fit it; the message spoke of "the
    isolated measurement" on a test that was not isolated."""
    from pytest_latency_sla import isolate_onnx
    from pytest_latency_sla.cold import measure_cold
    from pytest_latency_sla.isolate import Made
    from pytest_latency_sla.runner import OnnxJob

    job = OnnxJob(str(FUNNEL), None, None, None, None)
    waits: list[float] = []

    def worker(payload: bytes, wait: float, onnx: bool) -> Made:
        waits.append(wait)  # (no process: what each would have been given)
        return Made((8 * MS, 1 * MS, 2 * MS if len(waits) == 1 else None))

    with monkeypatch.context() as patched:
        patched.setattr(isolate_onnx, "_run", worker)
        found = measure_cold(job, 10_000.0, 2.0)
    assert isinstance(found, dict), found
    assert found["runs"] == 5
    assert waits == [2.0 + IDLE_GAP_S, 2.0, 2.0, 2.0, 2.0]
    cut = measure_cold(job, 10_000.0, 0.05)
    assert cut == (
        "cold start (cold_ms=): a fresh process did not create the session and time its "
        "first call in the 2.05 s it had, so it was killed (sla_timeout: 0.05 s, and the "
        "first process's idle gap); if the model is just slow to load, raise the limit, "
        "e.g. --sla-timeout=1 or sla_timeout = 1 in the ini file"
    )
    # Cut by a timeout around the test (its share of what is left): that timeout is named
    # (a review: the message named sla_timeout, 60 s, and advised 120).
    from pytest_latency_sla.isolate_onnx import _cold_timeout

    assert _cold_timeout(1.2, 60.0, "pytest-timeout's 9 s timeout") == (
        "a fresh process did not create the session and time its first call in the 1.2 s "
        "it had, so it was killed (its share of what pytest-timeout's 9 s timeout left): "
        "raise that, or drop cold_ms="
    )


def test_the_marker_takes_cold_ms() -> None:
    assert parse_marker_spec((), {"ms": 50, "cold_ms": 500}, 99.0).cold_ms == 500.0
    assert parse_marker_spec((), {"ms": 50}, 99.0).cold_ms is None
    for bad in (0, -1, "500", True, float("inf")):
        with pytest.raises(MarkerError, match=r"cold_ms= must be a positive, finite number"):
            parse_marker_spec((), {"ms": 50, "cold_ms": bad}, 99.0)


def test_cold_start_end_to_end(pytester: pytest.Pytester) -> None:
    shutil.copy(FUNNEL, pytester.path / "funnel.onnx")
    pytester.makepyfile(
        test_coldstart="""
        import pytest

        @pytest.mark.sla(ms=50, cold_ms=60000)
        def test_roomy(sla):
            sla.onnx("funnel.onnx")

        @pytest.mark.sla(ms=50, cold_ms=0.001)
        def test_impossible(sla):
            sla.onnx("funnel.onnx")

        @pytest.mark.sla(ms=50, cold_ms=0.001)
        def test_callable_and_model(sla):
            sla.measure(sum, [1, 2, 3])  # no session: judged on the model's cold start
            sla.onnx("funnel.onnx")
        """
    )
    result = pytester.runpytest(*FAST, "--sla-report", "--sla-report=json:r.json")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "SLA cold start missed: session creation plus the first call of funnel.onnx took "
            "up to * in 5 fresh processes (median *; the worst: session * + first call *) > "
            "1.00 µs cold_ms budget.*",
        ]
    )
    result.stdout.fnmatch_lines_random(
        [
            "sla: test_coldstart.py::test_roomy: cold start: * median, * worst of 5 fresh "
            "processes (session creation + first call) <= 60.0 s: pass; a call after 2 s "
            "idle: *",
            "sla: 4 SLA measurements: 4 pass; cold start: 2 missed, 1 within budget; *",
            # The row says why its test failed: the warm verdict passed, the cold start not.
            "test_coldstart.py::test_impossible * pass, cold miss *",
        ]
    )
    document = load_report(pytester.path / "r.json")
    records = {r["label"].split("::")[1]: r for r in document["results"]}
    assert records["test_impossible"]["verdict"] == "pass"  # the warm verdict is kept
    assert records["test_impossible"]["cold"]["verdict"] == "fail"
    assert len(records["test_roomy"]["cold"]["session_s"]) == 5
    assert records["test_callable_and_model"]["cold"] is None
    assert records["test_callable_and_model #2"]["cold"]["verdict"] == "fail"
    assert document["totals"]["cold_fail"] == 2


def test_cold_start_of_a_live_session_says_to_pass_the_path(pytester: pytest.Pytester) -> None:
    shutil.copy(FUNNEL, pytester.path / "funnel.onnx")
    pytester.makepyfile(
        test_live="""
        import onnxruntime
        import pytest

        @pytest.mark.sla(ms=50, cold_ms=500)
        def test_live(sla):
            sla.onnx(onnxruntime.InferenceSession("funnel.onnx"))
        """
    )
    result = pytester.runpytest(*FAST)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "sla.onnx(): cold start (cold_ms=): a live onnxruntime.InferenceSession cannot be "
            "started fresh; pass the model's path (or bytes) to sla.onnx(), or drop cold_ms= "
            "(in test_live.py::test_live)"
        ]
    )


def test_disable_skips_the_cold_start_and_the_advisor(pytester: pytest.Pytester) -> None:
    # --sla-disable runs each measurement once, quickly: no budget of any kind is applied,
    # and nothing around the call (fresh processes, variants) is measured.
    shutil.copy(FUNNEL, pytester.path / "funnel.onnx")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.sla(ms=50, cold_ms=0.001)
        def test_impossible_cold(sla):
            sla.onnx("funnel.onnx", advise=True)
        """
    )
    result = pytester.runpytest(*FAST, "--sla-disable", "--sla-report=json:r.json")
    result.assert_outcomes(passed=1)
    (record,) = load_report(pytester.path / "r.json")["results"]
    assert (record["cold"], record["advice"], record["samples"]) == (None, None, 1)


def test_cold_ms_on_a_test_that_measures_no_model_fails_saying_so(
    pytester: pytest.Pytester,
) -> None:
    # A budget nothing could check must not read as met. A module's marker over tests of
    # both kinds applies cold_ms= where it can and leaves the callables be.
    shutil.copy(FUNNEL, pytester.path / "funnel.onnx")
    pytester.makepyfile(
        test_cold_start="""
        import pytest

        @pytest.mark.sla(ms=50, cold_ms=500)
        def test_callable(sla):
            sla.measure(sum, [1, 2, 3])
        """,
        test_module_wide="""
        import pytest

        pytestmark = pytest.mark.sla(ms=50, cold_ms=60000)

        def test_model(sla):
            sla.onnx("funnel.onnx")

        def test_callable(sla):
            sla.measure(sum, [1, 2, 3])

        class TestClassWide:
            pytestmark = pytest.mark.sla(ms=50, cold_ms=500)

            def test_callable(self, sla):
                sla.measure(sum, [1, 2, 3])

        @pytest.mark.parametrize(
            "n", [1, pytest.param(2, marks=pytest.mark.sla(ms=50, cold_ms=500))]
        )
        def test_param(sla, n):
            sla.measure(sum, [n])
        """,
    )
    pytester.makeconftest(
        """
        import pytest

        def pytest_collection_modifyitems(items):
            for item in items:
                if "added" in item.name:
                    item.add_marker(pytest.mark.sla(ms=50, cold_ms=500))
        """
    )
    pytester.makepyfile(
        test_conftest_wide="""
        def test_added_callable(sla):
            sla.measure(sum, [1, 2, 3])
        """
    )
    result = pytester.runpytest(*FAST, "--sla-report=json:r.json")
    # Written on the test (a decorator, or a pytest.param's marks): a failure; from a
    # module, class or conftest over tests of both kinds: applied where it can be, else
    # left be.
    result.assert_outcomes(passed=5, failed=2)
    result.stdout.fnmatch_lines(
        ["cold_ms=500 on @pytest.mark.sla *(in test_module_wide.py::test_param?2?)"]
    )
    page = (Path(__file__).parent.parent / "docs" / "marker.md").read_text(encoding="utf-8")
    quoted = next(line for line in page.splitlines() if line.startswith("cold_ms=500 on"))
    result.stdout.fnmatch_lines([quoted])
    # The measurement is kept: nothing measured is lost. The reports do not call the
    # run's SLA met: two tests failed, every budget met.
    document = load_report(pytester.path / "r.json")
    assert len(document["results"]) == 7
    assert document["totals"]["failed_tests"] == 2
    result.stdout.fnmatch_lines(["sla: *; 2 tests failed with no budget missed (*)*"])
    # --sla-disable judges no budget of any kind.
    pytester.runpytest(*FAST, "--sla-disable", "test_cold_start.py").assert_outcomes(passed=1)


def test_a_missed_cold_start_leaves_stop_optimizing_out_of_the_advice(
    pytester: pytest.Pytester,
) -> None:
    """A review: a test that failed its cold start read "headroom" in its row, and its
    advice sentence still ended "stop optimizing"."""
    shutil.copy(FUNNEL, pytester.path / "funnel.onnx")
    pytester.makepyfile(
        test_cold_advice="""
        import pytest

        @pytest.mark.sla(ms=500, cold_ms=0.01)
        def test_model(sla):
            sla.onnx("funnel.onnx", advise=True)
        """
    )
    result = pytester.runpytest(*FAST, "--sla-report=json:r.json")
    result.assert_outcomes(failed=1)
    (record,) = load_report(pytester.path / "r.json")["results"]
    assert record["cold"]["verdict"] == "fail"
    assert record["band"] == "headroom"
    sentence = record["advice"]["sentence"]
    assert sentence, record["advice"]
    assert "stop optimizing" not in sentence, sentence
