"""Feeds: read from an ONNX test-data folder or a .npz, checked against the inputs, generated.

Given feeds (a dict, a folder of ``input_<n>.pb`` files or a ``.npz`` file) are checked
before anything runs: dtype, shape, and conversion only where it is lossless. Every input not
given gets a value from a seeded generator (:func:`random_feeds`).
"""

from __future__ import annotations

import math
import os
import re
import zipfile
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import OnnxInputError, _error_detail
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


def _display_path(path: str) -> str:
    """The path relative to the current directory when it is below it, else as given."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    return path if relative.startswith(os.pardir) else relative


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
                value = rng.random(shape) < 0.5
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


#: A feed: the input it is for, its value, and how to name it in a message.
_Feed = tuple[str, Any, str]

#: Files of the ONNX test-data layout that hold inputs: input_0.pb, input_1.pb, ...
_PB_INPUT = re.compile(r"input_(\d+)\.pb")

#: Keys np.savez gives arrays passed by position.
_NPZ_POSITIONAL = re.compile(r"arr_(\d+)")

#: How a feeds path should look, for messages.
_FEEDS_PATH_FIX = (
    "pass a folder of input_0.pb, input_1.pb, ... TensorProto files (the ONNX test-data "
    "layout) or a .npz file written with np.savez(path, input_name=array, ...)"
)


def _names(known: Sequence[str]) -> str:
    return ", ".join(repr(k) for k in known) or "none"


def _feeds_from_path(path: str, known: Sequence[str], model_path: str | None) -> list[_Feed]:
    """Feeds read from a folder of input_<n>.pb files or from a .npz file."""
    if not os.path.exists(path):
        fix = _FEEDS_PATH_FIX
        if model_path is not None and not os.path.isabs(path):
            beside = os.path.join(os.path.dirname(model_path), path)
            if os.path.exists(beside):
                fix = f"there is {_display_path(beside)!r} beside the model: pass that path"
        raise OnnxInputError(
            f"feeds path {path!r} does not exist (relative paths are taken from the current "
            f"directory, {os.getcwd()!r}); {fix}"
        )
    if os.path.isdir(path):
        return _feeds_from_pb_folder(path, known)
    if path.lower().endswith(".npz") or zipfile.is_zipfile(path):
        return _feeds_from_npz(path, known)
    raise OnnxInputError(
        f"feeds path {path!r} is neither a folder of input_<n>.pb files nor a .npz file; "
        f"{_FEEDS_PATH_FIX}"
    )


def _feeds_from_pb_folder(path: str, known: Sequence[str]) -> list[_Feed]:
    """Feeds from TensorProto files input_0.pb, input_1.pb, ... (needs the onnx package)."""
    shown = _display_path(path)
    entries = os.listdir(path)
    numbered = sorted(
        (int(match.group(1)), entry)
        for entry in entries
        if (match := _PB_INPUT.fullmatch(entry)) is not None
    )
    if not numbered:
        sets = sorted(
            e
            for e in entries
            if e.startswith("test_data_set_") and os.path.isdir(os.path.join(path, e))
        )
        hint = (
            f"; it holds {', '.join(sets)}: pass one of them, e.g. "
            f"feeds={os.path.join(shown, sets[0])!r}"
            if sets
            else f"; {_FEEDS_PATH_FIX}"
        )
        raise OnnxInputError(f"feeds folder {shown!r} holds no input_0.pb file{hint}")
    indices = [index for index, _ in numbered]
    gap = next((i for i, index in enumerate(indices) if index != i), None)
    if gap is not None:
        raise OnnxInputError(
            f"feeds folder {shown!r} holds {', '.join(e for _, e in numbered)} but no "
            f"input_{gap}.pb; the files are numbered from 0, without gaps, in the order of "
            "the model's inputs"
        )
    if len(numbered) > len(known):
        raise OnnxInputError(
            f"feeds folder {shown!r} holds {len(numbered)} input files, but the model has "
            f"{len(known)} input{'' if len(known) == 1 else 's'} ({_names(known)}); remove "
            "the extra files, or check that they belong to this model"
        )
    try:
        from onnx import TensorProto, numpy_helper
    except ImportError as exc:
        raise OnnxInputError(
            f"reading feeds from .pb files (in {shown!r}) needs the onnx package, which is "
            f"not importable here ({exc}); install it with `pip install onnx`, or pass the "
            "inputs as a dict of arrays or a .npz file"
        ) from exc
    feeds: list[_Feed] = []
    for index, entry in numbered:
        file = os.path.join(shown, entry)
        try:
            with open(os.path.join(path, entry), "rb") as handle:
                tensor = TensorProto()
                tensor.ParseFromString(handle.read())
            if tensor.data_type == TensorProto.UNDEFINED:
                raise ValueError("it holds no tensor: its element type is UNDEFINED")
            value = numpy_helper.to_array(tensor, base_dir=path)
        except Exception as exc:
            raise OnnxInputError(
                f"feeds file {file!r} is not a readable TensorProto ({_error_detail(exc)}); "
                "write each input with onnx.save_tensor(onnx.numpy_helper.from_array(array, "
                "input_name), path). Sequence, map and optional inputs cannot be read from "
                ".pb files: pass them in a dict"
            ) from exc
        name = tensor.name or known[index]
        if name not in known:
            raise OnnxInputError(
                f"feeds file {file!r} holds tensor {tensor.name!r}, which is not an input of "
                f"the model; its inputs are {_names(known)}. Give the tensor the input's "
                "name, or no name to map the file by its number"
            )
        if value.dtype == object:
            # Older onnx releases give string tensors as bytes; onnxruntime reads str.
            value = np.array(
                [v.decode("utf-8") if isinstance(v, bytes) else v for v in value.ravel()],
                dtype=object,
            ).reshape(value.shape)
        feeds.append((name, value, f"feeds file {file!r} (input {name!r})"))
    _check_unique(feeds, shown)
    return feeds


def _feeds_from_npz(path: str, known: Sequence[str]) -> list[_Feed]:
    """Feeds from a .npz file: keys are input names, or arr_0, arr_1, ... by position."""
    shown = _display_path(path)
    if not zipfile.is_zipfile(path):
        raise OnnxInputError(
            f"feeds file {shown!r} is not a readable .npz file (it is not a zip archive); "
            "write it with np.savez(path, input_name=array, ...)"
        )
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise ValueError(f"it holds one {type(loaded).__name__}, not named arrays")
        with loaded as archive:
            arrays = {key: archive[key] for key in archive.files}
    except ValueError as exc:
        if "Object arrays" in str(exc):
            raise OnnxInputError(
                f"feeds file {shown!r} holds object arrays, which numpy reads only with "
                "pickle (not done, as loading a pickle can run code); save strings as str "
                "arrays (np.array(['text'])) and numbers with a numeric dtype"
            ) from exc
        raise OnnxInputError(
            f"feeds file {shown!r} is not a readable .npz file ({_error_detail(exc)}); write "
            "it with np.savez(path, input_name=array, ...)"
        ) from exc
    except Exception as exc:
        raise OnnxInputError(
            f"feeds file {shown!r} is not a readable .npz file ({_error_detail(exc)}); write "
            "it with np.savez(path, input_name=array, ...)"
        ) from exc
    if not arrays:
        raise OnnxInputError(
            f"feeds file {shown!r} holds no arrays; write it with "
            "np.savez(path, input_name=array, ...)"
        )
    keys = list(arrays)
    positional = all(_NPZ_POSITIONAL.fullmatch(k) for k in keys) and not set(keys) & set(known)
    feeds: list[_Feed] = []
    for key, value in arrays.items():
        if positional:
            index = int(key[4:])
            if index >= len(known):
                raise OnnxInputError(
                    f"feeds file {shown!r} holds {key!r}, the input at position {index}, but "
                    f"the model has {len(known)} input{'' if len(known) == 1 else 's'} "
                    f"({_names(known)}); save the arrays under the input names: "
                    "np.savez(path, input_name=array, ...)"
                )
            name = known[index]
        else:
            name = key
            if name not in known:
                raise OnnxInputError(
                    f"feeds file {shown!r} holds {key!r}, which is not an input of the model; "
                    f"its inputs are {_names(known)}. Save the arrays under the input names: "
                    "np.savez(path, input_name=array, ...)"
                )
        where = f"{key!r} (input {name!r})" if positional else repr(key)
        feeds.append((name, value, f"feeds file {shown!r}: {where}"))
    return feeds


def _check_unique(feeds: Sequence[_Feed], shown: str) -> None:
    seen: dict[str, str] = {}
    for name, _, label in feeds:
        if name in seen:
            raise OnnxInputError(
                f"feeds folder {shown!r} gives input {name!r} twice, in {seen[name]} and in "
                f"{label}; keep one file per input"
            )
        seen[name] = label


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
            else f"the {kind_of} {value!r}, which does"
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
                f"{label} holds {other!r} ({type(other).__name__}), not only str values, but "
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
