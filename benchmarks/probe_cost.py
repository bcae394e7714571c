"""Probe cost: what one read of each Linux machine-state source costs a sampler.

A sampler that wants to know whether the machine took the measured thread's CPU could
read one of these once per chunk of calls:

* ``/proc/thread-self/schedstat`` (on-CPU ns, run-queue wait ns, timeslices): opened,
  read and closed each time (``open()`` and ``os.open``), or ``os.pread`` on a file
  descriptor kept open (it stays bound to the thread that opened it);
* ``resource.getrusage(RUSAGE_THREAD)`` (``ru_nivcsw``: involuntary context switches);
* ``/proc/pressure/cpu`` (PSI: share of time some task waited for a CPU);
* ``/proc/stat`` (the machine's CPU counters, steal among them);
* ``time.thread_time_ns()`` (the thread's CPU time, to compare with the wall clock);

``time.perf_counter_ns()`` is the yardstick. Reads are timed in blocks, sources
round-robin block by block so drift hits them alike; the median ns per read over the
blocks is shown. Then schedstat is read before and after each of back-to-back 2 ms
busy-waits (no sleep between them, as a sampler's chunks run), with this process pinned
to core 0, alone and with a CPU hog pinned to the same core: the run delay (second
field) grows by what the hog took. (The on-CPU field of a running thread is brought up
to date only at scheduler ticks and switches, so over 2 ms it may read 0.)

    python benchmarks/probe_cost.py [--blocks 51] [--reads 200] [--waits 50]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from typing import TYPE_CHECKING

from _common import header, hogs

if TYPE_CHECKING:
    from collections.abc import Callable

SCHEDSTAT = "/proc/thread-self/schedstat"
PRESSURE = "/proc/pressure/cpu"
STAT = "/proc/stat"


def _read_open(path: str) -> Callable[[], object]:
    def read() -> object:
        with open(path, "rb") as f:
            return f.read()

    return read


def _read_os(path: str) -> Callable[[], object]:
    def read() -> object:
        fd = os.open(path, os.O_RDONLY)
        try:
            return os.read(fd, 4096)
        finally:
            os.close(fd)

    return read


def _pread(fd: int, size: int) -> Callable[[], object]:
    def read() -> object:
        return os.pread(fd, size, 0)

    return read


def _rusage() -> int:
    return resource.getrusage(resource.RUSAGE_THREAD).ru_nivcsw


def sources(fds: dict[str, int]) -> dict[str, Callable[[], object]]:
    """What each read does; sources this kernel lacks are left out."""
    found: dict[str, Callable[[], object]] = {
        "time.perf_counter_ns() (yardstick)": time.perf_counter_ns
    }
    if SCHEDSTAT in fds:
        found[f"{SCHEDSTAT}: open+read+close"] = _read_open(SCHEDSTAT)
        found[f"{SCHEDSTAT}: os.open+read+close"] = _read_os(SCHEDSTAT)
        found[f"{SCHEDSTAT}: os.pread, fd kept open"] = _pread(fds[SCHEDSTAT], 256)
    found["getrusage(RUSAGE_THREAD).ru_nivcsw"] = _rusage
    if PRESSURE in fds:
        found[f"{PRESSURE}: open+read+close"] = _read_open(PRESSURE)
        found[f"{PRESSURE}: os.pread, fd kept open"] = _pread(fds[PRESSURE], 512)
    if STAT in fds:
        found[f"{STAT}: open+read+close"] = _read_open(STAT)
        found[f"{STAT}: os.pread, fd kept open"] = _pread(fds[STAT], 1 << 16)
    found["time.thread_time_ns()"] = time.thread_time_ns
    return found


def cost(reads: dict[str, Callable[[], object]], blocks: int, per_block: int) -> dict[str, float]:
    """Median ns per read over ``blocks`` blocks of ``per_block`` reads, round-robin."""
    clock = time.perf_counter_ns
    times: dict[str, list[float]] = {name: [] for name in reads}
    for read in reads.values():  # warm up: first opens, page cache, code paths
        for _ in range(per_block):
            read()
    for _ in range(blocks):
        for name, read in reads.items():
            t0 = clock()
            for _ in range(per_block):
                read()
            times[name].append((clock() - t0) / per_block)
    return {name: statistics.median(values) for name, values in times.items()}


def schedstat(fd: int) -> tuple[int, int, int]:
    """(on-CPU ns, run-queue wait ns, timeslices) of the thread that opened ``fd``."""
    on_cpu, wait, slices = (int(x) for x in os.pread(fd, 256, 0).split()[:3])
    return on_cpu, wait, slices


def spin(ns: int) -> None:
    clock = time.perf_counter_ns
    end = clock() + ns
    while clock() < end:
        pass


def busy_waits(fd: int, waits: int) -> dict[str, list[float]]:
    """Deltas over ``waits`` 2 ms busy-waits: wall, on-CPU and run delay (ms), switches."""
    out: dict[str, list[float]] = {
        "wall": [],
        "on_cpu": [],
        "delay": [],
        "slices": [],
        "nivcsw": [],
    }
    for _ in range(waits):
        s0, r0, w0 = schedstat(fd), _rusage(), time.perf_counter_ns()
        spin(2_000_000)
        w1, r1, s1 = time.perf_counter_ns(), _rusage(), schedstat(fd)
        out["wall"].append((w1 - w0) / 1e6)
        out["on_cpu"].append((s1[0] - s0[0]) / 1e6)
        out["delay"].append((s1[1] - s0[1]) / 1e6)
        out["slices"].append(s1[2] - s0[2])
        out["nivcsw"].append(r1 - r0)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=51, help="timed blocks per source (51)")
    parser.add_argument("--reads", type=int, default=200, help="reads per block (200)")
    parser.add_argument(
        "--waits", type=int, default=200, help="2 ms busy-waits per condition (200)"
    )
    args = parser.parse_args()
    header(
        "probe cost: median ns per read of each machine-state source (blocks of reads, "
        "round-robin); schedstat run delay over a 2 ms busy-wait, alone and beside a hog"
    )
    fds: dict[str, int] = {}
    for path in (SCHEDSTAT, PRESSURE, STAT):
        try:
            fds[path] = os.open(path, os.O_RDONLY)
        except OSError as exc:
            print(f"{path}: not readable here ({exc.strerror}); left out")
    try:
        medians = cost(sources(fds), args.blocks, args.reads)
        print(f"| source ({args.blocks} blocks of {args.reads} reads) | median ns per read |")
        print("|---|---|")
        for name, ns in medians.items():
            print(f"| {name} | {ns:,.0f} |")
        print()
        if SCHEDSTAT not in fds or not hasattr(os, "sched_setaffinity"):
            print("no schedstat or affinity here: the busy-wait check is skipped")
            return 0
        affinity = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {0})
        try:
            # Reopen on this (main, now pinned) thread: the fd is bound to its thread.
            fd = os.open(SCHEDSTAT, os.O_RDONLY)
            try:
                results = {"alone on core 0": busy_waits(fd, args.waits)}
                with hogs(1) as pids:
                    os.sched_setaffinity(pids[0], {0})
                    time.sleep(0.2)
                    results[f"hog (PID {pids[0]}) pinned to core 0 too"] = busy_waits(
                        fd, args.waits
                    )
            finally:
                os.close(fd)
        finally:
            os.sched_setaffinity(0, affinity)
        print(
            f"schedstat deltas over a 2 ms busy-wait ({args.waits} back-to-back waits each), "
            "median / mean / max; ms except timeslices and involuntary switches:"
        )
        print()
        print("| condition | wall | on CPU | run delay | timeslices | ru_nivcsw | waits delayed |")
        print("|---|---|---|---|---|---|---|")
        for label, got in results.items():
            cells = [
                f"{statistics.median(got[key]):.3f} / {statistics.mean(got[key]):.3f} / "
                f"{max(got[key]):.3f}"
                for key in ("wall", "on_cpu", "delay", "slices", "nivcsw")
            ]
            waited = sum(1 for x in got["delay"] if x > 0)
            cells.append(f"{waited} of {len(got['delay'])}")
            print(f"| {label} | " + " | ".join(cells) + " |")
    finally:
        for fd in fds.values():
            os.close(fd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
