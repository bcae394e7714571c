"""Measure in a separate process, so a native crash or a hang fails one test, not the run.

No pytest here. The parent pickles a job (an ONNX model with its settings, or a callable
with its arguments, and how to sample), starts a worker with multiprocessing's *spawn*
context and waits for the result with a timeout. Never *fork*: onnxruntime keeps thread
pools, and a forked copy of a threaded process can deadlock (Python warns about it).

The worker measures with :class:`~pytest_latency_sla.runner.InProcess`, after its own
warmup, exactly as an in-process measurement does; starting it costs the parent a few
hundred milliseconds of wall time and the measurement nothing. What comes back is a
:class:`~pytest_latency_sla.runner.Measured`, the same value an in-process run judges.
Messages between the processes are frozen dataclasses (:class:`Done`, :class:`BadInput`,
:class:`RunFailed`, :class:`Raised`), never tuples read by position. A worker that dies
by a signal, exits, or outlives the timeout raises an :class:`IsolationError` whose
message is one sentence for the test's failure; a worker killed for its timeout is
reaped before this module returns.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import secrets
import signal
import sys
import threading
import time
import traceback
import warnings
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from .leftovers import LEFTOVER_ENV, START_LOCK, kill_leftovers, kill_with_descendants

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from multiprocessing.connection import Connection

    from .runner import CallJob, Measured, OnnxJob, Timing
    from .schema import RevisionEntry

__all__ = [
    "BadInput",
    "Compared",
    "Done",
    "IsolatedCallError",
    "IsolationError",
    "Made",
    "NotSendableError",
    "Raised",
    "RemoteTraceback",
    "RunFailed",
    "WorkerCrashedError",
    "WorkerFailedError",
    "WorkerTimeoutError",
    "run_callable",
]

#: How long a worker that sent its result may take to exit before it is killed.
_EXIT_GRACE_S = 5.0


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


# --- messages: what a worker sends back ---------------------------------------------------


@dataclass(frozen=True)
class Done:
    """Measured."""

    measured: Measured


@dataclass(frozen=True)
class BadInput:
    """``ort.OnnxInputError``, rebuilt in the parent with the same message."""

    message: str
    #: A ``ProviderUnavailableError`` (which skips the test rather than failing it).
    provider_unavailable: bool


@dataclass(frozen=True)
class RunFailed:
    """A sentence for the test's failure: a model that raised, code that could not load."""

    message: str
    #: The model raised when run (``runner.ModelRunError``), as opposed to the worker
    #: failing to load what it was to measure.
    model_raised: bool = False


@dataclass(frozen=True)
class Raised:
    """The measured code raised: the exception (pickled when it can be) and its traceback."""

    pickled: bytes | None
    type_name: str
    message: str
    traceback: str
    #: Which call raised it (``callables.raised_at``), or None.
    where: str | None = None
    #: pytest's skip or fail, which pickle cannot carry (its class names no module), as
    #: (class name, message, pytrace): raised again here as pytest's own.
    outcome: tuple[str, str | None, bool] | None = None


@dataclass(frozen=True)
class Compared:
    """Measured side by side with the base revision."""

    entry: RevisionEntry


@dataclass(frozen=True)
class Made:
    """A value the worker made (a quantized model's bytes, an advice)."""

    value: Any


Reply = Done | Compared | Made | BadInput | RunFailed | Raised


@dataclass(frozen=True)
class _Task:
    """What the parent sends: a job to run with :class:`~pytest_latency_sla.runner.InProcess`."""

    job: OnnxJob | CallJob
    timing: Timing
    #: The test's warning filters (``-W error``, ``filterwarnings`` marks, pytest's own)
    #: as (action, message, category's module and name, module, line), in order: ``error``
    #: stays an error, every other action is ``ignore`` here (pytest's ``always`` ones
    #: printed every call's warning to stderr: 42,457 lines, and slower calls; dropped,
    #: a ``default::UserWarning`` before an ``error`` no longer kept it from raising).
    warning_filters: tuple[tuple[str, str, str, str, str, int], ...] = ()

    def run(self) -> Reply:
        from .ort import OnnxInputError, ProviderUnavailableError
        from .runner import InProcess, ModelRunError, OnnxJob

        for action, message, home, name, module, line in reversed(self.warning_filters):
            # A category is taken from its module only when the job's loading imported it:
            # none is imported for it (a conftest's top-level code would run here).
            category = getattr(sys.modules.get(home), name, None)
            if isinstance(category, type) and issubclass(category, Warning):
                kind: Literal["error", "ignore"] = "error" if action == "error" else "ignore"
                warnings.filterwarnings(kind, message, category, module, line)
        runner = InProcess()
        if not isinstance(self.job, OnnxJob):
            return Done(runner.callable(self.job, self.timing))
        try:
            return Done(runner.onnx(self.job, self.timing))
        except OnnxInputError as exc:
            return BadInput(str(exc), isinstance(exc, ProviderUnavailableError))
        except ModelRunError as exc:
            return RunFailed(str(exc), model_raised=True)


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


def _raised(exc: BaseException) -> Raised:
    from .callables import where_raised

    where = where_raised(exc)  # (taken off before pickling; marked again in the parent)
    try:
        data: bytes | None = pickle.dumps(exc)
    except Exception:
        data = None
    try:
        message = str(exc)
    except Exception:  # (a __str__ that raises: Python's own words for it)
        message = "<exception str() failed>"
    outcome = None
    if any(kind.__module__ == "_pytest.outcomes" for kind in type(exc).__mro__):
        said = getattr(exc, "msg", None)
        said = said if isinstance(said, str) else None
        outcome = (type(exc).__name__, said, bool(getattr(exc, "pytrace", True)))
    name = type(exc).__qualname__
    return Raised(data, name, message, _traceback_text(exc), where, outcome)


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


def _ignore(signum: int, frame: object) -> None:
    """A SIGINT handler that does nothing (not SIG_IGN, which programs started inherit)."""


def _exit_past_threads() -> None:
    """Exit at once, the result sent, when the measured code left a thread that is not a
    daemon: the interpreter would wait for it, and the parent kill the worker after
    ``_EXIT_GRACE_S``."""
    main = threading.main_thread()
    if any(t is not main and t.is_alive() and not t.daemon for t in threading.enumerate()):
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(0)


def _worker(conn: Connection, payload: bytes, parent: int) -> None:
    """The worker process: load the task, run it, send the reply back."""
    _die_with_parent(parent)
    # Ctrl-C at a terminal reaches the whole process group: the parent stops the run and
    # kills this worker, which would only print a second traceback. A KeyboardInterrupt
    # raised here is then the measured code's own, reported as any exception it raises.
    signal.signal(signal.SIGINT, _ignore)
    import faulthandler

    # A native crash then prints the Python stack to stderr (captured with the test);
    # the signal is re-raised, so the exit code still names it.
    faulthandler.enable()
    try:
        try:
            task = pickle.loads(payload)
        except Exception as exc:
            reply: Reply = RunFailed(
                "the worker process could not load what it was to measure "
                f"({type(exc).__name__}: {exc}); it must be importable by its module's name "
                "in a fresh interpreter (a function at module level of a test file collected "
                "with pytest's default import mode, or of a module on sys.path)"
            )
        else:
            try:
                reply = task.run()
            except BaseException as exc:  # SystemExit and pytest outcomes too: report them
                reply = _raised(exc)
        try:
            data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            data = pickle.dumps(_raised(exc))
        conn.send_bytes(data)
    finally:
        conn.close()
    _exit_past_threads()


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


def _crash_message(exitcode: int | None, onnx: bool, who: str | None = None) -> str:
    if who is not None:
        if exitcode is not None and exitcode < 0:
            return f"{who} crashed, {_signal_name(-exitcode)} (exit code {exitcode})"
        return f"{who} ended its process, exit code {exitcode}"
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


def _run(payload: bytes, timeout: float, onnx: bool, who: str | None = None) -> Reply:
    """Run a pickled job in a spawned worker; its result, or an IsolationError."""
    import multiprocessing
    from multiprocessing import connection

    context = multiprocessing.get_context("spawn")
    reader, writer = context.Pipe(duplex=False)
    token = secrets.token_hex(8)
    process = context.Process(
        target=_worker, args=(writer, payload, os.getpid()), name="pytest-latency-sla-worker"
    )
    data: bytes | None = None
    timed_out = False
    try:
        # The token in the environment the worker starts with (not set in it: a child it
        # forks copies that first environment, which /proc shows). Not in that of the
        # resource tracker multiprocessing starts beside the first worker: it stays.
        if sys.platform != "win32":
            from multiprocessing import resource_tracker

            resource_tracker.ensure_running()
        with START_LOCK:
            before = os.environ.get(LEFTOVER_ENV)
            os.environ[LEFTOVER_ENV] = token
            try:
                process.start()
            finally:
                if before is None:
                    del os.environ[LEFTOVER_ENV]
                else:
                    os.environ[LEFTOVER_ENV] = before
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
            kill_with_descendants(process.pid)
            process.kill()
            process.join()
        writer.close()  # already closed unless start() failed; closing twice is harmless
        reader.close()
        exitcode = process.exitcode
        process.close()
        kill_leftovers(token)
    if timed_out:
        raise WorkerTimeoutError(_timeout_message(timeout))
    if data is None:
        raise WorkerCrashedError(_crash_message(exitcode, onnx, who))
    # A result that came back stands, even if the worker crashed while exiting.
    try:
        result: Reply = pickle.loads(data)
    except Exception as exc:
        raise WorkerFailedError(
            f"the worker's result could not be read back ({type(exc).__name__}: {exc})"
        ) from None
    return result


def _measured(reply: Done) -> Measured:
    reply.measured.sampling.samples_ns.setflags(write=False)
    return reply.measured


def _reraise(reply: Raised) -> None:
    """Raise what the measured callable raised in the worker, with its traceback."""
    __tracebackhide__ = True
    exc: BaseException | None = None
    if reply.pickled is not None:
        try:
            exc = pickle.loads(reply.pickled)
        except Exception:
            exc = None
    outcomes = sys.modules.get("_pytest.outcomes")  # (loaded wherever pytest runs)
    if exc is None and reply.outcome is not None and outcomes is not None:
        kind = getattr(outcomes, reply.outcome[0], None)
        if isinstance(kind, type) and issubclass(kind, BaseException):
            build: Callable[..., BaseException] = kind  # (its own arguments: pytrace=)
            exc = build(reply.outcome[1], pytrace=reply.outcome[2])
    if not isinstance(exc, BaseException) or isinstance(exc, KeyboardInterrupt):
        # A KeyboardInterrupt is the measured code's own (the worker ignores Ctrl-C): here
        # it would stop the whole run, as if the user had pressed Ctrl-C.
        name, message = reply.type_name, reply.message
        exc = IsolatedCallError(f"{name}: {message}" if message else name)
    if reply.where is not None:
        from .callables import raised_at

        raised_at(exc, reply.where)
    raise exc from RemoteTraceback(f'\n"""\n{reply.traceback}"""')


def run_callable(job: CallJob, timing: Timing, timeout: float) -> Measured:
    """Time ``job`` in a worker process.

    Raises :class:`IsolationError` when the worker gives no result; what the callable raised
    is raised here, with the worker's traceback as cause.
    """
    __tracebackhide__ = True
    import dataclasses

    job = dataclasses.replace(job, args=tuple(job.args), kwargs=dict(job.kwargs))
    advice = (
        "define it at module level of the test file (not a lambda or a nested function), "
        "pass functools.partial(module_level_function, ...), or drop isolate=True / "
        "--sla-isolate"
    )
    payload = _dumps(
        _task(job, timing),
        [
            (job.fn, f"the callable {job.name}", advice),
            (
                (job.args, job.kwargs),
                f"an argument to {job.name}",
                "pass values that pickle (arrays, numbers, strings, containers of them), "
                "build the rest inside a module-level function, or drop isolate=True / "
                "--sla-isolate",
            ),
        ],
    )
    reply = _run(payload, timeout, onnx=False)
    if isinstance(reply, Done):
        return _measured(reply)
    if isinstance(reply, Raised):
        _reraise(reply)
    raise WorkerFailedError(reply.message if isinstance(reply, (RunFailed, BadInput)) else "")


def _task(job: OnnxJob | CallJob, timing: Timing) -> _Task:
    # A progress callback lives in this process; the worker reports none. The warning
    # filters in force (pytest's, around the test) apply there as here: under -W error a
    # warning of the measured code failed its test in-process and passed isolated.
    filters = [
        (action, _pattern(text), kind.__module__, kind.__qualname__, _pattern(module), line)
        for action, text, kind, module, line in warnings.filters
        if isinstance(kind, type)
    ]
    return _Task(job, replace(timing, progress=None, refit=None), tuple(filters))


def _pattern(given: object) -> str:
    """A warning filter's message or module as text (compiled, or a plain string)."""
    return str(getattr(given, "pattern", given) or "")
