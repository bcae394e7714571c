"""Build the 48-parameter funnel model used by the example suite.

A 6-4-4 MLP (Gemm, Relu, Gemm, Sigmoid) with seeded weights: 6*4 + 4 + 4*4 + 4 = 48
parameters. Run ``python examples/funnel/make_funnel.py`` to regenerate ``funnel.onnx``
(byte-for-byte the same: the weights come from a fixed seed).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent
#: Opset and IR version old enough for every onnxruntime this plugin supports (>= 1.17).
OPSET = 17
IR_VERSION = 8


def build_funnel() -> onnx.ModelProto:
    """The funnel model: features[batch, 6] -> score[batch, 4]."""
    rng = np.random.default_rng(48)
    w1 = rng.standard_normal((6, 4)).astype(np.float32)
    b1 = rng.standard_normal(4).astype(np.float32)
    w2 = rng.standard_normal((4, 4)).astype(np.float32)
    b2 = rng.standard_normal(4).astype(np.float32)
    nodes = [
        helper.make_node("Gemm", ["features", "w1", "b1"], ["h"], name="dense1"),
        helper.make_node("Relu", ["h"], ["h_relu"], name="relu"),
        helper.make_node("Gemm", ["h_relu", "w2", "b2"], ["logits"], name="dense2"),
        helper.make_node("Sigmoid", ["logits"], ["score"], name="sigmoid"),
    ]
    graph = helper.make_graph(
        nodes,
        "funnel",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 6])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["batch", 4])],
        initializer=[
            numpy_helper.from_array(w1, "w1"),
            numpy_helper.from_array(b1, "b1"),
            numpy_helper.from_array(w2, "w2"),
            numpy_helper.from_array(b2, "b2"),
        ],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="pytest-latency-sla examples",
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def parameter_count(model: onnx.ModelProto) -> int:
    """Number of weights in the model's initializers."""
    return sum(int(np.prod(init.dims)) for init in model.graph.initializer)


def main() -> int:
    model = build_funnel()
    out = HERE / "funnel.onnx"
    onnx.save(model, str(out))
    print(f"wrote {out} ({parameter_count(model)} parameters, {out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
