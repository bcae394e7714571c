"""The CUDA execution provider, end to end: run where onnxruntime-gpu and a GPU are.

Skipped elsewhere (CI has no GPU), with the reason. Each test is an ordinary user's test
file run by pytester: the providers asked for and those in use recorded, a verdict on a
GPU model, the provider's options, isolation (a spawned worker makes its own CUDA
context), the advisor beside a CUDA session, and a device that does not exist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from onnx_models import matmul_chain_model, save
from support import FAST, assert_no_internal_error, load_report, output

if TYPE_CHECKING:
    from pathlib import Path

CUDA = "CUDAExecutionProvider"


def _cuda_runs() -> str | None:
    """Why CUDA cannot be tested here, or None when a CUDA session really runs."""
    import onnxruntime

    if CUDA not in onnxruntime.get_available_providers():
        return f"no CUDA here: this onnxruntime {onnxruntime.__version__} lacks {CUDA}"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        session = onnxruntime.InferenceSession(
            save(matmul_chain_model(1, width=8), _scratch()).read_bytes(), providers=[CUDA]
        )
    if session.get_providers()[0] != CUDA:  # onnxruntime-gpu without a usable GPU
        return f"no CUDA device: onnxruntime fell back to {session.get_providers()}"
    return None


def _scratch() -> Path:
    import tempfile
    from pathlib import Path

    return Path(tempfile.mkdtemp(prefix="sla-cuda-")) / "probe.onnx"


_WHY = _cuda_runs()
pytestmark = pytest.mark.skipif(_WHY is not None, reason=_WHY or "")


@pytest.fixture
def gpu_model(pytester: pytest.Pytester) -> Path:
    # 8 MatMuls of 1024 x 1024: about 17 MFLOP a call, a GPU's work.
    return save(matmul_chain_model(8, width=1024), pytester.path / "mlp.onnx")


def test_cuda_verdict_and_providers_recorded(pytester: pytest.Pytester, gpu_model: Path) -> None:
    pytester.makepyfile(
        test_gpu=f"""
        import pytest

        @pytest.mark.sla(ms=100)
        def test_on_cuda(sla):
            result = sla.onnx("mlp.onnx", providers=["{CUDA}"])
            assert result.subject.providers[0] == "{CUDA}"

        @pytest.mark.sla(us=1)
        def test_too_tight(sla):
            sla.onnx("mlp.onnx", providers=[("{CUDA}", {{"device_id": 0}}), "CPUExecutionProvider"])
        """
    )
    result = pytester.runpytest(*FAST, "--sla-report=json:sla.json", "-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=1)
    assert "SLA missed" in output(result)
    assert_no_internal_error(result)
    records = {
        r["nodeid"].split("::")[1]: r for r in load_report(pytester.path / "sla.json")["results"]
    }
    for name in ("test_on_cuda", "test_too_tight"):
        assert records[name]["providers"][0] == CUDA, records[name]["providers"]
        assert records[name]["providers_requested"][0] == CUDA
    assert records["test_on_cuda"]["verdict"] == "pass"
    assert records["test_too_tight"]["verdict"] == "fail"


def test_cuda_isolated(pytester: pytest.Pytester, gpu_model: Path) -> None:
    # The worker is spawned, never forked: a CUDA context made in this process (the
    # first test) must not be copied into it.
    pytester.makepyfile(
        test_gpu=f"""
        import pytest

        @pytest.mark.sla(ms=100)
        def test_here_first(sla):
            sla.onnx("mlp.onnx", providers=["{CUDA}"])

        @pytest.mark.sla(ms=100, isolate=True)
        def test_isolated(sla):
            result = sla.onnx("mlp.onnx", providers=["{CUDA}"])
            assert result.subject.providers[0] == "{CUDA}"
        """
    )
    result = pytester.runpytest_subprocess(*FAST, "-p", "no:randomly")
    result.assert_outcomes(passed=2)
    assert_no_internal_error(result)


def test_cuda_advisor(pytester: pytest.Pytester, gpu_model: Path) -> None:
    pytester.makepyfile(
        test_gpu=f"""
        import pytest

        @pytest.mark.sla(ms=100)
        def test_advised(sla):
            sla.onnx("mlp.onnx", providers=["{CUDA}"], advise=True)
        """
    )
    result = pytester.runpytest(*FAST, "--sla-report=json:sla.json", "-p", "no:randomly")
    result.assert_outcomes(passed=1)
    assert_no_internal_error(result)
    (record,) = load_report(pytester.path / "sla.json")["results"]
    advice = record["advice"]
    print(advice["sentence"])
    for row in advice["variants"]:
        print(row["name"], row["status"], row["problem"], row["p50_ratio"])
    assert advice["variants"], advice
    assert all(
        row["status"] == "measured" for row in advice["variants"] if row["name"] != "int8 (dynamic)"
    )


def test_cuda_device_that_does_not_exist(pytester: pytest.Pytester, gpu_model: Path) -> None:
    pytester.makepyfile(
        test_gpu=f"""
        import pytest

        @pytest.mark.sla(ms=100)
        def test_device_99(sla):
            sla.onnx("mlp.onnx", providers=[("{CUDA}", {{"device_id": 99}})])
        """
    )
    result = pytester.runpytest(*FAST, "-p", "no:randomly")
    print(output(result))
    result.assert_outcomes(failed=1)
    assert_no_internal_error(result)
    # onnxruntime fell back to the CPU, printing why: the failure says it, not a timing.
    text = output(result)
    assert (
        "sla.onnx(): asked for CUDAExecutionProvider, but onnxruntime created the session with "
        "CPUExecutionProvider only: it dropped CUDAExecutionProvider when the session was "
        'created (onnxruntime said: Parse Failed to parse provider option "device_id": Invalid '
        "device ID: 99, must be between 0 (inclusive) and 1 (exclusive)). Measuring on another "
        "provider would judge the wrong thing (in test_gpu.py::test_device_99)"
    ) in text


def test_cuda_under_load_and_xdist(pytester: pytest.Pytester, gpu_model: Path) -> None:
    # Requests from a pool of threads into one CUDA session (onnxruntime's run is
    # thread-safe), and two xdist workers, each with a CUDA context of its own.
    pytester.makepyfile(
        test_gpu=f"""
        import pytest

        @pytest.mark.sla(ms=50, rps=300)
        def test_under_load(sla):
            result = sla.onnx("mlp.onnx", providers=["{CUDA}"])
            assert result.subject.providers[0] == "{CUDA}"

        @pytest.mark.sla(ms=50, rps=300, capacity=True)
        def test_capacity(sla):
            sla.onnx("mlp.onnx", providers=["{CUDA}"])

        @pytest.mark.sla(ms=100)
        def test_one_at_a_time(sla):
            sla.onnx("mlp.onnx", providers=["{CUDA}"])
        """
    )
    # A time limit of 60 s gives the pool's first calls, one thread at a time, 3 s: a
    # CUDA thread's first call took up to 80 ms on an H200 (its cuBLAS and cuDNN handles).
    result = pytester.runpytest_subprocess(
        *FAST,
        "--sla-time-limit=60",
        "--sla-load-time=1",
        "--sla-settle-time=0.5",
        "-n",
        "2",
        "--sla-report",
    )
    print(output(result))
    result.assert_outcomes(passed=3)
    assert_no_internal_error(result)


def test_cuda_cold_start(pytester: pytest.Pytester, gpu_model: Path) -> None:
    # Fresh processes: creating a CUDA session (the context, the kernels) and its first
    # call; a budget of a minute holds it, and the figures are recorded.
    pytester.makepyfile(
        test_gpu=f"""
        import pytest

        @pytest.mark.sla(ms=100, cold_ms=60_000)
        def test_cold(sla):
            sla.onnx("mlp.onnx", providers=["{CUDA}"])
        """
    )
    result = pytester.runpytest(*FAST, "--sla-report=json:sla.json", "-p", "no:randomly")
    result.assert_outcomes(passed=1)
    assert_no_internal_error(result)
    (record,) = load_report(pytester.path / "sla.json")["results"]
    cold = record["cold"]
    print({key: cold[key] for key in ("session_s", "first_call_s", "after_idle_s")})
    assert cold["verdict"] == "pass"
    assert cold["runs"] >= 1
