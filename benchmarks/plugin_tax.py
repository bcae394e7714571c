"""Plugin tax (goal 3 of docs/performance.md): what the plugin costs a suite that has no SLA tests.

500 trivial tests (10 files of 50), run in subprocesses with the plugin loaded and with
``-p no:latency_sla``, interleaved, ``--repeats`` times each; the ratio of the median wall
times, and whether onnxruntime (or numpy) was imported during the run with the plugin
(recorded by a conftest.py at session end, the same in both runs). Target: <= 1.05x and
no onnxruntime.

    python benchmarks/plugin_tax.py [--repeats 15]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from _common import PYTHON, header, median, run, spread, verdict

CONFTEST = """
import json
import os
import sys


def pytest_sessionfinish(session):
    heavy = {name: name in sys.modules for name in ("onnxruntime", "numpy", "onnx")}
    with open(os.environ["TAX_MODULES_OUT"], "w") as out:
        json.dump(heavy, out)
"""


def make_suite(root: Path, files: int = 10, per_file: int = 50) -> None:
    (root / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    for f in range(files):
        body = "\n\n".join(
            f"def test_{f}_{i}():\n    assert {i} + 1 == {i + 1}" for i in range(per_file)
        )
        (root / f"test_trivial_{f}.py").write_text(body + "\n", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="runs of each (15)")
    args = parser.parse_args()
    header("goal 3: 500 trivial tests, plugin loaded vs -p no:latency_sla, wall time ratio")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        suite = root / "suite"
        suite.mkdir()
        make_suite(suite)
        base = [PYTHON, "-m", "pytest", str(suite), "-q", "-p", "no:cacheprovider"]
        print("with:    " + " ".join(["pytest", *base[3:]]))
        print("without: " + " ".join(["pytest", *base[3:], "-p", "no:latency_sla"]))
        with_s, without_s, ratios = [], [], []
        modules: dict[str, bool] = {}
        for i in range(args.repeats + 1):
            order = ("with", "without") if i % 2 == 0 else ("without", "with")
            got = {}
            for which in order:
                out = root / f"modules-{which}.json"
                argv = base if which == "with" else [*base, "-p", "no:latency_sla"]
                done = run(argv, root, env={"TAX_MODULES_OUT": str(out)})
                if done.returncode != 0 or "500 passed" not in done.output:
                    print(done.output)
                    return 2
                got[which] = done.seconds
                if which == "with":
                    modules = json.loads(out.read_text())
            if i == 0:
                continue  # the first pair warms the file system cache and .pyc files
            with_s.append(got["with"])
            without_s.append(got["without"])
            ratios.append(got["with"] / got["without"])
    ratio = median(with_s) / median(without_s)
    ok = ratio <= 1.05
    print(f"with the plugin:    median {median(with_s):.3f} s  (min {min(with_s):.3f})")
    print(f"without the plugin: median {median(without_s):.3f} s  (min {min(without_s):.3f})")
    print(f"per-pair ratio with/without: {spread(ratios)} (median, min-max)")
    print(f"ratio of medians with/without: {ratio:.3f} (target <= 1.05): {verdict(ok)}")
    imported = ", ".join(
        f"{name} {'imported' if on else 'not imported'}" for name, on in modules.items()
    )
    print(f"in the run with the plugin: {imported}")
    no_ort = not modules.get("onnxruntime", True)
    print(f"onnxruntime not imported: {verdict(no_ort)}")
    return 0 if ok and no_ort else 1


if __name__ == "__main__":
    sys.exit(main())
