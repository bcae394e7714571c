"""Unit tests of baseline comparison (deterministic: synthetic records) and loading."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from pytest_latency_sla.baseline import NOISE_FLOOR, BaselineError, compare, load_baseline
from pytest_latency_sla.stats import quantile_interval

if TYPE_CHECKING:
    from pathlib import Path

    from pytest_latency_sla.schema import SlaRecord

ENV: dict[str, Any] = {"cpu_model": "AMD EPYC", "packages": {"onnxruntime": "1.32.0"}}


def record(measured: float, low: float, high: float, **extra: Any) -> SlaRecord:
    base: dict[str, Any] = {
        "nodeid": "t.py::test_x",
        "index": 0,
        "kind": "onnx",
        "percentile": 99.0,
        "measured_s": measured,
        "interval_s": [low, high],
        "model_sha256": "aa",
        "providers": ["CPUExecutionProvider"],
        "intra_op_threads": 0,
        "inter_op_threads": 0,
    }
    base.update(extra)
    return base  # type: ignore[return-value]


def entry(measured: float, low: float, high: float, **extra: Any) -> dict[str, Any]:
    return dict(record(measured, low, high, **extra))


def test_new_test_has_no_baseline_entry() -> None:
    comparison, fails = compare(record(1.0, 0.9, 1.1), None, ENV, ENV, 0.1)
    assert comparison["status"] == "new"
    assert fails is False


def test_overlapping_intervals_are_noise_even_when_large() -> None:
    # +40%, but the intervals overlap: within the noise of the two runs.
    comparison, fails = compare(record(1.4, 1.0, 1.8), entry(1.0, 0.8, 1.2), ENV, ENV, 0.1)
    assert comparison["status"] == "unchanged"
    assert comparison["change"] == pytest.approx(0.4)
    assert comparison["significant"] is False
    assert fails is False


def test_disjoint_intervals_under_the_noise_floor_are_not_called() -> None:
    change = NOISE_FLOOR * 0.9
    comparison, fails = compare(
        record(1 + change, 1 + change - 0.01, 1 + change + 0.01),
        entry(1.0, 0.99, 1.01),
        ENV,
        ENV,
        0.0,
    )
    assert comparison["status"] == "unchanged"
    assert fails is False


def test_the_closest_interval_ends_must_clear_the_floor() -> None:
    # +40% on the point estimates and disjoint intervals, but the closest ends are only
    # 18% apart: within what load changes between runs can do.
    comparison, fails = compare(
        record(1.4, 1.2, 1.6), entry(1.0, 0.98, 1.02), ENV, ENV, 0.1, noise_floor=0.25
    )
    assert comparison["status"] == "unchanged"
    assert comparison["change"] == pytest.approx(0.4)
    assert fails is False


def test_the_default_floor_is_two_x() -> None:
    # The same code measured +58% against its baseline on a shared machine: by default
    # nothing below 2x (between the closest interval ends) is called.
    same_code = record(1.58, 1.55, 1.61)
    assert compare(same_code, entry(1.0, 0.98, 1.02), ENV, ENV, 0.2)[0]["status"] == "unchanged"
    three_x = record(3.0, 2.9, 3.1)
    comparison, fails = compare(three_x, entry(1.0, 0.98, 1.02), ENV, ENV, 0.2)
    assert comparison["status"] == "regression"
    assert fails is True


def test_significant_slowdown_is_a_regression_and_gates_only_beyond_the_threshold() -> None:
    slower, base = record(3.0, 2.9, 3.1), entry(1.0, 0.95, 1.05)
    comparison, fails = compare(slower, base, ENV, ENV, None)
    assert comparison["status"] == "regression"
    assert comparison["significant"] is True
    assert comparison["change"] == pytest.approx(2.0)
    assert fails is False  # reported, no gate without --sla-max-regression
    assert compare(slower, base, ENV, ENV, 1.5)[1] is True
    assert compare(slower, base, ENV, ENV, 2.5)[1] is False


def test_significant_speedup_is_an_improvement() -> None:
    comparison, fails = compare(record(0.3, 0.29, 0.31), entry(1.0, 0.95, 1.05), ENV, ENV, 0.1)
    assert comparison["status"] == "improvement"
    assert comparison["change"] == pytest.approx(-0.7)
    assert fails is False


@pytest.mark.parametrize(
    ("field", "value", "text"),
    [
        ("model_sha256", "bb", "model_sha256 'bb' -> 'aa'"),
        ("providers", ["CUDAExecutionProvider"], "providers"),
        ("intra_op_threads", 4, "intra_op_threads 4 -> 0"),
        ("percentile", 95.0, "percentile 95.0 -> 99.0"),
    ],
)
def test_configuration_mismatch_is_not_compared(field: str, value: object, text: str) -> None:
    base = entry(1.0, 0.95, 1.05, **{field: value})
    comparison, fails = compare(record(3.0, 2.9, 3.1), base, ENV, ENV, 0.1)
    assert comparison["status"] == "mismatch"
    assert any(text in m for m in comparison["mismatch"]), comparison["mismatch"]
    assert fails is False  # a mismatch never counts as a regression


def test_environment_mismatch_onnxruntime_and_cpu() -> None:
    other = {"cpu_model": "Intel Xeon", "packages": {"onnxruntime": "1.20.0"}}
    comparison, _ = compare(record(1.0, 0.9, 1.1), entry(1.0, 0.9, 1.1), ENV, other, None)
    assert comparison["mismatch"] == [
        "onnxruntime 1.20.0 -> 1.32.0",
        "cpu_model 'Intel Xeon' -> 'AMD EPYC'",
    ]


def test_same_distribution_twice_is_never_a_regression() -> None:
    # Two runs of the same lognormal latency: intervals from the real order-statistic
    # bounds must overlap, whatever the seed.
    for seed in range(200):
        rng = np.random.default_rng(seed)
        runs = []
        for _ in range(2):
            samples = np.sort(rng.lognormal(np.log(10e-6), 0.3, 2_000))
            low, high = quantile_interval(samples.size, 0.99, 0.99)
            runs.append(
                record(
                    float(np.quantile(samples, 0.99, method="inverted_cdf")),
                    float(np.quantile(samples, low, method="inverted_cdf")),
                    float(np.quantile(samples, high, method="inverted_cdf")),
                )
            )
        comparison, fails = compare(runs[1], dict(runs[0]), ENV, ENV, 0.0)
        assert comparison["status"] == "unchanged", (seed, comparison)
        assert fails is False


def test_load_baseline_round_trip(tmp_path: Path) -> None:
    document = {
        "schema_version": 1,
        "run": {"environment": ENV},
        "results": [dict(record(1.0, 0.9, 1.1))],
    }
    path = tmp_path / "base.json"
    path.write_text(json.dumps(document))
    baseline = load_baseline(str(path))
    assert baseline.entry("t.py::test_x", 0) is not None
    assert baseline.entry("t.py::test_x", 1) is None
    assert baseline.environment == ENV


def test_load_baseline_rejects_a_directory(tmp_path: Path) -> None:
    with pytest.raises(BaselineError, match="is a directory"):
        load_baseline(str(tmp_path))
