"""The ONNX Runtime adapter: sessions, providers and feeds generated from a model's signature.

Knows nothing of pytest. ``onnxruntime`` is imported on first use, so a test suite that
never calls ``sla.onnx()`` never pays for it. Every problem with the user's input is an
:class:`OnnxInputError` whose message says what was wrong and how to fix it; the pytest
glue adds the test's name.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .result import Subject

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    import numpy.typing as npt

__all__ = [
    "OnnxInputError",
    "PreparedModel",
    "ProviderDroppedError",
    "ProviderUnavailableError",
    "prepare",
    "random_feeds",
]

#: The call that is timed. Users calling another API should time it with sla.measure().
TIMED_API = "session.run(None, feeds)"

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

#: Errors from session.run: onnxruntime's own types (Fail, InvalidArgument, ...) live in
#: a compiled module and derive from Exception. Interrupts and pytest outcomes are
#: BaseException and pass through.
RUN_ERRORS = (Exception,)

#: Seed of the generator for feeds: the same model always gets the same inputs.
FEED_SEED = 20_260_101


class OnnxInputError(ValueError):
    """The model, feeds, dims or providers given to ``sla.onnx()`` cannot be used."""


class ProviderUnavailableError(OnnxInputError):
    """A requested execution provider is not in this onnxruntime build (skip, or fail)."""


class ProviderDroppedError(OnnxInputError):
    """onnxruntime created the session without a provider that was asked for."""


#: The C++ source location and function signature onnxruntime puts inside its messages
#: ("/onnxruntime_src/.../reshape_helper.h:91 onnxruntime::ReshapeHelper::ReshapeHelper(
#: const TensorShape&, ...) "): noise to a user, so it is cut from the sentences we write.
_CPP_LOCATION = re.compile(
    r"(?:(?<![A-Za-z])[A-Za-z]:)?[/\\][^\s:]*\.(?:h|hpp|cc|cpp|cu):\d+ [^()]*\([^()]*\)"
    r"(?: const)?\s"
)


#: Longest error detail quoted from onnxruntime.
_MAX_DETAIL = 400


def _error_detail(exc: BaseException) -> str:
    """An exception's message on one line, without C++ locations or a final period.

    onnxruntime puts the useful part (expected vs actual shapes) on later lines, so all
    lines are kept, joined, up to a readable length.
    """
    text = str(exc).strip()
    if not text:
        return type(exc).__name__
    lines = [_CPP_LOCATION.sub(" ", line).strip() for line in text.splitlines()]
    joined = re.sub(r"\s{2,}", " ", " ".join(line for line in lines if line)).strip()
    if len(joined) > _MAX_DETAIL:
        joined = joined[: _MAX_DETAIL - 3].rstrip() + "..."
    return joined.rstrip(".")


@dataclass(frozen=True)
class PreparedModel:
    """A session ready to time: the zero-argument call, its feeds and what it is."""

    call: Callable[[], object]
    feeds: Mapping[str, Any]
    subject: Subject
    session: Any
    #: Inputs whose values were generated (not given in feeds), in the model's order.
    generated: tuple[str, ...] = ()
    #: Symbolic dimensions of generated inputs that got the default size 1.
    defaulted_dims: tuple[str, ...] = ()


def _import_ort() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:  # pragma: no cover - onnxruntime is a dependency
        raise OnnxInputError(
            "sla.onnx() needs onnxruntime, which is not importable here "
            f"({exc}); install it with `pip install onnxruntime`"
        ) from exc
    return onnxruntime


def _display_path(path: str) -> str:
    """The path relative to the current directory when it is below it, else as given."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    return path if relative.startswith(os.pardir) else relative


def _describe_model(model: object) -> tuple[str, bytes | str | None]:
    """A display name and what to hand to InferenceSession (None: it is a session)."""
    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        if not os.path.exists(path):
            raise OnnxInputError(
                f"model file {path!r} does not exist (relative paths are taken from the "
                f"current directory, {os.getcwd()!r}); pass the path to an .onnx file"
            )
        if os.path.isdir(path):
            found = sorted(f for f in os.listdir(path) if f.lower().endswith(".onnx"))
            holds = (
                f"it holds {', '.join(found[:5])}{', ...' if len(found) > 5 else ''}"
                if found
                else "it holds no .onnx file"
            )
            raise OnnxInputError(
                f"model path {path!r} is a directory ({holds}); pass the path to the .onnx "
                "file in it"
            )
        if os.path.getsize(path) == 0:
            raise OnnxInputError(f"model file {path!r} is empty; re-export or re-download it")
        return _display_path(path), path
    if isinstance(model, (bytes, bytearray, memoryview)):
        data = bytes(model)
        if not data:
            raise OnnxInputError("model bytes are empty; pass the serialized ONNX model")
        return f"<bytes sha256:{hashlib.sha256(data).hexdigest()[:12]}>", data
    if hasattr(model, "run") and hasattr(model, "get_inputs"):
        return "<InferenceSession>", None
    serialize = getattr(model, "SerializeToString", None)
    if callable(serialize):
        name = getattr(getattr(model, "graph", None), "name", "") or "model"
        try:
            data = serialize()
        except Exception as exc:
            # protobuf refuses messages over 2 GB: such a model only exists as a file with
            # its weights in external data.
            raise OnnxInputError(
                f"the ModelProto {name!r} cannot be serialized ({_error_detail(exc)}); save "
                "it with onnx.save_model(model, path, save_as_external_data=True) and pass "
                "the path"
            ) from exc
        return f"<ModelProto {name}>", data
    raise OnnxInputError(
        f"model must be a path, bytes, an onnx.ModelProto or an onnxruntime.InferenceSession, "
        f"got {type(model).__name__}"
    )


def _check_providers(ort: Any, providers: Sequence[Any] | None) -> list[Any]:
    if providers is None:
        return ["CPUExecutionProvider"]
    if isinstance(providers, str):
        raise OnnxInputError(
            f"providers must be a list, got the string {providers!r}; "
            f"write providers=[{providers!r}]"
        )
    chosen = list(providers)
    if not chosen:
        raise OnnxInputError('providers is empty; e.g. providers=["CPUExecutionProvider"]')
    available = set(ort.get_available_providers())
    for entry in chosen:
        name = entry[0] if isinstance(entry, tuple) and len(entry) == 2 else entry
        options = entry[1] if isinstance(entry, tuple) and len(entry) == 2 else {}
        if not isinstance(name, str) or not hasattr(options, "items"):
            raise OnnxInputError(
                "providers entries are names or (name, options dict) tuples, e.g. "
                f'[("CPUExecutionProvider", {{}})], got {entry!r}'
            )
        if name not in available:
            raise ProviderUnavailableError(
                f"execution provider {name!r} is not available in this onnxruntime "
                f"{ort.__version__} (available: {', '.join(sorted(available))}); install a "
                "build that has it (e.g. onnxruntime-gpu for CUDAExecutionProvider) or "
                "remove it from providers"
            )
    return chosen


def _create_session(
    ort: Any, name: str, source: bytes | str, providers: list[Any], session_options: Any
) -> Any:
    names = [p[0] if isinstance(p, tuple) else p for p in providers]
    options = [p[1] if isinstance(p, tuple) else {} for p in providers]
    try:
        return ort.InferenceSession(
            source, sess_options=session_options, providers=names, provider_options=options
        )
    except Exception as exc:
        raise OnnxInputError(_explain_load_error(ort.__version__, name, source, exc)) from exc


#: A Git LFS pointer checked out instead of the file it points to.
_LFS_POINTER = b"version https://git-lfs"


def _not_a_model(source: bytes | str) -> str:
    """Why bytes that protobuf cannot parse are no model, from their first bytes."""
    if isinstance(source, bytes):
        head, size = source[:64], len(source)
    else:
        with open(source, "rb") as handle:
            head = handle.read(64)
        size = os.path.getsize(source)
    if head.startswith(_LFS_POINTER):
        return (
            "the file is a Git LFS pointer, not the model; fetch the model with "
            "`git lfs pull` (or download it), then pass its path"
        )
    # A serialized ModelProto opens with field 1, ir_version (tag 0x08), a small number.
    if len(head) >= 2 and head[0] == 0x08 and 1 <= head[1] <= 32:
        return (
            f"it starts like an ONNX model (IR version {head[1]}) but protobuf cannot parse "
            f"its {size} bytes: it is probably truncated or corrupted (an interrupted "
            "download or copy); re-export or re-download it"
        )
    shown = head[:24]
    if head.lstrip()[:1] == b"<":
        what = "it looks like an HTML or XML page (a failed download?), not an ONNX model"
    elif shown.isascii() and all(32 <= c < 127 or c in b"\t\r\n" for c in shown):
        what = f"it is text, not an ONNX model (it starts with {shown!r})"
    else:
        what = f"it is not an ONNX model (it starts with {shown!r})"
    return (
        f"{what}; pass an .onnx file (exported with torch.onnx.export, tf2onnx, ...), or "
        "re-download it if the file is damaged"
    )


def _explain_load_error(version: str, name: str, source: bytes | str, exc: BaseException) -> str:
    """A sentence for a model onnxruntime refused to load: what is wrong and what to do.

    onnxruntime's messages are matched for the common causes; anything else is quoted with
    a general hint.
    """
    text = " ".join(str(exc).split())
    prefix = f"onnxruntime {version} could not load model {name}: "
    if (
        "INVALID_PROTOBUF" in text
        or "protobuf parsing failed" in text
        or "No graph was found in the protobuf" in text
    ):
        return prefix + _not_a_model(source)
    external = re.search(r'External data path does not exist: "?([^"]+?)"?(?: |$)', text)
    if external or "external data" in text.lower():
        tensor = re.search(r"for initializer: (\S+?)\.? ", text)
        holder = f" (it holds tensor {tensor.group(1)!r})" if tensor else ""
        where = f" at {external.group(1)}" if external else ""
        if isinstance(source, bytes):
            return prefix + (
                f"its weights are in an external data file{holder} that cannot be found"
                f"{where}: a model given as bytes or a ModelProto has no folder to find it "
                "in. Pass the path of the .onnx file, with its external data file beside "
                "it, or load it with onnx.load(path), which reads the external data in"
            )
        if external:
            return prefix + (
                f"its external data file {os.path.basename(external.group(1))!r}{holder} is "
                f"missing: it was expected at {external.group(1)} (the model names it "
                "relative to its own folder). Put the file that came with the model there, "
                "or keep the weights inside the model: "
                "onnx.save_model(onnx.load(path), new_path)"
            )
        return prefix + (
            f"its external data cannot be read ({_error_detail(exc)}); check that the "
            "external data files that came with the model are complete and beside it"
        )
    short = re.search(
        r"External initializer: (\S+) offset: (\d+) size to read: (\d+) given file_length: "
        r"(\d+)",
        text,
    )
    if short:
        tensor_name, offset, length, size = short.groups()
        return prefix + (
            f"its external data file is incomplete: tensor {tensor_name!r} needs bytes "
            f"{offset} to {int(offset) + int(length)}, and the file has {size}. Copy the "
            "external data file that came with the model again (an interrupted download or "
            "copy?), or re-export the model"
        )
    opset = re.search(r"Opset (\d+) is under development", text)
    if opset:
        limit = re.search(r"support for domain (\S+) is till opset (\d+)", text)
        domain, top = (limit.group(1), limit.group(2)) if limit else ("ai.onnx", None)
        supports = f"supports {domain} up to opset {top}" if top else "does not support it"
        lower = f"opset {top} or lower" if top else "a lower opset"
        return prefix + (
            f"it uses opset {opset.group(1)} of {domain}, and this onnxruntime {supports}; "
            f"export the model with {lower} (e.g. torch.onnx.export(..., "
            f"opset_version={top or 17})) or upgrade onnxruntime"
        )
    ir = re.search(r"Unsupported model IR version: (\d+), max supported IR version: (\d+)", text)
    if ir:
        return prefix + (
            f"its IR version is {ir.group(1)}, and this onnxruntime reads up to IR version "
            f"{ir.group(2)}; upgrade onnxruntime, or save the model with a lower IR version "
            f"(model.ir_version = {ir.group(2)} if its opset allows it)"
        )
    no_op = re.search(r"No Op registered for (\S+) with domain_version of (\d+)", text)
    if no_op:
        return prefix + (
            f"operator {no_op.group(1)} (opset {no_op.group(2)}) is not known to this "
            "onnxruntime; upgrade onnxruntime, or export the model without it (a lower "
            "opset, or another exporter setting)"
        )
    custom = re.search(r"(\S+):(\S+?)\(-?\d+\) is not a registered function/op", text)
    if custom:
        return prefix + (
            f"it uses operator {custom.group(2)} of domain {custom.group(1)}, which nothing "
            "registered with this onnxruntime implements; if it is a custom operator, "
            "register the library that does: options = onnxruntime.SessionOptions(); "
            "options.register_custom_ops_library(path); sla.onnx(model, "
            "session_options=options)"
        )
    kernel = re.search(r"Could not find an implementation for (\S+?)\((\d+)\)", text)
    if kernel:
        op, since = kernel.groups()
        return prefix + (
            f"no execution provider in use has a kernel for operator {op} (opset {since}) "
            "with the types the model gives it: the opset is older than this onnxruntime "
            "supports, or the types are not supported. Convert the model to a newer opset "
            "(onnx.version_converter.convert_version(model, 17)), change the types in the "
            "model (e.g. a Cast to float), or use a provider that has the kernel"
        )
    if "Exception during initialization" in text:
        return prefix + (
            f"{_error_detail(exc)}. The model was read, but a kernel failed while the session "
            "was set up: the message above says why (often something missing on this "
            "machine, such as a locale or a library)"
        )
    return prefix + (
        f"{_error_detail(exc)}. Check that the file is a complete ONNX model (not truncated, "
        "external data files beside it) whose opset and operators this onnxruntime "
        "supports; `python -m onnx.checker <model>` or `onnx.checker.check_model` says more"
    )


def _shape(name: str, shape: Sequence[object], dims: Mapping[str, int]) -> tuple[int, ...]:
    out = []
    for dim in shape:
        if isinstance(dim, int) and dim >= 0:
            out.append(dim)
        elif isinstance(dim, str) and dim in dims:
            out.append(dims[dim])
        else:
            # A symbolic dimension not named in dims, or an unknown one: 1 (batch 1).
            out.append(1)
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
    # In the model's input order, so reports list inputs the way the model declares them.
    out: dict[str, Any] = {}
    for node in inputs:
        if node.name in feeds:
            out[node.name] = feeds[node.name]
            continue
        type_name = str(node.type)
        dtype = _DTYPES.get(type_name)
        if dtype is None:
            raise OnnxInputError(
                f"cannot generate a value for input {node.name!r} of type {type_name}; pass "
                f"it in feeds, e.g. feeds={{{node.name!r}: <value>}}"
            )
        shape = _shape(node.name, node.shape or [], dims)
        value: npt.NDArray[Any]
        if dtype is np.bool_:
            value = rng.random(shape) < 0.5
        elif np.issubdtype(dtype, np.floating):
            value = rng.random(shape, dtype=np.float64).astype(dtype)
        else:
            value = rng.integers(0, 2, size=shape).astype(dtype)
        out[node.name] = value
    out.update((k, v) for k, v in feeds.items() if k not in out)
    return out


# --- feeds given by the user -------------------------------------------------------------

#: The tensor type of string inputs; numpy holds them as str (or object arrays of str).
_STRING = "tensor(string)"

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
        return array.astype(object) if array.dtype.kind == "U" else array
    target = np.dtype(expected)
    kind = array.dtype.kind
    lossless = (
        array.size == 0
        or kind == "b"
        or (kind in "iu" and target.kind in "iuf")
        or (kind == "f" and target.kind == "f")
    )
    if lossless:
        converted = array.astype(target)
        if kind in "iu" and target.kind in "iu" and not np.array_equal(converted, array):
            lossless = False
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


def _check_dims(inputs: Sequence[Any], dims: Mapping[str, int] | None) -> dict[str, int]:
    if dims is None:
        return {}
    if not hasattr(dims, "items"):
        raise OnnxInputError(
            f'dims must be a dict of dimension name -> size, e.g. dims={{"batch": 1}}, '
            f"got {type(dims).__name__}"
        )
    symbolic = sorted(
        {d for node in inputs for d in (node.shape or []) if isinstance(d, str) and d}
    )
    for key, size in dims.items():
        if key not in symbolic:
            have = ", ".join(repr(s) for s in symbolic) or "none: every dimension is fixed"
            raise OnnxInputError(
                f"dims names {key!r}, which is no symbolic dimension of the model's inputs "
                f"(its symbolic dimensions: {have})"
            )
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise OnnxInputError(f"dims[{key!r}] must be a positive whole number, got {size!r}")
    return {k: int(v) for k, v in dims.items()}


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


def prepare(
    model: object,
    *,
    feeds: Mapping[str, Any] | str | os.PathLike[str] | None = None,
    dims: Mapping[str, int] | None = None,
    providers: Sequence[Any] | None = None,
    session_options: Any = None,
) -> PreparedModel:
    """Load ``model`` and build the zero-argument call that runs it once.

    ``feeds`` is a dict of input name -> value, or the path of a folder of ``input_<n>.pb``
    files (the ONNX test-data layout) or of a ``.npz`` file. Given feeds are checked against
    the model's inputs before anything runs; every other input is generated.
    """
    ort = _import_ort()
    name, source = _describe_model(model)
    if source is None:
        if providers is not None or session_options is not None:
            raise OnnxInputError(
                "providers and session_options cannot change an existing InferenceSession; "
                "pass the model path (or bytes) instead, or create the session with them"
            )
        session: Any = model
        requested: list[Any] = list(session.get_providers())
    else:
        requested = _check_providers(ort, providers)
        if session_options is not None and not isinstance(session_options, ort.SessionOptions):
            raise OnnxInputError(
                "session_options must be an onnxruntime.SessionOptions, got "
                f"{type(session_options).__name__}; e.g. options = onnxruntime.SessionOptions(); "
                "options.intra_op_num_threads = 1"
            )
        session = _create_session(ort, name, source, requested, session_options)
    inputs = session.get_inputs()
    given = _check_feeds(inputs, feeds, source if isinstance(source, str) else None)
    sizes = {**_given_sizes(inputs, given), **_check_dims(inputs, dims)}
    all_feeds = random_feeds(inputs, given, sizes)
    generated = tuple(node.name for node in inputs if node.name not in given)
    defaulted = sorted(
        {
            dim
            for node in inputs
            if node.name not in given
            for dim in node.shape or []
            if isinstance(dim, str) and dim and dim not in sizes
        }
    )
    actual = tuple(session.get_providers())
    names = tuple(p[0] if isinstance(p, tuple) else p for p in requested)
    dropped = [p for p in names if p not in actual]
    if dropped:
        raise ProviderDroppedError(
            f"asked for {', '.join(dropped)}, but onnxruntime created the session with "
            f"{', '.join(actual)} only: it dropped {', '.join(dropped)} when the session was "
            "created (see onnxruntime's warnings above; for CUDA, check that the CUDA and "
            "cuDNN versions match this onnxruntime-gpu build). Measuring on another provider "
            "would judge the wrong thing"
        )
    options = session.get_session_options()
    subject = Subject(
        kind="onnx",
        name=name,
        api=TIMED_API,
        providers_requested=names,
        providers=actual,
        intra_op_threads=int(options.intra_op_num_threads),
        inter_op_threads=int(options.inter_op_num_threads),
        inputs=_input_signature(all_feeds),
        model_sha256=_sha256(source),
        session_options=(
            ("execution_mode", str(options.execution_mode).rsplit(".", 1)[-1]),
            (
                "graph_optimization_level",
                str(options.graph_optimization_level).rsplit(".", 1)[-1],
            ),
        ),
    )
    call = functools.partial(session.run, None, all_feeds)
    return PreparedModel(
        call=call,
        feeds=all_feeds,
        subject=subject,
        session=session,
        generated=generated,
        defaulted_dims=tuple(defaulted),
    )


def _sha256(source: bytes | str | None) -> str | None:
    """SHA-256 of the model's bytes; None for a session made elsewhere."""
    if source is None:
        return None
    digest = hashlib.sha256()
    if isinstance(source, bytes):
        digest.update(source)
    else:
        with open(source, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def explain_run_error(exc: BaseException, prepared: PreparedModel) -> str:
    """A sentence for a model that raised while being run with the given feeds.

    Generated values (0 or 1, random floats) are the usual cause when a model checks its
    inputs, e.g. a sample rate that must be 8000 or 16000: the message names the generated
    inputs most likely to blame and how to pass real values for them.
    """
    detail = _error_detail(exc)
    inputs = ", ".join(f"{n}: {sig}" for n, sig in prepared.subject.inputs)
    head = f"model {prepared.subject.name} raised when run with inputs ({inputs}): {detail}. "
    generated = list(prepared.generated)
    if not generated:
        return head + (
            "Every input came from feeds: check their values against what the model expects"
        )
    given = [n for n in prepared.feeds if n not in generated]
    named_given = [n for n in given if _names_input(detail, n)]
    suspects, likely = _suspects(generated, prepared.feeds, detail)
    if named_given and not any(_names_input(detail, n) for n in suspects):
        names = ", ".join(repr(n) for n in named_given)
        its = "its" if len(named_given) == 1 else "their"
        return head + (
            f"The error names {names}, given in feeds: check {its} values against what the "
            f"model expects (also generated: {', '.join(repr(n) for n in generated)})"
        )
    one = len(suspects) == 1
    shown = ", ".join(f"{n!r} ({_generated_value(prepared.feeds[n])})" for n in suspects)
    example = ", ".join(f"{n!r}: {_example(prepared.feeds[n])}" for n in suspects)
    text = head + (
        f"The generated values for input{'' if one else 's'} {shown} are "
        f"{'the likely' if likely else 'a possible'} cause (inputs not given in feeds get "
        "made-up values: 0 or 1, floats in [0, 1)): pass real values for "
        f"{'it' if one else 'them'} in feeds=, e.g. feeds={{{example}}}"
    )
    others = [n for n in generated if n not in suspects]
    if others:
        text += f" (also generated: {', '.join(repr(n) for n in others)})"
    if given and not likely:
        text += f"; else check the values given in feeds for {', '.join(repr(n) for n in given)}"
    if prepared.defaulted_dims:
        sizes = ", ".join(f"{d!r}: <size>" for d in prepared.defaulted_dims)
        text += (
            "; if a size of 1 is the problem, give sizes for the symbolic dimensions that "
            f"defaulted to it: dims={{{sizes}}}"
        )
    return text


#: Generated inputs with at most this many elements are taken for control values (sample
#: rates, lengths, top-k) when the error names no input.
_CONTROL_SIZE = 4


def _names_input(detail: str, name: str) -> bool:
    """Whether an error message names an input, as a word of its own."""
    return re.search(rf"(?<![\w.]){re.escape(name)}(?![\w.])", detail) is not None


def _suspects(
    generated: Sequence[str], feeds: Mapping[str, Any], detail: str
) -> tuple[list[str], bool]:
    """The generated inputs most likely to have been rejected, and whether that is likely.

    Those the error names; else small integer or boolean ones (a model checking a value
    usually checks a scalar setting); else all of them, as possible causes only.
    """
    named = [n for n in generated if _names_input(detail, n)]
    if named:
        return named, True
    small = [
        n
        for n in generated
        if np.asarray(feeds[n]).dtype.kind in "biu" and np.asarray(feeds[n]).size <= _CONTROL_SIZE
    ]
    return (small, True) if small else (list(generated), False)


def _generated_value(value: Any) -> str:
    """A generated input's signature, with its values when there are few."""
    array = np.asarray(value)
    text = f"{array.dtype}[{','.join(str(s) for s in array.shape)}]"
    if array.size <= _CONTROL_SIZE:
        text += f" = {array.tolist()!r}"
    return text


def _example(value: Any) -> str:
    """Code for a real value of the shape and type of a generated one."""
    array = np.asarray(value)
    dtype = _numpy_name(array.dtype)
    if array.ndim == 0:
        return f"np.array(<value>, dtype={dtype})"
    if array.shape == (1,):
        return f"np.array([<value>], dtype={dtype})"
    article = "an" if array.dtype.name[0] in "aeiou" else "a"
    return f"<{article} {array.dtype.name} array of shape {tuple(array.shape)}>"
