"""Unit tests of baseline comparison (deterministic: synthetic records) and loading."""

from __future__ import annotations

import inspect
import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from pytest_latency_sla.baseline import BaselineError, compare, load_baseline
from pytest_latency_sla.settings import Settings
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
        # The comparison judges the median: here it moves as the percentile does.
        "p50_s": measured,
        "p50_interval_s": [low, high],
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


def apart(gap: float) -> SlaRecord:
    """A measurement whose interval starts ``gap`` (a fraction) above BASE's interval end."""
    low = 1.01 * (1.0 + gap)
    return record(low + 0.01, low, low + 0.02)


#: A baseline entry at 1.0 with the interval [0.99, 1.01].
BASE = entry(1.0, 0.99, 1.01)


@pytest.mark.parametrize("noise_floor", [0.05, 0.25, 1.0])
def test_the_noise_floor_setting_decides_between_disjoint_intervals(noise_floor: float) -> None:
    # Disjoint intervals whose closest ends are just under the floor: not called ...
    comparison, fails = compare(apart(0.9 * noise_floor), BASE, ENV, ENV, 0.0, noise_floor)
    assert comparison["status"] == "unchanged"
    assert comparison["significant"] is False
    assert fails is False
    # ... and just over it: a regression, which fails beyond max_regression.
    comparison, fails = compare(apart(1.1 * noise_floor), BASE, ENV, ENV, 0.0, noise_floor)
    assert comparison["status"] == "regression"
    assert comparison["significant"] is True
    assert fails is True


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
    # (sla_noise_floor = 100%) nothing below 2x between the closest interval ends is called.
    floor = Settings().noise_floor
    assert floor == 1.0
    same_code = record(1.58, 1.55, 1.61)
    base = entry(1.0, 0.98, 1.02)
    assert compare(same_code, base, ENV, ENV, 0.2, floor)[0]["status"] == "unchanged"
    three_x = record(3.0, 2.9, 3.1)
    comparison, fails = compare(three_x, base, ENV, ENV, 0.2, floor)
    assert comparison["status"] == "regression"
    assert fails is True
    # compare() called without a floor uses the setting's default.
    assert inspect.signature(compare).parameters["noise_floor"].default == floor


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


def test_a_changed_model_is_compared_and_labelled_not_set_aside() -> None:
    # The model is what a pull request changes: a 3x slower one is a regression.
    base = entry(1.0, 0.95, 1.05, model_sha256="bb")
    comparison, fails = compare(record(3.0, 2.9, 3.1), base, ENV, ENV, 0.1)
    assert comparison["status"] == "regression"
    assert comparison["model_changed"] is True
    assert comparison["mismatch"] == []
    assert fails is True
    same, _ = compare(record(3.0, 2.9, 3.1), entry(1.0, 0.95, 1.05), ENV, ENV, 0.1)
    assert same["model_changed"] is False


def test_a_mismatch_still_shows_its_numbers() -> None:
    from pytest_latency_sla.report.labels import change_label

    rec = record(3.0, 2.9, 3.1)
    rec["comparison"], _ = compare(rec, entry(1.0, 0.95, 1.05, intra_op_threads=4), ENV, ENV)
    assert change_label(rec) == "p50 +200% (mismatch)"
    rec["comparison"], _ = compare(rec, entry(1.0, 0.95, 1.05, model_sha256="bb"), ENV, ENV)
    assert change_label(rec) == "p50 +200% regression (model changed)"
    both = entry(1.0, 0.95, 1.05, intra_op_threads=4, model_sha256="bb")
    rec["comparison"], _ = compare(rec, both, ENV, ENV)
    assert change_label(rec) == "p50 +200% (mismatch, model changed)"


def test_the_summary_counts_changes_in_plain_english() -> None:
    from test_report import record as full_record

    from pytest_latency_sla.report.labels import summary_line

    comparison, _ = compare(
        record(3.0, 2.9, 3.1), entry(1.0, 0.95, 1.05, intra_op_threads=4), ENV, ENV
    )
    first, second = full_record("t.py::a", 3.0), full_record("t.py::b", 3.0)
    first["comparison"] = second["comparison"] = comparison
    assert "against the baseline: 2 mismatches" in summary_line([first, second], 10.0)
    assert "against the baseline: 1 mismatch" in summary_line([first], 10.0)


def test_a_change_under_the_noise_floor_says_so_when_it_is_large() -> None:
    from pytest_latency_sla.report.labels import change_label

    rec = record(2.0, 1.9, 2.1)
    comparison, fails = compare(rec, entry(1.0, 0.95, 1.05, model_sha256="bb"), ENV, ENV, 0.2)
    assert (comparison["status"], fails) == ("unchanged", False)  # 2x: the floor
    rec["comparison"] = comparison
    assert change_label(rec) == "p50 +100%, within the noise (model changed)"
    rec["comparison"], _ = compare(rec, entry(1.95, 1.9, 2.0), ENV, ENV, 0.2)
    assert change_label(rec) == "p50 +3%"


def test_environment_mismatch_onnxruntime_and_cpu() -> None:
    other = {"cpu_model": "Intel Xeon", "packages": {"onnxruntime": "1.20.0"}}
    comparison, _ = compare(record(1.0, 0.9, 1.1), entry(1.0, 0.9, 1.1), ENV, other, None)
    assert comparison["mismatch"] == [
        "onnxruntime 1.20.0 -> 1.32.0",
        "cpu_model 'Intel Xeon' -> 'AMD EPYC'",
    ]


def measured_p99(rng: np.random.Generator, scale: float = 1.0) -> SlaRecord:
    """2,000 lognormal latencies (median 10 µs x ``scale``): their p99 and p50, each with
    its real order-statistic interval."""
    samples = np.sort(rng.lognormal(np.log(10e-6 * scale), 0.3, 2_000))

    def at(q: float) -> tuple[float, float, float]:
        low, high = quantile_interval(samples.size, q, 0.99)
        return (
            float(np.quantile(samples, q, method="inverted_cdf")),
            float(np.quantile(samples, low, method="inverted_cdf")),
            float(np.quantile(samples, high, method="inverted_cdf")),
        )

    p50, p50_low, p50_high = at(0.5)
    return record(*at(0.99), p50_s=p50, p50_interval_s=[p50_low, p50_high])


#: Small floors, far under the default: only the intervals keep noise from being called.
SMALL_FLOORS = [0.0, 0.05]


@pytest.mark.parametrize("noise_floor", SMALL_FLOORS)
def test_same_distribution_twice_is_unchanged_even_at_a_small_floor(noise_floor: float) -> None:
    # Two runs of the same lognormal latency: their point estimates differ by a few
    # percent, but the intervals from the real order-statistic bounds overlap, whatever
    # the seed, so nothing is called.
    for seed in range(200):
        rng = np.random.default_rng(seed)
        base, again = measured_p99(rng), measured_p99(rng)
        comparison, fails = compare(again, dict(base), ENV, ENV, 0.0, noise_floor)
        assert comparison["status"] == "unchanged", (seed, comparison)
        assert comparison["significant"] is False
        assert fails is False


@pytest.mark.parametrize("noise_floor", SMALL_FLOORS)
def test_a_clearly_different_distribution_is_called_at_a_small_floor(noise_floor: float) -> None:
    # The same source 1.5x slower (or faster) is called at the same floors, every seed,
    # and 1.5x is within the default floor, where it would not be.
    for seed in range(200):
        rng = np.random.default_rng(seed)
        base, slower = measured_p99(rng), measured_p99(rng, 1.5)
        comparison, fails = compare(slower, dict(base), ENV, ENV, 0.0, noise_floor)
        assert comparison["status"] == "regression", (seed, comparison)
        assert fails is True
        comparison, fails = compare(base, dict(slower), ENV, ENV, 0.0, noise_floor)
        assert comparison["status"] == "improvement", (seed, comparison)
        assert fails is False
        default = compare(slower, dict(base), ENV, ENV, 0.0, Settings().noise_floor)
        assert default[0]["status"] == "unchanged", (seed, default[0])


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


def test_a_tail_moved_by_the_machine_is_not_a_regression_when_the_median_holds() -> None:
    # Measured here (benchmarks/stored_baseline.py): one CPU-bound process on two cores
    # moved an unchanged model's p99 from 242 µs to about 4 ms, and its p50 by +21%.
    base = entry(242e-6, 236e-6, 250e-6, p50_s=117e-6, p50_interval_s=[116e-6, 118e-6])
    busy = record(4.2e-3, 4.1e-3, 4.3e-3, p50_s=142e-6, p50_interval_s=[139e-6, 145e-6])
    comparison, fails = compare(busy, base, ENV, ENV, 0.2)
    assert comparison["status"] == "unchanged"
    assert comparison["percentile_change"] == pytest.approx(16.36, abs=0.01)  # shown
    assert comparison["change"] == pytest.approx(0.214, abs=0.001)  # judged
    assert fails is False
    # A model of 3x the work moves the median by 3x: a regression, and it fails the gate.
    three_x = record(4.4e-3, 4.3e-3, 4.5e-3, p50_s=355e-6, p50_interval_s=[350e-6, 360e-6])
    comparison, fails = compare(three_x, base, ENV, ENV, 0.2)
    assert comparison["status"] == "regression"
    assert fails is True


def test_a_baseline_without_p50_intervals_is_judged_on_its_p50() -> None:
    # Written before p50_interval_s existed: its point median stands for the interval.
    base = entry(1.0, 0.95, 1.05, p50_s=0.5)
    del base["p50_interval_s"]
    comparison, _ = compare(
        record(3.0, 2.9, 3.1, p50_s=1.6, p50_interval_s=[1.55, 1.65]), base, ENV, ENV
    )
    assert comparison["status"] == "regression"
    assert comparison["baseline_p50_s"] == 0.5


def test_a_baseline_from_another_rootdir_still_finds_its_tests() -> None:
    from pytest_latency_sla.baseline import Baseline

    # Saved from the repository's root, compared from tests/ (or back): the same tests.
    saved = {
        ("tests/test_abs.py::test_abs", 0): {"nodeid": "tests/test_abs.py::test_abs"},
        ("tests/a/test_x.py::test_x", 0): {"nodeid": "tests/a/test_x.py::test_x"},
        ("tests/b/test_x.py::test_x", 0): {"nodeid": "tests/b/test_x.py::test_x"},
    }
    baseline = Baseline("b.json", saved, {})
    assert baseline.entry("test_abs.py::test_abs", 0) is saved[("tests/test_abs.py::test_abs", 0)]
    assert baseline.entry("repo/tests/test_abs.py::test_abs", 0) is not None
    assert baseline.entry("test_abs.py::test_abs", 1) is None  # another measurement
    assert baseline.entry("bs.py::test_abs", 0) is None  # not after a "/"
    # Two entries could be it: none is guessed.
    assert baseline.entry("test_x.py::test_x", 0) is None
    assert baseline.entry("a/test_x.py::test_x", 0) is saved[("tests/a/test_x.py::test_x", 0)]
