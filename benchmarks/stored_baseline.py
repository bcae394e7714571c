"""Stored baselines: does ``--sla-compare`` catch a 3x slower model, and nothing else?

    python benchmarks/stored_baseline.py [--runs 10] [--hogs 0,1] [--floor 1.0]

A baseline is recorded once, idle, as ``examples/ci/sla-baseline.yml`` records it on
``main``: an MLP (Gemm + Relu, 256-1024-1024-10) behind ``@pytest.mark.sla(ms=50)``,
``pytest --sla-save=base.json``. Then each run is a fresh pytest session of the same
test id with ``--sla-compare=base.json --sla-max-regression=20`` on one of:

* **A/A**: the same model file: nothing may be flagged, whatever the machine does;
* **3x**: a model about 3x the work (hidden layers 1900 wide) under the same test id
  ("model changed"): flagged, and failed, every run.

idle, or with unpinned CPU hogs (busy loops started here, stopped by PID); models and
conditions interleave run by run. The true ratio is measured first by a bare loop
timing both sessions alternately. Prints, per model and condition, the comparison
statuses, how many runs failed, and the changes of p99 (what the comparison judges)
and of p50 against the baseline, median and range: the A/A range is the drift between
runs that ``sla_noise_floor`` must cover. Exits 1 when a 3x run is not flagged or an
A/A run is.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import _common

BASE = (256, 1024, 1024, 10)
MODELS: dict[str, tuple[tuple[int, ...], int]] = {
    "A/A": (BASE, 1),  # the very same file
    "3x": ((256, 1900, 1900, 10), 1),
}
TEST = """
import pytest


@pytest.mark.sla(ms=50)
def test_model(sla):
    sla.onnx("model.onnx")
"""


def pytest_run(root: Path, *args: str) -> tuple[_common.Run, dict[str, Any]]:
    done = _common.run(
        [_common.PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
         "--sla-report=json:r.json", *args],
        cwd=root,
    )  # fmt: skip
    results = json.loads((root / "r.json").read_text())["results"]
    if not results:
        raise SystemExit(f"a run measured nothing; its output:\n{done.output[-3000:]}")
    record: dict[str, Any] = results[0]
    return done, record


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="runs per model and condition")
    parser.add_argument("--hogs", default="0,1", help="CPU hogs per condition (0,1)")
    parser.add_argument(
        "--floor", type=float, default=None, help="--sla-noise-floor for the runs (default: its)"
    )
    args = parser.parse_args()
    conditions = [int(h) for h in args.hogs.split(",")]
    floor = [] if args.floor is None else [f"--sla-noise-floor={args.floor}"]
    _common.header(
        f"{len(MODELS)} models x {len(conditions)} conditions x {args.runs} runs; "
        "pytest --sla-compare=base.json --sla-max-regression=20 " + " ".join(floor)
    )
    root = Path(tempfile.mkdtemp(prefix="sla-stored-"))
    (root / "test_model.py").write_text(TEST)
    files = {}
    for name, (sizes, seed) in MODELS.items():
        files[name] = root / f"{name.replace('/', '')}.onnx"
        _common.build_mlp(files[name], sizes, seed=seed)
    truth = {
        name: _common.interleaved_ratio(str(files["A/A"]), str(path), BASE[0])
        for name, path in files.items()
    }
    print("true p50 ratios (bare loop, interleaved, 10 s each): "
          + ", ".join(f"{n} {r:.3f}x" for n, r in truth.items()))  # fmt: skip
    shutil.copy(files["A/A"], root / "model.onnx")
    _, base = pytest_run(root, "--sla-save=base.json")
    print(
        f"baseline, idle: p99 {base['measured_s'] * 1e6:.1f} µs, p50 {base['p50_s'] * 1e6:.1f} µs"
    )
    results: dict[tuple[str, int], list[dict[str, Any]]] = {}
    started = time.perf_counter()
    for i in range(args.runs):
        for hogs in conditions:
            with _common.hogs(hogs):
                for name, path in files.items():
                    shutil.copy(path, root / "model.onnx")
                    done, record = pytest_run(
                        root, "--sla-compare=base.json", "--sla-max-regression=20", *floor
                    )
                    results.setdefault((name, hogs), []).append(
                        {
                            "failed": done.returncode != 0,
                            "status": record["comparison"]["status"],
                            "p99": record["measured_s"] / base["measured_s"] - 1,
                            "p50": record["p50_s"] / base["p50_s"] - 1,
                        }
                    )
        print(f"run {i + 1}/{args.runs} done", flush=True)
    print()
    print(
        "| model | true ratio | hogs | runs | statuses | failed | p99 change, median "
        "(range) | p50 change, median (range) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    problems = []
    for (name, hogs), runs in results.items():
        statuses: dict[str, int] = {}
        for r in runs:
            statuses[r["status"]] = statuses.get(r["status"], 0) + 1
        failed = sum(r["failed"] for r in runs)

        def pct(key: str, runs: list[dict[str, Any]] = runs) -> str:
            values = [r[key] * 100 for r in runs]
            return f"{_common.median(values):+.0f}% ({min(values):+.0f}% to {max(values):+.0f}%)"

        print(
            f"| {name} | {truth[name]:.2f}x | {hogs} | {len(runs)} "
            f"| {', '.join(f'{k} {v}' for k, v in sorted(statuses.items()))} | {failed} "
            f"| {pct('p99')} | {pct('p50')} |"
        )
        flagged = statuses.get("regression", 0)
        if name == "3x" and (flagged < len(runs) or failed < len(runs)):
            problems.append(f"3x, {hogs} hogs: {len(runs) - flagged} runs not flagged")
        if name == "A/A" and (flagged or failed):
            problems.append(f"A/A, {hogs} hogs: {flagged} flagged, {failed} failed")
    print()
    print(f"{time.perf_counter() - started:.0f} s of runs")
    if problems:
        print("goal missed: " + "; ".join(problems))
        return 1
    print("goal met: every 3x run flagged and failed, no A/A run flagged")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
