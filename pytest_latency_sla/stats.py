"""The statistics behind a verdict: anytime-valid tests on exceedances, and dependence.

Pure functions over numbers and arrays. Nothing here knows about pytest, onnxruntime or
clocks, so every rule can be tested exactly.

Each timed call either exceeds a latency threshold or not. A system that *exactly* meets
a budget at percentile ``q`` (0.99 for p99) exceeds it on a share ``eps = 1 - q`` of its
calls. The verdict tests that share:

* PASS when the evidence that the share is below ``eps`` reaches ``1 / alpha``;
* FAIL when the evidence that it is above ``eps`` does;
* otherwise: not decided yet.

The evidence is a **mixture likelihood ratio** (:func:`pass_evidence`,
:func:`fail_evidence`): a weighted mix of likelihood ratios against a few alternative
shares. Under the null it is a nonnegative supermartingale, so by Ville's inequality the
chance that it *ever* reaches ``1 / alpha`` is at most ``alpha``: the rule may be checked
after every chunk of calls, as often as wanted, with no alpha to split across looks.

Latency is not independent from call to call: machines stay in fast or slow states for
milliseconds to seconds. :func:`inflation` estimates, from batch means over time-blocks
spread across the run, how much the variance of an exceedance count exceeds the
independent (binomial) one; counts are divided by it before the test (a quasi-likelihood
correction), so a thousand strongly dependent calls count as the few independent ones
they are worth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np
    import numpy.typing as npt

__all__ = [
    "Decision",
    "binom_cdf",
    "binom_sf",
    "calls_to_decide",
    "fail_evidence",
    "inflation",
    "level_uncertainty",
    "min_samples_to_pass",
    "pass_evidence",
    "percentile_ns",
    "quantile_interval",
]

_EPS = 1e-15
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
    #: 1 / the pass evidence (capped at 1): an anytime-valid p-value; small means clearly
    #: within budget.
    p_pass: float
    #: 1 / the fail evidence (capped at 1): small means clearly over budget.
    p_fail: float
    #: The significance level the look was judged at (each direction).
    alpha: float
    #: Calls after dividing by the dependence inflation: the independent calls they are
    #: worth.
    n_eff: float
    #: Exceedances after the same division.
    t_eff: float
    #: The variance inflation of the exceedance count from dependence (1 = independent).
    design_effect: float
    #: The latency (ns) the calls were counted against: the budget, or for a quick
    #: verdict on a clear margin the budget divided (pass) or multiplied (fail) by it.
    threshold_ns: float | None = None
    #: Share of calls made in chunks that lost the CPU to other processes.
    contended_share: float = 0.0
    #: Share of the sampled time the process waited for a CPU other processes held (the
    #: host's steal included, as counted for the chunks): what that contention cost. A
    #: slow model's long chunks nearly all catch a tick of steal (``contended_share``
    #: near 1) while losing 1-2% of their time.
    lost_share: float = 0.0
    #: Why an undecided look is undecided: "close" (too near the budget for the calls so
    #: far), "busy" (other processes took the CPU: only the contention stood between the
    #: samples and a verdict), "dependent" (latency came in long bursts, so the calls
    #: count as few), "moved" (the latency's level moved across the run more than
    #: chance explains, and the verdict would not hold were it as far off as that
    #: suggests), "generator" (under load: the generator's own lateness), or None when
    #: decided.
    reason: str | None = None


#: The alternatives of the pass evidence, as fractions of ``eps`` and their weights. Most
#: weight on a share of 0, which passes a clear margin fastest (p99 with no exceedance in
#: about 613 calls at 99% confidence); the rest for margins near the budget.
_PASS_ALTERNATIVES = ((0.0, 0.6), (0.25, 0.15), (0.5, 0.1), (0.75, 0.1), (0.9, 0.05))
#: The alternatives of the fail evidence, as ``eps + (1 - eps) * h``, and their weights.
_FAIL_ALTERNATIVES = ((0.005, 0.2), (0.02, 0.2), (0.1, 0.2), (0.3, 0.2), (0.6, 0.2))


def _log_mix(terms: Sequence[tuple[float, float]]) -> float:
    """log of sum(weight * exp(log_lr)) over (weight, log_lr), computed stably."""
    finite = [(w, x) for w, x in terms if w > 0 and x != -math.inf]
    if not finite:
        return -math.inf
    top = max(x for _, x in finite)
    return top + math.log(sum(w * math.exp(x - top) for w, x in finite))


def _log_lr(n: float, t: float, p: float, eps: float) -> float:
    """log of the likelihood ratio of share ``p`` against ``eps`` for t of n exceeding."""
    if p <= 0.0:
        return n * -math.log1p(-eps) if t <= 0 else -math.inf
    if p >= 1.0:
        return t * -math.log(eps) if t >= n else -math.inf
    return t * math.log(p / eps) + (n - t) * (math.log1p(-p) - math.log1p(-eps))


def pass_evidence(n: float, t: float, eps: float) -> float:
    """log evidence that the share of exceedances is below ``eps`` (t of n exceeded).

    Fractional ``n`` and ``t`` (counts divided by a dependence inflation) are allowed.
    """
    return _log_mix([(w, _log_lr(n, t, eps * f, eps)) for f, w in _PASS_ALTERNATIVES])


def fail_evidence(n: float, t: float, eps: float) -> float:
    """log evidence that the share of exceedances is above ``eps`` (t of n exceeded)."""
    return _log_mix([(w, _log_lr(n, t, eps + (1 - eps) * h, eps)) for h, w in _FAIL_ALTERNATIVES])


def min_samples_to_pass(quantile: float, alpha: float, exceedances: int = 0) -> int:
    """Fewest independent calls with ``exceedances`` of them over budget that PASS."""
    eps = 1.0 - quantile
    if eps <= 0.0:
        raise ValueError("a p100 budget can never be proven met by sampling")
    goal = math.log(1.0 / alpha)
    lo = exceedances + 1
    hi = lo
    while pass_evidence(hi, exceedances, eps) < goal:
        hi *= 2
        if hi > 1 << 40:
            raise ValueError(f"{exceedances} exceedances can never pass at this level")
    while lo < hi:
        mid = (lo + hi) // 2
        if pass_evidence(mid, exceedances, eps) >= goal:
            hi = mid
        else:
            lo = mid + 1
    return lo


def calls_to_decide(
    n: float, t: float, eps: float, alpha: float, outcome: str, *, limit: float = 1e6
) -> float | None:
    """How many calls (in the units of ``n``) a verdict of ``outcome`` would need if the
    share of exceedances stayed at ``t / n``: the smallest ``n'`` >= ``n`` whose evidence
    reaches ``1 / alpha``; None when none up to ``limit`` times ``n`` does (the share is
    on the other side of ``eps``, or too close to it).

    A projection for planning how long to sample, never a verdict: the verdict is judged
    on the calls actually made.
    """
    if n <= 0:
        return None
    share = t / n
    evidence = pass_evidence if outcome == "pass" else fail_evidence
    goal = math.log(1.0 / alpha)

    def reached(m: float) -> bool:
        return evidence(n * m, share * n * m, eps) >= goal

    if reached(1.0):
        return n
    hi = 2.0
    while not reached(hi):
        hi *= 2.0
        if hi > limit:
            return None
    lo = hi / 2.0
    while hi - lo > 0.01 * lo:
        mid = (lo + hi) / 2.0
        if reached(mid):
            hi = mid
        else:
            lo = mid
    return n * hi


#: The lower-tail probability of the chi-square quantile that bounds an inflation estimate.
_INFLATION_BOUND = 0.1
_Z_INFLATION_BOUND = -1.2815515655446004  # the standard normal quantile of 0.1


def _chi2_quantile(freedom: float, probability: float) -> float:
    """Chi-square quantile (Wilson-Hilferty); ``probability`` must be _INFLATION_BOUND."""
    if probability != _INFLATION_BOUND:
        raise ValueError("only the inflation bound's quantile is tabulated")
    c = 2.0 / (9.0 * freedom)
    return freedom * max(1e-3, 1.0 - c + _Z_INFLATION_BOUND * math.sqrt(c)) ** 3


def inflation(
    counts: npt.NDArray[np.int64],
    calls: npt.NDArray[np.int64],
    blocks: npt.NDArray[np.int64],
    *,
    blocks_then: int | None = None,
) -> float:
    """Variance inflation of an exceedance count from dependence, by batch means.

    ``counts`` and ``calls`` are per chunk of calls (exceedances and calls), ``blocks``
    the time-block each chunk falls in (0 .. K-1, in time order). Independent calls give
    about 1. Blocks are compared with the overall share (batch means); when neighbouring
    blocks still agree (a positive lag-1 correlation of block residuals beyond one
    standard error),
    the dependence outlasts a block and the inflation grows by ``(1 + r) / (1 - r)``.
    The estimate is then raised to an upper bound for the number of blocks it rests on.
    Returns at least 1, so it can only make a verdict more cautious.

    ``blocks_then`` (a projection, never a verdict): the bound as it would be if the same
    estimate rested on that many blocks, as it will later in a run that goes on.
    """
    import numpy as np

    k = int(blocks[-1]) + 1 if blocks.size else 0
    total = float(calls.sum())
    hits = float(counts.sum())
    if k < 3 or total <= 0 or hits <= 0 or hits >= total:
        return 1.0
    s = np.bincount(blocks, weights=counts, minlength=k)
    m = np.bincount(blocks, weights=calls, minlength=k)
    keep = m > 0
    s, m = s[keep], m[keep]
    k = int(s.size)
    if k < 3:
        return 1.0
    share = hits / total
    residuals = s - share * m
    between = float(np.sum(residuals**2)) * k / (k - 1)
    binomial = share * (1.0 - share) * total
    factor = between / binomial
    freedom = float(max(k, blocks_then or 0) - 1)
    denominator = float(np.sum(residuals**2))
    if denominator > 0:
        lag1 = float(np.sum(residuals[1:] * residuals[:-1])) / denominator
        if lag1 > 1.0 / math.sqrt(k):
            # Dependence outlasting a block: neighbouring blocks agree, so the blocks are
            # worth fewer independent ones than their number.
            lag1 = min(lag1, 0.95)
            factor *= (1.0 + lag1) / (1.0 - lag1)
            freedom = max(2.0, freedom * (1.0 - lag1) / (1.0 + lag1))
    # An estimate from few blocks can fall short by chance: take an upper bound (the
    # batch-means variance has about `freedom` degrees of freedom).
    factor *= freedom / _chi2_quantile(freedom, _INFLATION_BOUND)
    return max(1.0, factor)


def level_uncertainty(levels: npt.NDArray[np.float64], blocks: npt.NDArray[np.int64]) -> float:
    """How far the run's typical latency may lie from the long run's, in log units.

    ``levels`` is one value per chunk of calls (the log of its median), ``blocks`` the
    time-block each chunk falls in (0 .. K-1, in time order). The blocks' mean levels
    vary by chance (the chunks within a block show how much) and by the machine's level
    moving; the second, the between-block variance beyond the first, is what a run that
    saw only part of a slow movement cannot average out. Only a level that drifts or
    wanders counts: neighbouring blocks that agree (a positive lag-1 correlation beyond
    one standard error); they count as fewer blocks, as in :func:`inflation`, and the
    estimate is raised to the same upper bound for the blocks it rests on. A level that
    jitters from block to block is what the exceedances' own test (batch means) allows
    for. Returns the standard error of the run's mean level; 0 when the level did not
    move beyond chance, only jittered, or fewer than 3 blocks hold two chunks.

    Exceedance counts at a threshold cannot see this: a run whose latency sat well under
    the threshold while its level wandered counts few exceedances with little variance,
    however far the next minutes may take the level.
    """
    import numpy as np

    if levels.size == 0:
        return 0.0
    k = int(blocks.max()) + 1
    count = np.bincount(blocks, minlength=k).astype(np.float64)
    total = np.bincount(blocks, weights=levels, minlength=k)
    squares = np.bincount(blocks, weights=levels * levels, minlength=k)
    keep = count >= 2
    if int(keep.sum()) < 3:
        return 0.0
    count, total, squares = count[keep], total[keep], squares[keep]
    means = total / count
    within = np.maximum(squares - total * means, 0.0) / (count - 1.0)
    k = int(means.size)
    residuals = means - float(means.mean())
    between = float(np.sum(residuals**2)) / (k - 1)
    excess = between - float(np.mean(within / count))
    if excess <= 0.0:
        return 0.0
    denominator = float(np.sum(residuals**2))
    lag1 = float(np.sum(residuals[1:] * residuals[:-1])) / denominator
    if lag1 <= 1.0 / math.sqrt(k):
        return 0.0  # a level that jitters: what the exceedances' own test allows for
    lag1 = min(lag1, 0.95)
    factor = (1.0 + lag1) / (1.0 - lag1)
    freedom = max(2.0, (k - 1) * (1.0 - lag1) / (1.0 + lag1))
    factor *= freedom / _chi2_quantile(freedom, _INFLATION_BOUND)
    return math.sqrt(excess * factor / k)


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
