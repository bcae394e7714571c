"""Tiny, deterministic ONNX models built in code for the adapter's tests.

Nothing is downloaded: every model is a handful of ``onnx.helper`` calls. Opset 17 and
IR version 8 (what onnxruntime >= 1.17 loads) unless a helper says otherwise. Also the
helpers the ``test_ort_*`` files share: :func:`cpu_session` and :func:`run_once`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import onnx
import onnxruntime
from onnx import TensorProto, helper, numpy_helper

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from pytest_latency_sla.ort import PreparedModel

__all__ = [
    "HOLDER",
    "IR_VERSION",
    "OPSET",
    "Dim",
    "add_model",
    "cpu_session",
    "custom_domain_model",
    "identity_model",
    "looped_matmul_model",
    "model_bytes",
    "multi_input_model",
    "new_ir_model",
    "new_opset_model",
    "no_kernel_model",
    "not_model",
    "run_once",
    "sample_rate_model",
    "save",
    "save_test_data",
    "save_with_external_data",
    "scalar_gate_model",
    "string_input_model",
    "unknown_op_model",
]

OPSET = 17
IR_VERSION = 8
#: The tensor a missing external data file holds, as a load error names it: onnxruntime
#: 1.32 names it, 1.23 (the newest on Python 3.10) does not.
HOLDER = (
    " (it holds tensor 'data')"
    if tuple(int(part) for part in onnxruntime.__version__.split(".")[:2]) >= (1, 24)
    else ""
)

#: A dimension: a fixed size, a symbolic name, or None for unknown (neither).
Dim: TypeAlias = int | str | None


def _value_info(name: str, elem_type: int, shape: Sequence[Dim]) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem_type, list(shape))


def _model(
    nodes: Sequence[onnx.NodeProto],
    inputs: Sequence[onnx.ValueInfoProto],
    outputs: Sequence[onnx.ValueInfoProto],
    *,
    name: str,
    initializers: Sequence[onnx.TensorProto] = (),
    opset: int = OPSET,
    extra_opsets: Sequence[tuple[str, int]] = (),
) -> onnx.ModelProto:
    graph = helper.make_graph(
        list(nodes), name, list(inputs), list(outputs), initializer=list(initializers)
    )
    opsets = [helper.make_opsetid("", opset)]
    opsets += [helper.make_opsetid(domain, version) for domain, version in extra_opsets]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="pytest-latency-sla tests")
    model.ir_version = IR_VERSION
    return model


def matmul_chain_model(layers: int, width: int = 192) -> onnx.ModelProto:
    """``x`` float[1, width] through ``layers`` MatMuls by a fixed matrix: a model whose
    cost grows with ``layers`` (twice the layers, about twice the time)."""
    rng = np.random.default_rng(layers)
    weight = numpy_helper.from_array(
        (rng.standard_normal((width, width)) / width).astype(np.float32), "w"
    )
    names = ["x"] + [f"h{i}" for i in range(1, layers)] + ["y"]
    nodes = [helper.make_node("MatMul", [names[i], "w"], [names[i + 1]]) for i in range(layers)]
    return _model(
        nodes,
        [_value_info("x", TensorProto.FLOAT, [1, width])],
        [_value_info("y", TensorProto.FLOAT, [1, width])],
        name=f"matmul_chain_{layers}",
        initializers=[weight],
    )


def looped_matmul_model(trips: int, width: int = 192) -> onnx.ModelProto:
    """``x`` float[1, width] multiplied ``trips`` times by a fixed matrix in a Loop whose
    trip count is an initializer: saved with external data, the ``.onnx`` file is the same
    for every ``trips`` and only the data file tells them apart."""
    rng = np.random.default_rng(width)
    weight = numpy_helper.from_array(
        (rng.standard_normal((width, width)) / width).astype(np.float32), "w"
    )
    count = numpy_helper.from_array(np.array(trips, dtype=np.int64), "trips")
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("MatMul", ["v_in", "w"], ["v_out"]),
        ],
        "body",
        [
            _value_info("i", TensorProto.INT64, []),
            _value_info("cond_in", TensorProto.BOOL, []),
            _value_info("v_in", TensorProto.FLOAT, [1, width]),
        ],
        [
            _value_info("cond_out", TensorProto.BOOL, []),
            _value_info("v_out", TensorProto.FLOAT, [1, width]),
        ],
    )
    return _model(
        [helper.make_node("Loop", ["trips", "", "x"], ["y"], body=body)],
        [_value_info("x", TensorProto.FLOAT, [1, width])],
        [_value_info("y", TensorProto.FLOAT, [1, width])],
        name="looped_matmul",
        initializers=[weight, count],
    )


def identity_model(
    elem_type: int = TensorProto.FLOAT, shape: Sequence[Dim] = (1, 6), name: str = "identity"
) -> onnx.ModelProto:
    """``y = x``, one input ``x`` of ``elem_type`` (a ``TensorProto`` constant) and ``shape``."""
    return _model(
        [helper.make_node("Identity", ["x"], ["y"])],
        [_value_info("x", elem_type, shape)],
        [_value_info("y", elem_type, shape)],
        name=name,
    )


def add_model(
    shape: Sequence[Dim] = ("batch", 6), elem_type: int = TensorProto.FLOAT
) -> onnx.ModelProto:
    """``z = a + b``, two inputs ``a`` and ``b`` of the same type and shape."""
    return _model(
        [helper.make_node("Add", ["a", "b"], ["z"])],
        [_value_info("a", elem_type, shape), _value_info("b", elem_type, shape)],
        [_value_info("z", elem_type, shape)],
        name="add",
    )


def multi_input_model() -> onnx.ModelProto:
    """Three independent inputs of different types, each passed through to an output.

    ``image``: float[batch, 3, height, width]; ``ids``: int64[batch, seq];
    ``mask``: bool[batch, ?] (second dimension unknown).
    """
    specs: list[tuple[str, int, list[Dim]]] = [
        ("image", TensorProto.FLOAT, ["batch", 3, "height", "width"]),
        ("ids", TensorProto.INT64, ["batch", "seq"]),
        ("mask", TensorProto.BOOL, ["batch", None]),
    ]
    return _model(
        [helper.make_node("Identity", [name], [f"{name}_out"]) for name, _, _ in specs],
        [_value_info(name, et, shape) for name, et, shape in specs],
        [_value_info(f"{name}_out", et, shape) for name, et, shape in specs],
        name="multi_input",
    )


def not_model() -> onnx.ModelProto:
    """``o = not b`` on a bool scalar: input ``b`` of type bool and rank 0 (shape [])."""
    return _model(
        [helper.make_node("Not", ["b"], ["o"])],
        [_value_info("b", TensorProto.BOOL, [])],
        [_value_info("o", TensorProto.BOOL, [])],
        name="not",
    )


def string_input_model() -> onnx.ModelProto:
    """``y = x`` on a string tensor ``x`` of shape [1]: no value can be generated for it."""
    return identity_model(TensorProto.STRING, [1], name="strings")


def scalar_gate_model(size: int = 6) -> onnx.ModelProto:
    """Reshapes a constant of ``size`` floats to the shape in int64 input ``shape`` ([1]).

    Only ``shape=[size]`` runs; ``allowzero=1`` makes 0 mean 0, so generated values
    (0 or 1) fail at run time, not at load time.
    """
    data = numpy_helper.from_array(np.arange(size, dtype=np.float32), "data")
    return _model(
        [helper.make_node("Reshape", ["data", "shape"], ["y"], allowzero=1)],
        [_value_info("shape", TensorProto.INT64, [1])],
        [_value_info("y", TensorProto.FLOAT, [None])],
        name="scalar_gate",
        initializers=[data],
    )


def unknown_op_model() -> onnx.ModelProto:
    """A node whose operator exists in no opset: onnxruntime refuses to load it."""
    return _model(
        [helper.make_node("NoSuchOperator", ["x"], ["y"])],
        [_value_info("x", TensorProto.FLOAT, [1])],
        [_value_info("y", TensorProto.FLOAT, [1])],
        name="unknown_op",
    )


def custom_domain_model() -> onnx.ModelProto:
    """A node from a custom domain no library registers."""
    return _model(
        [helper.make_node("Frobnicate", ["x"], ["y"], domain="com.example")],
        [_value_info("x", TensorProto.FLOAT, [1])],
        [_value_info("y", TensorProto.FLOAT, [1])],
        name="custom_domain",
        extra_opsets=[("com.example", 1)],
    )


def new_opset_model(opset: int = 99) -> onnx.ModelProto:
    """An identity model stamped with an opset no onnxruntime release supports."""
    return _model(
        [helper.make_node("Identity", ["x"], ["y"])],
        [_value_info("x", TensorProto.FLOAT, [1])],
        [_value_info("y", TensorProto.FLOAT, [1])],
        name="new_opset",
        opset=opset,
    )


def sample_rate_model() -> onnx.ModelProto:
    """``y = audio + checks``: int64 scalar ``sample_rate`` must be 8000 or 16000.

    ``audio`` is float[1, samples]. Two Gathers check the rate when the model runs:
    ``sample_rate - 12000`` must index a table of 4001 entries (so 8000 to 16000) and
    ``sample_rate % 8000`` one of 1 entry (so a multiple of 8000). Generated values (0 or 1)
    fail, with an error that names the Gather, not the input.
    """
    initializers = [
        numpy_helper.from_array(np.zeros(4001, dtype=np.float32), "range_table"),
        numpy_helper.from_array(np.zeros(1, dtype=np.float32), "step_table"),
        numpy_helper.from_array(np.array(12000, dtype=np.int64), "middle"),
        numpy_helper.from_array(np.array(8000, dtype=np.int64), "step"),
    ]
    nodes = [
        helper.make_node("Sub", ["sample_rate", "middle"], ["offset"]),
        helper.make_node("Gather", ["range_table", "offset"], ["in_range"]),
        helper.make_node("Mod", ["sample_rate", "step"], ["remainder"]),
        helper.make_node("Gather", ["step_table", "remainder"], ["on_step"]),
        helper.make_node("Add", ["audio", "in_range"], ["partial"]),
        helper.make_node("Add", ["partial", "on_step"], ["y"]),
    ]
    return _model(
        nodes,
        [
            _value_info("audio", TensorProto.FLOAT, [1, "samples"]),
            _value_info("sample_rate", TensorProto.INT64, []),
        ],
        [_value_info("y", TensorProto.FLOAT, [1, "samples"])],
        name="sample_rate",
        initializers=initializers,
    )


def misfit_reshape_model() -> onnx.ModelProto:
    """Takes ``x`` float[1, 192], as ``matmul_chain_model`` does, and raises when run: it
    reshapes ``x`` to [5, 7] (35 values, not 192)."""
    shape = numpy_helper.from_array(np.array([5, 7], dtype=np.int64), "shape")
    return _model(
        [helper.make_node("Reshape", ["x", "shape"], ["y"])],
        [_value_info("x", TensorProto.FLOAT, [1, 192])],
        [_value_info("y", TensorProto.FLOAT, [5, 7])],
        name="misfit_reshape",
        initializers=[shape],
    )


def batch_of_eight_model() -> onnx.ModelProto:
    """Takes ``x`` float[batch, 16] and raises when run unless ``batch`` is a multiple of
    8: it reshapes ``x`` to [-1, 128]."""
    shape = numpy_helper.from_array(np.array([-1, 128], dtype=np.int64), "shape")
    return _model(
        [helper.make_node("Reshape", ["x", "shape"], ["y"])],
        [_value_info("x", TensorProto.FLOAT, ["batch", 16])],
        [_value_info("y", TensorProto.FLOAT, ["rows", 128])],
        name="batch_of_eight",
        initializers=[shape],
    )


def no_kernel_model() -> onnx.ModelProto:
    """A valid model whose operator has no CPU kernel for its type (Relu on int64)."""
    return _model(
        [helper.make_node("Relu", ["x"], ["y"])],
        [_value_info("x", TensorProto.INT64, [2])],
        [_value_info("y", TensorProto.INT64, [2])],
        name="no_kernel",
    )


def new_ir_model(ir_version: int = 99) -> onnx.ModelProto:
    """An identity model stamped with an IR version no onnxruntime release reads."""
    model = identity_model(name="new_ir")
    model.ir_version = ir_version
    return model


def save_with_external_data(
    model: onnx.ModelProto, path: Path, location: str = "weights.bin"
) -> Path:
    """Write ``model`` to ``path`` with every tensor in the external file ``location``."""
    onnx.save_model(
        model,
        str(path),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=location,
        size_threshold=0,
    )
    return path


def save_test_data(
    folder: Path, arrays: Sequence[tuple[str | None, np.ndarray]], *, start: int = 0
) -> Path:
    """Write ``input_<n>.pb`` TensorProto files, as in onnx's test data; ``None``: no name."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, (name, array) in enumerate(arrays, start):
        tensor = numpy_helper.from_array(array, name or "")
        onnx.save_tensor(tensor, str(folder / f"input_{index}.pb"))
    return folder


def model_bytes(model: onnx.ModelProto) -> bytes:
    """The serialized model, as a file on disk would hold it."""
    data: bytes = model.SerializeToString()
    return data


def save(model: onnx.ModelProto, path: Path) -> Path:
    """Write ``model`` to ``path`` and return the path."""
    onnx.save(model, str(path))
    return path


def cpu_session(model: onnx.ModelProto, **kwargs: Any) -> Any:
    return onnxruntime.InferenceSession(
        model_bytes(model), providers=["CPUExecutionProvider"], **kwargs
    )


def run_once(prepared: PreparedModel) -> list[Any]:
    """Run the prepared call once; session.run returns a list of arrays."""
    outputs = prepared.call()
    assert isinstance(outputs, list)
    return outputs
