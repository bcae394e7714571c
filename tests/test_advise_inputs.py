"""How a variant's inputs and outputs differ from the original's (``ort.difference``).

Generated feeds are each model's own, so a variant exported with a fixed batch of 1
beside an original of batch 32 (or with float16 inputs for float32 ones) is fed other
data: a trial saw it ranked like the others, "fp16 meets it", without a word. The
comparison of the two models' inputs runs on tiny models built here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import onnxruntime
from onnx import TensorProto, helper
from onnx_models import IR_VERSION, OPSET, Dim, add_model

from pytest_latency_sla import ort
from pytest_latency_sla.ort.difference import variant_difference

if TYPE_CHECKING:
    from collections.abc import Sequence

    import onnx


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
