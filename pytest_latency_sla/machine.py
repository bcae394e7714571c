"""What the machine did while a chunk of calls ran: time lost waiting for a CPU.

No pytest, no onnxruntime. A :class:`Machine` is read once per chunk of calls (never per
call: a read costs microseconds, a call can take fewer) and tells how long this
process's threads were runnable but not running since the previous read: the CPU was
held by someone else. The sampler hands that wait to the verdict, which will not count
it against the model (see ``verdict.py``).

* :class:`LinuxMachine` reads ``/proc/self/task/<tid>/schedstat`` of every thread of the
  process (second field: run delay, in ns), ``getrusage`` (involuntary context
  switches) and the steal of ``/proc/stat`` for the CPUs the process may use (time a
  virtual machine's CPUs were held by the host for others: invisible to the run delay,
  as the guest's scheduler never saw its thread wait). Waits are excused only while the
  process's own threads that ran number no more than the CPUs it may use: an intra-op
  thread pool larger than the cores makes the model wait for itself, and that is the
  model's cost.
* :class:`NoMachine` elsewhere (macOS, Windows, a Linux without schedstat): no wait is
  ever reported, so contention is not excused there and verdicts are as measured.

Tests and simulations inject their own machine (any object with ``since_last()``).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "Interval",
    "LinuxMachine",
    "Machine",
    "NoMachine",
    "cpu_split",
    "default_machine",
    "host_steal",
]


@dataclass(frozen=True)
class Interval:
    """What happened between two reads."""

    #: Time this process's threads waited for a CPU held by other processes (ns); 0
    #: when the process's own threads outnumbered its CPUs (self-inflicted waits).
    wait_ns: int = 0
    #: Involuntary context switches of the process.
    switches: int = 0
    #: Threads of this process that ran.
    threads: int = 0
    #: The process's own threads outnumbered the CPUs it may use: waits not excused.
    self_contended: bool = False
    #: CPU time the host of a virtual machine gave to others (ns, summed over the CPUs
    #: this process may use, in clock ticks of 10 ms: an upper bound on what it lost to
    #: it); in ``wait_ns``.
    steal_ns: int = 0


class Machine(Protocol):
    """Reads what the machine did since the previous read."""

    def since_last(self) -> Interval:
        """The wait, switches and threads since the previous call (the first call starts
        the count)."""
        ...


class NoMachine:
    """No machine state available: nothing is excused."""

    def since_last(self) -> Interval:
        return Interval()


_TASKS = "/proc/self/task"
_STAT = "/proc/stat"
#: The column of a ``/proc/stat`` cpu line holding its steal.
_STEAL = (8,)
#: ... and those of time spent busy: user, nice, system, irq, softirq and steal (not
#: idle and iowait; a guest's time is in user already).
_BUSY = (1, 2, 3, 6, 7, 8)
_IDLE = (4, 5)


class LinuxMachine:
    """Run delay of every thread of this process, from ``/proc/self/task/*/schedstat``.

    Each thread's file is opened once and re-read with ``pread`` (about 1 µs a read,
    against 7 µs to open, read and close it); the list of threads is refreshed every
    few reads, so threads an inference session starts are counted too.
    """

    #: Reads between refreshes of the list of the process's threads.
    REFRESH = 16

    def __init__(self, stat: str = _STAT) -> None:
        try:
            affinity = os.sched_getaffinity(0)
        except (AttributeError, OSError):  # pragma: no cover - Linux always has it
            affinity = set()
        self.cpus = len(affinity) or os.cpu_count() or 1
        #: The ``/proc/stat`` lines of those CPUs (empty: unknown, the total line counts).
        self._mine = {f"cpu{i}".encode() for i in affinity}
        self._fds: dict[str, int] = {}
        self._last: dict[str, tuple[int, int]] = {}
        self._reads = 0
        self._switches = self._involuntary()
        self._tick_ns = 1e9 / os.sysconf("SC_CLK_TCK")
        try:
            self._stat: int | None = os.open(stat, os.O_RDONLY)
        except OSError:
            self._stat = None
        self._steal = self._stolen()
        self._read()

    def __del__(self) -> None:
        self.close()

    def close(self) -> None:
        """Close the kept-open files."""
        for fd in self._fds.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds.clear()
        if self._stat is not None:
            with contextlib.suppress(OSError):
                os.close(self._stat)
            self._stat = None

    def _stolen(self) -> int:
        """Steal ticks so far of the CPUs this process may use (the ``cpuN`` lines of
        ``/proc/stat``, eighth number; all CPUs when the set is unknown); 0 when not
        reported. About 10 µs to read and parse on 2 CPUs; more on machines with many."""
        return self._ticks(_STEAL)

    def _ticks(self, columns: tuple[int, ...]) -> int:
        """The ticks so far in ``columns`` of the ``/proc/stat`` lines of the CPUs this
        process may use (its total line when the set is unknown), summed; 0 unknown."""
        if self._stat is None:
            return 0
        total = 0
        try:
            for line in os.pread(self._stat, 1 << 16, 0).split(b"\n"):
                if not line.startswith(b"cpu"):
                    break  # the cpu lines come first
                fields = line.split()
                if fields[0] in self._mine or (not self._mine and fields[0] == b"cpu"):
                    total += sum(int(fields[column]) for column in columns)
        except (OSError, ValueError, IndexError):
            return 0
        return total

    @staticmethod
    def available() -> bool:
        try:
            with open("/proc/thread-self/schedstat", "rb") as handle:
                return len(handle.read().split()) >= 2
        except OSError:
            return False

    @staticmethod
    def _involuntary() -> int:
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_nivcsw)

    def _refresh(self) -> None:
        try:
            tids = set(os.listdir(_TASKS))
        except OSError:
            return
        for tid in set(self._fds) - tids:
            os.close(self._fds.pop(tid))
        for tid in tids - set(self._fds):
            try:
                self._fds[tid] = os.open(f"{_TASKS}/{tid}/schedstat", os.O_RDONLY)
            except OSError:
                continue  # a thread that just ended

    def _read(self) -> tuple[int, int]:
        """(total wait delta, threads that ran) since the previous read."""
        if self._reads % self.REFRESH == 0:
            self._refresh()
        self._reads += 1
        wait = 0
        ran = 0
        seen: dict[str, tuple[int, int]] = {}
        for tid, fd in list(self._fds.items()):
            try:
                fields = os.pread(fd, 128, 0).split()
                cpu, delay = int(fields[0]), int(fields[1])
            except (OSError, ValueError, IndexError):
                os.close(self._fds.pop(tid))  # the thread ended
                continue
            seen[tid] = (cpu, delay)
            before = self._last.get(tid)
            if before is None:
                continue
            wait += max(0, delay - before[1])
            ran += cpu > before[0]
        self._last = seen
        return wait, ran

    def cpu_split(self) -> tuple[int, int]:
        """CPU time so far on the CPUs this process may use, in two parts (ns; 0, 0
        unknown): what went to others (every busy tick, the host's steal included, less
        this process's own CPU time) and what was idle (idle and iowait ticks). Ticks
        are 10 ms, so a read is good to a few of them per CPU."""
        import resource

        if self._stat is None:
            return 0, 0
        own = resource.getrusage(resource.RUSAGE_SELF)
        busy = self._ticks(_BUSY) * self._tick_ns
        others = round(busy - (own.ru_utime + own.ru_stime) * 1e9)
        return others, round(self._ticks(_IDLE) * self._tick_ns)

    def stolen_ns(self) -> int:
        """The host's steal so far on the CPUs this process may use (ns; 0 unknown)."""
        return round(self._stolen() * self._tick_ns)

    def since_last(self) -> Interval:
        wait, ran = self._read()
        switches = self._involuntary()
        delta, self._switches = switches - self._switches, switches
        stolen = self._stolen()
        steal_ns = round(max(0, stolen - self._steal) * self._tick_ns)
        self._steal = max(self._steal, stolen)
        self_contended = ran > self.cpus
        return Interval(
            wait_ns=0 if self_contended else wait + steal_ns,
            switches=delta,
            threads=ran,
            self_contended=self_contended,
            steal_ns=steal_ns,
        )


def default_machine() -> Machine:
    """The machine this process runs on, as well as it can be read."""
    return LinuxMachine() if LinuxMachine.available() else NoMachine()


def host_steal() -> Callable[[], int] | None:
    """A reader of the host's steal so far (ns, on the CPUs this process may use), for a
    load run's looks; None where ``/proc/stat`` has none to read."""
    if not LinuxMachine.available():
        return None
    machine = LinuxMachine()
    return None if machine._stat is None else machine.stolen_ns


def cpu_split() -> Callable[[], tuple[int, int]] | None:
    """A reader of the CPU time so far that went to other processes (and to the host's
    steal), and of the time idle, on the CPUs this process may use (ns each; differences
    only are meaningful), for the capacity search's steps; None where ``/proc/stat``
    has none to read."""
    try:
        machine = LinuxMachine()
    except (ImportError, OSError):  # no resource module (Windows), no /proc
        return None
    return None if machine._stat is None else machine.cpu_split
