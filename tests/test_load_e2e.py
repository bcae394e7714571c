"""Latency under load, end to end: the marker's rps= and capacity= on sla.measure() and
sla.onnx(), isolated and under pytest-xdist, with every report showing the load."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from onnx_models import add_model, save
from support import FAST, PLUGIN_FILE, assert_no_internal_error, failure_section, load_report

from pytest_latency_sla.capacity import BUSY_SHARE

#: Load runs of half a second: a pass waits for sla_load_time, which tests shorten.
LOAD = (*FAST, "--sla-load-time=0.5", "--sla-settle-time=0.5")

SERVER = """
    import threading, time
    import pytest

    _lock = threading.Lock()

    def serve():
        with _lock:
            time.sleep(0.0005)

    def noop():
        pass
"""

#: A callable that raises when called while another call of it runs.
UNSAFE = """
    import threading, time
    import pytest

    _busy = threading.Lock()

    def unsafe():
        if not _busy.acquire(blocking=False):
            raise RuntimeError("called twice at once")
        try:
            time.sleep(0.002)
        finally:
            _busy.release()
"""


def test_a_load_test_passes_and_every_report_shows_the_load(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        SERVER
        + """
    @pytest.mark.sla(ms=50, rps=200)
    def test_served(sla):
        result = sla.measure(serve)
        assert result.sampling.load.target_rps == 200
    """
    )
    result = pytester.runpytest(
        *LOAD,
        "--sla-report",
        "--sla-report=json:r.json",
        "--sla-report=md:r.md",
        "--sla-report=html:r.html",
        # The reports are checked, not the verdict: a host that stalls its threads for
        # tens of milliseconds (seen in CI) leaves a 0.5 s load run undecided.
        "--sla-inconclusive=pass",
    )
    assert_no_internal_error(result)
    result.assert_outcomes(passed=1)
    assert load_report(pytester.path / "r.json")["results"][0]["verdict"] != "fail"
    result.stdout.fnmatch_lines(
        ["sla: *test_served: under load: 200/s (poisson arrivals, up to 32 threads): achieved *"]
    )
    document = load_report(pytester.path / "r.json")
    (record,) = document["results"]
    load = record["load"]
    assert load["target_rps"] == 200
    assert load["arrivals"] == "poisson"
    # (About 100 requests in the half second of load; a busy runner finishes fewer.)
    assert load["requests"] == record["samples"] >= 50
    assert load["capacity"] is None
    assert record["throughput"] == load["achieved_rps"]
    assert "under load: 200/s" in (pytester.path / "r.md").read_text()
    assert "200/s (poisson arrivals, up to 32 threads)" in (pytester.path / "r.html").read_text()


def test_an_overloaded_callable_fails_naming_the_load(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        SERVER
        + """
    @pytest.mark.sla(ms=5, rps=4000, concurrency=4)
    def test_overloaded(sla):
        sla.measure(serve)
    """
    )
    result = pytester.runpytest(*LOAD)
    assert_no_internal_error(result)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "SLA missed: p99 * > 5 ms budget for test_*.serve under 4,000/s (poisson arrivals,"
            " open loop) (margin *, * requests, achieved */s, up to * in the system, 99%"
            " confidence)*"  # (on a busy machine: "; other processes took 48% of the CPUs")
        ]
    )


def test_a_callable_that_is_not_thread_safe_is_told_about_concurrency(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        UNSAFE
        + """
    @pytest.mark.sla(ms=50, rps=2000)
    def test_unsafe(sla):
        sla.measure(unsafe)

    @pytest.mark.sla(ms=50, rps=250, concurrency=1)
    def test_serialized(sla):
        sla.measure(unsafe)
    """
    )
    # The serialized test must not fail; a busy test machine may leave its 613 requests
    # undecided within the 5 s limit.
    result = pytester.runpytest(*LOAD, "--sla-inconclusive=pass")
    assert_no_internal_error(result)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "sla.measure(): test_*.unsafe failed under load: it raised RuntimeError: called "
            "twice at once while * calls of it ran at once. If it is not thread-safe, set "
            "concurrency=1 on the marker*"
        ]
    )
    # docs/load.md quotes the advice as printed.
    advice = (
        "If it is not thread-safe, set concurrency=1 on the marker: calls are then made one "
        "at a time, as by a single server, and requests queue behind each other (their wait "
        "counts)"
    )
    assert advice in result.stdout.str()
    docs = (Path(__file__).resolve().parent.parent / "docs" / "load.md").read_text("utf-8")
    assert advice in docs


def _busy(capacity: dict[str, Any]) -> bool:
    """Whether the search stopped because other processes took the CPUs (under pytest -n 2,
    this suite's other worker): then it must say so consistently."""
    if capacity["limited"] != "busy":
        return False
    last = capacity["steps"][-1]
    assert not last["held"]
    assert last["others_share"] >= BUSY_SHARE
    return True


def test_onnx_under_load_with_capacity(pytester: pytest.Pytester) -> None:
    save(add_model(("batch", 6)), pytester.path / "add.onnx")
    pytester.makepyfile(
        """
    import pytest

    @pytest.mark.sla(ms=20, rps=500, capacity=True)
    def test_model(sla):
        sla.onnx("add.onnx")
    """
    )
    # The capacity is checked, not the verdict: on a busy test machine a 0.5 s run of a
    # 20 ms p99 budget can stay undecided (seen under pytest -n 2).
    result = pytester.runpytest(
        *LOAD, "--sla-report", "--sla-report=json:r.json", "--sla-inconclusive=pass"
    )
    assert_no_internal_error(result)
    result.assert_outcomes(passed=1)
    (record,) = load_report(pytester.path / "r.json")["results"]
    capacity = record["load"]["capacity"]
    if _busy(capacity):
        result.stdout.fnmatch_lines(
            ["sla: *test_model: capacity*other processes took * of the CPUs*"]
        )
        return
    result.stdout.fnmatch_lines(["sla: *test_model: capacity * at p99 <= 20 ms on * uses *"])
    # A 6-float add serves far more than 500/s (about 2,000/s on an idle 2-core runner;
    # the search's first step, at half what one thread serves, may fail on a busy one,
    # so only the target is asserted).
    assert capacity["rps"] > 500
    assert capacity["used_share"] == pytest.approx(500 / capacity["rps"])
    assert any(step["held"] for step in capacity["steps"])


def test_capacity_setting_searches_onnx_models_but_not_unmarked_callables(
    pytester: pytest.Pytester,
) -> None:
    save(add_model(("batch", 6)), pytester.path / "add.onnx")
    pytester.makepyfile(
        SERVER
        + """
    @pytest.mark.sla(ms=20)
    def test_model(sla):
        sla.onnx("add.onnx")

    @pytest.mark.sla(ms=20)
    def test_callable(sla):
        sla.measure(noop)
    """
    )
    result = pytester.runpytest(*LOAD, "--sla-capacity", "--sla-report=json:r.json")
    assert_no_internal_error(result)
    result.assert_outcomes(passed=2)
    records = {
        r["nodeid"].split("::")[1]: r for r in load_report(pytester.path / "r.json")["results"]
    }
    model = records["test_model"]["load"]
    assert model["target_rps"] is None
    assert _busy(model["capacity"]) or model["capacity"]["rps"] > 0
    assert records["test_callable"]["load"] is None
    # A trial: the callable's silence read as a search that found nothing.
    result.stdout.fnmatch_lines(
        [
            "sla: sla_capacity searched no capacity for 1 callable measured one call at a time"
            " (test_*.py::test_callable): a callable is searched only when its marker has"
            " rps= or capacity=True (it is not known to be safe to call from threads)"
        ]
    )


def test_what_the_callable_raises_under_load_shows_the_test_and_the_callable(
    pytester: pytest.Pytester,
) -> None:
    # A trial: the traceback ran through load.py and loadgen.py.
    pytester.makepyfile(
        test_loaded="""
        import threading
        import pytest

        def under_load():
            if threading.current_thread().name.startswith("sla-load"):
                raise KeyError("only under load")

        @pytest.mark.sla(ms=50, rps=200, concurrency=1)
        def test_loaded(sla):
            sla.measure(under_load)
        """
    )
    result = pytester.runpytest(*LOAD)
    result.assert_outcomes(failed=1)
    section = failure_section(result, "test_loaded")
    assert not PLUGIN_FILE.search(section), section
    result.stdout.fnmatch_lines(
        [
            ">       sla.measure(under_load)",
            '>           raise KeyError("only under load")',
            "E           KeyError: 'only under load'",
            "E           sla.measure(): test_loaded.under_load raised this on a load thread's "
            "first call, untimed, before the load at 200/s (in test_loaded.py::test_loaded)",
        ]
    )


def test_load_runs_in_an_isolated_worker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        SERVER
        + """
    @pytest.mark.sla(ms=50, rps=200, isolate=True)
    def test_isolated(sla):
        result = sla.measure(serve)
        assert result.subject.isolated
        assert result.sampling.load.requests > 0
    """
    )
    # The worker's load and its figures are what this checks; on a noisy runner the
    # shortened settings may leave the verdict open (never a fail), which passes here.
    result = pytester.runpytest_subprocess(*LOAD, "--sla-inconclusive=pass")
    assert_no_internal_error(result)
    result.assert_outcomes(passed=1)


def test_load_tests_under_xdist(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    pytester.makepyfile(
        SERVER
        + """
    @pytest.mark.parametrize("i", range(2))
    def test_plain(i):
        pass

    @pytest.mark.sla(ms=50, rps=150)
    def test_served(sla):
        sla.measure(serve)
    """
    )
    result = pytester.runpytest_subprocess(
        "-n", "2", "-p", "xdist", *LOAD, "--sla-inconclusive=pass", "--sla-report=json:r.json"
    )
    assert_no_internal_error(result)
    result.assert_outcomes(passed=3)
    document = json.loads((pytester.path / "r.json").read_text())
    (record,) = document["results"]
    assert record["load"]["target_rps"] == 150


@pytest.mark.usefixtures("not_an_xdist_worker")
def test_rps_on_a_pytest_benchmark_test_is_refused_with_a_sentence(
    pytester: pytest.Pytester,
) -> None:
    pytest.importorskip("pytest_benchmark")
    pytester.makepyfile(
        """
    import pytest

    @pytest.mark.sla(ms=50, rps=100)
    def test_bench(benchmark):
        benchmark(lambda: None)
    """
    )
    result = pytester.runpytest("-p", "pytest_benchmark", *LOAD)
    assert_no_internal_error(result)
    result.assert_outcomes(errors=1)  # at setup, before the benchmark runs
    result.stdout.fnmatch_lines(
        ["*rps= does not apply to pytest-benchmark's rounds, which it times one at a time;*"]
    )


def test_an_isolated_capacity_search_leaves_its_time_within_sla_timeout() -> None:
    from pytest_latency_sla.capacity import CAPACITY_TIME_NS
    from pytest_latency_sla.fixture import SlaFixture
    from pytest_latency_sla.limits import ISOLATED_START_S
    from pytest_latency_sla.loadspec import LoadSpec
    from pytest_latency_sla.result import Budget
    from pytest_latency_sla.settings import Settings

    settings = Settings(timeout=90.0, time_limit=120.0)

    def limits(load: LoadSpec) -> tuple[float, float | None]:
        fixture = SlaFixture(
            "t.py::t", Budget(50, "ms", 99), settings, lambda r: None, isolate=True, load=load
        )
        timing = fixture._timing()
        assert timing.load is not None
        search = timing.load.capacity_time_ns / 1e9 if timing.load.capacity else None
        return timing.plan.time_limit_ns / 1e9, search

    # 90 s, less the worker's start and a tenth, less 2 s for warmup (a fifth, at most 2 s).
    left = 90.0 - ISOLATED_START_S - 9.0
    run, search = limits(LoadSpec(rps=100.0))
    assert search is None
    assert run == pytest.approx(left - 2.0, abs=0.1)
    # The load run and the capacity search share the room: neither outlives the worker.
    run, search = limits(LoadSpec(rps=100.0, capacity=True))
    assert search is not None
    assert search == pytest.approx(left / 3 - 4.0, abs=0.1)  # less its last step's 4 s
    assert run + 2.0 + search + 4.0 <= left + 0.1  # its warmup's 2 s too
    assert search < CAPACITY_TIME_NS / 1e9


def test_a_capacity_search_that_breaks_the_callable_keeps_the_measurement(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        UNSAFE
        + """
    @pytest.mark.sla(ms=50, capacity=True)
    def test_unsafe(sla):
        sla.measure(unsafe)
    """
    )
    result = pytester.runpytest(*LOAD, "--sla-report=json:r.json")
    assert_no_internal_error(result)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "the capacity search stopped: it raised RuntimeError: called twice at once while * "
            "calls of it ran at once; if it is not thread-safe, set concurrency=1 on the "
            "marker (the search then calls it one at a time, as a single server), or remove "
            "capacity= (in *)"
        ]
    )
    (record,) = load_report(pytester.path / "r.json")["results"]
    assert record["verdict"] == "pass"  # one call at a time, the budget held: kept
    capacity = record["load"]["capacity"]
    assert capacity["limited"] == "error"
    assert capacity["problem"].startswith("it raised RuntimeError: called twice at once")


def test_a_rate_too_low_to_ever_pass_is_refused_before_the_first_request(
    pytester: pytest.Pytester,
) -> None:
    # 2 requests/s for at most 60 s: 121 requests, and a p99 pass needs 613.
    pytester.makepyfile(
        """
    import pytest

    calls = []

    @pytest.mark.sla(ms=50, rps=2)
    def test_trickle(sla):
        sla.measure(calls.append, 1)

    def test_never_called():
        assert calls == []
    """
    )
    result = pytester.runpytest("--sla-time-limit=60")
    assert_no_internal_error(result)
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(
        [
            "@pytest.mark.sla(rps=2): at that rate a run sends at most 121 requests in the"
            " 60.0 s it may take (time_limit=, or sla_time_limit), and a p99 pass at 99%"
            " confidence needs at least 613 (none of them over the budget; more when latency"
            " comes in bursts): raise rps= to 20.5 or more, time_limit= to 613 or more, or"
            " judge a lower percentile (in test_*.py::test_trickle)"
        ]
    )
    assert result.duration < 10  # not the 20 s of sla_max_time, let alone 60
    # --sla-disable calls once, with no verdict: nothing to refuse.
    result = pytester.runpytest("--sla-time-limit=60", "--sla-disable")
    assert_no_internal_error(result)
    result.assert_outcomes(passed=1, failed=1)  # the call was made: test_never_called fails
