"""Which late starts under load are the callable's cost: waits for a CPU its calls held.

No pytest, no onnxruntime. A free load thread that starts a request late waited for
something: a CPU the callable's own calls kept busy (a server's request threads wait
alike: the callable's cost under that load), or the host, another process, the GIL a
look of the main thread held, the generator's own work (none of them the callable's).
Each look reads what the calls used of the CPUs (the process's CPU time, less the main
thread's, the load threads' own outside their calls, and load threads an earlier run
left in a call), what other processes took (``/proc/stat``), and the host's steal; a
late start is *held* by the calls only where, over the reads around it, they used
``HELD_SHARE`` or more of the CPUs and other processes (and the host) took at most
``OTHERS_MAX`` of them; less the time a look ran within it, and the host's steal.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable

    import numpy.typing as npt

    from .loadgen import Generator
    from .loadledger import CpuLog

__all__ = [
    "HELD_SHARE",
    "OTHERS_MAX",
    "SPAN_MIN_NS",
    "Holder",
    "LoadThread",
    "calls_cpu",
    "first_of",
    "late_shares",
    "left_behind",
]

#: The share of the CPUs (those the process may use) the calls must have used around a
#: late start for it to be theirs.
HELD_SHARE = 0.8
#: ... and the most that other processes and the host may have taken meanwhile: a
#: neighbour's bursts would otherwise fit in the share the calls left.
OTHERS_MAX = 0.05
#: The reads around a late start span at least this long: ``/proc/stat`` counts in ticks
#: of 10 ms, a few of them per CPU off over 50 ms (the first looks' interval).
SPAN_MIN_NS = 500_000_000


class LoadThread(Protocol):
    """A load thread (``loadgen``'s): its thread, and its CPU time when it ended."""

    thread: threading.Thread
    final_cpu_ns: int | None


#: Load threads left in a call when their run ended (or a capacity step moved on without
#: them), with their CPU time then: what they use after is not a later run's calls'.
_LEFT: dict[LoadThread, int] = {}
#: What the left threads that ended since used after they were left (ns).
_ENDED = [0]


def _cpu_of(thread: LoadThread) -> int | None:
    """The CPU time so far of a load thread (ns; None unreadable)."""
    if thread.final_cpu_ns is not None:
        return thread.final_cpu_ns
    ident = thread.thread.ident
    try:
        return time.clock_gettime_ns(time.pthread_getcpuclockid(ident))  # type: ignore[arg-type]
    except (AttributeError, OSError, TypeError):  # pragma: no cover - Windows; just ended
        return None


def left_behind(thread: LoadThread) -> None:
    """Note a load thread left running a call: later runs take off the CPU time it uses
    from now on (and what it used after it ended stays taken off: the process's CPU
    time keeps an ended thread's)."""
    if thread not in _LEFT and (now := _cpu_of(thread)) is not None:
        _LEFT[thread] = now


def _left_cpu_ns() -> int:
    """The CPU time the left load threads used since they were left (ns)."""
    total = 0
    for thread, then in list(_LEFT.items()):
        if thread.final_cpu_ns is not None:  # it ended: what it used is fixed
            _ENDED[0] += max(0, thread.final_cpu_ns - then)
            del _LEFT[thread]
        elif (now := _cpu_of(thread)) is not None:
            total += max(0, now - then)
    return _ENDED[0] + total


def calls_cpu(generator: Generator) -> Callable[[], int]:
    """A reader of the CPU time the calls of ``generator`` used so far (ns): the
    process's, less this thread's (the looks'), the load threads' own outside their calls
    and that of load threads an earlier run left in a call. Read in this thread only."""

    def read() -> int:
        others = time.thread_time_ns() + generator.outside_cpu_ns + _left_cpu_ns()
        return time.process_time_ns() - others

    return read


def first_of(split: Callable[[], tuple[int, int]]) -> Callable[[], int]:
    """The reader of the first of ``split``'s two figures (other processes' CPU time)."""
    return lambda: split()[0]


def late_shares(
    lateness: npt.NDArray[np.int64], held: npt.NDArray[np.int64] | None, tolerance_ns: float
) -> tuple[float, float]:
    """The share of requests issued more than ``tolerance_ns`` late, and the share of
    them the calls held up: all but the tolerance of the wait (a sliver held is not a
    start held: a review), so the rest is the generator's own lateness."""
    late = lateness > tolerance_ns
    if late.size == 0:
        return 0.0, 0.0
    own = late if held is None else (lateness - held) > tolerance_ns
    return float(late.mean()), float((late & ~own).mean())


@dataclass
class Holder:
    """What tells a held late start: the calls' CPU time (``own``), other processes' and
    the host's (``others``; None unknown: nothing is held), the host's steal (``steal``,
    taken off a held wait), the CPUs the process may use, and the looks' spans (clock ns:
    a look holds the GIL; a start's wait across one is, for that long, not the calls')."""

    own: CpuLog
    others: CpuLog | None
    cpus: int
    steal: CpuLog | None = None
    looks: list[tuple[int, int]] = field(default_factory=list)

    def held(
        self, ready: npt.NDArray[np.int64], started: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.int64]:
        """For requests a free thread could start at ``ready`` and started at ``started``
        (0: never), how long the calls held each up (ns; 0 where not)."""
        late = np.where(started > 0, started - ready, 0)
        held = np.zeros(started.size, dtype=np.int64)
        if self.others is None or not (late > 0).any():
            return held
        ends = np.maximum(ready, started)
        calls = self.own.busy(ready, ends, self.cpus, SPAN_MIN_NS)
        others = self.others.busy(ready, ends, self.cpus, SPAN_MIN_NS)
        ok = (late > 0) & (calls >= HELD_SHARE) & (others <= OTHERS_MAX)
        held = late - (self._looking(ends) - self._looking(ready))
        if self.steal is not None:
            held -= self.steal.over(ready, ends)
        return np.where(ok, np.maximum(0, held), 0)

    def _looking(self, at: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """The time the looks ran before each of ``at`` (ns): a look holds the GIL, and a
        late start's wait across one is, for that long, not the calls'."""
        if not self.looks:
            return np.zeros(at.size, dtype=np.int64)
        begins, finishes = np.array(self.looks, dtype=np.int64).T
        took = finishes - begins
        before = np.concatenate(([0], np.cumsum(took)))
        k = np.searchsorted(begins, at, side="right")  # looks begun by then
        last = np.maximum(k - 1, 0)
        inside = np.where(k > 0, np.clip(at - begins[last], 0, took[last]), 0)
        ran: npt.NDArray[np.int64] = before[np.maximum(k - 1, 0)] + inside
        return ran
