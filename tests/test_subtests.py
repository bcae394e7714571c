"""pytest's subtests (the ``subtests`` fixture, built in from pytest 9): a measurement made
within a subtest counts for its test, and is reported once, with the subtest's outcome."""

from __future__ import annotations

import json

import pytest
from support import FAST, assert_no_internal_error

pytestmark = pytest.mark.skipif(
    pytest.version_tuple < (9,), reason="the subtests fixture is built in from pytest 9"
)

#: A test that measures only within subtests, one whose subtest fails after measuring,
#: one that measures before a subtest that skips, and one whose subtests measure nothing.
SUBTESTS = """
    import pytest

    def f():
        return 1

    @pytest.mark.sla(ms=50)
    def test_sub(sla, subtests):
        with subtests.test(msg="one"):
            sla.measure(f)

    @pytest.mark.sla(ms=50)
    def test_fails_after(sla, subtests):
        with subtests.test(msg="measures"):
            sla.measure(f)
        with subtests.test(msg="measures, then fails"):
            sla.measure(f)
            assert False, "after measuring"

    @pytest.mark.sla(ms=50)
    def test_before_a_skip(sla, subtests):
        sla.measure(f)
        with subtests.test(msg="skips"):
            pytest.skip("not here")

    @pytest.mark.sla(ms=50)
    def test_nothing(sla, subtests):
        with subtests.test(msg="measures nothing"):
            pass
    """


#: What SUBTESTS measures, by label, with each measurement's outcome.
MEASURED = [
    ("test_before_a_skip", "passed"),
    ("test_fails_after", "passed"),
    ("test_fails_after #2", "failed"),
    ("test_sub", "passed"),
]


def _results(document: dict[str, object]) -> list[tuple[str, str]]:
    results = document["results"]
    assert isinstance(results, list)
    return sorted((r["label"].split("::")[-1], r["outcome"]) for r in results)


def test_measurements_in_subtests_count_for_their_test_once(pytester: pytest.Pytester) -> None:
    # A trial: a test that measured only within a subtest failed "measured nothing", and
    # the report counted it as failed without a measurement beside its measurement.
    pytester.makepyfile(test_in_subtests=SUBTESTS)
    result = pytester.runpytest(*FAST, "-p", "no:randomly", "--sla-report=json:r.json")
    result.stdout.fnmatch_lines(
        [
            "FAILED test_in_subtests.py::test_fails_after - contains 1 failed subtest",
            "FAILED test_in_subtests.py::test_nothing - Failed: marked @pytest.mark.sla but "
            "measured nothing*",
        ]
    )
    text = result.stdout.str()
    for passed in ("test_sub", "test_before_a_skip"):
        assert f"{passed} - " not in text, text
    document = json.loads((pytester.path / "r.json").read_text())
    # Each once: within a subtest with its outcome; before one with the test's.
    assert _results(document) == MEASURED
    assert [(e["nodeid"], e["phase"]) for e in document["unmeasured"]] == [
        ("test_in_subtests.py::test_nothing", "call")
    ]
    result.stdout.fnmatch_lines(
        [
            "sla: 4 SLA measurements: 4 pass; 1 test failed with no budget missed "
            "(test_in_subtests.py::test_fails_after)*",
            "sla: 1 SLA test failed without a measurement, so it has no verdict:",
            "  test_in_subtests.py::test_nothing (call)",
        ]
    )
    assert_no_internal_error(result)


def test_measurements_in_subtests_reach_the_xdist_controller_once(
    pytester: pytest.Pytester,
) -> None:
    pytest.importorskip("xdist")
    pytester.makepyfile(test_in_subtests=SUBTESTS)
    result = pytester.runpytest_subprocess(
        *FAST, "-n", "2", "-p", "xdist", "--sla-report=json:r.json", "--sla-report=term"
    )
    document = json.loads((pytester.path / "r.json").read_text())
    assert _results(document) == MEASURED
    assert [e["nodeid"] for e in document["unmeasured"]] == ["test_in_subtests.py::test_nothing"]
    rows = [line for line in result.outlines if line.startswith("test_in_subtests.py::")]
    assert len(rows) == 4, result.stdout.str()
    assert_no_internal_error(result)


def test_a_rerun_tests_subtests_count_its_final_attempt_alone(pytester: pytest.Pytester) -> None:
    # A trial: under pytest-rerunfailures a subtest's report comes before the setup's of
    # its attempt, which forgot it: the replaced attempt's measurements stayed as well.
    pytester.makepyfile(test_in_subtests=SUBTESTS)
    result = pytester.runpytest(
        *FAST, "-p", "no:randomly", "-p", "rerunfailures", "--reruns=1", "--sla-report=json:r.json"
    )
    document = json.loads((pytester.path / "r.json").read_text())
    assert _results(document) == MEASURED
    replaced = [(r["label"].split("::")[-1], r["outcome"]) for r in document["earlier_attempts"]]
    assert sorted(replaced) == [("test_fails_after", "rerun"), ("test_fails_after #2", "rerun")]
    assert [e["nodeid"] for e in document["unmeasured"]] == ["test_in_subtests.py::test_nothing"]
    assert_no_internal_error(result)


def test_a_skipped_subtest_does_not_hide_a_test_that_measured_nothing(
    pytester: pytest.Pytester,
) -> None:
    # A review: the skipped subtest set the attempt's status, and the test's failure
    # without a measurement was dropped: the report read "SLA met".
    pytester.makepyfile(
        test_skip_then_fail="""
        import time
        import pytest

        @pytest.mark.sla(ms=50)
        def test_ok(sla):
            sla.measure(time.sleep, 0)

        @pytest.mark.sla(ms=50)
        def test_gpu_then_cpu(sla, subtests):
            with subtests.test("gpu"):
                pytest.skip("no CUDA")
            sla.onnx("missing.onnx")
        """
    )
    result = pytester.runpytest(*FAST, "--sla-report=json:r.json")
    assert_no_internal_error(result)
    result.stdout.fnmatch_lines(
        ["sla: 1 SLA test failed without a measurement*", "  *test_gpu_then_cpu (call)"]
    )
    document = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))
    assert document["totals"]["unmeasured"] == 1


def test_records_go_with_their_subtest_on_a_coarse_wall_clock(
    pytester: pytest.Pytester,
) -> None:
    # A review: records were told apart from a subtest's by time.time(), which ticks
    # every 15.6 ms on Windows before Python 3.13: a body's measurement read as the
    # skipped subtest's.
    pytester.makeconftest(
        """
        import math
        import time

        _real = time.time
        time.time = lambda: math.floor(_real() * 64) / 64
        """
    )
    pytester.makepyfile(
        test_coarse="""
        import pytest

        def fast():
            return 1

        @pytest.mark.sla(ms=50)
        @pytest.mark.parametrize("n", range(10))
        def test_body_then_skip(sla, subtests, n):
            sla.measure(fast)
            with subtests.test("skips"):
                pytest.skip("not here")
        """
    )
    result = pytester.runpytest_subprocess(*FAST, "-p", "no:randomly", "--sla-report=json:r.json")
    assert_no_internal_error(result)
    document = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))
    assert [r["outcome"] for r in document["results"]] == ["passed"] * 10
