"""Verdicts on DEPENDENT latency: how often is the verdict wrong when calls are not independent?

Drives the real sampler and verdict code (``pytest_latency_sla.sampling.sample``, default
``SamplingPlan()``) with the dependent sources of ``tests/dependent.py`` on a fake clock:
AR(1) log-latency, regimes switching in time, drift and a step (the tuning sources), and
with ``--holdout`` the held-out ones (long memory, periodic stalls, Pareto ON/OFF bursts,
a reflected random walk, a slow wave of the level), which a rule must never be tuned on;
with ``--beyond`` a wave of the level an hour long, which no rule reading one run can pass
(each run is a steady machine at its phase's level), printed beside that floor.
The budget of a cell is the source's true percentile divided by the ratio; a verdict is
wrong when it passes while more than ``1 - q`` of calls (call-weighted, in the long run or
over the 3 s horizon) exceed the budget, or fails while no more do. No tolerance band.

    python benchmarks/dependence.py                  # the tuning grid, 300 trials a cell
    python benchmarks/dependence.py --full           # every percentile at every ratio
    python benchmarks/dependence.py --holdout        # also the holdout sources
    python benchmarks/dependence.py --quick          # a smoke run (seconds)

The default grid is every ratio at p99 and 0.95x/1.05x at the other percentiles: 138 cells.
At 100 trials a cell it took 424 s on 2 cores of a shared machine (load ~5.6, other
tenants); time grows linearly with --trials. Cells of 100 µs calls cost ~10x those of
1 ms calls (10,000-30,000 calls a trial against 1,000-3,000).
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import sys
import time
from typing import Any, cast

import _common  # (puts tests/ on sys.path, for the dependent module below)
from dependent import (
    RATIOS,
    Cell,
    CellResult,
    HourlyWave,
    Model,
    beyond_cells,
    cells_for,
    clopper_pearson,
    contention_cells,
    far_side_floor,
    holdout_cells,
    tuning_cells,
)

from pytest_latency_sla.plan import SamplingPlan

#: The goal: at most this share of wrong verdicts in every cell.
GOAL = 0.01
#: The default grid (to fit ~15 minutes on 2 cores): every ratio at p99, and the two
#: closest to the line (0.95x, 1.05x) at the other percentiles. ``--full``: every ratio.
NEAR_RATIOS: tuple[float, ...] = (0.95, 1.05)
QUICK_RATIOS: tuple[float, ...] = (0.5, 0.95, 1.05, 2.0)


def select(cells: list[Cell], *, full: bool) -> list[Cell]:
    """The default grid's cells of ``cells`` (all of them with ``full``)."""
    if full:
        return cells
    return [c for c in cells if c.percentile == 99.0 or c.ratio in NEAR_RATIOS]


Job = tuple[Cell, int, int]


def _run(job: Job) -> CellResult:
    from dependent import run_cell

    cell, trials, seed = job
    return run_cell(cell, trials, seed)


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _median(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def row(cell: CellResult) -> str:
    flag = " **over**" if cell.wrong_rate > GOAL else ""
    return (
        f"| {cell.family} | {cell.params} | p{cell.percentile:g} | {cell.ratio:g}x "
        f"| {cell.trials:,} | {cell.passed} / {cell.failed} / {cell.inconclusive} "
        f"| {cell.wrong} ({_pct(cell.wrong_rate)}, CP95 up {_pct(cell.wrong_upper)}){flag} "
        f"| {'-' if cell.state_wrong is None else cell.state_wrong} "
        f"| {_pct(cell.inconclusive_rate)} "
        f"| {_median(cell.median_calls, ',.0f')} "
        f"| {_median(cell.median_s, '.2f')} |"
    )


HEADER = (
    "| source | parameters | pct | truth/budget | trials | pass / fail / inconclusive "
    "| wrong (rate, 95% CP upper) | wrong given the run's states | inconclusive "
    "| median calls | median s |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|"
)


def _describe(models: list[Model]) -> None:
    """One line per source (cells share sources: each is described once)."""
    seen: set[str] = set()
    for model in models:
        if model.name in seen:
            continue
        seen.add(model.name)
        doc = (type(model).__doc__ or "").strip().splitlines()[0]
        print(f"- {model.name}: {doc}")


_PLAN = SamplingPlan()


def _with_call(cells: list[Cell], call_ns: float) -> list[Cell]:
    """The same cells with every source's typical call cost set to ``call_ns`` (once each)."""
    out: dict[tuple[str, float, float], Cell] = {}
    for cell in cells:
        model: Any = dataclasses.replace(cast("Any", cell.model), call_ns=call_ns)
        moved = dataclasses.replace(cell, model=model)
        out.setdefault((model.name, cell.percentile, cell.ratio), moved)
    return list(out.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--trials", type=int, default=300, help="trials per cell (300)")
    parser.add_argument("--seed", type=int, default=2026, help="base seed (2026)")
    parser.add_argument("--processes", type=int, default=2, help="worker processes (2)")
    parser.add_argument("--holdout", action="store_true", help="also the holdout sources")
    parser.add_argument(
        "--contention", action="store_true", help="also the preempted (contention) sources"
    )
    parser.add_argument(
        "--beyond",
        action="store_true",
        help="also the sources whose state outlasts any run (an hour-long wave), with the "
        "floor no rule can pass on them",
    )
    parser.add_argument(
        "--only", default=None, help="only sources whose name contains one of these (a,b,...)"
    )
    parser.add_argument(
        "--call-us",
        type=float,
        default=None,
        help="give every source this typical call cost (µs) instead of its own; at 1,000 "
        "µs a 20 s trial makes about 20,000 calls, at 100 µs ten times more",
    )
    parser.add_argument(
        "--ratios",
        default=None,
        help="truth/budget ratios to run, comma-separated (default: the grid's)",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: few cells and trials")
    parser.add_argument(
        "--full", action="store_true", help="every percentile at every ratio (3x the cells)"
    )
    args = parser.parse_args(argv)
    ratios = QUICK_RATIOS if args.quick else RATIOS
    if args.ratios:
        ratios = tuple(float(r) for r in args.ratios.split(","))
    trials = min(args.trials, 10) if args.quick else args.trials
    cells = tuning_cells(ratios)
    if args.holdout:
        cells += holdout_cells(ratios)
    if args.contention:
        cells += contention_cells(ratios)
    if args.beyond:
        cells += beyond_cells(ratios)
    if args.quick:
        # One source per family, p99 only.
        seen: dict[str, Model] = {}
        for c in cells:
            seen.setdefault(c.model.family, c.model)
        cells = cells_for(list(seen.values()), (99.0,), ratios)
    cells = select(cells, full=args.full or args.quick)
    if args.call_us is not None:
        cells = _with_call(cells, args.call_us * 1_000)
    if args.only:
        parts = args.only.split(",")
        cells = [c for c in cells if any(p in c.model.name for p in parts)]
    models = list({id(c.model): c.model for c in cells}.values())
    _common.header(
        f"{len(cells)} cells x {trials:,} trials, {args.processes} processes, seed "
        f"{args.seed}; default SamplingPlan() ({_PLAN.max_time_ns / 1e9:g} s max sampling "
        f"time, {_PLAN.settle_time_ns / 1e9:g} s settle, {_PLAN.confidence:.0%} "
        "confidence); wrong = pass with true share over budget > 1 - q, or fail with it "
        "<= 1 - q (no band); median calls / s over decided trials, cold call and warmup "
        "included"
    )
    _describe(models)
    print()
    print(HEADER, flush=True)
    start = time.perf_counter()
    jobs: list[Job] = [(c, trials, args.seed) for c in cells]
    results: list[CellResult] = []
    with multiprocessing.Pool(args.processes) as pool:
        for result in pool.imap(_run, jobs):
            results.append(result)
            print(row(result), flush=True)
    elapsed = time.perf_counter() - start
    total = sum(c.trials for c in results)
    wrong = sum(c.wrong for c in results)
    over = [c for c in results if c.wrong_rate > GOAL]
    print()
    print(
        f"{total:,} measurements in {elapsed:.0f} s; {wrong:,} wrong verdicts in all; "
        f"cells over the {_pct(GOAL)} goal: {len(over)} of {len(results)}"
    )
    worst = sorted(results, key=lambda c: (c.wrong_rate, c.wrong_upper), reverse=True)
    print(f"worst cell: {row(worst[0])}")
    print()
    print("The ten worst cells:")
    print()
    print(HEADER)
    for cell in worst[:10]:
        print(row(cell))
    floors = [
        pair for pair in zip(cells, results, strict=True) if isinstance(pair[0].model, HourlyWave)
    ]
    if floors:
        print()
        print(FLOOR_INTRO)
        print()
        print(FLOOR_HEADER)
        for beyond, counted in floors:
            print(floor_row(beyond, counted))
    seen_wrong = [c for c in worst if c.wrong_shares]
    if seen_wrong:
        print()
        print(SAW_INTRO)
        print()
        print(SAW_HEADER)
        for cell in seen_wrong:
            print(saw_row(cell))
    return 1 if over else 0


FLOOR_INTRO = (
    "The floor: the share of runs whose level sat 2x or more from the budget on the side "
    "the long run is not on. Each is a steady machine clearly on that side, so any rule "
    "that decides steady machines 2x from their budget is wrong on at least that share."
)
FLOOR_HEADER = (
    "| source | pct | truth/budget | wrong | floor for any such rule |\n|---|---|---|---|---|"
)


def floor_row(cell: Cell, result: CellResult) -> str:
    """A cell of a source beyond any run: its wrong rate against :func:`far_side_floor`."""
    return (
        f"| {result.family} | p{cell.percentile:g} | {cell.ratio:g}x "
        f"| {_pct(result.wrong_rate)} (CP95 {_pct(clopper_pearson(result.wrong, result.trials)[0])}"
        f"-{_pct(result.wrong_upper)}) | {_pct(far_side_floor(cell))} |"
    )


SAW_INTRO = (
    "What the wrong verdicts saw: the share of each wrong run's own samples over the "
    "budget, against the long run's share and the percentile's limit (1 - q)."
)
SAW_HEADER = (
    "| source | pct | truth/budget | wrong | the runs' own share over the budget "
    "| the long run's share | limit |\n|---|---|---|---|---|---|---|"
)


def _span(values: list[float]) -> str:
    low, high = min(values), max(values)
    return _share(low) if _share(low) == _share(high) else f"{_share(low)} - {_share(high)}"


def _share(value: float) -> str:
    return f"{100 * value:.2f}%"


def saw_row(cell: CellResult) -> str:
    """What the wrong verdicts of ``cell`` saw (:attr:`CellResult.wrong_shares`)."""
    runs = [run for run, _ in cell.wrong_shares]
    truths = [truth for _, truth in cell.wrong_shares]
    return (
        f"| {cell.family} | p{cell.percentile:g} | {cell.ratio:g}x | {cell.wrong} "
        f"| {_span(runs)} | {_span(truths)} | {_share(1 - cell.percentile / 100)} |"
    )


if __name__ == "__main__":
    sys.exit(main())
