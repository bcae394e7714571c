"""Feeds read from files: a folder of ONNX test-data ``input_<n>.pb`` files, or a ``.npz``.

Each file's arrays are mapped to the model's inputs (by name, else by position) with a
label that names the file in messages; :mod:`.feeds` checks the values.
"""

from __future__ import annotations

import os
import re
import zipfile
from typing import TYPE_CHECKING, Any

import numpy as np

from ..filekind import NOT_REGULAR, is_special
from .errors import OnnxInputError, _error_detail

if TYPE_CHECKING:
    from collections.abc import Sequence


def _display_path(path: str) -> str:
    """The path relative to the current directory when it is below it, else as given."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    return path if relative.startswith(os.pardir) else relative


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
    if is_special(path):
        # Before anything opens it: a pipe would block the read, a device never end it.
        raise OnnxInputError(f"feeds path {path!r} {NOT_REGULAR}; {_FEEDS_PATH_FIX}")
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
        if is_special(os.path.join(path, entry)):
            raise OnnxInputError(
                f"feeds file {file!r} {NOT_REGULAR}; replace it with an input written with "
                "onnx.save_tensor(onnx.numpy_helper.from_array(array, input_name), path)"
            )
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
