"""The dependent sources of ``tests/dependent.py``: their truths, and the trial plumbing.

Each source's stated truth (the call-weighted share over a budget) is checked against a
long seeded simulation of the source itself, on its own fake clock; then one trial goes
through the real ``sample()``. A few seconds in all.
"""

from __future__ import annotations

import dataclasses
import math

import dependent
import numpy as np
import pytest
from dependent import (
    AR1,
    BEYOND_MODELS,
    CONTENTION_MODELS,
    HOLDOUT_MODELS,
    TUNING_MODELS,
    Cell,
    Contention,
    Drift,
    FakeMachine,
    HourlyWave,
    LongMemory,
    Model,
    OnOffPareto,
    PeriodicStalls,
    ReflectedWalk,
    Regimes,
    SlowWave,
    SpreadRegimes,
    Step,
    cells_for,
    clopper_pearson,
    far_side_floor,
    holdout_cells,
    is_wrong,
    measure,
    run_cell,
    run_trial,
    tuning_cells,
)
from synthetic import FakeClock

from pytest_latency_sla.sampling import SamplingPlan

US = 1_000
MS = 1_000_000
S = 1_000_000_000


def _simulate(model: Model, seed: int, *, calls: int = 0, until_ns: int = 0) -> np.ndarray:
    """Latencies of a warm source: ``calls`` calls, or all calls started before ``until_ns``."""
    source = model.source(np.random.default_rng(seed), cold=False)
    clock = source.clock
    out: list[int] = []
    while (calls and len(out) < calls) or (until_ns and clock.now < until_ns):
        before = clock.now
        source()
        out.append(clock.now - before)
    return np.array(out, dtype=np.int64)


def _share(latencies: np.ndarray, budget_ns: float) -> float:
    return float(np.count_nonzero(latencies > budget_ns)) / latencies.size


# Stationary, call-indexed sources: one long run per model, at p95 (a share of 5%). The
# tolerances are about 3 standard errors of the share, with the effective sample size of
# correlated calls (200k calls at rho 0.9 are worth about 30k independent ones).
@pytest.mark.parametrize(
    ("model", "calls", "rel"),
    [
        (AR1(0.9, 100 * US), 200_000, 0.1),
        (AR1(0.99, 100 * US), 400_000, 0.15),
        (LongMemory(100 * US, rhos=(0.9, 0.99, 0.999)), 400_000, 0.2),
        (ReflectedWalk(100 * US, step=0.02), 400_000, 0.1),
    ],
    ids=lambda v: getattr(v, "family", None),
)
def test_call_indexed_truths(model: Model, calls: int, rel: float) -> None:
    budget = model.quantile(95.0)
    assert model.tail(budget) == pytest.approx(0.05, rel=1e-9)
    assert _share(_simulate(model, 11, calls=calls), budget) == pytest.approx(0.05, rel=rel)


# Sources in time: the share of calls over the budget (call-weighted) matches the truth.
# 60 s of 50 ms dwells is ~600 slow spells of random length: the slow share of calls
# wanders by ~4% (one standard error), hence the tolerances.
@pytest.mark.parametrize(
    ("model", "seconds", "rel"),
    [
        (Regimes(0.05, 100 * US), 60, 0.12),
        (OnOffPareto(100 * US, on_s=0.01, off_s=0.05), 60, 0.15),
        (PeriodicStalls(1 * MS), 300, 0.05),
        (SlowWave(100 * US, period_s=0.5), 60, 0.1),
        (SpreadRegimes(100 * US, dwell_s=0.05), 60, 0.12),
    ],
    ids=lambda v: getattr(v, "family", None),
)
def test_time_switching_truths_are_call_weighted(model: Model, seconds: int, rel: float) -> None:
    budget = model.quantile(99.0)
    share = _share(_simulate(model, 12, until_ns=seconds * S), budget)
    assert share == pytest.approx(0.01, rel=rel)


def test_regime_weights_count_calls_not_time() -> None:
    model = Regimes(0.05, 100 * US, slow_factor=2.0)
    # Half the time in each state, but the slow state makes half as many calls.
    assert model.weights == pytest.approx((2 / 3, 1 / 3))
    # A time-weighted mixture would put more weight on slow calls: a higher p99.
    time_weighted = 0.5 * model.tail(1.0) + 0.5 * model.tail(1.0)
    assert time_weighted == pytest.approx(1.0)
    slow_only = Regimes(0.05, 200 * US, slow_factor=1.0)
    assert model.quantile(99.0) < slow_only.quantile(99.0)


def test_stalled_share_is_one_call_per_period() -> None:
    model = PeriodicStalls(1 * MS)
    latencies = _simulate(model, 13, until_ns=100 * S)
    stalled = int(np.count_nonzero(latencies > 9 * MS))
    assert stalled == pytest.approx(1_000, abs=2)  # one per 100 ms
    assert stalled / latencies.size == pytest.approx(model.stalled_share, rel=0.01)


def test_drift_truth_over_the_horizon() -> None:
    model = Drift(100 * US)
    budget = model.quantile(99.0)
    shares = [
        _share(_simulate(model, 20 + i, until_ns=int(model.horizon_ns)), budget) for i in range(4)
    ]
    assert float(np.mean(shares)) == pytest.approx(0.01, rel=0.05)
    # More precise quadrature changes nothing.
    assert model.tail(budget) == pytest.approx(0.01, rel=1e-9)
    assert model.scale(model.horizon_ns) == pytest.approx(1.2)


def test_step_truth_is_per_trial() -> None:
    model = Step(100 * US)
    budget = model.quantile(99.0)
    source = model.source(np.random.default_rng(5), cold=False)
    clock = source.clock
    out: list[int] = []
    while clock.now < model.horizon_ns:
        before = clock.now
        source()
        out.append(clock.now - before)
    truth = source.truth(budget)
    t0 = getattr(source, "t0")  # noqa: B009
    step_ns = getattr(source, "step_ns") - t0  # noqa: B009
    # The truth is over the span the run sampled: here just past the horizon.
    assert truth == pytest.approx(model.share(budget, step_ns, clock.now - t0))
    assert _share(np.array(out), budget) == pytest.approx(truth, rel=0.15)
    # Early steps make most calls slow; late ones few.
    assert model.share(budget, 0.0) > model.tail(budget) > model.share(budget, model.horizon_ns)


def test_contention_probe_counts_preemptions_not_truth() -> None:
    model = Contention(1 * MS, 10.0)
    source = model.source(np.random.default_rng(6), cold=False)
    machine = source.machine
    assert isinstance(machine, FakeMachine)
    assert machine.read() == (0, 0)
    while source.clock.now < 10 * S:
        source()
    wait_ns, switches = machine.read()
    assert switches == pytest.approx(100, abs=35)  # 10/s for ~10 s
    assert 1 * MS * switches <= wait_ns <= 4 * MS * switches
    # The truth is the model's own cost: lognormal, unaffected by preemptions.
    assert model.tail(model.quantile(99.0)) == pytest.approx(0.01)


def test_fake_machine_reads_cumulative_counts() -> None:
    machine = FakeMachine()
    machine.preempt(2 * MS)
    machine.preempt(3 * MS)
    assert machine.read() == (5 * MS, 2)


def test_sources_advance_only_their_clock_and_start_cold() -> None:
    clock = FakeClock()
    source = AR1(0.99, 1 * MS).source(np.random.default_rng(1), clock)
    source()
    cold = clock.now
    for _ in range(1_000):
        before = clock.now
        source()
        assert clock.now > before
    assert source.calls == 1_001
    assert cold > 10 * (clock.now - cold) / 1_000


def test_wrong_has_no_band() -> None:
    assert is_wrong("pass", 0.0101, 0.99)
    assert not is_wrong("pass", 0.01, 0.99)
    assert is_wrong("fail", 0.01, 0.99)
    assert not is_wrong("fail", 0.0101, 0.99)
    assert not is_wrong("inconclusive", 0.5, 0.99)


def test_clopper_pearson() -> None:
    lower, upper = clopper_pearson(0, 300)
    assert lower == 0.0
    assert upper == pytest.approx(1.0 - 0.025 ** (1 / 300), rel=1e-6)
    lower, upper = clopper_pearson(10, 100)
    # Reference values (R: binom.test(10, 100)$conf.int).
    assert lower == pytest.approx(0.04900469, rel=1e-5)
    assert upper == pytest.approx(0.17622260, rel=1e-5)


def test_grids() -> None:
    tuning = tuning_cells()
    assert {c.model.family for c in tuning} == {"ar1", "regimes", "drift", "step"}
    assert {c.percentile for c in tuning} == {50.0, 95.0, 99.0, 99.9}
    assert all(c.percentile != 99.9 or isinstance(c.model, AR1) for c in tuning)
    holdout = holdout_cells()
    assert not {c.model.name for c in tuning} & {c.model.name for c in holdout}
    assert len({c.key for c in [*tuning, *holdout]}) == len(tuning) + len(holdout)
    for model in (*TUNING_MODELS, *HOLDOUT_MODELS, *CONTENTION_MODELS, *BEYOND_MODELS):
        for pct in (50.0, 95.0, 99.0):
            assert model.tail(model.quantile(pct)) == pytest.approx(1 - pct / 100, rel=1e-9)
    cell = Cell(AR1(0.9, 1 * MS), 99.0, 1.25)
    assert cell.budget_ns * 1.25 == pytest.approx(cell.truth_ns)
    assert cell.model.tail(cell.budget_ns) > 0.01
    assert len(cells_for([cell.model], (99.0,), (0.5, 2.0))) == 2


def test_one_trial_through_the_real_sampler() -> None:
    cell = Cell(AR1(0.9, 1 * MS), 99.0, 2.0)  # clearly over budget
    trial = run_trial(cell, np.random.default_rng(3), SamplingPlan())
    assert trial.outcome == "fail"
    assert not trial.wrong
    assert trial.true_share > 0.01
    assert trial.samples < trial.calls
    # At 2x the budget the p99 is no clear margin: the fail waits for sla_settle_time.
    assert 0 < trial.elapsed_ns < SamplingPlan().settle_time_ns + 1 * S
    result = run_cell(Cell(Regimes(0.05, 1 * MS), 95.0, 0.5), 3, seed=9)
    assert (result.trials, result.passed, result.wrong) == (3, 3, 0)
    assert result.median_calls is not None
    assert result.median_s is not None
    assert 0 < result.median_s < SamplingPlan().settle_time_ns / S + 1
    assert result.wrong_upper == pytest.approx(1 - 0.025 ** (1 / 3))
    assert not math.isnan(result.wrong_rate)


def test_a_trial_keeps_what_its_run_saw(monkeypatch: pytest.MonkeyPatch) -> None:
    cell = Cell(AR1(0.9, 1 * MS), 50.0, 1.25)  # a p50 budget 20% under the truth
    trial = run_trial(cell, np.random.default_rng(5), SamplingPlan())
    assert trial.outcome == "fail"
    assert not trial.wrong
    assert trial.run_share == pytest.approx(trial.true_share, abs=0.1)
    assert trial.run_share > 0.5
    # A cell keeps, for each wrong verdict, the run's own share beside the truth.
    wrong = dataclasses.replace(trial, outcome="pass", wrong=True, run_share=0.001)
    monkeypatch.setattr(dependent, "run_trial", lambda *args, **kwargs: wrong)
    result = dependent.run_cell(cell, 2, seed=1)
    assert result.wrong_shares == [(0.001, trial.true_share)] * 2


def test_a_run_of_an_hour_long_wave_is_a_steady_machine_to_any_rule() -> None:
    """The floor of the grid: at its crest, a run of the hour-long wave and a run of a
    steady machine at that level make the same calls to within 0.1%, so every rule gives
    both the same verdict; the long runs' truths are on opposite sides of the budget."""
    wave = HourlyWave(1 * MS)
    cell = Cell(wave, 50.0, 0.95)
    steady = SlowWave(wave.call_ns * math.exp(wave.amplitude), amplitude=0.0, sigma=wave.sigma)
    runs = []
    for model in (wave, steady):
        source = model.source(np.random.default_rng(5))  # the same noise, draw for draw
        source.phase = math.pi / 2  # type: ignore[attr-defined]  # the wave's crest
        runs.append(measure(source, SamplingPlan(), budget_ns=cell.budget_ns, quantile=0.5))
    on_wave, on_steady = runs
    assert on_wave.decision is not None
    assert on_steady.decision is not None
    assert on_wave.decision.outcome == on_steady.decision.outcome == "fail"
    n = min(on_wave.samples_ns.size, on_steady.samples_ns.size)
    ratio = on_wave.samples_ns[:n] / on_steady.samples_ns[:n]
    assert n > 100
    assert float(np.max(np.abs(ratio - 1.0))) < 1e-3
    # The same verdict, wrong about the wave's long run and right about the steady one.
    assert is_wrong("fail", wave.tail(cell.budget_ns), 0.5)
    assert not is_wrong("fail", steady.tail(cell.budget_ns), 0.5)


def test_far_side_floor() -> None:
    wave = HourlyWave(1 * MS)
    cell = Cell(wave, 50.0, 0.95)
    # The run's median is call * exp(a sin(theta)); clearly over: >= 2x the budget.
    threshold = math.log(2.0 * cell.budget_ns / wave.call_ns) / wave.amplitude
    expected = 0.5 - math.asin(threshold) / math.pi
    assert far_side_floor(cell) == pytest.approx(expected, abs=1e-3)
    assert 0.25 < far_side_floor(cell) < 0.35
    # Under the budget where the long run is over it (a fail is right): the mirror.
    over = Cell(wave, 99.0, 1.05)
    threshold = math.log(over.budget_ns / 2.0 / (wave.call_ns * math.exp(2.326 * wave.sigma)))
    expected = 0.5 + math.asin(threshold / wave.amplitude) / math.pi
    assert far_side_floor(over) == pytest.approx(expected, abs=2e-3)
    assert 0.25 < far_side_floor(over) < 0.4
    # 2x from the truth: no phase is 2x on the other side of such a budget.
    assert far_side_floor(Cell(wave, 50.0, 0.5)) == 0.0
    with pytest.raises(TypeError, match="its level moves within a run"):
        far_side_floor(Cell(SlowWave(1 * MS), 50.0, 0.95))
