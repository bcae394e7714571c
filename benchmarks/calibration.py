"""Verdict calibration (goals 5 and 7 of docs/performance.md): how often is the verdict wrong?

Drives the real sampler and verdict code (``pytest_latency_sla.sampling.sample``) with
synthetic latency sources whose true percentiles are known (``tests/synthetic.py``), on a
fake clock: no sleeping, so 72,000 measurements of up to 3 s each take minutes. For every
distribution, percentile (50, 95, 99) and ratio of the true percentile to the budget (0.5
to 2), it prints the wrong-verdict rate (a pass with the truth >= 1.1x the budget, a fail
with it <= 0.9x), the inconclusive rate, the mean samples and synthetic time of a
measurement (warmup included), and how often the usual workaround, "pytest-benchmark's
median is below the budget", gives the wrong answer for the same cell.

    python benchmarks/calibration.py                 # the full grid, 1,000 trials a cell
    python benchmarks/calibration.py --trials 100    # quicker
    python benchmarks/calibration.py --stress        # also the harder stress sources
"""

from __future__ import annotations

import argparse
import multiprocessing
import shlex
import sys
import time

import _common  # noqa: F401  (puts tests/ on sys.path, for the synthetic module below)
from synthetic import (
    DEFAULT_MEAN_NS,
    DISTRIBUTIONS,
    PERCENTILES,
    RATIOS,
    STRESS_DISTRIBUTIONS,
    CellResult,
    run_cell,
)

from pytest_latency_sla.plan import SamplingPlan

_PLAN = SamplingPlan()

#: The goal: at most this share of wrong verdicts in every cell.
GOAL = 0.01

Job = tuple[str, float, float, int, int, bool, float]


def _run(job: Job) -> CellResult:
    name, percentile, ratio, trials, seed, peer, mean_ns = job
    return run_cell(name, percentile, ratio, trials, seed, peer=peer, mean_ns=mean_ns)


def _seed(base: int, name: str, percentile: float, ratio: float) -> int:
    # A stable seed per cell (hash() of a str is salted per process).
    text = f"{name}/{percentile:g}/{ratio:g}"
    return base * 1_000_003 + sum((i + 1) * ord(c) for i, c in enumerate(text))


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _row(cell: CellResult) -> str:
    flag = " **over goal**" if cell.wrong_rate > GOAL else ""
    peer = _pct(cell.peer_wrong_rate) if cell.peer_trials else "-"
    return (
        f"| {cell.distribution} | p{cell.percentile:g} | {cell.ratio:g}x | {cell.trials:,} "
        f"| {cell.passed:,} / {cell.failed:,} / {cell.inconclusive:,} "
        f"| {_pct(cell.wrong_rate)}{flag} | {_pct(cell.inconclusive_rate)} "
        f"| {cell.mean_samples:,.0f} | {cell.mean_elapsed_s:.2f} s | {peer} |"
    )


HEADER = (
    "| distribution | pct | truth/budget | trials | pass / fail / inconclusive | wrong "
    "| inconclusive | mean samples | mean time | median<budget wrong |\n"
    "|---|---|---|---|---|---|---|---|---|---|"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1_000, help="trials per cell (1000)")
    parser.add_argument("--seed", type=int, default=2026, help="base seed (2026)")
    parser.add_argument("--processes", type=int, default=2, help="worker processes (2)")
    parser.add_argument("--stress", action="store_true", help="also run the stress distributions")
    parser.add_argument("--only", default=None, help="comma-separated distribution names to run")
    parser.add_argument("--no-peer", action="store_true", help="skip the median workaround")
    parser.add_argument(
        "--mean-us",
        type=float,
        default=DEFAULT_MEAN_NS / 1_000,
        help="mean call at ratio 1, in µs (200); the rule's clocks are in time, so longer "
        "calls make fewer calls per trial and a quicker run",
    )
    args = parser.parse_args(argv)
    print("$ python " + " ".join(shlex.quote(a) for a in sys.argv))
    names = list(DISTRIBUTIONS)
    if args.stress:
        names += list(STRESS_DISTRIBUTIONS)
    if args.only:
        names = args.only.split(",")
    jobs: list[Job] = [
        (
            name,
            pct,
            ratio,
            args.trials,
            _seed(args.seed, name, pct, ratio),
            not args.no_peer,
            args.mean_us * 1_000,
        )
        for name in names
        for pct in PERCENTILES
        for ratio in RATIOS
    ]
    print(
        f"{len(jobs)} cells x {args.trials:,} trials, {args.processes} processes, seed "
        f"{args.seed}; default SamplingPlan() (min_time {_PLAN.min_time_ns / 1e9:g} s, "
        f"settle_time {_PLAN.settle_time_ns / 1e9:g} s, max_time {_PLAN.max_time_ns / 1e9:g} s, "
        f"{_PLAN.confidence:.0%} confidence); mean call {args.mean_us:g} µs x ratio; "
        "wrong = pass with truth >= 1.1x budget, fail with truth <= 0.9x"
    )
    for name in names:
        dist = DISTRIBUTIONS.get(name) or STRESS_DISTRIBUTIONS[name]
        print(f"- {name}: {dist.description}")
    print()
    print(HEADER, flush=True)
    start = time.perf_counter()
    results: list[CellResult] = []
    with multiprocessing.Pool(args.processes) as pool:
        for cell in pool.imap(_run, jobs):
            results.append(cell)
            print(_row(cell), flush=True)
    elapsed = time.perf_counter() - start
    worst = max(results, key=lambda c: c.wrong_rate)
    over = [c for c in results if c.wrong_rate > GOAL]
    total_wrong = sum(c.wrong for c in results)
    total = sum(c.trials for c in results)
    print()
    print(
        f"{total:,} measurements in {elapsed:.0f} s; {total_wrong} wrong verdicts in all; "
        f"worst cell {worst.distribution} p{worst.percentile:g} {worst.ratio:g}x at "
        f"{_pct(worst.wrong_rate)}; cells over the {_pct(GOAL)} goal: {len(over)}"
    )
    p99 = [c for c in results if c.percentile == 99.0 and c.peer_trials]
    if p99:
        print("median<budget workaround on p99 SLAs, wrong rate by truth/budget:")
        for ratio in RATIOS:
            cells = [c for c in p99 if c.ratio == ratio]
            wrong = sum(c.peer_wrong for c in cells)
            trials = sum(c.peer_trials for c in cells)
            print(f"  {ratio:g}x: {_pct(wrong / trials)} ({wrong:,} of {trials:,})")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
