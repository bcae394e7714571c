"""The advisor's variants whose inputs differ from the original's (``sla.compare()``).

Generated feeds are each model's own, so a variant exported with a fixed batch of 1
beside an original of batch 32 (or with float16 inputs for float32 ones) is fed other
data: a trial saw it ranked like the others, "fp16 meets it", without a word. The
comparison of the two models' inputs runs on tiny models built here; the rules on a
fake clock; the reports on a record; the whole path once, end to end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import onnxruntime
import pytest
from onnx import TensorProto, helper
from onnx_models import IR_VERSION, OPSET, Dim, add_model, save
from support import FAST, load_report
from synthetic import FakeClock
from test_advise import PLAN, timed
from test_html_report import _document
from test_report import record

from pytest_latency_sla import ort
from pytest_latency_sla.advise import Variant, advice_sentence, advise
from pytest_latency_sla.ort.difference import variant_difference

if TYPE_CHECKING:
    from collections.abc import Sequence

    import onnx

    from pytest_latency_sla.schema import AdviceEntry

FLOAT, FLOAT16 = TensorProto.FLOAT, TensorProto.FLOAT16

#: The sentence of a float16, batch-1 variant beside a float32 original of batch 32.
FP16_BATCH_1 = (
    "inputs differ from the original's: input 'x' is float16[1,64], the original's "
    "float32[32,64]; each was fed inputs generated from its own signature, so its time is "
    "not comparable"
)


def passthrough(
    *inputs: tuple[str, int, Sequence[Dim]], outputs: Sequence[str] | None = None
) -> onnx.ModelProto:
    """Each input ``(name, element type, shape)`` passed through to an output
    (``<name>_out``, or as ``outputs`` names them)."""
    names = list(outputs) if outputs is not None else [f"{name}_out" for name, _, _ in inputs]
    graph = helper.make_graph(
        [helper.make_node("Identity", [i[0]], [o]) for i, o in zip(inputs, names, strict=True)],
        "passthrough",
        [helper.make_tensor_value_info(n, t, list(s)) for n, t, s in inputs],
        [
            helper.make_tensor_value_info(o, i[1], list(i[2]))
            for i, o in zip(inputs, names, strict=True)
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    return model


def prepared(model: onnx.ModelProto, **options: Any) -> Any:
    return ort.prepare(model.SerializeToString(), **options)


def difference(original: onnx.ModelProto, variant: onnx.ModelProto) -> tuple[str, bool] | None:
    found = variant_difference(prepared(original), prepared(variant))
    return None if found is None else (found.sentence, found.comparable)


# --- the two models' inputs and outputs -----------------------------------------------


def test_a_variant_fixed_at_batch_1_is_fed_other_data() -> None:
    original = passthrough(("x", FLOAT, [32, 64]), outputs=["y"])
    assert difference(original, passthrough(("x", FLOAT, [1, 64]), outputs=["y"])) == (
        "inputs differ from the original's: input 'x' is float32[1,64], the original's "
        "float32[32,64]; each was fed inputs generated from its own signature, so its time "
        "is not comparable",
        False,
    )


def test_a_variant_with_float16_inputs_is_fed_other_data() -> None:
    original = passthrough(("x", FLOAT, [32, 64]), outputs=["y"])
    variant = passthrough(("x", FLOAT16, [1, 64]), outputs=["y"])
    assert difference(original, variant) == (FP16_BATCH_1, False)


def test_an_input_only_one_model_has_is_other_data() -> None:
    found = difference(add_model((1, 6)), passthrough(("a", FLOAT, [1, 6]), outputs=["z"]))
    assert found == (
        "inputs differ from the original's: no input 'b' (the original's float32[1,6]); each "
        "was fed inputs generated from its own signature, so its time is not comparable",
        False,
    )


def test_the_same_inputs_under_other_names_are_the_same_work() -> None:
    original = passthrough(("a", FLOAT, [32]), ("b", FLOAT, [32, 64]))
    # Other names, in another order: paired by type and shape, not by position.
    variant = passthrough(("c", FLOAT, [32, 64]), ("d", FLOAT, [32]), outputs=["b_out", "a_out"])
    assert difference(original, variant) == (
        "inputs named differently from the original's: input 'c' for the original's 'b', "
        "both float32[32,64], input 'd' for the original's 'a', both float32[32]",
        True,
    )


def test_inputs_declared_differently_but_fed_the_same_are_said_and_compare() -> None:
    # The original's batch defaults to 1: both are fed float32[1,64].
    original = passthrough(("x", FLOAT, ["batch", 64]), outputs=["y"])
    assert difference(original, passthrough(("x", FLOAT, [1, 64]), outputs=["y"])) == (
        "inputs declared differently from the original's: input 'x' is float32[1,64], the "
        "original's float32[batch,64]; both were timed on the same feeds",
        True,
    )
    # Given feeds are shared: a variant that takes them is fed the same.
    feeds = {"x": np.zeros((32, 64), np.float32)}
    variant = passthrough(("x", FLOAT, ["n", 64]), outputs=["y"])
    assert (
        variant_difference(prepared(original, feeds=feeds), prepared(variant, feeds=feeds)) is None
    )


def test_outputs_that_differ_are_said_and_compare() -> None:
    original = passthrough(("x", FLOAT, [1, 6]), outputs=["y"])
    assert difference(original, passthrough(("x", FLOAT, [1, 6]), outputs=["probs"])) == (
        "outputs differ from the original's: output 'probs' for the original's 'y', both "
        "float32[1,6]",
        True,
    )


def test_the_same_signature_under_other_dimension_names_is_no_difference() -> None:
    original = passthrough(("x", FLOAT, ["batch", 64]), outputs=["y"])
    assert difference(original, passthrough(("x", FLOAT, ["n", 64]), outputs=["y"])) is None
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    assert (
        variant_difference(prepared(original), prepared(original, session_options=options)) is None
    )


# --- the advice -----------------------------------------------------------------------


def advised(budget_ms: float, original_margin: float, **variant: Any) -> list[AdviceEntry]:
    """A 1 ms original beside a 0.1 ms variant, ``variant`` its other fields."""
    clock = FakeClock()
    return advise(
        timed(clock, 1.0, 0),
        [Variant("fp16", call=timed(clock, 0.1, 1), **variant)],
        PLAN,
        budget_s=budget_ms / 1e3,
        quantile=0.99,
        original_meets=original_margin >= 1,
        original_margin=original_margin,
        clock=clock,
    )


def test_a_variant_fed_other_data_is_timed_and_shown_but_gets_no_margin() -> None:
    (entry,) = advised(0.5, 0.45, difference=FP16_BATCH_1, comparable=False)
    assert entry["status"] == "measured"
    assert entry["p50_ratio"] is not None
    assert entry["p50_ratio"][0] == pytest.approx(0.1, rel=0.1)  # what was timed
    assert entry["difference"] == FP16_BATCH_1
    assert entry["comparable"] is False
    assert entry["margin"] is None
    assert entry["meets_budget"] is None
    assert entry["outcome"] is None
    assert entry["changes_outcome"] is None


def test_a_variant_whose_inputs_only_have_other_names_is_judged() -> None:
    named = "inputs named differently from the original's: input 'c' for the original's 'x'"
    (entry,) = advised(0.5, 0.45, difference=named, comparable=True)
    assert entry["outcome"] == "faster"
    assert entry["meets_budget"] is True
    assert entry["changes_outcome"] is True
    assert (entry["difference"], entry["comparable"]) == (named, True)
    # Without a difference, neither field is written.
    (plain,) = advised(0.5, 0.45)
    assert "difference" not in plain
    assert "comparable" not in plain


@pytest.mark.parametrize(
    ("margin", "verdict", "head", "tail"),
    [
        (0.45, "fail", "misses the 500 µs budget (margin 0.45x)", "no comparable variant meets it"),
        (
            1.5,
            "pass",
            "meets the 500 µs budget 1.50x over",
            "no comparable variant widens the margin",
        ),
        (
            45.0,
            "pass",
            "meets the 500 µs budget 45.0x over",
            "no comparable variant changes the outcome: stop optimizing",
        ),
    ],
)
def test_the_advice_never_advises_a_variant_fed_other_data(
    margin: float, verdict: str, head: str, tail: str
) -> None:
    entries = advised(0.5, margin, difference=FP16_BATCH_1, comparable=False)
    sentence = advice_sentence(
        entries, subject="m.onnx", budget="500 µs", margin=margin, verdict=verdict
    )
    assert sentence == f"m.onnx {head}; fp16: {FP16_BATCH_1}; {tail}"


def test_a_variant_with_a_difference_that_compares_is_advised_with_it() -> None:
    named = "inputs named differently from the original's: input 'c' for the original's 'x'"
    entries = advised(0.5, 0.45, difference=named, comparable=True)
    sentence = advice_sentence(entries, subject="m.onnx", budget="500 µs", margin=0.45)
    assert sentence.startswith("m.onnx misses the 500 µs budget (margin 0.45x); fp16 is ")
    assert f"x faster ({named}); fp16 meets it (margin " in sentence


def test_every_report_flags_the_variant_in_its_row() -> None:
    from pytest_latency_sla.report import html, markdown, terminal
    from pytest_latency_sla.report.labels import advice_rows

    rec = record("t.py::test_model", 0.45, "fail")
    named = "inputs named differently from the original's: input 'c' for the original's 'x'"
    entries = [
        *advised(0.5, 0.45, difference=FP16_BATCH_1, comparable=False),
        *advised(0.5, 0.45, difference=named, comparable=True),
    ]
    rec["advice"] = {"sentence": "...", "variants": entries}
    apart, renamed = advice_rows(rec)
    assert apart[-1] == FP16_BATCH_1
    assert apart[-2] == "-"  # no margin
    assert renamed[-1] == f"faster, meets the budget; {named}"
    document = _document([rec])
    assert f"{FP16_BATCH_1} |" in markdown.render(document)
    assert f"<td>{FP16_BATCH_1.replace(chr(39), '&#x27;')}</td>" in html.render(document)
    assert any(line.rstrip().endswith(FP16_BATCH_1) for line in terminal.advice([rec]))


# --- end to end -----------------------------------------------------------------------


def test_compare_flags_a_batch_1_variant_in_every_report(pytester: pytest.Pytester) -> None:
    save(passthrough(("x", FLOAT, [32, 64]), outputs=["y"]), pytester.path / "m.onnx")
    save(passthrough(("x", FLOAT, [1, 64]), outputs=["y"]), pytester.path / "b1.onnx")
    save(passthrough(("input", FLOAT, [32, 64]), outputs=["y"]), pytester.path / "named.onnx")
    pytester.makepyfile(
        test_own="""
        import pytest

        @pytest.mark.sla(ms=500)
        def test_variants(sla):
            sla.compare({"fp32": "m.onnx", "batch1": "b1.onnx", "named": "named.onnx"})
        """
    )
    reports = ["--sla-report=json:r.json", "--sla-report=md:r.md", "--sla-report=html:r.html"]
    result = pytester.runpytest(*FAST, "--sla-report", *reports)
    result.assert_outcomes(passed=1)
    said = (
        "inputs differ from the original's: input 'x' is float32[1,64], the original's "
        "float32[32,64]; each was fed inputs generated from its own signature, so its time "
        "is not comparable"
    )
    # (Plain text: fnmatch would read "[1,64]" as a set of characters.)
    (line,) = [x for x in result.outlines if x.startswith("sla: test_own.py::test_variants: ")]
    assert line.startswith("sla: test_own.py::test_variants: advice: fp32 (m.onnx) meets the ")
    assert f"; batch1: {said}; named is " in line
    assert line.endswith(
        "(inputs named differently from the original's: input 'input' for the original's "
        "'x', both float32[32,64]); no comparable variant changes the outcome: stop optimizing"
    )
    (row,) = [x for x in result.outlines if x.startswith("    batch1 ")]
    assert row.endswith(f" -  {said}")  # no margin, and why
    (result_record,) = load_report(pytester.path / "r.json")["results"]  # schema-checked
    batch1, named = result_record["advice"]["variants"]
    assert batch1["status"] == "measured"
    assert (batch1["difference"], batch1["comparable"]) == (said, False)
    assert batch1["margin"] is None
    assert batch1["outcome"] is None
    assert named["comparable"] is True
    assert named["margin"] is not None
    assert said in (pytester.path / "r.md").read_text(encoding="utf-8")
    assert said.replace("'", "&#x27;") in (pytester.path / "r.html").read_text(encoding="utf-8")


def test_compare_sizes_each_exporter_s_inputs_by_their_own_names(
    pytester: pytest.Pytester,
) -> None:
    """A trial: skl2onnx names the input X, onnxmltools input, both with an unnamed batch
    axis; dims={"X[0]": 16} failed the second ("could not be loaded: dims names 'X[0]'"),
    and adding "input[0]" failed the whole test for the first."""
    save(passthrough(("X", FLOAT, [None, 6]), outputs=["y"]), pytester.path / "skl.onnx")
    save(passthrough(("input", FLOAT, [None, 6]), outputs=["y"]), pytester.path / "lgbm.onnx")
    pytester.makepyfile(
        test_own="""
        import pytest

        @pytest.mark.sla(ms=500)
        def test_both(sla):
            sla.compare({"skl": "skl.onnx", "lgbm": "lgbm.onnx"}, dims={"X[0]": 16, "input[0]": 16})

        @pytest.mark.sla(ms=500)
        def test_misspelt(sla):
            sla.compare({"skl": "skl.onnx", "lgbm": "lgbm.onnx"}, dims={"x[0]": 16})
        """
    )
    result = pytester.runpytest(*FAST, "--sla-report=json:r.json")
    result.assert_outcomes(passed=2)
    records = {
        r["nodeid"].split("::")[1]: r for r in load_report(pytester.path / "r.json")["results"]
    }
    both = records["test_both"]
    assert both["inputs"][0]["shape"] == [16, 6]
    (variant,) = both["advice"]["variants"]
    assert variant["status"] == "measured"
    assert variant["comparable"] is True  # fed the same batch under its own name
    sentence = records["test_misspelt"]["advice"]["sentence"]
    assert sentence.startswith(
        "dims= names 'x[0]', which none of the compared models has (check the spelling: "
    )
