"""Real machine (goal 6 of docs/performance.md): verdicts on the example model in fresh processes.

First the example model's p50 and p99 are measured with a long plain loop (200,000
calls), idle and with a CPU hog. Then ``--runs`` fresh pytest processes each judge it at
three budgets: p50 <= 0.5x its p50 (must not pass), p99 <= 2x its p99 and p99 <= 10x its
p99 (must not fail); once on an idle machine and once with a CPU-bound process (a Python
busy loop) pinned to the other core, which this script starts and always stops. pytest
runs pinned to core 0 in both conditions. Counts wrong-direction verdicts (target: none)
and inconclusives.

    python benchmarks/real_machine.py [--runs 30]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from _common import FUNNEL, PYTHON, fmt_us, header, run, verdict

if TYPE_CHECKING:
    from collections.abc import Iterator

REFERENCE = f"""
import time, numpy as np
from pytest_latency_sla import ort
prepared = ort.prepare({str(FUNNEL)!r})
call = prepared.call
for _ in range(20_000):
    call()
clock = time.perf_counter_ns
out = np.empty(200_000, dtype=np.int64)
for i in range(out.size):
    t0 = clock(); call(); out[i] = clock() - t0
print(float(np.percentile(out, 50)), float(np.percentile(out, 99)))
"""

SUITE = """
import pytest

MODEL = {model!r}


@pytest.mark.sla(us={half_p50!r}, percentile=50)
def test_half_p50(sla):
    sla.onnx(MODEL)


@pytest.mark.sla(us={twice_p99!r})
def test_twice_p99(sla):
    sla.onnx(MODEL)


@pytest.mark.sla(us={ten_p99!r})
def test_ten_p99(sla):
    sla.onnx(MODEL)
"""

#: What a right verdict is for each test; the other direction is wrong.
EXPECTED = {"test_half_p50": "fail", "test_twice_p99": "pass", "test_ten_p99": "pass"}


def _pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > cpu:
        os.sched_setaffinity(0, {cpu})


@contextmanager
def cpu_hog(enabled: bool) -> Iterator[None]:
    """A busy loop pinned to core 1 while the block runs; stopped on any exit."""
    if not enabled:
        yield
        return
    hog = subprocess.Popen(
        [PYTHON, "-c", "while True: pass"],
        preexec_fn=lambda: _pin(1),
    )
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        yield
    finally:
        hog.terminate()
        try:
            hog.wait(timeout=5)
        except subprocess.TimeoutExpired:
            hog.kill()
            hog.wait()
        signal.signal(signal.SIGTERM, previous)


def reference(hog: bool) -> tuple[float, float]:
    with cpu_hog(hog):
        done = run(["taskset", "-c", "0", PYTHON, "-c", REFERENCE])
    if done.returncode != 0:
        raise SystemExit(done.output)
    p50, p99 = (float(x) for x in done.output.split())
    return p50, p99


def judge(
    root: Path, label: str, p50: float, p99: float, runs: int, hog: bool
) -> dict[str, dict[str, int]]:
    suite = root / label
    suite.mkdir()
    (suite / "test_real.py").write_text(
        SUITE.format(
            model=str(FUNNEL),
            half_p50=round(0.5 * p50 / 1e3, 3),
            twice_p99=round(2 * p99 / 1e3, 3),
            ten_p99=round(10 * p99 / 1e3, 3),
        ),
        encoding="utf-8",
    )
    counts = {test: {"pass": 0, "fail": 0, "inconclusive": 0} for test in EXPECTED}
    with cpu_hog(hog):
        for i in range(runs):
            report = root / f"{label}{i}.json"
            argv = [
                "taskset", "-c", "0", PYTHON, "-m", "pytest", str(suite), "-q",
                "-p", "no:cacheprovider", "-p", "no:benchmark",
                "--sla-inconclusive=pass", f"--sla-report=json:{report}",
            ]  # fmt: skip
            done = run(argv, root)
            if not report.exists():
                raise SystemExit(done.output)
            for result in json.loads(report.read_text())["results"]:
                counts[result["nodeid"].split("::")[-1]][result["verdict"]] += 1
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="fresh runs per condition (30)")
    args = parser.parse_args()
    header(
        "goal 6: fresh pytest runs at 0.5x p50 (p50 budget), 2x and 10x p99 (p99 budgets), "
        "idle and with a CPU hog on the other core; wrong-direction verdicts must be 0"
    )
    wrong_total = 0
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for hog in (False, True):
            label = "hog" if hog else "idle"
            p50, p99 = reference(hog)
            print(f"{label}: reference loop p50 {fmt_us(p50)}, p99 {fmt_us(p99)}", flush=True)
            counts = judge(root, label, p50, p99, args.runs, hog)
            for test, got in counts.items():
                wrong = got["pass" if EXPECTED[test] == "fail" else "fail"]
                wrong_total += wrong
                rows.append((label, test, got, wrong))
    print()
    print("| condition | budget | runs | pass | fail | inconclusive | wrong direction |")
    print("|---|---|---|---|---|---|---|")
    names = {
        "test_half_p50": "p50 <= 0.5x p50",
        "test_twice_p99": "p99 <= 2x p99",
        "test_ten_p99": "p99 <= 10x p99",
    }
    for label, test, got, wrong in rows:
        print(
            f"| {'CPU hog on core 1' if label == 'hog' else 'idle'} | {names[test]} "
            f"| {sum(got.values())} | {got['pass']} | {got['fail']} | {got['inconclusive']} "
            f"| {wrong} |"
        )
    print()
    print(f"wrong-direction verdicts: {wrong_total} (target 0): {verdict(wrong_total == 0)}")
    return 0 if wrong_total == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
