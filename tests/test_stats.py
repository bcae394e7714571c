"""Unit tests for the statistics behind a verdict (``pytest_latency_sla.stats``)."""

from __future__ import annotations

import functools
import itertools
import math
from fractions import Fraction

import numpy as np
import pytest

from pytest_latency_sla.stats import (
    LookSchedule,
    binom_cdf,
    binom_sf,
    decide,
    design_effect,
    min_samples_to_pass,
    percentile_ns,
    quantile_interval,
)


@functools.cache
def _pmfs(n: int, p: float) -> tuple[float, ...]:
    """``P[X == i]`` for ``i = 0..n`` from exact binomial coefficients, in log space."""
    if p in (0.0, 1.0):
        return tuple(float(i == (0 if p == 0.0 else n)) for i in range(n + 1))
    out = []
    comb = 1  # math.comb(n, i), updated exactly
    for i in range(n + 1):
        out.append(math.exp(math.log(comb) + i * math.log(p) + (n - i) * math.log1p(-p)))
        comb = comb * (n - i) // (i + 1)
    return tuple(out)


def pmf(i: int, n: int, p: float) -> float:
    """``P[X == i]`` for ``X ~ Binomial(n, p)``."""
    return _pmfs(n, p)[i]


def exact_cdf(k: int, n: int, p: float) -> float:
    """``P[X <= k]`` for ``X ~ Binomial(n, p)`` by direct summation."""
    return math.fsum(_pmfs(n, p)[: k + 1])


def exact_sf(k: int, n: int, p: float) -> float:
    """``P[X >= k]`` for ``X ~ Binomial(n, p)`` by direct summation."""
    return math.fsum(_pmfs(n, p)[max(0, k) :])


_NS = (1, 2, 3, 7, 16, 50, 100, 459, 1000)
_PS = (0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99)


def _grid() -> list[tuple[int, int, float]]:
    cases = []
    for n in _NS:
        ks = sorted({0, 1, 2, n // 100, n // 10, n // 2, n - 2, n - 1, n} & set(range(n + 1)))
        cases += [(k, n, p) for k in ks for p in _PS]
    return cases


# --- binomial tails ---------------------------------------------------------------------


def test_reference_pmf_is_exact() -> None:
    assert pmf(3, 10, 0.5) == pytest.approx(math.comb(10, 3) / 1024, rel=1e-14)
    assert pmf(7, 1000, 0.01) == pytest.approx(math.comb(1000, 7) * 0.01**7 * 0.99**993, rel=1e-12)
    assert math.fsum(_pmfs(459, 0.01)) == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize(("k", "n", "p"), _grid())
def test_binom_cdf_matches_exact_sum(k: int, n: int, p: float) -> None:
    assert binom_cdf(k, n, p) == pytest.approx(exact_cdf(k, n, p), rel=1e-8, abs=1e-300)


@pytest.mark.parametrize(("k", "n", "p"), _grid())
def test_binom_sf_matches_exact_sum(k: int, n: int, p: float) -> None:
    assert binom_sf(k, n, p) == pytest.approx(exact_sf(k, n, p), rel=1e-8, abs=1e-300)


@pytest.mark.parametrize(("k", "n", "p"), _grid())
def test_cdf_and_sf_partition_the_distribution(k: int, n: int, p: float) -> None:
    # P[X <= k] + P[X >= k+1] == 1, and the two tails overlap at k by P[X == k].
    assert binom_cdf(k, n, p) + binom_sf(k + 1, n, p) == pytest.approx(1.0, abs=1e-12)
    point = pmf(k, n, p)
    overlap = binom_cdf(k, n, p) + binom_sf(k, n, p) - 1.0
    assert overlap == pytest.approx(point, rel=1e-7, abs=1e-13)


@pytest.mark.parametrize(
    ("k", "n", "p", "expected"),
    [
        (-1, 10, 0.5, 0.0),  # below the support
        (-0.5, 10, 0.5, 0.0),
        (10, 10, 0.5, 1.0),  # the whole support
        (11, 10, 0.5, 1.0),
        (0, 10, 0.0, 1.0),  # p = 0: X is always 0
        (3, 10, 0.0, 1.0),
        (0, 10, 1.0, 0.0),  # p = 1: X is always n
        (9, 10, 1.0, 0.0),
        (0, 1, 0.3, 0.7),
        (0, 5, 0.5, 1 / 32),
        (4, 5, 0.5, 31 / 32),
    ],
)
def test_binom_cdf_edges(k: float, n: int, p: float, expected: float) -> None:
    assert binom_cdf(k, n, p) == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize(
    ("k", "n", "p", "expected"),
    [
        (0, 10, 0.5, 1.0),  # X >= 0 always
        (-3, 10, 0.5, 1.0),
        (11, 10, 0.5, 0.0),  # beyond the support
        (1, 10, 0.0, 0.0),  # p = 0
        (10, 10, 1.0, 1.0),  # p = 1
        (1, 10, 1.0, 1.0),
        (10, 10, 0.5, 1 / 1024),
        (1, 1, 0.3, 0.3),
        (1, 5, 0.5, 31 / 32),
    ],
)
def test_binom_sf_edges(k: float, n: int, p: float, expected: float) -> None:
    assert binom_sf(k, n, p) == pytest.approx(expected, abs=1e-15)


def test_tails_are_tiny_but_positive_far_out() -> None:
    # 30 exceedances of p=0.01 in 100 calls: astronomically unlikely, yet not zero,
    # and the cdf at 0 in 10,000 calls is 0.99**10000.
    assert 0.0 < binom_sf(30, 100, 0.01) < 1e-30
    assert binom_cdf(0, 10_000, 0.01) == pytest.approx(0.99**10_000, rel=1e-9)


def test_fractional_counts_interpolate_monotonically() -> None:
    # Counts divided by a design effect are fractional: the tails must stay monotone
    # in k and lie between their integer neighbours.
    n, p = 200.0, 0.05
    ks = [i / 4 for i in range(4 * 30)]
    cdfs = [binom_cdf(k, n, p) for k in ks]
    sfs = [binom_sf(k, n, p) for k in ks]
    assert all(a <= b for a, b in itertools.pairwise(cdfs))
    assert all(a >= b for a, b in itertools.pairwise(sfs))
    assert binom_cdf(3, n, p) < binom_cdf(3.5, n, p) < binom_cdf(4, n, p)
    assert binom_sf(3, n, p) > binom_sf(3.5, n, p) > binom_sf(4, n, p)
    # Fractional n too: fewer effective calls make a clean record less convincing.
    assert binom_cdf(0, 100.0, p) < binom_cdf(0, 99.5, p) < binom_cdf(0, 99.0, p)


# --- minimum samples to pass --------------------------------------------------------------

_TABLE = {
    0.90: (44, 64, 81, 127, 197),
    0.95: (90, 130, 165, 259, 398),
    0.99: (459, 662, 838, 1307, 2010),
}


@pytest.mark.parametrize("quantile", sorted(_TABLE))
@pytest.mark.parametrize("column", range(5))
def test_min_samples_to_pass_reproduces_measurements_table(quantile: float, column: int) -> None:
    exceedances = (0, 1, 2, 5, 10)[column]
    n = min_samples_to_pass(quantile, 0.01, exceedances)
    assert n == _TABLE[quantile][column]
    # It is the smallest such n: one fewer call cannot pass, n calls can.
    assert binom_cdf(exceedances, n, 1 - quantile) <= 0.01
    assert binom_cdf(exceedances, n - 1, 1 - quantile) > 0.01
    assert decide(n, exceedances, quantile, 0.01).outcome == "pass"
    assert decide(n - 1, exceedances, quantile, 0.01).outcome is None


def test_min_samples_to_pass_grows_with_strictness() -> None:
    assert min_samples_to_pass(0.99, 0.001) > min_samples_to_pass(0.99, 0.01)
    assert min_samples_to_pass(0.999, 0.01) > min_samples_to_pass(0.99, 0.01)
    # (1 - p)**n <= alpha for t = 0, in closed form.
    assert min_samples_to_pass(0.99, 0.01) == math.ceil(math.log(0.01) / math.log(0.99))
    assert min_samples_to_pass(0.999, 0.001) == math.ceil(math.log(0.001) / math.log(0.999))


def test_min_samples_to_pass_rejects_p100() -> None:
    with pytest.raises(ValueError, match="p100"):
        min_samples_to_pass(1.0, 0.01)


# --- decide -------------------------------------------------------------------------------


def test_decide_passes_a_clean_record_at_the_pass_point() -> None:
    decision = decide(459, 0, 0.99, 0.01)
    assert decision.outcome == "pass"
    assert decision.p_pass == pytest.approx(0.99**459)
    assert decision.p_pass <= 0.01
    assert decision.p_fail == 1.0
    assert decision.alpha == 0.01
    assert (decision.n_eff, decision.t_eff, decision.design_effect) == (459, 0, 1.0)


def test_decide_undecided_just_before_the_pass_point() -> None:
    decision = decide(458, 0, 0.99, 0.01)
    assert decision.outcome is None
    assert decision.p_pass > 0.01


def test_decide_fails_on_a_handful_of_slow_calls() -> None:
    decision = decide(16, 16, 0.99, 0.001)
    assert decision.outcome == "fail"
    assert decision.p_fail == pytest.approx(0.01**16)
    assert decision.p_pass == 1.0


@pytest.mark.parametrize(
    ("n", "t", "outcome"),
    [
        (10_000, 100, None),  # exactly at the percentile: never decided
        (10_000, 60, "pass"),
        (10_000, 150, "fail"),
        (1_000, 10, None),
        (1_000, 30, "fail"),
        (1_000, 1, "pass"),
        (100, 1, None),
        (100, 5, "fail"),
    ],
)
def test_decide_outcomes_at_p99(n: int, t: int, outcome: str | None) -> None:
    decision = decide(n, t, 0.99, 0.01)
    assert decision.outcome == outcome
    assert decision.p_pass == pytest.approx(exact_cdf(t, n, 0.01), rel=1e-8)
    assert decision.p_fail == pytest.approx(exact_sf(t, n, 0.01), rel=1e-8)


@pytest.mark.parametrize("quantile", [0.5, 0.9, 0.95, 0.99])
def test_decide_never_both_and_monotone_in_exceedances(quantile: float) -> None:
    n, alpha = 1_000, 0.01
    outcomes = [decide(n, t, quantile, alpha).outcome for t in range(n + 1)]
    # Reading t upward: a run of passes, a run of undecided, a run of fails.
    rank = {"pass": 0, None: 1, "fail": 2}
    ranks = [rank[o] for o in outcomes]
    assert ranks == sorted(ranks)
    assert outcomes[0] == "pass"
    assert outcomes[-1] == "fail"
    # Exactly at the percentile, nothing can be decided.
    assert outcomes[round(n * (1 - quantile))] is None


def test_decide_design_effect_deflates_both_counts() -> None:
    plain = decide(1_000, 2, 0.99, 0.01)
    bursty = decide(1_000, 2, 0.99, 0.01, deff=4.0)
    assert plain.outcome == "pass"
    assert bursty.outcome is None  # 250 effective calls cannot prove p99
    assert (bursty.n_eff, bursty.t_eff, bursty.design_effect) == (250.0, 0.5, 4.0)
    assert bursty.p_pass == pytest.approx(binom_cdf(0.5, 250.0, 0.01))
    # The same on the failing side: fewer effective calls, weaker evidence.
    assert decide(200, 8, 0.99, 0.01).outcome == "fail"
    assert decide(200, 8, 0.99, 0.01, deff=3.0).outcome is None


def test_decide_design_effect_below_one_is_clamped() -> None:
    decision = decide(458, 0, 0.99, 0.01, deff=0.5)
    assert decision.design_effect == 1.0
    assert decision.n_eff == 458
    assert decision.outcome is None  # a deff < 1 must never make a verdict bolder


def test_decide_p100_is_judged_on_what_was_observed() -> None:
    clean = decide(3, 0, 1.0, 0.01)
    assert clean.outcome == "pass"
    assert (clean.p_pass, clean.p_fail) == (0.0, 1.0)
    missed = decide(10_000, 1, 1.0, 0.01)
    assert missed.outcome == "fail"
    assert (missed.p_pass, missed.p_fail) == (1.0, 0.0)
    # The design effect does not rescue an observed miss.
    assert decide(10_000, 1, 1.0, 0.01, deff=50.0).outcome == "fail"


@pytest.mark.parametrize("n", [0, -1])
def test_decide_needs_samples(n: int) -> None:
    with pytest.raises(ValueError, match="at least one sample"):
        decide(n, 0, 0.99, 0.01)


# --- design effect ------------------------------------------------------------------------


def test_design_effect_about_one_for_independent_draws() -> None:
    rng = np.random.default_rng(20240601)
    values = np.array([design_effect(rng.random(10_000) < 0.01) for _ in range(200)])
    assert values.min() >= 1.0
    # chi2(9)/9 has median ~0.93, so the clamped value is 1.0 at least half the time,
    # and a value above 2 (chi2(9) > 18) happens ~3.5% of the time.
    assert np.median(values) == 1.0
    assert values.mean() < 1.3
    assert np.mean(values > 2.0) < 0.08


def test_design_effect_large_for_bunched_exceedances() -> None:
    exceeded = np.zeros(10_000, dtype=np.bool_)
    exceeded[5_000:5_100] = True  # one burst of 100 slow calls
    assert design_effect(exceeded) > 50.0
    # Bursts scattered over a few groups: still clearly overdispersed.
    scattered = np.zeros(10_000, dtype=np.bool_)
    for start in (100, 3_100, 7_100):
        scattered[start : start + 33] = True
    assert design_effect(scattered) > 10.0


def test_design_effect_one_for_evenly_spread_exceedances() -> None:
    exceeded = np.zeros(10_000, dtype=np.bool_)
    exceeded[::100] = True  # underdispersed: chi2 == 0, clamped up to 1
    assert design_effect(exceeded) == 1.0


@pytest.mark.parametrize(
    "exceeded",
    [
        np.zeros(1_000, dtype=np.bool_),  # no exceedance
        np.ones(1_000, dtype=np.bool_),  # every call exceeded
        np.array([True] * 5 + [False] * 14, dtype=np.bool_),  # fewer than 2 per group
    ],
)
def test_design_effect_degenerate_inputs_give_one(exceeded: np.typing.NDArray[np.bool_]) -> None:
    assert design_effect(exceeded) == 1.0


def test_design_effect_never_below_one() -> None:
    rng = np.random.default_rng(7)
    for size in (20, 57, 200, 1_000, 4_321):
        for rate in (0.001, 0.01, 0.2, 0.5, 0.9):
            for groups in (2, 5, 10):
                assert design_effect(rng.random(size) < rate, groups) >= 1.0


# --- look schedule ------------------------------------------------------------------------

_PLANS = [
    (0.99, 0.99, 1_000_000),
    (0.99, 0.99, 1_000),
    (0.999, 0.99, 1_000_000),
    (0.95, 0.95, 100_000),
    (0.9, 0.9, 500),
    (0.5, 0.99, 50),
    (0.6, 0.9, 10_000),
    (1.0, 0.99, 100_000),
    (0.99, 0.99, 17),
    (0.99, 0.99, 10),
    (0.99, 0.99, 1),
]


@pytest.mark.parametrize(("quantile", "confidence", "max_samples"), _PLANS)
def test_look_schedule_plan_properties(
    quantile: float, confidence: float, max_samples: int
) -> None:
    schedule = LookSchedule.plan(quantile, confidence, max_samples)
    points = schedule.points
    assert points
    assert all(a < b for a, b in itertools.pairwise(points))
    assert points[-1] == max_samples
    assert all(isinstance(p, int) and p >= 1 for p in points)
    # One look per point, plus one reserved for the moment samples span settle_time and
    # one for the final look at a time cap: together they never spend more than alpha.
    looks = len(points) + 2
    assert schedule.alpha_per_look * looks <= (1.0 - confidence) * (1 + 1e-12)
    # The first look comes early: a handful of samples, or the first pass point if that
    # is sooner.
    assert points[0] <= 16
    if quantile < 1.0:
        assert points[0] <= min_samples_to_pass(quantile, schedule.alpha_per_look)


@pytest.mark.parametrize(
    ("quantile", "confidence", "max_samples"),
    [(0.99, 0.99, 1_000_000), (0.99, 0.99, 1_000), (0.999, 0.99, 1_000_000), (0.95, 0.95, 10**5)],
)
def test_look_schedule_spends_exactly_alpha(
    quantile: float, confidence: float, max_samples: int
) -> None:
    schedule = LookSchedule.plan(quantile, confidence, max_samples)
    looks = len(schedule.points) + 2
    assert schedule.alpha_per_look * looks == pytest.approx(1.0 - confidence, rel=1e-12)


def test_look_schedule_grows_geometrically() -> None:
    schedule = LookSchedule.plan(0.99, 0.99, 1_000_000)
    assert schedule.points[0] == 16
    for a, b in zip(schedule.points, schedule.points[1:-1], strict=False):
        assert b == 2 * a
    assert LookSchedule.plan(0.99, 0.99, 100_000, growth=4.0).points[:3] == (16, 64, 256)


def test_look_schedule_small_first_look_when_passing_is_quick() -> None:
    # At p50, 10 clean calls already prove the median at 99.83% per look
    # (0.5 ** 10 < 0.01 / 6: four planned looks and two reserved ones).
    schedule = LookSchedule.plan(0.5, 0.99, 50)
    assert schedule.points == (10, 20, 40, 50)
    assert schedule.alpha_per_look == pytest.approx(0.01 / 6)


def test_look_schedule_growth_below_two_still_strictly_increases() -> None:
    schedule = LookSchedule.plan(0.99, 0.99, 1_000, growth=1.01)
    assert schedule.points[:4] == (16, 17, 18, 19)
    assert schedule.points[-1] == 1_000


def test_look_schedule_next_after() -> None:
    schedule = LookSchedule((16, 32, 64), 0.001, 746)
    assert schedule.next_after(0) == 16
    assert schedule.next_after(15) == 16
    assert schedule.next_after(16) == 32
    assert schedule.next_after(40) == 64
    assert schedule.next_after(64) is None
    assert schedule.next_after(10**9) is None


# --- percentiles --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "expected"),
    [(1, 1), (1.5, 2), (50, 50), (50.5, 51), (90, 90), (99, 99), (99.5, 100), (100, 100)],
)
def test_percentile_inverted_cdf_on_1_to_100(q: float, expected: int) -> None:
    samples = list(range(1, 101))
    assert percentile_ns(samples, q) == expected
    assert percentile_ns(np.array(samples, dtype=np.int64), q) == expected


def test_percentile_tiny_and_single_sample_sets() -> None:
    assert percentile_ns([42], 0.001) == 42.0
    assert percentile_ns([42], 100) == 42.0
    assert percentile_ns([10, 20], 50) == 10.0
    assert percentile_ns([10, 20], 50.1) == 20.0
    assert percentile_ns([10, 20, 30], 99) == 30.0
    result = percentile_ns(np.array([5, 7], dtype=np.int64), 99)
    assert type(result) is float


def test_percentile_of_nothing_raises() -> None:
    with pytest.raises(ValueError, match="no samples"):
        percentile_ns([], 50)


def test_percentile_float_rounding_does_not_shift_the_rank() -> None:
    # 99.9 / 100 * 1000 is 999.0000000000001 in floating point: still rank 999.
    samples = list(range(1, 1001))
    assert percentile_ns(samples, 99.9) == 999
    assert percentile_ns(list(range(1, 10_001)), 99.99) == 9_999


def _at_most_fraction_exceed(exceedances: int, n: int, q: float) -> bool:
    """Exactly: ``exceedances / n <= 1 - q / 100``."""
    return Fraction(exceedances, n) <= 1 - Fraction(str(q)) / 100


@pytest.mark.parametrize("q", [50, 90, 95, 99, 99.9])
def test_percentile_agrees_with_the_verdict(q: float) -> None:
    """``p <= budget`` holds exactly when at most ``(100 - q)%`` of samples exceed it."""
    rng = np.random.default_rng(int(q * 10))
    for n in (1, 7, 100, 999, 1_000, 2_345):
        samples = np.sort(rng.integers(1, 200, size=n)).astype(np.int64)
        for budget in (0, 1, 50, 100, 150, 180, 195, 199, 200):
            exceedances = int(np.count_nonzero(samples > budget))
            within = percentile_ns(samples, q) <= budget
            assert within == _at_most_fraction_exceed(exceedances, n, q), (n, budget)


# --- confidence bounds on a percentile ----------------------------------------------------


@pytest.mark.parametrize(("n", "q"), [(200, 0.5), (1_000, 0.99), (5_000, 0.95)])
def test_quantile_interval_covers_the_true_quantile(n: int, q: float) -> None:
    # Uniform(0, 1) samples: the true q-quantile is q. At 99% confidence the bounds must
    # miss it in at most about 1% of 2,000 seeded trials.
    rng = np.random.default_rng(7)
    low, high = quantile_interval(n, q, 0.99)
    assert 0.0 <= low < q < high <= 1.0
    misses = 0
    for _ in range(2_000):
        samples = np.sort((rng.random(n) * 1e9).astype(np.int64))  # "nanoseconds"
        lo = percentile_ns(samples, max(low * 100, 1e-9))
        hi = percentile_ns(samples, high * 100)
        misses += not lo <= q * 1e9 <= hi
    assert misses <= 2_000 * 0.015


def test_quantile_interval_widens_with_the_design_effect() -> None:
    narrow = quantile_interval(5_000, 0.99, 0.99)
    wide = quantile_interval(5_000, 0.99, 0.99, deff=4.0)
    assert wide[0] < narrow[0]
    assert wide[1] > narrow[1]
    with pytest.raises(ValueError, match="no samples"):
        quantile_interval(0, 0.99, 0.99)
