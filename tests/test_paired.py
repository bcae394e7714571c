"""Base and head side by side (``paired.py``): on a fake clock, with a machine whose state
moves both sides alike, the paired ratio sees the change and not the machine."""

from __future__ import annotations

import math

import numpy as np
import pytest
from synthetic import FakeClock

from pytest_latency_sla.paired import (
    PairedSampling,
    judge_ratio,
    sample_pair,
    student_t,
)
from pytest_latency_sla.plan import SamplingPlan

MS = 1_000_000
S = 1_000_000_000
#: Two seconds of blocks at least, as a comparison samples by default.
PLAN = SamplingPlan(warmup_calls=20, warmup_time_ns=0, min_time_ns=2 * S, max_time_ns=20 * S)


class Machine:
    """A shared machine: its speed moves with time, by up to 2x, the same for every caller."""

    def __init__(self, clock: FakeClock, seed: int) -> None:
        self.clock = clock
        self.rng = np.random.default_rng(seed)
        self.phase = float(self.rng.uniform(0, 2 * math.pi))

    def factor(self) -> float:
        t = self.clock.now / S
        slow_spell = 1.6 if int(t / 1.5) % 3 == 1 else 1.0  # a slow state, 1.5 s of every 4.5
        return (1.0 + 0.3 * math.sin(2 * math.pi * t / 3.0 + self.phase)) * slow_spell

    def caller(self, median_ns: float, sigma: float = 0.1):  # type: ignore[no-untyped-def]
        def call() -> None:
            noise = math.exp(sigma * float(self.rng.standard_normal()))
            self.clock.now += max(1, round(median_ns * self.factor() * noise))

        return call


def compare(ratio: float, seed: int, delta: float = 0.05) -> tuple[PairedSampling, float]:
    clock = FakeClock()
    machine = Machine(clock, seed)
    paired = sample_pair(
        machine.caller(1 * MS),
        machine.caller(ratio * MS),
        PLAN,
        seed=seed,
        delta=delta,
        clock=clock,
    )
    return paired, judge_ratio(paired, 0.95, delta).ratio


def test_student_t_matches_tables() -> None:
    assert student_t(10, 0.975) == pytest.approx(2.228, abs=0.01)
    assert student_t(30, 0.975) == pytest.approx(2.042, abs=0.005)
    assert student_t(1000, 0.975) == pytest.approx(1.962, abs=0.002)
    assert student_t(20, 0.8) == pytest.approx(0.860, abs=0.005)


@pytest.mark.parametrize("seed", range(10))
def test_a_20_percent_slowdown_is_a_regression_whatever_the_machine_does(seed: int) -> None:
    paired, _ = compare(1.2, seed)
    estimate = judge_ratio(paired, 0.95, 0.05)
    assert estimate.outcome == "regression"
    assert 1.15 < estimate.ratio < 1.25
    assert estimate.low < 1.2 < estimate.high
    # The machine moved latency by up to 2x meanwhile; the paired ratio does not see it.
    assert estimate.detectable < 0.1


@pytest.mark.parametrize("seed", range(10))
def test_a_faster_head_is_an_improvement(seed: int) -> None:
    paired, _ = compare(0.8, seed)
    assert judge_ratio(paired, 0.95, 0.05).outcome == "improvement"


def test_unchanged_code_is_never_a_regression_and_mostly_unchanged() -> None:
    # A/A: 40 runs, each judged at 95% (2.5% a side): at most a couple of false alarms
    # by chance, and most runs say unchanged within 5%.
    outcomes = [judge_ratio(compare(1.0, 100 + seed)[0], 0.95, 0.05).outcome for seed in range(40)]
    assert outcomes.count("regression") <= 2, outcomes
    assert outcomes.count("unchanged") >= 30, outcomes


def test_the_percentile_ratio_has_an_interval_around_the_truth() -> None:
    paired, _ = compare(1.2, 7)
    p99 = judge_ratio(paired, 0.95, 0.05, quantile=0.99)
    assert p99.low < 1.2 < p99.high
    assert p99.outcome == "regression"


def test_blocks_alternate_which_side_runs_first() -> None:
    paired, _ = compare(1.0, 3)
    firsts = sum(paired.head_first)
    assert 0.3 * paired.blocks < firsts < 0.7 * paired.blocks
    assert paired.blocks >= 20
    assert paired.duration_ns >= PLAN.min_time_ns


def test_the_same_seed_gives_the_same_comparison() -> None:
    a, ratio_a = compare(1.1, 5)
    b, ratio_b = compare(1.1, 5)
    assert ratio_a == ratio_b
    assert a.blocks == b.blocks


def test_too_few_blocks_is_unknown() -> None:
    chunk = np.array([1_000, 1_100], dtype=np.int64)
    paired = PairedSampling((chunk, chunk), (chunk, chunk), (True, False), 0, (0, 0))
    estimate = judge_ratio(paired, 0.95, 0.05)
    assert estimate.outcome == "unknown"


def test_a_regression_is_sampled_until_it_is_known_whether_it_is_beyond_the_gate() -> None:
    from pytest_latency_sla.paired import RatioEstimate, settled

    def est(low: float, high: float, outcome: str) -> RatioEstimate:
        return RatioEstimate((low + high) / 2, low, high, 0.95, outcome, 0.05)

    assert not settled(est(1.02, 1.30, "regression"), 0.10)  # beyond 10%? not yet known
    assert settled(est(1.12, 1.30, "regression"), 0.10)  # beyond
    assert settled(est(1.02, 1.08, "regression"), 0.10)  # slower, but within the gate
    assert settled(est(0.97, 1.03, "unchanged"), 0.10)
    assert not settled(est(0.90, 1.30, "unknown"), 0.10)
