"""The statistics behind a verdict: binomial tails, the look schedule, overdispersion.

Pure functions over numbers and arrays. Nothing here knows about pytest, onnxruntime or
clocks, so every rule can be tested exactly.

The verdict is MLPerf LoadGen's early-stopping rule and its mirror. Each timed call
either meets the budget or exceeds it. With ``n`` calls of which ``t`` exceeded, and a
target percentile ``q`` (0.99 for p99), a system that *exactly* meets its SLA exceeds
the budget on a fraction ``1 - q`` of calls, so ``t ~ Binomial(n, 1 - q)``:

* PASS when ``P[Binomial(n, 1-q) <= t] <= alpha``: results this good would be very
  unlikely from a system that only just misses the SLA;
* FAIL when ``P[Binomial(n, 1-q) >= t] <= alpha``: results this bad would be very
  unlikely from a system that only just meets it;
* otherwise: not decided yet.

Two refinements keep the promise honest on noisy machines:

* the rule is checked at a few planned *looks* (sample counts growing geometrically),
  and ``alpha`` is split evenly across them (Bonferroni), so checking repeatedly does
  not inflate the error rate;
* latency samples come in correlated bursts, so ``n`` and ``t`` are divided by an
  estimated *design effect* (the quasi-binomial dispersion of exceedance counts across
  contiguous groups of samples) before the rule is applied.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np
    import numpy.typing as npt

__all__ = [
    "Decision",
    "LookSchedule",
    "binom_cdf",
    "binom_sf",
    "decide",
    "design_effect",
    "min_samples_to_pass",
    "percentile_ns",
]

_EPS = 1e-15
#: Looks outside the planned points: one at settle time, one at a cap.
RESERVED_LOOKS = 2
#: The first look: enough for a clear miss to be called at any usual confidence.
_EARLY_LOOK = 16
_TINY = 1e-300


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction for the regularized incomplete beta (modified Lentz)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta function ``I_x(a, b)`` for ``a, b > 0``."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def binom_cdf(k: float, n: float, p: float) -> float:
    """``P[X <= k]`` for ``X ~ Binomial(n, p)``; ``k`` and ``n`` may be fractional.

    Fractional counts come from dividing by a design effect; the regularized incomplete
    beta extends the binomial tail smoothly to them.
    """
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    return betainc(n - k, k + 1.0, 1.0 - p)


def binom_sf(k: float, n: float, p: float) -> float:
    """``P[X >= k]`` for ``X ~ Binomial(n, p)``; ``k`` and ``n`` may be fractional."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    return betainc(k, n - k + 1.0, p)


@dataclass(frozen=True)
class Decision:
    """The outcome of one look at the samples."""

    #: "pass", "fail" or None (not decided at this look).
    outcome: str | None
    #: P[Binomial(n_eff, 1-q) <= t_eff]: small means clearly within budget.
    p_pass: float
    #: P[Binomial(n_eff, 1-q) >= t_eff]: small means clearly over budget.
    p_fail: float
    #: The significance level this look was judged at.
    alpha: float
    #: Effective sample size after the design effect.
    n_eff: float
    #: Effective exceedance count after the design effect.
    t_eff: float
    #: The design effect used (1.0 for independent samples).
    design_effect: float
    #: The latency (ns) the calls were counted against: the budget, or for a quick
    #: verdict on a clear margin the budget divided (pass) or multiplied (fail) by it.
    threshold_ns: float | None = None


def decide(n: int, t: int, quantile: float, alpha: float, deff: float = 1.0) -> Decision:
    """Apply the binomial rule to ``t`` exceedances in ``n`` calls.

    ``quantile`` is the SLA percentile as a fraction (0.99 for p99); ``alpha`` the
    significance level of this look; ``deff`` the design effect (>= 1) by which both
    counts are deflated.
    """
    if n <= 0:
        raise ValueError("decide() needs at least one sample")
    deff = max(1.0, deff)
    n_eff, t_eff = n / deff, t / deff
    p_exceed = 1.0 - quantile
    if p_exceed <= 0.0:
        # p100 is a budget on the maximum: no sampling can prove it, so it is judged on
        # what was observed (any exceedance fails, none passes) and documented as such.
        failed = t > 0
        return Decision(
            "fail" if failed else "pass",
            1.0 if failed else 0.0,
            0.0 if failed else 1.0,
            alpha,
            n_eff,
            t_eff,
            deff,
        )
    p_pass = binom_cdf(t_eff, n_eff, p_exceed)
    p_fail = binom_sf(t_eff, n_eff, p_exceed)
    outcome: str | None = None
    if p_pass <= alpha:
        outcome = "pass"
    elif p_fail <= alpha:
        outcome = "fail"
    return Decision(outcome, p_pass, p_fail, alpha, n_eff, t_eff, deff)


def design_effect(exceeded: npt.NDArray[np.bool_], groups: int = 10) -> float:
    """Quasi-binomial dispersion of exceedances across ``groups`` contiguous groups.

    Independent samples give about 1; bursts (exceedances bunched in time) give more.
    Returns at least 1.0, so it can only make a verdict more cautious.
    """
    n = int(exceeded.size)
    t = int(exceeded.sum())
    if n < 2 * groups or t == 0 or t == n:
        return 1.0
    bounds = [round(i * n / groups) for i in range(groups + 1)]
    p_hat = t / n
    chi2 = 0.0
    for lo, hi in itertools.pairwise(bounds):
        size = hi - lo
        expected = size * p_hat
        observed = int(exceeded[lo:hi].sum())
        chi2 += (observed - expected) ** 2 / (size * p_hat * (1.0 - p_hat))
    return max(1.0, chi2 / (groups - 1))


def min_samples_to_pass(quantile: float, alpha: float, exceedances: int = 0) -> int:
    """Smallest ``n`` at which ``exceedances`` in ``n`` calls can PASS at level ``alpha``."""
    p_exceed = 1.0 - quantile
    if p_exceed <= 0.0:
        raise ValueError("a p100 budget can never be proven met by sampling")
    lo = exceedances + 1
    # Exponential search, then bisection: the tail decreases monotonically in n.
    hi = lo
    while binom_cdf(exceedances, hi, p_exceed) > alpha:
        hi *= 2
    while lo < hi:
        mid = (lo + hi) // 2
        if binom_cdf(exceedances, mid, p_exceed) <= alpha:
            hi = mid
        else:
            lo = mid + 1
    return lo


@dataclass(frozen=True)
class LookSchedule:
    """Planned sample counts at which the rule is checked, with alpha split across them.

    The first look is at a small count (a clear miss needs few samples) or the smallest
    count that could pass with no exceedance if that is smaller; each later one
    ``growth`` times the previous, up to ``max_samples``. Two extra looks are
    reserved (:data:`RESERVED_LOOKS`): one when the samples first span
    ``settle_time`` (so a verdict near the budget need not wait for the next planned
    count) and the final look at a time cap; the total error stays within alpha.
    """

    points: tuple[int, ...]
    alpha_per_look: float
    #: The fewest samples that could pass with no exceedance at ``alpha_per_look``: what
    #: a measurement without a budget collects, so its percentile rests on enough calls.
    pass_point: int

    @classmethod
    def plan(
        cls, quantile: float, confidence: float, max_samples: int, growth: float = 2.0
    ) -> LookSchedule:
        alpha = 1.0 - confidence
        looks = 2
        # Fixed point: the number of looks sets alpha per look, which sets the first look.
        for _ in range(20):
            per_look = alpha / looks
            # A clear miss can be called on a handful of samples (slow models reach the
            # pass point late), so looks start early even when a pass needs more.
            pass_point = _first_look(quantile, per_look)
            points = _geometric(min(_EARLY_LOOK, pass_point), max_samples, growth)
            if len(points) + RESERVED_LOOKS <= looks:
                break
            looks = len(points) + RESERVED_LOOKS
        return cls(points, alpha / looks, min(pass_point, max_samples))

    def next_after(self, n: int) -> int | None:
        """The first planned look strictly after ``n`` samples, or None past the last."""
        for point in self.points:
            if point > n:
                return point
        return None


def _first_look(quantile: float, alpha: float) -> int:
    if quantile >= 1.0:
        return 100
    return min_samples_to_pass(quantile, alpha)


def _geometric(first: int, last: int, growth: float) -> tuple[int, ...]:
    points = [min(first, last)]
    while points[-1] < last:
        points.append(min(last, max(points[-1] + 1, math.ceil(points[-1] * growth))))
    return tuple(points)


def percentile_ns(sorted_ns: Sequence[int] | npt.NDArray[np.int64], q: float) -> float:
    """Empirical percentile (``q`` in percent) of *sorted* samples: the inverted CDF.

    The smallest sample ``x`` such that at least ``q`` percent of samples are ``<= x``.
    This matches the verdict: "p99 <= budget" holds exactly when at most 1% of the
    samples exceed the budget.
    """
    n = len(sorted_ns)
    if n == 0:
        raise ValueError("no samples")
    # The tolerance absorbs the rounding of q / 100 * n (0.999 * 30e6 = 29,970,000.000000004);
    # it must grow with the product, or ranks go one too high from about 3e7 samples.
    exact = q / 100.0 * n
    rank = math.ceil(exact - max(1e-9, exact * 1e-15))
    index = min(n - 1, max(0, rank - 1))
    return float(sorted_ns[index])


def quantile_interval(
    n: int, quantile: float, confidence: float, deff: float = 1.0
) -> tuple[float, float]:
    """Distribution-free confidence bounds for a quantile, as quantile levels.

    With ``n`` samples, the true ``quantile`` lies between the empirical quantiles at the
    returned levels with probability at least ``confidence`` (order statistics: the
    number of samples below the true quantile is Binomial(n, quantile)). Bursty samples
    count for less: ``n`` is divided by the design effect ``deff``, which widens the
    bounds. Levels are fractions in [0, 1]; read the samples at them with
    :func:`percentile_ns` (times 100).
    """
    if n <= 0:
        raise ValueError("no samples")
    n_eff = max(1.0, n / max(1.0, deff))
    tail = (1.0 - confidence) / 2.0
    # Largest k with P[B < k] <= tail (lower bound) and smallest k with P[B < k] >= 1 - tail
    # (upper bound), B ~ Binomial(n_eff, quantile); found by bisection on the smooth tail.
    lower = _bisect_rank(n_eff, quantile, tail, lower=True)
    upper = _bisect_rank(n_eff, quantile, 1.0 - tail, lower=False)
    return (max(0.0, lower / n_eff), min(1.0, upper / n_eff))


def _bisect_rank(n: float, quantile: float, target: float, *, lower: bool) -> float:
    lo, hi = 0.0, n
    for _ in range(60):
        mid = (lo + hi) / 2.0
        below = binom_cdf(mid - 1.0, n, quantile)  # P[B < mid] for integral mid
        if (below <= target) if lower else (below < target):
            lo = mid
        else:
            hi = mid
    return lo if lower else hi
