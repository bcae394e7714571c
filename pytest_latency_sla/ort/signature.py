"""A model's input signature: ONNX element types, symbolic dimensions and dims=, feed shapes.

The type table (:data:`_DTYPES`) says which inputs numpy can hold; the rest of this module
describes inputs and feeds the way messages and reports write them (``float32[batch,6]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import OnnxInputError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

#: A dimension "name" some exporters (paddle2onnx) give every unknown size: no name that
#: ties two axes together, so each such axis is unnamed (``x[2]``) to dims=.
UNKNOWN_DIM = "?"


@dataclass(frozen=True)
class InputArg:
    """An input as ``session.get_inputs()`` gives it, with every :data:`UNKNOWN_DIM`
    unnamed (None)."""

    name: str
    type: str
    shape: list[Any] | None


def declared_inputs(session: Any) -> list[Any]:
    """The session's inputs, with :data:`UNKNOWN_DIM` dimensions unnamed; as they are
    when none has one."""
    nodes = list(session.get_inputs())
    if not any(UNKNOWN_DIM in (node.shape or []) for node in nodes):
        return nodes
    return [
        InputArg(
            node.name,
            node.type,
            None
            if node.shape is None
            else [None if dim == UNKNOWN_DIM else dim for dim in node.shape],
        )
        for node in nodes
    ]


#: ONNX tensor element types that feeds can be generated for.
_DTYPES: dict[str, Any] = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
    "tensor(int8)": np.int8,
    "tensor(int16)": np.int16,
    "tensor(int32)": np.int32,
    "tensor(int64)": np.int64,
    "tensor(uint8)": np.uint8,
    "tensor(uint16)": np.uint16,
    "tensor(uint32)": np.uint32,
    "tensor(uint64)": np.uint64,
    "tensor(bool)": np.bool_,
}


#: The tensor type of string inputs; numpy holds them as str (or object arrays of str).
_STRING = "tensor(string)"


def _numpy_name(dtype: Any) -> str:
    """How to write a numpy dtype in code: np.float32, np.bool_."""
    name = np.dtype(dtype).name
    return "np.bool_" if name == "bool" else f"np.{name}"


def _type_label(type_name: str) -> str:
    """An input's element type as numpy names it (float32), string, or onnxruntime's text."""
    dtype = _DTYPES.get(type_name)
    if dtype is not None:
        return str(np.dtype(dtype).name)
    return "string" if type_name == _STRING else type_name


def _signature(node: Any) -> str:
    """An input's declared type and shape, e.g. float32[batch,6]."""
    dims = ",".join("?" if dim is None or dim == "" else str(dim) for dim in node.shape or [])
    return f"{_type_label(str(node.type))}[{dims}]"


def _is_ort_value(value: object) -> bool:
    return callable(getattr(value, "data_type", None)) and callable(getattr(value, "shape", None))


def _value_shape(value: object) -> tuple[int, ...] | None:
    """The shape of an array or OrtValue; None for anything else."""
    if isinstance(value, np.ndarray):
        return tuple(value.shape)
    if _is_ort_value(value):
        return tuple(value.shape())  # type: ignore[attr-defined]
    return None


def _given_sizes(inputs: Sequence[Any], given: Mapping[str, Any]) -> dict[str, int]:
    """Sizes of symbolic dimensions as the given feeds have them (the first one wins).

    Generated inputs follow them, so a model fed real token ids gets a mask of the same
    length, not of length 1.
    """
    sizes: dict[str, int] = {}
    for node in inputs:
        shape = _value_shape(given[node.name]) if node.name in given else None
        declared = node.shape or []
        if shape is None or len(shape) != len(declared):
            continue
        for dim, size in zip(declared, shape, strict=True):
            if isinstance(dim, str) and dim and dim not in sizes:
                sizes[dim] = int(size)
    return sizes


def axis_key(input_name: str, axis: int) -> str:
    """How ``dims=`` names a dimension the model leaves unnamed: ``"x[1]"``, axis 1 of
    input ``x`` (a symbolic dimension is named by its own name)."""
    return f"{input_name}[{axis}]"


def own_dims(inputs: Sequence[Any], dims: Mapping[str, int]) -> tuple[dict[str, int], list[str]]:
    """Of a ``dims=`` shared by several models (``sla.compare()``: exporters name inputs
    differently), the entries this model has (a symbolic dimension of its inputs, or an
    axis ``input[n]`` of an input it has), and the keys it has not."""
    names = {node.name for node in inputs}
    named = {d for node in inputs for d in (node.shape or []) if isinstance(d, str) and d}
    ours: dict[str, int] = {}
    others: list[str] = []
    for key, size in dims.items():
        text = str(key)
        input_name, bracket, rest = text.rpartition("[")
        if key in named or (bracket and rest.endswith("]") and input_name in names):
            ours[key] = size
        else:
            others.append(text)
    return ours, others


def unnamed_axes(node: Any) -> list[tuple[int, str]]:
    """(axis, key) of each dimension of an input that is neither a size nor a name."""
    return [
        (axis, axis_key(node.name, axis))
        for axis, dim in enumerate(node.shape or [])
        if not (isinstance(dim, int) and dim >= 0) and not (isinstance(dim, str) and dim)
    ]


def shared_batch(
    inputs: Sequence[Any], given: Mapping[str, Any], sizes: Mapping[str, int]
) -> dict[str, int]:
    """Sizes for the unnamed leading axes (``x[0]``) of generated inputs that no size was
    given for, when another input's was given one (all alike): the inputs of one request
    share their batch. skl2onnx leaves every input's batch axis unnamed, and
    ``dims={"a[0]": 8}`` (or ``sweep=``) with ``b[0]`` left at 1 fails in the model."""
    leading = [
        key for node in inputs if node.name not in given for axis, key in unnamed_axes(node)
        if axis == 0
    ]  # fmt: skip
    chosen = {sizes[key] for key in leading if key in sizes}
    if len(chosen) != 1:
        return {}
    (size,) = chosen
    return {key: size for key in leading if key not in sizes}


def _named_axis(inputs: Sequence[Any], key: object) -> str | None:
    """For a ``dims`` key ``input[axis]`` whose axis has a name or a fixed size, what it
    is instead (e.g. "axis 1 of 'x', which is named 'seq': write dims={'seq': <size>}")."""
    for node in inputs:
        for axis, dim in enumerate(node.shape or []):
            if key != axis_key(node.name, axis):
                continue
            if isinstance(dim, str) and dim:
                where = f"axis {axis} of {node.name!r}, which is named {dim!r}"
                return f"{where}: write dims={{{dim!r}: <size>}}"
            if isinstance(dim, int) and dim >= 0:
                return f"axis {axis} of {node.name!r}, which is fixed at {dim} by the model"
    return None


def _check_dims(inputs: Sequence[Any], dims: Mapping[str, int] | None) -> dict[str, int]:
    if dims is None:
        return {}
    if not hasattr(dims, "items"):
        raise OnnxInputError(
            f'dims must be a dict of dimension name -> size, e.g. dims={{"batch": 1}}, '
            f"got {type(dims).__name__}"
        )
    unnamed = [key for node in inputs for _, key in unnamed_axes(node)]
    named = sorted({d for node in inputs for d in (node.shape or []) if isinstance(d, str) and d})
    for key, size in dims.items():
        axis = _named_axis(inputs, key)
        if axis is not None:
            raise OnnxInputError(f"dims names {key!r}, {axis}")
        if key not in named and key not in unnamed:
            have = ", ".join(repr(s) for s in named) or "none"
            if unnamed:
                have += f"; without a name, as input[axis]: {', '.join(map(repr, unnamed))}"
            elif not named:
                have = "none: every dimension is fixed"
            import difflib

            close = difflib.get_close_matches(str(key), [*named, *unnamed], n=1, cutoff=0.6)
            meant = f"; did you mean {close[0]!r}?" if close else ""
            raise OnnxInputError(
                f"dims names {key!r}, which is no symbolic dimension of the model's inputs "
                f"(its symbolic dimensions: {have}){meant}"
            )
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise OnnxInputError(f"dims[{key!r}] must be a positive whole number, got {size!r}")
    return {k: int(v) for k, v in dims.items()}


def _check_dims_fed(
    inputs: Sequence[Any], given: Mapping[str, Any], dims: Mapping[str, int]
) -> None:
    """``dims`` sizes the inputs the adapter makes up: an entry for a dimension that only
    ``feeds`` inputs have would be ignored (the model timed at the feed's size, not the
    one asked for), so it is an error that names the feed."""
    for key in dims:
        users = [
            (node.name, axis)
            for node in inputs
            for axis, dim in enumerate(node.shape or [])
            if dim == key or axis_key(node.name, axis) == key
        ]
        if not users or not all(name in given for name, _ in users):
            continue
        name, axis = users[0]
        shape = _value_shape(given[name])
        has = f", {shape[axis]} in the feed" if shape and axis < len(shape) else ""
        raise OnnxInputError(
            f"dims names {key!r}, which only inputs given in feeds= have (axis {axis} of "
            f"{name!r}{has}): dims= sizes the inputs made up for you, so it would be "
            f"ignored; give {name!r} of the size you want in feeds=, or leave it out of "
            "feeds= to have it made"
        )


def _input_signature(feeds: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    out = []
    for name, value in feeds.items():
        if _is_ort_value(value):
            dtype: object = _type_label(str(value.data_type()))
            shape: Any = value.shape()
        else:
            dtype = getattr(value, "dtype", type(value).__name__)
            shape = getattr(value, "shape", ())
        out.append((name, f"{dtype}[{','.join(str(s) for s in shape)}]"))
    return tuple(out)
