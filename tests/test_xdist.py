"""pytest-xdist: SLA tests run alone across workers; results reach the controller once."""

from __future__ import annotations

import json

import pytest
from support import FAST, load_report

pytest.importorskip("xdist")

#: FAST with a longer minimum sampling time: each SLA test measures for at least 20 ms,
#: so the logged intervals would show another test running beside it.
RUN = (*FAST, "--sla-min-time=0.02")

#: Every test logs when it ran; SLA tests measure, the others keep a CPU busy.
SUITE = """
    import json, os, time
    import pytest

    LOG = os.path.join(os.path.dirname(__file__), "intervals.jsonl")

    @pytest.fixture(autouse=True)
    def log_interval(request):
        start = time.monotonic()
        yield
        with open(LOG, "a") as handle:
            sla = request.node.get_closest_marker("sla") is not None
            handle.write(json.dumps([request.node.name, sla, start, time.monotonic()]) + "\\n")

    def busy(seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            pass

    @pytest.mark.parametrize("i", range(6))
    def test_busy(i):
        busy(0.05)

    @pytest.mark.parametrize("i", range(3))
    @pytest.mark.sla(ms=50)
    def test_sla(sla, i):
        sla.measure(lambda: None)
"""


def intervals(pytester: pytest.Pytester) -> list[tuple[str, bool, float, float]]:
    lines = (pytester.path / "intervals.jsonl").read_text().splitlines()
    return [tuple(json.loads(line)) for line in lines]


def overlaps(a: tuple[str, bool, float, float], b: tuple[str, bool, float, float]) -> bool:
    return a[2] < b[3] and b[2] < a[3]


def test_sla_tests_run_alone_under_xdist(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SUITE)
    result = pytester.runpytest_subprocess(
        "-n", "2", "-p", "xdist", *RUN, "--sla-report=json:r.json"
    )
    result.assert_outcomes(passed=9)
    runs = intervals(pytester)
    sla_runs = [r for r in runs if r[1]]
    assert len(sla_runs) == 3
    for sla_run in sla_runs:
        others = [r for r in runs if r is not sla_run and overlaps(r, sla_run)]
        assert others == [], (sla_run, others)
    # Ordinary tests still ran in parallel with each other.
    busy = [r for r in runs if not r[1]]
    assert any(overlaps(a, b) for a in busy for b in busy if a is not b)
    document = load_report(pytester.path / "r.json")
    assert document["run"]["xdist_workers"] == 2
    assert document["run"]["xdist_mode"] == "serial"
    assert len(document["results"]) == 3
    result.stdout.fnmatch_lines(
        ["sla: *SLA tests ran one at a time, alone, across 2 xdist workers*"]
    )


def test_parallel_mode_warns_in_the_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SUITE)
    result = pytester.runpytest_subprocess(
        "-n", "2", "-p", "xdist", *RUN, "--sla-xdist=parallel", "--sla-report=md:r.md"
    )
    result.assert_outcomes(passed=9)
    result.stdout.fnmatch_lines(["sla: *measured in parallel on 2 xdist workers*contention*"])
    assert "in parallel on 2 xdist workers" in (pytester.path / "r.md").read_text()


def test_without_xdist_installed_nothing_breaks(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SUITE)
    result = pytester.runpytest_subprocess("-p", "no:xdist", *RUN)
    result.assert_outcomes(passed=9)
    assert "xdist workers" not in result.stdout.str()


@pytest.mark.parametrize(
    ("failing", "message"),
    [
        ('sla.onnx("nope.onnx")', "sla.onnx(): model file 'nope.onnx' "),
        # A native crash in a model (here os._exit) takes the worker down mid-measurement:
        # pytest-xdist reports the test failed, and the SLA reports must not read "SLA
        # met" (a new user's trial: they did, and the crashed test was in no list).
        ("sla.measure(os._exit, 1)", "worker 'gw"),
    ],
    ids=["missing-model", "worker-crashed"],
)
def test_a_worker_s_sla_test_that_failed_unmeasured_reaches_the_controller(
    pytester: pytest.Pytester, failing: str, message: str
) -> None:
    pytester.makepyfile(
        f"""
        import os

        import pytest

        @pytest.mark.sla(ms=50)
        def test_measured(sla):
            sla.measure(lambda: None)

        @pytest.mark.sla(ms=50)
        def test_failing(sla):
            {failing}
        """
    )
    result = pytester.runpytest_subprocess(
        "-n", "2", "-p", "xdist", *FAST, "--sla-report=json:r.json", "--sla-report=md:r.md"
    )
    result.assert_outcomes(passed=1, failed=1)
    document = load_report(pytester.path / "r.json")
    (entry,) = document["unmeasured"]
    assert entry["nodeid"].endswith("::test_failing")
    assert entry["message"].startswith(message), entry["message"]
    assert document["totals"]["unmeasured"] == 1
    assert "SLA met" not in (pytester.path / "r.md").read_text().splitlines()[0]


def test_a_worker_that_crashes_after_measuring_keeps_the_measurement(
    pytester: pytest.Pytester,
) -> None:
    # A trial: a native crash after the measurement (here os._exit) took the worker
    # down before the report that carries the records, and the measurement was lost.
    pytester.makepyfile(
        """
        import os

        import pytest

        @pytest.mark.sla(ms=50)
        def test_crashes_after(sla):
            sla.measure(lambda: None)
            os._exit(1)

        @pytest.mark.sla(ms=50)
        def test_measured(sla):
            sla.measure(lambda: None)
        """
    )
    result = pytester.runpytest_subprocess(
        "-n", "2", "-p", "xdist", *FAST, "--sla-report=json:r.json"
    )
    result.assert_outcomes(passed=1, failed=1)
    document = load_report(pytester.path / "r.json")
    crashed = [r for r in document["results"] if r["nodeid"].endswith("::test_crashes_after")]
    assert [r["outcome"] for r in crashed] == ["failed"]
    assert crashed[0]["verdict"] == "pass"
    assert document["unmeasured"] == []


def test_under_dist_each_the_rows_name_the_worker(pytester: pytest.Pytester) -> None:
    # A new user's trial: every worker measured every test, and the rows were twins.
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.sla(ms=50)
        def test_a(sla):
            sla.measure(int)
        """
    )
    result = pytester.runpytest_subprocess(
        "-n", "2", "--dist", "each", "-p", "xdist", *FAST, "--sla-report=json:r.json"
    )
    result.assert_outcomes(passed=2)
    labels = sorted(r["label"] for r in load_report(pytester.path / "r.json")["results"])
    assert labels == [
        "test_under_dist_each_the_rows_name_the_worker.py::test_a [gw0]",
        "test_under_dist_each_the_rows_name_the_worker.py::test_a [gw1]",
    ]
    # A review: its report holds each test once per worker, which no baseline can.
    saving = pytester.runpytest_subprocess(
        "-n", "2", "--dist", "each", "-p", "xdist", *FAST, "--sla-save=b.json"
    )
    assert saving.ret == pytest.ExitCode.USAGE_ERROR
    assert "--sla-save with pytest-xdist's --dist each would record every test once per " in (
        saving.stderr.str()
    )
    assert not (pytester.path / "b.json").exists()


def test_a_run_stopped_by_x_at_its_last_test_is_whole_under_xdist(
    pytester: pytest.Pytester,
) -> None:
    # A review: pytest-xdist ends a run that -x stopped as interrupted, even when every
    # test ran; its reports said "partial", and a merge of it failed.
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.sla(ms=50)
        def test_a_measured(sla):
            sla.measure(int)

        def test_b_fails():
            assert False
        """
    )
    result = pytester.runpytest_subprocess(
        "-n", "1", "-x", "-p", "xdist", *FAST, "--sla-report=json:r.json"
    )
    result.assert_outcomes(passed=1, failed=1)
    assert load_report(pytester.path / "r.json")["run"]["interrupted"] is False
