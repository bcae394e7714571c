"""Scale (goal 4 of docs/performance.md): 1,000 SLA tests on the example model in one pytest run.

A generated suite of N tests (parametrized), each ``sla.onnx(funnel.onnx)`` under a
50 ms p99 budget, is run in a subprocess with every report format (term, json, md,
html). Prints the wall time, the peak memory of that pytest process (max RSS from
``os.wait4``), and the time spent writing the reports (``pytest_sessionfinish``, timed
by a conftest wrapper: the terminal table, JSON, Markdown and HTML files). A smaller run
first shows how memory grows with the number of tests. Targets: N=1,000 in < 2 min,
bounded memory, reports in < 1 s.

    python benchmarks/scale.py [--tests 1000] [--small 100]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import FUNNEL, PYTHON, header, verdict

SUITE = """
import pytest

MODEL = {model!r}


@pytest.mark.sla(ms=50)
@pytest.mark.parametrize("i", range({tests}))
def test_model(sla, i):
    sla.onnx(MODEL)
"""

CONFTEST = """
import json
import os
import time

import pytest


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_sessionfinish(session):
    start = time.perf_counter()
    try:
        return (yield)
    finally:
        with open(os.environ["SCALE_TIMING_OUT"], "w") as out:
            json.dump({"sessionfinish_s": time.perf_counter() - start}, out)
"""


def run_suite(root: Path, tests: int) -> dict[str, float]:
    suite = root / f"suite{tests}"
    suite.mkdir()
    (suite / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    (suite / "test_scale.py").write_text(
        SUITE.format(model=str(FUNNEL), tests=tests), encoding="utf-8"
    )
    timing = root / f"timing{tests}.json"
    report = root / f"report{tests}"
    argv = [
        PYTHON,
        "-m",
        "pytest",
        str(suite),
        "-q",
        "-p",
        "no:benchmark",
        "-p",
        "no:cacheprovider",
        "--sla-report",
        f"--sla-report=json:{report}.json",
        f"--sla-report=md:{report}.md",
        f"--sla-report=html:{report}.html",
    ]
    print("$ " + " ".join(["pytest", *argv[3:]]).replace(str(root), "$TMP"), flush=True)
    env = dict(os.environ, SCALE_TIMING_OUT=str(timing))
    start = time.perf_counter()
    with open(root / f"out{tests}.txt", "w") as out:
        proc = subprocess.Popen(argv, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    output = (root / f"out{tests}.txt").read_text()
    if proc.returncode != 0 or f"{tests} passed" not in output:
        print(output[-3000:])
        raise SystemExit(2)
    sizes = {ext: (Path(f"{report}.{ext}").stat().st_size) for ext in ("json", "md", "html")}
    results = json.loads(Path(f"{report}.json").read_text())["results"]
    return {
        "wall_s": wall,
        # ru_maxrss is in KiB on Linux.
        "max_rss_mib": usage.ru_maxrss / 1024,
        "reports_s": json.loads(timing.read_text())["sessionfinish_s"],
        "measure_s": sum(r["cold_start_s"] + r["warmup_s"] + r["duration_s"] for r in results),
        "samples": sum(r["samples"] for r in results),
        **{f"{ext}_kib": size / 1024 for ext, size in sizes.items()},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=1_000, help="SLA tests (1000)")
    parser.add_argument("--small", type=int, default=100, help="the smaller run (100)")
    args = parser.parse_args()
    header(
        f"goal 4: {args.tests:,} SLA tests on the example model in one run: wall time, peak "
        "memory, report writing"
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        small = run_suite(root, args.small)
        big = run_suite(root, args.tests)
    print()
    print(
        "| tests | wall time | in measurements | samples | peak RSS "
        "| reports (term+json+md+html) | json / md / html size |"
    )
    print("|---|---|---|---|---|---|---|")
    for n, row in ((args.small, small), (args.tests, big)):
        print(
            f"| {n:,} | {row['wall_s']:.1f} s | {row['measure_s']:.1f} s | {row['samples']:,.0f} "
            f"| {row['max_rss_mib']:.0f} MiB | {row['reports_s']:.2f} s "
            f"| {row['json_kib']:,.0f} / {row['md_kib']:,.0f} / {row['html_kib']:,.0f} KiB |"
        )
    per_test_kib = (big["max_rss_mib"] - small["max_rss_mib"]) * 1024 / (args.tests - args.small)
    print()
    print(
        f"memory growth: {per_test_kib:.1f} KiB per SLA test beyond the first {args.small} "
        f"(raw samples average {big['samples'] / args.tests * 8 / 1024:.0f} KiB per test)"
    )
    ok_time = big["wall_s"] < 120
    ok_reports = big["reports_s"] < 1.0
    print(f"wall time < 2 min: {verdict(ok_time)}; reports < 1 s: {verdict(ok_reports)}")
    return 0 if ok_time and ok_reports else 1


if __name__ == "__main__":
    sys.exit(main())
