"""Time every ONNX model of a corpus with no configuration; count what could not be.

    python benchmarks/corpus.py [FOLDER ...] [--keep]

By default the corpus is the models that ship inside the installed ``onnx`` package
(``onnx/backend/test/data``: about 150 models nobody here wrote, real architectures such
as ResNet-50 and DenseNet-121 among them, string inputs, scalar inputs, sequence
outputs). Each model gets one SLA test with a generous budget and no feeds, dims or
providers, run in one pytest session (with JUnit XML and the JSON report). Every model
must be either measured or failed with a clear, one-sentence error naming the test; the
script prints the counts, the distinct error kinds, and exits non-zero on any internal
error, traceback-only failure or crashed session.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

TEST_FILE = """
import json
import pytest

MODELS = json.loads({models!r})


@pytest.mark.sla(ms=1000)
@pytest.mark.parametrize("path", MODELS, ids=[m.split("/data/", 1)[-1] for m in MODELS])
def test_model(sla, path):
    sla.onnx(path)
"""

FAST = [
    "--sla-warmup-time=0.01",
    "--sla-warmup-calls=5",
    "--sla-min-time=0.01",
    "--sla-max-time=0.3",
    # Measured or a clear error is the question here, not a verdict: no sampling past
    # sla_max_time toward one.
    "--sla-time-limit=0",
    "--sla-inconclusive=warn",
]


def default_corpus() -> list[Path]:
    import onnx

    return [Path(onnx.__file__).parent / "backend" / "test" / "data"]


def kind_of(message: str) -> str:
    """A short name for an error message, to count error kinds."""
    text = message.split("sla.onnx(): ", 1)[-1]
    for pattern, name in (
        (r"cannot generate a value for input .* of type (\S+)", r"needs feeds: \1"),
        (r"could not load model", "onnxruntime cannot load it"),
        (r"raised when run with inputs", "rejects generated inputs"),
        (r"is not available", "provider not available"),
    ):
        found = re.search(pattern, text)
        if found:
            return found.expand(name) if "\\" in name else name
    return text[:80]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    folders = args.folders or default_corpus()
    models = sorted(str(p) for folder in folders for p in folder.rglob("*.onnx"))
    print(f"$ python benchmarks/corpus.py {' '.join(map(str, args.folders))}".rstrip())
    print(f"{len(models)} models under {', '.join(map(str, folders))}")
    work = Path(tempfile.mkdtemp(prefix="sla-corpus-"))
    (work / "test_corpus.py").write_text(TEST_FILE.format(models=json.dumps(models)))
    started = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "test_corpus.py", "-p", "no:cacheprovider", "-q",
         *FAST, "--junitxml=junit.xml", "--sla-report=json:sla.json", "-W", "default"],
        cwd=work, capture_output=True, text=True, timeout=3600, check=False,
    )  # fmt: skip
    took = time.perf_counter() - started
    output = run.stdout + run.stderr
    problems = []
    if "INTERNALERROR" in output:
        problems.append("INTERNALERROR in the output")
    if run.returncode not in (0, 1):
        problems.append(f"pytest exited {run.returncode} (0 or 1 expected)")
    cases = ET.parse(work / "junit.xml").getroot().iter("testcase")
    outcomes: collections.Counter[str] = collections.Counter()
    kinds: collections.Counter[str] = collections.Counter()
    for case in cases:
        failure = case.find("failure")
        error = case.find("error")
        skipped = case.find("skipped")
        name = case.get("name", "")
        if failure is None and error is None:
            outcomes["skipped" if skipped is not None else "measured"] += 1
            continue
        node = failure if failure is not None else error
        assert node is not None
        message = node.get("message", "") or ""
        clear = "sla.onnx(): " in message and "Traceback" not in (node.text or "")[:200]
        if "SLA missed" in message or "SLA inconclusive" in message:
            outcomes["measured (verdict failed)"] += 1
        elif clear:
            outcomes["clear error"] += 1
            kinds[kind_of(message)] += 1
        else:
            outcomes["unclear failure"] += 1
            problems.append(f"{name}: {message[:200]}")
    document = json.loads((work / "sla.json").read_text())
    print(f"pytest session: {took:.1f} s, exit status {run.returncode}")
    for outcome, count in outcomes.most_common():
        print(f"  {outcome:28} {count:4}")
    print(f"  {'SLA records in the report':28} {len(document['results']):4}")
    if kinds:
        print("clear errors by kind:")
        for kind, count in kinds.most_common():
            print(f"  {count:4}  {kind}")
    if problems:
        print("PROBLEMS:")
        for problem in problems:
            print(f"  {problem}")
    if args.keep:
        print(f"work folder: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
