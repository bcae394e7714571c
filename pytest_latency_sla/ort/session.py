"""Sessions: providers checked, the InferenceSession created, prepare() and the model's sha256.

``onnxruntime`` is imported on first use (:func:`_import_ort`), so a test suite that never
calls ``sla.onnx()`` never pays for it.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import sys
import threading
import time
from collections.abc import Mapping as _Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..filekind import NOT_REGULAR, is_special
from ..fmt import given
from ..result import Subject
from .errors import OnnxInputError, ProviderDroppedError, ProviderUnavailableError, _error_detail
from .feed_files import _display_path
from .feeds import _check_feeds, random_feeds
from .load_errors import _explain_load_error
from .signature import (
    _check_dims,
    _check_dims_fed,
    _given_sizes,
    _input_signature,
    declared_inputs,
    own_dims,
    shared_batch,
    unnamed_axes,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence


#: The call that is timed. Users calling another API should time it with sla.measure().
TIMED_API = "session.run(None, feeds)"


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
    #: How long creating the InferenceSession took (0 for a session given as is).
    created_ns: int = 0
    #: Of a ``dims=`` shared with other models (``shared_dims``), the keys this one has not.
    other_dims: tuple[str, ...] = ()


def _import_ort() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:  # pragma: no cover - onnxruntime is a dependency
        raise OnnxInputError(
            "sla.onnx() needs onnxruntime, which is not importable here "
            f"({exc}); install it with `pip install onnxruntime`"
        ) from exc
    return onnxruntime


@dataclass(frozen=True)
class ModelSource:
    """A model as given to ``sla.onnx()``, classified once: its display name, and the path
    or bytes to hand to ``InferenceSession`` (None: ``session`` is an existing session).

    Paths and bytes can cross to another process; a live session cannot.
    """

    name: str
    source: bytes | str | None
    session: Any = None


def describe_model(model: object) -> ModelSource:
    """Classify and check what was given as a model (once; a ModelSource is returned as is)."""
    if isinstance(model, ModelSource):
        return model
    name, source = _describe_model(model)
    return ModelSource(name, source, model if source is None else None)


def _describe_model(model: object) -> tuple[str, bytes | str | None]:
    """A display name and what to hand to InferenceSession (None: it is a session)."""
    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        if not os.path.exists(path) and os.path.islink(path):
            raise OnnxInputError(
                f"model file {path!r} is a symbolic link to nothing (or to itself, in a "
                "loop); pass the path to an .onnx file"
            )
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
        if is_special(path):
            raise OnnxInputError(
                f"model file {path!r} {NOT_REGULAR}; pass the path to an .onnx file"
            )
        if os.path.getsize(path) == 0:
            with open(path, "rb") as handle:  # (a /proc file's size reads 0, and it holds bytes)
                if not handle.read(1):
                    raise OnnxInputError(
                        f"model file {path!r} is empty; re-export or re-download it"
                    )
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
        if not data:
            raise OnnxInputError(
                f"the ModelProto {name!r} is empty (no graph, no opset); build it with "
                "onnx.helper.make_model(...) or load one with onnx.load(path)"
            )
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
            f"providers must be a list, got the string {given(providers, 80)}; "
            f"write providers=[{given(providers, 80)}]"
        )
    if isinstance(providers, (_Mapping, set, frozenset)):
        # A dict's options were dropped (its keys only were read), and a set has no order.
        options = providers if isinstance(providers, _Mapping) else {}

        def entry(name: object) -> str:
            # Every provider, in the dict's order (the fallback last); options that are
            # no dict shown as {}, which this check would refuse.
            value = options.get(name, {})
            return f"({given(name)}, {given(value, 200) if isinstance(value, _Mapping) else '{}'})"

        # A set's order is its hashes': the CPU fallback goes last, or it would be chosen.
        names = list(providers)
        if not isinstance(providers, _Mapping):
            names.sort(key=lambda name: name == "CPUExecutionProvider")
        example = ", ".join(entry(name) for name in names)
        if len(example) > 400:
            example = f"{example[:380]}..."
        raise OnnxInputError(
            f"providers must be a list in order of preference, got a {type(providers).__name__}"
            f"; write providers=[{example}] (a name, or a (name, options dict) tuple each)"
        )
    chosen = list(providers)
    if not chosen:
        raise OnnxInputError('providers is empty; e.g. providers=["CPUExecutionProvider"]')
    available = set(ort.get_available_providers())
    for item in chosen:
        name = item[0] if isinstance(item, tuple) and len(item) == 2 else item
        options = item[1] if isinstance(item, tuple) and len(item) == 2 else {}
        if not isinstance(name, str) or not hasattr(options, "items"):
            raise OnnxInputError(
                "providers entries are names or (name, options dict) tuples, e.g. "
                f'[("CPUExecutionProvider", {{}})], got {given(item, 80)}'
            )
        meant = None if name in available else _misspelt(name, _known_providers(ort))
        if meant is not None:
            raise OnnxInputError(
                f"execution provider {given(name, 80)} is not a name onnxruntime knows"
                f"{f'; did you mean {meant!r}?' if meant else ''}: fix it in providers= "
                f"(available in this onnxruntime {ort.__version__}: "
                f"{', '.join(sorted(available))})"
            )
        if name not in available:
            raise ProviderUnavailableError(
                f"execution provider {given(name, 80)} is not available in this onnxruntime "
                f"{ort.__version__} (available: {', '.join(sorted(available))}); install a "
                "build that has it (e.g. onnxruntime-gpu for CUDAExecutionProvider) or "
                "remove it from providers"
            )
    names = _names(chosen)
    twice = sorted({name for name in names if names.count(name) > 1}, key=names.index)
    if twice:  # onnxruntime's own words blamed the model file ("Duplicate provider")
        raise OnnxInputError(
            f"providers lists {', '.join(twice)} more than once; list each provider once, "
            "in order of preference, with its options in one (name, options dict) tuple"
        )
    return chosen


def _known_providers(ort: Any) -> list[str]:
    """Every execution provider name onnxruntime knows, in any of its builds (and those
    this one has, plugins included)."""
    known = getattr(ort, "get_all_providers", None)
    names = list(known()) if callable(known) else []
    return names + [n for n in ort.get_available_providers() if n not in names]


def _misspelt(name: str, known: Sequence[str]) -> str | None:
    """For a provider name that is a typo, the name it meant ("" when none is close);
    None for a name that may be a real provider of another build or a plugin (those
    skip): a name not ending in "ExecutionProvider" ("cpu"), or one within two letters
    of a known name ("CPUExecutionProvder", "cpuexecutionprovider"), is a typo."""
    if name in known:
        return None
    short = name.lower().removesuffix("executionprovider")
    close = [k for k in known if _edits(name.lower(), k.lower()) <= 2]
    if close:
        return close[0]
    if name.endswith("ExecutionProvider"):
        return None  # say, NvTensorRTRTXExecutionProvider: a plugin's, not in the list
    found = [k for k in known if short and k.lower().startswith(short)]
    return found[0] if len(found) == 1 else ""


def _edits(a: str, b: str) -> int:
    """The edit distance between two short names (insertions, deletions, changes)."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (x != y))
    return row[-1]


def _names(providers: Sequence[Any]) -> list[Any]:
    """The providers' names (each a name, or a checked (name, options) tuple)."""
    return [p[0] if isinstance(p, tuple) else p for p in providers]


def _create_session(
    ort: Any, name: str, source: bytes | str, providers: list[Any], session_options: Any
) -> tuple[Any, str | None]:
    """The session, and why onnxruntime dropped a provider asked for (None: it said not)."""
    names = _names(providers)
    options = [p[1] if isinstance(p, tuple) else {} for p in providers]
    # onnxruntime prints why it fell back from a provider ("EP Error ...") to stdout: this
    # thread's writes are read for the message as they pass (others' pass untouched).
    tee = _Tee(sys.stdout)
    if sys.stdout is not None:  # (None: a print goes nowhere, and so does this)
        sys.stdout = tee
    try:
        session = ort.InferenceSession(
            source, sess_options=session_options, providers=names, provider_options=options
        )
    except Exception as exc:
        raise OnnxInputError(_explain_load_error(ort.__version__, name, source, exc)) from exc
    finally:
        tee.reading = False  # (left in place by another thread's swap: a pass-through)
        if sys.stdout is tee:  # (not if another thread has put its own since)
            sys.stdout = tee.out
    return session, fallback_reason("".join(tee.read))


class _Tee:
    """``out`` as it was, but what the thread that made it writes is also kept."""

    def __init__(self, out: Any) -> None:
        self.out, self.read, self._thread = out, list[str](), threading.get_ident()
        self.reading = True

    def write(self, text: str) -> Any:
        if self.reading and threading.get_ident() == self._thread:
            self.read.append(text)
        return self.out.write(text)  # (as it returns it: None from some wrappers)

    def __getattr__(self, name: str) -> Any:  # flush, fileno, encoding, isatty ...
        return getattr(self.out, name)


#: What onnxruntime prints when a provider fails and it retries with the others.
_EP_ERROR = re.compile(r"^EP Error (.*?) when using \[", re.DOTALL | re.MULTILINE)
#: Its C++ locations and the error's prefix, which say nothing to a user.
_NOISE = re.compile(
    r"^.*\[ONNXRuntimeError\] : \d+ : \w+ : |\S+\.(?:cc|h|cpp):\d+ |operator\(\) ", re.DOTALL
)


def _why_dropped(reason: str | None) -> str:
    if reason is not None:
        return f"onnxruntime said: {reason}"
    return (
        "see onnxruntime's warnings in the test's output; for CUDA, check that device_id "
        "names a GPU this machine has and that the CUDA and cuDNN versions match this "
        "onnxruntime-gpu build"
    )


def fallback_reason(printed: str) -> str | None:
    """Why onnxruntime dropped a provider, from what it printed, or None: e.g. 'Invalid
    device ID: 99, must be between 0 (inclusive) and 1 (exclusive)'."""
    found = _EP_ERROR.findall(printed)
    if not found:
        return None
    reason = " ".join(_NOISE.sub("", found[-1]).split()).rstrip(".")
    return reason if len(reason) <= 400 else f"{reason[:380]}..."


def prepare(
    model: object,
    *,
    feeds: Mapping[str, Any] | str | os.PathLike[str] | None = None,
    dims: Mapping[str, int] | None = None,
    providers: Sequence[Any] | None = None,
    session_options: Any = None,
    shared_dims: bool = False,
) -> PreparedModel:
    """Load ``model`` and build the zero-argument call that runs it once.

    ``model``: a path, bytes, an ``onnx.ModelProto``, an ``InferenceSession``, or a
    :class:`ModelSource` already made of one by :func:`describe_model`.

    ``feeds`` is a dict of input name -> value, or the path of a folder of ``input_<n>.pb``
    files (the ONNX test-data layout) or of a ``.npz`` file. Given feeds are checked against
    the model's inputs before anything runs; every other input is generated.
    ``shared_dims``: ``dims`` sizes other models too (``sla.compare()``), so an entry this
    model has not is left to them (:func:`.signature.own_dims`), not an error.
    """
    ort = _import_ort()
    described = describe_model(model)
    name, source = described.name, described.source
    if source is None:
        if providers is not None or session_options is not None:
            raise OnnxInputError(
                "providers and session_options cannot change an existing InferenceSession; "
                "pass the model path (or bytes) instead, or create the session with them"
            )
        session: Any = described.session
        requested: list[Any] = list(session.get_providers())
        created_ns = 0
        reason = None
    else:
        requested = _check_providers(ort, providers)
        if session_options is not None and not isinstance(session_options, ort.SessionOptions):
            raise OnnxInputError(
                "session_options must be an onnxruntime.SessionOptions, got "
                f"{type(session_options).__name__}; e.g. options = onnxruntime.SessionOptions(); "
                "options.intra_op_num_threads = 1"
            )
        started = time.perf_counter_ns()
        session, reason = _create_session(ort, name, source, requested, session_options)
        created_ns = time.perf_counter_ns() - started
    inputs = declared_inputs(session)
    given = _check_feeds(inputs, feeds, source if isinstance(source, str) else None)
    others: list[str] = []
    if shared_dims and dims is not None and hasattr(dims, "items"):
        dims, others = own_dims(inputs, dims)
    checked = _check_dims(inputs, dims)
    _check_dims_fed(inputs, given, checked)
    sizes = {**_given_sizes(inputs, given), **checked}
    sizes.update(shared_batch(inputs, given, checked))
    all_feeds = random_feeds(inputs, given, sizes)
    generated = tuple(node.name for node in inputs if node.name not in given)
    generated_inputs = [node for node in inputs if node.name not in given]
    named = {
        dim
        for node in generated_inputs
        for dim in node.shape or []
        if isinstance(dim, str) and dim and dim not in sizes
    }
    # Unnamed dimensions, as dims= names them ("x[1]"); a leading one is a batch.
    unnamed = {
        key: axis == 0
        for node in generated_inputs
        for axis, key in unnamed_axes(node)
        if key not in sizes
    }
    # Unnamed ones in the inputs' order, axes in order ("x[2]" before "x[10]").
    defaulted = sorted(named) + list(unnamed)
    # A batch dimension is the leading axis of every input it appears in.
    batch = tuple(
        dim
        for dim in defaulted
        if unnamed.get(dim, False)
        or (
            dim in named
            and all(
                (node.shape or [None])[0] == dim for node in inputs if dim in (node.shape or [])
            )
        )
    )
    actual = tuple(session.get_providers())
    names = tuple(_names(requested))
    dropped = [p for p in names if p not in actual]
    if dropped:
        raise ProviderDroppedError(
            f"asked for {', '.join(dropped)}, but onnxruntime created the session with "
            f"{', '.join(actual)} only: it dropped {', '.join(dropped)} when the session was "
            f"created ({_why_dropped(reason)}). Measuring on another provider would judge the "
            "wrong thing"
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
        defaulted_dims=tuple(defaulted),
        batch_dims=batch,
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
        created_ns=created_ns,
        other_dims=tuple(others),
    )


def _sha256(source: bytes | str | None) -> str | None:
    """The model's identity: SHA-256 of its bytes, with its external data files when a
    model file names any (:func:`..modelfiles.identity`); None for a session made
    elsewhere."""
    from ..modelfiles import identity_of_file

    if source is None:
        return None
    if isinstance(source, bytes):
        return hashlib.sha256(source).hexdigest()
    return identity_of_file(source)
