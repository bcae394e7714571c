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

__all__ = ["Sampling", "SamplingPlan", "run_once", "sample"]

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


def _warm_up(
    call: Callable[[], object], plan: SamplingPlan, clock: Callable[[], int]
) -> tuple[int, int, float, npt.NDArray[np.int64]]:
    """Warm up in doubling blocks.

    Returns (calls, elapsed ns, ns per call of the last block, timings of the calls after
    the first ``warmup_calls``). Those steady warmup calls are never samples; they are the
    moments just before sampling, against which quick verdicts are checked (``_look``).
    """
    start = clock()
    calls, block, per_call = 0, 1, 0.0
    cap = plan.warmup_cap_ns
    timings: list[int] = []
    append = timings.append
    while True:
        elapsed = clock() - start
        enough = calls >= plan.warmup_calls and elapsed >= plan.warmup_time_ns
        if enough or (calls >= 1 and elapsed >= cap):
            steady = np.array(timings[plan.warmup_calls :], dtype=np.int64)
            return calls, elapsed, per_call, steady
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
    """
    if budget_ns is not None and quantile is None:
        raise ValueError("a budget needs a quantile")
    if quantile is None:
        quantile = DEFAULT_PERCENTILE / 100.0
    schedule = LookSchedule.plan(quantile, plan.confidence, plan.max_samples)
    gc_was_enabled = gc.isenabled()
    if manage_gc:
        # Disabling is what keeps collections out of the samples. A collection first frees
        # the garbage the test just made; a young one costs microseconds, where a full one
        # took 11-18 ms per measurement in a pytest process with onnxruntime (18 s over
        # 1,000 SLA tests) and 92 ms on a heap of 1M objects, and bought no accuracy.
        gc.collect(1)
        gc.disable()
    try:
        overhead = _timer_overhead(clock)
        t0 = clock()
        call()
        cold = clock() - t0
        warm_calls, warm_ns, per_call, steady = _warm_up(call, plan, clock)
        return _sample_chunks(
            call,
            plan,
            schedule,
            budget_ns,
            quantile,
            clock,
            cold,
            warm_calls,
            warm_ns,
            per_call,
            overhead,
            steady,
        )
    finally:
        if manage_gc and gc_was_enabled:
            gc.enable()


def _sample_chunks(
    call: Callable[[], object],
    plan: SamplingPlan,
    schedule: LookSchedule,
    budget_ns: float | None,
    quantile: float | None,
    clock: Callable[[], int],
    cold: int,
    warm_calls: int,
    warm_ns: int,
    per_call: float,
    overhead: int,
    steady: npt.NDArray[np.int64],
) -> Sampling:
    # Without warmup the cold call is the only estimate: too slow, so chunks start small.
    chunk_calls = _chunk_calls(plan, per_call if per_call > 0 else float(max(cold, 1)))
    chunks: list[npt.NDArray[np.int64]] = []
    n = 0
    looks = 0
    last_look_n = 0
    next_look = schedule.points[0]
    decision: Decision | None = None
    settle_looked = False
    # Verdicts rest on at least warmup_time + min_time of steady calls (80 ms by default:
    # the longest burst in the measurements), counting the steady warmup calls just
    # before sampling; see _look. Slow calls leave little steady warmup, so they wait.
    look_after = max(plan.min_time_ns, plan.min_time_ns + plan.warmup_time_ns - int(steady.sum()))
    start = clock()
    while True:
        size = min(chunk_calls, plan.max_samples - n)
        buf: list[int] = []
        append = buf.append
        for _ in range(size):
            t0 = clock()
            call()
            t1 = clock()
            append(t1 - t0)
        chunk = np.array(buf, dtype=np.int64)
        chunks.append(chunk)
        # Re-size chunks from what calls cost now, so a slowdown cannot stall the caps.
        chunk_calls = _chunk_calls(plan, float(chunk.mean()))
        n += size
        elapsed = clock() - start
        capped = n >= plan.max_samples or elapsed >= plan.max_time_ns
        ready = elapsed >= plan.min_time_ns
        look_ready = elapsed >= look_after
        if budget_ns is None or quantile is None:
            if capped or (ready and n >= schedule.pass_point):
                stop = "measured"
                break
            continue
        settled = capped or elapsed >= plan.settle_time_ns
        # One look is reserved for the moment the samples first span settle_time, so a
        # verdict near the budget is not held until the next planned count.
        settle_look = settled and not settle_looked and look_ready and n > last_look_n
        if (look_ready and n >= next_look) or (capped and n > last_look_n) or settle_look:
            settle_looked = settle_looked or settled
            decision = _look(
                np.concatenate(chunks),
                budget_ns,
                quantile,
                schedule.alpha_per_look,
                plan,
                settled,
                steady,
            )
            looks += 1
            last_look_n = n
            following = schedule.next_after(n)
            next_look = following if following is not None else plan.max_samples
            if decision.outcome is not None:
                stop = "decided"
                break
        if capped:
            stop = "max_samples" if n >= plan.max_samples else "max_time"
            break
    samples = np.concatenate(chunks)
    samples.setflags(write=False)
    return Sampling(
        samples_ns=samples,
        cold_start_ns=cold,
        warmup_calls=warm_calls,
        warmup_ns=warm_ns,
        duration_ns=clock() - start,
        chunks=len(chunks),
        looks=looks,
        stop_reason=stop,
        timer_overhead_ns=overhead,
        decision=decision,
    )


def _chunk_calls(plan: SamplingPlan, ns_per_call: float) -> int:
    return max(1, min(_MAX_CHUNK_CALLS, int(plan.chunk_time_ns / max(ns_per_call, 1.0))))


def _judge_at(
    samples: npt.NDArray[np.int64], threshold_ns: float, quantile: float, alpha: float
) -> Decision:
    exceeded = samples > threshold_ns
    deff = design_effect(exceeded, _DISPERSION_GROUPS)
    decision = decide(int(samples.size), int(np.count_nonzero(exceeded)), quantile, alpha, deff)
    return dataclasses.replace(decision, threshold_ns=threshold_ns)


def _look(
    samples: npt.NDArray[np.int64],
    budget_ns: float,
    quantile: float,
    alpha: float,
    plan: SamplingPlan,
    settled: bool,
    steady: npt.NDArray[np.int64] | None = None,
) -> Decision:
    """One look at the verdict.

    Before ``settle_time`` only clear cases are called: a pass must hold against the
    budget divided by ``quick_factor``, a fail against the budget multiplied by it. A
    short window can sit inside one burst of a slow (or fast) machine state; a clear
    margin is what makes a verdict from it safe against bursts that change latency by
    less than about ``quick_factor``. A quick rule counts at least as many exceedances
    for a pass (and at most as many for a fail) as the plain rule, so it is the more
    cautious of the two.

    A burst that changes latency by *more* than that and outlasts ``min_time`` could
    still hold the whole window (the calibration benchmark found up to 10% wrong quick
    verdicts for 3x bursts of 10-80 ms). So a quick verdict must also hold on the
    ``steady`` warmup calls (those after ``warmup_calls``) followed by the samples: the
    evidence then spans ``warmup_time`` + ``min_time`` (80 ms by default, the longest
    burst in the measurements) at no extra cost, and a window inside one burst is
    outvoted by the calls just before it. Both checks must agree, so this only withholds
    verdicts (until ``settle_time``), never makes one.

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
        ("pass", budget_ns / plan.quick_factor),
        ("fail", budget_ns * plan.quick_factor),
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
