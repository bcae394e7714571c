"""Warmup and chunked timing of a callable, with looks at the verdict between chunks.

No pytest and no onnxruntime here: the sampler takes any zero-argument callable and an
injectable clock (``time.perf_counter_ns`` by default), so the whole procedure can be
driven deterministically by a synthetic latency source in tests.
"""

from __future__ import annotations

import dataclasses
import gc
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .plan import DEFAULT_PERCENTILE, SamplingPlan
from .stats import Decision, LookSchedule, decide, design_effect

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy.typing as npt

__all__ = ["Sampler", "Sampling", "SamplingPlan", "judge", "run_once", "sample"]

#: How many contiguous groups the design effect is estimated over.
_DISPERSION_GROUPS = 10
#: Upper bound on the calls in one chunk, so the caps are checked often enough.
_MAX_CHUNK_CALLS = 10_000


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
    #: Why sampling stopped: decided, max_time, max_samples or measured (no budget).
    stop_reason: str
    #: Cost of one back-to-back clock read, included in every sample (not subtracted).
    timer_overhead_ns: int
    #: The last look (None without a budget).
    decision: Decision | None = field(default=None)


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
) -> Sampling:
    """Time ``call`` until the verdict on ``budget_ns`` at ``quantile`` is decided.

    ``quantile`` is a fraction (0.99 for p99). Without a budget the sampler collects the
    samples a verdict at ``quantile`` would need at its first look (and ``min_time``),
    then stops.
    The young generations are collected before timing and the collector stays disabled
    while timing; its state is restored afterwards, also when ``call`` raises.

    Public and stable: driving it with an injected ``clock`` and a synthetic ``call``
    (each call advancing the clock by a latency of known distribution) is how the
    verdict is calibrated.
    """
    sampler = Sampler(call, plan, budget_ns=budget_ns, quantile=quantile, clock=clock)
    return sampler.run(manage_gc=manage_gc)


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
    ) -> None:
        if budget_ns is not None and quantile is None:
            raise ValueError("a budget needs a quantile")
        self.call = call
        self.plan = plan
        self.budget_ns = budget_ns
        self.quantile = DEFAULT_PERCENTILE / 100.0 if quantile is None else quantile
        self.clock = clock
        self.schedule = LookSchedule.plan(self.quantile, plan.confidence, plan.max_samples)
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
        self._next_look = self.schedule.points[0]
        self._settle_looked = False
        self._look_after = 0

    def run(self, *, manage_gc: bool = True) -> Sampling:
        """Warm up, then take chunks and look until decided or capped."""
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
            )
        finally:
            if manage_gc and gc_was_enabled:
                gc.enable()

    def warm_up(self) -> None:
        """Time the cold first call apart, then warm up in doubling blocks."""
        clock, call, plan = self.clock, self.call, self.plan
        t0 = clock()
        call()
        self.cold_ns = clock() - t0
        start = clock()
        calls, block, per_call = 0, 1, 0.0
        cap = plan.warmup_cap_ns
        timings: list[int] = []
        append = timings.append
        while True:
            elapsed = clock() - start
            enough = calls >= plan.warmup_calls and elapsed >= plan.warmup_time_ns
            if enough or (calls >= 1 and elapsed >= cap):
                break
            b0 = clock()
            for _ in range(block):
                t0 = clock()
                call()
                t1 = clock()
                append(t1 - t0)
            b1 = clock()
            calls += block
            per_call = (b1 - b0) / block
            if b1 - b0 < 1_000_000:
                block *= 2
        self.warmup_calls, self.warmup_ns, self.per_call_ns = calls, elapsed, per_call
        self.steady = np.array(timings[plan.warmup_calls :], dtype=np.int64)

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
        """Time one chunk of calls (about ``chunk_time`` long) and size the next one."""
        clock, call = self.clock, self.call
        size = min(self._chunk_calls, self.plan.max_samples - self.n)
        buf: list[int] = []
        append = buf.append
        for _ in range(size):
            t0 = clock()
            call()
            t1 = clock()
            append(t1 - t0)
        chunk = np.array(buf, dtype=np.int64)
        self.chunks.append(chunk)
        # Re-size chunks from what calls cost now, so a slowdown cannot stall the caps.
        self._chunk_calls = _chunk_calls(self.plan, float(chunk.mean()))
        self.n += size

    def look(self) -> str | None:
        """Look at the verdict if a look is due; why sampling stops now, or None to go on."""
        plan, n = self.plan, self.n
        elapsed = self.clock() - self._start
        capped = n >= plan.max_samples or elapsed >= plan.max_time_ns
        if self.budget_ns is None:
            ready = elapsed >= plan.min_time_ns
            return "measured" if capped or (ready and n >= self.schedule.pass_point) else None
        look_ready = elapsed >= self._look_after
        settled = capped or elapsed >= plan.settle_time_ns
        # One look is reserved for the moment the samples first span settle_time, so a
        # verdict near the budget is not held until the next planned count.
        settle_look = settled and not self._settle_looked and look_ready and n > self._last_look_n
        due = look_ready and n >= self._next_look
        if due or (capped and n > self._last_look_n) or settle_look:
            self._settle_looked = self._settle_looked or settled
            self.decision = judge(
                np.concatenate(self.chunks),
                self.budget_ns,
                self.quantile,
                self.schedule.alpha_per_look,
                quick_factor=plan.quick_factor,
                settled=settled,
                steady=self.steady,
            )
            self.looks += 1
            self._last_look_n = n
            following = self.schedule.next_after(n)
            self._next_look = following if following is not None else plan.max_samples
            if self.decision.outcome is not None:
                return "decided"
        if capped:
            return "max_samples" if n >= plan.max_samples else "max_time"
        return None


def _chunk_calls(plan: SamplingPlan, ns_per_call: float) -> int:
    return max(1, min(_MAX_CHUNK_CALLS, int(plan.chunk_time_ns / max(ns_per_call, 1.0))))


def _judge_at(
    samples: npt.NDArray[np.int64], threshold_ns: float, quantile: float, alpha: float
) -> Decision:
    exceeded = samples > threshold_ns
    deff = design_effect(exceeded, _DISPERSION_GROUPS)
    decision = decide(int(samples.size), int(np.count_nonzero(exceeded)), quantile, alpha, deff)
    return dataclasses.replace(decision, threshold_ns=threshold_ns)


def judge(
    samples: npt.NDArray[np.int64],
    budget_ns: float,
    quantile: float,
    alpha: float,
    *,
    quick_factor: float = 1.0,
    settled: bool = True,
    steady: npt.NDArray[np.int64] | None = None,
) -> Decision:
    """The verdict on ``samples`` against ``budget_ns`` at ``quantile``, at level ``alpha``.

    Before the samples have ``settled`` (spanned ``settle_time``) only clear cases are
    called: a pass must hold against the budget divided by ``quick_factor``, a fail
    against the budget multiplied by it. A short window can sit inside one burst of a
    slow (or fast) machine state; a clear margin is what makes a verdict from it safe
    against bursts that change latency by less than about ``quick_factor``. A quick rule
    counts at least as many exceedances for a pass (and at most as many for a fail) as
    the plain rule, so it is the more cautious of the two. With ``quick_factor`` 1 (the
    default) the budget itself is the threshold: one look at settled samples.

    A burst that changes latency by *more* than that and outlasts ``min_time`` could
    still hold the whole window (the calibration found up to 10% wrong quick verdicts for
    3x bursts of 10-80 ms). So a quick verdict must also hold on the ``steady`` warmup
    calls followed by the samples: the evidence then spans ``warmup_time`` +
    ``min_time`` (80 ms by default, the longest burst in the measurements) at no extra
    cost, and a window inside one burst is outvoted by the calls just before it. Both
    checks must agree, so this only withholds verdicts (until ``settle_time``), never
    makes one.

    A p100 budget (judged on what was observed) fails on the first exceedance but passes
    only once samples have settled.
    """
    if quantile >= 1.0:
        decision = _judge_at(samples, budget_ns, quantile, alpha)
        if decision.outcome == "pass" and not settled:
            return dataclasses.replace(decision, outcome=None)
        return decision
    context = samples if steady is None or steady.size == 0 else np.concatenate((steady, samples))
    for outcome, threshold in (
        ("pass", budget_ns / quick_factor),
        ("fail", budget_ns * quick_factor),
    ):
        quick = _judge_at(samples, threshold, quantile, alpha)
        if quick.outcome == outcome and (
            context is samples or _judge_at(context, threshold, quantile, alpha).outcome == outcome
        ):
            return quick
    decision = _judge_at(samples, budget_ns, quantile, alpha)
    return decision if settled else dataclasses.replace(decision, outcome=None)


def run_once(
    call: Callable[[], object], clock: Callable[[], int] = time.perf_counter_ns
) -> Sampling:
    """Call once, timed, with no warmup and no verdict (``--sla-disable``)."""
    t0 = clock()
    call()
    took = clock() - t0
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
