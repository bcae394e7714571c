"""Capacity: the highest request rate at which a latency budget still holds.

No pytest, no onnxruntime. As MLPerf's Server scenario does, the search runs the model
under open-loop load (``load.Generator``) at one rate after another: doubling (or
halving) until the budget fails (or holds), then bisecting between the highest rate that
held and the lowest that failed until they are within ``PRECISION``. Each step judges a
point estimate of the percentile (requests unfinished at the step's end count with what
they had waited so far), so the figure is an estimate, "about", never a verdict: the
test's verdict is the budget's, at the marker's ``rps=`` or one call at a time. A step
that failed while other processes took a large share of the CPUs (``BUSY_SHARE``) ends
the search: its failure may be theirs, not the load's.

:func:`search` takes the step as a function, so it is tested with a simulated server;
:func:`run_step` is the real one.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import TYPE_CHECKING

import numpy as np

from .load import ConcurrentCallError, LoadError, StalledError, late_tolerance_ns, raise_error
from .loadgen import Generator, Threads, cores, schedule
from .loadspec import Capacity, CapacityStep, LoadStats
from .machine import cpu_split
from .schema import BUSY_CPU_SHARE
from .stats import percentile_ns

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy.typing as npt

    from .sampling import Sampling

__all__ = [
    "BUSY_SHARE",
    "CAPACITY_TIME_NS",
    "GENERATOR_MAX_RPS",
    "PRECISION",
    "busy",
    "run_step",
    "search",
    "step_time_ns",
    "with_capacity",
]

#: The search stops after this long, with the bracket it has.
CAPACITY_TIME_NS = 30_000_000_000


#: ... or once the highest rate that held and the lowest that failed are this close.
PRECISION = 0.05
#: The rate is doubled (or halved) until the budget fails (or holds).
GROWTH = 2.0
#: Never below this rate (requests per second).
FLOOR_RPS = 1.0
#: A step lasts long enough for this many requests, within these bounds.
STEP_REQUESTS = 2000
STEP_MIN_NS = 1_000_000_000
STEP_MAX_NS = 3_000_000_000
#: The main thread checks a step this often, to end a clearly failed one early.
_CHECK_NS = 50_000_000
#: A step that failed while other processes (and the host's steal) took this share of
#: the CPUs' time or more ends the search ("busy"): halving the rate on a machine that
#: others keep busy measures them (a new user's search beside a test suite on both cores
#: reported "about 19.5/s" for a model whose calls took 48 µs at p99 one at a time).
#: Idle CPUs are no excuse: beside one CPU-bound process on 2 cores a GIL-bound search
#: left 20-40% idle and found 1,995/s against 5,403/s alone.
BUSY_SHARE = BUSY_CPU_SHARE
#: Before any rate has held, a busy failure halves the rate at most this many times more
#: toward a lower bound (a machine that stays busy would take the search to 1/s).
BUSY_HALVINGS = 3


def step_time_ns(rps: float) -> int:
    """How long a step at ``rps`` runs."""
    return int(min(STEP_MAX_NS, max(STEP_MIN_NS, STEP_REQUESTS / rps * 1e9)))


def search(
    step: Callable[[float], CapacityStep],
    *,
    start_rps: float,
    max_rps: float,
    time_ns: int = CAPACITY_TIME_NS,
    clock: Callable[[], int] = time.perf_counter_ns,
    cpus: int | None = None,
) -> Capacity:
    """The highest rate at which ``step(rate).held``, searched from ``start_rps`` up to
    ``max_rps`` (what the generator can issue) within ``time_ns``."""
    __tracebackhide__ = True  # what a step's calls raise shows the test's line, then the call
    begin = clock()
    if time_ns <= 0:  # no time left for even one step (a timeout took it)
        return Capacity(rps=0.0, steps=(), cores=cores() if cpus is None else cpus, limited="time")
    steps: list[CapacityStep] = []
    held: float | None = None  # the highest rate that held
    failed: float | None = None  # the lowest rate that failed
    rate = min(max(start_rps, FLOOR_RPS), max_rps)
    limited: str | None = None
    busy_steps = 0  # failures on a busy machine
    while True:
        result = step(rate)
        steps.append(result)
        if result.held:
            held = rate if held is None else max(held, rate)
            if limited == "busy":
                break  # a lower bound, under a rate that failed on a busy machine
        else:
            # A failure while others kept the CPUs busy ends the search at what held, or,
            # before any rate has, halves on toward one that does: a rate that held on a
            # busy machine holds on a quiet one (a trial: "no figure" for 8 searches in 9
            # beside a test suite). A failure on a quiet machine is the load's again.
            limited = "busy" if busy(result) else None
            busy_steps += limited is not None
            if limited and (held is not None or busy_steps > BUSY_HALVINGS):
                break
            failed = rate if failed is None else min(failed, rate)
        if held is not None and failed is not None and limited != "busy":
            if failed / held <= 1.0 + PRECISION:
                break
            rate = math.sqrt(held * failed)
        elif failed is None:
            if rate >= max_rps:
                limited = "generator"
                break
            rate = min(rate * GROWTH, max_rps)
        else:
            if rate <= FLOOR_RPS:
                limited = limited or "floor"
                break
            rate = max(rate / GROWTH, FLOOR_RPS)
        if clock() - begin >= time_ns:
            limited = "busy" if limited == "busy" and held is None else "time"
            break
    return Capacity(
        rps=held or 0.0,
        steps=tuple(steps),
        cores=cores() if cpus is None else cpus,
        limited=limited,
        duration_ns=clock() - begin,
    )


def busy(step: CapacityStep) -> bool:
    """Whether other processes took ``BUSY_SHARE`` or more of the CPUs' time during a
    step; False where that could not be read."""
    return step.others_share is not None and step.others_share >= BUSY_SHARE


def run_step(
    call: Callable[[], object],
    rps: float,
    *,
    budget_ns: float,
    quantile: float,
    concurrency: int,
    arrivals: str = "poisson",
    seed: int = 0,
    clock: Callable[[], int] = time.perf_counter_ns,
    split: Callable[[], tuple[int, int]] | None = None,
    cpus: int | None = None,
    threads: Threads | None = None,
    warm_s: float | None = None,
) -> CapacityStep:
    """Load ``call`` at ``rps`` for :func:`step_time_ns` and judge the point estimate of
    the percentile against the budget. A step stops early once more requests are over
    the budget than the percentile allows of the whole step.

    ``split`` reads the CPU time so far that other processes took, and that was idle
    (CPU-time ns; ``machine.cpu_split``); the step reports both as shares of the
    ``cpus``' time between the reads around it. ``threads``: the search's threads, kept
    from step to step (each makes its untimed first call once), or new ones;
    ``warm_s``: the most those first calls may take, if more than a sixth of the step.
    """
    __tracebackhide__ = True
    duration = step_time_ns(rps)
    count = max(1, math.ceil(rps * duration / 1e9))
    generator = Generator(
        call, schedule(rps, count, arrivals, seed), concurrency, clock, threads=threads
    )
    allowed = (1.0 - quantile) * count
    before = split() if split is not None else None
    began = time.monotonic_ns()
    # A sixth of the step for its threads' first calls, and one for the calls in flight
    # at its stop (limits: the search's last step may run over by these).
    now, hold_s = 0, max(0.1, duration / 1e9 / 6)
    try:
        generator.start(warm_s=max(hold_s, warm_s or 0.0))  # first calls, untimed
        now = generator.start_ns
        end = generator.start_ns + int(generator.offsets[-1])
        while True:
            stopped = generator.wait(_CHECK_NS / 1e9)
            now = clock()
            if stopped:
                break
            if int((_waits(generator, now) > budget_ns).sum()) > allowed:
                break  # failed already, whatever the rest does
            if now >= end and (generator.done.all() or now - end > budget_ns):
                break  # every request finished, or what is left is over the budget
    finally:
        generator.stop(hold_s)
        after = split() if split is not None else None
        span = (time.monotonic_ns() - began) * (cores() if cpus is None else cpus)
    raise_error(generator)
    if generator.warm_stuck:  # a thread the step went without
        raise StalledError(
            f"a load thread's first call, untimed, before a step at {rps:g}/s, "
            "had not returned when the step stopped"
        )
    waits = _waits(generator, now)
    measured = step_percentile(waits, quantile)
    shares: list[float | None] = [None, None]
    if before is not None and after is not None and span > 0:
        shares = [min(1.0, max(0.0, (a - b) / span)) for a, b in zip(after, before, strict=True)]
    return CapacityStep(
        rps=rps,
        measured_ns=measured,
        held=bool(measured <= budget_ns),
        requests=int(waits.size),
        duration_ns=now - generator.start_ns,
        others_share=shares[0],
        idle_share=shares[1],
    )


def step_percentile(waits: npt.NDArray[np.int64], quantile: float) -> float:
    """A step's percentile (ns) read as the verdict reads it, the inverted CDF (as the
    early stop counts too): within the budget exactly when at most the percentile's
    share of the requests is over it. Infinite without a request."""
    return percentile_ns(np.sort(waits), quantile * 100.0) if waits.size else math.inf


def _waits(generator: Generator, now: int) -> npt.NDArray[np.int64]:
    """Latency of each request due by ``now``: finished, its latency; not yet, the time it
    has waited so far (a lower bound)."""
    due = generator.start_ns + generator.offsets
    upto = int(np.searchsorted(due, now, side="right"))
    done = generator.done[:upto]
    ended = np.where(done, generator.ended[:upto], now)
    waits: npt.NDArray[np.int64] = ended - due[:upto]
    return waits


#: The highest rate searched: about what this generator (Python threads) issues on
#: schedule on a 2-core machine; a capacity there is reported as "at least".
GENERATOR_MAX_RPS = 20_000.0


def with_capacity(
    call: Callable[[], object],
    sampling: Sampling,
    *,
    budget_ns: float,
    quantile: float,
    concurrency: int,
    arrivals: str,
    target_rps: float | None,
    time_ns: int = CAPACITY_TIME_NS,
) -> Sampling:
    """``sampling`` with the capacity of ``call`` under the budget searched and added to
    its load figures (made for it when the measurement had no load)."""
    __tracebackhide__ = True
    per_call = float(np.median(sampling.samples_ns)) if sampling.samples_ns.size else 0.0
    if sampling.load is not None and sampling.warmup_calls > 0:
        # Under rps= the samples hold the queue's waits: after an overloaded run the
        # search started at a few requests a second, and doubled through many steps, each
        # a chance for a noisy failure to end it low (91.7/s against 620-690/s). The
        # warmup's calls, one at a time, say what one thread serves.
        per_call = sampling.warmup_ns / sampling.warmup_calls
    # Half of what one thread serves, one call at a time: the budget usually holds there.
    start = 0.5e9 / per_call if per_call > 0 else FLOOR_RPS

    split = cpu_split()
    # One set of threads for every step: a thread's first call on CUDA makes its cuBLAS
    # and cuDNN handles, which fresh threads in each step paid within it.
    threads = Threads()
    # The first step's threads make their first calls within a sixth of the search's
    # time, not of the step's: a step failed by threads still paying their set-up would
    # cap the search at its first rate.
    first_warm_s: float | None = time_ns / 1e9 / 6

    def step(rate: float) -> CapacityStep:
        __tracebackhide__ = True
        nonlocal first_warm_s
        warm_s, first_warm_s = first_warm_s, None
        return run_step(
            call,
            rate,
            budget_ns=budget_ns,
            quantile=quantile,
            concurrency=concurrency,
            arrivals=arrivals,
            split=split,
            threads=threads,
            warm_s=warm_s,
        )

    try:
        found = search(step, start_rps=start, max_rps=GENERATOR_MAX_RPS, time_ns=time_ns)
    except Exception as exc:
        # The callable broke under the search's load: the budget's measurement is kept,
        # and the search says why it has no figure.
        problem = str(exc) if isinstance(exc, LoadError) else f"{type(exc).__name__}: {exc}"
        if isinstance(exc, ConcurrentCallError) and concurrency > 1:
            problem += (
                "; if it is not thread-safe, set concurrency=1 on the marker (the search "
                "then calls it one at a time, as a single server), or remove capacity="
            )
        found = Capacity(rps=0.0, steps=(), cores=cores(), limited="error", problem=problem)
    finally:
        threads.close()
    load = sampling.load
    if load is None:
        load = LoadStats(
            target_rps=target_rps,
            arrivals=arrivals,
            concurrency=concurrency,
            achieved_rps=0.0,
            requests=0,
            in_flight_max=0,
            outstanding_max=0,
            late_share=0.0,
            late_tolerance_ns=late_tolerance_ns(budget_ns),
            behind=False,
            cores=found.cores,
        )
    return dataclasses.replace(sampling, load=dataclasses.replace(load, capacity=found))
