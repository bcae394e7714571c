"""Size sweeps (``sla.onnx(path, sweep={"batch": [...]})``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from onnx_models import batch_of_eight_model, save
from support import FAST, load_report

from pytest_latency_sla.sweep import parse_sweep

FUNNEL = Path(__file__).resolve().parent.parent / "examples" / "funnel" / "funnel.onnx"


def test_parse_sweep_sorts_and_dedupes() -> None:
    assert parse_sweep({"batch": [64, 1, 8, 8]}) == ("batch", [1, 8, 64])
    assert parse_sweep({"seq": range(1, 4)}) == ("seq", [1, 2, 3])


@pytest.mark.parametrize(
    ("sweep", "fragment"),
    [
        ([1, 8], "sweep= takes one symbolic dimension and its sizes"),
        ({"batch": [1], "seq": [2]}, "sweep= takes one symbolic dimension and its sizes"),
        ({"batch": []}, "sweep={'batch': ...} needs a list of positive whole sizes"),
        ({"batch": [1, 0]}, "needs a list of positive whole sizes"),
        ({"batch": [1.5]}, "needs a list of positive whole sizes"),
        ({"batch": [True]}, "needs a list of positive whole sizes"),
        ({"batch": 8}, "needs a list of positive whole sizes"),
        ({"": [1]}, "sweep= needs a dimension name as its key"),
    ],
)
def test_bad_sweeps_get_a_sentence(sweep: object, fragment: str) -> None:
    with pytest.raises(ValueError, match=r"e\.g\. sweep=") as caught:
        parse_sweep(sweep)
    assert fragment in str(caught.value)


def test_a_sweep_end_to_end(pytester: pytest.Pytester) -> None:
    shutil.copy(FUNNEL, pytester.path / "funnel.onnx")
    pytester.makepyfile(
        test_sizes="""
        import pytest

        @pytest.mark.sla(ms=500)
        def test_sizes(sla):
            sla.onnx("funnel.onnx", sweep={"batch": [1, 16, 256]})

        @pytest.mark.sla(ms=500)
        def test_bad(sla):
            sla.onnx("funnel.onnx", sweep={"batch": "large"})
        """
    )
    result = pytester.runpytest(
        *FAST, "--sla-report", "--sla-report=json:r.json", "--sla-report=html:r.html"
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "sla.onnx(): sweep={'batch': ...} needs a list of positive whole sizes, e.g. "
            "sweep={'batch': [[]1, 8, 64, 512]}; got 'large' (in test_sizes.py::test_bad)",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "sla: test_sizes.py::test_sizes: sweep of batch (p99): 1: * pass, 16: * pass, "
            "256: * pass; the largest within p99 <= 500 ms: batch=256",
        ]
    )
    (record,) = load_report(pytester.path / "r.json")["results"]
    assert [s["size"] for s in record["sweep"]["sizes"]] == [1, 16, 256]
    assert record["sweep"]["largest_meeting"] == 256
    assert record["inputs"][0]["shape"][0] == 1  # the judged measurement is the first size
    page = (pytester.path / "r.html").read_text("utf-8")
    assert '<svg class="sweep"' in page
    assert 'aria-label="p99 and p50 against batch"' in page


def test_a_sweep_under_sla_disable_is_not_labelled_with_a_percentile(
    pytester: pytest.Pytester,
) -> None:
    # A trial: "sweep of batch (p99): 1: 334 µs, 4: 38.9 µs", of one call each.
    shutil.copy(FUNNEL, pytester.path / "funnel.onnx")
    pytester.makepyfile(
        test_sizes="""
        import pytest

        @pytest.mark.sla(ms=500)
        def test_sizes(sla):
            sla.onnx("funnel.onnx", sweep={"batch": [1, 4]})
        """
    )
    result = pytester.runpytest("--sla-disable", "--sla-report")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["sla: test_sizes.py::test_sizes: sweep of batch (one call each): 1: *, 4: *"]
    )
    assert "(p99)" not in result.stdout.str()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            'sla.onnx("funnel.onnx", sweep={"batch": [1, 8]}, feeds={"features": [[0.5] * 6]})',
            "sla.onnx(): sweep={'batch': ...} measures generated inputs at each size, and "
            "feeds= would fix one size for all of them; *",
        ),
        (
            'sla.onnx("funnel.onnx", sweep={"batch": [1, 8]}, dims={"batch": 4})',
            "sla.onnx(): sweep={'batch': ...} and dims={'batch': 4} both size 'batch'; give it "
            "in one of them (in test_conflict.py::test_conflict)",
        ),
        (
            'sla.onnx("funnel.onnx", sweep={"seq": [1, 8]})',
            "sla.onnx(): sweep= names 'seq', which is no symbolic dimension *",
        ),
        (
            'sla.onnx("funnel.onnx", sweep={"batch": [1, 10**12]})',
            # Size 1 is measured (and recorded); the size that cannot be made is named.
            "sla.onnx(): sweep= size 1000000000000: input 'features' of shape "
            "[[]1000000000000, 6] cannot be made here (float32: 21.8 TiB, more than this "
            "machine gives); give smaller sizes (in test_conflict.py::test_conflict)",
        ),
        (
            'sla.onnx("funnel.onnx", sweep={"batch": [1.5]})',
            "sla.onnx(): sweep={'batch': ...} needs a list of positive whole sizes, *",
        ),
    ],
)
def test_sweeps_that_cannot_be_measured_get_a_sentence(
    pytester: pytest.Pytester, call: str, message: str
) -> None:
    shutil.copy(FUNNEL, pytester.path / "funnel.onnx")
    pytester.makepyfile(
        test_conflict=f"""
        import pytest

        @pytest.mark.sla(ms=500)
        def test_conflict(sla):
            {call}
        """
    )
    result = pytester.runpytest(*FAST)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([message])
    text = result.stdout.str()
    assert "During handling of the above exception" not in text
    assert "Traceback" not in text


def test_a_size_that_cannot_be_measured_stays_in_the_reports(pytester: pytest.Pytester) -> None:
    # A trial: a size the model raised at failed the test, and was in no report, whose
    # "largest within" skipped over it.
    shutil.copy(FUNNEL, pytester.path / "funnel.onnx")
    pytester.makepyfile(
        test_huge="""
        import pytest

        @pytest.mark.sla(ms=500)
        def test_huge(sla):
            sla.onnx("funnel.onnx", sweep={"batch": [1, 16, 10**12]})
        """
    )
    result = pytester.runpytest(*FAST, "--sla-report", "--sla-report=json:r.json")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "sla: test_huge.py::test_huge: sweep of batch (p99): 1: * pass, 16: * pass; not "
            "measured: 1000000000000 (see the test's failure); the largest within p99 <= 500 "
            "ms: batch=16 of those measured",
        ]
    )
    (record,) = load_report(pytester.path / "r.json")["results"]
    assert [s["size"] for s in record["sweep"]["sizes"]] == [1, 16]
    (unmeasured,) = record["sweep"]["unmeasured"]
    assert unmeasured["size"] == 10**12
    assert unmeasured["problem"].startswith("input 'features' of shape [1000000000000, 6]")


def test_a_first_size_the_model_raises_at_leaves_the_others_measured(
    pytester: pytest.Pytester,
) -> None:
    """A trial: the model raised at the smallest size, the test failed at once, and the
    other sizes were never measured (the report held nothing). The first size is the
    sweep's first measurement; the next one that runs takes its place now."""
    save(batch_of_eight_model(), pytester.path / "m.onnx")
    pytester.makepyfile(
        test_m="""
        import pytest

        @pytest.mark.sla(ms=500)
        def test_m(sla):
            sla.onnx("m.onnx", sweep={"batch": [4, 8, 12, 16]})
        """
    )
    result = pytester.runpytest(*FAST, "--sla-report=json:r.json")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["sla.onnx(): sweep= size 4: model * raised when run *"])
    # Its advice names feeds=, which a swept input cannot take: the sweep's remedy too.
    drop = "(if the model cannot run at batch={}, drop that size from sweep=)"
    assert drop.format(4) in result.stdout.str()
    assert "During handling of the above exception" not in result.stdout.str()  # (a review)
    (record,) = load_report(pytester.path / "r.json")["results"]
    assert [s["size"] for s in record["sweep"]["sizes"]] == [8, 16]
    assert [u["size"] for u in record["sweep"]["unmeasured"]] == [4, 12]
    assert record["sweep"]["unmeasured"][1]["problem"].endswith(drop.format(12))
    assert record["verdict"] == "pass"  # the first size measured: 8
    # At no size: the last one's problem, and that the sizes before raised too.
    pytester.makepyfile(
        test_m="""
        import pytest

        @pytest.mark.sla(ms=500)
        def test_m(sla):
            sla.onnx("m.onnx", sweep={"batch": [3, 5]})
        """
    )
    result = pytester.runpytest(*FAST)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["sla.onnx(): sweep= size 5: model * raised when run *; the sizes before raised too *"]
    )


def test_an_inconclusive_size_says_why() -> None:
    from support import make_sampling

    from pytest_latency_sla.report.labels import sweep_text
    from pytest_latency_sla.result import Budget, SlaResult, Subject, Verdict
    from pytest_latency_sla.stats import Decision
    from pytest_latency_sla.sweep import sweep_entry

    subject = Subject(kind="onnx", name="m.onnx", api="session.run(None, feeds)")
    bursts = Decision(None, 0.5, 0.5, 0.003, 40.0, 1.0, 300.0, reason="dependent")

    def result(verdict: Verdict, decision: Decision | None) -> SlaResult:
        sampling = make_sampling([200_000] * 50, decision=decision)
        return SlaResult(subject=subject, budget=Budget(1, "ms", 99), verdict=verdict,
                         sampling=sampling)  # fmt: skip

    entry = sweep_entry(
        "batch", [(1, result(Verdict.PASS, None)), (64, result(Verdict.INCONCLUSIVE, bursts))]
    )
    assert [size["reason"] for size in entry["sizes"]] == [None, "dependent"]
    record = result(Verdict.PASS, None).to_record("t.py::test_m")
    record["sweep"] = entry
    text = sweep_text(record)
    assert text is not None
    assert "1: 200 µs pass, 64: 200 µs inconclusive (latency in bursts);" in text


def test_progress_lines_of_a_sweep_name_the_size(pytester: pytest.Pytester) -> None:
    # A trial: every later size's progress read "test #2", a row the report never had.
    # (p100 passes only once the samples span settle_time: looks before it are undecided.)
    shutil.copy(FUNNEL, pytester.path / "funnel.onnx")
    pytester.makeconftest(
        """
        import pytest
        import pytest_latency_sla.sampling

        @pytest.fixture(autouse=True)
        def _fast_progress(monkeypatch):
            monkeypatch.setattr(pytest_latency_sla.sampling, "PROGRESS_AFTER_NS", 50_000_000)
        """
    )
    pytester.makepyfile(
        test_sizes="""
        import pytest

        @pytest.mark.sla(ms=500, percentile=100, min_time=0.05, max_time=0.4, settle_time=0.3)
        def test_sizes(sla):
            sla.onnx("funnel.onnx", sweep={"batch": [1, 16, 256]})
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1)
    text = result.stdout.str()
    assert "sla: test_sizes.py::test_sizes (batch=16): " in text
    assert "sla: test_sizes.py::test_sizes (batch=256): " in text
    assert "test_sizes #2" not in text


def test_a_dims_problem_of_the_swept_dimension_gets_a_remedy_a_sweep_can_follow() -> None:
    """A trial: sweep={'x[0]': ...} was told to "write dims={'batch': <size>}", and a
    size fixed by the model got no remedy."""
    from pytest_latency_sla.sweep import sweep_problem

    named = "dims names 'x[0]', axis 0 of 'x', which is named 'batch': write dims={'batch': <size>}"
    assert sweep_problem(named) == (
        "sweep= names 'x[0]', axis 0 of 'x', which is named 'batch': write "
        "sweep={'batch': [<sizes>]}"
    )
    fixed = "dims names 'x[1]', axis 1 of 'x', which is fixed at 64 by the model"
    assert sweep_problem(fixed) == (
        "sweep= names 'x[1]', axis 1 of 'x', which is fixed at 64 by the model; a size the "
        "model fixes cannot be swept (export it with a symbolic one)"
    )
    none = (
        "dims names 'batch', which is no symbolic dimension of the model's inputs (its "
        "symbolic dimensions: none: every dimension is fixed)"
    )
    assert sweep_problem(none).endswith(
        "; a size the model fixes cannot be swept (export it with a symbolic one)"
    )
