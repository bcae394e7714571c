"""A free thread's late start while the callable's own calls held the CPUs is the
callable's cost under load, not the generator's (``loadledger.held_up``).

A trial: SqueezeNet at 450 requests/s on 2 cores (its calls, with onnxruntime's threads,
used the whole machine) stayed inconclusive even at 60 s, "the load generator fell
behind: 20% of requests were issued more than 5.00 ms after their time by a free thread",
its p99 115 ms against a 50 ms budget: the threads waited for CPUs the model's own calls
held, as a server's request threads would, and that wait was excused as the generator's.
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from test_load import MS, _brief, _load_stats, _recorded, _undecided_message
from test_report import record as make_record

from pytest_latency_sla import load as load_module
from pytest_latency_sla import loadgen
from pytest_latency_sla import loadheld as held_module
from pytest_latency_sla.load import load_sample
from pytest_latency_sla.loadgen import Generator
from pytest_latency_sla.loadheld import (
    HELD_SHARE,
    OTHERS_MAX,
    SPAN_MIN_NS,
    Holder,
    calls_cpu,
    left_behind,
)
from pytest_latency_sla.loadledger import CpuLog, Judged, add_unfinished, add_windows, held_up
from pytest_latency_sla.loadspec import LoadSpec
from pytest_latency_sla.report.loadlabels import load_text
from pytest_latency_sla.result import _load_entry
from pytest_latency_sla.stats import Decision
from pytest_latency_sla.verdict import Ledger, judge, thresholds

if TYPE_CHECKING:
    from collections.abc import Callable


def _steady(start: int, span_ms: int, share: float, cpus: int = 2) -> CpuLog:
    """A CPU-time log read every millisecond: ``share`` of ``cpus`` CPUs."""
    log = CpuLog()
    for ms in range(span_ms + 1):
        log.record(start + ms * MS, round(ms * MS * share * cpus))
    return log


def _late_run(count: int = 4_000) -> Generator:
    """Requests due every millisecond, each issued 29 ms late by a free thread, each call
    1 ms: 30 ms from its time to its end, against a 10 ms p99 budget."""
    return _recorded([float(i) for i in range(count)], [30.0] * count, [29.0] * count)


def _holder(
    generator: Generator, calls: float, others: float | None = 0.0, steal: float = 0.0
) -> Holder:
    """The calls used ``calls`` of 2 CPUs throughout, other processes ``others`` (None:
    unknown), the host's steal ``steal``; read from a second before the run (the reads
    around a wait span half a second at least: none is held before)."""
    start = int(generator.start_ns) - 1_000 * MS
    span = int(generator.offsets[-1]) // MS + 1_100
    return Holder(
        _steady(start, span, calls),
        None if others is None else _steady(start, span, others),
        2,
        _steady(start, span, steal) if steal else None,
    )


def _verdict(generator: Generator, holder: Holder | None, stop: bool) -> tuple[str | None, Judged]:
    levels = thresholds(10.0 * MS, 2.0, 10.0)
    ledgers = (Ledger(levels), Ledger(levels))
    judged = Judged(64, holder=holder)  # threads enough: no queue in the replay
    count = generator.offsets.size
    if stop:
        add_unfinished(ledgers, generator, judged, int(generator.ended[-1]) + 1, 10 * MS)
    else:
        add_windows(ledgers, generator, judged, count, 10 * MS, final=True)
    return judge(ledgers[0], 10.0 * MS, 0.99, 0.99, quick_factor=2.0).outcome, judged


def _held(judged: Judged) -> float:
    assert judged.held is not None
    return float((judged.held > 0).mean())


@pytest.mark.parametrize("stop", [False, True], ids=["judged", "added-at-a-stop"])
def test_a_late_start_while_the_calls_held_the_cpus_counts_against_the_callable(
    stop: bool,
) -> None:
    generator = _late_run()
    # Unread (a simulated clock), the lateness is the generator's: no failure claimed.
    outcome, judged = _verdict(generator, None, stop)
    assert (outcome, _held(judged)) == (None, 0.0)
    # The calls used 90% of the 2 CPUs meanwhile, others none: the threads waited
    # behind the calls.
    outcome, judged = _verdict(generator, _holder(generator, 0.9), stop)
    assert (outcome, _held(judged)) == ("fail", 1.0)


@pytest.mark.parametrize(
    ("calls", "others", "steal", "why"),
    [
        (HELD_SHARE - 0.3, 0.0, 0.0, "the calls left CPUs free"),
        (0.9, OTHERS_MAX + 0.05, 0.0, "a neighbour took what the calls left"),
        (0.9, None, 0.0, "what others took is unknown"),
        (0.9, 0.0, 0.5, "the host took the wait (a VM's steal)"),
    ],
)
def test_a_late_start_is_not_the_callables_where_something_else_may_have_held_it(
    calls: float, others: float | None, steal: float, why: str
) -> None:
    """A review: a neighbour's bursts fit in the 20% the calls left, and the host's
    steal went uncounted: a late start there is not the callable's (``why``)."""
    generator = _late_run()
    outcome, judged = _verdict(generator, _holder(generator, calls, others, steal), False)
    assert (outcome, _held(judged)) == (None, 0.0), why


def test_a_start_late_across_a_look_is_the_callables_less_the_look() -> None:
    """A look holds the GIL for a millisecond or more: a thread due meanwhile waits for
    it, for that long, not for the calls."""
    generator = _late_run(1_000)
    holder = _holder(generator, 0.9)
    start = int(generator.start_ns)
    holder.looks = [(start + 100 * MS, start + 102 * MS), (start + 500 * MS, start + 501 * MS)]
    due = generator.offsets
    ready, started = start + due, start + due + 29 * MS
    held = holder.held(ready, started)
    # Each wait is [due, due + 29 ms]; less the part of a look within it.
    first = np.clip(np.minimum(due + 29 * MS, 102 * MS) - np.maximum(due, 100 * MS), 0, None)
    second = np.clip(np.minimum(due + 29 * MS, 501 * MS) - np.maximum(due, 500 * MS), 0, None)
    assert (first + second).max() == 2 * MS
    assert (held == 29 * MS - first - second).all()
    holder.looks = []
    assert (holder.held(ready, started) == 29 * MS).all()


def test_the_held_wait_counts_from_a_thread_taking_the_request() -> None:
    """Each request taken by a thread 5 ms after its time (a thread was busy: the replay's
    own queue, none with threads enough), then started 24 ms after that while the calls
    held the CPUs: the replay keeps the 24 ms wait and the call, never more than the
    latency measured (30 ms)."""
    generator = _late_run(200)
    generator.claimed[:] = generator.start_ns + generator.offsets + 5 * MS  # taken late
    judged = Judged(64, holder=_holder(generator, 1.0))
    started, ended = generator.started, generator.ended
    held = held_up(judged, generator, 0, started)
    assert held.tolist() == [24 * MS] * 200
    bounds = judged.replay.extend(generator.offsets, ended - started, held)
    assert bounds.tolist() == [25 * MS] * 200
    assert (bounds <= generator.latencies(200)).all()


def test_no_start_is_held_before_the_reads_span_half_a_second() -> None:
    """/proc/stat's ticks over the first looks' 50 ms are off by a tenth or more of the
    CPUs: the 5% gate on other processes would be noise (a review)."""
    generator = _late_run(1_000)
    start = int(generator.start_ns)
    holder = Holder(_steady(start, 1_100, 1.0), _steady(start, 1_100, 0.0), 2)
    held = holder.held(start + generator.offsets, generator.started)
    waits_end = generator.offsets // MS + 29
    assert (held[waits_end < 500] == 0).all()
    assert (held[waits_end >= 500] == 29 * MS).all()


def test_a_burst_of_others_within_half_a_second_keeps_a_start_from_being_held() -> None:
    """Other processes took both CPUs for 50 ms, 400 ms before a wait; read over the looks
    around the wait alone (50 ms), the gate saw none."""
    start = 0
    calls, others = CpuLog(), CpuLog()
    used = 0
    for ms in range(0, 1_101, 50):
        calls.record(ms * MS, ms * MS * 2)  # the calls: both CPUs throughout
        used += 100 * MS if ms == 650 else 0  # others: both CPUs in [600, 650] ms
        others.record(ms * MS, used)
    holder = Holder(calls, others, 2)
    wait = (np.array([start + 1_010 * MS]), np.array([start + 1_040 * MS]))
    assert holder.held(*wait).tolist() == [0]
    quiet = Holder(calls, _steady(0, 1_100, 0.0), 2)
    assert quiet.held(*wait).tolist() == [30 * MS]


def test_the_reads_around_a_wait_span_half_a_second_at_least() -> None:
    """/proc/stat counts in 10 ms ticks: over the first looks' 50 ms, a few ticks off read
    as a share of the CPUs. The share around a wait is over half a second or more."""
    log = CpuLog()
    for ms, used in ((0, 0), (450, 0), (500, 100 * MS)):  # 100 ms of 2 CPUs in the last 50
        log.record(ms * MS, used)
    wait = (np.array([460 * MS]), np.array([470 * MS]))
    assert log.busy(*wait, 2).tolist() == [1.0]
    assert log.busy(*wait, 2, SPAN_MIN_NS).tolist() == [0.1]
    assert np.isnan(log.busy(*wait, 2, SPAN_MIN_NS + MS)).all()  # (the reads span less)


def _spin(ns: int) -> None:
    until = time.thread_time_ns() + ns
    while time.thread_time_ns() < until:
        pass


def test_the_calls_cpu_time_is_theirs_alone() -> None:
    """Read for real: calls that spin count, calls that sleep count none of their time;
    neither the load threads' own CPU outside their calls (here a clock that spins 1 ms
    a read), nor the main thread's."""
    main = threading.main_thread()

    def clock() -> int:
        if threading.current_thread() is not main:
            _spin(MS)
        return time.perf_counter_ns()

    def used(call: Callable[[], object], count: int = 40) -> float:
        generator = Generator(call, np.arange(count, dtype=np.int64) * 10 * MS, 1, clock)
        read = calls_cpu(generator)
        before = read()
        generator.start()
        while not generator.done.all():
            time.sleep(0.01)
        generator.stop()
        return (read() - before) / MS

    assert used(lambda: _spin(3 * MS)) >= 40 * 3 * 0.8  # (a margin)
    # 2 ms a call (the clock's reads for its start and end), 2 ms or more outside it:
    # about 80 ms in all, 160 or more with the threads' own.
    assert used(lambda: time.sleep(0.003)) < 40 * 3
    generator = Generator(lambda: None, np.zeros(1, dtype=np.int64), 1)
    read = calls_cpu(generator)
    before = read()
    _spin(100 * MS)  # the main thread's (the looks')
    assert read() - before < 20 * MS


def test_a_load_thread_left_in_a_call_is_not_a_later_runs_calls() -> None:
    """A review: a thread left in a call (a hung callable an earlier test left) spun on
    and its CPU time read as the next run's calls'; once it ended, its whole lifetime's
    CPU time jumped onto them (the process keeps an ended thread's). Taken off from when
    it was left, through its end."""
    generator = Generator(lambda: None, np.zeros(1, dtype=np.int64), 1)
    read = calls_cpu(generator)
    release = threading.Event()
    left = loadgen._Thread("sla-load-left")
    left.give(lambda: _spin(150 * MS))  # (CPU time before it was left: not ours either)
    left.idle.wait(5)

    def hung() -> None:  # it spins on once released
        release.wait(5)
        _spin(300 * MS)

    left.give(hung)
    left_behind(left)
    before = read()
    release.set()
    left.give(None)  # it ends once its call returns
    left.thread.join(5)
    assert left.final_cpu_ns is not None
    assert read() - before < 40 * MS  # (300 ms spun, 450 in its life: a margin)
    pool = loadgen.Threads()  # a capacity search's: one busy at the next step is left
    busy = pool.get(0)
    busy.give(hung)
    assert pool.get(0) is not busy
    assert busy in held_module._LEFT
    closing = pool.get(1)
    closing.give(hung)  # still in its call when the search ends
    pool.close()
    assert closing in held_module._LEFT


def test_a_read_is_stamped_when_it_was_taken() -> None:
    """A review: stamped with the clock read before it, a read that waited for the GIL
    made the span before it look longer and the one after shorter."""
    now = [0]

    def read() -> int:
        now[0] += 5 * MS  # (the read waits 5 ms for the GIL)
        return 7

    log = CpuLog(read, clock=lambda: now[0])
    log.mark()
    assert log._at == [5 * MS]


def test_a_run_whose_calls_held_the_cpus_reports_the_late_starts_as_theirs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Calls that hold the GIL 3 ms each, at 200/s from 4 threads: the threads wait for
    it, and start late. Read as the calls' (a reader of all the CPUs' time, and no other
    process's), the late starts are held, but for those across a look; unread, none."""

    def gil() -> None:
        until = time.perf_counter_ns() + 3 * MS
        while time.perf_counter_ns() < until:
            pass

    cpus = loadgen.cores()

    def everything() -> int:
        return time.perf_counter_ns() * cpus

    plan = _brief(max_ms=1_500, load_ms=1_200)  # (none is held in its first half second)
    spec = LoadSpec(rps=200.0, concurrency=4)

    def nobody() -> tuple[int, int]:
        return 0, 0

    # Real time: on a runner busy with other work the threads may run too seldom to be
    # late (a full-suite run beside a trial saw 0.9%), so up to three runs are made.
    for _ in range(3):
        sampling = load_sample(gil, spec, plan, budget_ns=20 * MS, own=everything, split=nobody)
        load = sampling.load
        assert load is not None
        if load.late_share > 0.05:  # (a third of its time at least: a margin)
            break
    assert load is not None
    assert load.late_share > 0.05
    assert load.held_share >= 0.25 * load.late_share  # (less the looks: a margin)
    # Every look's span was noted (the last one too, broken out of), in order.
    made: list[Holder] = []

    class Kept(Holder):
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            made.append(self)

    monkeypatch.setattr(load_module, "Holder", Kept)
    load_sample(gil, spec, plan, budget_ns=20 * MS, own=everything, split=nobody)
    looks = made[0].looks
    assert len(looks) >= 3
    assert all(b < e for b, e in looks)
    assert all(e <= b for (_, e), (b, _) in itertools.pairwise(looks))
    unread = load_sample(gil, spec, plan, budget_ns=20 * MS, own=None).load
    assert unread is not None
    assert unread.late_share > 0.05
    assert unread.held_share == 0.0


def test_the_load_line_and_message_tell_held_starts_from_the_generators() -> None:
    load = _load_stats(late_share=0.32, held_share=0.30, behind=True)
    record = make_record("t.py::test_x", 1.8)
    record["load"] = _load_entry(load)
    assert str(load_text(record)).endswith(
        "; 32% of requests issued over 1.00 ms late (the generator's lost time kept the "
        "verdict open); 30% of requests started late while the callable's own calls held "
        "the CPUs (its cost, not the generator's)"
    )
    decision = Decision(None, 0.5, 0.5, 0.005, 900.0, 9.0, 3.0, reason="generator")
    said = _undecided_message(decision, load, 3000, kind="onnx")
    assert (
        "the load generator lost time: 2% of requests were issued more than 1.00 ms after "
        "their time by a free thread (and 30% while its own calls held the CPUs), and only "
        "that lost time"
    ) in said
    none_held = _load_stats(late_share=0.32, behind=True)
    record["load"] = _load_entry(none_held)
    assert "its cost" not in str(load_text(record))
    said = _undecided_message(decision, none_held, 3000, kind="onnx")
    assert (
        "fell behind: 32% of requests were issued more than 1.00 ms after their time by a "
        "free thread, and only"
    ) in said


@pytest.mark.parametrize("held", [0.0, 0.3])
def test_a_generator_that_lost_time_with_no_late_start_of_its_own_says_so(held: float) -> None:
    """A review: every late start held by the calls, the replay deciding, read "the load
    generator lost time: 0% of requests were issued more than 500 µs late"."""
    decision = Decision(None, 0.5, 0.5, 0.005, 900.0, 9.0, 3.0, reason="generator")
    load = _load_stats(late_share=held, held_share=held, behind=True)
    said = _undecided_message(decision, load, 3000, kind="onnx")
    but = " but those its own calls held up" if held else ""
    assert (
        "the load generator lost time: no request was issued more than 1.00 ms after its "
        f"time by a free thread{but}, yet its threads lost time between calls, and only that "
        "lost time"
    ) in said
