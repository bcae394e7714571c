"""Feeds: given ones checked against the inputs, the others generated.

Given feeds (a dict, or a folder of ``input_<n>.pb`` files or a ``.npz`` file, read by
:mod:`.feed_files`) are checked before anything runs: dtype, shape, and conversion only
where it is lossless. Every input not given gets a value from a seeded generator
(:func:`random_feeds`).
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from ..fmt import given
from .errors import OnnxInputError, _error_detail
from .feed_files import _Feed, _feeds_from_path, _names
from .signature import (
    _DTYPES,
    _STRING,
    _is_ort_value,
    _numpy_name,
    _signature,
    _type_label,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import numpy.typing as npt


#: Seed of the generator for feeds: the same model always gets the same inputs.
FEED_SEED = 20_260_101


def _shape(name: str, shape: Sequence[object], dims: Mapping[str, int]) -> tuple[int, ...]:
    out = []
    for axis, dim in enumerate(shape):
        if isinstance(dim, int) and dim >= 0:
            out.append(dim)
        elif isinstance(dim, str) and dim in dims:
            out.append(dims[dim])
        else:
            # A symbolic dimension not named in dims, or an unnamed one not given as
            # "input[axis]": 1 (batch 1).
            out.append(dims.get(f"{name}[{axis}]", 1))
    return tuple(out)


def random_feeds(
    inputs: Sequence[Any],
    feeds: Mapping[str, Any],
    dims: Mapping[str, int],
    seed: int = FEED_SEED,
) -> dict[str, Any]:
    """Inputs for every model input not in ``feeds``, from a seeded generator.

    Floats are uniform in [0, 1), integers 0 or 1 (safe as indices), booleans random.
    """
    rng = np.random.default_rng(seed)
    # Every input that needs a value, named at once (not one per run of the test).
    needed = [n for n in inputs if n.name not in feeds and str(n.type) not in _DTYPES]
    if needed:
        names = " and ".join(
            ", ".join(f"{n.name!r} of type {n.type}" for n in needed).rsplit(", ", 1)
        )
        example = ", ".join(f"{n.name!r}: <value>" for n in needed)
        raise OnnxInputError(
            f"cannot generate a value for input{'s' if len(needed) > 1 else ''} {names}; "
            f"pass {'them' if len(needed) > 1 else 'it'} in feeds, e.g. feeds={{{example}}}"
        )
    # In the model's input order, so reports list inputs the way the model declares them.
    out: dict[str, Any] = {}
    for node in inputs:
        if node.name in feeds:
            out[node.name] = feeds[node.name]
            continue
        dtype = _DTYPES[str(node.type)]
        shape = _shape(node.name, node.shape or [], dims)
        value: npt.NDArray[Any]
        try:
            if dtype is np.bool_:
                # An array at rank 0 too: there the comparison gives a numpy.bool scalar,
                # which onnxruntime refuses.
                value = np.asarray(rng.random(shape) < 0.5, dtype=np.bool_)
            elif np.issubdtype(dtype, np.floating):
                value = rng.random(shape, dtype=np.float64).astype(dtype)
            else:
                value = rng.integers(0, 2, size=shape).astype(dtype)
        except (MemoryError, ValueError) as exc:
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if isinstance(exc, MemoryError):
                # numpy names the float64 it draws from, not the input's own type.
                size = math.prod(shape) * np.dtype(dtype).itemsize
                detail = f"{np.dtype(dtype).name}: {_bytes(size)}, more than this machine gives"
            raise OnnxInputError(
                f"input {node.name!r} of shape {list(shape)} cannot be made here ({detail}); "
                "give smaller sizes"
            ) from None
        out[node.name] = value
    out.update((k, v) for k, v in feeds.items() if k not in out)
    return out


def _check_feeds(
    inputs: Sequence[Any],
    feeds: Mapping[str, Any] | str | os.PathLike[str] | None,
    model_path: str | None = None,
) -> dict[str, Any]:
    """The given feeds, checked against the model's inputs and converted where unambiguous."""
    if feeds is None:
        return {}
    known = [node.name for node in inputs]
    entries: list[_Feed] = []
    from_file = isinstance(feeds, (str, os.PathLike))
    if isinstance(feeds, (str, os.PathLike)):
        entries = _feeds_from_path(os.fsdecode(feeds), known, model_path)
    elif hasattr(feeds, "items"):
        for key, value in feeds.items():
            if key not in known:
                raise OnnxInputError(
                    f"feeds names {key!r}, which is not an input of the model; its inputs are "
                    f"{_names(known)}"
                )
            entries.append((key, value, f"feeds[{key!r}]"))
    else:
        raise OnnxInputError(
            f"feeds must be a dict of input name -> array, or the path of a folder of "
            f"input_<n>.pb files or of a .npz file, got {type(feeds).__name__}"
        )
    nodes = {node.name: node for node in inputs}
    return {
        name: _check_value(nodes[name], value, label, from_file) for name, value, label in entries
    }


def _check_value(node: Any, value: Any, label: str, from_file: bool) -> Any:
    """``value`` for ``node``: as given when it fits, converted when that is unambiguous.

    Checked before the first run so that the message can say exactly what differs; types
    numpy has no name for (bfloat16, float8, sequences, maps, optionals) are left to
    onnxruntime.
    """
    type_name = str(node.type)
    expected = _DTYPES.get(type_name)
    if expected is None and type_name != _STRING:
        return value
    takes = f"the model's input {node.name!r} takes {_signature(node)}"
    if _is_ort_value(value):
        got = str(value.data_type())
        if got != type_name:
            raise OnnxInputError(
                f"{label} is an OrtValue of {got}, but {takes} ({type_name}); create the "
                f"OrtValue from an array of {_type_label(type_name)}"
            )
        _check_shape(node, tuple(value.shape()), label, takes)
        return value
    if not isinstance(value, np.generic) and isinstance(
        value, (list, tuple, int, float, bool, str, bytes)
    ):
        array = _from_python(value, label, takes, expected)
    elif isinstance(value, np.ndarray):
        array = value
    else:
        try:
            array = np.asarray(value)
        except Exception as exc:
            raise OnnxInputError(
                f"{label} is a {type(value).__name__}, which numpy cannot turn into an array "
                f"({_error_detail(exc)}), but {takes}; pass a numpy array"
            ) from exc
        if array.dtype == object and array.ndim == 0:
            what = "None" if value is None else f"a {type(value).__name__}"
            raise OnnxInputError(
                f"{label} is {what}, not an array, but {takes}; pass a numpy array"
            )
    _check_dtype(node, array, label, takes, from_file)
    _check_shape(node, tuple(array.shape), label, takes)
    return array


def _from_python(value: Any, label: str, takes: str, expected: Any) -> Any:
    """Lists, tuples and Python scalars as an array of the input's type, when lossless."""
    kind_of = type(value).__name__
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise OnnxInputError(
            f"{label} is a {kind_of} that numpy cannot turn into an array "
            f"({_error_detail(exc)}: nested lists of different lengths?), but {takes}; pass "
            "a numpy array"
        ) from exc
    if expected is None:  # a string input: str values become an object array of str
        # An empty list has no values to say their type: numpy calls it float64.
        empty = array.size == 0 and array.dtype.kind == "f"
        return array.astype(object) if array.dtype.kind == "U" or empty else array
    target = np.dtype(expected)
    kind = array.dtype.kind
    if kind in "fO" and target.kind in "iu" and isinstance(value, (list, tuple)):
        # Python ints past int64 (2**63 for a uint64 input) make numpy choose float64.
        exact = np.asarray(value, dtype=object)
        if exact.size and all(type(v) is int for v in exact.flat):
            info = np.iinfo(target)
            if all(info.min <= v <= info.max for v in exact.flat):
                return np.array(value, dtype=target)
            raise OnnxInputError(
                f"{label} holds whole numbers out of {target.name}'s range ({info.min} to "
                f"{info.max}), but {takes}; pass values that fit"
            )
    lossless = (
        array.size == 0
        or kind == "b"
        or (kind in "iu" and target.kind in "iuf")
        or (kind == "f" and target.kind == "f")
    )
    if lossless:
        with np.errstate(over="ignore", invalid="ignore"):
            converted = array.astype(target)
        if kind in "iu" and target.kind in "iu" and not np.array_equal(converted, array):
            lossless = False
        # Too large for the type (1e10 as float16): it would become inf.
        if target.kind == "f" and not np.all(np.isfinite(converted) | ~np.isfinite(array)):
            largest = float(np.finfo(target).max)
            raise OnnxInputError(
                f"{label} holds values too large for {target.name} (at most {largest:g}), which "
                f"would become inf, but {takes}; pass values that fit"
            )
    if not lossless:
        what = (
            f"a {kind_of} of {array.dtype} values, which do"
            if isinstance(value, (list, tuple))
            else f"the {kind_of} {given(value)}, which does"
        )
        raise OnnxInputError(
            f"{label} is {what} not convert to "
            f"{target.name} without loss, but {takes}; pass "
            f"np.asarray(value, dtype={_numpy_name(target)}) if that is what you mean, or "
            "values of that type"
        )
    return converted


def _check_dtype(node: Any, array: Any, label: str, takes: str, from_file: bool) -> None:
    type_name = str(node.type)
    expected = _DTYPES.get(type_name)
    if expected is not None:
        if array.dtype != np.dtype(expected):
            again = " and save it again" if from_file else ""
            raise OnnxInputError(
                f"{label} is {array.dtype}, but {takes} ({type_name}); convert it with "
                f".astype({_numpy_name(expected)}){again}"
            )
        return
    # A string input: numpy str arrays, or object arrays of str.
    kind = array.dtype.kind
    fix = "pass str values, e.g. np.array(['text'], dtype=object)"
    if kind == "S" or (kind == "O" and any(isinstance(v, bytes) for v in array.flat)):
        raise OnnxInputError(
            f"{label} holds bytes, but {takes} (str; onnxruntime would misread bytes); "
            f"decode them to str first: np.char.decode(value, 'utf-8'), or {fix}"
        )
    if kind == "O":
        other = next((v for v in array.flat if not isinstance(v, str)), None)
        if other is not None:
            raise OnnxInputError(
                f"{label} holds {given(other)} ({type(other).__name__}), not only str values, but "
                f"{takes}; {fix}"
            )
    elif kind != "U":
        raise OnnxInputError(f"{label} is {array.dtype}, but {takes}; {fix}")


def _check_shape(node: Any, shape: tuple[int, ...], label: str, takes: str) -> None:
    declared = list(node.shape or [])
    if not declared:
        # A scalar, or a shape the model does not declare: onnxruntime's NodeArg reports
        # both as [], so only a run can tell.
        return
    if len(shape) != len(declared):
        hint = ""
        size = int(np.prod(shape))
        if all(isinstance(d, int) and d >= 0 for d in declared) and size == np.prod(declared):
            hint = f", e.g. np.reshape(value, {tuple(declared)})"
        elif len(shape) + 1 == len(declared) and all(
            not (isinstance(d, int) and d >= 0) or d == s
            for d, s in zip(declared[1:], shape, strict=True)
        ):
            hint = ", e.g. value[np.newaxis] to add the missing leading (batch) dimension"
        elif len(shape) == len(declared) + 1 and shape[0] == 1:
            hint = ", e.g. value[0] to drop the extra leading dimension"
        raise OnnxInputError(
            f"{label} has shape {shape} ({len(shape)} dimension"
            f"{'' if len(shape) == 1 else 's'}), but {takes} ({len(declared)} dimension"
            f"{'' if len(declared) == 1 else 's'}); pass an array of that rank{hint}"
        )
    for axis, (want, got) in enumerate(zip(declared, shape, strict=True)):
        if isinstance(want, int) and want >= 0 and want != got:
            fixed = tuple(
                w if isinstance(w, int) and w >= 0 else g
                for w, g in zip(declared, shape, strict=True)
            )
            raise OnnxInputError(
                f"{label} has shape {shape}, but {takes}: dimension {axis} is fixed at {want}, "
                f"not {got}; pass an array of shape {fixed}"
            )


def _bytes(size: float) -> str:
    """``1.86 TiB``: a size in bytes, binary units."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.3g} {unit}"
        size /= 1024
    return f"{size:.3g} PiB"  # pragma: no cover - never reached
