"""Warmup and chunked timing of a callable, with looks at the verdict between chunks.

No pytest and no onnxruntime here: the sampler takes any zero-argument callable, an
injectable clock (``time.perf_counter_ns`` by default) and an injectable machine (what
the machine did during each chunk, see ``machine.py``), so the whole procedure can be
driven deterministically by a synthetic latency source in tests. The verdict itself is
``verdict.judge``'s.
"""

from __future__ import annotations

import collections
import gc
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .callables import raised_at
from .machine import NoMachine, default_machine
from .plan import DEFAULT_PERCENTILE, SamplingPlan
from .stats import Decision, min_samples_to_pass
from .verdict import Ledger, judge, projection, thresholds

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy.typing as npt

    from .loadspec import LoadStats
    from .machine import Machine

__all__ = ["Progress", "Sampler", "Sampling", "SamplingPlan", "run_once", "sample"]

#: Upper bound on the calls in one chunk, so the caps are checked often enough.
_MAX_CHUNK_CALLS = 10_000
#: Warmup calls kept for the steady ledger: the last ones before sampling.
_STEADY_KEPT = 1_000_000
#: The first look at a verdict (a clear miss needs few samples) ...
_FIRST_LOOK = 16
#: ... then a look each time the calls grow by this factor, or this share of the elapsed
#: time passes: the evidence is valid at every look, so looks cost only computing time.
_LOOK_GROWTH = 1.1
_LOOK_TIME_SHARE = 0.05
#: A projection of the time to a verdict is stretched by this much (the shares drift).
PROJECTION_SLACK = 1.15
#: Past max_time, a verdict projected within this many times the time limit is sampled
#: toward, up to it (an estimate: the calls to come move it); a look there stops past
#: LOOK_REACH times that (it wanders: at 1x 11% of near-budget verdicts were lost, 3x 1.2%).
PROJECTION_REACH, LOOK_REACH = 1.5, 3.0
#: Progress is reported once sampling has gone on this long, then this often.
PROGRESS_AFTER_NS = 5_000_000_000
#: Which call it was, when the first raised (see ``callables.raised_at``).
COLD_CALL = "call 1, the cold start, timed before the warmup"


# eq=False: the generated __eq__ would compare arrays (an error) and __hash__ hash them.
@dataclass(frozen=True, eq=False)
class Sampling:
    """What the sampler observed: raw timings and how it stopped."""

    #: Steady-state timings of each call, in nanoseconds, in call order (read-only).
    samples_ns: npt.NDArray[np.int64]
    #: The first call, timed apart: a cold-start figure, never a sample.
    cold_start_ns: int
    #: Calls made to warm up (after the cold call), and how long they took.
    warmup_calls: int
    warmup_ns: int
    #: Wall time of the sampling phase (warmup excluded).
    duration_ns: int
    #: How many chunks the samples were taken in, and how many verdict looks were made.
    chunks: int
    looks: int
    #: Why sampling stopped: decided; max_time (undecided, and the calls so far projected
    #: no verdict within reach of time_limit); time_limit (sampled past max_time toward a
    #: projected verdict, and reached time_limit undecided); unreachable (sampled past
    #: max_time toward a projected verdict, which then moved out of that reach);
    #: max_samples; or measured (no budget).
    stop_reason: str
    #: Cost of one back-to-back clock read, included in every sample (not subtracted).
    timer_overhead_ns: int
    #: The last look (None without a budget).
    decision: Decision | None = field(default=None)
    #: Undecided: the calls a verdict would have needed, projected from the shares seen
    #: (None when decided, or when no verdict was in sight at all).
    needed_calls: int | None = None
    #: The sampling time limit in force (``time_limit``, or ``max_time`` if that is more).
    limit_ns: int = 0
    #: The sampling time after which a verdict is pursued only while projected within
    #: reach (``max_time``: the marker's or the setting's, as a timeout cut it; a load
    #: run's minimum duration, if that is longer); 0 when there was none.
    max_time_ns: int = 0
    #: The cap on timed calls in force (``max_samples``); 0 when none was set.
    max_samples: int = 0
    #: An open-loop load run (the marker's ``rps=``) or a capacity search: what the load
    #: did; None for calls timed one at a time alone.
    load: LoadStats | None = None


@dataclass(frozen=True)
class Progress:
    """How a long measurement is going, for a progress line (see ``Sampler.progress``)."""

    elapsed_ns: int
    calls: int
    #: Calls a verdict would need at the shares seen so far, or None when not in sight.
    needed_calls: int | None
    #: Cost of a call lately, in ns.
    per_call_ns: float
    #: Under load (``rps=``): the requests per second issued; ``calls`` are then requests
    #: judged so far, and the time a verdict needs follows from the rate.
    rate: float | None = None
    #: Without a budget: it stops at ``needed_calls`` or at this time (``max_time``, ns).
    until_ns: int | None = None


def _timer_overhead(clock: Callable[[], int]) -> int:
    best = None
    for _ in range(200):
        t0 = clock()
        t1 = clock()
        if best is None or t1 - t0 < best:
            best = t1 - t0
    return max(0, best or 0)


def sample(
    call: Callable[[], object],
    plan: SamplingPlan,
    *,
    budget_ns: float | None = None,
    quantile: float | None = None,
    clock: Callable[[], int] = time.perf_counter_ns,
    manage_gc: bool = True,
    machine: Machine | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> Sampling:
    """Time ``call`` until the verdict on ``budget_ns`` at ``quantile`` is decided.

    ``quantile`` is a fraction (0.99 for p99). Without a budget the sampler collects the
    samples a verdict at ``quantile`` would need at its first look (and ``min_time``),
    then stops.
    The young generations are collected before timing and the collector stays disabled
    while timing; its state is restored afterwards, also when ``call`` raises.

    ``machine`` tells how long the process waited for a CPU during each chunk (see
    ``machine.py``); by default the real machine is read when timing with the real clock,
    and nothing is (``NoMachine``) with an injected clock. ``progress``, when given, is
    called every few seconds of a long measurement (between chunks, never while timing).

    Public and stable: driving it with an injected ``clock`` and a synthetic ``call``
    (each call advancing the clock by a latency of known distribution), and a synthetic
    ``machine``, is how the verdict is calibrated.
    """
    __tracebackhide__ = True  # what ``call`` raises shows the test's line, then the call
    if machine is None:
        machine = default_machine() if clock is time.perf_counter_ns else NoMachine()
    sampler = Sampler(
        call,
        plan,
        budget_ns=budget_ns,
        quantile=quantile,
        clock=clock,
        machine=machine,
        progress=progress,
    )
    try:
        return sampler.run(manage_gc=manage_gc)
    finally:
        close = getattr(machine, "close", None)
        if callable(close):
            close()


class Sampler:
    """One measurement: warm up, take chunks of timed calls, look at the verdict between them.

    :meth:`run` does it all; the steps are methods so that each can be read alone. The
    statistics of a look are :func:`judge`'s.
    """

    def __init__(
        self,
        call: Callable[[], object],
        plan: SamplingPlan,
        *,
        budget_ns: float | None = None,
        quantile: float | None = None,
        clock: Callable[[], int] = time.perf_counter_ns,
        machine: Machine | None = None,
        progress: Callable[[Progress], None] | None = None,
    ) -> None:
        if budget_ns is not None and quantile is None:
            raise ValueError("a budget needs a quantile")
        self.call = call
        self.plan = plan
        self.budget_ns = budget_ns
        self.quantile = DEFAULT_PERCENTILE / 100.0 if quantile is None else quantile
        self.clock = clock
        self.machine: Machine = machine if machine is not None else NoMachine()
        levels = (
            thresholds(budget_ns, plan.quick_factor, plan.instant_factor)
            if budget_ns is not None
            else None
        )
        #: The chunks, summarized for the verdict (None without a budget).
        self.ledger = Ledger(levels, budget_ns) if levels is not None else None
        #: The steady warmup calls, summarized alike (see ``verdict.judge``).
        self.steady_ledger = Ledger(levels) if levels is not None else None
        # Without a budget: the calls a pass at the quantile would need, at the least.
        quick_alpha = (1.0 - plan.confidence) / 3.0
        self.pass_point = (
            min_samples_to_pass(self.quantile, quick_alpha) if self.quantile < 1.0 else 100
        )
        self.progress = progress
        self.needed_calls: int | None = None
        #: Sampling stops undecided at this time: max_time, moved on toward a projected
        #: verdict (never past time_limit).
        self._limit_ns = plan.max_time_ns
        self._per_call_ns = 0.0
        self._next_progress_ns = PROGRESS_AFTER_NS
        # What warmup found.
        self.cold_ns = 0
        self.warmup_calls = 0
        self.warmup_ns = 0
        self.per_call_ns = 0.0
        #: Steady warmup calls (after ``warmup_calls``): never samples, but the moments just
        #: before sampling, against which quick verdicts are checked (see :func:`judge`).
        self.steady: npt.NDArray[np.int64] = np.empty(0, dtype=np.int64)
        # Sampling state.
        self.chunks: list[npt.NDArray[np.int64]] = []
        self.n = 0
        self.looks = 0
        self.decision: Decision | None = None
        self._chunk_calls = 1
        self._start = 0
        self._last_look_n = 0
        self._last_look_ns = 0
        self._next_look = _FIRST_LOOK
        self._settle_looked = False
        self._look_after = 0

    def run(self, *, manage_gc: bool = True) -> Sampling:
        """Warm up, then take chunks and look until decided or capped."""
        __tracebackhide__ = True
        gc_was_enabled = gc.isenabled()
        if manage_gc:
            # Disabling is what keeps collections out of the samples. A collection first
            # frees the garbage the test just made; a young one costs microseconds, where a
            # full one took 11-18 ms per measurement in a pytest process with onnxruntime
            # (18 s over 1,000 SLA tests) and 92 ms on a heap of 1M objects, and bought no
            # accuracy.
            gc.collect(1)
            gc.disable()
        try:
            overhead = _timer_overhead(self.clock)
            self.warm_up()
            self._start_sampling()
            while True:
                self.take_chunk()
                stop = self.look()
                if stop is not None:
                    break
            samples = np.concatenate(self.chunks)
            samples.setflags(write=False)
            return Sampling(
                samples_ns=samples,
                cold_start_ns=self.cold_ns,
                warmup_calls=self.warmup_calls,
                warmup_ns=self.warmup_ns,
                duration_ns=self.clock() - self._start,
                chunks=len(self.chunks),
                looks=self.looks,
                stop_reason=stop,
                timer_overhead_ns=overhead,
                decision=self.decision,
                needed_calls=None if stop == "decided" else self.needed_calls,
                limit_ns=self.plan.limit_ns,
                max_time_ns=self.plan.max_time_ns,
                max_samples=self.plan.max_samples,
            )
        finally:
            if manage_gc and gc_was_enabled:
                gc.enable()

    def warm_up(self) -> None:
        """Time the cold first call apart, then warm up in doubling blocks. A call that
        raises is marked with its number (``callables.raised_at``), counted from 1 for the
        cold call once it has raised: the loops count nothing more."""
        __tracebackhide__ = True
        clock, call, plan = self.clock, self.call, self.plan
        calls, k = 0, -1  # k: the call in its block, -1 before the first (the cold call)
        try:
            t0 = clock()
            call()
            self.cold_ns = clock() - t0
            start = clock()
            block, per_call = 1, 0.0
            cap = plan.warmup_cap_ns
            # The last calls only, however long the warmup (a no-op warmed up for 10 s made
            # 20 million of them): they are the steady warmup just before sampling.
            timings: collections.deque[int] = collections.deque(maxlen=_STEADY_KEPT)
            append = timings.append
            while True:
                elapsed = clock() - start
                enough = calls >= plan.warmup_calls and elapsed >= plan.warmup_time_ns
                if enough or (calls >= 1 and elapsed >= cap):
                    break
                b0 = clock()
                for k in range(block):  # noqa: B007 (k is read when a call raises)
                    t0 = clock()
                    call()
                    t1 = clock()
                    append(t1 - t0)
                b1 = clock()
                calls += block
                per_call = (b1 - b0) / block
                if b1 - b0 < 1_000_000:
                    block *= 2
        except BaseException as exc:
            raised_at(exc, f"call {calls + k + 2:,}, in the warmup" if k >= 0 else COLD_CALL)
            raise
        self.warmup_calls, self.warmup_ns, self.per_call_ns = calls, elapsed, per_call
        dropped = calls - len(timings)  # the first calls, made and not kept
        steady = list(timings)[max(0, plan.warmup_calls - dropped) :]
        self.steady = np.array(steady, dtype=np.int64)
        if self.steady_ledger is not None and self.steady.size:
            size = _chunk_calls(plan, per_call if per_call > 0 else 1.0)
            offset = 0.0
            for first in range(0, int(self.steady.size), size):
                part = self.steady[first : first + size]
                self.steady_ledger.add(part, offset, 0)
                offset += float(part.sum())

    def _start_sampling(self) -> None:
        plan = self.plan
        # Without warmup the cold call is the only estimate: too slow, so chunks start small.
        estimate = self.per_call_ns if self.per_call_ns > 0 else float(max(self.cold_ns, 1))
        self._chunk_calls = _chunk_calls(plan, estimate)
        # Verdicts rest on at least warmup_time + min_time of steady calls (80 ms by
        # default: the longest burst in the measurements), counting the steady warmup
        # calls just before sampling. Slow calls leave little steady warmup, so they wait.
        self._look_after = max(
            plan.min_time_ns, plan.min_time_ns + plan.warmup_time_ns - int(self.steady.sum())
        )
        self._start = self.clock()

    def take_chunk(self) -> None:
        """Time one chunk of calls (about ``chunk_time`` long) and size the next one. A
        call that raises is marked with its number, as in :meth:`warm_up`."""
        __tracebackhide__ = True
        clock, call = self.clock, self.call
        size = min(self._chunk_calls, self.plan.max_samples - self.n)
        buf: list[int] = []
        append = buf.append
        k = 0
        try:
            self.machine.since_last()  # starts the count for this chunk
            started = clock()
            for k in range(size):  # noqa: B007 (k is read when a call raises)
                t0 = clock()
                call()
                t1 = clock()
                append(t1 - t0)
            ended = clock()
        except BaseException as exc:
            raised_at(exc, f"call {self.warmup_calls + self.n + k + 2:,}, while sampling")
            raise
        machine = self.machine.since_last()
        chunk = np.array(buf, dtype=np.int64)
        self.chunks.append(chunk)
        if self.ledger is not None:
            self.ledger.add(chunk, float(started - self._start), machine.wait_ns)
        # Re-size chunks from what calls cost now, so a slowdown cannot stall the caps.
        self._per_call_ns = (ended - started) / size
        self._chunk_calls = _chunk_calls(self.plan, self._per_call_ns)
        self.n += size

    def look(self) -> str | None:
        """Look at the verdict if a look is due; why sampling stops now, or None to go on."""
        plan, n = self.plan, self.n
        elapsed = self.clock() - self._start
        if self.budget_ns is None or self.ledger is None:
            capped = n >= plan.max_samples or elapsed >= plan.max_time_ns
            if capped or (elapsed >= plan.min_time_ns and n >= self.pass_point):
                return "measured"
            if self.progress is not None and elapsed >= self._next_progress_ns:
                self._next_progress_ns = elapsed + PROGRESS_AFTER_NS
                told = Progress(elapsed, n, self.pass_point, elapsed / n, None, plan.max_time_ns)
                self.progress(told)
            return None
        full = n >= plan.max_samples
        timed_out = elapsed >= self._limit_ns
        capped = full or timed_out
        look_ready = elapsed >= self._look_after
        settled = full or (timed_out and plan.cap_settles) or elapsed >= plan.settle_time_ns
        # One look is reserved for the moment the samples first span settle_time, so a
        # verdict near the budget is not held until the next planned count.
        settle_look = settled and not self._settle_looked and look_ready and n > self._last_look_n
        due = (
            look_ready
            # (A slow model's first 16 calls may take minutes: once the samples span a
            # machine state, a clear miss shows in a handful, and is looked at.)
            and (n >= _FIRST_LOOK or (elapsed >= plan.state_time_ns and n > self._last_look_n))
            and (n >= self._next_look or elapsed - self._last_look_ns >= _LOOK_TIME_SHARE * elapsed)
        )
        looked = False
        if due or (capped and n > self._last_look_n) or settle_look:
            looked = True
            self._settle_looked = self._settle_looked or settled
            self.decision = judge(
                self.ledger,
                self.budget_ns,
                self.quantile,
                plan.confidence,
                spanned=capped or elapsed >= plan.state_time_ns,
                settled=settled,
                steady=self.steady_ledger,
                **self._tiers(),
            )
            self.looks += 1
            self._last_look_n = n
            self._last_look_ns = elapsed
            self._next_look = max(n + 1, int(n * _LOOK_GROWTH))
            if self.decision.outcome is not None:
                return "decided"
        if full:
            self._project()  # (how many a verdict needs: the remedy names it)
            return "max_samples"
        if timed_out or (looked and elapsed > plan.max_time_ns):  # (past it, every look asks)
            if self._extend(elapsed, at_cap=timed_out):
                if timed_out:
                    return None
            elif self._limit_ns <= plan.max_time_ns:
                return "max_time"
            else:  # Past max_time toward a verdict: at the limit, or out of reach.
                return "time_limit" if elapsed >= plan.limit_ns else "unreachable"
        if looked and self.progress is not None and elapsed >= self._next_progress_ns:
            self._next_progress_ns = elapsed + PROGRESS_AFTER_NS
            self.progress(Progress(elapsed, n, self._project(), elapsed / n))
        return None

    def _tiers(self) -> dict[str, float]:
        """The plan's tiers, as both the verdict and its projection take them."""
        plan = self.plan
        return {
            "quick_factor": plan.quick_factor,
            "instant_factor": plan.instant_factor,
            "state_ns": float(plan.state_time_ns),
        }

    def _project(self) -> int | None:
        """Calls a verdict would need at the shares seen so far (see ``verdict.projection``)."""
        if self.ledger is None or self.budget_ns is None:
            return None
        need = projection(
            self.ledger, self.budget_ns, self.quantile, self.plan.confidence, **self._tiers()
        )
        self.needed_calls = None if need is None else max(self.n, math.ceil(need))
        return self.needed_calls

    def _finish_ns(self, elapsed: int, calls: int) -> float:
        """When ``calls`` calls in all would be done, at the mean cost per call so far
        (not the last chunk's: a slow model's chunk is one call, and one slow call must
        not decide how long to sample)."""
        per_call = elapsed / max(1, self.n)
        more = max(0, calls - self.n) * per_call * PROJECTION_SLACK
        return elapsed + more + self.plan.chunk_time_ns

    def _extend(self, elapsed: int, at_cap: bool) -> bool:
        """At the time cap, undecided: go on if the projected verdict comes within
        ``PROJECTION_REACH`` times ``time_limit`` (the cap moves to the projected end, or
        to the limit), else stop. At a look past ``max_time``: stop only if it moved out
        ``LOOK_REACH`` times as far (the cap stays). Only at ``max_time`` or later does a
        projection stop anything: before it, the first calls' shares (a p99.9 budget no
        call has exceeded yet, a dependence from a few one-call chunks) would abandon
        verdicts that were within reach."""
        need = self._project()
        if need is None or need > self.plan.max_samples:
            return False
        end = self._finish_ns(elapsed, need)
        reach = PROJECTION_REACH * self.plan.limit_ns * (1.0 if at_cap else LOOK_REACH)
        if end > reach or elapsed >= self.plan.limit_ns:
            return False
        if at_cap:
            self._limit_ns = int(min(end, self.plan.limit_ns))
        return True


def _chunk_calls(plan: SamplingPlan, ns_per_call: float) -> int:
    return max(1, min(_MAX_CHUNK_CALLS, int(plan.chunk_time_ns / max(ns_per_call, 1.0))))


def run_once(
    call: Callable[[], object], clock: Callable[[], int] = time.perf_counter_ns
) -> Sampling:
    """Call once, timed, with no warmup and no verdict (``--sla-disable``)."""
    __tracebackhide__ = True
    try:
        t0 = clock()
        call()
        took = clock() - t0
    except BaseException as exc:
        raised_at(exc, "call 1, the only one under --sla-disable")
        raise
    samples = np.array([took], dtype=np.int64)
    samples.setflags(write=False)
    return Sampling(
        samples_ns=samples,
        cold_start_ns=took,
        warmup_calls=0,
        warmup_ns=0,
        duration_ns=took,
        chunks=1,
        looks=0,
        stop_reason="disabled",
        timer_overhead_ns=0,
    )
