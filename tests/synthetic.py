"""Synthetic latency sources with a known truth, measured by the real sampler on a fake clock.

A test and benchmark harness, not part of the plugin: tests import it as a sibling module,
and ``benchmarks/calibration.py`` puts ``tests/`` on ``sys.path`` to use it. It needs numpy
and the plugin's sampler, no pytest and no onnxruntime.

Each :class:`Distribution` is a latency model whose percentiles are known exactly
(closed-form CDFs, solved by bisection), so a verdict can be scored against the truth. A
:class:`SyntheticSource` is the measured callable: every call advances a
:class:`FakeClock` by the next synthetic latency, and nothing else moves that clock, so
the real :func:`~pytest_latency_sla.sampling.sample` runs unchanged, at the speed of its
Python loop, with caps and settle times in synthetic time.

:func:`run_cell` drives ``sample()`` for many seeded trials of one (distribution,
percentile, ratio) cell, where *ratio* is the true percentile divided by the budget, and
counts the verdicts, the wrong ones (a pass when the truth is at least 1.1x the budget, a
fail when it is at most 0.9x), the samples and the synthetic time they took. It also
scores the usual workaround with pytest-benchmark: "the median of a benchmark run is below
the budget, so the SLA is met" (:func:`peer_median_verdict`).

Latencies are scaled so that the mean call takes ``ratio * mean_ns`` (200 µs by default):
slow enough that a trial of a few thousand calls costs milliseconds of real time, fast
enough that the default caps (3 s of sampling) allow tens of thousands of calls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

from pytest_latency_sla.sampling import SamplingPlan, sample

if TYPE_CHECKING:
    from collections.abc import Iterator

    import numpy.typing as npt

__all__ = [
    "DEFAULT_MEAN_NS",
    "DISTRIBUTIONS",
    "PERCENTILES",
    "RATIOS",
    "STRESS_DISTRIBUTIONS",
    "WRONG_FAIL_AT_OR_BELOW",
    "WRONG_PASS_AT_OR_ABOVE",
    "Cell",
    "CellResult",
    "Component",
    "Distribution",
    "FakeClock",
    "LogNormal",
    "Pareto",
    "SyntheticSource",
    "Trial",
    "is_wrong",
    "peer_median_verdict",
    "run_cell",
    "run_trial",
]

US = 1_000
MS = 1_000_000
S = 1_000_000_000

#: The grid of ``benchmarks/calibration.py``: percentiles and ratios of truth to budget.
PERCENTILES: tuple[float, ...] = (50.0, 95.0, 99.0)
RATIOS: tuple[float, ...] = (0.5, 0.8, 0.9, 1.1, 1.25, 2.0)
#: A pass is wrong when the true percentile is at least this multiple of the budget ...
WRONG_PASS_AT_OR_ABOVE = 1.1
#: ... and a fail is wrong when it is at most this multiple.
WRONG_FAIL_AT_OR_BELOW = 0.9

#: Mean latency of a call at ratio 1 (ns); a cell at ratio r has mean ``r * DEFAULT_MEAN_NS``.
DEFAULT_MEAN_NS = 200 * US
#: The cold first call is this many times a typical call, the next few this much slower,
#: like an onnxruntime session (its first call costs 55-70x a steady-state one, see
#: docs/verdicts.md), so the sampler's warmup is exercised.
COLD_FACTOR = 50.0
WARMING_CALLS = 10
WARMING_FACTOR = 1.5
#: pytest-benchmark's defaults: --benchmark-max-time=1.0, --benchmark-min-rounds=5,
#: --benchmark-warmup-iterations=100000.
PEER_MAX_TIME_NS = 1 * S
PEER_MIN_ROUNDS = 5
PEER_WARMUP_ITERATIONS = 100_000

_SQRT2 = math.sqrt(2.0)
_BLOCK = 4_096


class FakeClock:
    """A nanosecond clock that moves only when the measured callable advances ``now``.

    ``read_ns`` makes every read cost that much (the read advances the clock first), like
    the overhead of a real clock; by default reading is free.
    """

    __slots__ = ("now", "read_ns")

    def __init__(self, read_ns: int = 0) -> None:
        self.now = 0
        self.read_ns = read_ns

    def __call__(self) -> int:
        self.now += self.read_ns
        return self.now


class Component(Protocol):
    """One latency distribution, in arbitrary units (scaled to nanoseconds later)."""

    @property
    def mean(self) -> float: ...

    def sf(self, x: float) -> float:
        """``P[X > x]``."""
        ...

    def draw(self, rng: np.random.Generator, size: int) -> npt.NDArray[np.float64]: ...


@dataclass(frozen=True)
class LogNormal:
    """``median * exp(sigma * Z)`` with ``Z`` standard normal."""

    median: float
    sigma: float

    @property
    def mean(self) -> float:
        return self.median * math.exp(self.sigma**2 / 2.0)

    def sf(self, x: float) -> float:
        if x <= 0.0:
            return 1.0
        return 0.5 * math.erfc(math.log(x / self.median) / (self.sigma * _SQRT2))

    def draw(self, rng: np.random.Generator, size: int) -> npt.NDArray[np.float64]:
        return self.median * np.exp(self.sigma * rng.standard_normal(size))


@dataclass(frozen=True)
class Pareto:
    """Pareto (type I): ``P[X > x] = (scale / x) ** alpha`` for ``x >= scale``."""

    scale: float
    alpha: float

    @property
    def mean(self) -> float:
        return math.inf if self.alpha <= 1.0 else self.alpha * self.scale / (self.alpha - 1.0)

    def sf(self, x: float) -> float:
        return 1.0 if x <= self.scale else (self.scale / x) ** self.alpha

    def draw(self, rng: np.random.Generator, size: int) -> npt.NDArray[np.float64]:
        # numpy's pareto() is the Lomax (type II) distribution: shift it to type I.
        return self.scale * (1.0 + rng.pareto(self.alpha, size))


@dataclass(frozen=True)
class Distribution:
    """A latency model with an exactly known marginal distribution per call.

    Without ``regime_ms`` each call independently draws from component ``i`` with
    probability ``weights[i]``. With it, the components are *regimes* that take turns
    (0, 1, 0, 1, ...): regime ``i`` lasts for a duration drawn uniformly from
    ``regime_ms[i]`` milliseconds of synthetic time, turned into a number of calls by
    randomized rounding (``floor(D / mean_i + U)``, whose expectation is exactly
    ``D / mean_i``). By renewal-reward the long-run share of calls in regime ``i`` is
    then ``E[D_i] / mean_i`` normalized, independently of the time scale: that share is
    the marginal weight, and the truth is the mixture's percentile.
    """

    name: str
    description: str
    components: tuple[Component, ...]
    weights: tuple[float, ...] = ()
    regime_ms: tuple[tuple[float, float], ...] | None = None

    def __post_init__(self) -> None:
        if self.regime_ms is None and len(self.weights) != len(self.components):
            raise ValueError("an independent mixture needs one weight per component")
        if self.regime_ms is not None and len(self.regime_ms) != len(self.components):
            raise ValueError("a regime-switching source needs one duration range per regime")

    @property
    def marginal_weights(self) -> tuple[float, ...]:
        """The long-run share of calls drawn from each component."""
        if self.regime_ms is None:
            total = sum(self.weights)
            return tuple(w / total for w in self.weights)
        calls = [
            (lo + hi) / 2.0 / comp.mean
            for (lo, hi), comp in zip(self.regime_ms, self.components, strict=True)
        ]
        return tuple(c / sum(calls) for c in calls)

    @property
    def mean(self) -> float:
        """Mean latency per call, in the distribution's units."""
        return sum(w * c.mean for w, c in zip(self.marginal_weights, self.components, strict=True))

    def sf(self, x: float) -> float:
        """``P[latency > x]`` for one call of the stationary process."""
        return sum(w * c.sf(x) for w, c in zip(self.marginal_weights, self.components, strict=True))

    def quantile(self, percentile: float) -> float:
        """The true ``percentile`` (in percent), by bisection on the closed-form tail."""
        return _quantile(self, percentile)

    def cell(self, percentile: float, ratio: float, mean_ns: float = DEFAULT_MEAN_NS) -> Cell:
        """The budget and latency scale that put the true percentile at ``ratio`` x budget.

        The budget is the true percentile of the source at ratio 1, whose mean call is
        ``mean_ns``; at ``ratio`` the source is that one slowed down (or sped up) by
        ``ratio``, so the true percentile is exactly ``ratio * budget``.
        """
        unit_ns = mean_ns / self.mean
        budget_ns = self.quantile(percentile) * unit_ns
        return Cell(self, percentile, ratio, budget_ns, ratio * unit_ns)


_QUANTILES: dict[tuple[str, float], float] = {}


def _quantile(dist: Distribution, percentile: float) -> float:
    key = (dist.name, percentile)
    cached = _QUANTILES.get(key)
    if cached is not None:
        return cached
    if not 0.0 < percentile < 100.0:
        raise ValueError("percentile must be in (0, 100)")
    target = 1.0 - percentile / 100.0
    lo, hi = 1e-9, 1.0
    while dist.sf(hi) > target:
        hi *= 2.0
    # Bisection in log space, to full double precision.
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        if dist.sf(mid) > target:
            lo = mid
        else:
            hi = mid
        if hi / lo - 1.0 < 1e-13:
            break
    _QUANTILES[key] = hi
    return hi


@dataclass(frozen=True)
class Cell:
    """One calibration cell: a distribution scaled so its percentile is ratio x budget."""

    distribution: Distribution
    percentile: float
    ratio: float
    #: The budget judged against, in nanoseconds.
    budget_ns: float
    #: Nanoseconds per unit of the distribution.
    scale_ns: float

    @property
    def truth_ns(self) -> float:
        """The true percentile of the scaled source, in nanoseconds."""
        return self.distribution.quantile(self.percentile) * self.scale_ns


class SyntheticSource:
    """The measured callable: each call advances ``clock`` by the next synthetic latency.

    Latencies are generated in blocks with numpy (one regime at a time for regime
    switching sources), so a call costs well under a microsecond of real time. The first
    call is a cold call (``COLD_FACTOR`` x its draw) and the next ``WARMING_CALLS`` are
    ``WARMING_FACTOR`` slower, like a real onnxruntime session.
    """

    def __init__(
        self,
        cell: Cell,
        rng: np.random.Generator,
        clock: FakeClock | None = None,
        *,
        cold: bool = True,
    ) -> None:
        self.clock = clock if clock is not None else FakeClock()
        self.calls = 0
        self._blocks = _blocks(cell, rng)
        first = next(self._blocks).astype(np.float64)
        if cold:
            first[:WARMING_CALLS] *= WARMING_FACTOR
            first[0] *= COLD_FACTOR / WARMING_FACTOR
        self._it: Iterator[int] = iter(_to_ns(first).tolist())

    def __call__(self) -> None:
        try:
            latency = next(self._it)
        except StopIteration:
            self._it = iter(next(self._blocks).tolist())
            latency = next(self._it)
        self.clock.now += latency
        self.calls += 1

    def take(self, count: int) -> npt.NDArray[np.int64]:
        """The next ``count`` latencies as an array, without touching the clock (bulk use)."""
        parts: list[npt.NDArray[np.int64]] = []
        rest = np.array(list(self._it), dtype=np.int64)
        while True:
            if rest.size >= count:
                self._it = iter(rest[count:].tolist())
                parts.append(rest[:count])
                break
            parts.append(rest)
            count -= int(rest.size)
            rest = next(self._blocks)
        self.calls += sum(int(p.size) for p in parts)
        return np.concatenate(parts)


def _to_ns(values: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    return np.maximum(1, np.rint(values)).astype(np.int64)


def _blocks(cell: Cell, rng: np.random.Generator) -> Iterator[npt.NDArray[np.int64]]:
    """Endless blocks of latencies in nanoseconds."""
    dist = cell.distribution
    scale = cell.scale_ns
    comps = dist.components
    if dist.regime_ms is None:
        cumulative = np.cumsum(dist.marginal_weights)
        cumulative[-1] = 1.0
        while True:
            which = np.searchsorted(cumulative, rng.random(_BLOCK), side="right")
            values = np.empty(_BLOCK, dtype=np.float64)
            for i, comp in enumerate(comps):
                mask = which == i
                values[mask] = comp.draw(rng, int(mask.sum()))
            yield _to_ns(values * scale)
    regimes = dist.regime_ms
    means_ns = [c.mean * scale for c in comps]
    # Start in a regime chosen by its share of time, part-way through it, so the
    # process is (close to) stationary from the first call.
    time_share = np.array([(lo + hi) / 2.0 for lo, hi in regimes])
    regime = int(rng.choice(len(comps), p=time_share / time_share.sum()))
    fraction = float(rng.random())
    while True:
        lo, hi = regimes[regime]
        duration_ns = rng.uniform(lo, hi) * MS * fraction
        calls = math.floor(duration_ns / means_ns[regime] + rng.random())
        fraction = 1.0
        if calls > 0:
            yield _to_ns(comps[regime].draw(rng, calls) * scale)
        regime = (regime + 1) % len(comps)


# --- the distributions --------------------------------------------------------------------

LOGNORMAL = Distribution(
    "lognormal",
    "lognormal, sigma 0.5 (p99/p50 = 3.2)",
    (LogNormal(1.0, 0.5),),
    (1.0,),
)
BIMODAL = Distribution(
    "bimodal",
    "80% lognormal(1, 0.15) + 20% lognormal(2.5, 0.15), independent calls",
    (LogNormal(1.0, 0.15), LogNormal(2.5, 0.15)),
    (0.8, 0.2),
)
HEAVY_TAILED = Distribution(
    "heavy-tailed",
    "95% lognormal(1, 0.25) + 5% Pareto(scale 1.5, alpha 1.5: infinite variance)",
    (LogNormal(1.0, 0.25), Pareto(1.5, 1.5)),
    (0.95, 0.05),
)
BURSTY = Distribution(
    "bursty",
    "regimes taking turns: fast lognormal(1, 0.2) for 20-200 ms, then slow "
    "lognormal(1.75, 0.2) for 10-80 ms of synthetic time (like a small model flipping "
    "between about 5.7 and 10 µs on a shared machine)",
    (LogNormal(1.0, 0.2), LogNormal(1.75, 0.2)),
    regime_ms=((20.0, 200.0), (10.0, 80.0)),
)

#: The four distributions of the calibration grid, by name.
DISTRIBUTIONS: dict[str, Distribution] = {
    d.name: d for d in (LOGNORMAL, BIMODAL, HEAVY_TAILED, BURSTY)
}

#: Harder than the measurements: bursts that change latency by more than the quick
#: rule's 2x, and quiet spells longer than a quick verdict's window. They found the
#: wrong quick verdicts that the warmup check in ``sampling._look`` now prevents.
STRESS_DISTRIBUTIONS: dict[str, Distribution] = {
    d.name: d
    for d in (
        Distribution(
            "rare-3x-bursts",
            "fast lognormal(1, 0.2) for 200-1000 ms, then 3x slower lognormal(3, 0.2) for 10-80 ms",
            (LogNormal(1.0, 0.2), LogNormal(3.0, 0.2)),
            regime_ms=((200.0, 1000.0), (10.0, 80.0)),
        ),
        Distribution(
            "spiky-bursts",
            "fast lognormal(1, 0.3) for 20-200 ms, then Pareto(scale 2, alpha 1.5) "
            "spikes for 10-80 ms",
            (LogNormal(1.0, 0.3), Pareto(2.0, 1.5)),
            regime_ms=((20.0, 200.0), (10.0, 80.0)),
        ),
    )
}


# --- the harness --------------------------------------------------------------------------


@dataclass(frozen=True)
class Trial:
    """One measurement of one cell."""

    #: "pass", "fail" or "inconclusive".
    outcome: str
    #: Timed samples the verdict rested on.
    samples: int
    #: Synthetic time of the whole measurement (cold call, warmup and sampling), ns.
    elapsed_ns: int


def run_trial(cell: Cell, rng: np.random.Generator, plan: SamplingPlan) -> Trial:
    """One measurement of ``cell`` by the real sampler and verdict code."""
    clock = FakeClock()
    source = SyntheticSource(cell, rng, clock)
    result = sample(
        source,
        plan,
        budget_ns=cell.budget_ns,
        quantile=cell.percentile / 100.0,
        clock=clock,
        manage_gc=False,
    )
    decision = result.decision
    outcome = decision.outcome if decision is not None and decision.outcome else "inconclusive"
    return Trial(outcome, int(result.samples_ns.size), clock.now)


def peer_median_verdict(cell: Cell, rng: np.random.Generator) -> str:
    """The usual workaround: "pytest-benchmark's median is within the budget".

    Simulates pytest-benchmark with ``--benchmark-warmup=on`` and its defaults on the
    same source: a cold call; calibration warmup for up to 1 s or 100,000 calls, keeping
    the fastest; ``rounds = max(5, ceil(1 s / fastest))``; that many warmup rounds (up
    to 100,000) and then that many timed rounds. Returns "pass" when their median is
    below the budget, else "fail": what a user writes as ``assert stats.median < budget``.
    """
    source = SyntheticSource(cell, rng)
    source.take(1)  # the cold call
    warm: list[npt.NDArray[np.int64]] = []
    spent, count = 0, 0
    while spent < PEER_MAX_TIME_NS and count < PEER_WARMUP_ITERATIONS:
        block = source.take(min(1_000, PEER_WARMUP_ITERATIONS - count))
        warm.append(block)
        spent += int(block.sum())
        count += int(block.size)
    fastest = int(np.concatenate(warm).min())
    rounds = max(PEER_MIN_ROUNDS, math.ceil(PEER_MAX_TIME_NS / fastest))
    source.take(min(rounds, PEER_WARMUP_ITERATIONS))
    timed = source.take(rounds)
    return "pass" if float(np.median(timed)) < cell.budget_ns else "fail"


@dataclass
class CellResult:
    """Counts over the trials of one cell."""

    distribution: str
    percentile: float
    ratio: float
    trials: int = 0
    passed: int = 0
    failed: int = 0
    inconclusive: int = 0
    #: Passes with the truth >= 1.1x the budget plus fails with it <= 0.9x.
    wrong: int = 0
    samples_total: int = 0
    elapsed_ns_total: int = 0
    #: The same for the pytest-benchmark median workaround (0 when not simulated).
    peer_trials: int = 0
    peer_wrong: int = 0
    outcomes: list[str] = field(default_factory=list, repr=False)

    @property
    def wrong_rate(self) -> float:
        return self.wrong / self.trials if self.trials else 0.0

    @property
    def inconclusive_rate(self) -> float:
        return self.inconclusive / self.trials if self.trials else 0.0

    @property
    def mean_samples(self) -> float:
        return self.samples_total / self.trials if self.trials else 0.0

    @property
    def mean_elapsed_s(self) -> float:
        """Mean synthetic time of a measurement, warmup included, in seconds."""
        return self.elapsed_ns_total / self.trials / S if self.trials else 0.0

    @property
    def peer_wrong_rate(self) -> float:
        return self.peer_wrong / self.peer_trials if self.peer_trials else 0.0


def is_wrong(outcome: str, ratio: float) -> bool:
    """Whether a verdict contradicts a truth at ``ratio`` x the budget."""
    if outcome == "pass":
        return ratio >= WRONG_PASS_AT_OR_ABOVE
    if outcome == "fail":
        return ratio <= WRONG_FAIL_AT_OR_BELOW
    return False


def _by_name(name: str) -> Distribution:
    found = DISTRIBUTIONS.get(name) or STRESS_DISTRIBUTIONS.get(name)
    if found is None:
        known = ", ".join([*DISTRIBUTIONS, *STRESS_DISTRIBUTIONS])
        raise ValueError(f"unknown distribution {name!r}; known: {known}")
    return found


def run_cell(
    distribution: Distribution | str,
    percentile: float,
    ratio: float,
    trials: int,
    seed: int,
    plan: SamplingPlan | None = None,
    *,
    peer: bool = True,
    mean_ns: float = DEFAULT_MEAN_NS,
) -> CellResult:
    """Run ``trials`` seeded measurements of one cell and count the verdicts.

    Trial ``i`` draws from ``numpy.random.default_rng([seed, i])`` (and the peer's run
    from ``[seed, i, 1]``), so a cell is reproducible and its trials independent of how
    the grid is split across processes. ``plan`` defaults to the plugin's defaults.
    """
    dist = _by_name(distribution) if isinstance(distribution, str) else distribution
    cell = dist.cell(percentile, ratio, mean_ns)
    the_plan = plan if plan is not None else SamplingPlan()
    result = CellResult(dist.name, percentile, ratio)
    for i in range(trials):
        trial = run_trial(cell, np.random.default_rng([seed, i]), the_plan)
        result.trials += 1
        result.outcomes.append(trial.outcome)
        if trial.outcome == "pass":
            result.passed += 1
        elif trial.outcome == "fail":
            result.failed += 1
        else:
            result.inconclusive += 1
        result.wrong += is_wrong(trial.outcome, ratio)
        result.samples_total += trial.samples
        result.elapsed_ns_total += trial.elapsed_ns
        if peer:
            verdict = peer_median_verdict(cell, np.random.default_rng([seed, i, 1]))
            result.peer_trials += 1
            result.peer_wrong += is_wrong(verdict, ratio)
    return result
