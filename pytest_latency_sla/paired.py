"""Base and head measured side by side: interleaved chunks, a paired judgement of the ratio.

No pytest, no onnxruntime, no clock of its own. A comparison of two stored runs is at
the mercy of the machine's state in each: on shared runners unchanged code drifts by
tens of percent between runs. Measured in the same minutes, chunk by chunk, the two
sides share every state of the machine, and a paired judgement cancels it (Chromium's
Pinpoint and Duet benchmarking do the same).

The procedure:

* **Warm up** both callables, alternately, as the sampler does one.
* **Blocks.** Each block is one chunk of base calls and one chunk of head calls (about
  ``chunk_time`` each), in a random order per block (seeded), so that neither side
  always runs first after the other.
* **The median ratio.** Per block, the log of the ratio of the two chunks' medians; the
  ratio head/base is the exponential of their mean, with a Student interval over blocks
  (blocks are nearly independent once paired: what moves both sides cancels), widened
  when neighbouring blocks still agree (lag-1 correlation, as for the verdict).
* **The percentile ratio** (the budget's percentile): the ratio of the pooled
  percentiles, with a block-bootstrap interval (blocks resampled whole).
* **The outcome** of an interval against a change of interest ``delta``: regression when
  it lies above 1, improvement below 1, unchanged when it lies within
  ``[1 / (1 + delta), 1 + delta]``, else unknown; and the smallest change this run could
  have detected. Sampling stops once the outcome is known and, for a regression, also
  whether it is beyond ``delta`` (what a gate on ``delta`` decides).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .stats import percentile_ns

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy.typing as npt

    from .plan import SamplingPlan

__all__ = [
    "PairedSampling",
    "RatioEstimate",
    "blocks_to_settle",
    "judge_ratio",
    "looks_beyond",
    "sample_pair",
    "settled",
    "student_t",
]

#: Outcomes of a comparison.
OUTCOMES = ("regression", "improvement", "unchanged", "unknown")
#: Blocks at the least before a comparison may stop early.
MIN_BLOCKS = 20
#: Bootstrap resamples for a percentile ratio's interval.
BOOTSTRAP = 400


@dataclass(frozen=True, eq=False)
class PairedSampling:
    """What was observed: the chunks of each side, block by block."""

    #: Per block, the base chunk and the head chunk (ns per call), in block order.
    base: tuple[npt.NDArray[np.int64], ...]
    head: tuple[npt.NDArray[np.int64], ...]
    #: Per block, True when head ran first.
    head_first: tuple[bool, ...]
    duration_ns: int
    warmup_calls: tuple[int, int]
    #: Why sampling stopped: "decided" (the comparison's question answered), "max_time",
    #: "time_limit" (extended past max_time, then out of time) or "unreachable"
    #: (extended, then no longer projected to settle in time).
    stop_reason: str = "decided"
    #: The time both warmups took, before the blocks (``duration_ns`` is the blocks').
    warmup_ns: int = 0

    @property
    def blocks(self) -> int:
        return len(self.base)

    def pooled(self, side: str) -> npt.NDArray[np.int64]:
        chunks = self.base if side == "base" else self.head
        return np.concatenate(chunks) if chunks else np.empty(0, dtype=np.int64)


@dataclass(frozen=True)
class RatioEstimate:
    """A ratio head/base with its interval, judged against a change of interest."""

    ratio: float
    low: float
    high: float
    confidence: float
    #: "regression", "improvement", "unchanged" or "unknown".
    outcome: str
    #: The smallest change (a fraction, 0.05 = 5%) this run could have told from none.
    detectable: float

    def triple(self) -> list[float] | None:
        """``[ratio, low, high]`` as reports hold it; None without a ratio (too few
        blocks: a slow model's few side by side)."""
        return [self.ratio, self.low, self.high] if math.isfinite(self.ratio) else None


def student_t(freedom: float, probability: float) -> float:
    """Student's t quantile (upper tail ``1 - probability``), by the Cornish-Fisher
    expansion of the normal quantile: within 1% from 3 degrees of freedom."""
    z = _normal_quantile(probability)
    v = max(freedom, 1.0)
    g1 = (z**3 + z) / 4.0
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96.0
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384.0
    return z + g1 / v + g2 / v**2 + g3 / v**3


def _normal_quantile(p: float) -> float:
    """The standard normal quantile (Acklam's rational approximation, error < 1.2e-9
    after one Newton step)."""
    if not 0.0 < p < 1.0:
        raise ValueError("probability must be in (0, 1)")
    a = (-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.3577518672690,
         -30.66479806614716, 2.506628277459239)  # fmt: skip
    b = (-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972,
         -13.28068155288572)  # fmt: skip
    c = (-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734,
         4.374664141464968, 2.938163982698783)  # fmt: skip
    d = (0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416)
    low = 0.02425
    if p < low:
        q = math.sqrt(-2 * math.log(p))
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1
        )
    elif p > 1 - low:
        return -_normal_quantile(1 - p)
    else:
        q = p - 0.5
        r = q * q
        x = (
            (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5])
            * q
            / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        )
    # One Newton step on the normal CDF.
    e = 0.5 * math.erfc(-x / math.sqrt(2)) - p
    u = e * math.sqrt(2 * math.pi) * math.exp(x * x / 2)
    return x - u / (1 + x * u / 2)


def settled(estimate: RatioEstimate, delta: float) -> bool:
    """Whether sampling more could change what the comparison says: known once the
    outcome is, and, for a regression, once it is also known whether it is beyond
    ``delta`` (the interval lies above ``1 + delta``, or ends below it), which is what a
    gate on ``delta`` decides."""
    if estimate.outcome == "unknown":
        return False
    if estimate.outcome == "regression":
        return estimate.low > 1.0 + delta or estimate.high <= 1.0 + delta
    return True


def looks_beyond(estimate: RatioEstimate, delta: float) -> bool:
    """Whether the ratio, as measured so far, lies beyond the gate ``1 + delta``: a
    likely regression whose gate question is open is sampled on to the time limit even
    when the blocks so far do not project an answer by then, and even if its ratio then
    dips under the gate (the projection is only as good as the ratio it starts from: a
    true 1.25x that reads 1.15x at ``max_time`` projects far too many blocks, and moves
    back towards 1.25x as sampling goes on)."""
    return estimate.ratio > 1.0 + delta


def blocks_to_settle(estimate: RatioEstimate, delta: float, blocks: int) -> float:
    """The blocks after which the median comparison would be :func:`settled`, were the
    ratio and the spread of the blocks to stay as seen so far (the interval narrows as
    one over the square root of the blocks); infinite when it cannot settle.

    The half-width the interval must shrink to: from the ratio to the gate ``1 + delta``
    when beyond it, to within ``1 + delta`` either way when inside, to 1 when faster than
    ``1 / (1 + delta)``.
    """
    if not (estimate.low > 0 and math.isfinite(estimate.high) and estimate.ratio > 0):
        return math.inf
    middle = math.log(estimate.ratio)
    half = (math.log(estimate.high) - math.log(estimate.low)) / 2.0
    gate = math.log1p(delta)
    if middle > gate:
        target = middle - gate
    elif middle >= -gate:
        target = gate - abs(middle)
    else:
        target = -middle
    if target <= 1e-12:  # at the boundary (up to rounding): no number of blocks does
        return math.inf
    return blocks * (half / target) ** 2


def _outcome(low: float, high: float, delta: float) -> str:
    # Within the change of interest either way first: a model 0.3% slower, told apart
    # with confidence, is no "regression" under a 10% gate (a trial).
    if low >= 1.0 / (1.0 + delta) and high <= 1.0 + delta:
        return "unchanged"
    if low > 1.0:
        return "regression"
    if high < 1.0:
        return "improvement"
    return "unknown"


def judge_ratio(
    paired: PairedSampling, confidence: float, delta: float, quantile: float = 0.5
) -> RatioEstimate:
    """The ratio head/base at ``quantile`` (a fraction), with its interval and outcome.

    The median (``quantile`` 0.5) is judged on per-block paired log ratios; any other
    quantile on the pooled samples, with blocks resampled whole (seeded: the same
    samples give the same interval).
    """
    if paired.blocks < 3:
        return RatioEstimate(math.nan, 0.0, math.inf, confidence, "unknown", math.inf)
    if quantile == 0.5:
        return _median_ratio(paired, confidence, delta)
    return _percentile_ratio(paired, confidence, delta, quantile)


def _block_log_ratio(base: npt.NDArray[np.int64], head: npt.NDArray[np.int64]) -> float:
    """One block's log ratio of medians, head over base."""
    return math.log(float(np.median(head)) / float(np.median(base)))


def _median_ratio(paired: PairedSampling, confidence: float, delta: float) -> RatioEstimate:
    logs = [_block_log_ratio(b, h) for b, h in zip(paired.base, paired.head, strict=True)]
    return _median_ratio_of(np.array(logs), confidence, delta)


def _median_ratio_of(
    logs: npt.NDArray[np.float64], confidence: float, delta: float
) -> RatioEstimate:
    """The median ratio from the blocks' log ratios (at least 3 blocks)."""
    k = logs.size
    mean = float(logs.mean())
    sd = float(logs.std(ddof=1)) if k > 1 else math.inf
    freedom = float(k - 1)
    residuals = logs - mean
    denominator = float(np.sum(residuals**2))
    inflation = 1.0
    if denominator > 0:
        lag1 = float(np.sum(residuals[1:] * residuals[:-1])) / denominator
        if lag1 > 1.0 / math.sqrt(k):
            lag1 = min(lag1, 0.95)
            inflation = (1.0 + lag1) / (1.0 - lag1)
            freedom = max(2.0, freedom / inflation)
    half = student_t(freedom, 1.0 - (1.0 - confidence) / 2.0) * sd * math.sqrt(inflation / k)
    low, high = math.exp(mean - half), math.exp(mean + half)
    # 80% power at this confidence: (z_alpha/2 + z_0.8) standard errors.
    power = student_t(freedom, 0.8)
    detectable = math.exp(half + power * sd * math.sqrt(inflation / k)) - 1.0
    return RatioEstimate(
        math.exp(mean), low, high, confidence, _outcome(low, high, delta), detectable
    )


def _percentile_ratio(
    paired: PairedSampling, confidence: float, delta: float, quantile: float
) -> RatioEstimate:
    q = quantile * 100.0

    def ratio(indices: npt.NDArray[np.int64]) -> float:
        base = np.sort(np.concatenate([paired.base[i] for i in indices]))
        head = np.sort(np.concatenate([paired.head[i] for i in indices]))
        return percentile_ns(head, q) / max(percentile_ns(base, q), 1.0)

    every = np.arange(paired.blocks, dtype=np.int64)
    point = ratio(every)
    rng = np.random.default_rng(paired.blocks)
    draws = np.array(
        [ratio(rng.integers(0, paired.blocks, paired.blocks)) for _ in range(BOOTSTRAP)]
    )
    tail = (1.0 - confidence) / 2.0
    low, high = (float(v) for v in np.quantile(draws, [tail, 1.0 - tail]))
    detectable = max(high / point, point / max(low, 1e-12)) - 1.0
    return RatioEstimate(point, low, high, confidence, _outcome(low, high, delta), detectable)


def sample_pair(
    base: Callable[[], object],
    head: Callable[[], object],
    plan: SamplingPlan,
    *,
    confidence: float = 0.95,
    delta: float = 0.05,
    seed: int = 0,
    clock: Callable[[], int] = time.perf_counter_ns,
    pursue: bool = False,
) -> PairedSampling:
    """Time ``base`` and ``head`` in interleaved blocks until the comparison is
    :func:`settled` (after ``min_time`` and ``MIN_BLOCKS`` blocks) or time runs out.

    ``plan`` gives the warmup, the chunk length, ``min_time`` and ``max_time``; the
    comparison judges at ``confidence`` against a change of interest ``delta``. At
    ``max_time``, unsettled, sampling goes on up to ``plan.limit_ns`` while the blocks so
    far project it to settle before then (:func:`blocks_to_settle`, at the time per block
    so far), as a verdict's sampling does, though without its reach past the limit
    (``sampling.PROJECTION_REACH``): on a contended runner the interval is wider,
    and a gate's question takes longer to answer. With ``pursue`` (a gate on ``delta``
    is set), also once the ratio :func:`looks_beyond` the gate.
    """
    rng = np.random.default_rng(seed)
    warm_start = clock()
    per_call = [_warm_up(base, plan, clock), _warm_up(head, plan, clock)]
    warm = (per_call[0][1], per_call[1][1])
    sizes = [_chunk(plan, per_call[0][0]), _chunk(plan, per_call[1][0])]
    calls = (base, head)
    chunks: tuple[list[npt.NDArray[np.int64]], list[npt.NDArray[np.int64]]] = ([], [])
    logs: list[float] = []  # per block, as judge_ratio takes them (each computed once)
    order: list[bool] = []
    start = clock()
    warmup_ns = start - warm_start
    reason = "decided"
    extended = False  # sampling went on past max_time
    pursued = False  # past max_time, the ratio looked beyond the gate
    while True:
        head_first = bool(rng.integers(0, 2))
        order.append(head_first)
        for side in (1, 0) if head_first else (0, 1):
            timings = _time_chunk(calls[side], sizes[side], clock)
            chunks[side].append(timings)
            sizes[side] = _chunk(plan, float(timings.mean()))
        logs.append(_block_log_ratio(chunks[0][-1], chunks[1][-1]))
        elapsed = clock() - start
        if elapsed < plan.min_time_ns or len(order) < MIN_BLOCKS:
            if elapsed < plan.max_time_ns:
                continue
            # A slow model has few blocks at max_time: it goes on toward MIN_BLOCKS while
            # they are projected to come before the limit (a settled comparison, or a
            # likely regression to pursue, needs them).
            if elapsed >= plan.limit_ns or MIN_BLOCKS * elapsed / len(order) > plan.limit_ns:
                reason = "time_limit" if extended else "max_time"
                break
            extended = True
            continue
        estimate = _median_ratio_of(np.array(logs), confidence, delta)
        if settled(estimate, delta):
            break
        if elapsed < plan.max_time_ns:
            continue
        if elapsed >= plan.limit_ns:
            reason = "time_limit" if extended else "max_time"
            break
        # A likely regression is pursued to the limit: a dip of its ratio under the gate
        # is no reason to stop (stopping there would keep the runs that happen to look
        # best, and pass them).
        pursued = pursued or (pursue and looks_beyond(estimate, delta))
        needed = blocks_to_settle(estimate, delta, len(order))
        if needed * elapsed / len(order) > plan.limit_ns and not pursued:
            reason = "unreachable" if extended else "max_time"
            break
        extended = True
    duration = clock() - start
    return PairedSampling(
        tuple(chunks[0]), tuple(chunks[1]), tuple(order), duration, warm, reason, warmup_ns
    )


def _warm_up(
    call: Callable[[], object], plan: SamplingPlan, clock: Callable[[], int]
) -> tuple[float, int]:
    """Warm ``call`` up as the sampler does; (ns per call lately, calls made)."""
    start = clock()
    calls = 0
    per_call = 0.0
    while True:
        elapsed = clock() - start
        enough = calls >= plan.warmup_calls and elapsed >= plan.warmup_time_ns
        if enough or (calls >= 1 and elapsed >= plan.warmup_cap_ns):
            return per_call, calls
        t0 = clock()
        call()
        per_call = float(clock() - t0)
        calls += 1


def _chunk(plan: SamplingPlan, ns_per_call: float) -> int:
    return max(1, min(10_000, int(plan.chunk_time_ns / max(ns_per_call, 1.0))))


def _time_chunk(
    call: Callable[[], object], size: int, clock: Callable[[], int]
) -> npt.NDArray[np.int64]:
    out = np.empty(size, dtype=np.int64)
    for i in range(size):
        t0 = clock()
        call()
        out[i] = clock() - t0
    return out
