"""The usual optimizations of a model, as variants the advisor can time.

Session-option variants (graph optimization levels, intra-op thread counts) are made
here from the session options the test gave; the int8 variant is made by
:func:`quantize_int8`, which the runner calls in a separate process (a quantizer that
crashes must not take the test run with it).
"""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = [
    "iobinding_call",
    "model_bytes",
    "nothing_quantized",
    "option_variants",
    "quantize_int8",
]

#: onnxruntime's graph optimization levels, by the names the advice gives them.
_LEVELS = (
    ("graph: basic", "ORT_ENABLE_BASIC"),
    ("graph: extended", "ORT_ENABLE_EXTENDED"),
    ("graph: all", "ORT_ENABLE_ALL"),
)


def _copy(ort: Any, options: Any) -> Any:
    """A new SessionOptions with the latency-relevant settings of ``options``."""
    from .options import to_fields

    if options is None:
        return ort.SessionOptions()
    return to_fields(options).build()


def option_variants(options: Any, cores: int | None = None) -> list[tuple[str, Any]]:
    """(name, SessionOptions) for each session-option variant that differs from
    ``options`` (None: onnxruntime's defaults): the graph optimization levels, and
    intra-op threads 1 and the number of cores."""
    import onnxruntime as ort

    current = _copy(ort, options)
    found: list[tuple[str, Any]] = []
    for name, level in _LEVELS:
        value = getattr(ort.GraphOptimizationLevel, level)
        if current.graph_optimization_level == value:
            continue
        changed = _copy(ort, options)
        changed.graph_optimization_level = value
        found.append((name, changed))
    cores = cores or os.cpu_count() or 1
    for threads in sorted({1, cores}):
        if current.intra_op_num_threads == threads:
            continue
        changed = _copy(ort, options)
        changed.intra_op_num_threads = threads
        found.append((f"threads={threads}", changed))
    return found


def model_bytes(source: bytes | str) -> bytes:
    """The model's bytes, from a path or the bytes themselves."""
    if isinstance(source, bytes):
        return source
    with open(source, "rb") as handle:
        return handle.read()


def quantize_int8(source: bytes | str) -> bytes:
    """The model (its path, or bytes) with int8 weights by
    ``onnxruntime.quantization.quantize_dynamic`` (weights int8, activations quantized at
    run time). Needs the onnx package."""
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:
        raise RuntimeError(
            f"onnxruntime.quantization cannot be imported ({exc}); it needs the onnx "
            "package: pip install onnx"
        ) from None
    with tempfile.TemporaryDirectory(prefix="sla-int8-") as folder:
        target = os.path.join(folder, "model.int8.onnx")
        if isinstance(source, bytes):
            path = os.path.join(folder, "model.onnx")
            with open(path, "wb") as handle:
                handle.write(source)
            source = path
        if not _quantizable(source):
            # Nothing for it to quantize (a tree ensemble): it would return the model as it
            # is, or raise on a model with no ai.onnx opset (onnxmltools' XGBoost).
            return model_bytes(source)
        import logging

        # Its advice to pre-process first goes to the root logger, into the test's output.
        logging.getLogger().setLevel(logging.ERROR)  # this is the quantizer's own process
        quantize_dynamic(source, target, weight_type=QuantType.QInt8)
        with open(target, "rb") as handle:
            return handle.read()


#: Operators whose weights ``quantize_dynamic`` quantizes (onnxruntime's registries for
#: it, and Gemm, which it makes a MatMul first).
QUANTIZED_OPS = frozenset(
    {"Conv", "MatMul", "Gemm", "Attention", "LSTM", "Gather", "Transpose"}
    | {"EmbedLayerNormalization"}
)


def _quantizable(path: str) -> bool:
    """Whether the model has an operator ``quantize_dynamic`` quantizes (True when it
    cannot be read here: the quantizer says then)."""
    try:
        import onnx

        graph = onnx.load(path, load_external_data=False).graph
    except Exception:
        return True
    return bool(QUANTIZED_OPS.intersection(_op_types(graph)))


#: Operators through which ``quantize_dynamic`` computes in int8: a model it made with
#: none of them is the original (its operators have no int8 form, as a tree ensemble's).
INT8_OPS = frozenset(
    {
        "DynamicQuantizeLinear",
        "QuantizeLinear",
        "DequantizeLinear",
        "MatMulInteger",
        "ConvInteger",
        "DynamicQuantizeMatMul",
        "DynamicQuantizeLSTM",
        "QAttention",
        "QGemm",
        "QLinearMatMul",
        "QLinearConv",
        "QEmbedLayerNormalization",
    }
)


def nothing_quantized(quantized: bytes) -> str | None:
    """Why the int8 model is no variant at all, when ``quantize_dynamic`` left every
    operator as it was (it quantizes only operators with constant weights); None when it
    quantized something, or the model cannot be read here (the timing says then)."""
    try:
        import onnx

        graph = onnx.load_from_string(quantized).graph
    except Exception:
        return None
    ops = sorted(_op_types(graph))
    if not ops or INT8_OPS.intersection(ops):
        return None
    return (
        "quantize_dynamic found nothing to quantize: it quantizes the constant weights of "
        "MatMul, Conv, Gather, Attention and LSTM operators, and this model has none "
        f"(its operators: {', '.join(ops)})"
    )


def _op_types(graph: Any) -> set[str]:
    """The operator types of a graph and of the subgraphs in its nodes (If, Loop, Scan)."""
    found: set[str] = set()
    for node in graph.node:
        found.add(node.op_type)
        for attribute in node.attribute:
            for sub in [attribute.g, *attribute.graphs]:
                if sub is not None and len(sub.node):
                    found |= _op_types(sub)
    return found


def iobinding_call(session: Any, feeds: Mapping[str, Any]) -> Callable[[], object]:
    """The IO-binding call path: inputs bound once, outputs bound to the session's
    device, ``session.run_with_iobinding``, and the outputs copied back as
    ``session.run()`` returns them. On a CUDA session the inputs are copied to its GPU
    once, as a pipeline that keeps its data there has them: ``session.run()`` copies them
    from host memory on every call. Raises ``OnnxInputError`` where it does not apply (an
    input type onnxruntime cannot bind)."""
    from .errors import OnnxInputError, _error_detail

    try:
        device = _device_of(session)
        binding = session.io_binding()
        for name, value in feeds.items():
            on_device = _on_device(value, device)  # (None: kept in host memory)
            if on_device is None:
                binding.bind_cpu_input(name, value)
            else:
                binding.bind_ortvalue_input(name, on_device)
        for output in session.get_outputs():
            if device is None or not _numeric_tensor(output.type):
                binding.bind_output(output.name)  # (strings, a ZipMap's maps: host memory)
            else:
                binding.bind_output(output.name, *device)
        session.run_with_iobinding(binding)  # once: a path that cannot run is a row now
        binding.copy_outputs_to_cpu()
    except Exception as exc:
        detail = _error_detail(exc)
        raise OnnxInputError(f"the IO-binding path does not apply here ({detail})") from None

    def call() -> None:
        session.run_with_iobinding(binding)
        # The outputs as session.run() gives them: a caller needs them, and converting
        # them (a ZipMap's dicts) can cost more than the call itself.
        binding.copy_outputs_to_cpu()

    return call


def _device_of(session: Any) -> tuple[str, int] | None:
    """``("cuda", device_id)`` for a session that runs on CUDA, else None (host memory)."""
    if session.get_providers()[:1] != ["CUDAExecutionProvider"]:
        return None
    options = session.get_provider_options().get("CUDAExecutionProvider", {})
    return ("cuda", int(options.get("device_id", 0)))


def _on_device(value: Any, device: tuple[str, int] | None) -> Any:
    """``value`` copied once to ``device``, as an ``OrtValue``; None where it stays in
    host memory (no device, or not a numeric array: strings cannot go to a GPU)."""
    import numpy as np
    import onnxruntime as ort

    numeric = isinstance(value, np.ndarray) and value.dtype.kind in "biuf"
    return ort.OrtValue.ortvalue_from_numpy(value, *device) if device and numeric else None


def _numeric_tensor(kind: str) -> bool:
    """Whether an output's type (``tensor(float)``, ``seq(map(...))``) can live on a GPU."""
    return kind.startswith("tensor(") and kind != "tensor(string)"
