"""Shared helpers of the benchmark scripts: the header, models, subprocesses, statistics.

Every script prints its command line and the machine first, and measures what it compares
side by side in one run (interleaved), because absolute times move from run to run on a
shared machine: only ratios measured together mean something.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import platform
import shlex
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

ROOT = Path(__file__).resolve().parent.parent
FUNNEL = ROOT / "examples" / "funnel" / "funnel.onnx"
#: The interpreter running the script: the project's virtual environment, normally.
PYTHON = sys.executable
#: The test suite's folder. Its ``synthetic`` module (latency sources with a known truth on
#: a fake clock) is a test harness, not part of the package, so it is not importable from
#: here by name: importing this module puts the folder on ``sys.path``, after everything
#: else so that nothing there shadows an installed module.
TESTS = ROOT / "tests"
if str(TESTS) not in sys.path:
    sys.path.append(str(TESTS))


def header(what: str) -> None:
    """The command line, then the machine and the versions, then what is measured."""
    print("$ " + " ".join(shlex.quote(a) for a in [Path(PYTHON).name, *sys.argv]))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load "
        f"{load:.2f}; Python {platform.python_version()}; {_versions()}"
    )
    print(f"# {what}")
    print(flush=True)


def _versions() -> str:
    from importlib import metadata

    names = ("pytest", "onnxruntime", "numpy", "pytest-benchmark")
    found = []
    for name in names:
        if name == "onnxruntime":  # the one imported: onnxruntime-gpu is another package
            with contextlib.suppress(ImportError):
                import onnxruntime

                found.append(f"onnxruntime {onnxruntime.__version__}")
            continue
        with contextlib.suppress(metadata.PackageNotFoundError):
            found.append(f"{name} {metadata.version(name)}")
    return ", ".join(found)


def build_mlp(path: Path, sizes: Sequence[int] = (512, 1024, 512, 10), seed: int = 1) -> int:
    """A seeded MLP (Gemm + Relu layers) saved at ``path``; returns its parameter count.

    The default 512-1024-512-10 has 1,055,242 parameters.
    """
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    name = "x"
    params = 0
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        w = (rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)).astype(np.float32)
        b = np.zeros(fan_out, dtype=np.float32)
        inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
        params += w.size + b.size
        out = f"h{i}"
        nodes.append(helper.make_node("Gemm", [name, f"w{i}", f"b{i}"], [out]))
        name = out
        if i < len(sizes) - 2:
            nodes.append(helper.make_node("Relu", [out], [f"{out}_relu"]))
            name = f"{out}_relu"
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", sizes[0]])],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", sizes[-1]])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return int(params)


@dataclass(frozen=True)
class Run:
    """One subprocess: its wall time, exit status and output."""

    seconds: float
    returncode: int
    output: str


def run(
    argv: Sequence[str], cwd: Path = ROOT, env: dict[str, str] | None = None, timeout: float = 600
) -> Run:
    """Run ``argv`` to completion; wall time measured around the whole process."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    start = time.perf_counter()
    done = subprocess.run(
        list(argv),
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Run(time.perf_counter() - start, done.returncode, done.stdout + done.stderr)


#: The CPU hog: a Python busy loop, one core's worth of runnable work.
HOG = "while True: pass"


def stop(procs: Sequence[subprocess.Popen[bytes]]) -> None:
    """Stop each process by its PID: terminate, wait, kill if it lingers. Idempotent."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def hogs(count: int) -> Iterator[list[int]]:
    """``count`` unpinned CPU hogs while the block runs; yields their PIDs.

    The hogs share every core with whatever else runs (nothing pins them). They are
    stopped by PID, never by name, on any exit: the ``finally`` below, an ``atexit``
    hook (an exception escaping elsewhere) and SIGTERM (turned into ``SystemExit`` so
    the ``finally`` runs).
    """
    procs: list[subprocess.Popen[bytes]] = []

    def cleanup() -> None:
        stop(procs)

    atexit.register(cleanup)
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        for _ in range(count):
            procs.append(subprocess.Popen([PYTHON, "-c", HOG]))
        yield [proc.pid for proc in procs]
    finally:
        stop(procs)
        atexit.unregister(cleanup)
        signal.signal(signal.SIGTERM, previous)


def interleaved_ratio(
    base: bytes | str, head: bytes | str, width: int, seconds: float = 10.0
) -> float:
    """head/base p50 of two models (bytes or paths, one float input ``x`` of ``width``)
    by a bare loop, the two sessions alternating in 10 ms chunks: the truth a
    side-by-side measurement is checked against."""
    import numpy as np
    import onnxruntime as ort

    feeds = {"x": np.random.default_rng(0).random((1, width), dtype=np.float32)}
    sessions = [ort.InferenceSession(m, providers=["CPUExecutionProvider"]) for m in (base, head)]
    times: list[list[int]] = [[], []]
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for side in (0, 1):
            chunk_end = time.perf_counter() + 0.01
            while time.perf_counter() < chunk_end:
                t0 = time.perf_counter_ns()
                sessions[side].run(None, feeds)
                times[side].append(time.perf_counter_ns() - t0)
    return float(np.median(times[1]) / np.median(times[0]))


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def spread(values: Sequence[float]) -> str:
    """``median (min-max)`` of ratios or times."""
    return f"{median(values):.3f} ({min(values):.3f}-{max(values):.3f})"


def fmt_us(ns: float) -> str:
    return f"{ns / 1e3:.2f} µs"


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"
