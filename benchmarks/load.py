"""Latency under load: do the open loop's verdicts and capacity match queueing theory, and a
hand-written load loop?

    python benchmarks/load.py [--runs 5] [--hogs 0,1] [--skip-onnx] [--parts 1,2,3,4]
    python benchmarks/load.py --parts 5 --runs 2 --hogs 0,1,2 [--model light_bvlc_alexnet.onnx]

1. **Single server** (a lock around a 1 ms sleep, Poisson arrivals, p99 <= 10 ms, default
   settings): at 300/s it must pass (M/D/1: p99 about 3.5 ms), at 1,500/s (overloaded)
   fail, at 300/s with a 300 ms stall every 2 s fail. ``--runs`` runs of each, idle and
   with unpinned CPU hogs (busy loops started here, stopped by PID).
2. **Capacity against theory**: the server's service times are measured one call at a
   time, and the rate at which an M/G/1 queue with exactly those service times (Lindley's
   recursion over a million Poisson arrivals) keeps p99 <= 10 ms is compared with the
   plugin's capacity search, run ``--runs`` times. Target: within 15%.
3. **ONNX against a hand-written loop**: an MLP's capacity under p99 <= 5 ms, by the
   plugin's search and by a separate loop written here in a few lines (threads take the
   next request, sleep until its time, call; latency from the scheduled time), both fed
   the same arrival times and bisecting the same way; and the p99 each measures at half
   the capacity. Beside them,
   the loop most people write first (one thread submitting to a ``ThreadPoolExecutor``)
   with how late its submitting thread was: it cannot keep a schedule of a few thousand
   requests a second.
4. **The generator's own latency**: a no-op's latency under load (all of it the
   generator's), at 1,000 and 10,000 requests/s, with Linux's default 50 µs timer slack
   and with the 1 ns the generator's threads ask for, interleaved.
5. **A real model under load, through pytest** (only when asked, ``--parts 5``): a model
   nobody on the project wrote (``--model``, one of the ``light_*`` ImageNet models inside
   the installed ``onnx`` package; Inception v1 by default, about 30 ms a call on 2
   cores), at a rate that keeps about a third of the machine busy, idle and with unpinned
   CPU hogs. Under each
   condition a hand-written loop first measures the latency under that load; then a
   pytest session judges ``@pytest.mark.sla(ms=..., percentile=95, rps=...)`` with
   default settings at 2.5x the loop's p95 (must not fail) and at 0.6x its p50 (must not
   pass).

Exits 1 when a single-server verdict is wrong, the capacity is more than 15% from theory, or a
real model's verdict goes the wrong way.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import itertools
import json
import math
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import _common
import numpy as np
from servers import SingleServer

from pytest_latency_sla import loadgen
from pytest_latency_sla.capacity import GENERATOR_MAX_RPS, run_step, search, step_time_ns
from pytest_latency_sla.load import load_sample
from pytest_latency_sla.loadgen import schedule
from pytest_latency_sla.loadspec import CapacityStep, LoadSpec
from pytest_latency_sla.plan import SamplingPlan

MS = 1_000_000
BUDGET_NS = 10 * MS


CASES = [
    ("300/s", 300.0, None, "pass"),
    ("1,500/s (overloaded)", 1500.0, None, "fail"),
    ("300/s, 300 ms stall every 2 s", 300.0, 2.0, "fail"),
]


def single_server(runs: int, hog_counts: list[int]) -> bool:
    print("## 1. Single server, p99 <= 10 ms, default settings")
    print()
    print("| load | hogs | expected | verdicts | median time to verdict | median p99 |")
    print("|---|---|---|---|---|---|")
    ok = True
    for hogs in hog_counts:
        with _common.hogs(hogs):
            for name, rps, stall, expected in CASES:
                outcomes, seconds, p99s = [], [], []
                for _ in range(runs):
                    sampling = load_sample(
                        SingleServer(stall), LoadSpec(rps=rps), SamplingPlan(), budget_ns=BUDGET_NS
                    )
                    decision = sampling.decision
                    outcome = decision.outcome if decision else None
                    if outcome is None:
                        reason = decision.reason if decision else "none"
                        outcome = f"inconclusive ({reason}, {sampling.stop_reason})"
                    outcomes.append(outcome)
                    seconds.append(sampling.duration_ns / 1e9)
                    p99s.append(float(np.percentile(sampling.samples_ns, 99)) / 1e6)
                right = outcomes.count(expected)
                ok = ok and right == runs
                counts = ", ".join(f"{o} {outcomes.count(o)}" for o in sorted(set(outcomes)))
                print(
                    f"| {name} | {hogs} | {expected} | {counts} ({right}/{runs} right) | "
                    f"{statistics.median(seconds):.1f} s | {statistics.median(p99s):.1f} ms |",
                    flush=True,
                )
    print()
    return ok


def service_times(call: Any, count: int = 3000) -> np.ndarray:
    times = []
    for _ in range(count):
        t0 = time.perf_counter_ns()
        call()
        times.append(time.perf_counter_ns() - t0)
    return np.array(times, dtype=np.float64)


def mg1_p99(rate: float, service_ns: np.ndarray, n: int = 1_000_000) -> float:
    """p99 of the time in system of an M/G/1 queue (Lindley's recursion), ns."""
    rng = np.random.default_rng(7)
    gaps = rng.exponential(1e9 / rate, n)
    service = rng.choice(service_ns, n)
    wait = np.empty(n)
    w = 0.0
    for i in range(n):  # a plain loop: Lindley's recursion is sequential
        wait[i] = w
        w = max(0.0, w + service[i] - gaps[i])
    return float(np.percentile((wait + service)[n // 10 :], 99))


def theory_capacity(service_ns: np.ndarray, budget_ns: float) -> float:
    low, high = 1.0, 1e9 / float(service_ns.mean())
    for _ in range(14):
        middle = math.sqrt(low * high)
        if mg1_p99(middle, service_ns, 200_000) <= budget_ns:
            low = middle
        else:
            high = middle
    return low


def capacity_vs_theory(runs: int) -> bool:
    print("## 2. Capacity of the single server under p99 <= 10 ms, against M/G/1 theory")
    print()
    server = SingleServer()
    service = service_times(server)
    theory = theory_capacity(service, BUDGET_NS)
    print(
        f"service time one call at a time: mean {service.mean() / 1e6:.3f} ms, p99 "
        f"{np.percentile(service, 99) / 1e6:.3f} ms; M/G/1 capacity at p99 <= 10 ms: "
        f"{theory:.0f}/s (throughput limit {1e9 / service.mean():.0f}/s)"
    )
    print()
    print("| run | plugin's capacity | vs theory | steps | search time |")
    print("|---|---|---|---|---|")
    ok = True
    for run in range(runs):
        started = time.perf_counter()
        found = search(
            lambda rate: run_step(server, rate, budget_ns=BUDGET_NS, quantile=0.99, concurrency=32),
            start_rps=0.5e9 / float(np.median(service)),
            max_rps=20_000.0,
        )
        ratio = found.rps / theory
        ok = ok and abs(ratio - 1.0) <= 0.15
        print(
            f"| {run + 1} | {found.rps:.0f}/s | {ratio:.2f}x | {len(found.steps)} | "
            f"{time.perf_counter() - started:.1f} s |",
            flush=True,
        )
    print()
    return ok


def hand_loop_latencies(call: Any, rate: float, seconds: float, threads: int) -> np.ndarray:
    """A load loop written apart from the plugin, in the fewest lines that keep the
    schedule: ``threads`` threads each take the next request, sleep until its time and
    call; latency from the scheduled time to the end of each request, ns."""
    count = max(1, int(rate * seconds))
    offsets = schedule(rate, count)  # the arrival times the plugin draws (seed 0)
    ends = np.zeros(count)
    start = time.perf_counter_ns() + 20 * MS
    taken = itertools.count()

    def work() -> None:
        for i in taken:
            if i >= count:
                return
            delay = start + offsets[i] - time.perf_counter_ns()
            if delay > 0:
                time.sleep(delay / 1e9)
            call()
            ends[i] = time.perf_counter_ns()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return ends - (start + offsets)


def hand_loop_p99(call: Any, rate: float, seconds: float, threads: int) -> float:
    """The p99 of :func:`hand_loop_latencies`, ns."""
    return float(np.percentile(hand_loop_latencies(call, rate, seconds, threads), 99))


def executor_loop(call: Any, rate: float, seconds: float, threads: int) -> tuple[float, float]:
    """The loop most people write first: one thread submits each request at its time to a
    ``ThreadPoolExecutor``. (p99 latency, p99 of how late it submitted), ns: above a few
    thousand requests/s its one submitting thread cannot keep the schedule."""
    count = max(1, int(rate * seconds))
    offsets = schedule(rate, count)
    ends = np.zeros(count)
    submitted = np.zeros(count)
    start = time.perf_counter_ns() + 20 * MS

    def request(i: int) -> None:
        call()
        ends[i] = time.perf_counter_ns()

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        for i in range(count):
            delay = start + offsets[i] - time.perf_counter_ns()
            if delay > 0:
                time.sleep(delay / 1e9)
            submitted[i] = time.perf_counter_ns()
            pool.submit(request, i)
    due = start + offsets
    return float(np.percentile(ends - due, 99)), float(np.percentile(submitted - due, 99))


def hand_capacity(call: Any, budget_ns: float, start: float) -> float:
    """The plugin's search (doubling, then bisection), each step run by the hand loop."""

    def step(rate: float) -> CapacityStep:
        seconds = step_time_ns(rate) / 1e9
        p99 = hand_loop_p99(call, rate, seconds, 32)
        return CapacityStep(rate, p99, p99 <= budget_ns, int(rate * seconds), int(seconds * 1e9))

    return search(step, start_rps=start, max_rps=GENERATOR_MAX_RPS).rps


def onnx_vs_hand_loop(runs: int) -> None:
    import onnxruntime as ort

    print("## 3. ONNX MLP under p99 <= 5 ms: the plugin against a hand-written load loop")
    print()
    folder = Path(tempfile.mkdtemp())
    path = folder / "mlp.onnx"
    params = _common.build_mlp(path, (256, 1024, 1024, 10))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {"x": np.random.default_rng(0).standard_normal((1, 256)).astype(np.float32)}

    def call() -> None:
        session.run(None, feeds)

    service = service_times(call, 500)
    start = 0.5e9 / float(np.median(service))
    print(
        f"MLP 256-1024-1024-10 ({params:,} parameters), one call at a time: p50 "
        f"{np.median(service) / 1e6:.3f} ms"
    )
    print()
    print(
        "| run | plugin's capacity | hand loop's capacity | ratio | p99 at half: plugin "
        "| hand loop | executor loop (its submit lateness) |"
    )
    print("|---|---|---|---|---|---|---|")
    budget = 5 * MS
    for run in range(runs):
        plugin = search(
            lambda rate: run_step(call, rate, budget_ns=budget, quantile=0.99, concurrency=32),
            start_rps=start,
            max_rps=20_000.0,
        ).rps
        hand = hand_capacity(call, budget, start)
        half = max(1.0, min(plugin, hand) / 2)
        plan = SamplingPlan(max_time_ns=3_000 * MS, load_time_ns=3_000 * MS)
        ours = load_sample(call, LoadSpec(rps=half), plan, budget_ns=budget)
        # The same arrival times, as many requests as the plugin judged.
        seconds = ours.samples_ns.size / half
        theirs = hand_loop_p99(call, half, seconds, 32)
        executor, late = executor_loop(call, half, seconds, 32)
        print(
            f"| {run + 1} | {plugin:.0f}/s | {hand:.0f}/s | {plugin / hand:.2f} | "
            f"{np.percentile(ours.samples_ns, 99) / 1e6:.2f} ms | {theirs / 1e6:.2f} ms | "
            f"{executor / 1e6:.2f} ms ({late / 1e6:.2f} ms) |",
            flush=True,
        )
    print()


def generator_floor(runs: int) -> None:
    """A no-op's latency under load is all the generator's own: with the default 50 µs
    timer slack and with the generator's fine wakeups, interleaved run by run."""
    print("## 4. The generator's own latency: a no-op under load, timer slack 50 µs vs 1 ns")
    print()
    print("| rate | wakeups | runs | median p50 | median p90 | median p99 | ratio of p50s |")
    print("|---|---|---|---|---|---|---|")
    plan = SamplingPlan(max_time_ns=3_000 * MS, load_time_ns=3_000 * MS, time_limit_ns=0)
    for rate in (1_000.0, 10_000.0):
        figures: dict[bool, list[np.ndarray]] = {True: [], False: []}
        for _ in range(runs):
            for fine in (False, True):
                loadgen.FINE_WAKEUPS = fine
                sampling = load_sample(lambda: None, LoadSpec(rps=rate), plan, budget_ns=MS)
                figures[fine].append(np.percentile(sampling.samples_ns, [50, 90, 99]) / 1e3)
        loadgen.FINE_WAKEUPS = True
        p50 = {fine: statistics.median(f[0] for f in figures[fine]) for fine in figures}
        for fine in (False, True):
            middle = np.median(np.array(figures[fine]), axis=0)
            label = "1 ns (the plugin)" if fine else "50 µs (Linux default)"
            ratio = f"{p50[True] / p50[False]:.2f}" if fine else ""
            print(
                f"| {rate:,.0f}/s | {label} | {runs} | {middle[0]:.0f} µs | {middle[1]:.0f} µs | "
                f"{middle[2]:.0f} µs | {ratio} |",
                flush=True,
            )
    print()


def hand_loop_percentiles(call: Any, rate: float, seconds: float) -> tuple[float, ...]:
    """p50, p95 of :func:`hand_loop_latencies` with 32 threads, ns."""
    latency = hand_loop_latencies(call, rate, seconds, 32)
    return tuple(float(np.percentile(latency, q)) for q in (50, 95))


def _judged(model: Path, budget_ms: float, rate: float) -> tuple[str, float, float, float]:
    """One pytest session judging ``model`` under load: (verdict, measured p95 ms,
    sampling s, the host's steal share)."""
    with tempfile.TemporaryDirectory() as folder:
        where = Path(folder)
        (where / "test_model.py").write_text(
            "import pytest\n\n\n"
            f"@pytest.mark.sla(ms={budget_ms:.3f}, percentile=95, rps={rate:g})\n"
            "def test_model(sla):\n"
            f"    sla.onnx({str(model)!r})\n",
            encoding="utf-8",
        )
        _common.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "--sla-report=json:r.json",
                "test_model.py",
            ],
            cwd=where,
        )
        report = where / "r.json"
        results = (
            json.loads(report.read_text(encoding="utf-8"))["results"] if report.exists() else []
        )
        if len(results) != 1:  # no report, or the test failed before measuring
            return ("error", 0.0, 0.0, 0.0)
        (record,) = results
    load = record["load"] or {}
    return (
        str(record["verdict"]),
        record["measured_s"] * 1e3,
        record["duration_s"],
        float(load.get("steal_share", 0.0)),
    )


def real_model_under_load(runs: int, hog_counts: list[int], name: str) -> bool:
    import onnx
    import onnxruntime as ort

    model = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light" / name
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    first = session.get_inputs()[0]
    shape = [d if isinstance(d, int) else 1 for d in first.shape]
    feeds = {first.name: np.random.default_rng(0).random(shape, dtype=np.float32)}

    def call() -> None:
        session.run(None, feeds)

    for _ in range(5):
        call()  # onnxruntime's first calls are slow
    alone = service_times(call, 40)
    rate = round(0.35 / (float(np.mean(alone)) / 1e9), 1)
    print(f"## 5. A real model under load: {name}, p95, default settings, {rate:g}/s")
    print()
    print(f"One call at a time: mean {np.mean(alone) / 1e6:.1f} ms; the rate keeps about a third")
    print("of the machine busy (onnxruntime's default pool uses every core for a call).")
    print()
    print(
        "| run | hogs | hand loop p50 / p95 | at 2.5x p95: verdict (p95, s) "
        "| at 0.6x p50: verdict (p95, s) | host's steal |"
    )
    print("|---|---|---|---|---|---|")
    ok = True
    for run in range(runs):
        for hogs in hog_counts:
            with _common.hogs(hogs):
                time.sleep(0.5)
                p50, p95 = hand_loop_percentiles(call, rate, 20.0)
                roomy = _judged(model, 2.5 * p95 / 1e6, rate)
                tight = _judged(model, 0.6 * p50 / 1e6, rate)
            ok = (
                ok and roomy[0] in ("pass", "inconclusive") and tight[0] in ("fail", "inconclusive")
            )
            print(
                f"| {run + 1} | {hogs} | {p50 / 1e6:.1f} / {p95 / 1e6:.1f} ms | "
                f"{roomy[0]} ({roomy[1]:.1f} ms, {roomy[2]:.1f} s) | "
                f"{tight[0]} ({tight[1]:.1f} ms, {tight[2]:.1f} s) | "
                f"{max(roomy[3], tight[3]) * 100:.1f}% |",
                flush=True,
            )
    print()
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--hogs", default="0,1", help="hog counts for parts 1 and 5, e.g. 0,1")
    parser.add_argument("--skip-onnx", action="store_true")
    parser.add_argument("--parts", default="1,2,3,4")
    parser.add_argument("--model", default="light_inception_v1.onnx", help="part 5's model")
    args = parser.parse_args()
    _common.header(
        "latency under load: single-server verdicts, capacity vs theory and vs a hand loop"
    )
    parts = {int(p) for p in args.parts.split(",")}
    ok = True
    if 1 in parts:
        ok = single_server(args.runs, [int(h) for h in args.hogs.split(",")]) and ok
    if 2 in parts:
        ok = capacity_vs_theory(args.runs) and ok
    if 3 in parts and not args.skip_onnx:
        onnx_vs_hand_loop(args.runs)
    if 4 in parts:
        generator_floor(args.runs)
    if 5 in parts and not args.skip_onnx:
        hog_counts = [int(h) for h in args.hogs.split(",")]
        ok = real_model_under_load(args.runs, hog_counts, args.model) and ok
    print("all checks held" if ok else "A CHECK FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
