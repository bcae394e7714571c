"""The CUDA execution provider: do the plugin's figures and verdicts hold on a GPU?

    python benchmarks/gpu.py [--only NAME,...] [--seconds 3]

Needs onnxruntime-gpu and a GPU; CI has neither, so it is run by hand on a GPU machine
(results in docs/performance.md). Models: the README's 48-parameter funnel model, an MLP
made in code (8 MatMuls of 1024 x 1024) and the ``light_*`` ImageNet models that ship
inside the installed ``onnx`` package.

For each model, side by side in one run:

- a hand-written loop times ``session.run`` on CUDA (after its first call, which on CUDA
  includes the kernels' set-up and cuDNN's algorithm search, and a second of warm-up), and
  the same loop on the CPU, for the speedup; the first call's time is shown;
- the hand loop over three call paths on CUDA: ``session.run`` (inputs from and outputs to
  host memory each call), IO binding with host inputs (``bind_cpu_input``, outputs copied
  back), and IO binding with the inputs placed on the GPU once and outputs left there;
- one pytest session measures every model with ``providers=["CUDAExecutionProvider"]``
  and no budget (the plugin's p50 and p99 against the hand loop's), then one judges each
  at 3x that p99 (must pass) and one at half the hand loop's p50 (must fail), default
  settings.

Prints Markdown tables; exits 1 on a wrong verdict or a session not on CUDA.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from onnx_models import matmul_chain_model, save

CUDA = "CUDAExecutionProvider"
LIGHT = {"resnet50": "light_resnet50", "inception-v1": "light_inception_v1", "vgg19": "light_vgg19"}

TEST = """
{marker}
def test_{ident}(sla):
    result = sla.onnx({path!r}, providers=[{cuda!r}])
    assert result.subject.providers[0] == {cuda!r}, result.subject.providers
"""


def locate(names: list[str], work: Path) -> dict[str, str]:
    import onnx

    light = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
    found = {}
    for name in names:
        if name == "mlp":
            found[name] = str(save(matmul_chain_model(8, width=1024), work / "mlp.onnx"))
        elif name == "funnel":  # the README's 48-parameter model
            found[name] = str(Path(__file__).resolve().parents[1] / "examples/funnel/funnel.onnx")
        else:
            found[name] = str(light / f"{LIGHT[name]}.onnx")
    return found


def _feeds(session: Any) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    return {
        i.name: rng.standard_normal([d if isinstance(d, int) else 1 for d in i.shape]).astype(
            np.float32
        )
        for i in session.get_inputs()
    }


def _loop(call: Any, seconds: float) -> tuple[float, float, int]:
    """p50 and p99 of ``call`` in ms, timed one call at a time for ``seconds``."""
    end = time.perf_counter() + 1.0
    while time.perf_counter() < end:  # warm-up
        call()
    times: list[int] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(times) < 50:
        start = time.perf_counter_ns()
        call()
        times.append(time.perf_counter_ns() - start)
    array = np.array(times) / 1e6
    return float(np.percentile(array, 50)), float(np.percentile(array, 99)), len(times)


def hand(path: str, seconds: float) -> dict[str, Any]:
    import onnxruntime as ort

    found: dict[str, Any] = {}
    for provider in (CUDA, "CPUExecutionProvider"):
        started = time.perf_counter()
        session = ort.InferenceSession(path, providers=[provider])
        made = time.perf_counter() - started
        feeds = _feeds(session)
        started = time.perf_counter()
        session.run(None, feeds)
        first = time.perf_counter() - started
        found[provider] = {
            "in_use": session.get_providers()[0],
            "made_s": made,
            "first_s": first,
            "run": _loop(lambda s=session, f=feeds: s.run(None, f), seconds),
        }
        if provider != CUDA:
            continue
        binding = session.io_binding()
        for name, value in feeds.items():
            binding.bind_cpu_input(name, value)
        for output in session.get_outputs():
            binding.bind_output(output.name)

        def host(s: Any = session, b: Any = binding) -> None:
            s.run_with_iobinding(b)
            b.copy_outputs_to_cpu()

        found["iobinding-host"] = _loop(host, seconds)
        on_gpu = session.io_binding()
        for name, value in feeds.items():
            on_gpu.bind_ortvalue_input(name, ort.OrtValue.ortvalue_from_numpy(value, "cuda", 0))
        for output in session.get_outputs():
            on_gpu.bind_output(output.name, "cuda", 0)
        found["iobinding-gpu"] = _loop(lambda s=session, b=on_gpu: s.run_with_iobinding(b), seconds)
    return found


def session(models: dict[str, str], budgets: dict[str, str]) -> dict[str, dict[str, Any]]:
    """One pytest session over ``models``: its JSON records by model."""
    work = Path(tempfile.mkdtemp(prefix="sla-gpu-"))
    lines = ["import pytest", ""]
    for name, path in models.items():
        lines.append(
            TEST.format(ident=name.replace("-", "_"), path=path, marker=budgets[name], cuda=CUDA)
        )
    (work / "test_gpu.py").write_text("\n".join(lines))
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "test_gpu.py", "-q", "-p", "no:cacheprovider",
         "-p", "no:randomly", "--sla-report=json:sla.json"],
        cwd=work, capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    if not (work / "sla.json").exists():
        print(run.stdout[-3000:], run.stderr[-3000:])
        raise SystemExit(1)
    document = json.loads((work / "sla.json").read_text())
    return {r["nodeid"].split("::test_")[1].replace("_", "-"): r for r in document["results"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--only", default=None, help="only these models (mlp,resnet50,...)")
    parser.add_argument("--seconds", type=float, default=3.0, help="hand loop per path (3)")
    args = parser.parse_args()
    names = ["funnel", "mlp", *LIGHT] if not args.only else args.only.split(",")
    _common.header(f"{len(names)} models on {CUDA}, hand loops beside the plugin")
    models = locate(names, Path(tempfile.mkdtemp(prefix="sla-gpu-models-")))
    wrong = []
    by_hand = {}
    print("\n| model | CPU p50 | CUDA p50 | p99 | first call | run | IO binding, host inputs "
          "| IO binding, inputs on GPU |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for name, path in models.items():
        found = by_hand[name] = hand(path, args.seconds)
        cuda, cpu = found[CUDA], found["CPUExecutionProvider"]
        if cuda["in_use"] != CUDA:
            wrong.append(f"{name}: the hand loop's session is on {cuda['in_use']}")
        p50 = cuda["run"][0]
        print(
            f"| {name} | {cpu['run'][0]:.3f} ms | {p50:.3f} ms | {cuda['run'][1]:.3f} ms "
            f"| {cuda['first_s'] * 1e3:.0f} ms | 1.00x | {found['iobinding-host'][0] / p50:.2f}x "
            f"| {found['iobinding-gpu'][0] / p50:.2f}x |",
            flush=True,
        )
    free = session(models, dict.fromkeys(models, ""))  # no marker: measured only
    print("\n| model | hand p50 | plugin p50 | ratio | hand p99 | plugin p99 | ratio | calls "
          "| pass at 3x p99 | fail at 0.5x p50 |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    passing = session(
        models,
        {
            n: f"@pytest.mark.sla(ms={3 * free[n]['percentiles_s']['p99'] * 1e3:.4f})"
            for n in models
        },
    )
    failing = session(
        models, {n: f"@pytest.mark.sla(ms={0.5 * by_hand[n][CUDA]['run'][0]:.4f})" for n in models}
    )
    for name in models:
        hand_p50, hand_p99, _ = by_hand[name][CUDA]["run"]
        record = free[name]
        p50, p99 = record["p50_s"] * 1e3, record["percentiles_s"]["p99"] * 1e3
        cells = []
        for judged, expected in ((passing[name], "pass"), (failing[name], "fail")):
            dependence = (judged["decision"] or {}).get("design_effect", 0)
            cells.append(
                f"{judged['verdict']} ({judged['samples']:,} calls, {judged['duration_s']:.1f} s, "
                f"{judged['stop_reason']}, dependence {dependence:.1f})"
            )
            if judged["verdict"] != expected:
                wrong.append(f"{name}: {judged['verdict']} where {expected} was right")
            if judged["providers"][0] != CUDA:
                wrong.append(f"{name}: measured on {judged['providers']}")
        print(
            f"| {name} | {hand_p50:.3f} ms | {p50:.3f} ms | {p50 / hand_p50:.2f}x "
            f"| {hand_p99:.3f} ms | {p99:.3f} ms | {p99 / hand_p99:.2f}x | {record['samples']:,} "
            f"| {cells[0]} | {cells[1]} |",
            flush=True,
        )
    if wrong:
        print("\nwrong: " + "; ".join(wrong))
        return 1
    print("\nevery verdict right, every session on CUDA")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
