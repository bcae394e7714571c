"""Pre-merge, side by side: does ``--sla-compare-ref`` catch a 20% slower model, and only it?

    python benchmarks/premerge.py [--runs 10] [--hogs 0,1] [--branches A/A,slower,faster]

A git repository made here holds, on ``main``, an MLP (Gemm + Relu, 256-1024-1024-10,
1.3 M parameters) behind ``@pytest.mark.sla(ms=50)``. Three pull-request branches
change the model file:

* **A/A**: the same layers with other weights (other bytes, the same cost): nothing may
  be flagged;
* **slower**: the second hidden layer 31% wider, about 1.2x the time: flagged every run;
* **faster**: a hidden layer 25% narrower: never flagged, reported as an improvement.

Each run is a fresh ``pytest --sla-compare-ref=main --sla-max-regression=10`` session on
one branch, with default settings, idle or with unpinned CPU hogs (busy loops started
here, stopped by PID); branches and conditions are interleaved run by run. The true
ratio of each branch is measured first, by this script, timing both sessions
alternately for 10 s (a bare loop, no plugin). Prints, per branch and condition, how
many runs failed on a regression, the outcomes, the median ratio and interval width,
and the smallest change each run could tell. Exits 1 when a slower run is not flagged
or an A/A run is.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import _common

BASE = (256, 1024, 1024, 10)
BRANCHES: dict[str, tuple[tuple[int, ...], int]] = {
    "A/A": (BASE, 2),
    "slower": ((256, 1024, 1340, 10), 1),
    "faster": ((256, 768, 1024, 10), 1),
}
TEST = """
import pytest


@pytest.mark.sla(ms=50)
def test_model(sla):
    sla.onnx("model.onnx")
"""


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", *args],
        cwd=cwd, capture_output=True, check=True,
    )  # fmt: skip


def make_repo(root: Path) -> None:
    git(root, "init", "-q", "-b", "main")
    (root / "test_model.py").write_text(TEST)
    _common.build_mlp(root / "model.onnx", BASE, seed=1)
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "base")
    for branch, (sizes, seed) in BRANCHES.items():
        name = branch.replace("/", "")
        git(root, "checkout", "-q", "-b", name, "main")
        _common.build_mlp(root / "model.onnx", sizes, seed=seed)
        git(root, "commit", "-q", "-am", branch)
    git(root, "checkout", "-q", "main")


def true_ratio(root: Path, branch: str) -> float:
    """head/base p50 of a branch's model against main's, by a bare loop."""
    base_bytes = subprocess.run(
        ["git", "show", "main:model.onnx"], cwd=root, capture_output=True, check=True
    ).stdout
    head_bytes = subprocess.run(
        ["git", "show", f"{branch.replace('/', '')}:model.onnx"],
        cwd=root, capture_output=True, check=True,
    ).stdout  # fmt: skip
    return _common.interleaved_ratio(base_bytes, head_bytes, BASE[0])


def one_run(root: Path, branch: str) -> dict[str, Any]:
    git(root, "checkout", "-q", branch.replace("/", ""))
    done = _common.run(
        [_common.PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
         "--sla-compare-ref=main", "--sla-max-regression=10", "--sla-report=json:r.json"],
        cwd=root,
    )  # fmt: skip
    record = json.loads((root / "r.json").read_text())["results"][0]
    return {
        "failed": done.returncode != 0,
        "regression_failure": "SLA regression against main" in done.output,
        "revision": record["revision"],
        "seconds": done.seconds,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="runs per branch and condition")
    parser.add_argument("--hogs", default="0,1", help="CPU hogs per condition (0,1)")
    parser.add_argument(
        "--branches", default=",".join(BRANCHES), help="branches to run (A/A,slower,faster)"
    )
    args = parser.parse_args()
    conditions = [int(h) for h in args.hogs.split(",")]
    branches = [b for b in args.branches.split(",") if b]
    unknown = sorted(set(branches) - set(BRANCHES))
    if unknown:
        parser.error(f"unknown branches {unknown}; choose among {', '.join(BRANCHES)}")
    _common.header(
        f"{len(branches)} branches x {len(conditions)} conditions x {args.runs} runs; "
        "pytest --sla-compare-ref=main --sla-max-regression=10, default settings"
    )
    root = Path(tempfile.mkdtemp(prefix="sla-premerge-"))
    make_repo(root)
    truth = {b: true_ratio(root, b) for b in branches}
    print("true p50 ratios (bare loop, interleaved, 10 s each): "
          + ", ".join(f"{b} {r:.3f}x" for b, r in truth.items()))  # fmt: skip
    results: dict[tuple[str, int], list[dict[str, Any]]] = {}
    started = time.perf_counter()
    for i in range(args.runs):
        for hogs in conditions:
            with _common.hogs(hogs):
                for branch in branches:
                    results.setdefault((branch, hogs), []).append(one_run(root, branch))
        print(f"run {i + 1}/{args.runs} done", flush=True)
    print()
    print(
        "| branch | true ratio | hogs | runs | failed on a regression | outcomes "
        "| p50 ratio, median (interval width) | could tell, median | stopped "
        "| s per run, median (max) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    problems = []
    for (branch, hogs), runs in results.items():
        flagged = sum(r["regression_failure"] for r in runs)
        outcomes: dict[str, int] = {}
        for r in runs:
            outcomes[r["revision"]["outcome"]] = outcomes.get(r["revision"]["outcome"], 0) + 1
        ratios = [r["revision"]["p50_ratio"] for r in runs]
        width = statistics.median(hi - lo for _, lo, hi in ratios)
        could = statistics.median(r["revision"]["detectable"] for r in runs)
        stops: dict[str, int] = {}
        for r in runs:
            reason = str(r["revision"].get("stop_reason"))
            stops[reason] = stops.get(reason, 0) + 1
        seconds = [r["seconds"] for r in runs]
        print(
            f"| {branch} | {truth[branch]:.3f}x | {hogs} | {len(runs)} | {flagged} "
            f"| {', '.join(f'{k} {v}' for k, v in sorted(outcomes.items()))} "
            f"| {statistics.median(r[0] for r in ratios):.3f}x ({width:.3f}) "
            f"| {could * 100:.1f}% | {', '.join(f'{k} {v}' for k, v in sorted(stops.items()))} "
            f"| {statistics.median(seconds):.1f} ({max(seconds):.1f}) |"
        )
        if branch == "slower" and flagged < len(runs):
            problems.append(f"slower, {hogs} hogs: {len(runs) - flagged} runs not flagged")
        if branch != "slower" and flagged:
            problems.append(f"{branch}, {hogs} hogs: {flagged} false alarms")
    print()
    print(f"{time.perf_counter() - started:.0f} s of runs")
    if problems:
        print("goal missed: " + "; ".join(problems))
        return 1
    print("goal met: every slower run flagged, no A/A or faster run flagged")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
