"""The load's data model: what to load (``LoadSpec``) and what a load run and a capacity
search found (``LoadStats``, ``Capacity``, ``CapacityStep``). Plain frozen values: no
threads, no clock, no pytest; ``load.py`` runs the load, ``capacity.py`` the search.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_CONCURRENCY", "Capacity", "CapacityStep", "LoadSpec", "LoadStats"]

#: Most calls in flight at once by default: the pool of threads that issues requests.
DEFAULT_CONCURRENCY = 32


@dataclass(frozen=True)
class LoadSpec:
    """How to load: the marker's ``rps=``, ``arrivals=``, ``concurrency=``, ``capacity=``."""

    #: Requests per second to issue; None: no load run (a capacity search alone).
    rps: float | None = None
    #: "poisson" or "constant" (see ``loadgen.ARRIVALS``).
    arrivals: str = "poisson"
    #: Most calls in flight at once; 1 serializes calls (a single server).
    concurrency: int = DEFAULT_CONCURRENCY
    #: Also search for the highest rate at which the budget holds (None: as the
    #: ``sla_capacity`` setting says).
    capacity: bool | None = None
    #: Seed of the arrival schedule (a schedule is the same in every run).
    seed: int = 0
    #: How long the capacity search may take (``capacity.CAPACITY_TIME_NS``, or less where
    #: an isolated worker's ``sla_timeout`` leaves less).
    capacity_time_ns: int = 30_000_000_000


@dataclass(frozen=True)
class CapacityStep:
    """One rate tried by the capacity search."""

    rps: float
    #: The judged percentile of the step's latencies (requests unfinished at its end
    #: count with the time they had waited so far: a lower bound), ns.
    measured_ns: float
    #: Whether the budget held (``measured_ns`` within it).
    held: bool
    requests: int
    duration_ns: int
    #: Shares of the CPUs' time that went to other processes (and the host's steal), and
    #: that was idle, during the step; None where they cannot be read.
    others_share: float | None = None
    idle_share: float | None = None


@dataclass(frozen=True)
class Capacity:
    """The highest rate at which the budget held, as found by ``capacity.search``."""

    #: Requests per second; 0.0 when the budget held at no rate tried.
    rps: float
    #: Every step, in the order tried.
    steps: tuple[CapacityStep, ...]
    #: CPUs the process may use.
    cores: int
    #: Why the search stopped short of bracketing the capacity closely, or None: "time"
    #: (its time ran out), "generator" (the rate the generator can issue was reached:
    #: the capacity is at least ``rps``), "floor" (the budget held at no rate tried),
    #: "busy" (the budget failed at a rate while other processes kept the CPUs busy: see
    #: ``capacity.busy``; the capacity is at least ``rps``, the first rate that held below
    #: it, or none held within ``BUSY_HALVINGS``),
    #: "error" (the callable raised: see ``problem``).
    limited: str | None = None
    #: How long the search took.
    duration_ns: int = 0
    #: Why the search has no figure (``limited`` "error": the callable raised), or None.
    problem: str | None = None


@dataclass(frozen=True)
class LoadStats:
    """What the load run did, besides the latencies (see :class:`Sampling`)."""

    #: The target rate (requests per second); None for a capacity search alone.
    target_rps: float | None
    arrivals: str
    #: The pool's size: most calls in flight at once.
    concurrency: int
    #: Requests finished per second, over the run.
    achieved_rps: float
    #: Requests judged (all finished, in schedule order, from the first).
    requests: int
    #: Most calls running at once, and most requests in the system at once (running or
    #: due and waiting for a free thread).
    in_flight_max: int
    outstanding_max: int
    #: Share of the judged requests a free thread issued late (see ``late_tolerance_ns``).
    late_share: float
    late_tolerance_ns: float
    #: The generator could not keep the schedule: the run is inconclusive.
    behind: bool
    #: CPUs the process may use.
    cores: int
    capacity: Capacity | None = None
    #: Requests due before the run stopped undecided that never finished (never issued,
    #: waiting for a thread, or stuck): judged over the budget for a pass, at the time
    #: they had waited for a fail.
    unfinished: int = 0
    #: Share of the CPU time that the host took during the run (a virtual machine's steal:
    #: every thread stalls at once, and a queue builds behind the stall), over the CPUs
    #: the run could keep busy (the process's, at most ``concurrency`` of them: an idle
    #: CPU accrues none); 0.0 where none is read.
    steal_share: float = 0.0
    #: Share of the CPUs' time (those the process may use) that other processes and the
    #: host took during the run (``/proc/stat`` less the process's own); None unknown.
    others_share: float | None = None
    #: Share of the judged requests a free thread issued late while the callable's own
    #: calls used most of the CPUs (``loadledger.held_up``): of ``late_share``, the part
    #: counted against the callable, not the generator.
    held_share: float = 0.0
