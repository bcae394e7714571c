"""Harness overhead (goal 1 of docs/performance.md): the plugin's p50 against a bare timed loop.

For the 48-parameter example model and a 1 M-parameter MLP (512-1024-512-10, built here
with ``onnx.helper``), both at batch 1 on one session: the plugin's measurement (the
``sla`` fixture's code path: ``ort.prepare`` then ``sampling.sample`` with the default
plan and a 50 ms p99 budget; p50 as the report computes it) and a bare loop timing
``session.run(None, feeds)`` with ``time.perf_counter_ns``, the same number of calls,
interleaved round by round (alternating which goes first). Prints the ratio plugin p50 /
bare p50 per round and of the medians. Targets: <= 1.05 (example), <= 1.02 (MLP).

    python benchmarks/overhead.py [--rounds 21]
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from _common import FUNNEL, build_mlp, fmt_us, header, median, spread, verdict

from pytest_latency_sla import ort
from pytest_latency_sla.sampling import SamplingPlan, sample
from pytest_latency_sla.stats import percentile_ns

if TYPE_CHECKING:
    from collections.abc import Callable


def bare_loop(run: Callable[..., Any], feeds: Any, calls: int) -> list[int]:
    """What a user writes: time each call with perf_counter_ns."""
    clock = time.perf_counter_ns
    out = [0] * calls
    for i in range(calls):
        t0 = clock()
        run(None, feeds)
        out[i] = clock() - t0
    return out


def p50(values: list[int]) -> float:
    return percentile_ns(sorted(values), 50)


def measure(name: str, path: Path, rounds: int, target: float) -> bool:
    prepared = ort.prepare(path)
    session, feeds = prepared.session, dict(prepared.feeds)
    bare_loop(session.run, feeds, 2_000)  # warm the session for the bare loop
    plugin_p50: list[float] = []
    bare_p50: list[float] = []
    ratios: list[float] = []
    calls: list[int] = []
    for r in range(rounds):
        order = ("plugin", "bare") if r % 2 == 0 else ("bare", "plugin")
        n = 0
        got: dict[str, float] = {}
        for which in order:
            if which == "plugin":
                s = sample(prepared.call, SamplingPlan(), budget_ns=50e6, quantile=0.99)
                n = int(s.samples_ns.size)
                got["plugin"] = percentile_ns(sorted(s.samples_ns.tolist()), 50)
            else:
                # Same number of calls as the plugin's last measurement (first round: 5,000).
                gc.collect()
                got["bare"] = p50(bare_loop(session.run, feeds, n or 5_000))
        plugin_p50.append(got["plugin"])
        bare_p50.append(got["bare"])
        ratios.append(got["plugin"] / got["bare"])
        calls.append(n)
    ratio = median(plugin_p50) / median(bare_p50)
    ok = ratio <= target
    print(f"## {name}")
    print(f"rounds: {rounds}; samples per plugin measurement: median {median(calls):,.0f}")
    print(f"plugin p50: median {fmt_us(median(plugin_p50))}, per round {_list(plugin_p50)}")
    print(f"bare   p50: median {fmt_us(median(bare_p50))}, per round {_list(bare_p50)}")
    print(f"per-round ratio plugin/bare: {spread(ratios)} (median, min-max)")
    print(f"ratio of medians plugin/bare: {ratio:.3f} (target <= {target:.2f}): {verdict(ok)}")
    print(flush=True)
    return ok


def _list(values: list[float]) -> str:
    return " ".join(f"{v / 1e3:.2f}" for v in values) + " µs"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21, help="interleaved rounds (21)")
    args = parser.parse_args()
    header(
        "goal 1: plugin p50 / bare perf_counter_ns loop p50, same session, same process, "
        "interleaved rounds"
    )
    with tempfile.TemporaryDirectory() as tmp:
        mlp = Path(tmp) / "mlp.onnx"
        params = build_mlp(mlp)
        ok = measure("example model (funnel.onnx, 48 parameters)", FUNNEL, args.rounds, 1.05)
        ok &= measure(f"MLP 512-1024-512-10 ({params:,} parameters)", mlp, args.rounds, 1.02)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
