"""Measure in a separate process, so a native crash or a hang fails one test, not the run.

No pytest here. The parent pickles a job (an ONNX model with its settings, or a callable
with its arguments, and how to sample), starts a worker with multiprocessing's *spawn*
context and waits for the result with a timeout. Never *fork*: onnxruntime keeps thread
pools, and a forked copy of a threaded process can deadlock (Python warns about it).

The worker times the call itself, after its own warmup, exactly as an in-process
measurement does; starting it costs the parent a few hundred milliseconds of wall time
and the measurement nothing. What comes back is the :class:`~pytest_latency_sla.result.Subject`
and the :class:`~pytest_latency_sla.sampling.Sampling`, the same values an in-process run
judges. A worker that dies by a signal, exits, or outlives the timeout raises an
:class:`IsolationError` whose message is one sentence for the test's failure; a worker
killed for its timeout is reaped before this module returns.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import pickle
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .sampling import run_once, sample

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from multiprocessing.connection import Connection

    from .result import Subject
    from .sampling import Sampling, SamplingPlan

__all__ = [
    "ISOLATED",
    "IsolatedCallError",
    "IsolationError",
    "NotSendableError",
    "RemoteTraceback",
    "Timing",
    "WorkerCrashedError",
    "WorkerFailedError",
    "WorkerTimeoutError",
    "run_callable",
    "run_onnx",
]

#: Appended to the subject's api text, so reports show the measurement was isolated.
ISOLATED = " [isolated]"

#: How long a worker that sent its result may take to exit before it is killed.
_EXIT_GRACE_S = 5.0

#: SessionOptions attributes carried to the worker (SessionOptions do not pickle).
_SESSION_FIELDS = (
    "intra_op_num_threads",
    "inter_op_num_threads",
    "execution_mode",
    "execution_order",
    "graph_optimization_level",
    "enable_cpu_mem_arena",
    "enable_mem_pattern",
    "enable_mem_reuse",
    "use_deterministic_compute",
    "use_per_session_threads",
    "enable_profiling",
    "profile_file_prefix",
    "optimized_model_filepath",
    "log_severity_level",
    "log_verbosity_level",
    "logid",
)
#: Enum-valued attributes: sent as int, rebuilt with the onnxruntime enum of this name.
_SESSION_ENUMS = {
    "execution_mode": "ExecutionMode",
    "execution_order": "ExecutionOrder",
    "graph_optimization_level": "GraphOptimizationLevel",
}
#: Session config entries carried when set. onnxruntime cannot list the entries that are
#: set, so only these known ones (those that change latency) travel.
_SESSION_CONFIG_KEYS = (
    "session.intra_op.allow_spinning",
    "session.inter_op.allow_spinning",
    "session.intra_op_thread_affinities",
    "session.set_denormal_as_zero",
    "session.disable_prepacking",
    "session.use_env_allocators",
    "session.use_device_allocator_for_initializers",
    "session.dynamic_block_base",
    "session.disable_cpu_ep_fallback",
    "session.disable_quant_qdq",
    "session.disable_aot_function_inlining",
    "session.enable_quant_qdq_cleanup",
    "session.qdq_matmulnbits_accuracy_level",
    "mlas.enable_gemm_fastmath_arm64_bfloat16",
)


class IsolationError(Exception):
    """An isolated measurement that gave no result; the message is one sentence."""


class NotSendableError(IsolationError):
    """The model, callable or an argument cannot be sent to another process."""


class WorkerCrashedError(IsolationError):
    """The worker process died by a signal or exited before sending its result."""


class WorkerTimeoutError(IsolationError):
    """The worker did not finish within the timeout and was killed."""


class WorkerFailedError(IsolationError):
    """The worker reported a problem (a model that raised, code that could not load)."""


class RemoteTraceback(Exception):
    """The traceback of an exception raised in the worker, as text (the cause shown)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return self.text


class IsolatedCallError(Exception):
    """A measured callable raised in the worker an exception that cannot come back as itself."""


@dataclass(frozen=True)
class Timing:
    """How the worker (or the test's own process) samples: the same rules either way."""

    plan: SamplingPlan
    #: The budget in nanoseconds, or None to measure without a verdict.
    budget_ns: float | None
    #: The judged percentile as a fraction (0.99 for p99).
    quantile: float
    #: Call once, without warmup or verdict (``--sla-disable``).
    once: bool = False

    def run(self, call: Callable[[], object]) -> Sampling:
        """Time ``call``: warm up, sample, look at the verdict."""
        if self.once:
            return run_once(call)
        return sample(call, self.plan, budget_ns=self.budget_ns, quantile=self.quantile)


# --- jobs: what the worker runs ---------------------------------------------------------

#: What a worker sends back, a tagged tuple:
#: ("ok", subject or None, sampling): measured;
#: ("input", message, unavailable provider?): ort.OnnxInputError, rebuilt in the parent;
#: ("failed", message): a sentence for the test's failure;
#: ("raised", pickled exception or None, type name, message, traceback text).
_Result = tuple[Any, ...]


@dataclass(frozen=True)
class _CallJob:
    fn: Callable[..., object]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    timing: Timing

    def run(self) -> _Result:
        args, kwargs = self.args, self.kwargs
        call = functools.partial(self.fn, *args, **kwargs) if args or kwargs else self.fn
        return ("ok", None, self.timing.run(call))


@dataclass(frozen=True)
class _OnnxJob:
    #: "path" (a str), "bytes", "proto" (serialized ModelProto bytes), or "other":
    #: whatever was given, for ort.prepare to reject with its usual message.
    model_kind: str
    model: object
    feeds: Any
    dims: Any
    providers: Any
    #: _SessionFields to rebuild SessionOptions from, or anything else as given.
    session_options: Any
    timing: Timing

    def run(self) -> _Result:
        from . import ort

        model: object = self.model
        if self.model_kind == "proto":
            import onnx

            proto = onnx.ModelProto()
            proto.ParseFromString(model)
            model = proto
        try:
            prepared = ort.prepare(
                model,
                feeds=self.feeds,
                dims=self.dims,
                providers=self.providers,
                session_options=self._session_options(),
            )
        except ort.OnnxInputError as exc:
            return ("input", str(exc), isinstance(exc, ort.ProviderUnavailableError))
        try:
            sampling = self.timing.run(prepared.call)
        except ort.RUN_ERRORS as exc:
            return ("failed", ort.explain_run_error(exc, prepared))
        return ("ok", prepared.subject, sampling)

    def _session_options(self) -> Any:
        if not isinstance(self.session_options, _SessionFields):
            return self.session_options
        import onnxruntime

        options = onnxruntime.SessionOptions()
        for name, value in self.session_options.fields:
            enum = _SESSION_ENUMS.get(name)
            setattr(options, name, getattr(onnxruntime, enum)(value) if enum else value)
        for key, value in self.session_options.config:
            options.add_session_config_entry(key, value)
        return options


@dataclass(frozen=True)
class _SessionFields:
    """SessionOptions as plain values: attributes, and the session config entries set."""

    fields: tuple[tuple[str, Any], ...]
    config: tuple[tuple[str, str], ...]


def _is_session_options(value: object) -> bool:
    # Duck-typed, so the parent need not import onnxruntime to send a model.
    return type(value).__name__ == "SessionOptions" and hasattr(value, "intra_op_num_threads")


def _session_fields(options: Any) -> _SessionFields:
    fields = []
    for name in _SESSION_FIELDS:
        try:
            value = getattr(options, name)
        except (AttributeError, RuntimeError):  # an older or newer onnxruntime
            continue
        fields.append((name, int(value) if name in _SESSION_ENUMS else value))
    config = []
    for key in _SESSION_CONFIG_KEYS:
        try:
            config.append((key, str(options.get_session_config_entry(key))))
        except (AttributeError, RuntimeError):  # not set
            continue
    return _SessionFields(tuple(fields), tuple(config))


# --- the worker -------------------------------------------------------------------------


def _traceback_text(exc: BaseException) -> str:
    """The traceback, without the worker's own frames above the measured code."""
    if exc.__cause__ is None and exc.__context__ is None:
        here = os.path.dirname(os.path.abspath(__file__)) + os.sep
        frames = traceback.extract_tb(exc.__traceback__)
        theirs = [frame for frame in frames if not frame.filename.startswith(here)]
        if theirs:
            lines = ["Traceback (most recent call last):\n", *traceback.format_list(theirs)]
            return "".join(lines + traceback.format_exception_only(type(exc), exc))
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def _raised(exc: BaseException) -> _Result:
    try:
        data: bytes | None = pickle.dumps(exc)
    except Exception:
        data = None
    return ("raised", data, type(exc).__qualname__, str(exc), _traceback_text(exc))


def _die_with_parent(parent: int) -> None:
    """On Linux, have the kernel kill this worker if the parent dies (no orphans even
    when pytest itself is killed)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - a libc without prctl
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _worker(conn: Connection, payload: bytes, parent: int) -> None:
    """The worker process: load the job, run it, send the result back."""
    _die_with_parent(parent)
    import faulthandler

    # A native crash then prints the Python stack to stderr (captured with the test);
    # the signal is re-raised, so the exit code still names it.
    faulthandler.enable()
    try:
        try:
            job = pickle.loads(payload)
        except Exception as exc:
            result: _Result = (
                "failed",
                "the worker process could not load what it was to measure "
                f"({type(exc).__name__}: {exc}); it must be importable by its module's name "
                "in a fresh interpreter (a function at module level of a test file collected "
                "with pytest's default import mode, or of a module on sys.path)",
            )
        else:
            try:
                result = job.run()
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # SystemExit and pytest outcomes too: report them
                result = _raised(exc)
        try:
            data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            data = pickle.dumps(_raised(exc))
        conn.send_bytes(data)
    finally:
        conn.close()


# --- the parent -------------------------------------------------------------------------


def _dumps(job: object, parts: Sequence[tuple[object, str, str]]) -> bytes:
    """``job`` pickled; when it cannot be, a NotSendableError that names the part at fault.

    ``parts`` are (value, what, advice): the first that does not pickle gives the message
    "{what} cannot be sent to another process for isolation ({why}); {advice}".
    """
    try:
        return pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        error: Exception = exc
    # Pickled again part by part only to say which part is at fault (else the last).
    _, what, advice = parts[-1]
    for part in parts:
        try:
            pickle.dumps(part[0], protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            error, what, advice = exc, part[1], part[2]
            break
    detail = str(error).split("\n", 1)[0]
    raise NotSendableError(
        f"{what} cannot be sent to another process for isolation "
        f"({type(error).__name__}: {detail}); {advice}"
    )


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _crash_message(exitcode: int | None, onnx: bool) -> str:
    if exitcode is not None and exitcode < 0:
        who = "the model crashed the runtime" if onnx else "the measured code crashed the process"
        text = f"{who}: {_signal_name(-exitcode)} (exit code {exitcode})"
        if exitcode == -signal.SIGKILL:
            text += "; SIGKILL from outside often means the machine ran out of memory"
        return text
    who = "the runtime ended the process" if onnx else "the measured code ended the process"
    return (
        f"{who}: exit code {exitcode}, before the measurement finished (the test's captured "
        "output shows what the worker printed)"
    )


def _timeout_message(timeout: float) -> str:
    return (
        f"timed out: the isolated measurement did not finish, so its worker process was "
        f"killed after {timeout:g} s (sla_timeout); if the code is just slow, raise the "
        f"limit, e.g. --sla-timeout={max(timeout * 2, 1):g} or sla_timeout = "
        f"{max(timeout * 2, 1):g} in the ini file"
    )


def _run(payload: bytes, timeout: float, onnx: bool) -> _Result:
    """Run a pickled job in a spawned worker; its result, or an IsolationError."""
    import multiprocessing
    from multiprocessing import connection

    context = multiprocessing.get_context("spawn")
    reader, writer = context.Pipe(duplex=False)
    process = context.Process(
        target=_worker, args=(writer, payload, os.getpid()), name="pytest-latency-sla-worker"
    )
    data: bytes | None = None
    timed_out = False
    try:
        process.start()
        # Only the worker holds the writing end now: its death reads as end-of-file.
        writer.close()
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            ready = connection.wait([reader, process.sentinel], max(remaining, 0.0))
            if reader in ready:
                # A result, or end-of-file when the worker died without sending one.
                try:
                    data = reader.recv_bytes()
                except (EOFError, OSError):
                    data = None
                break
            if ready:  # exited; anything it sent would have made the reader ready
                if not reader.poll():
                    break
                continue
            timed_out = True
            break
        if not timed_out:
            process.join(_EXIT_GRACE_S)
    finally:
        if process.is_alive():
            process.kill()
            process.join()
        writer.close()  # already closed unless start() failed; closing twice is harmless
        reader.close()
        exitcode = process.exitcode
        process.close()
    if timed_out:
        raise WorkerTimeoutError(_timeout_message(timeout))
    if data is None:
        raise WorkerCrashedError(_crash_message(exitcode, onnx))
    # A result that came back stands, even if the worker crashed while exiting.
    try:
        result: _Result = pickle.loads(data)
    except Exception as exc:
        raise WorkerFailedError(
            f"the worker's result could not be read back ({type(exc).__name__}: {exc})"
        ) from None
    return result


def _sampling(value: Sampling) -> Sampling:
    value.samples_ns.setflags(write=False)
    return value


def _reraise(result: _Result) -> None:
    """Raise what the measured callable raised in the worker, with its traceback."""
    __tracebackhide__ = True
    _, data, name, message, text = result
    exc: BaseException | None = None
    if data is not None:
        try:
            exc = pickle.loads(data)
        except Exception:
            exc = None
    if not isinstance(exc, BaseException):
        exc = IsolatedCallError(f"{name}: {message}" if message else name)
    raise exc from RemoteTraceback(f'\n"""\n{text}"""')


def run_callable(
    fn: Callable[..., object],
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    timing: Timing,
    timeout: float,
    name: str,
) -> Sampling:
    """Time ``fn(*args, **kwargs)`` in a worker process.

    ``name`` names the callable in messages. Raises :class:`IsolationError` when the worker
    gives no result; what ``fn`` raised is raised here, with the worker's traceback as cause.
    """
    __tracebackhide__ = True
    job = _CallJob(fn, tuple(args), dict(kwargs), timing)
    advice = (
        "define it at module level of the test file (not a lambda or a nested function), "
        "pass functools.partial(module_level_function, ...), or drop isolate=True / "
        "--sla-isolate"
    )
    payload = _dumps(
        job,
        [
            (fn, f"the callable {name}", advice),
            (
                (job.args, job.kwargs),
                f"an argument to {name}",
                "pass values that pickle (arrays, numbers, strings, containers of them), "
                "build the rest inside a module-level function, or drop isolate=True / "
                "--sla-isolate",
            ),
        ],
    )
    result = _run(payload, timeout, onnx=False)
    tag = result[0]
    if tag == "ok":
        return _sampling(result[2])
    if tag == "raised":
        _reraise(result)
    raise WorkerFailedError(str(result[1]))


def run_onnx(
    model: object,
    *,
    feeds: Mapping[str, Any] | str | os.PathLike[str] | None,
    dims: Mapping[str, int] | None,
    providers: Sequence[Any] | None,
    session_options: Any,
    timing: Timing,
    timeout: float,
) -> tuple[Subject, Sampling]:
    """Load and time ``model`` in a worker process, as ``ort.prepare`` and ``Timing.run``.

    Raises ``ort.OnnxInputError`` (``ProviderUnavailableError``) for bad input, exactly as
    in-process, and :class:`IsolationError` when the worker gives no result.
    """
    from .ort import OnnxInputError, ProviderUnavailableError

    kind: str
    source: object
    if isinstance(model, (str, os.PathLike)):
        kind, source = "path", os.fspath(model)
    elif isinstance(model, (bytes, bytearray, memoryview)):
        kind, source = "bytes", bytes(model)
    elif hasattr(model, "run") and hasattr(model, "get_inputs"):
        raise NotSendableError(
            "an onnxruntime.InferenceSession cannot be sent to another process for isolation; "
            "pass the model's path (or its bytes, or the onnx.ModelProto) to sla.onnx(), with "
            "providers= and session_options= for the session, or drop isolate=True / "
            "--sla-isolate"
        )
    elif callable(getattr(model, "SerializeToString", None)):
        kind, source = "proto", model.SerializeToString()  # type: ignore[attr-defined]
    else:
        # Whatever it is, ort.prepare says what a model must be, as it does in-process.
        kind, source = "other", model
    options: Any = session_options
    if _is_session_options(session_options):
        options = _session_fields(session_options)
    job = _OnnxJob(kind, source, feeds, dims, providers, options, timing)
    plain = (
        "pass plain values (numpy arrays, numbers, strings, dicts of them), or drop "
        "isolate=True / --sla-isolate"
    )
    payload = _dumps(
        job,
        [
            (feeds, "feeds", plain),
            (dims, "dims", plain),
            (providers, "providers", plain),
            (options, "session_options", plain),
            (source, "the model", "pass the model's path (or its bytes), or drop isolate=True"),
        ],
    )
    result = _run(payload, timeout, onnx=True)
    tag = result[0]
    if tag == "ok":
        subject: Subject = result[1]
        subject = dataclasses.replace(subject, api=subject.api + ISOLATED)
        return subject, _sampling(result[2])
    if tag == "input":
        error = ProviderUnavailableError if result[2] else OnnxInputError
        raise error(result[1])
    if tag == "raised":
        _, _, name, message, _ = result
        raise WorkerFailedError(
            f"the worker process raised {name}: {message}" if message else f"raised {name}"
        )
    raise WorkerFailedError(str(result[1]))
