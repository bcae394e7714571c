"""Finished load requests into the verdict's ledgers: chunks of scheduled time.

No pytest, no onnxruntime, no threads. ``load.py`` runs the generator and looks at the
verdict; here the requests it recorded become ledger chunks: one per window of scheduled
time, added only once every request in it has finished, and at the end of a run the
requests due and never finished, so none is left out of the last look. Two ledgers: the
first for the verdict (measured latencies for the PASS test, lower bounds for the FAIL
test), the second with the lower bounds alone, which tells when only the generator's
own lost time stands between the requests and a verdict. And the looks at them: the
verdict on a run's ledgers (``look``), and on copies of them as if the run stopped
where a request is stuck (``stuck_look``).
"""

from __future__ import annotations

import copy
import heapq
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .verdict import judge

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy.typing as npt

    from .loadgen import Generator
    from .loadheld import Holder
    from .plan import SamplingPlan
    from .stats import Decision
    from .verdict import Ledger

__all__ = [
    "UNKNOWN_NS",
    "CpuLog",
    "Judged",
    "Replay",
    "Stuck",
    "add_unfinished",
    "add_windows",
    "held_up",
    "look",
    "stuck_look",
]


class Replay:
    """The requests replayed through an ideal generator: ``servers`` threads, first come
    first served, each request started at the later of its scheduled time and the first
    thread free, and taking as long as its call took.

    Its latencies are what the requests would have waited and taken had the threads lost
    no time between one call's end and the next call's start (a thread waking late, its
    bookkeeping, the queue that this lost time builds), and every wait the calls' own
    durations cause (a queue behind slow calls, a lock inside the callable, calls slowing
    each other on shared cores, a call's wait for the GIL before it returns) is still in
    them: a lower bound on what the callable is to blame for, never above the latency
    measured (threads take requests in schedule order, each when it is free). Fed in
    schedule order, a stretch at a time, so a look replays only its new requests; about
    half a microsecond a request, in the main thread.
    """

    def __init__(self, servers: int) -> None:
        #: When each thread is next free (ns, on the schedule's clock), as a heap.
        self._free = [0] * max(1, servers)

    def extend(
        self,
        offsets: npt.NDArray[np.int64],
        durations: npt.NDArray[np.int64],
        held: npt.NDArray[np.int64] | None = None,
    ) -> npt.NDArray[np.int64]:
        """Latencies (from the scheduled start) of the next requests, scheduled at
        ``offsets`` and taking ``durations``, each started ``held`` after a thread took
        it (the wait for a CPU its callable's own calls held: see :func:`held_up`; none
        if not given)."""
        free = self._free
        latencies: list[int] = []
        delays = held.tolist() if held is not None else [0] * offsets.size
        for due, took, wait in zip(offsets.tolist(), durations.tolist(), delays, strict=True):
            end = max(due, free[0]) + max(0, wait) + max(0, took)
            heapq.heapreplace(free, end)
            latencies.append(end - due)
        return np.array(latencies, dtype=np.int64)

    def copy(self) -> Replay:
        twin = Replay(len(self._free))
        twin._free = list(self._free)
        return twin


class CpuLog:
    """A cumulative CPU-time counter read at each look: (clock, ns so far), both in ns.
    The host's steal (CPU time a virtual machine's host gave to others, on the CPUs the
    process may use) is one; the CPU time the callable's own calls used is another.

    Between two reads, all that is known is the total: :meth:`over` bounds what a span
    accrued from above with the reads around it (looks are up to a second apart, so a
    read late in a run covers a second of calls: more steal is taken off, which only
    makes a failure harder to claim). A span that ends after the last read is read for
    again.
    """

    def __init__(
        self,
        read: Callable[[], int] | None = None,
        clock: Callable[[], int] = time.perf_counter_ns,
    ) -> None:
        #: Reads the counter (ns); :meth:`mark` records it, at ``clock``'s time.
        self._read = read
        self._clock = clock
        self._at: list[int] = []
        self._counts: list[int] = []

    def mark(self) -> None:
        """Record the counter read now, at the clock read right after it (a clock read
        first, a thread that took the GIL in between made its span look longer or
        shorter by milliseconds: a review); nothing without a reader."""
        if self._read is not None:
            value = self._read()
            self.record(self._clock(), value)

    def record(self, at_ns: int, total_ns: int) -> None:
        self._at.append(max(at_ns, self._at[-1] if self._at else at_ns))  # (kept in order)
        self._counts.append(max(total_ns, self._counts[-1] if self._counts else 0))

    def busy(
        self,
        begins: npt.NDArray[np.int64],
        ends: npt.NDArray[np.int64],
        cpus: int,
        min_span_ns: int = 0,
    ) -> npt.NDArray[np.float64]:
        """For each ``[begin, end]``, the share of ``cpus`` CPUs' time the counter accrued
        over the reads around it (0.0 before two reads), widened back to span
        ``min_span_ns``: NaN where the reads so far span less (no comparison holds)."""
        accrued, span = self._covering(begins, ends, min_span_ns)
        share: npt.NDArray[np.float64] = accrued / np.maximum(1, span * max(1, cpus))
        return np.where(span >= min_span_ns, share, np.nan) if min_span_ns > 0 else share

    def share(self, cpus: int) -> float:
        """The counter between the first read and the last as a share of the time ``cpus``
        CPUs had meanwhile (at most 1); 0.0 before two reads."""
        span = self._at[-1] - self._at[0] if len(self._at) > 1 else 0
        if span <= 0 or cpus < 1:
            return 0.0
        return min(1.0, (self._counts[-1] - self._counts[0]) / (span * cpus))

    def over(
        self, begins: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.int64]:
        """An upper bound on what the counter accrued within each ``[begin, end]``."""
        return self._covering(begins, ends)[0]

    def _covering(
        self, begins: npt.NDArray[np.int64], ends: npt.NDArray[np.int64], min_span_ns: int = 0
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """For each ``[begin, end]`` (clock ns), what the counter accrued between the last
        read at or before ``begin`` (or earlier, for a span of ``min_span_ns``) and the
        first at or after ``end``, and that time."""
        if self._read is not None and ends.size and (not self._at or ends.max() > self._at[-1]):
            self.mark()  # (a call that ended since the last read)
        if len(self._at) < 2:
            none = np.zeros(begins.size, dtype=np.int64)
            return none, none
        at = np.array(self._at, dtype=np.int64)
        counts = np.array(self._counts, dtype=np.int64)
        before = np.clip(np.searchsorted(at, begins, side="right") - 1, 0, at.size - 1)
        after = np.clip(np.searchsorted(at, ends, side="left"), 0, at.size - 1)
        if min_span_ns > 0:
            wide = np.searchsorted(at, at[after] - min_span_ns, side="right") - 1
            before = np.minimum(before, np.clip(wide, 0, at.size - 1))
        return counts[after] - counts[before], at[after] - at[before]


@dataclass
class Judged:
    """What the looks have added to the ledgers so far: requests ``[0, added)``, in
    ``chunks``, replayed by ``replay`` (a pool of ``servers`` threads)."""

    servers: int
    added: int = 0
    chunks: int = 0
    replay: Replay = field(init=False)
    #: The host's steal read at each look (None: not read; nothing is taken off).
    steal: CpuLog | None = None
    #: What tells a late start the callable's calls held up (None: none is theirs).
    holder: Holder | None = None
    #: How long each request judged so far was held up by the callable's calls
    #: (:func:`held_up`; ns), as many as the schedule's (None: none yet).
    held: npt.NDArray[np.int64] | None = None

    def __post_init__(self) -> None:
        self.replay = Replay(self.servers)

    def fork(self) -> Judged:
        """A copy to add to, leaving this one as it is (the logs are shared)."""
        twin = replace(self)  # (a new replay: init=False)
        twin.replay = self.replay.copy()
        twin.held = None if self.held is None else self.held.copy()
        return twin


def add_windows(
    ledgers: tuple[Ledger, Ledger] | None,
    generator: Generator,
    judged: Judged,
    upto: int,
    window_ns: int,
    final: bool,
) -> None:
    """Add the finished requests ``[judged.added, upto)`` to the ledgers, one chunk per
    window of scheduled time; a window is added only once every request in it finished
    (or at the end, ``final``). The first ledger counts latencies (and, for the FAIL test,
    the latencies replayed through an ideal generator: see :class:`Replay`); the second
    counts the replayed latencies alone: what the verdict would be had the generator lost
    no time."""
    offsets = generator.offsets
    first = judged.added
    if upto <= first:
        return
    if final or upto >= offsets.size:
        last = upto
    else:
        # The window of the first unfinished request is not complete yet.
        open_window = int(offsets[upto]) // window_ns * window_ns
        last = int(np.searchsorted(offsets[:upto], open_window, side="left"))
    if last <= first:
        return
    if ledgers is not None:
        latencies = generator.latencies(last)[first:]
        started, ended = generator.started[first:last], generator.ended[first:last]
        held = held_up(judged, generator, first, started)
        bounds = judged.replay.extend(offsets[first:last], _own(judged, started, ended), held)
        windows = offsets[first:last] // window_ns
        cuts = np.flatnonzero(np.diff(windows)) + 1
        begins = np.concatenate(([0], cuts))
        ends = np.concatenate((cuts, [latencies.size]))
        measured, optimistic = ledgers
        for begin, end in zip(begins, ends, strict=True):
            start = float(windows[begin] * window_ns)
            measured.add(latencies[begin:end], start, 0, bounds[begin:end])
            optimistic.add(bounds[begin:end], start, 0)
            judged.chunks += 1
    judged.added = last


def held_up(
    judged: Judged, generator: Generator, first: int, started: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """How long each request from ``first`` (started at ``started``: 0, never) waited for
    a CPU its callable's own calls held: part of its lateness (its call's start after the
    later of its time and a free thread taking it), per ``judged.holder``
    (``loadheld.Holder.held``); 0 without one. Marked in ``judged.held``. The replay
    starts such a request that much after a thread takes it, so the FAIL test's lower
    bounds keep the wait, and the generator is not said to have fallen behind for it."""
    last = first + started.size
    ready = np.maximum(
        generator.start_ns + generator.offsets[first:last], generator.claimed[first:last]
    )
    held = (
        judged.holder.held(ready, started)
        if judged.holder is not None
        else np.zeros(started.size, dtype=np.int64)
    )
    if judged.held is None:
        judged.held = np.zeros(generator.offsets.size, dtype=np.int64)
    judged.held[first:last] = held
    return held


def _own(
    judged: Judged, started: npt.NDArray[np.int64], ended: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """How long each call took (``ended`` less ``started``; a call not started took
    nothing), less the host's steal within it: time the host took from the process's
    CPUs is not the callable's. Off the durations the replay is fed, so off the FAIL
    test's lower bounds, never off the latencies a pass counts; and as the replay is
    monotone in its durations, a request it queues behind a stolen call loses that
    call's stolen time too (off each request's latency instead, a request queued behind
    a stalled call kept the stall, and one whose span two concurrent calls each lost the
    same slice in kept it once: a review)."""
    took = np.where(started > 0, ended - started, 0)
    if judged.steal is not None:
        took = took - judged.steal.over(started, np.maximum(started, ended))
    return np.maximum(0, took)


#: Stands for the unknown latency of a request that never finished: over every threshold.
UNKNOWN_NS = np.int64(2**62)


def add_unfinished(
    ledgers: tuple[Ledger, Ledger] | None,
    generator: Generator,
    judged: Judged,
    stopped_at: int,
    window_ns: int,
) -> int:
    """Add the requests after those judged that were due before the run stopped, a chunk
    per window of scheduled time: finished ones at their latency, the others over every
    threshold for the PASS test; for the FAIL test, all replayed (see :class:`Replay`),
    one that never finished taking as long as its call had run (nothing, if it never
    started). Returns how many never finished.

    In windows, not one chunk: one chunk of a thousand requests stuck behind a hung call
    read as one burst, about one observation, and a callable that stopped returning was
    judged inconclusive instead of failed."""
    first = judged.added
    due = generator.start_ns + generator.offsets
    upto = int(np.searchsorted(due, stopped_at, side="left"))
    if upto <= first:
        return 0
    # Copies, ``done`` first: the threads may still be running (a look), and a call that
    # ends meanwhile sets its end before it is marked done, never after.
    done = generator.done[first:upto].copy()
    if ledgers is not None:
        ended = generator.ended[first:upto].copy()
        started = generator.started[first:upto].copy()
        latencies = np.where(done, ended - due[first:upto], UNKNOWN_NS)
        # One still running has run until the stop (as add_windows, less the steal).
        took = _own(judged, started, np.where(done, ended, stopped_at))
        held = held_up(judged, generator, first, started)
        bounds = judged.replay.extend(generator.offsets[first:upto], took, held)
        kept = np.where(done, bounds, UNKNOWN_NS)
        windows = generator.offsets[first:upto] // window_ns
        cuts = np.flatnonzero(np.diff(windows)) + 1
        for part in np.split(np.arange(upto - first), cuts):
            start = float(windows[part[0]] * window_ns)
            ledgers[0].add(latencies[part], start, 0, bounds[part])
            ledgers[1].add(kept[part], start, 0, bounds[part])
            judged.chunks += 1
    return int((~done).sum())


def look(
    ledger: Ledger,
    budget_ns: float,
    quantile: float,
    plan: SamplingPlan,
    covered_ns: float,
    final: bool,
) -> Decision:
    """A load run's look: the verdict on the requests judged so far, whose schedule
    covers ``covered_ns`` (the plan's tiers open as that time passes; all at the end)."""
    return judge(
        ledger,
        budget_ns,
        quantile,
        plan.confidence,
        spanned=final or covered_ns >= plan.state_time_ns,
        settled=(final and plan.cap_settles) or covered_ns >= plan.settle_time_ns,
        quick_factor=plan.quick_factor,
        instant_factor=plan.instant_factor,
        state_ns=float(plan.state_time_ns),
    )


class Stuck(NamedTuple):
    """A look at a run as if it stopped then (:func:`stuck_look`): its verdict, the
    ledgers and requests judged for it, and how many due never finished."""

    decision: Decision
    ledgers: tuple[Ledger, Ledger]
    judged: Judged
    unfinished: int


def stuck_look(
    ledgers: tuple[Ledger, Ledger],
    generator: Generator,
    judged: Judged,
    now: int,
    window_ns: int,
    verdict: tuple[float, float, SamplingPlan],
) -> Stuck:
    """The verdict had the run stopped at ``now``, for a look where a request due more
    than the budget ago has not finished (``verdict``: budget, quantile, plan). The looks
    judge only the requests before the first unfinished one, so a callable that stopped
    returning was sampled on to the time limit, its projection kept within reach by the
    requests before it. Here the requests due since count as at the end of a run
    (``add_unfinished``): one that never finished is over every threshold for the PASS
    test and a lower bound for the FAIL test, so either outcome holds whatever they take.
    On copies: the run's own ledgers go on as they were; a run that stops on this look's
    verdict keeps the copies, so its result is this look's (judged again after the
    threads stopped, a later read of the host's steal took more off, and a failure read
    inconclusive in a review's trial)."""
    trial = (copy.deepcopy(ledgers[0]), copy.deepcopy(ledgers[1]))
    twin = judged.fork()
    add_windows(trial, generator, twin, generator.finished_prefix(twin.added), window_ns, True)
    unfinished = add_unfinished(trial, generator, twin, now, window_ns)
    due = generator.start_ns + generator.offsets
    covered = int(generator.offsets[max(0, int(np.searchsorted(due, now)) - 1)])
    budget_ns, quantile, plan = verdict
    decision = look(trial[0], budget_ns, quantile, plan, covered, final=False)
    return Stuck(decision, trial, twin, unfinished)
