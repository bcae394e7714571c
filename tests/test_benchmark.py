"""pytest-benchmark: a marked test gets a verdict from the benchmark's own rounds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import FAST, load_report

from pytest_latency_sla.bench import sampling_from_rounds

pytest.importorskip("pytest_benchmark")


pytestmark = pytest.mark.usefixtures("not_an_xdist_worker")


#: Enough rounds for a p99 verdict (a pass needs 501 judged rounds, docs/benchmark.md).
ROUNDS = ("-p", "pytest_benchmark", "--benchmark-min-rounds=1500", "--benchmark-max-time=0.5")


def test_rounds_are_judged_like_samples() -> None:
    fast = sampling_from_rounds([0.004] + [1e-5] * 2_000, 50e-3 * 1e9, 0.99, 0.99)
    assert fast.cold_start_ns == 4_000_000  # the first round, reported apart
    assert fast.samples_ns.size == 2_000
    assert fast.decision is not None
    assert fast.decision.outcome == "pass"
    slow = sampling_from_rounds([0.004] * 30, 1e-3 * 1e9, 0.99, 0.99)
    assert slow.decision is not None
    assert slow.decision.outcome == "fail"
    few = sampling_from_rounds([1e-5] * 20, 50e-3 * 1e9, 0.99, 0.99)
    assert few.decision is not None
    assert few.decision.outcome is None  # 20 rounds cannot prove a p99: inconclusive
    # About 502 in all prove it (docs/benchmark.md), to the projection's 1%.
    assert few.needed_calls is not None
    assert 502 <= few.needed_calls <= 508
    assert fast.needed_calls is None  # decided
    unbudgeted = sampling_from_rounds([1e-5] * 20, None, 0.99, 0.99)
    assert unbudgeted.decision is None


def test_benchmark_test_gets_a_verdict_and_both_reports_work(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.sla(ms=50)
        def test_fast(benchmark):
            benchmark(sum, range(10))

        @pytest.mark.sla(us=1)
        def test_slow(benchmark):
            import time
            benchmark.pedantic(time.sleep, args=(0.002,), rounds=20)
        """
    )
    result = pytester.runpytest(
        *ROUNDS, "--sla-report", "--sla-report=json:r.json", "--benchmark-json=bench.json"
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*SLA missed: p99 * > 1 µs budget*", "*- SLA report -*"])
    result.stdout.fnmatch_lines(["*benchmark: 2 tests*"])  # pytest-benchmark's own table
    document = load_report(pytester.path / "r.json")
    by_test = {r["nodeid"].split("::")[1]: r for r in document["results"]}
    assert by_test["test_fast"]["verdict"] == "pass"
    assert by_test["test_fast"]["kind"] == "benchmark"
    assert by_test["test_fast"]["stop_reason"] == "benchmark"
    assert by_test["test_fast"]["samples"] >= 1_000
    assert by_test["test_slow"]["verdict"] == "fail"
    assert by_test["test_slow"]["samples"] == 19
    bench = json.loads((pytester.path / "bench.json").read_text())
    assert len(bench["benchmarks"]) == 2


def test_few_rounds_are_inconclusive(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.sla(ms=50)
        def test_few(benchmark):
            benchmark.pedantic(sum, args=(range(10),), rounds=10)
        """
    )
    result = pytester.runpytest("-p", "pytest_benchmark")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*SLA inconclusive*9 rounds*"])
    # A trial: "run more rounds", with no number.
    result.stdout.fnmatch_lines(
        ["*; run about 5?? rounds in all (--benchmark-min-rounds=5??, or rounds=5?? of *"]
    )


def test_a_p100_passes_only_on_rounds_that_span_the_settle_time(
    pytester: pytest.Pytester,
) -> None:
    # A bad-input hunt: a p100 passed ("stop optimizing") on a single judged round; the
    # sla fixture's samples must span sla_settle_time for it.
    pytester.makepyfile(
        """
        import time

        import pytest

        @pytest.mark.sla(ms=50, percentile=100)
        def test_p100(benchmark):
            benchmark.pedantic(time.sleep, args=(0.001,), rounds=11, iterations=1)
        """
    )
    result = pytester.runpytest("-p", "pytest_benchmark")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*SLA inconclusive: p100 * (margin *, 10 rounds); no round was over the budget, but "
            "a p100 passes only on rounds that span sla_settle_time (or a shorter "
            "sla_max_time), or reach sla_max_samples, as the sla fixture's samples must; run "
            "about * rounds in all (--benchmark-min-rounds=*"
        ]
    )
    # Rounds that span it (here a settle time of 1 ms) pass as before, and so do rounds
    # that reach sla_max_samples (a review: the sla fixture's samples pass so).
    result = pytester.runpytest("-p", "pytest_benchmark", "-o", "sla_settle_time=0.001")
    result.assert_outcomes(passed=1)
    result = pytester.runpytest("-p", "pytest_benchmark", "--sla-max-samples=20")
    result.assert_outcomes(failed=1)  # (10 judged rounds of 20: the rounds asked for, capped)
    result.stdout.fnmatch_lines(["*; run about 21 rounds in all (--benchmark-min-rounds=21, *"])
    result = pytester.runpytest("-p", "pytest_benchmark", "--sla-max-samples=10")
    result.assert_outcomes(passed=1)


def test_disabled_benchmark_is_not_judged(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.sla(ms=50)
        def test_fast(benchmark):
            benchmark(sum, range(10))
        """
    )
    result = pytester.runpytest("-p", "pytest_benchmark", "--benchmark-disable", "-rs")
    # No rounds, no verdict: skipped with the reason, never passed silently.
    result.assert_outcomes(skipped=1)
    # A trial: the reason named --benchmark-disable and xdist both, whichever it was.
    result.stdout.fnmatch_lines(
        [
            "SKIPPED*no SLA verdict: the benchmark fixture recorded no rounds "
            "(--benchmark-disable); drop --benchmark-disable, or use the sla fixture (in *"
        ]
    )
    assert "sla:" not in result.stdout.str()
    # The skip points at the test (as a skip marker would), not at the plugin's hook.
    result.stdout.fnmatch_lines(["SKIPPED [[]1[]] test_disabled_benchmark_is_not_judged.py:3: *"])
    assert "plugin.py" not in result.stdout.str()


def test_the_skip_says_why_no_rounds_were_recorded() -> None:
    from pytest_latency_sla.bench import no_rounds

    assert no_rounds(False, True, "t.py::t").split("rounds ", 1)[1] == (
        "(pytest-benchmark turns itself off under pytest-xdist); run it without -n, or use "
        "the sla fixture, which measures under xdist too (in t.py::t)"
    )
    never = no_rounds(False, False, "t.py::t")
    assert "(the test never called it); call benchmark(...) in the test, or use " in never
    assert never.endswith("or use the sla fixture (in t.py::t)")
    # A docs audit: "measures under xdist too" is the xdist case's, not --benchmark-disable's.
    assert "xdist" not in no_rounds(True, False, "t.py::t")


def test_a_benchmark_fixture_never_called_is_skipped_with_that_reason(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.sla(ms=50)
        def test_forgot(benchmark):
            sum(range(10))
        """
    )
    result = pytester.runpytest("-p", "pytest_benchmark", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED*(the test never called it); call benchmark(...) *"])
    # A review: --benchmark-enable overrides --benchmark-disable, as pytest-benchmark reads it.
    both = ("--benchmark-disable", "--benchmark-enable")
    result = pytester.runpytest("-p", "pytest_benchmark", "-rs", *both)
    result.stdout.fnmatch_lines(["SKIPPED*(the test never called it); call benchmark(...) *"])


def test_marker_arguments_the_rounds_cannot_honour_fail_as_the_docs_quote(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_bench="""
        import pytest

        @pytest.mark.sla(ms=50, max_time=5, isolate=True)
        def test_model(benchmark):
            raise AssertionError("an error at setup: the benchmark never runs")

        @pytest.mark.sla(ms=50, confidence=0.95)
        def test_confident(benchmark):
            benchmark.pedantic(sum, (range(10),), rounds=1000, iterations=1)
        """
    )
    result = pytester.runpytest("-p", "pytest_benchmark")
    result.assert_outcomes(errors=1, passed=1)
    page = (Path(__file__).parent.parent / "docs" / "benchmark.md").read_text(encoding="utf-8")
    (quoted,) = [
        line.strip().removeprefix("`").removesuffix("`.")
        for line in page.splitlines()
        if line.startswith("  `max_time=")
    ]
    result.stdout.fnmatch_lines([quoted])


def test_a_wider_markers_arguments_are_left_be_on_a_benchmark_test(
    pytester: pytest.Pytester,
) -> None:
    # A module's marker, or one a conftest adds to every test, covers sla-fixture tests
    # and benchmark tests alike: what the rounds cannot honour is not an error there, and
    # a test's own marker beside it is no "stacked" marker.
    pytester.makeconftest(
        """
        import pytest

        def pytest_collection_modifyitems(items):
            for item in items:
                item.add_marker(pytest.mark.sla(ms=50, cold_ms=500, max_time=5))
        """
    )
    pytester.makepyfile(
        test_wide="""
        import pytest

        pytestmark = pytest.mark.sla(ms=50, isolate=True)

        def test_bench(benchmark):
            benchmark(sum, range(10))

        @pytest.mark.sla(ms=20)
        def test_own(sla):
            assert sla.measure(sum, [1]).budget.value == 20
        """
    )
    result = pytester.runpytest("-p", "pytest_benchmark", *FAST, "--sla-report=json:r.json")
    result.assert_outcomes(passed=2)
    budgets = {
        r["nodeid"]: r["budget_value"] for r in load_report(pytester.path / "r.json")["results"]
    }
    assert budgets == {"test_wide.py::test_bench": 50.0, "test_wide.py::test_own": 20.0}
