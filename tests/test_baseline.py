"""Unit tests of baseline comparison (deterministic: synthetic records) and loading."""

from __future__ import annotations

import inspect
import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from support import make_special

from pytest_latency_sla import baseline as baseline_module
from pytest_latency_sla.baseline import BaselineError, compare, load_baseline
from pytest_latency_sla.settings import Settings
from pytest_latency_sla.stats import quantile_interval

if TYPE_CHECKING:
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
        # A trial: a --cov run read as a 3x regression against a baseline without it.
        ("tracer", "coverage.CTracer", "tracer coverage.CTracer -> none"),
    ],
)
def test_configuration_mismatch_is_not_compared(field: str, value: object, text: str) -> None:
    base = entry(1.0, 0.95, 1.05, **{field: value})
    comparison, fails = compare(record(3.0, 2.9, 3.1), base, ENV, ENV, 0.1)
    assert comparison["status"] == "mismatch"
    assert any(text in m for m in comparison["mismatch"]), comparison["mismatch"]
    assert fails is False  # a mismatch never counts as a regression


def test_the_same_model_fed_other_inputs_is_a_mismatch_a_changed_models_is_compared() -> None:
    """A test whose batch went from 1 to 32 on the same model measures another workload
    (it read as a +200% regression); a changed model's new inputs are part of the change
    under review, compared as before."""
    one = [{"name": "x", "dtype": "float32", "shape": [1, 64]}]
    many = [{"name": "x", "dtype": "float32", "shape": [32, 64]}]
    base = entry(1.0, 0.95, 1.05, inputs=one)
    comparison, fails = compare(record(3.0, 2.9, 3.1, inputs=many), base, ENV, ENV, 0.1)
    assert comparison["status"] == "mismatch"
    assert comparison["mismatch"] == ["inputs x: float32[1,64] -> x: float32[32,64]"]
    assert fails is False
    changed = record(3.0, 2.9, 3.1, inputs=many, model_sha256="bb")
    comparison, fails = compare(changed, base, ENV, ENV, 0.1)
    assert comparison["status"] == "regression"
    assert fails is True
    # The same inputs, listed in another order, or none known on a side: no mismatch.
    two = [{"name": "b", "dtype": "int64", "shape": [1]}, *one]
    comparison, _ = compare(
        record(1.0, 0.95, 1.05, inputs=two), entry(1.0, 0.95, 1.05, inputs=two[::-1]), ENV, ENV, 0.1
    )
    assert comparison["status"] == "unchanged"
    comparison, _ = compare(
        record(1.0, 0.95, 1.05, inputs=one), entry(1.0, 0.95, 1.05), ENV, ENV, 0.1
    )
    assert comparison["status"] == "unchanged"


def test_other_session_options_are_a_mismatch() -> None:
    """A graph optimized at another level runs another graph (a review: a renamed test
    was matched with an entry of the same model under other session options)."""
    options = {"graph_optimization_level": "ORT_ENABLE_ALL", "execution_mode": "ORT_SEQUENTIAL"}
    base = entry(1.0, 0.95, 1.05, session_options=options)
    other = {**options, "graph_optimization_level": "ORT_DISABLE_ALL"}
    comparison, fails = compare(record(3.0, 2.9, 3.1, session_options=other), base, ENV, ENV, 0.1)
    assert comparison["status"] == "mismatch"
    assert comparison["mismatch"] == [
        "graph_optimization_level 'ORT_ENABLE_ALL' -> 'ORT_DISABLE_ALL'"
    ]
    assert fails is False
    same = record(1.0, 0.95, 1.05, session_options=dict(options))
    assert compare(same, base, ENV, ENV, 0.1)[0]["status"] == "unchanged"


def test_a_measurement_on_a_busy_machine_is_not_compared_either_way() -> None:
    # A trial: a baseline saved while other processes took most of the CPUs read a 3x
    # slower model as "+4% (model changed)": the baseline's median was the machine's.
    busy = {"decision": {"lost_share": 0.66}}
    base = entry(3.0, 2.9, 3.1, **busy)
    comparison, fails = compare(record(3.1, 3.0, 3.2), base, ENV, ENV, 0.1)
    assert comparison["status"] == "mismatch"
    assert comparison["mismatch"] == [
        "a busy machine: other processes took 66% of the baseline's measuring time"
    ]
    assert fails is False
    from pytest_latency_sla.report.labels import mismatch_text

    assert mismatch_text(record(3.1, 3.0, 3.2, comparison=comparison)) == (
        "not compared with the baseline (a busy machine: other processes took 66% of the "
        "baseline's measuring time): rerun on a quiet machine, or re-record the baseline "
        "there with --sla-save"
    )
    # This run's own measurement, busy: a regression that is the machine's is not claimed.
    slow = record(3.0, 2.9, 3.1, decision={"lost_share": 0.5})
    comparison, _ = compare(slow, entry(1.0, 0.95, 1.05), ENV, ENV, 0.1)
    assert comparison["mismatch"] == [
        "a busy machine: other processes took 50% of this run's measuring time"
    ]
    # A review: a busy run's slowdown beyond what its lost time explains is a regression
    # (a mismatch switched the gate off on busy runners), and a busy baseline's too.
    comparison, fails = compare(
        record(10.0, 9.8, 10.2, decision={"lost_share": 0.5}), entry(1.0, 0.95, 1.05), ENV, ENV, 0.1
    )
    assert comparison["status"] == "regression"
    assert fails is True
    comparison, _ = compare(record(10.0, 9.8, 10.2), base, ENV, ENV, 0.1)
    assert comparison["status"] == "regression"
    # An improvement only beyond what the baseline lost: 3.0 -> 1.0 with 66% lost is not.
    comparison, _ = compare(record(1.0, 0.98, 1.02), base, ENV, ENV, 0.1)
    assert comparison["status"] == "mismatch"
    # Under --sla-strict-baseline, the failure says so (a review: it blamed the
    # baseline's configuration, whichever side was busy).
    from pytest_latency_sla.baseline import Baseline
    from pytest_latency_sla.gate import judge_against

    strict = Settings(strict_baseline=True, compare="b.json")
    busy_run = record(3.0, 2.9, 3.1, decision={"lost_share": 0.5}, label="t.py::test_x")
    busy_run["stop_reason"] = "decided"
    saved = Baseline("b.json", {("t.py::test_x", 0): entry(2.9, 2.8, 3.0)}, ENV)
    failure = judge_against(busy_run, saved, ENV, strict)
    assert failure is not None
    assert failure.startswith(
        "this measurement cannot be compared with its entry in b.json (a busy machine: "
        "other processes took 50% of this run's measuring time): rerun on a quiet machine"
    )
    # The limit: time lost that could slow the calls by half the noise floor, at least 5%.
    from pytest_latency_sla.baseline import busy_limit

    assert busy_limit(1.0) == pytest.approx(1 / 3)
    assert busy_limit(0.25) == pytest.approx(1 / 9)
    assert busy_limit(0.0) == 0.05
    # Under it, or unknown (a baseline written before the field): compared. (A test run
    # measured a sleeping callable losing 22% of its time, and 1% of its median.)
    for quiet in ({"decision": {"lost_share": 0.3}}, {"decision": None}, {}):
        comparison, _ = compare(
            record(3.0, 2.9, 3.1), entry(1.0, 0.95, 1.05, **quiet), ENV, ENV, 0.1
        )
        assert comparison["status"] == "regression"


def test_a_run_under_a_tracer_is_not_compared_with_a_baseline_without_one() -> None:
    traced = record(3.0, 2.9, 3.1)
    traced["tracer"] = "coverage.CTracer"
    comparison, fails = compare(traced, entry(1.0, 0.95, 1.05), ENV, ENV, 0.1)
    assert comparison["status"] == "mismatch"
    assert comparison["mismatch"] == ["tracer none -> coverage.CTracer"]
    assert fails is False
    same = entry(1.0, 0.95, 1.05, tracer="coverage.CTracer")
    assert compare(traced, same, ENV, ENV, 0.1)[0]["status"] == "regression"


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
    # 9.9% reads +10%: said as it is shown (a trial saw "+10%" without the words).
    rec["comparison"], _ = compare(rec, entry(2.0 / 1.099, 1.8, 1.85), ENV, ENV, 0.2)
    assert change_label(rec) == "p50 +10%, within the noise"


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


@pytest.mark.parametrize("p50", [0, 0.0, None], ids=["zero", "zero-float", "absent"])
def test_a_baseline_without_a_median_above_0_is_a_mismatch_not_unchanged(p50: object) -> None:
    # A trial: p50_s 0 read "unchanged", and a 4x slowdown passed the gate.
    base = entry(1.0, 0.95, 1.05, p50_s=p50)
    if p50 is None:
        del base["p50_s"]
    comparison, fails = compare(record(4.0, 3.9, 4.1), base, ENV, ENV, 0.1)
    assert comparison["status"] == "mismatch"
    assert comparison["mismatch"] == ["the baseline has no p50_s above 0"]
    assert fails is False
    # Not "recorded under another configuration": there is no median to judge against.
    from pytest_latency_sla.report.labels import mismatch_text

    rec = record(4.0, 3.9, 4.1)
    rec["comparison"] = comparison
    assert mismatch_text(rec) == (
        "baseline entry with no p50_s above 0: not judged; re-record it with --sla-save"
    )


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


# --- records the comparison cannot use ------------------------------------------------------

FIX = "record one with `pytest --sla-save=PATH` on the base branch"


def write_baseline(folder: Path, change: Any = None) -> str:
    """A baseline of one record, as ``--sla-save`` writes it, with ``change`` applied to
    that record (a dict of fields; None as a value drops the field)."""
    saved = entry(1e-3, 0.9e-3, 1.1e-3, p50_s=5e-4, p50_interval_s=[4.5e-4, 5.5e-4], load=None)
    for field, value in (change or {}).items():
        if value is MISSING:
            del saved[field]
        else:
            saved[field] = value
    document = {"schema_version": 3, "run": {"environment": ENV}, "results": [saved]}
    path = folder / "base.json"
    # allow_nan: Python's json writes (and reads) NaN and Infinity; hand-made files have them.
    path.write_text(json.dumps(document, allow_nan=True), "utf-8")
    return str(path)


#: A field left out of the record.
MISSING = None
BAD_RECORDS = [
    ({"p50_s": math.nan}, "p50_s of t.py::test_x is NaN, not a finite number"),
    ({"p50_s": math.inf}, "p50_s of t.py::test_x is Infinity, not a finite number"),
    ({"p50_s": "abc"}, "p50_s of t.py::test_x is 'abc', not a number"),
    ({"p50_s": -1}, "p50_s of t.py::test_x is -1, a negative time"),
    ({"p50_s": MISSING}, "p50_s of t.py::test_x is missing"),
    ({"p50_s": True}, "p50_s of t.py::test_x is true, not a number"),
    ({"measured_s": -0.5}, "measured_s of t.py::test_x is -0.5, a negative time"),
    ({"measured_s": MISSING}, "measured_s of t.py::test_x is missing"),
    ({"interval_s": [1e-3]}, "interval_s of t.py::test_x holds 1 item, not 2"),
    ({"interval_s": [math.nan, 1e-3]}, "interval_s[0] of t.py::test_x is NaN, not a finite number"),
    ({"interval_s": "1 ms"}, "interval_s of t.py::test_x is '1 ms', not a list"),
    ({"p50_interval_s": [1e-4, -1]}, "p50_interval_s[1] of t.py::test_x is -1, a negative time"),
    ({"percentile": 0}, "percentile of t.py::test_x is 0, not above 0"),
    ({"percentile": 101}, "percentile of t.py::test_x is 101, above its maximum 100"),
    ({"index": "0"}, "index of t.py::test_x is '0', not a whole number"),
    ({"index": -1}, "index of t.py::test_x is -1, below its minimum 0"),
    (
        {"intra_op_threads": 1.5},
        "intra_op_threads of t.py::test_x is 1.5, not a whole number or null",
    ),
    ({"providers": "CPU"}, "providers of t.py::test_x is 'CPU', not a list"),
    ({"load": []}, "load of t.py::test_x is a list, not an object or null"),
    (
        {"load": {"target_rps": "300/s"}},
        "load.target_rps of t.py::test_x is '300/s', not a number or null",
    ),
    # A review: a p50 of 1e-320 s made any slowdown an infinite change, read "unchanged"
    # (and a report crashed on it); an interval that does not hold its estimate passed a
    # +900% slowdown as an improvement.
    (
        {"p50_s": 1e-320},
        "p50_s of t.py::test_x is 1e-320, under a nanosecond: no measurement reads that",
    ),
    (
        {"p50_interval_s": [1.0, 0.0]},
        "p50_interval_s of t.py::test_x is [1.0, 0.0], its low end above its high end",
    ),
    (
        {"interval_s": [0.0, 0.0]},
        "interval_s of t.py::test_x is [0.0, 0.0], nothing but 0 around measured_s 0.001",
    ),
    ({"nodeid": MISSING}, "nodeid is missing"),
    ({"nodeid": 7}, "nodeid is 7, not a string"),
    # A review: the comparison reads the inputs now, and a shape of 6 crashed the test.
    (
        {"inputs": [{"name": "x", "dtype": "float32", "shape": 6}]},
        "inputs[0].shape of t.py::test_x",
    ),
    ({"session_options": []}, "session_options of t.py::test_x is a list"),
]


@pytest.mark.parametrize(("change", "problem"), BAD_RECORDS)
def test_a_record_the_comparison_cannot_use_is_refused_naming_it(
    tmp_path: Path, change: dict[str, Any], problem: str
) -> None:
    path = write_baseline(tmp_path, change)
    with pytest.raises(BaselineError) as raised:
        load_baseline(path)
    assert str(raised.value).startswith(f"baseline {path!r}: results[0].{problem}")
    assert str(raised.value).endswith(f"; {FIX}")


def test_a_record_that_is_not_an_object_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "base.json"
    path.write_text('{"schema_version": 3, "run": {}, "results": [[]]}', "utf-8")
    with pytest.raises(BaselineError) as raised:
        load_baseline(str(path))
    assert str(raised.value) == f"baseline {str(path)!r}: results[0] is not an object; {FIX}"


def test_the_baselines_measurements_this_run_did_not_make_are_named() -> None:
    from pytest_latency_sla.baseline import Baseline, unmatched

    saved = {
        ("tests/t.py::test_kept", 0): {"nodeid": "tests/t.py::test_kept", "index": 0},
        ("tests/t.py::test_kept", 1): {"nodeid": "tests/t.py::test_kept", "index": 1},
        ("tests/t.py::test_renamed", 0): {"nodeid": "tests/t.py::test_renamed", "index": 0},
    }
    baseline = Baseline("base.json", saved, {})
    # From another rootdir (tests/), the first measurement of test_kept only.
    made = [record(1.0, 0.9, 1.1, nodeid="t.py::test_kept")]
    assert unmatched(baseline, made) == ["tests/t.py::test_kept #2", "tests/t.py::test_renamed"]
    made.append(record(1.0, 0.9, 1.1, nodeid="tests/t.py::test_kept", index=1))
    made.append(record(1.0, 0.9, 1.1, nodeid="tests/t.py::test_renamed"))
    assert unmatched(baseline, made) == []


def test_a_measurement_twice_is_refused(tmp_path: Path) -> None:
    # A trial: the last copy won silently (a 10x median read as a 90% improvement).
    write_baseline(tmp_path)
    path = tmp_path / "base.json"
    document = json.loads(path.read_text("utf-8"))
    document["results"].append(dict(document["results"][0], p50_s=10.0, p50_interval_s=[9.0, 11.0]))
    path.write_text(json.dumps(document), "utf-8")
    with pytest.raises(BaselineError) as raised:
        load_baseline(str(path))
    nodeid = document["results"][0]["nodeid"]
    assert str(raised.value) == (
        f"baseline {str(path)!r}: results[1] measures {nodeid} (measurement 1) again, as "
        "an earlier entry does (a report of a run under pytest-xdist's --dist each holds one "
        "per worker, one that collected a test twice under --keep-duplicates two); keep "
        f"one; {FIX} without --dist each"
    )


def test_packages_that_are_not_an_object_are_refused(tmp_path: Path) -> None:
    write_baseline(tmp_path)
    path = tmp_path / "base.json"
    document = json.loads(path.read_text("utf-8"))
    document["run"]["environment"] = {"packages": ["onnxruntime"]}
    path.write_text(json.dumps(document), "utf-8")
    with pytest.raises(BaselineError) as raised:
        load_baseline(str(path))
    message = f"baseline {str(path)!r}: run.environment.packages is a list, not an object; {FIX}"
    assert str(raised.value) == message


def test_an_interval_that_misses_its_estimate_is_accepted(tmp_path: Path) -> None:
    # A review: from a dozen strongly dependent calls the plugin's own interval may miss
    # its estimate (p50 0.033 s, interval [0.5001, 0.5002]), and a baseline it wrote
    # stopped every --sla-compare run.
    path = write_baseline(tmp_path, {"interval_s": [0.5001, 0.5002], "measured_s": 0.033})
    assert load_baseline(path).entry("t.py::test_x", 0) is not None


def test_what_older_baselines_lack_or_a_coarse_clock_writes_is_accepted(tmp_path: Path) -> None:
    # Written before p50 intervals and load runs existed: compared on what they hold.
    path = write_baseline(tmp_path, {"p50_interval_s": MISSING, "load": MISSING})
    assert load_baseline(path).entry("t.py::test_x", 0) is not None
    # 0 s: a call faster than one step of a coarse clock (the reports write an infinite
    # margin as null for it). A time, not a broken file; fields not compared are not read.
    path = write_baseline(tmp_path, {"p50_s": 0.0, "measured_s": 0, "histogram": "x"})
    assert load_baseline(path).entry("t.py::test_x", 0) is not None


def test_a_nan_in_a_baseline_is_a_usage_error_not_a_traceback(pytester: pytest.Pytester) -> None:
    # It ended in a bare traceback from the report's labels (cannot convert float NaN).
    pytester.makepyfile(
        test_nan="""
        import pytest

        @pytest.mark.sla(ms=50)
        def test_small(sla):
            sla.measure(sum, range(10))
        """
    )
    saved = entry(1e-6, 0.9e-6, 1.1e-6, nodeid="test_nan.py::test_small", p50_s=math.nan)
    document = {"schema_version": 3, "run": {"environment": ENV}, "results": [saved]}
    (pytester.path / "b.json").write_text(json.dumps(document), "utf-8")
    result = pytester.runpytest("--sla-compare=b.json", "--sla-report")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert (
        "ERROR: --sla-compare / sla_compare: baseline 'b.json': results[0].p50_s of "
        f"test_nan.py::test_small is NaN, not a finite number; {FIX}"
    ) in result.errlines
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


@pytest.mark.parametrize(("page", "value"), [("premerge.md", math.nan), ("bad-input.md", "abc")])
def test_the_docs_quote_the_sentence_the_code_words(
    tmp_path: Path, page: str, value: object
) -> None:
    docs = Path(__file__).resolve().parent.parent / "docs" / page
    (quoted,) = [
        line.removeprefix("ERROR: --sla-compare / sla_compare: ")
        for line in docs.read_text("utf-8").splitlines()
        if line.startswith("ERROR: --sla-compare / sla_compare: baseline 'base.json': results[")
    ]
    path = write_baseline(tmp_path, {"nodeid": "tests/test_zoo.py::test_resnet", "p50_s": value})
    with pytest.raises(BaselineError) as raised:
        load_baseline(path)
    assert str(raised.value).replace(repr(path), "'base.json'") == quoted


def test_saving_a_baseline_names_the_measurements_a_busy_machine_slowed() -> None:
    from pytest_latency_sla.session import _busy

    quiet = record(1.0, 0.9, 1.1, label="t.py::test_quiet", decision={"lost_share": 0.3})
    busy = record(1.0, 0.9, 1.1, label="t.py::test_busy", decision={"lost_share": 0.4})
    assert _busy("base.json", [quiet], 1.0) == []
    assert _busy("base.json", [quiet, busy], 1.0) == [
        "--sla-save wrote the baseline base.json, but other processes took 33% of the time "
        "or more from 1 of its measurements (enough to move a median by half of "
        "sla_noise_floor), so later runs will not compare with it (a mismatch): "
        "t.py::test_busy; re-record it on a quiet machine"
    ]
    # A lower floor tells smaller changes apart: the machine must have taken less.
    assert len(_busy("base.json", [quiet, busy], 0.25)[0].split("t.py::")) == 3


@pytest.mark.timeout(20)
@pytest.mark.usefixtures("nothing_special_opened")
@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_a_baseline_that_is_a_pipe_or_a_device_is_refused_unread(tmp_path: Path, kind: str) -> None:
    # A trial: its size (0) passed the limit, then the read blocked on the pipe, or read
    # /dev/zero until memory ran out, before any test ran.
    path = tmp_path / "base.json"
    make_special(path, kind)
    with pytest.raises(BaselineError) as raised:
        load_baseline(str(path))
    assert str(raised.value) == (
        f"baseline {str(path)!r} is not a regular file (a device, a pipe or a socket), so it "
        f"was not read (the read would block or never end); {FIX}"
    )


def test_a_baseline_that_grows_past_the_limit_while_read_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its size is looked at before the read: a file that grows in between was read whole.
    path = write_baseline(tmp_path)
    size = Path(path).stat().st_size
    monkeypatch.setattr(baseline_module, "MAX_BASELINE_BYTES", size - 1)
    monkeypatch.setattr(os.path, "getsize", lambda _: 10)  # as before it grew
    with pytest.raises(BaselineError) as raised:
        load_baseline(path)
    assert str(raised.value) == (
        f"baseline {path!r} is over the {size - 1:,} byte limit; it is not a report of this "
        "plugin (or save it without --sla-raw)"
    )


@pytest.mark.timeout(120)
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no os.mkfifo on this platform")
def test_a_baseline_that_is_a_pipe_is_a_usage_error(pytester: pytest.Pytester) -> None:
    # In a process of its own: without the check, it waits on the pipe until the timeout.
    pytester.makepyfile(
        """
        def test_small(sla):
            sla.measure(sum, range(10))
        """
    )
    os.mkfifo(pytester.path / "base.json")
    result = pytester.runpytest_subprocess("--sla-compare=base.json", timeout=60)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert (
        "ERROR: --sla-compare / sla_compare: baseline 'base.json' is not a regular file (a "
        "device, a pipe or a socket), so it was not read (the read would block or never end); "
        f"{FIX}"
    ) in result.errlines


@pytest.mark.timeout(20)
@pytest.mark.usefixtures("nothing_special_opened")
@pytest.mark.parametrize("page", ["premerge.md", "bad-input.md"])
def test_the_docs_quote_the_sentence_for_a_pipe(tmp_path: Path, page: str) -> None:
    docs = Path(__file__).resolve().parent.parent / "docs" / page
    prefix = "ERROR: --sla-compare / sla_compare: "
    (quoted,) = [
        line.removeprefix(prefix)
        for line in docs.read_text("utf-8").splitlines()
        if line.startswith(f"{prefix}baseline 'base.json' is not a regular file")
    ]
    path = tmp_path / "base.json"
    make_special(path, "fifo")
    with pytest.raises(BaselineError) as raised:
        load_baseline(str(path))
    assert str(raised.value).replace(repr(str(path)), "'base.json'") == quoted
