"""Unit tests for the statistics behind a verdict (``pytest_latency_sla.stats``)."""

from __future__ import annotations

import functools
import itertools
import math
from fractions import Fraction

import numpy as np
import pytest

from pytest_latency_sla.stats import (
    binom_cdf,
    binom_sf,
    fail_evidence,
    inflation,
    level_uncertainty,
    min_samples_to_pass,
    pass_evidence,
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


# --- the evidence: mixture likelihood ratios ---------------------------------------------


@pytest.mark.parametrize(
    ("quantile", "expected"),
    [(0.90, 59), (0.95, 120), (0.99, 613), (0.999, 6_151)],
)
def test_calls_to_pass_with_no_exceedance(quantile: float, expected: int) -> None:
    # About ln(1 / (alpha * weight)) / -ln(quantile): 613 for p99 at alpha 0.01 / 3 (a
    # tier's share of 99% confidence), against 459 for one look with no alternative.
    n = min_samples_to_pass(quantile, 0.01 / 3)
    assert n == expected
    eps = 1 - quantile
    assert pass_evidence(n, 0, eps) >= math.log(300)
    assert pass_evidence(n - 1, 0, eps) < math.log(300)


def test_a_p99_pass_at_a_clear_margin_needs_at_most_700_calls() -> None:
    assert min_samples_to_pass(0.99, 0.01 / 3) <= 700


def test_min_samples_to_pass_grows_with_exceedances_and_strictness() -> None:
    counts = [min_samples_to_pass(0.99, 0.005, t) for t in range(6)]
    assert counts == sorted(counts)
    assert len(set(counts)) == 6
    assert min_samples_to_pass(0.99, 0.0005) > min_samples_to_pass(0.99, 0.005)


def test_min_samples_to_pass_rejects_p100_and_hopeless_counts() -> None:
    with pytest.raises(ValueError, match="p100"):
        min_samples_to_pass(1.0, 0.01)


@pytest.mark.parametrize("eps", [0.5, 0.05, 0.01, 0.001])
def test_evidence_points_the_right_way(eps: float) -> None:
    n = 2_000.0
    # Far fewer exceedances than eps * n: evidence to pass, none to fail; and back.
    assert pass_evidence(n, 0.2 * eps * n, eps) > fail_evidence(n, 0.2 * eps * n, eps)
    assert fail_evidence(n, min(n, 3 * eps * n), eps) > pass_evidence(n, 3 * eps * n, eps)
    # Exactly at eps: neither side can reach 99% confidence.
    assert pass_evidence(n, eps * n, eps) < math.log(100)
    assert fail_evidence(n, eps * n, eps) < math.log(100)


@pytest.mark.parametrize("eps", [0.5, 0.05, 0.01])
def test_evidence_is_monotone_in_exceedances(eps: float) -> None:
    n = 1_000.0
    ts = [n * eps * f for f in (0.0, 0.25, 0.5, 1.0, 1.5, 2.0)]
    passes = [pass_evidence(n, t, eps) for t in ts]
    fails = [fail_evidence(n, t, eps) for t in ts]
    assert passes == sorted(passes, reverse=True)
    assert fails == sorted(fails)


def test_fractional_counts_are_allowed_and_weaker() -> None:
    # Dividing both counts by a dependence inflation makes the same record less convincing.
    assert pass_evidence(1_000 / 4, 0, 0.01) < pass_evidence(1_000, 0, 0.01)
    assert fail_evidence(200 / 3, 8 / 3, 0.01) < fail_evidence(200, 8, 0.01)


@pytest.mark.parametrize(("eps", "true_share"), [(0.01, 0.01), (0.01, 0.02), (0.05, 0.05)])
def test_pass_evidence_rarely_ever_reaches_the_bar_when_the_budget_is_missed(
    eps: float, true_share: float
) -> None:
    # Ville's inequality: for shares at or above eps the evidence, watched after every
    # call, reaches 1 / alpha in at most alpha of runs (here alpha = 0.05, 400 runs).
    rng = np.random.default_rng(7)
    alpha, runs, n = 0.05, 400, 3_000
    crossed = 0
    for _ in range(runs):
        exceeded = np.cumsum(rng.random(n) < true_share)
        calls = np.arange(1, n + 1)
        for k in range(10, n, 10):
            if pass_evidence(float(calls[k]), float(exceeded[k]), eps) >= math.log(1 / alpha):
                crossed += 1
                break
    assert crossed / runs <= alpha


def test_fail_evidence_rarely_ever_reaches_the_bar_when_the_budget_is_met() -> None:
    rng = np.random.default_rng(8)
    alpha, runs, n, eps = 0.05, 400, 3_000, 0.01
    crossed = 0
    for _ in range(runs):
        exceeded = np.cumsum(rng.random(n) < eps)
        for k in range(10, n, 10):
            if fail_evidence(float(k + 1), float(exceeded[k]), eps) >= math.log(1 / alpha):
                crossed += 1
                break
    assert crossed / runs <= alpha


def test_a_clear_miss_fails_on_a_handful_of_calls() -> None:
    assert fail_evidence(16, 16, 0.01) >= math.log(200)
    assert fail_evidence(4, 4, 0.01) >= math.log(200)


# --- dependence: variance inflation by batch means -----------------------------------------


def _chunks(
    exceeded: np.typing.NDArray[np.bool_], per_chunk: int, blocks: int
) -> tuple[np.typing.NDArray[np.int64], np.typing.NDArray[np.int64], np.typing.NDArray[np.int64]]:
    usable = exceeded.size - exceeded.size % per_chunk
    counts = exceeded[:usable].reshape(-1, per_chunk).sum(axis=1).astype(np.int64)
    calls = np.full(counts.size, per_chunk, dtype=np.int64)
    block = (np.arange(counts.size) * blocks // counts.size).astype(np.int64)
    return counts, calls, block


def test_inflation_is_near_one_for_independent_calls() -> None:
    rng = np.random.default_rng(3)
    values = [inflation(*_chunks(rng.random(20_000) < 0.05, 100, 20)) for _ in range(100)]
    # An upper bound from 20 blocks: a little above 1 on average, never far.
    assert 1.0 <= float(np.median(values)) < 2.0
    assert float(np.percentile(values, 90)) < 4.0


def test_inflation_is_large_for_latency_in_long_bursts() -> None:
    rng = np.random.default_rng(4)
    states = np.repeat(rng.random(40) < 0.3, 500)  # 40 spells of 500 calls
    exceeded = rng.random(states.size) < np.where(states, 0.2, 0.001)
    assert inflation(*_chunks(exceeded, 100, 20)) > 20


def test_inflation_sees_dependence_that_outlasts_a_block() -> None:
    # One slow spell spanning neighbouring blocks: their agreement raises the inflation.
    exceeded = np.zeros(20_000, dtype=bool)
    exceeded[5_000:9_000] = np.random.default_rng(5).random(4_000) < 0.3
    spread = inflation(*_chunks(exceeded, 100, 20))
    assert spread > 50


@pytest.mark.parametrize(
    "exceeded",
    [np.zeros(1_000, dtype=bool), np.ones(1_000, dtype=bool), np.zeros(0, dtype=bool)],
)
def test_inflation_without_information_is_one(exceeded: np.typing.NDArray[np.bool_]) -> None:
    if exceeded.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        assert inflation(empty, empty, empty) == 1.0
        return
    assert inflation(*_chunks(exceeded, 100, 10)) == 1.0


def test_inflation_never_below_one() -> None:
    exceeded = np.zeros(2_000, dtype=bool)
    exceeded[::50] = True  # perfectly even: less variance than binomial
    assert inflation(*_chunks(exceeded, 100, 20)) >= 1.0


def test_inflation_for_a_longer_run_keeps_the_estimate_and_narrows_the_bound() -> None:
    # The same estimate resting on more blocks (a projection of a run that goes on) needs
    # a smaller allowance for having fallen short by chance; never more blocks than now
    # changes nothing.
    rng = np.random.default_rng(6)
    chunks = _chunks(rng.random(5_000) < 0.02, 50, 10)
    now = inflation(*chunks)
    assert inflation(*chunks, blocks_then=10) == now
    assert inflation(*chunks, blocks_then=3) == now
    later = inflation(*chunks, blocks_then=20)
    assert 1.0 <= later < now
    # 9 and 19 degrees of freedom: the 10% chi-square allowances are 2.16x and 1.63x.
    assert later == pytest.approx(max(1.0, now / 2.159 * 1.631), rel=0.02)


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


def _levels(
    means: list[float], per_block: int = 10, seed: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    levels = np.concatenate([m + 0.05 * rng.standard_normal(per_block) for m in means])
    blocks = np.repeat(np.arange(len(means)), per_block).astype(np.int64)
    return levels, blocks


def test_level_uncertainty_is_zero_for_a_level_that_moves_by_chance_alone() -> None:
    assert level_uncertainty(*_levels([0.0] * 20)) == 0.0


def test_level_uncertainty_is_zero_for_a_level_that_jitters() -> None:
    # Blocks that differ by far more than their chunks, but not in runs: the
    # exceedances' own test (batch means) allows for that.
    assert level_uncertainty(*_levels([0.0, 0.3] * 10)) == 0.0
    means = list(np.linspace(0.0, 0.3, 20))
    assert level_uncertainty(*_levels(list(np.random.default_rng(1).permutation(means)))) == 0.0


def test_level_uncertainty_is_large_for_a_level_that_drifts() -> None:
    drift = level_uncertainty(*_levels(list(np.linspace(0.0, 0.3, 20))))
    # At least the level's spread (0.09), raised for the blocks' agreement and their few.
    assert 0.09 < drift < 1.0
    assert level_uncertainty(*_levels(list(np.linspace(0.0, 0.03, 20)))) < drift / 5


def test_level_uncertainty_needs_three_blocks_of_two_chunks() -> None:
    levels, blocks = _levels([0.0, 0.5, 1.0], per_block=1)
    assert level_uncertainty(levels, blocks) == 0.0
    assert level_uncertainty(np.array([], dtype=np.float64), np.array([], dtype=np.int64)) == 0.0
