"""Open-loop load: requests issued on a schedule fixed in advance, each timed from it.

No pytest and no onnxruntime here. A closed loop (call, wait for it, call again) never
has two requests waiting at once, so it cannot see queueing, and a stall delays only the
one call it hits: the requests that would have arrived meanwhile are never sent
("coordinated omission"). Here arrivals are drawn before the run (Poisson by default,
or evenly spaced), a pool of threads issues each at its time, and a request's latency is
its end minus its *scheduled* start, so time spent waiting for the model (or for a free
thread) counts.

The latencies go through the same verdict rule as one-at-a-time sampling
(``verdict.judge``): requests are grouped into chunks by their scheduled time, and only
a run of requests that have *all* finished is judged, so a slow request still in flight
can never be left out of a look. A pass waits until the load has run ``load_time``
(queues take time to build; periodic stalls take time to show); a clear failure may be
called at once, on the requests replayed through an ideal generator (the calls' own
durations and the queues they cause, none of the generator's lost time: see
``loadledger.Replay``). When the generator itself could not keep the schedule, the run
is inconclusive and says so. The threads are ``loadgen.py``'s; the capacity search is
``capacity.py``'s.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from . import fmt
from .callables import raised_at
from .fmt import duration as _duration
from .loadgen import ARRIVALS, JOIN_TIMEOUT_S, Generator, cores, run_figures, schedule
from .loadheld import Holder, calls_cpu, first_of, late_shares
from .loadledger import CpuLog, Judged, add_unfinished, add_windows, look, stuck_look
from .loadspec import LoadSpec
from .machine import NoMachine, cpu_split, host_steal
from .sampling import (
    PROGRESS_AFTER_NS,
    PROJECTION_REACH,
    PROJECTION_SLACK,
    Progress,
    Sampler,
    Sampling,
)
from .stats import min_samples_to_pass
from .verdict import Ledger, projection, thresholds, tier_alpha

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy.typing as npt

    from .plan import SamplingPlan
    from .stats import Decision

__all__ = [
    "ARRIVALS",
    "ConcurrentCallError",
    "LoadError",
    "StalledError",
    "capacity_problem",
    "covering_schedule",
    "late_tolerance_ns",
    "load_sample",
    "raise_error",
    "resolve",
    "too_few",
]

#: The longest ``sla_time_limit`` the settings take (s): a remedy beyond it is not given.
MAX_TIME_LIMIT_S = 86_400
#: The main thread looks at the finished requests this often (it sleeps in between).
LOOK_INTERVAL_NS = 50_000_000
#: ... growing with the run to this share of the time so far (at most ``LOOK_MAX_NS``): a
#: look holds the GIL for a millisecond or more, and a thread due meanwhile wakes late.
LOOK_SHARE = 0.1
LOOK_MAX_NS = 1_000_000_000
#: Requests are judged in chunks of this much scheduled time (or the plan's chunk time, if
#: longer): fewer chunks make a look cheaper, and 20 time-blocks of a 2 s run still hold
#: several.
LOAD_CHUNK_NS = 100_000_000
#: A request is *late* when a free thread issued it more than this share of the budget
#: after its time (never less than ``LATE_FLOOR_NS``; 1 ms without a budget): reported.
#: The verdict itself never blames the model for lateness (see ``loadledger.add_windows``).
LATE_SHARE_OF_BUDGET = 0.1
LATE_FLOOR_NS = 200_000
#: An undecided run whose generator was late this often fell behind (its lateness, and
#: the queueing that lateness causes, fill the latencies): a lower rate is the remedy.
LATE_BEHIND = 0.05


class LoadError(Exception):
    """A load run that could not be judged; the message is one sentence."""


class ConcurrentCallError(LoadError):
    """The callable raised while other calls of it ran (not thread-safe?); see ``__cause__``."""

    #: Calls of it running at once when it raised (itself included).
    running: int = 0


class StalledError(LoadError):
    """No request of a load run finished: the callable never returned in time."""


def raise_error(generator: Generator, where: Callable[[int], str] | None = None) -> None:
    """Raise what a call of the run raised, if one did: as itself (marked with ``where``
    the call was, given the request's index: ``callables.raised_at``), or as a
    :class:`ConcurrentCallError` when other calls were running at the time."""
    __tracebackhide__ = True
    error = generator.error
    if error is None:
        return
    if generator.error_others > 0 and not isinstance(error, (KeyboardInterrupt, SystemExit)):
        running = generator.error_others + 1
        concurrent = ConcurrentCallError(
            f"it raised {type(error).__name__}: {error} while {running} calls of it ran at once"
        )
        concurrent.running = running
        raise concurrent from error
    if where is not None:
        raised_at(error, where(generator.error_request))
    raise error


def resolve(spec: LoadSpec | None, capacity: bool, onnx: bool) -> LoadSpec | None:
    """The load a measurement runs under: the marker's, with ``capacity`` settled by the
    ``sla_capacity`` setting where the marker left it open. Without load arguments on the
    marker, the setting applies to ONNX models alone (``session.run`` is thread-safe; a
    callable is not known to be)."""
    if spec is None:
        return LoadSpec(capacity=True) if capacity and onnx else None
    if spec.capacity is None:
        spec = replace(spec, capacity=capacity)
    return spec if spec.rps is not None or spec.capacity else None


def too_few(spec: LoadSpec, plan: SamplingPlan, quantile: float) -> str | None:
    """Why a run at ``spec.rps`` could never pass, as a sentence naming the marker's
    rate; None when it could.

    A pass needs a number of requests (the fewest: none of them over the budget, as
    independent as can be), and sampling goes on toward it past ``max_time`` for no
    longer than a run may take (``plan.limit_ns``, or ``load_time`` if longer; a
    projection within ``PROJECTION_REACH`` of it is sampled toward, up to it). At a low
    rate that time holds fewer:
    such a run would sample for an inconclusive result, and is refused before the first
    request instead. (A failure could still be seen in a few requests, but a test that
    can never pass is a test to fix.) The remedies it names leave room for twice the
    fewest: latency under load comes in bursts, and bursts count as fewer requests.
    """
    if spec.rps is None or quantile >= 1.0:
        return None
    alpha = tier_alpha(plan.confidence, plan.quick_factor, plan.instant_factor)
    fewest = min_samples_to_pass(quantile, alpha)
    seconds = max(plan.limit_ns, plan.load_time_ns) / 1e9
    most = math.floor(spec.rps * seconds) + 1  # the request at 0 s, and one per 1/rps
    if most >= fewest:
        return None
    governs = {
        "time_limit=, or sla_time_limit": plan.time_limit_ns,
        "max_time=, or sla_max_time": plan.max_time_ns,
        "load_time=, or sla_load_time": plan.load_time_ns,
    }
    setting = max(governs, key=lambda name: governs[name])
    rate = math.ceil(2 * fewest / seconds * 10) / 10  # room for twice the fewest, in tenths
    limit = 2 * fewest / spec.rps  # (infinite for a rate like 5e-324)
    remedies = f"raise rps= to {rate:g} or more"
    if limit <= MAX_TIME_LIMIT_S:
        limit = math.ceil(limit)
        remedies += f", time_limit= to {limit} or more"
    return (
        f"@pytest.mark.sla(rps={spec.rps:g}): at that rate a run sends at most "
        f"{fmt.count(most)} request{'s' if most > 1 else ''} in the "
        f"{fmt.duration(seconds)} it may take ({setting}), and a "
        f"{fmt.pct_label(quantile * 100)} pass at {fmt.percent(plan.confidence)} confidence "
        f"needs at least {fmt.count(fewest)} (none of them over the budget; more when "
        f"latency comes in bursts): {remedies}, or judge a lower percentile"
    )


def covering_schedule(spec: LoadSpec, until_ns: int, cap: int) -> npt.NDArray[np.int64]:
    """``spec``'s arrivals up to the first due at or past ``until_ns`` (at most ``cap``):
    the schedule covers all of that time. (A Poisson draw of ``rps x time + 1`` may end
    short of it, and of ``load_time``, which a pass needs covered: a trial's 583x margin
    was inconclusive when the time limit was ``load_time``.) Drawn with room to cut."""
    assert spec.rps is not None
    expected = spec.rps * until_ns / 1e9
    room = max(1, min(cap, math.ceil(expected + 6 * math.sqrt(expected)) + 2))
    drawn = schedule(spec.rps, room, spec.arrivals, spec.seed)
    return drawn[: max(1, min(drawn.size, int(np.searchsorted(drawn, until_ns)) + 1))]


def capacity_problem(sampling: Sampling) -> str | None:
    """Why a measurement's capacity search has no figure, as a sentence; None when it
    ran (or there was none)."""
    found = sampling.load.capacity if sampling.load is not None else None
    if found is None or not found.problem:
        return None
    return f"the capacity search stopped: {found.problem}"


def late_tolerance_ns(budget_ns: float | None) -> float:
    """How late a free thread may issue a request before it counts as late."""
    if budget_ns is None:
        return 1_000_000.0
    return max(LATE_FLOOR_NS, LATE_SHARE_OF_BUDGET * budget_ns)


def load_sample(
    call: Callable[[], object],
    spec: LoadSpec,
    plan: SamplingPlan,
    *,
    budget_ns: float | None = None,
    quantile: float = 0.99,
    clock: Callable[[], int] = time.perf_counter_ns,
    progress: Callable[[Progress], None] | None = None,
    steal: Callable[[], int] | str | None = "host",
    split: Callable[[], tuple[int, int]] | str | None = "host",
    own: Callable[[], int] | str | None = "process",
) -> Sampling:
    """Warm up ``call`` one call at a time, then issue it at ``spec.rps`` (open loop) until
    the verdict on ``budget_ns`` at ``quantile`` is decided, or a cap is hit.

    ``steal``: cumulative ns the host took from the process's CPUs (a virtual machine's
    steal), read at each look, taken off the FAIL test's lower bounds and reported as a
    share (``LoadStats.steal_share``); "host" reads
    ``/proc/stat`` where there is one (on the real clock only), None reads nothing.
    ``split``: the CPU time so far that other processes (and the host) took, and that
    was idle (ns; ``machine.cpu_split``), read around the run: ``LoadStats.others_share``
    ("host" reads ``/proc/stat`` on the real clock only, None nothing).
    ``own``: cumulative CPU time (ns) the callable's calls used, read at each look: a start
    a free thread made late while they used most of the CPUs is the callable's
    (``loadledger.held_up``); "process" reads the process's CPU time less the main
    thread's and the load threads' own outside their calls (real clock only).

    Samples are latencies from each request's scheduled start, in schedule order. The
    returned :class:`Sampling` has ``load`` set (:class:`LoadStats`); its decision's
    reason is "generator" when the generator fell behind.
    """
    __tracebackhide__ = True  # what ``call`` raises shows the test's line, then the call
    if spec.rps is None:
        raise ValueError("a load run needs a rate (rps)")
    warm = Sampler(call, plan, budget_ns=None, quantile=quantile, clock=clock, machine=NoMachine())
    warm.warm_up()
    limit_ns = max(plan.max_time_ns, plan.load_time_ns)
    hard_limit_ns = max(limit_ns, plan.limit_ns)
    offsets = covering_schedule(spec, hard_limit_ns, plan.max_samples)
    count = offsets.size
    generator = Generator(call, offsets, spec.concurrency, clock)
    ledgers = None
    if budget_ns is not None:
        levels = thresholds(budget_ns, plan.quick_factor, plan.instant_factor)
        ledgers = (Ledger(levels, budget_ns), Ledger(levels, budget_ns))

    def project(n: int, trial: tuple[Ledger, Ledger] | None = None) -> int | None:
        """Requests a verdict would need at the shares seen so far (``verdict.projection``):
        in ``trial``, a stuck look's ledgers, where a request is stuck (they count the
        requests due since; the run's own hold only those before it, and a callable that
        stopped returning on a busy runner was projected out of reach and stopped
        undecided at ``sla_max_time``)."""
        if ledgers is None or budget_ns is None:
            return None
        found = projection(
            (trial or ledgers)[0],
            budget_ns,
            quantile,
            plan.confidence,
            quick_factor=plan.quick_factor,
            instant_factor=plan.instant_factor,
            state_ns=float(plan.state_time_ns),
        )
        return None if found is None else max(n, math.ceil(found))

    judged = Judged(spec.concurrency)
    # The host's steal is on the real clock: a simulated run reads none unless given one.
    if steal == "host":
        steal = host_steal() if clock is time.perf_counter_ns else None
    if callable(steal):
        judged.steal = CpuLog(steal, clock)
    if split == "host":
        split = cpu_split() if clock is time.perf_counter_ns else None
    if own == "process":
        own = calls_cpu(generator) if clock is time.perf_counter_ns else None
    if callable(own):
        others = CpuLog(first_of(split), clock) if callable(split) else None
        judged.holder = Holder(CpuLog(own, clock), others, cores(), judged.steal)
    held_logs = (judged.holder.own, judged.holder.others) if judged.holder else ()
    logs = [log for log in (judged.steal, *held_logs) if log is not None]

    def mark() -> None:
        for log in logs:
            log.mark()

    around: list[tuple[int, int]] = []  # (clock, others' CPU time) at the start and stop
    tolerance = late_tolerance_ns(budget_ns)
    window_ns = max(plan.chunk_time_ns, LOAD_CHUNK_NS)
    decision: Decision | None = None
    needed: int | None = None
    looks = 0
    prefix = 0
    stop_reason = ""
    next_progress = PROGRESS_AFTER_NS
    stuck_at: int | None = None  # when a look decided on requests that never finished
    unfinished = 0
    # A twentieth of the time the run may take for the threads' first calls, and of the
    # time limit for the calls in flight at the stop: within the tenth that a timeout's
    # cut keeps (limits.fit).
    hold_s = min(JOIN_TIMEOUT_S, max(0.1, plan.time_limit_ns / 1e9 / 20))
    woke = 0  # when the look now running began (0: none)
    try:
        generator.start(warm_s=min(JOIN_TIMEOUT_S, max(0.1, hard_limit_ns / 1e9 / 20)))
        if callable(split):
            around.append((clock(), split()[0]))
        mark()
        while True:
            since = clock() - generator.start_ns
            if woke and judged.holder is not None:
                judged.holder.looks.append((woke, clock()))  # (a look holds the GIL)
                woke = 0
            pause = min(LOOK_MAX_NS, max(LOOK_INTERVAL_NS, LOOK_SHARE * since))
            if generator.wait(pause / 1e9):
                break  # a call raised
            woke = clock()
            elapsed = woke - generator.start_ns
            mark()
            prefix = generator.finished_prefix(prefix)
            add_windows(ledgers, generator, judged, prefix, window_ns, final=False)
            n = judged.added
            covered = int(generator.offsets[n - 1]) if n else 0
            exhausted = prefix >= count
            stuck_ledgers = None
            if (
                ledgers is not None
                and budget_ns is not None
                and n >= 16
                and covered >= plan.min_time_ns
            ):
                looks += 1
                decision = look(ledgers[0], budget_ns, quantile, plan, covered, final=False)
                if decision.outcome == "fail" or (
                    decision.outcome == "pass" and covered >= plan.load_time_ns
                ):
                    stop_reason = "decided"
                    break
                now = clock()
                # Read again: this look took a while, and a slow look must not read as a
                # request stuck (its copies cost another look, holding the GIL).
                oldest = generator.finished_prefix(prefix)
                if oldest < count and now - generator.start_ns - generator.offsets[oldest] > (
                    budget_ns
                ):
                    mark()  # (the steal up to now, read now)
                    verdict = (budget_ns, quantile, plan)
                    stuck = stuck_look(ledgers, generator, judged, now, window_ns, verdict)
                    looks += 1
                    if stuck.decision.outcome == "fail" or (
                        stuck.decision.outcome == "pass" and covered >= plan.load_time_ns
                    ):
                        decision, ledgers, judged = stuck.decision, stuck.ledgers, stuck.judged
                        unfinished, stuck_at, stop_reason = stuck.unfinished, now, "decided"
                        break
                    stuck_ledgers = stuck.ledgers
            elif budget_ns is None and covered >= max(plan.min_time_ns, plan.load_time_ns):
                stop_reason = "measured"
                break
            if exhausted:
                # The schedule ends at the cap on requests, or at the time limit it was
                # drawn for (a time stop, whatever cut it: sla_max_time, a timeout).
                timed = count < plan.max_samples
                longest = max(plan.max_time_ns, plan.load_time_ns)
                stop_reason = (
                    "max_samples"
                    if not timed
                    else "max_time"
                    if hard_limit_ns <= longest
                    else "time_limit"
                )
                break
            if elapsed >= limit_ns:
                need = needed = project(n, stuck_ledgers)
                pass_waits = decision is not None and decision.outcome == "pass"
                end = (
                    elapsed
                    if need is None
                    else max(need / spec.rps * 1e9 * PROJECTION_SLACK, elapsed + LOOK_INTERVAL_NS)
                )
                if pass_waits:
                    end = max(end, float(plan.load_time_ns) + 2 * LOOK_INTERVAL_NS)
                if (
                    (need is not None or pass_waits)
                    and end <= PROJECTION_REACH * hard_limit_ns
                    and elapsed < hard_limit_ns
                ):
                    limit_ns = int(min(end, hard_limit_ns))
                    continue
                if limit_ns <= max(plan.max_time_ns, plan.load_time_ns):
                    stop_reason = "max_time"
                else:
                    stop_reason = "time_limit" if elapsed >= hard_limit_ns else "unreachable"
                break
            if progress is not None and elapsed >= next_progress and n:
                next_progress = elapsed + PROGRESS_AFTER_NS
                needed = project(n)
                progress(Progress(elapsed, n, needed, elapsed / n, rate=spec.rps))
    finally:
        stopped_at = clock() if stuck_at is None else stuck_at
        if woke and judged.holder is not None:  # (the last look's, broken out of)
            judged.holder.looks.append((woke, stopped_at))
        if callable(split) and around:
            around.append((clock(), split()[0]))
        generator.stop(hold_s)  # a hung call never outlasts it
    # Request 0's call: after the cold call (1), the warmup and the threads' first calls.
    first, at = warm.warmup_calls + 2 + generator.warm_calls, spec.rps
    load_at = f"the load at {at:g}/s"
    before = f"a load thread's first call, untimed, before {load_at}"
    raise_error(
        generator,
        lambda i: f"call {first + i:,}, request {i + 1:,} of {load_at}" if i >= 0 else before,
    )
    duration = clock() - generator.start_ns
    if stop_reason != "decided":
        # The requests finished since the last look count too, and so does every request
        # due before the stop that never finished (never issued, waiting for a thread, or
        # stuck): none may be left out of the last look.
        prefix = generator.finished_prefix(prefix)
        mark()
        add_windows(ledgers, generator, judged, prefix, window_ns, final=True)
        unfinished = add_unfinished(ledgers, generator, judged, stopped_at, window_ns)
    n = judged.added
    if n == 0:
        raise StalledError(
            f"no request finished in {_duration(duration / 1e9)}: the callable never returned"
        )
    if generator.warm_stuck:  # a thread the run went without: no verdict on the rest
        raise StalledError(f"{before} had not returned when the run stopped")
    held = judged.held[:n] if judged.held is not None else None
    late_share, held_share = late_shares(generator.lateness(n), held, tolerance)
    behind = False
    if stop_reason != "decided" and ledgers is not None and budget_ns is not None:
        covered = int(generator.offsets[n - 1])
        decision = look(ledgers[0], budget_ns, quantile, plan, covered, final=True)
        looks += 1
        if decision.outcome == "pass" and covered < plan.load_time_ns:
            decision = replace(decision, outcome=None, reason="close")
        elif decision.outcome is not None:
            stop_reason = "decided"
        if decision.outcome is None and stop_reason == "max_samples":
            needed = project(n)  # (the message names it: raise max_samples to that)
        if decision.outcome is None:
            # Had the generator kept its schedule, would these requests decide? Or was it
            # so often late that its lateness, and the queueing it caused, fill the
            # latencies?
            kept = look(ledgers[1], budget_ns, quantile, plan, covered, final=True)
            if (
                kept.outcome == "fail"
                or (kept.outcome == "pass" and covered >= plan.load_time_ns)
                or late_share - held_share > LATE_BEHIND
            ):
                behind = True
                decision = replace(decision, reason="generator")
    # The figures shown (the percentile, the margin) count what the requests due after
    # those judged waited, as the verdict does: a hung callable's p99 is not that of the
    # requests that returned before it hung.
    samples = generator.waited(n, stopped_at) if unfinished else generator.latencies(n).copy()
    samples.setflags(write=False)
    stats = run_figures(
        generator, spec, (n, stopped_at), (late_share, tolerance), behind, unfinished
    )
    stats = replace(stats, held_share=held_share)
    if judged.steal is not None:
        # Over the CPUs the run could keep busy: an idle one accrues no steal.
        cpus = min(stats.cores, spec.concurrency)
        stats = replace(stats, steal_share=judged.steal.share(cpus))
    if len(around) == 2 and around[1][0] > around[0][0]:
        took = (around[1][1] - around[0][1]) / ((around[1][0] - around[0][0]) * stats.cores)
        stats = replace(stats, others_share=min(1.0, max(0.0, took)))
    return Sampling(
        samples_ns=samples,
        cold_start_ns=warm.cold_ns,
        warmup_calls=warm.warmup_calls,
        warmup_ns=warm.warmup_ns,
        duration_ns=duration,
        chunks=judged.chunks,
        looks=looks,
        stop_reason=stop_reason,
        timer_overhead_ns=0,
        decision=decision,
        needed_calls=None if stop_reason == "decided" else needed,
        limit_ns=hard_limit_ns,
        max_time_ns=max(plan.max_time_ns, plan.load_time_ns),
        max_samples=plan.max_samples,
        load=stats,
    )
