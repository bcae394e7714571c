"""The advisor (``--sla-advise``): variants timed beside the model, and one sentence.

The rules run on a fake clock (known speeds, no real time); the quantizer's own process
runs for real, with a quantizer that crashes; the story runs end to end on the example
funnel model.
"""

from __future__ import annotations

import ctypes
import json
import math
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from onnx_models import add_model, matmul_chain_model, model_bytes, save
from support import FAST, load_report
from synthetic import FakeClock
from test_html_report import _document
from test_report import record

from pytest_latency_sla.advise import Variant, advice_sentence, advise
from pytest_latency_sla.isolate import IsolationError, WorkerFailedError
from pytest_latency_sla.isolate_onnx import run_quantize
from pytest_latency_sla.ort import variants
from pytest_latency_sla.plan import SamplingPlan

if TYPE_CHECKING:
    from pytest_latency_sla.schema import AdviceEntry

MS = 1_000_000
PLAN = SamplingPlan(warmup_calls=5, warmup_time_ns=0, min_time_ns=MS, max_time_ns=20_000 * MS)
FUNNEL = Path(__file__).resolve().parent.parent / "examples" / "funnel" / "funnel.onnx"


def timed(clock: FakeClock, ms: float, seed: int):  # type: ignore[no-untyped-def]
    """A call that takes about ``ms`` on the fake clock, with 5% noise."""
    rng = np.random.default_rng(seed)

    def call() -> None:
        clock.now += round(ms * MS * math.exp(0.05 * float(rng.standard_normal())))

    return call


def run_advice(
    budget_ms: float | None,
    original_meets: bool | None,
    until_s: float | None = None,
    clock: FakeClock | None = None,
) -> list[AdviceEntry]:
    clock = clock or FakeClock()
    variants = [
        Variant("int8 (dynamic)", call=timed(clock, 1.3, 1)),
        Variant("threads=1", call=timed(clock, 0.5, 2)),
        Variant("graph: basic", call=timed(clock, 1.0, 3)),
        Variant("broken", problem="the quantizer crashed, SIGSEGV (exit code -11)"),
    ]
    return advise(
        timed(clock, 1.0, 0),
        variants,
        PLAN,
        budget_s=None if budget_ms is None else budget_ms / 1e3,
        quantile=0.99,
        original_meets=original_meets,
        clock=clock,
        until=None if until_s is None else (int(until_s * 1e9), "pytest-timeout's 30 s timeout"),
        now=clock,
    )


def test_within_a_timeout_the_variants_share_what_is_left() -> None:
    # Alone, the three variants take 1.55 s of fake time. With 0.6 s left before a
    # timeout, each takes its share of what is left (warmup included) and ends in time.
    alone = FakeClock()
    run_advice(50.0, True, clock=alone)
    assert alone.now > 1.5e9
    clock = FakeClock()
    entries = run_advice(50.0, True, until_s=0.6, clock=clock)
    assert [e["status"] for e in entries[:3]] == ["measured"] * 3
    assert clock.now <= 0.6e9


def test_a_variant_left_no_time_by_a_timeout_says_so() -> None:
    entries = run_advice(50.0, True, until_s=0.05)
    assert [e["problem"] for e in entries] == [
        "not timed: pytest-timeout's 30 s timeout left no time",
        "not timed: pytest-timeout's 30 s timeout left no time",
        "not timed: pytest-timeout's 30 s timeout left no time",
        "the quantizer crashed, SIGSEGV (exit code -11)",
    ]


def test_each_variant_is_judged_against_the_original() -> None:
    entries = {e["name"]: e for e in run_advice(50.0, True)}
    int8, threads, basic, broken = (
        entries[n] for n in ("int8 (dynamic)", "threads=1", "graph: basic", "broken")
    )
    assert int8["outcome"] == "slower"
    assert int8["p50_ratio"] is not None
    assert int8["p50_ratio"][1] < 1.3 < int8["p50_ratio"][2]
    assert threads["outcome"] == "faster"
    assert basic["outcome"] == "same"
    assert int8["margin"] == pytest.approx(50 / 1.3 / 1.12, rel=0.1)  # p99: ~ +2.3 sigma
    assert int8["meets_budget"] is True
    assert int8["changes_outcome"] is False
    assert broken["status"] == "failed"
    assert broken["problem"] == "the quantizer crashed, SIGSEGV (exit code -11)"
    assert broken["p50_ratio"] is None


def test_far_under_budget_the_advice_is_to_stop() -> None:
    entries = run_advice(50.0, True)
    sentence = advice_sentence(
        entries, subject="funnel.onnx", budget="50 ms", margin=45, headroom=10
    )
    assert sentence.startswith(
        "funnel.onnx meets the 50 ms budget 45.0x over; int8 (dynamic) is 1."
    )
    assert "x slower; threads=1 is 2." in sentence
    assert (
        "x faster; graph: basic is about the same speed; broken: the quantizer crashed" in sentence
    )
    assert sentence.endswith("no variant changes the outcome: stop optimizing")


@pytest.mark.parametrize(
    ("margin", "verdict", "stop", "head", "tail"),
    [
        (45.0, "pass", True, "meets the 50 ms budget at 300/s (margin 45.0x)", "stop optimizing"),
        (3.0, "pass", False, "meets the 50 ms budget at 300/s (margin 3.00x)", "at rps=300"),
        (0.5, "fail", False, "misses the 50 ms budget at 300/s (margin 0.50x)", "at rps=300"),
        (
            1.1,
            "inconclusive",
            False,
            "is inconclusive against the 50 ms budget at 300/s (margin 1.10x)",
            "",
        ),
    ],
)
def test_under_load_the_advice_claims_no_margin_for_a_variant(
    margin: float, verdict: str, stop: bool, head: str, tail: str
) -> None:
    # A trial: under rps= a variant's margin was the load margin over its single-call
    # ratio, and the advice said a variant 1.3x slower per call "misses the budget".
    entries = run_advice(None, None)
    assert all(e["margin"] is None and e["meets_budget"] is None for e in entries)
    sentence = advice_sentence(
        entries,
        subject="funnel.onnx",
        budget="50 ms",
        margin=margin,
        verdict=verdict,
        stop=stop,
        load_rps=300.0,
    )
    assert sentence.startswith(f"funnel.onnx {head}; one call at a time, int8 (dynamic) is 1.")
    assert sentence.endswith(tail)
    assert "widen" not in sentence
    assert "meets it" not in sentence
    if not stop:
        assert "a queue at 300/s can magnify such a difference: judge a variant under load" in (
            sentence
        )


def test_compare_under_load_gives_the_variants_no_margin(pytester: pytest.Pytester) -> None:
    save(matmul_chain_model(2), pytester.path / "a.onnx")
    save(matmul_chain_model(3), pytester.path / "b.onnx")
    pytester.makepyfile(
        test_compare_at_a_rate="""
        import pytest

        @pytest.mark.sla(ms=500, percentile=50, rps=100, load_time=0.5, concurrency=2)
        def test_variants(sla):
            sla.compare({"a": "a.onnx", "b": "b.onnx"})
        """
    )
    result = pytester.runpytest(*FAST, "--sla-report=json:r.json")
    result.assert_outcomes(passed=1)
    (record,) = load_report(pytester.path / "r.json")["results"]
    (variant,) = record["advice"]["variants"]
    assert variant["name"] == "b"
    assert variant["status"] == "measured"
    assert variant["margin"] is None
    assert variant["meets_budget"] is None
    assert variant["p50_ratio"] is not None
    assert "meets the 500 ms budget at 100/s" in record["advice"]["sentence"]


def test_a_missed_budget_names_the_variant_that_meets_it() -> None:
    # The original takes 1 ms at p50 (about 1.12 ms at p99) against a 0.8 ms budget.
    entries = run_advice(0.8, False)
    faster = next(e for e in entries if e["name"] == "threads=1")
    assert faster["meets_budget"] is True
    assert faster["changes_outcome"] is True
    sentence = advice_sentence(entries, subject="m.onnx", budget="800 µs", margin=0.71, headroom=10)
    assert sentence.startswith("m.onnx misses the 800 µs budget (margin 0.71x); ")
    assert "; threads=1 meets it (margin 1." in sentence


def test_no_variant_meeting_a_missed_budget_says_the_closest() -> None:
    entries = run_advice(0.3, False)
    sentence = advice_sentence(entries, subject="m.onnx", budget="300 µs", margin=0.27, headroom=10)
    assert "; no variant meets it; the closest, threads=1, reaches margin 0." in sentence


def test_a_tight_margin_names_the_variant_that_widens_it() -> None:
    entries = run_advice(2.0, True)
    sentence = advice_sentence(entries, subject="m.onnx", budget="2 ms", margin=1.8, headroom=10)
    assert sentence.startswith("m.onnx meets the 2 ms budget 1.80x over; ")
    assert "; threads=1 would widen the margin to 3." in sentence


def test_a_variant_s_margin_is_the_original_s_over_the_ratio_measured_side_by_side() -> None:
    # The original measured alone read a margin of 1.8x; side by side, a variant whose p99
    # is half the original's has twice that, whatever the two paired runs' own times were.
    clock = FakeClock()
    (entry,) = advise(
        timed(clock, 1.0, 0),
        [Variant("threads=1", call=timed(clock, 0.5, 2))],
        PLAN,
        budget_s=0.002,
        quantile=0.99,
        original_meets=True,
        original_margin=1.8,
        clock=clock,
    )
    assert entry["percentile_ratio"] is not None
    high, own = entry["percentile_ratio"][2], entry["percentile_s"]
    assert own is not None
    assert entry["margin"] == pytest.approx(min(1.8 / high, 0.002 / own))
    assert entry["margin"] == pytest.approx(3.6, rel=0.15)


def test_a_variant_never_reads_a_wider_margin_than_its_own_percentile_allows() -> None:
    # A trial: on a busy machine a variant whose p99 (258 µs) missed a 100 µs budget was
    # advised as meeting it, margin 3.96x, the original's carried over by a ratio of 0.05.
    clock = FakeClock()
    (entry,) = advise(
        timed(clock, 1.0, 0),
        [Variant("int8", call=timed(clock, 0.5, 2))],
        PLAN,
        budget_s=0.0004,  # under the variant's own p99
        quantile=0.99,
        original_meets=False,
        original_margin=20.0,  # as if the original's own measurement had read 20x
        clock=clock,
    )
    assert entry["percentile_s"] is not None
    assert entry["percentile_s"] > 0.0004
    assert entry["margin"] == pytest.approx(0.0004 / entry["percentile_s"])
    assert entry["meets_budget"] is False


def test_a_faster_variant_with_a_narrower_margin_does_not_widen_it() -> None:
    entries = run_advice(2.0, True)
    for entry in entries:
        if entry["status"] == "measured":
            entry["margin"] = 1.5  # narrower than the original's 1.8x, as measured
    sentence = advice_sentence(entries, subject="m.onnx", budget="2 ms", margin=1.8)
    assert sentence.endswith("; no variant widens the margin")
    assert "would widen" not in sentence


def test_an_inconclusive_original_is_not_said_to_meet_its_budget() -> None:
    entries = run_advice(2.0, None)
    sentence = advice_sentence(
        entries, subject="m.onnx", budget="2 ms", margin=1.8, verdict="inconclusive"
    )
    assert sentence.startswith("m.onnx is inconclusive against the 2 ms budget (margin 1.80x); ")
    assert "; threads=1 would widen the margin to 3." in sentence
    assert all(e["changes_outcome"] is None for e in entries if e["status"] == "measured")


def test_stop_optimizing_is_not_advised_where_the_band_withholds_it() -> None:
    # 45x over, but measured at a size that defaulted to 1: the band is "ok", not "stop".
    entries = run_advice(50.0, True)
    sentence = advice_sentence(
        entries, subject="m.onnx", budget="50 ms", margin=45, verdict="pass", stop=False
    )
    assert "stop optimizing" not in sentence
    assert "; threads=1 would widen the margin to " in sentence


def test_a_variant_that_raises_is_a_row_not_a_failure() -> None:
    clock = FakeClock()

    def broken() -> None:
        # As onnxruntime words it: what went wrong is on the later lines.
        raise RuntimeError(
            "Got invalid dimensions for output: label for the following indices\n"
            " index: 0 Got: 8 Expected: 1\n"
        )

    (entry,) = advise(
        timed(clock, 1.0, 0),
        [Variant("int8 (dynamic)", call=broken)],
        PLAN,
        budget_s=0.05,
        quantile=0.99,
        original_meets=True,
        clock=clock,
    )
    assert entry["status"] == "failed"
    assert entry["problem"] == (
        "raised RuntimeError: Got invalid dimensions for output: label for the following "
        "indices index: 0 Got: 8 Expected: 1"
    )


# --- the quantizer's own process ----------------------------------------------------------


def segfault(source: bytes | str) -> bytes:
    """A quantizer that crashes as the story's did (module level: sent by reference)."""
    ctypes.string_at(0)
    return b""


def refuses(source: bytes | str) -> bytes:
    raise ValueError("unsupported opset 99")


def no_initializer(source: bytes | str) -> bytes:
    raise ValueError("Expected conv1_w_0 to be an initializer")


def test_a_quantizer_that_crashes_is_a_sentence_and_this_process_goes_on() -> None:
    with pytest.raises(IsolationError) as caught:
        run_quantize(b"not a model", 30.0, segfault)
    assert str(caught.value) == "the quantizer crashed, SIGSEGV (exit code -11)"


def test_a_quantizer_that_fails_says_why() -> None:
    with pytest.raises(WorkerFailedError) as caught:
        run_quantize(b"not a model", 30.0, refuses)
    assert str(caught.value) == "the quantizer raised ValueError: unsupported opset 99"
    # A new user's SqueezeNet: onnxruntime's words alone did not say why.
    with pytest.raises(WorkerFailedError) as caught:
        run_quantize(b"not a model", 30.0, no_initializer)
    assert str(caught.value) == (
        "the quantizer raised ValueError: Expected conv1_w_0 to be an initializer "
        "(onnxruntime's int8 quantizer needs a weight stored in the model as an initializer; "
        "this model computes it in its graph or takes it as an input)"
    )


def test_the_real_quantizer_makes_an_int8_model() -> None:
    pytest.importorskip("onnx")
    quantized = run_quantize(str(FUNNEL), 60.0)
    assert len(quantized) > 100
    import onnxruntime

    session = onnxruntime.InferenceSession(quantized, providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["features"]
    assert variants.nothing_quantized(quantized) is None  # its MatMul is int8 now


def test_a_model_the_quantizer_leaves_as_it_was_says_so() -> None:
    # A tree ensemble (skl2onnx, onnxmltools) or a graph of element-wise operators has
    # no int8 form: quantize_dynamic returns it unchanged, and timing that as "int8"
    # would read as "int8 was tried and does not help" (a new user's trial).
    pytest.importorskip("onnx")
    unchanged = run_quantize(model_bytes(add_model(("batch", 6))), 60.0)
    assert variants.nothing_quantized(unchanged) == (
        "quantize_dynamic found nothing to quantize: it quantizes the constant weights of "
        "MatMul, Conv, Gather, Attention and LSTM operators, and this model has none "
        "(its operators: Add)"
    )
    assert variants.nothing_quantized(b"not a model") is None
    page = Path(__file__).parent.parent / "docs" / "advisor.md"
    assert f"`{variants.nothing_quantized(unchanged)}`" in page.read_text(encoding="utf-8")


# --- end to end: the story -------------------------------------------------------------


STORY = """
import pytest


@pytest.mark.sla(ms=50)
def test_funnel_model(sla):
    sla.onnx("funnel.onnx")
"""


def test_the_story_advice_is_to_stop_optimizing(pytester: pytest.Pytester) -> None:
    """48 parameters, microseconds against 50 ms: every variant is timed, int8 among
    them, and the advice is to stop."""
    pytest.importorskip("onnx")
    shutil.copy(FUNNEL, pytester.path / "funnel.onnx")
    pytester.makepyfile(test_funnel=STORY)
    result = pytester.runpytest(*FAST, "--sla-advise", "--sla-report", "--sla-report=json:r.json")
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "sla: test_funnel.py::test_funnel_model: advice: funnel.onnx meets the 50 ms budget "
            "*x over; int8 (dynamic) is *; no variant changes the outcome: stop optimizing",
            "    variant * p50 * p99 * p50 vs original * margin*",
            "    int8 (dynamic) *x (*-*) *",
        ]
    )
    (record,) = load_report(pytester.path / "r.json")["results"]
    variants = {v["name"]: v for v in record["advice"]["variants"]}
    assert variants["int8 (dynamic)"]["status"] == "measured"
    assert variants["int8 (dynamic)"]["p50_ratio"][0] > 0
    assert "threads=1" in variants
    assert variants["io binding"]["status"] == "measured"
    assert record["advice"]["sentence"].endswith("stop optimizing")


def test_a_crashing_quantizer_is_one_row_and_the_run_goes_on(pytester: pytest.Pytester) -> None:
    shutil.copy(FUNNEL, pytester.path / "funnel.onnx")
    pytester.makepyfile(
        crashing="""
        import ctypes

        def segfault(source):
            ctypes.string_at(0)
        """
    )
    pytester.makeconftest(
        """
        import crashing
        import pytest
        import pytest_latency_sla.ort.variants as variants

        @pytest.fixture(autouse=True)
        def _crashing_quantizer(monkeypatch):
            monkeypatch.setattr(variants, "quantize_int8", crashing.segfault)
        """
    )
    pytester.makepyfile(test_funnel=STORY)
    result = pytester.runpytest(
        *FAST, "-p", "no:faulthandler", "--sla-advise", "--sla-report=json:r.json"
    )
    assert result.ret == 0, result.stdout.str()
    (record,) = load_report(pytester.path / "r.json")["results"]
    (int8,) = [v for v in record["advice"]["variants"] if v["name"] == "int8 (dynamic)"]
    assert int8["status"] == "failed"
    assert int8["problem"] == "the quantizer crashed, SIGSEGV (exit code -11)"
    assert "int8 (dynamic): the quantizer crashed, SIGSEGV" in record["advice"]["sentence"]
    assert json.dumps(record["advice"])  # plain values


def test_advise_on_the_fixture_for_one_test(pytester: pytest.Pytester) -> None:
    pytest.importorskip("onnx")
    shutil.copy(FUNNEL, pytester.path / "funnel.onnx")
    pytester.makepyfile(
        test_funnel="""
        import pytest

        @pytest.mark.sla(ms=50)
        def test_advised(sla):
            sla.onnx("funnel.onnx", advise=True)

        @pytest.mark.sla(ms=50)
        def test_plain(sla):
            sla.onnx("funnel.onnx")
        """
    )
    result = pytester.runpytest(*FAST, "--sla-report=json:r.json")
    result.assert_outcomes(passed=2)
    records = {r["nodeid"]: r for r in load_report(pytester.path / "r.json")["results"]}
    assert records["test_funnel.py::test_advised"]["advice"] is not None
    assert records["test_funnel.py::test_plain"]["advice"] is None


def test_markdown_and_html_show_the_advice_table() -> None:
    from pytest_latency_sla.report import html, markdown

    rec = record("t.py::test_model", 45.0)
    entries = run_advice(50.0, True)
    rec["advice"] = {
        "sentence": "m.onnx meets the 50 ms budget 45.0x over; ...",
        "variants": entries,
    }
    document = _document([rec])
    text = markdown.render(document)
    assert "**Advice**: the usual optimizations, each timed side by side with the model:" in text
    assert "`t.py::test_model`: m.onnx meets the 50 ms budget 45.0x over; ..." in text
    assert "| variant | p50 | p99 | original p50 beside it | p50 vs original | margin |  |" in text
    assert "| broken | - | - | - | - | - | the quantizer crashed, SIGSEGV (exit code -11) |" in text
    page = html.render(document)
    assert "<strong>Advice.</strong> m.onnx meets the 50 ms budget 45.0x over; ..." in page
    assert "<td>the quantizer crashed, SIGSEGV (exit code -11)</td>" in page


def test_a_p50_budget_has_one_p50_column() -> None:
    from pytest_latency_sla.report.labels import advice_header, advice_rows

    rec = record("t.py::test_model", 45.0, percentile=50.0)
    entries = run_advice(50.0, True)
    rec["advice"] = {"sentence": "...", "variants": entries}
    assert advice_header(rec) == [
        "variant",
        "p50",
        "original p50 beside it",
        "p50 vs original",
        "margin",
        "",
    ]
    assert all(len(row) == 6 for row in advice_rows(rec))
    # A trial: "int8 8.77 µs ... 1.36x slower" beside an original of 10.1 µs read as a
    # contradiction; the original's own p50 beside the variant is what the ratio divides.
    measured = [row for row in advice_rows(rec) if row[0] == "int8 (dynamic)"]
    assert measured[0][2].endswith((" µs", " ms"))
    (int8,) = [e for e in entries if e["name"] == "int8 (dynamic)"]
    assert int8["original_p50_s"] == pytest.approx(1e-3, rel=0.1)  # the 1 ms original


# --- your own variants: sla.compare() ---------------------------------------------------


def test_your_own_variants_side_by_side(pytester: pytest.Pytester) -> None:
    save(matmul_chain_model(2), pytester.path / "small.onnx")
    save(matmul_chain_model(40), pytester.path / "large.onnx")  # 20x the layers
    pytester.makepyfile(
        test_own="""
        import pytest

        @pytest.mark.sla(ms=500)
        def test_variants(sla):
            sla.compare({"fp32": "small.onnx", "twenty": "large.onnx"})
        """
    )
    result = pytester.runpytest(*FAST, "--sla-report", "--sla-report=json:r.json")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["sla: test_own.py::test_variants: advice: fp32 (small.onnx) meets the 500 ms budget *"]
    )
    (record,) = load_report(pytester.path / "r.json")["results"]
    assert record["subject"] == "small.onnx"  # the reference is what is judged
    (twenty,) = record["advice"]["variants"]
    assert twenty["name"] == "twenty"
    assert twenty["outcome"] == "slower"
    assert twenty["p50_ratio"][1] > 3  # 20x the work: far above 1, even on a busy runner


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            'sla.compare(["m.onnx", "m.onnx"])',
            "sla.compare() takes a dict of two or more models by name (non-empty strings), the "
            "reference first, e.g. sla.compare({'fp32': 'm.onnx', 'int8': 'm.int8.onnx'}); got "
            "list ['m.onnx', 'm.onnx'] (in test_bad.py::test_bad)",
        ),
        (
            'sla.compare({"fp32": "m.onnx"})',
            "sla.compare() takes a dict of two or more models by name (non-empty strings), the "
            "reference first, e.g. sla.compare({'fp32': 'm.onnx', 'int8': 'm.int8.onnx'}); got "
            "dict {'fp32': 'm.onnx'} (in test_bad.py::test_bad)",
        ),
        (
            # A bad-input hunt: the message did not say which name was wrong.
            'sla.compare({"fp32": "m.onnx", "": "m.onnx"})',
            "sla.compare() takes a dict of two or more models by name (non-empty strings), * "
            "got dict {'fp32': 'm.onnx', '': 'm.onnx'} (a name that is empty) (in "
            "test_bad.py::test_bad)",
        ),
        (
            'sla.compare({"fp32": "m.onnx", "int8": "missing.onnx"})',
            "sla.compare(): 'int8': * (in test_bad.py::test_bad)",
        ),
        (
            # A trial: a broken reference read "sla.onnx(): ...", naming no key.
            '__import__("pathlib").Path("text.onnx").write_text("garbage"); '
            'sla.compare({"fp32": "text.onnx", "int8": "m.onnx"})',
            "sla.compare(): 'fp32': * model text.onnx: * (in test_bad.py::test_bad)",
        ),
    ],
)
def test_bad_input_to_compare_gets_a_sentence(
    pytester: pytest.Pytester, call: str, message: str
) -> None:
    save(matmul_chain_model(2), pytester.path / "m.onnx")
    pytester.makepyfile(
        test_bad=f"""
        import pytest

        @pytest.mark.sla(ms=500)
        def test_bad(sla):
            {call}
        """
    )
    result = pytester.runpytest(*FAST)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([message.replace("[", "[[]")])


def test_advice_for_an_isolated_measurement_comes_from_a_worker(pytester: pytest.Pytester) -> None:
    pytest.importorskip("onnx")
    shutil.copy(FUNNEL, pytester.path / "funnel.onnx")
    pytester.makepyfile(
        test_funnel="""
        import pytest

        @pytest.mark.sla(ms=50, isolate=True)
        def test_isolated(sla):
            sla.onnx("funnel.onnx", advise=True)
        """
    )
    result = pytester.runpytest(*FAST, "--sla-report=json:r.json")
    result.assert_outcomes(passed=1)
    (record,) = load_report(pytester.path / "r.json")["results"]
    assert record["api"].endswith("[isolated]")
    names = [v["name"] for v in record["advice"]["variants"]]
    assert names[0] == "int8 (dynamic)"
    assert "threads=1" in names
    assert record["advice"]["sentence"].endswith("stop optimizing")


def test_advise_takes_a_bool(pytester: pytest.Pytester) -> None:
    shutil.copy(FUNNEL, pytester.path / "funnel.onnx")
    pytester.makepyfile(
        test_flag="""
        import pytest

        @pytest.mark.sla(ms=50)
        def test_flag(sla):
            sla.onnx("funnel.onnx", advise="no")
        """
    )
    result = pytester.runpytest(*FAST)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "sla.onnx(advise='no'): advise= must be True or False (or left out to follow "
            "sla_advise), got str (in test_flag.py::test_flag)"
        ]
    )


def test_a_model_with_no_ai_onnx_opset_has_nothing_to_quantize_not_a_quantizer_error() -> None:
    # A trial: onnxmltools' XGBoost (only the ai.onnx.ml domain) made quantize_dynamic
    # raise "ValueError: Failed to find proper ai.onnx domain".
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Binarizer", ["x"], ["y"], domain="ai.onnx.ml", threshold=0.5)],
        "ml_only",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("ai.onnx.ml", 3)])
    source = model.SerializeToString()
    assert onnx.load_from_string(source).opset_import[0].domain == "ai.onnx.ml"
    unchanged = run_quantize(source, 60.0)
    assert unchanged == source
    assert variants.nothing_quantized(unchanged) == (
        "quantize_dynamic found nothing to quantize: it quantizes the constant weights of "
        "MatMul, Conv, Gather, Attention and LSTM operators, and this model has none "
        "(its operators: Binarizer)"
    )
    # The operators looked for hold every one onnxruntime's dynamic quantizer handles.
    from onnxruntime.quantization import registry

    assert set(registry.IntegerOpsRegistry) <= variants.QUANTIZED_OPS


# --- IO binding on a GPU session (run on an H200 by tests/test_cuda.py) --------------------


class _FakeCudaSession:
    def __init__(self, options: dict[str, dict[str, str]]) -> None:
        self._options = options

    def get_providers(self) -> list[str]:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]

    def get_provider_options(self) -> dict[str, dict[str, str]]:
        return self._options


def test_the_io_binding_variant_finds_a_cuda_sessions_device() -> None:
    from pytest_latency_sla.ort.variants import _device_of

    # onnxruntime gives provider options as strings.
    assert _device_of(_FakeCudaSession({"CUDAExecutionProvider": {"device_id": "1"}})) == (
        "cuda",
        1,
    )
    assert _device_of(_FakeCudaSession({})) == ("cuda", 0)
    cpu = onnxruntime_session()
    assert _device_of(cpu) is None


def test_only_numeric_arrays_go_to_the_device() -> None:
    # A review: a string input cannot go to a GPU; binding it there dropped the row.
    from pytest_latency_sla.ort.variants import _on_device

    assert _on_device(np.array(["a"]), ("cuda", 0)) is None
    assert _on_device(np.zeros(2, np.float32), None) is None
    assert _on_device([1.0], ("cuda", 0)) is None  # (not an array: as fed)


@pytest.mark.parametrize(
    ("kind", "on_gpu"),
    [("tensor(float)", True), ("tensor(int64)", True), ("tensor(string)", False),
     ("seq(map(int64,tensor(float)))", False)],
)  # fmt: skip
def test_only_numeric_tensor_outputs_are_bound_on_the_device(kind: str, on_gpu: bool) -> None:
    # A second review: a string label output (skl2onnx's classifiers) went to the GPU.
    from pytest_latency_sla.ort.variants import _numeric_tensor

    assert _numeric_tensor(kind) is on_gpu


def onnxruntime_session() -> object:
    import onnxruntime

    return onnxruntime.InferenceSession(
        model_bytes(add_model()), providers=["CPUExecutionProvider"]
    )
