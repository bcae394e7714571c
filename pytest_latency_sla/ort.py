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
            raise OnnxInputError(
                f"model path {path!r} is a directory; pass the path to the .onnx file in it"
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
        data = serialize()
        name = getattr(getattr(model, "graph", None), "name", "") or "model"
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
        detail = _error_detail(exc)
        raise OnnxInputError(
            f"onnxruntime {ort.__version__} could not load model {name}: {detail}. Check that "
            "the file is a complete ONNX model (not truncated, external data files beside it) "
            "whose opset and operators this onnxruntime supports; `python -m onnx.checker "
            "<model>` or `onnx.checker.check_model` says more"
        ) from exc


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


def _check_feeds(inputs: Sequence[Any], feeds: Mapping[str, Any] | None) -> dict[str, Any]:
    if feeds is None:
        return {}
    if not hasattr(feeds, "items"):
        raise OnnxInputError(
            f"feeds must be a dict of input name -> array, got {type(feeds).__name__}"
        )
    known = [node.name for node in inputs]
    checked: dict[str, Any] = {}
    for key, value in feeds.items():
        if key not in known:
            raise OnnxInputError(
                f"feeds names {key!r}, which is not an input of the model; its inputs are "
                f"{', '.join(repr(k) for k in known)}"
            )
        checked[key] = value
    return checked


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
        dtype = getattr(value, "dtype", type(value).__name__)
        shape = getattr(value, "shape", ())
        out.append((name, f"{dtype}[{','.join(str(s) for s in shape)}]"))
    return tuple(out)


def prepare(
    model: object,
    *,
    feeds: Mapping[str, Any] | None = None,
    dims: Mapping[str, int] | None = None,
    providers: Sequence[Any] | None = None,
    session_options: Any = None,
) -> PreparedModel:
    """Load ``model`` and build the zero-argument call that runs it once."""
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
    given = _check_feeds(inputs, feeds)
    sizes = _check_dims(inputs, dims)
    all_feeds = random_feeds(inputs, given, sizes)
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
    return PreparedModel(call=call, feeds=all_feeds, subject=subject, session=session)


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
    """A sentence for a model that raised while being run with the given feeds."""
    detail = _error_detail(exc)
    inputs = ", ".join(f"{n}: {sig}" for n, sig in prepared.subject.inputs)
    return (
        f"model {prepared.subject.name} raised when run with inputs ({inputs}): "
        f"{detail}. Pass real values for the inputs it rejects in feeds={{name: array}}, "
        "or sizes for symbolic dimensions in dims={name: size}"
    )
