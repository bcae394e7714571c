"""Runners: how a measurement is taken, in this process or in an isolated one.

No pytest here. A job says *what* to measure (:class:`OnnxJob`, :class:`CallJob`); a
:class:`Timing` says how to sample it; a :class:`Runner` takes the measurement and returns
a :class:`Measured` (what was measured, and what the sampler observed). Both runners raise
the same errors for the same problems, so the pytest glue has one path:

* ``ort.OnnxInputError`` (``ProviderUnavailableError`` among them): bad input;
* :class:`ModelRunError`: the model raised when run with the feeds (one sentence);
* ``isolate.IsolationError``: an isolated worker gave no result (crash, hang, not sendable);
* anything a measured callable raises propagates as itself.

:class:`Isolated` sends the job to a worker process, which runs it with :class:`InProcess`:
one implementation of measuring, two places to run it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from .alone import ConcurrentError, Refused, alone
from .result import Subject
from .sampling import run_once, sample

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Iterator, Mapping

    from .loadspec import LoadSpec
    from .plan import SamplingPlan
    from .result import SlaResult
    from .sampling import Progress, Sampling
    from .schema import Advice, RevisionEntry

__all__ = [
    "AdviseRequest",
    "Against",
    "CallJob",
    "ConcurrentError",
    "InProcess",
    "Isolated",
    "Measured",
    "ModelRunError",
    "OnnxJob",
    "Refused",
    "Runner",
    "Timing",
    "TooLateError",
    "own_variants",
    "prepare",
]


class ModelRunError(Exception):
    """The model raised when run with the feeds; the message is one sentence."""


class TooLateError(Refused):
    """Fitted again once the model was loaded, the measurement could no longer end before
    a timeout (:attr:`Timing.refit`); the message is one sentence."""


#: ``on``: this thread is timing a call (:meth:`Timing.run`).
_RUNNING = threading.local()


def measuring() -> bool:
    """Whether this thread is timing a call now, or is a load thread serving one under
    ``rps=``: a measurement started from the measured code would time inside another's
    timing."""
    from .loadgen import LOAD_THREAD

    here = threading.current_thread().name.startswith(LOAD_THREAD)
    return here or bool(getattr(_RUNNING, "on", False))


@dataclass(frozen=True)
class Timing:
    """How to sample: the same rules in this process and in an isolated worker."""

    plan: SamplingPlan
    #: The budget in nanoseconds, or None to measure without a verdict.
    budget_ns: float | None
    #: The judged percentile as a fraction (0.99 for p99).
    quantile: float
    #: Call once, without warmup or verdict (``--sla-disable``).
    once: bool = False
    #: Told how a long measurement goes (this process only: an isolated worker gets none).
    progress: Callable[[Progress], None] | None = field(default=None, compare=False)
    #: Open-loop load (the marker's ``rps=``) and capacity search, or None.
    load: LoadSpec | None = None
    #: This timing made again at the start of :meth:`run` (this process only), or why
    #: no measurement can end in time any more: it was fitted to a timeout before the
    #: model was loaded, and a slow load (seconds, for a large model) took its room.
    refit: Callable[[], Timing | str] | None = field(default=None, compare=False)

    def run(self, call: Callable[[], object]) -> Sampling:
        """Time ``call``: warm up, sample (one call at a time, or under load), look at the
        verdict; then search the capacity, when asked. :func:`measuring` meanwhile."""
        __tracebackhide__ = True  # what ``call`` raises shows the test's line, then the call
        timing = self
        if self.refit is not None:
            again = self.refit()
            if isinstance(again, str):
                raise TooLateError(again)
            timing = dataclasses.replace(again, refit=None)
        before = measuring()
        with alone():
            _RUNNING.on = True
            try:
                return timing._run(call)
            finally:
                _RUNNING.on = before

    def _run(self, call: Callable[[], object]) -> Sampling:
        __tracebackhide__ = True
        if self.once:
            return run_once(call)
        load = self.load
        if load is not None and load.rps is not None:
            from .load import load_sample

            sampling = load_sample(
                call,
                load,
                self.plan,
                budget_ns=self.budget_ns,
                quantile=self.quantile,
                progress=self.progress,
            )
        else:
            sampling = sample(
                call,
                self.plan,
                budget_ns=self.budget_ns,
                quantile=self.quantile,
                progress=self.progress,
            )
        if load is not None and load.capacity and self.budget_ns is not None:
            from .capacity import with_capacity

            sampling = with_capacity(
                call,
                sampling,
                budget_ns=self.budget_ns,
                quantile=self.quantile,
                concurrency=load.concurrency,
                arrivals=load.arrivals,
                target_rps=load.rps,
                time_ns=load.capacity_time_ns,
            )
        return sampling


@dataclass(frozen=True)
class OnnxJob:
    """What ``sla.onnx()`` measures: a model, and how to feed and run it."""

    #: A path, bytes, an ``onnx.ModelProto``, an ``InferenceSession`` or an
    #: ``ort.ModelSource``.
    model: object
    feeds: Mapping[str, Any] | str | os.PathLike[str] | None = None
    dims: Mapping[str, int] | None = None
    providers: Any = None
    #: An ``onnxruntime.SessionOptions`` (or, sent to a worker, ``ort.options.SessionFields``).
    session_options: Any = None
    #: ``dims`` sizes other models too (``sla.compare()``): see ``ort.prepare``.
    shared_dims: bool = False


@dataclass(frozen=True)
class CallJob:
    """What ``sla.measure()`` measures: ``fn(*args, **kwargs)``."""

    fn: Callable[..., object]
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    #: The callable's name, for reports and messages.
    name: str = ""

    def subject(self) -> Subject:
        return Subject(kind="callable", name=self.name, api="fn(*args, **kwargs)")


def own_variants(models: object, isolated: bool) -> tuple[list[Any], list[Any], str | None]:
    """``sla.compare()``'s argument checked: (names, (name, model source) of each variant
    after the first, None), or with the sentence saying what is wrong."""
    from collections.abc import Mapping

    from . import ort

    names = list(models) if isinstance(models, Mapping) else []
    if len(names) < 2 or not all(isinstance(name, str) and name for name in names):
        shown = f"{type(models).__name__} {models!r}"[:120]
        bad = [name for name in names if not (isinstance(name, str) and name)]
        named = f" (a name that is {'empty' if bad[0] == '' else repr(bad[0])})" if bad else ""
        return (
            names,
            [],
            (
                "sla.compare() takes a dict of two or more models by name (non-empty "
                "strings), the reference first, e.g. sla.compare({'fp32': 'm.onnx', "
                f"'int8': 'm.int8.onnx'}}); got {shown}{named}"
            ),
        )
    assert isinstance(models, Mapping)
    own: list[Any] = []
    for name in names[1:]:
        try:
            described = ort.describe_model(models[name])
        except ort.OnnxInputError as exc:
            return names, own, f"sla.compare(): {name!r}: {exc}"
        if described.source is None and isolated:
            return (
                names,
                own,
                (
                    f"sla.compare(): {name!r}: an onnxruntime.InferenceSession cannot be sent to "
                    "an isolated worker; pass the model's path or bytes"
                ),
            )
        own.append((name, described))
    return names, own, None


def prepare(job: OnnxJob, model: object = None) -> Any:
    """``ort.prepare()`` for ``job`` (or for ``model`` with the job's feeds, providers and
    session options): the one place a job becomes a session, here or in a worker."""
    from . import ort
    from .ort.options import SessionFields

    options = job.session_options
    if isinstance(options, SessionFields):
        options = options.build()
    return ort.prepare(
        job.model if model is None else model,
        feeds=job.feeds,
        dims=job.dims,
        providers=job.providers,
        session_options=options,
        shared_dims=job.shared_dims,
    )


@dataclass(frozen=True, eq=False)
class Against:
    """The base revision a model is measured side by side with (``--sla-compare-ref``)."""

    ref: str  # the revision (or base folder), as the reports name it
    data: bytes | str  # the model's bytes there, or the path of a copy with its files
    sha256: str | None
    confidence: float
    #: The change of interest (the ``--sla-max-regression`` gate, as a fraction).
    delta: float
    #: A gate is set (``--sla-max-regression``): a likely regression is pursued to the
    #: time limit (see ``paired.sample_pair``).
    gated: bool = False


@dataclass(frozen=True)
class AdviseRequest:
    """What the advisor judges variants against: the original's budget and outcome."""

    subject: str  # the model, as reports name it
    budget_s: float | None
    budget: str | None  # the budget as written, e.g. "50 ms"
    margin: float | None  # the original's margin
    verdict: str | None  # the original's: pass, fail, inconclusive (None: no budget)
    stop: bool  # the original's band is "stop optimizing" (headroom, on real sizes)
    #: Seconds the quantizer may take in its own process before it is killed.
    quantize_timeout: float
    #: Variants the test made itself, (name, model), timed instead of the usual ones
    #: (``sla.compare()``).
    own: tuple[tuple[str, Any], ...] = ()
    #: When the advisor must end (``time.monotonic_ns()``, the same in a worker) and the
    #: timeout around the test that says so; None: no such timeout.
    until: tuple[int, str] | None = None
    #: The original was judged under load at this rate (``rps=``); the variants are timed
    #: one call at a time, so they get no margin of their own.
    load_rps: float | None = None

    @classmethod
    def of(
        cls,
        result: SlaResult,
        quantize_timeout: float,
        own: tuple[str, tuple[tuple[str, Any], ...]] | None = None,
        until: tuple[int, str] | None = None,
    ) -> AdviseRequest:
        """The request for ``result``'s model; with ``own`` (``sla.compare()``: the name
        of the model measured and the test's other variants), for those."""
        from . import fmt

        budget = result.budget
        return cls(
            subject=result.subject.name if own is None else f"{own[0]} ({result.subject.name})",
            budget_s=budget.seconds if budget is not None else None,
            budget=fmt.budget(budget.value, budget.unit) if budget is not None else None,
            margin=result.margin,
            verdict=result.verdict.value if result.verdict is not None else None,
            stop=result.band == "headroom",
            quantize_timeout=quantize_timeout,
            own=() if own is None else own[1],
            until=until,
            load_rps=result.sampling.load.target_rps if result.sampling.load else None,
        )


@dataclass(frozen=True, eq=False)
class Measured:
    """One measurement taken: what was measured, and what the sampler observed."""

    subject: Subject
    sampling: Sampling


class Runner(Protocol):
    """Takes measurements. Implementations: :class:`InProcess` and :class:`Isolated`."""

    def onnx(self, job: OnnxJob, timing: Timing) -> Measured:
        """Load, feed and time the model."""
        ...

    def callable(self, job: CallJob, timing: Timing) -> Measured:
        """Time the callable."""
        ...

    def compare(self, job: OnnxJob, against: Against, timing: Timing) -> RevisionEntry:
        """Measure the model of ``job`` and its base revision side by side: the same
        feeds, providers and session options, interleaved blocks."""
        ...

    def advise(self, job: OnnxJob, request: AdviseRequest, timing: Timing) -> Advice:
        """Time the usual variants of the model side by side with it, and advise."""
        ...


class InProcess:
    """Measures in this process: nothing between the timer and the call."""

    def onnx(self, job: OnnxJob, timing: Timing) -> Measured:
        from . import ort
        from .load import ConcurrentCallError, LoadError

        prepared = prepare(job)
        before = _tracer()
        try:
            sampling = timing.run(prepared.call)
        except Refused:  # (before RUN_ERRORS, which is every Exception: not the model's)
            raise
        except ort.RUN_ERRORS as exc:
            raise ModelRunError(ort.explain_run_error(exc, prepared)) from None
        except ConcurrentCallError as exc:
            cause = exc.__cause__
            if not isinstance(cause, ort.RUN_ERRORS):
                raise ModelRunError(f"under load: {exc}") from None
            raise ModelRunError(
                f"under load ({exc.running} calls of it ran at once): "
                + ort.explain_run_error(cause, prepared)
            ) from None
        except LoadError as exc:
            raise ModelRunError(f"under load: {exc}") from None
        return Measured(_traced(prepared.subject, before), sampling)

    def compare(self, job: OnnxJob, against: Against, timing: Timing) -> RevisionEntry:
        from . import ort
        from .revision import base_not_ours, compare_calls

        made = {}
        ref = against.ref
        not_ours = base_not_ours(ref)
        for side, source in (("head", job.model), ("base", against.data)):
            try:
                made[side] = prepare(job, source)
            except ort.OnnxInputError as exc:
                if side == "head":
                    raise
                raise ort.OnnxInputError(
                    f"the model at {ref} cannot be compared with these inputs: {exc} {not_ours}"
                ) from None
        try:
            with alone():
                return compare_calls(
                    made["base"].call,
                    made["head"].call,
                    timing.plan,
                    ref=against.ref,
                    base_sha256=against.sha256,
                    quantile=timing.quantile,
                    confidence=against.confidence,
                    delta=against.delta,
                    pursue=against.gated,
                )
        except Refused:
            raise
        except ort.RUN_ERRORS as exc:
            side, told = ort.pair_run_error(exc, made["base"], made["head"], f"at {ref}")
            where = f"measured side by side with {ref}: "
            raise ModelRunError(
                where + (f"the {told} {not_ours}" if side == "base" else told)
            ) from None

    def advise(self, job: OnnxJob, request: AdviseRequest, timing: Timing) -> Advice:
        from .advise_onnx import advise_model

        with alone():
            return advise_model(job, request, timing)

    def callable(self, job: CallJob, timing: Timing) -> Measured:
        __tracebackhide__ = True
        # partial() is C code: binding arguments adds tens of nanoseconds, not a frame.
        call: Callable[[], object] = (
            functools.partial(job.fn, *job.args, **job.kwargs) if job.args or job.kwargs else job.fn
        )
        before = _tracer()
        sampling = timing.run(call)
        return Measured(_traced(job.subject(), before), sampling)


@dataclass(frozen=True)
class Isolated:
    """Measures in a spawned worker process, so a native crash or a hang fails one test."""

    #: Seconds the worker may take, start-up included, before it is killed.
    timeout: float
    #: A timeout around the test that cut ``timeout`` below ``sla_timeout`` (its name).
    cut_by: str | None = None

    def onnx(self, job: OnnxJob, timing: Timing) -> Measured:
        from . import isolate_onnx

        with self._killed():
            measured = isolate_onnx.run_onnx(job, timing, self.timeout)
        return Measured(_isolated(measured.subject), measured.sampling)

    def callable(self, job: CallJob, timing: Timing) -> Measured:
        from . import isolate

        __tracebackhide__ = True
        with self._killed():
            measured = isolate.run_callable(job, timing, self.timeout)
        return Measured(_isolated(measured.subject), measured.sampling)

    def compare(self, job: OnnxJob, against: Against, timing: Timing) -> RevisionEntry:
        from . import isolate_onnx

        with self._killed():
            return isolate_onnx.run_compare(job, against, timing, self.timeout)

    def advise(self, job: OnnxJob, request: AdviseRequest, timing: Timing) -> Advice:
        from . import isolate_onnx

        with self._killed():
            return isolate_onnx.run_advise(job, request, timing, self.timeout)

    @contextlib.contextmanager
    def _killed(self) -> Iterator[None]:
        """A worker killed at a timeout cut short by ``cut_by`` says so. No other thread
        of this process times while the worker does (:func:`~.alone.alone`)."""
        from .isolate import WorkerTimeoutError

        try:
            with alone():
                yield
        except WorkerTimeoutError:
            if self.cut_by is None:
                raise
            raise WorkerTimeoutError(
                f"timed out: the isolated measurement did not finish, so its worker process "
                f"was killed after {self.timeout:.1f} s, to end before {self.cut_by}; if the "
                "code is just slow, raise that timeout"
            ) from None


def _tracer() -> str | None:
    from .environment import active_tracer

    return active_tracer()


def _traced(subject: Subject, before: str | None) -> Subject:
    """``subject`` with what traced Python code in this thread as it was timed: there
    when the timing began (``before``), or when it ended (the timed code set one)."""
    tracer = _tracer() or before
    return subject if tracer is None else dataclasses.replace(subject, tracer=tracer)


def _isolated(subject: Subject) -> Subject:
    return dataclasses.replace(subject, isolated=True)
