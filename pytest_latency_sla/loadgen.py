"""The load generator: requests issued on a schedule fixed in advance, from threads.

No pytest, no onnxruntime. :func:`schedule` draws the arrival times before the run;
:class:`Generator` issues them from a pool of threads and records, per request, when a
thread took it, when the call started and when it ended, so latency (from the scheduled
start), the generator's own lateness and the concurrency reached are computed afterwards,
without locks in the threads. ``load.py`` judges what it records.
"""

from __future__ import annotations

import ctypes
import functools
import itertools
import math
import os
import queue
import sys
import threading
import time
from typing import TYPE_CHECKING

import numpy as np

from .loadheld import left_behind
from .loadspec import LoadStats

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy.typing as npt

    from .loadspec import LoadSpec

#: No rate above this is accepted: Python threads issue tens of thousands of requests a
#: second at most (about 20,000 on a 2-core runner; see docs/load.md).
MAX_RPS = 100_000.0

#: A thread waiting for its request's time looks at the stop flag this often.
_SLICE_NS = 20_000_000
#: Ask Linux to end each thread's sleeps within 1 ns of their time rather than within the
#: default 50 µs timer slack: it takes a third to a half off the generator's own p50
#: (``benchmarks/load.py``, part 4). False: the default slack (for that comparison).
FINE_WAKEUPS = True
#: ``prctl`` option that sets the calling thread's timer slack (linux/prctl.h).
_PR_SET_TIMERSLACK = 29

__all__ = [
    "ARRIVALS",
    "LOAD_THREAD",
    "MAX_RPS",
    "Generator",
    "Threads",
    "concurrency_reached",
    "cores",
    "fine_wakeups",
    "run_figures",
    "schedule",
]

#: How arrivals are spaced: Poisson (exponential gaps, as independent users send them) or
#: constant (evenly spaced, as a timer or a batch feeder sends them).
ARRIVALS = ("poisson", "constant")
#: Poisson arrivals keep the rate asked for over this long from the start (the shortest
#: load run judged, ``SamplingPlan.load_time_ns``'s default): the seeded draw's gaps are
#: scaled alike so that its arrivals there are exactly ``rps`` a second. One seed's draw
#: ran 14% slow over its first 300 requests and 1.3% over 3,000, and with the seed
#: fixed, every run did. Scaling those gaps alike (the later ones are left as drawn)
#: keeps them exponential, and the counts over spans within and beyond it as random as
#: Poisson arrivals' (which is what makes a queue near saturation: drawn a second at a
#: time, exact per second, a single server's p99 at 95% load read 40% low).
EXACT_RATE_S = 5.0
#: Threads still in a call this long after the run stopped are left behind (daemons).
JOIN_TIMEOUT_S = 10.0


def cores() -> int:
    """CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def fine_wakeups() -> bool:
    """Set the calling thread's timer slack to 1 ns (Linux; elsewhere nothing): its
    sleeps then end at their time, not up to 50 µs after. True when it was set."""
    if not FINE_WAKEUPS or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_TIMERSLACK, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):  # pragma: no cover - a libc without prctl
        return False


def schedule(
    rps: float, count: int, arrivals: str = "poisson", seed: int = 0
) -> npt.NDArray[np.int64]:
    """``count`` arrival times in ns from the start (the first at 0), at ``rps`` a second
    (Poisson: see ``EXACT_RATE_S``; the same draw for any ``count``, so a longer schedule
    starts as a shorter one)."""
    if not rps > 0 or not math.isfinite(rps):
        raise ValueError(f"rps must be a positive number, got {rps!r}")
    if arrivals not in ARRIVALS:
        raise ValueError(f"arrivals must be one of {', '.join(ARRIVALS)}, got {arrivals!r}")
    mean_gap = 1e9 / rps
    if arrivals == "constant":
        return (np.arange(count, dtype=np.float64) * mean_gap).astype(np.int64)
    exact = max(2, round(rps * EXACT_RATE_S))  # arrivals over EXACT_RATE_S
    gaps = np.random.default_rng(seed).exponential(mean_gap, max(count, exact))
    gaps[0] = 0.0  # the first request goes at the start
    gaps[:exact] *= (exact - 1) * mean_gap / gaps[:exact].sum()  # the later ones as drawn
    times = np.cumsum(gaps)
    offsets: npt.NDArray[np.int64] = times[:count].astype(np.int64)
    return offsets


#: The names of load threads begin so: a call on one serves a measurement under load.
LOAD_THREAD = "sla-load-"


class _Thread:
    """A load thread that runs one job after another (:class:`Threads`)."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self.idle = threading.Event()
        self.idle.set()
        #: Whether a call was made on it (its one-off set-up is paid).
        self.warm = False
        #: Its CPU time when it ended (ns; None while it runs): see ``loadheld``.
        self.final_cpu_ns: int | None = None
        self.thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            while (job := self._jobs.get()) is not None:
                try:
                    job()
                finally:
                    self.idle.set()
        finally:
            self.final_cpu_ns = time.thread_time_ns()

    def give(self, job: Callable[[], None] | None) -> None:
        """Run ``job`` next (None: end once idle)."""
        if job is not None:
            self.idle.clear()
        self._jobs.put(job)


class Threads:
    """Load threads kept from one run to the next: a capacity search's steps share them,
    so each thread's first call (its one-off set-up, made untimed: see
    :meth:`Generator.start`) is made once for the search, not again in every step. A
    thread still in a call of an earlier run when the next one starts is left to it
    (it ends once that returns), and a new thread takes its place."""

    def __init__(self) -> None:
        self._threads: list[_Thread] = []

    def get(self, k: int) -> _Thread:
        """Thread ``k``, idle: the one kept, or a new one where that one is busy or ended."""
        while len(self._threads) <= k:
            self._threads.append(_Thread(f"{LOAD_THREAD}{len(self._threads)}"))
        thread = self._threads[k]
        if not thread.idle.is_set() or not thread.thread.is_alive():  # busy, or it died
            thread.give(None)
            left_behind(thread)  # (in a call still, or ended: its CPU is not a later run's)
            self._threads[k] = _Thread(f"{LOAD_THREAD}{k}")
        return self._threads[k]

    def close(self) -> None:
        """End every thread once its job (if any) returns."""
        for thread in self._threads:
            thread.give(None)
            if not thread.idle.is_set():
                left_behind(thread)  # a later run's calls do not use its CPU
        self._threads = []


class Generator:
    """Issues ``call`` at ``start + offsets[i]`` from a pool of ``concurrency`` threads.

    Each free thread takes the next request in schedule order, waits for its time, and
    calls. A request whose time has come while every thread is busy waits for the first
    free one, and that wait counts in its latency. Per request it records when a thread
    took it, when the call started and when it ended (``perf_counter_ns``), so latencies,
    lateness and concurrency are computed afterwards, without locks in the threads.
    """

    def __init__(
        self,
        call: Callable[[], object],
        offsets: npt.NDArray[np.int64],
        concurrency: int,
        clock: Callable[[], int] = time.perf_counter_ns,
        threads: Threads | None = None,
    ) -> None:
        """``threads``: the threads to issue from, kept after the run (a capacity
        search's); without, the run starts its own and ends them at :meth:`stop`."""
        self.call = call
        self.offsets = offsets
        self.concurrency = concurrency
        self.clock = clock
        n = int(offsets.size)
        self.claimed = np.zeros(n, dtype=np.int64)
        self.started = np.zeros(n, dtype=np.int64)
        self.ended = np.zeros(n, dtype=np.int64)
        self.done = np.zeros(n, dtype=bool)
        self.start_ns = 0
        self.error: BaseException | None = None
        #: The request (from 0, in schedule order) whose call raised ``error``.
        self.error_request = 0
        #: Other calls whose time overlapped the call that raised.
        self.error_others = 0
        self._next = itertools.count()  # next() on it is atomic under the GIL
        self._stop = threading.Event()
        self._go = threading.Event()
        self._own = threads is None
        self._pool = Threads() if threads is None else threads
        self._threads: list[_Thread] = []
        self._warm_until = 0.0  # (time.monotonic(); 0: no warm calls)
        self._warm_lock = threading.Lock()
        self._warmed = [threading.Event() for _ in range(concurrency)]
        self._warm_spans = [[0, 0] for _ in range(concurrency)]  # (start, end) clock ns
        #: CPU time each thread spent outside its calls since the run started (ns: its
        #: waits, wake-ups and bookkeeping), added up at each call's start.
        self._outside = [0] * concurrency

    def start(self, warm_s: float = 0.0) -> None:
        """Start the pool, then issue from :attr:`start_ns` on. With ``warm_s``, each
        thread that has made no call yet (kept threads made theirs in an earlier run)
        first makes one untimed call, one thread at a time (a burst of first calls
        at once is no load the run asked for), for up to ``warm_s`` in all: a call's first
        run on a new thread can carry one-off set-up (onnxruntime's CUDA provider makes
        each thread's cuBLAS and cuDNN handles then: a p99 of 24 ms where calls took
        0.3 ms), which a server's long-lived threads pay once, not in their latency.
        Threads whose turn has not come by then make none; one whose warm call is still
        running joins when it returns (:attr:`warm_stuck`: never did). One that raised
        stops the run (:attr:`error`, at request -1)."""
        self._warm_until = time.monotonic() + warm_s if warm_s > 0 else 0.0
        self._threads = [self._pool.get(k) for k in range(self.concurrency)]
        for k, thread in enumerate(self._threads):
            thread.give(functools.partial(self._work, k))
        for event in self._warmed if warm_s > 0 else ():
            left = self._warm_until - time.monotonic()
            if not event.wait(max(0.0, left)) or self._stop.is_set():
                break
        self.start_ns = self.clock()
        self._go.set()

    @property
    def warm_calls(self) -> int:
        """How many threads made their warm call (or are making it)."""
        return sum(1 for began, _ in self._warm_spans if began > 0)

    @property
    def warm_stuck(self) -> bool:
        """Whether a thread's warm call started and has not returned."""
        return any(began > 0 and ended == 0 for began, ended in self._warm_spans)

    def _warm_up(self, k: int) -> bool:
        """Thread ``k``'s warm call, in its turn; False when it raised (the run stops)."""
        __tracebackhide__ = True
        try:
            if self._threads[k].warm:
                return True  # it made its first call in an earlier run
            left = self._warm_until - time.monotonic()
            if left <= 0 or not self._warm_lock.acquire(timeout=left):
                return True  # no time left for it: its first request is its first call
            try:
                if time.monotonic() >= self._warm_until or self._stop.is_set():
                    return True
                return self._warm_call(k)
            finally:
                self._warm_lock.release()
        finally:
            self._warmed[k].set()

    def _warm_call(self, k: int) -> bool:
        __tracebackhide__ = True
        span, clock = self._warm_spans[k], self.clock
        span[0] = clock()
        try:
            self.call()
        except BaseException as exc:
            if self.error is None:
                # Raised as itself: warm calls are made one at a time, and one that outlasts
                # the wait overlaps run calls only because the run would not wait for it
                # (a thread-bound callable would be called not thread-safe: a review).
                self.error_others = 0
                self.error_request = -1
                self.error = exc
            self._stop.set()
            return False
        finally:
            span[1] = clock()
        self._threads[k].warm = True
        return True

    def _overlapping(self, t0: int, raised: int) -> int:
        """Calls of the run, and warm calls, whose time overlapped ``[t0, raised]``: one
        that ended between a call's start and its raise (its thread lost its CPU
        meanwhile) still ran at once with it."""
        started, ended, done = self.started, self.ended, self.done
        overlapped = (started > 0) & (started <= raised) & (~done | (ended >= t0))
        warm = sum(1 for b, e in self._warm_spans if 0 < b <= raised and (e == 0 or e >= t0))
        return int(overlapped.sum()) + warm

    def stop(self, join_s: float = JOIN_TIMEOUT_S) -> None:
        """Issue nothing more; wait for the calls in flight (up to ``join_s``)."""
        self._stop.set()
        self._go.set()
        deadline = time.monotonic() + join_s
        for thread in self._threads:
            thread.idle.wait(max(0.0, deadline - time.monotonic()))
        if self._own:
            self._pool.close()  # (one still in a call is left behind: see loadheld)

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True when the run was stopped (an error) meanwhile."""
        return self._stop.wait(seconds)

    def _work(self, k: int) -> None:
        __tracebackhide__ = True  # what ``call`` raised shows the test's line, then the call
        fine_wakeups()
        if self._warm_until and not self._warm_up(k):
            return
        self._go.wait()
        clock, call, stop = self.clock, self.call, self._stop
        offsets, claimed, started, ended, done = (
            self.offsets,
            self.claimed,
            self.started,
            self.ended,
            self.done,
        )
        n = int(offsets.size)
        start = self.start_ns
        first = not self._threads[k].warm
        thread_cpu, outside = time.thread_time_ns, self._outside
        mark = thread_cpu()
        for i in self._next:
            if i >= n or stop.is_set():
                return
            now = clock()
            claimed[i] = now
            due = start + int(offsets[i])
            # time.sleep wakes closer to the time than an Event's timed wait; long waits
            # are sliced so that a stop is seen within a slice.
            while True:
                left = due - clock()
                if left <= 0:
                    break
                time.sleep(min(left, _SLICE_NS) / 1e9)
                if stop.is_set():
                    return
            outside[k] += thread_cpu() - mark  # (read before the clock: not in the call)
            t0 = clock()
            started[i] = t0
            try:
                call()
            except BaseException as exc:
                if self.error is None:
                    # Every call whose time overlapped this one's, running or not.
                    self.error_others = max(0, self._overlapping(t0, clock()) - 1)
                    self.error_request = i
                    self.error = exc
                stop.set()
                return
            ended[i] = clock()
            mark = thread_cpu()
            done[i] = True
            if first:  # its one-off set-up is paid: a later run need not warm it
                self._threads[k].warm, first = True, False

    # --- what the main thread reads --------------------------------------------------------

    @property
    def outside_cpu_ns(self) -> int:
        """CPU time the threads spent outside their calls so far (ns): the generator's
        own (a thread's since its last call's start is added at its next)."""
        return sum(self._outside)

    def finished_prefix(self, since: int) -> int:
        """The first request at or after ``since`` that has not finished (every request
        before it has): the end of what may be judged."""
        rest = self.done[since:]
        if rest.size == 0 or rest.all():
            return int(self.done.size)
        return since + int(np.argmin(rest))

    def latencies(self, upto: int) -> npt.NDArray[np.int64]:
        """End minus scheduled start of requests ``[0, upto)`` (all finished)."""
        lat: npt.NDArray[np.int64] = self.ended[:upto] - (self.start_ns + self.offsets[:upto])
        return lat

    def waited(self, judged: int, stopped_at: int) -> npt.NDArray[np.int64]:
        """The latencies of requests ``[0, judged)`` (all finished), then of those due
        after them before ``stopped_at``: end minus scheduled start of those that
        finished, the time waited until ``stopped_at`` of the others (a lower bound)."""
        due = self.start_ns + self.offsets
        upto = max(judged, int(np.searchsorted(due, stopped_at, side="left")))
        ended = np.where(self.done[judged:upto], self.ended[judged:upto], stopped_at)
        rest = ended - due[judged:upto]
        waits: npt.NDArray[np.int64] = np.concatenate([self.latencies(judged), rest])
        return waits

    def lateness(self, upto: int) -> npt.NDArray[np.int64]:
        """How late each request ``[0, upto)`` was issued by a thread that was free: the
        call's start minus the later of its scheduled time and the time a thread took it."""
        due = self.start_ns + self.offsets[:upto]
        late: npt.NDArray[np.int64] = self.started[:upto] - np.maximum(due, self.claimed[:upto])
        return late


def concurrency_reached(
    due: npt.NDArray[np.int64], started: npt.NDArray[np.int64], ended: npt.NDArray[np.int64]
) -> tuple[int, int]:
    """(most calls running at once, most requests due and not finished at once)."""
    if due.size == 0:
        return 0, 0

    def most(begin: npt.NDArray[np.int64], end: npt.NDArray[np.int64]) -> int:
        times = np.concatenate((begin, end))
        steps = np.concatenate((np.ones(begin.size, np.int64), -np.ones(end.size, np.int64)))
        # Ends sort before starts at the same instant: back-to-back calls never overlap.
        order = np.lexsort((steps, times))
        return int(np.cumsum(steps[order]).max())

    return most(started, ended), most(due, ended)


def run_figures(
    generator: Generator,
    spec: LoadSpec,
    judged: tuple[int, int],
    late: tuple[float, float],
    behind: bool,
    unfinished: int,
) -> LoadStats:
    """The figures of a run whose first ``n`` requests were judged and which stopped at
    clock ``stopped_at`` (``judged``), with ``unfinished`` requests due before then that
    never finished (``late``: share, tolerance). A call that never returned runs, and its
    request is outstanding, until the stop; a request never issued ran no call; the rate
    achieved is over the time to the stop when calls hung (to the last call's end, it read
    the rate of the calls before they hung). The requests counted are those judged: with
    some unfinished, every one due before the stop, as the samples shown."""
    n, stopped_at = judged
    finished = generator.done.copy()
    if unfinished:  # what returned by the stop, over the time to it
        finished &= generator.ended <= stopped_at
    total = int(finished.sum())
    last_end = int(generator.ended[finished].max()) if total else generator.start_ns
    span = max(1, (stopped_at if unfinished else last_end) - generator.start_ns)
    due = generator.start_ns + generator.offsets
    upto = max(n, int(np.searchsorted(due, stopped_at, side="left")))
    # A call still running at the stop runs to it; one started after it and still running
    # (the threads went on until they were stopped) ran none of the run's time.
    done = finished[:upto]  # (with hung calls: by the stop)
    begun = generator.started[:upto]
    running = (begun > 0) & (begun <= stopped_at)
    started = np.where(done | running, begun, stopped_at)
    ended = np.where(done, generator.ended[:upto], stopped_at)
    in_flight, outstanding = concurrency_reached(due[:upto], started, ended)
    return LoadStats(
        target_rps=spec.rps,
        arrivals=spec.arrivals,
        concurrency=spec.concurrency,
        achieved_rps=total / (span / 1e9) if total > 1 else 0.0,
        requests=upto if unfinished else n,
        in_flight_max=in_flight,
        outstanding_max=outstanding,
        late_share=late[0],
        late_tolerance_ns=late[1],
        behind=behind,
        cores=cores(),
        unfinished=unfinished,
    )
