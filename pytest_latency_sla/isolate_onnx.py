"""Isolation for ONNX models: a model measured, compared with its base revision or
advised on in a worker process, and the int8 quantizer run in one.

The worker machinery (spawning, timeouts, crash messages, replies) is
:mod:`pytest_latency_sla.isolate`'s; this module sends ONNX jobs through it and turns
what comes back into what in-process measuring would raise or return.
"""

from __future__ import annotations

import math
import pickle
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, NoReturn

from .isolate import (
    BadInput,
    Compared,
    Done,
    IsolationError,
    Made,
    NotSendableError,
    Raised,
    Reply,
    RunFailed,
    WorkerFailedError,
    WorkerTimeoutError,
    _dumps,
    _measured,
    _run,
    _task,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from .runner import AdviseRequest, Against, Measured, OnnxJob, Timing
    from .schema import Advice, RevisionEntry

#: Within a timeout around the test, a cold start left less than this is not made (s).
_COLD_START_MIN_S = 1.0

__all__ = ["run_advise", "run_cold", "run_compare", "run_onnx", "run_quantize"]


@dataclass(frozen=True)
class _ColdTask:
    """What the parent sends to time a cold start: create the session, run one call,
    and (when ``idle_gap_s``) idle that long and time one more."""

    job: OnnxJob
    idle_gap_s: float | None

    def run(self) -> Reply:
        import time

        from . import ort
        from .runner import prepare

        try:
            prepared = prepare(self.job)
        except ort.OnnxInputError as exc:
            return BadInput(str(exc), isinstance(exc, ort.ProviderUnavailableError))
        try:
            started = time.perf_counter_ns()
            prepared.call()
            first = time.perf_counter_ns() - started
            after: int | None = None
            if self.idle_gap_s:
                time.sleep(self.idle_gap_s)
                started = time.perf_counter_ns()
                prepared.call()
                after = time.perf_counter_ns() - started
        except ort.RUN_ERRORS as exc:
            return RunFailed(ort.explain_run_error(exc, prepared), model_raised=True)
        return Made((prepared.created_ns, first, after))


@dataclass(frozen=True)
class _CompareTask:
    """What the parent sends to compare a model with its base revision side by side."""

    job: OnnxJob
    against: Against
    timing: Timing

    def run(self) -> Reply:
        from .ort import OnnxInputError, ProviderUnavailableError
        from .runner import InProcess, ModelRunError

        try:
            return Compared(InProcess().compare(self.job, self.against, self.timing))
        except OnnxInputError as exc:
            return BadInput(str(exc), isinstance(exc, ProviderUnavailableError))
        except ModelRunError as exc:
            return RunFailed(str(exc), model_raised=True)


@dataclass(frozen=True)
class _QuantizeTask:
    """What the parent sends to quantize a model: its path or bytes, and the quantizer
    (a module-level function, sent by reference)."""

    source: bytes | str
    quantize: Callable[[bytes | str], bytes]

    def run(self) -> Reply:
        try:
            return Made(self.quantize(self.source))
        except Exception as exc:
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            said = f"the quantizer raised {type(exc).__name__}: {detail}".rstrip(": ")
            if "to be an initializer" in detail:  # (a trial's SqueezeNet: no hint said why)
                said += (
                    " (onnxruntime's int8 quantizer needs a weight stored in the model as an "
                    "initializer; this model computes it in its graph or takes it as an input)"
                )
            return RunFailed(said)


@dataclass(frozen=True)
class _AdviseTask:
    """What the parent sends to time a model's variants beside it (``--sla-advise``)."""

    job: OnnxJob
    request: AdviseRequest
    timing: Timing

    def run(self) -> Reply:
        from .ort import OnnxInputError, ProviderUnavailableError
        from .runner import InProcess

        try:
            return Made(InProcess().advise(self.job, self.request, self.timing))
        except OnnxInputError as exc:
            return BadInput(str(exc), isinstance(exc, ProviderUnavailableError))


def _sendable(job: OnnxJob) -> tuple[OnnxJob, list[tuple[object, str, str]]]:
    """``job`` as a worker can receive it (the model as a source, session options as
    plain fields) and its parts for :func:`_dumps` to name when one does not pickle."""
    import dataclasses

    from .ort import describe_model
    from .ort.options import is_session_options, to_fields

    model = describe_model(job.model)
    if model.source is None:
        raise NotSendableError(
            "an onnxruntime.InferenceSession cannot be sent to another process for isolation; "
            "pass the model's path (or its bytes, or the onnx.ModelProto) to sla.onnx(), with "
            "providers= and session_options= for the session, or drop isolate=True / "
            "--sla-isolate"
        )
    options: Any = job.session_options
    if is_session_options(options):
        options = to_fields(options)
    job = dataclasses.replace(job, model=model, session_options=options)
    plain = (
        "pass plain values (numpy arrays, numbers, strings, dicts of them), or drop "
        "isolate=True / --sla-isolate"
    )
    parts: list[tuple[object, str, str]] = [
        (job.feeds, "feeds", plain),
        (job.dims, "dims", plain),
        (job.providers, "providers", plain),
        (options, "session_options", plain),
    ]
    return job, parts


def _raise_onnx(reply: Reply) -> NoReturn:
    """Raise, for a reply of an ONNX task that did not measure, what in-process would."""
    from .ort import OnnxInputError, ProviderUnavailableError
    from .runner import ModelRunError

    if isinstance(reply, BadInput):
        error = ProviderUnavailableError if reply.provider_unavailable else OnnxInputError
        raise error(reply.message)
    if isinstance(reply, RunFailed) and reply.model_raised:
        raise ModelRunError(reply.message)
    if isinstance(reply, Raised):
        raise WorkerFailedError(
            f"the worker process raised {reply.type_name}: {reply.message}"
            if reply.message
            else f"raised {reply.type_name}"
        )
    raise WorkerFailedError(reply.message if isinstance(reply, RunFailed) else repr(reply))


def run_onnx(job: OnnxJob, timing: Timing, timeout: float) -> Measured:
    """Load and time the model of ``job`` in a worker process, as in-process.

    Raises ``ort.OnnxInputError`` (``ProviderUnavailableError``) for bad input, exactly as
    in-process (the model is checked here first, by the same code), ``runner.ModelRunError``
    when the model raised, and :class:`IsolationError` when the worker gives no result.
    """
    job, parts = _sendable(job)
    reply = _run(_dumps(_task(job, timing), parts), timeout, onnx=True)
    if isinstance(reply, Done):
        return _measured(reply)
    _raise_onnx(reply)


def run_compare(job: OnnxJob, against: Against, timing: Timing, timeout: float) -> RevisionEntry:
    """Measure the model of ``job`` and its base revision side by side in a worker
    process (``runner.InProcess.compare`` there); raises as :func:`run_onnx` does."""
    job, parts = _sendable(job)
    task = _CompareTask(job, against, replace(timing, progress=None, refit=None))
    reply = _run(_dumps(task, parts), timeout, onnx=True)
    if isinstance(reply, Compared):
        return reply.entry
    _raise_onnx(reply)


def run_advise(job: OnnxJob, request: AdviseRequest, timing: Timing, timeout: float) -> Advice:
    """The advisor (``runner.InProcess.advise``) in a worker process; raises as
    :func:`run_onnx` does."""
    job, parts = _sendable(job)
    task = _AdviseTask(job, request, replace(timing, progress=None, refit=None))
    reply = _run(_dumps(task, parts), timeout, onnx=True)
    if isinstance(reply, Made):
        advice: Advice = reply.value
        return advice
    _raise_onnx(reply)


def run_quantize(
    source: bytes | str, timeout: float, quantize: Callable[[bytes | str], bytes] | None = None
) -> bytes:
    """The int8 model made by ``quantize`` (default ``ort.variants.quantize_int8``) in a
    worker process: a quantizer that crashes or hangs raises :class:`IsolationError`
    ("the quantizer crashed, SIGSEGV (exit code -11)"), one that fails
    :class:`WorkerFailedError` with its sentence; this process goes on either way."""
    if quantize is None:
        from .ort import variants

        quantize = variants.quantize_int8
    reply = _run(
        pickle.dumps(_QuantizeTask(source, quantize), protocol=pickle.HIGHEST_PROTOCOL),
        timeout,
        onnx=True,
        who="the quantizer",
    )
    if isinstance(reply, Made) and isinstance(reply.value, bytes):
        return reply.value
    if isinstance(reply, RunFailed):
        raise WorkerFailedError(reply.message)
    if isinstance(reply, Raised):
        raise WorkerFailedError(f"the quantizer raised {reply.type_name}: {reply.message}")
    raise WorkerFailedError(f"the quantizer gave no model ({type(reply).__name__})")


def _cold_timeout(wait: float, timeout: float, cut_by: str | None) -> str:
    """Why a cold start's fresh process was killed: ``sla_timeout``, or (``cut_by``) its
    share of what a timeout around the test left."""
    killed = (
        f"a fresh process did not create the session and time its first call in the "
        f"{wait:.3g} s it had, so it was killed"
    )
    if cut_by is not None:
        return f"{killed} (its share of what {cut_by} left): raise that, or drop cold_ms="
    raised = f"{max(timeout * 2, 1):g}"
    return (
        f"{killed} (sla_timeout: {timeout:g} s, and the first process's idle gap); if the "
        f"model is just slow to load, raise the limit, e.g. --sla-timeout={raised} or "
        f"sla_timeout = {raised} in the ini file"
    )


def run_cold(
    job: OnnxJob,
    runs: int,
    idle_gap_s: float,
    timeout: float,
    until: tuple[int, str] | None = None,
) -> tuple[list[tuple[int, int]], int | None]:
    """Cold starts of the model of ``job``: ``runs`` fresh worker processes, one after
    another, each creating the session and timing its first call; the first also times
    a call after ``idle_gap_s`` of idling. Returns ((creation ns, first call ns) per
    process, the after-idle call's ns); raises as :func:`run_onnx` does. ``until``: when
    the last must have ended (``time.monotonic_ns()``) and the timeout that says so: each
    worker's timeout is cut to its share of what is left, and too little left is an
    :class:`IsolationError` saying so."""
    job, parts = _sendable(job)
    found: list[tuple[int, int]] = []
    after_idle: int | None = None
    for number in range(runs):
        gap = idle_gap_s if number == 0 else None
        wait = timeout + (gap or 0.0)  # the idle gap on top (sla_timeout could never fit it)
        if until is not None:
            # An equal share of what is left to each start still to make (the first's
            # idle gap on top of its share).
            idle = gap or 0.0
            left = (until[0] - time.monotonic_ns()) / 1e9
            share = (left - idle) / (runs - number)
            if share < _COLD_START_MIN_S:
                # "No time" read wrong with seconds left: too few for what each start needs.
                more = number + 1 < runs
                each = f"{_COLD_START_MIN_S:g} s{' each' if more else ''}"
                each += f", and {idle:.3g} s idle" if idle else ""
                which = f"s {number + 1}-{runs}" if more else f" {runs}"
                shown = math.floor(max(0.0, left) * 10) / 10  # (never more than was left)
                raise IsolationError(
                    f"{until[1]} left {shown:.1f} s, too little for cold start{which} "
                    f"of {runs} ({each}): raise it, or drop cold_ms="
                )
            wait = min(timeout, share) + idle
        task = _ColdTask(job, gap)
        try:
            reply = _run(_dumps(task, parts), wait, onnx=True)
        except WorkerTimeoutError:
            cut_by = until[1] if until is not None and wait - (gap or 0.0) < timeout else None
            raise WorkerTimeoutError(_cold_timeout(wait, timeout, cut_by)) from None
        if not isinstance(reply, Made):
            _raise_onnx(reply)
        created, first, after = reply.value
        found.append((int(created), int(first)))
        if after is not None:
            after_idle = int(after)
    return found, after_idle
