"""Dependent latency sources with a known truth, measured by the real sampler on a fake clock.

A test and benchmark harness, not part of the plugin, like :mod:`synthetic` (whose
:class:`~synthetic.FakeClock` it reuses): ``benchmarks/dependence.py`` runs its grid and
``tests/test_dependent.py`` checks it. numpy and the plugin's sampler only; no pytest.

Where :mod:`synthetic` draws (mostly) independent calls, every source here has memory:
call-indexed AR(1) log-latency, regimes that switch in *time*, drift, a step, and (held
out, for checking a rule on sources it was not tuned on) long memory, periodic stalls,
ON/OFF bursts with Pareto dwell times and a reflected random walk of the log-scale.

The truth
    Each :class:`Model` states ``tail(x)``: the long-run share of *calls* whose latency
    exceeds ``x`` ns (call-weighted, not time-weighted: a slow state yields fewer calls
    per second). A budget is set at ``model.quantile(percentile) / ratio``; a verdict at
    quantile ``q`` is WRONG when it passes while the true share over the budget is
    ``> 1 - q``, or fails while it is ``<= 1 - q``. No tolerance band: ``ratio`` 1.05
    and 0.95 are as binding as 2.0 and 0.5. Inconclusive is never wrong.

    Stationary sources (AR(1), regimes, and the holdout ones) start each trial in their
    stationary law, so the call-weighted share over any horizon has the long-run value
    as its expectation. Drift and step are not stationary: a verdict speaks for the
    latency during its run, so their truth is the share over the calls made from the
    trial's first call to the moment the run stopped (a step after the run ended is in no
    sample), in the fluid limit (calls per second = 1 / mean latency at that moment; the
    error of that limit is O(call / span)). Both are per trial (:meth:`Source.truth`);
    the budget of a cell comes from the share over the whole horizon ``[0, HORIZON_NS]``
    (the default ``max_time``), averaged over the step time for a step.

The measured callable
    :meth:`Model.source` makes a :class:`Source`: each call advances a
    :class:`~synthetic.FakeClock` by the call's latency (and nothing else moves it), so
    time-dependent sources read the exact synthetic time off the clock. The first call is
    ``COLD_FACTOR`` x slower (a cold call, never a sample, excluded from the truth).

Running it
    ``run_trial(cell, rng)`` is one measurement of one :class:`Cell` by the real
    :func:`~pytest_latency_sla.sampling.sample` (through :func:`measure`, the harness's
    only call to it, which hands :attr:`Source.machine`, a :class:`FakeMachine`, to the
    engine as ``machine=``). ``run_cell(cell, trials,
    seed)`` counts the verdicts of seeded trials. ``tuning_cells()``, ``holdout_cells()``
    and ``contention_cells()`` build the grids.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import numpy as np
from synthetic import COLD_FACTOR, MS, US, FakeClock, S

from pytest_latency_sla.machine import Interval
from pytest_latency_sla.sampling import SamplingPlan, sample

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy.typing as npt

    from pytest_latency_sla.sampling import Sampling

__all__ = [
    "AR1",
    "BEYOND_MODELS",
    "CONTENTION_MODELS",
    "HOLDOUT_MODELS",
    "HORIZON_NS",
    "PERCENTILES",
    "RATIOS",
    "TUNING_MODELS",
    "Cell",
    "CellResult",
    "Contention",
    "Drift",
    "FakeMachine",
    "HourlyWave",
    "LongMemory",
    "Model",
    "OnOffPareto",
    "PeriodicStalls",
    "ReflectedWalk",
    "Regimes",
    "SlowWave",
    "Source",
    "Step",
    "Trial",
    "beyond_cells",
    "cells_for",
    "clopper_pearson",
    "contention_cells",
    "far_side_floor",
    "holdout_cells",
    "is_wrong",
    "measure",
    "run_cell",
    "run_trial",
    "tuning_cells",
]


#: Percentiles of the grid; p99.9 is added for the fast AR(1) cells (see :func:`cells_for`).
PERCENTILES: tuple[float, ...] = (50.0, 95.0, 99.0)
#: Ratios of the true percentile to the budget (> 1: the SLA is missed).
RATIOS: tuple[float, ...] = (0.5, 0.8, 0.9, 0.95, 1.05, 1.1, 1.25, 2.0)
#: The horizon of the non-stationary sources: the default plan's ``max_time``.
HORIZON_NS = SamplingPlan().max_time_ns

_SQRT2 = math.sqrt(2.0)
_BLOCK = 4_096
#: Points of the Simpson rules (even number of intervals): smooth integrands, so the
#: quadrature error is far below 1e-9 of a share.
_GRID = 2_001


# --- numerics -----------------------------------------------------------------------------


def _norm_sf(z: float) -> float:
    return 0.5 * math.erfc(z / _SQRT2)


def _norm_sf_array(z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.array([0.5 * math.erfc(v / _SQRT2) for v in z.tolist()], dtype=np.float64)


def _lognormal_sf(x: float, median: float, sigma: float) -> float:
    """``P[median * exp(sigma Z) > x]``."""
    if x <= 0.0:
        return 1.0
    return _norm_sf(math.log(x / median) / sigma)


def _lognormal_sf_array(
    x: float, median: npt.NDArray[np.float64], sigma: float
) -> npt.NDArray[np.float64]:
    return _norm_sf_array(np.log(x / median) / sigma)


def _simpson(y: npt.NDArray[np.float64], dx: float) -> float:
    """Composite Simpson's rule over an odd number of equally spaced points."""
    if y.size % 2 == 0:
        raise ValueError("Simpson's rule needs an odd number of points")
    return float(dx / 3.0 * (y[0] + y[-1] + 4.0 * y[1:-1:2].sum() + 2.0 * y[2:-1:2].sum()))


def _binom_cdf(k: int, n: int, p: float) -> float:
    """``P[Binomial(n, p) <= k]``, summed exactly in log space."""
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 1.0 if k >= n else 0.0
    lp, lq = math.log(p), math.log1p(-p)
    lgn = math.lgamma(n + 1)
    return min(
        1.0,
        sum(
            math.exp(lgn - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * lp + (n - i) * lq)
            for i in range(k + 1)
        ),
    )


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The exact (Clopper-Pearson) two-sided interval for ``k`` successes in ``n`` trials."""
    if n <= 0 or not 0 <= k <= n:
        raise ValueError("need 0 <= k <= n and n > 0")
    tail = (1.0 - confidence) / 2.0

    def solve(f: Any, target: float) -> float:
        lo, hi = 0.0, 1.0  # f decreasing in p
        for _ in range(100):
            mid = (lo + hi) / 2.0
            if f(mid) > target:
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2.0

    upper = 1.0 if k == n else solve(lambda p: _binom_cdf(k, n, p), tail)
    lower = 0.0 if k == 0 else solve(lambda p: _binom_cdf(k - 1, n, p), 1.0 - tail)
    return lower, upper


# --- the machine probe --------------------------------------------------------------------


class FakeMachine:
    """A fake probe of the machine's contention, advanced by :class:`Contention` sources.

    ``read()`` returns the cumulative ``(wait_ns, involuntary_switches)``, like the run
    queue wait and involuntary context switches of the measuring thread
    (``/proc/self/schedstat``, ``getrusage``). Each preemption adds its slice and one
    switch. ``since_last()`` is the engine's :class:`~pytest_latency_sla.machine.Machine`
    protocol: what happened since the previous call (``sample(..., machine=...)``).
    """

    __slots__ = ("_seen", "switches", "wait_ns")

    def __init__(self) -> None:
        self.wait_ns = 0
        self.switches = 0
        self._seen = (0, 0)

    def preempt(self, slice_ns: int) -> None:
        """One involuntary switch that kept the thread off the CPU for ``slice_ns``."""
        self.wait_ns += slice_ns
        self.switches += 1

    def read(self) -> tuple[int, int]:
        return self.wait_ns, self.switches

    def since_last(self) -> Interval:
        wait, switches = self._seen
        self._seen = (self.wait_ns, self.switches)
        return Interval(wait_ns=self.wait_ns - wait, switches=self.switches - switches, threads=1)


# --- sources ------------------------------------------------------------------------------


class Source(ABC):
    """The measured callable: each call advances ``clock`` by the next latency.

    Subclasses give :meth:`latency` (in ns, from the synthetic time at the call's start)
    and, when the truth depends on the trial, :meth:`truth`.
    """

    def __init__(
        self, model: Model, rng: np.random.Generator, clock: FakeClock | None, *, cold: bool
    ) -> None:
        self.model = model
        self.rng = rng
        self.clock = clock if clock is not None else FakeClock()
        self.calls = 0
        #: The contention probe, for sources that have one.
        self.machine: FakeMachine | None = None
        self._cold = cold
        self._normals: list[float] = []
        self._uniforms: list[float] = []
        #: For sources with a slow *state* and fast independent noise around it: the
        #: median of every call given the state, and the noise's log-sd (see
        #: :meth:`state_truth`). ``None`` for sources without such a split.
        self.states: list[float] | None = None
        self.state_sigma = 0.0

    def normal(self) -> float:
        """The next standard normal draw (generated in blocks)."""
        if not self._normals:
            self._normals = self.rng.standard_normal(_BLOCK).tolist()
        return self._normals.pop()

    def uniform(self) -> float:
        """The next uniform [0, 1) draw (generated in blocks)."""
        if not self._uniforms:
            self._uniforms = self.rng.random(_BLOCK).tolist()
        return self._uniforms.pop()

    @abstractmethod
    def latency(self, now: int) -> float:
        """The latency (ns) of a call starting at synthetic time ``now``."""

    def __call__(self) -> None:
        now = self.clock.now
        took = self.latency(now)
        if self._cold and self.calls == 0:
            took *= COLD_FACTOR
        self.clock.now = now + max(1, round(took))
        self.calls += 1

    def truth(self, budget_ns: float) -> float:
        """The true share of calls over ``budget_ns`` for this trial (default: the model's)."""
        return self.model.tail(budget_ns)

    def seen(self, median_ns: float) -> float:
        """Record a call's median given the state (sources with a state split)."""
        if self.states is not None:
            self.states.append(median_ns)
        return median_ns

    def state_truth(self, budget_ns: float) -> float | None:
        """The share over ``budget_ns`` expected *given the states this run went through*.

        The best any rule could know from this run: the calls' noise averaged out, the
        slow state as it was. Where a state outlasts the run, this differs from the
        long-run :meth:`truth`, and no rule reading one run can tell which it is in. The
        cold call is left out. None for sources without a state split.
        """
        if not self.states or len(self.states) < 2:
            return None
        medians = np.array(self.states[1:], dtype=np.float64)
        values, counts = np.unique(np.round(medians, 3), return_counts=True)
        if values.size > 64:
            # A continuous state: bin it finely (log-spacing 1e-3, far below sigma).
            logs = np.round(np.log(medians / self.model_call()) * 1000.0) / 1000.0
            keys, counts = np.unique(logs, return_counts=True)
            values = self.model_call() * np.exp(keys)
        sf = _lognormal_sf_array(budget_ns, values, self.state_sigma)
        return float(np.dot(sf, counts) / counts.sum())

    def model_call(self) -> float:
        return float(getattr(self.model, "call_ns", 1.0))


class Model(ABC):
    """A dependent latency model with a known call-weighted tail."""

    #: The family ("ar1", "regimes", ...) and its parameters, for tables.
    family: str = ""

    @property
    @abstractmethod
    def params(self) -> str: ...

    @property
    def name(self) -> str:
        return f"{self.family}({self.params})"

    @abstractmethod
    def tail(self, x_ns: float) -> float:
        """The true share of calls whose latency exceeds ``x_ns``."""

    @abstractmethod
    def source(
        self, rng: np.random.Generator, clock: FakeClock | None = None, *, cold: bool = True
    ) -> Source:
        """A fresh measured callable, started in the model's stationary law (if it has one)."""

    def quantile(self, percentile: float) -> float:
        """The true ``percentile`` (in percent), in ns, by bisection on :meth:`tail`."""
        cache: dict[float, float] = self.__dict__.setdefault("_quantiles", {})
        if percentile in cache:
            return cache[percentile]
        if not 0.0 < percentile < 100.0:
            raise ValueError("percentile must be in (0, 100)")
        target = 1.0 - percentile / 100.0
        lo, hi = 1.0, 1e6
        while self.tail(hi) > target:
            hi *= 2.0
        while self.tail(lo) < target:
            lo /= 2.0
        for _ in range(200):
            mid = math.sqrt(lo * hi)
            if self.tail(mid) > target:
                lo = mid
            else:
                hi = mid
            if hi / lo - 1.0 < 1e-12:
                break
        cache[percentile] = hi
        return hi


def _us(ns: float) -> str:
    return f"{ns / US:g}us" if ns < MS else f"{ns / MS:g}ms"


# AR(1) ------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class AR1(Model):
    """``log L_t = log(call_ns) + x_t``, ``x_t = rho x_{t-1} + sigma sqrt(1-rho^2) e_t``.

    Call-indexed; ``x_0 ~ N(0, sigma^2)``, so the process is stationary from the first
    call and every latency is lognormal(median ``call_ns``, ``sigma``): the truth is
    exact. The lag-k correlation of log-latencies is ``rho^k``: 0.999 keeps memory for
    about a thousand calls.
    """

    rho: float
    call_ns: float
    sigma: float = 0.3
    family = "ar1"

    @property
    def params(self) -> str:
        return f"rho={self.rho:g}, call={_us(self.call_ns)}, sigma={self.sigma:g}"

    def tail(self, x_ns: float) -> float:
        return _lognormal_sf(x_ns, self.call_ns, self.sigma)

    def source(
        self, rng: np.random.Generator, clock: FakeClock | None = None, *, cold: bool = True
    ) -> Source:
        return _SumOfAR1(self, rng, clock, cold, self.call_ns, ((self.rho, self.sigma),))


#: An AR(1) part with at least this memory (1,000 calls: 1 s at 1 ms) counts as state.
SLOW_RHO = 0.999


class _SumOfAR1(Source):
    """``call_ns * exp(sum of independent stationary AR(1)s)``, call-indexed."""

    def __init__(
        self,
        model: Model,
        rng: np.random.Generator,
        clock: FakeClock | None,
        cold: bool,
        median_ns: float,
        parts: Sequence[tuple[float, float]],
    ) -> None:
        super().__init__(model, rng, clock, cold=cold)
        self.median_ns = median_ns
        self.rhos = [rho for rho, _ in parts]
        self.innovations = [s * math.sqrt(1.0 - rho * rho) for rho, s in parts]
        self.state = [s * self.normal() for _, s in parts]
        # Parts with memory of at least SLOW_RHO are the state; the others, its noise.
        self.slow = [rho >= SLOW_RHO for rho, _ in parts]
        fast = [s for rho, s in parts if rho < SLOW_RHO]
        if fast and not all(self.slow) and any(self.slow):
            self.states = []
            self.state_sigma = math.sqrt(sum(s * s for s in fast))

    def latency(self, now: int) -> float:
        state = self.state
        total = 0.0
        slow = 0.0
        for i, rho in enumerate(self.rhos):
            x = rho * state[i] + self.innovations[i] * self.normal()
            state[i] = x
            total += x
            if self.slow[i]:
                slow += x
        if self.states is not None:
            self.states.append(self.median_ns * math.exp(slow))
        return self.median_ns * math.exp(total)


# Regimes in time --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Regimes(Model):
    """Two states switching in *time*: fast (median ``call_ns``) and slow (x ``slow_factor``).

    Dwell times are exponential with mean ``dwell_s`` in both states; within a state,
    latencies are independent lognormal(median, ``sigma``); a call's state is the one
    at its start. The truth is the call-weighted mixture: a state's share of calls is
    its share of time (1/2 each) divided by its mean latency, normalized.

    Each trial starts in the *time*-stationary law (each state with probability 1/2, a
    full exponential dwell ahead: memoryless), not the call-weighted one. A test starts at
    an arbitrary wall-clock moment, which sees the machine in its time-stationary law;
    started so, the process is stationary in time, and the expected numbers of calls made
    in each state over any horizon are exactly in the call-weighted proportions of the
    truth. Starting from the call-weighted law instead would over-represent the fast state
    at the start of every trial. The share of calls is exact up to edge effects at the
    switches (a call straddling a switch keeps its state), O(call / dwell) relative in the
    weights (0.2% at 100 µs and 50 ms): about 1e-5 of a p99 share (checked by a long
    simulation in ``tests/test_dependent.py``).
    """

    dwell_s: float
    call_ns: float
    slow_factor: float = 2.0
    sigma: float = 0.2
    family = "regimes"

    @property
    def params(self) -> str:
        return (
            f"dwell={self.dwell_s:g}s, call={_us(self.call_ns)}, slow x{self.slow_factor:g}, "
            f"sigma={self.sigma:g}"
        )

    @property
    def weights(self) -> tuple[float, float]:
        """The long-run shares of calls in the fast and the slow state."""
        fast, slow = 1.0, 1.0 / self.slow_factor  # time share / mean latency (relative)
        return fast / (fast + slow), slow / (fast + slow)

    def tail(self, x_ns: float) -> float:
        w_fast, w_slow = self.weights
        return w_fast * _lognormal_sf(x_ns, self.call_ns, self.sigma) + w_slow * _lognormal_sf(
            x_ns, self.call_ns * self.slow_factor, self.sigma
        )

    def source(
        self, rng: np.random.Generator, clock: FakeClock | None = None, *, cold: bool = True
    ) -> Source:
        return _RegimeSource(self, rng, clock, cold=cold)


class _TwoStates(Source):
    """A source switching between two states in *time*, with exponential dwells of mean
    ``dwell_s``, started in the time-stationary law (see :class:`Regimes`)."""

    def __init__(
        self,
        model: Model,
        rng: np.random.Generator,
        clock: FakeClock | None,
        *,
        cold: bool,
        dwell_s: float,
    ) -> None:
        super().__init__(model, rng, clock, cold=cold)
        self.mean_dwell_ns = dwell_s * S
        self.on = self.uniform() < 0.5
        self.switch_at = self.clock.now + self._dwell()

    def _dwell(self) -> float:
        return -self.mean_dwell_ns * math.log1p(-self.uniform())

    def state(self, now: int) -> bool:
        """The state at synthetic time ``now`` (True: the second one)."""
        while now >= self.switch_at:
            self.on = not self.on
            self.switch_at += self._dwell()
        return self.on


class _RegimeSource(_TwoStates):
    model: Regimes

    def __init__(
        self, model: Regimes, rng: np.random.Generator, clock: FakeClock | None, *, cold: bool
    ) -> None:
        super().__init__(model, rng, clock, cold=cold, dwell_s=model.dwell_s)
        self.states = []
        self.state_sigma = model.sigma
        self.medians = (model.call_ns, model.call_ns * model.slow_factor)

    def latency(self, now: int) -> float:
        median = self.medians[self.state(now)]  # (the slow state: on)
        return self.seen(median) * math.exp(self.model.sigma * self.normal())


@dataclass(frozen=True, eq=False)
class SpreadRegimes(Model):
    """Two states switching in *time* with the same median and another spread: calm
    (log-sd ``sigma``) and spread (``spread_sigma``), as a machine whose tail widens for
    a while (another tenant's bursts, a noisy cache) while its typical call stays put.

    Dwell times are exponential with mean ``dwell_s`` in both states. The truth is the
    call-weighted mixture: a state's share of calls is its share of time (1/2) divided
    by its mean latency (``median exp(sd^2 / 2)``), normalized. Added after the level rule
    (which reads chunks' medians, which this does not move): never tuned on.
    """

    call_ns: float
    dwell_s: float = 1.0
    sigma: float = 0.1
    spread_sigma: float = 0.4
    family = "spread-regimes"

    @property
    def params(self) -> str:
        return (
            f"dwell={self.dwell_s:g}s, call={_us(self.call_ns)}, sigma={self.sigma:g}/"
            f"{self.spread_sigma:g}"
        )

    @property
    def weights(self) -> tuple[float, float]:
        """The long-run shares of calls in the calm and the spread state."""
        calm = math.exp(-(self.sigma**2) / 2)
        spread = math.exp(-(self.spread_sigma**2) / 2)
        return calm / (calm + spread), spread / (calm + spread)

    def tail(self, x_ns: float) -> float:
        w_calm, w_spread = self.weights
        return w_calm * _lognormal_sf(x_ns, self.call_ns, self.sigma) + w_spread * (
            _lognormal_sf(x_ns, self.call_ns, self.spread_sigma)
        )

    def source(
        self, rng: np.random.Generator, clock: FakeClock | None = None, *, cold: bool = True
    ) -> Source:
        return _SpreadSource(self, rng, clock, cold=cold)


class _SpreadSource(_TwoStates):
    model: SpreadRegimes

    def __init__(
        self, model: SpreadRegimes, rng: np.random.Generator, clock: FakeClock | None, *, cold: bool
    ) -> None:
        super().__init__(model, rng, clock, cold=cold, dwell_s=model.dwell_s)

    def latency(self, now: int) -> float:
        m = self.model
        sd = m.spread_sigma if self.state(now) else m.sigma
        return m.call_ns * math.exp(sd * self.normal())


# Drift and step ---------------------------------------------------------------------------


def _horizon_share(
    x_ns: float, scale: npt.NDArray[np.float64], call_ns: float, sigma: float, dt: float
) -> float:
    """Call-weighted share over ``x_ns`` when the median is ``call_ns * scale(t)`` on a grid."""
    rate = 1.0 / scale  # calls per unit time, up to a constant
    return _simpson(rate * _lognormal_sf_array(x_ns, call_ns * scale, sigma), dt) / _simpson(
        rate, dt
    )


@dataclass(frozen=True, eq=False)
class Drift(Model):
    """The scale grows linearly by ``growth`` (20%) over ``HORIZON_NS``, and on after it.

    ``L = call_ns * (1 + growth * t / horizon) * exp(sigma Z)``, ``t`` the call's start.
    The truth is the share of calls over the budget among the calls made in
    ``[0, horizon]``, in the fluid limit: ``int rate(t) sf(x; t) dt / int rate(t) dt``
    with ``rate(t) = 1 / mean latency at t``, by Simpson's rule on 2,001 points
    (quadrature error < 1e-9; the fluid limit's own error is O(call / horizon)).
    """

    call_ns: float
    growth: float = 0.2
    horizon_ns: float = float(HORIZON_NS)
    sigma: float = 0.3
    family = "drift"

    @property
    def params(self) -> str:
        return (
            f"+{100 * self.growth:g}% over {self.horizon_ns / S:g}s, call={_us(self.call_ns)}, "
            f"sigma={self.sigma:g}"
        )

    def scale(self, t_ns: float) -> float:
        return 1.0 + self.growth * t_ns / self.horizon_ns

    def tail(self, x_ns: float) -> float:
        return self.tail_until(x_ns, self.horizon_ns)

    def tail_until(self, x_ns: float, until_ns: float) -> float:
        """The share over ``x_ns`` among the calls made in ``[0, until_ns]``."""
        t = np.linspace(0.0, max(until_ns, 1.0), _GRID)
        scale = 1.0 + self.growth * t / self.horizon_ns
        return _horizon_share(x_ns, scale, self.call_ns, self.sigma, float(t[1] - t[0]))

    def source(
        self, rng: np.random.Generator, clock: FakeClock | None = None, *, cold: bool = True
    ) -> Source:
        return _DriftSource(self, rng, clock, cold=cold)


class _DriftSource(Source):
    model: Drift

    def latency(self, now: int) -> float:
        m = self.model
        return m.call_ns * m.scale(now) * math.exp(m.sigma * self.normal())

    def truth(self, budget_ns: float) -> float:
        # Over the span the run sampled (see _StepSource.truth).
        return self.model.tail_until(budget_ns, float(self.clock.now))


@dataclass(frozen=True, eq=False)
class Step(Model):
    """The scale jumps by ``factor`` (x1.3) at a uniformly random time in the horizon.

    Per trial, with the step at ``T``, the truth is the share over the budget among the
    calls made in ``[0, horizon]``: ``T / m1`` calls before the step and
    ``(horizon - T) / m2`` after it (fluid limit, ``m`` the mean latencies), each
    lognormal. The cell's :meth:`tail` (which sets the budget) is that share averaged
    over ``T`` as a ratio of expectations: half the time at each scale, so the calls
    split in proportion to ``1 / m``. A trial is judged against its own truth
    (:meth:`Source.truth`), so in cells near the line some trials are on the other side.
    """

    call_ns: float
    factor: float = 1.3
    horizon_ns: float = float(HORIZON_NS)
    sigma: float = 0.3
    family = "step"

    @property
    def params(self) -> str:
        return (
            f"x{self.factor:g} at U(0, {self.horizon_ns / S:g}s), call={_us(self.call_ns)}, "
            f"sigma={self.sigma:g}"
        )

    def share(self, x_ns: float, step_ns: float, until_ns: float | None = None) -> float:
        """The true share over ``x_ns`` of a trial whose step is at ``step_ns``, among the
        calls made in ``[0, until_ns]`` (the horizon by default)."""
        until = self.horizon_ns if until_ns is None else until_ns
        before = min(step_ns, until) / self.call_ns
        after = max(0.0, until - step_ns) / (self.call_ns * self.factor)
        sf_before = _lognormal_sf(x_ns, self.call_ns, self.sigma)
        sf_after = _lognormal_sf(x_ns, self.call_ns * self.factor, self.sigma)
        return (before * sf_before + after * sf_after) / (before + after)

    def tail(self, x_ns: float) -> float:
        return self.share(x_ns, self.horizon_ns / 2.0)

    def source(
        self, rng: np.random.Generator, clock: FakeClock | None = None, *, cold: bool = True
    ) -> Source:
        return _StepSource(self, rng, clock, cold=cold)


class _StepSource(Source):
    model: Step

    def __init__(
        self, model: Step, rng: np.random.Generator, clock: FakeClock | None, *, cold: bool
    ) -> None:
        super().__init__(model, rng, clock, cold=cold)
        #: The horizon starts at the first call.
        self.t0 = self.clock.now
        self.step_ns = self.t0 + self.uniform() * model.horizon_ns

    def latency(self, now: int) -> float:
        m = self.model
        scale = m.factor if now >= self.step_ns else 1.0
        return m.call_ns * scale * math.exp(m.sigma * self.normal())

    def truth(self, budget_ns: float) -> float:
        # Over the span the run sampled: a verdict speaks for the latency during its run;
        # a step after the run ended is in no sample, and no rule could see it.
        return self.model.share(budget_ns, self.step_ns - self.t0, self.clock.now - self.t0)


# Holdout ----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class LongMemory(Model):
    """Long-memory log-latency: a sum of stationary AR(1)s at several time scales.

    ``rhos`` (0.9 to 0.9999: memories of 10 to 10,000 calls) share the log-variance
    ``sigma^2`` equally, so the marginal is lognormal(``call_ns``, ``sigma``): exact.
    """

    call_ns: float
    rhos: tuple[float, ...] = (0.9, 0.99, 0.999, 0.9999)
    sigma: float = 0.3
    family = "long-memory"

    @property
    def params(self) -> str:
        rhos = "/".join(f"{r:g}" for r in self.rhos)
        return f"rho={rhos}, call={_us(self.call_ns)}, sigma={self.sigma:g}"

    def tail(self, x_ns: float) -> float:
        return _lognormal_sf(x_ns, self.call_ns, self.sigma)

    def source(
        self, rng: np.random.Generator, clock: FakeClock | None = None, *, cold: bool = True
    ) -> Source:
        part = self.sigma / math.sqrt(len(self.rhos))
        return _SumOfAR1(self, rng, clock, cold, self.call_ns, [(r, part) for r in self.rhos])


@dataclass(frozen=True, eq=False)
class PeriodicStalls(Model):
    """Every ``period_ms`` the next call takes ``stall_ms`` (uniform) extra.

    Base latencies are independent lognormal(``call_ns``, ``sigma``) with mean ``m``; the
    first call starting at or after each boundary (``phase + k * period``, a uniform
    phase) stalls. Each period gets exactly one stall (a stalled call ends long before
    the next boundary), so over a long time ``T`` there are ``T / P`` stalls among
    ``T (1 - E[S] / P) / m`` calls: a share ``q = m / (P - E[S])`` of calls is stalled
    (exact in the long run). The truth is ``(1 - q) sf(x) + q P[X + S > x]``, the second
    term by Simpson's rule over the stall's length (error < 1e-9).
    """

    call_ns: float
    period_ms: float = 100.0
    stall_ms: tuple[float, float] = (10.0, 30.0)
    sigma: float = 0.3
    family = "stalls"

    @property
    def params(self) -> str:
        lo, hi = self.stall_ms
        return (
            f"+{lo:g}-{hi:g}ms every {self.period_ms:g}ms, call={_us(self.call_ns)}, "
            f"sigma={self.sigma:g}"
        )

    @property
    def stalled_share(self) -> float:
        mean = self.call_ns * math.exp(self.sigma**2 / 2.0)
        lo, hi = self.stall_ms
        return mean / ((self.period_ms - (lo + hi) / 2.0) * MS)

    def tail(self, x_ns: float) -> float:
        q = self.stalled_share
        lo, hi = (v * MS for v in self.stall_ms)
        s = np.linspace(lo, hi, _GRID)
        rest = x_ns - s
        sf = np.ones_like(rest)
        positive = rest > 0
        sf[positive] = _norm_sf_array(np.log(rest[positive] / self.call_ns) / self.sigma)
        stalled = _simpson(sf, float(s[1] - s[0])) / (hi - lo)
        return (1.0 - q) * _lognormal_sf(x_ns, self.call_ns, self.sigma) + q * stalled

    def source(
        self, rng: np.random.Generator, clock: FakeClock | None = None, *, cold: bool = True
    ) -> Source:
        return _StallSource(self, rng, clock, cold=cold)


class _StallSource(Source):
    model: PeriodicStalls

    def __init__(
        self,
        model: PeriodicStalls,
        rng: np.random.Generator,
        clock: FakeClock | None,
        *,
        cold: bool,
    ) -> None:
        super().__init__(model, rng, clock, cold=cold)
        self.period_ns = model.period_ms * MS
        self.next_stall = self.clock.now + self.uniform() * self.period_ns

    def latency(self, now: int) -> float:
        m = self.model
        took = m.call_ns * math.exp(m.sigma * self.normal())
        if now >= self.next_stall:
            lo, hi = m.stall_ms
            took += (lo + (hi - lo) * self.uniform()) * MS
            while self.next_stall <= now:
                self.next_stall += self.period_ns
        return took


@dataclass(frozen=True, eq=False)
class OnOffPareto(Model):
    """ON/OFF bursts: slow ON spells (x ``slow_factor``) and fast OFF spells, in time.

    Dwell times are Pareto (type I, ``alpha`` 1.5: finite mean, infinite variance) with
    means ``on_s`` and ``off_s``; a call's state is the one at its start; within a state,
    latencies are independent lognormal. By renewal-reward the long-run share of calls in
    a state is its mean dwell over its mean latency, normalized (exact in the long run, up
    to the O(call / dwell) edge effect of :class:`Regimes`). Each trial starts in the
    time-stationary law: a state with probability proportional to its mean dwell, then
    the residual of that dwell from the equilibrium (stationary-excess) law, sampled
    exactly. Heavy-tailed dwells make 3 s trials see far fewer spells than their average.
    """

    call_ns: float
    on_s: float = 0.05
    off_s: float = 0.3
    slow_factor: float = 2.5
    alpha: float = 1.5
    sigma: float = 0.2
    family = "on-off-pareto"

    @property
    def params(self) -> str:
        return (
            f"on={self.on_s:g}s x{self.slow_factor:g}, off={self.off_s:g}s, "
            f"alpha={self.alpha:g}, call={_us(self.call_ns)}, sigma={self.sigma:g}"
        )

    @property
    def weights(self) -> tuple[float, float]:
        """The long-run shares of calls in the OFF (fast) and ON (slow) states."""
        off, on = self.off_s, self.on_s / self.slow_factor
        return off / (off + on), on / (off + on)

    def tail(self, x_ns: float) -> float:
        w_off, w_on = self.weights
        return w_off * _lognormal_sf(x_ns, self.call_ns, self.sigma) + w_on * _lognormal_sf(
            x_ns, self.call_ns * self.slow_factor, self.sigma
        )

    def source(
        self, rng: np.random.Generator, clock: FakeClock | None = None, *, cold: bool = True
    ) -> Source:
        return _OnOffSource(self, rng, clock, cold=cold)


class _OnOffSource(Source):
    model: OnOffPareto

    def __init__(
        self, model: OnOffPareto, rng: np.random.Generator, clock: FakeClock | None, *, cold: bool
    ) -> None:
        super().__init__(model, rng, clock, cold=cold)
        self.states = []
        self.state_sigma = model.sigma
        self.on = self.uniform() < model.on_s / (model.on_s + model.off_s)
        mean = (model.on_s if self.on else model.off_s) * S
        a = model.alpha
        xm = mean * (a - 1.0) / a
        # The stationary-excess law of Pareto(xm, a): uniform on [0, xm) with mass
        # (a - 1) / a, then a Pareto tail of index a - 1.
        u = self.uniform()
        head = (a - 1.0) / a
        residual = u * mean if u < head else xm * (a * (1.0 - u)) ** (-1.0 / (a - 1.0))
        self.switch_at = self.clock.now + residual
        self.medians = (model.call_ns, model.call_ns * model.slow_factor)

    def _dwell(self) -> float:
        m = self.model
        mean = (m.on_s if self.on else m.off_s) * S
        xm = mean * (m.alpha - 1.0) / m.alpha
        return float(xm * (1.0 - self.uniform()) ** (-1.0 / m.alpha))

    def latency(self, now: int) -> float:
        while now >= self.switch_at:
            self.on = not self.on
            self.switch_at += self._dwell()
        return self.seen(self.medians[self.on]) * math.exp(self.model.sigma * self.normal())


@dataclass(frozen=True, eq=False)
class ReflectedWalk(Model):
    """A slow random walk of the log-scale, reflected into ``[-bound, bound]``.

    ``log L_t = log(call_ns) + y_t + sigma Z_t`` with ``y_t = reflect(y_{t-1} + step e_t)``
    (call-indexed). The reflected walk of symmetric steps has a symmetric kernel, so the
    uniform law on the interval is stationary: ``y_0`` is drawn from it, and the truth
    is the uniform mixture of lognormals, by Simpson's rule over ``y`` (error < 1e-9).
    Crossing the interval takes about ``(2 bound / step)^2`` calls (54,000 by default:
    longer than a 3 s trial at 100 µs).
    """

    call_ns: float
    bound: float = 0.35
    step: float = 0.003
    sigma: float = 0.2
    family = "reflected-walk"

    @property
    def params(self) -> str:
        return (
            f"bound={self.bound:g}, step={self.step:g}, call={_us(self.call_ns)}, "
            f"sigma={self.sigma:g}"
        )

    def tail(self, x_ns: float) -> float:
        y = np.linspace(-self.bound, self.bound, _GRID)
        sf = _lognormal_sf_array(x_ns, self.call_ns * np.exp(y), self.sigma)
        return _simpson(sf, float(y[1] - y[0])) / (2.0 * self.bound)

    def source(
        self, rng: np.random.Generator, clock: FakeClock | None = None, *, cold: bool = True
    ) -> Source:
        return _WalkSource(self, rng, clock, cold=cold)


class _WalkSource(Source):
    model: ReflectedWalk

    def __init__(
        self, model: ReflectedWalk, rng: np.random.Generator, clock: FakeClock | None, *, cold: bool
    ) -> None:
        super().__init__(model, rng, clock, cold=cold)
        self.states = []
        self.state_sigma = model.sigma
        self.y = model.bound * (2.0 * self.uniform() - 1.0)

    def latency(self, now: int) -> float:
        m = self.model
        y = self.y + m.step * self.normal()
        while not -m.bound <= y <= m.bound:
            y = 2.0 * m.bound - y if y > m.bound else -2.0 * m.bound - y
        self.y = y
        return self.seen(m.call_ns * math.exp(y)) * math.exp(m.sigma * self.normal())


# Slow wave --------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SlowWave(Model):
    """The log-scale follows a slow wave in *time*, at a random phase: a machine whose
    level rises and falls over a period longer than a run (a thermal or batch cycle).

    ``log L = log(call_ns) + amplitude sin(2 pi t / period + phase) + sigma Z``. The truth
    is call-weighted over the phase (a slow part of the cycle makes fewer calls per
    second, in proportion to ``exp(-y)``), by Simpson's rule. Added after the level rule
    of this release was designed: never tuned on.
    """

    call_ns: float
    period_s: float = 40.0
    amplitude: float = 0.25
    sigma: float = 0.25
    family = "slow-wave"

    @property
    def params(self) -> str:
        return (
            f"period={self.period_s:g}s, amplitude={self.amplitude:g}, "
            f"call={_us(self.call_ns)}, sigma={self.sigma:g}"
        )

    def tail(self, x_ns: float) -> float:
        theta = np.linspace(0.0, 2.0 * math.pi, _GRID)
        y = self.amplitude * np.sin(theta)
        weight = np.exp(-y)
        sf = _lognormal_sf_array(x_ns, self.call_ns * np.exp(y), self.sigma)
        step = float(theta[1] - theta[0])
        return _simpson(sf * weight, step) / _simpson(weight, step)

    def source(
        self, rng: np.random.Generator, clock: FakeClock | None = None, *, cold: bool = True
    ) -> Source:
        return _WaveSource(self, rng, clock, cold=cold)


class _WaveSource(Source):
    model: SlowWave

    def __init__(
        self, model: SlowWave, rng: np.random.Generator, clock: FakeClock | None, *, cold: bool
    ) -> None:
        super().__init__(model, rng, clock, cold=cold)
        self.states = []
        self.state_sigma = model.sigma
        self.phase = 2.0 * math.pi * self.uniform()
        self.omega = 2.0 * math.pi / (model.period_s * S)

    def latency(self, now: int) -> float:
        m = self.model
        y = m.amplitude * math.sin(self.omega * now + self.phase)
        return self.seen(m.call_ns * math.exp(y)) * math.exp(m.sigma * self.normal())


@dataclass(frozen=True, eq=False)
class HourlyWave(SlowWave):
    """A wave of the level whose period (an hour) no run comes near: the floor of the grid.

    Over a 20 s run its level moves by at most ``2 pi amplitude 20 s / period`` (2.4% at
    amplitude 0.7, a median 2x its middle value at the crest and half of it at the
    trough; at the crest and the trough almost nothing): each run is, call for
    call, a steady machine at the level its phase had. A rule that decides a steady
    machine 2x from its budget must decide such a run about that level, and is wrong
    about the long run whenever the level sat that far on the other side of the budget
    (:func:`far_side_floor`). Not a source to tune on: one that no rule reading one run
    can pass, to show where the grid's goal ends.
    """

    period_s: float = 3600.0
    amplitude: float = 0.7
    family = "hourly-wave"


def far_side_floor(cell: Cell, margin: float = 2.0) -> float:
    """The share of ``cell``'s runs no rule can get right that decides steady machines.

    For an :class:`HourlyWave` (a level frozen for the run): the share of start phases
    (uniform in time) at which the run's own percentile sits ``margin`` times or more
    from the budget on the side the long run is not on (over it where the truth is a
    pass, under it where the truth is a fail). Each such run is a steady machine clearly
    on the wrong side, so a rule that decides steady machines ``margin`` x from their
    budget gives it the long run's wrong verdict.
    """
    model = cell.model
    if not isinstance(model, HourlyWave):
        raise TypeError(f"no floor for {model.name}: its level moves within a run")
    z = float(NormalDist().inv_cdf(cell.quantile))
    theta = np.linspace(0.0, 2.0 * math.pi, _GRID, endpoint=False)
    own = model.call_ns * np.exp(model.amplitude * np.sin(theta) + model.sigma * z)
    if cell.ratio < 1.0:  # the long run passes: the far side is a clear fail
        return float(np.mean(own >= margin * cell.budget_ns))
    return float(np.mean(own <= cell.budget_ns / margin))


# Contention -------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Contention(Model):
    """Independent lognormal calls, preempted by other work at ``rate_per_s``.

    Preemptions arrive as a Poisson process in (synthetic) time; a call running when one
    arrives is kept off the CPU for a slice uniform in ``slice_ms`` (1-4 ms), which adds
    to its *measured* latency and to the source's :class:`FakeMachine` (wait and one
    involuntary switch), but not to the truth: the truth is the model's own cost,
    lognormal(``call_ns``, ``sigma``). A verdict on the measured latencies alone fails a
    model that meets its budget when preemptions are frequent enough; the probe is what
    lets an engine tell the two apart.
    """

    call_ns: float
    rate_per_s: float
    slice_ms: tuple[float, float] = (1.0, 4.0)
    sigma: float = 0.3
    family = "contention"

    @property
    def params(self) -> str:
        lo, hi = self.slice_ms
        return (
            f"{self.rate_per_s:g}/s x {lo:g}-{hi:g}ms, call={_us(self.call_ns)}, "
            f"sigma={self.sigma:g}"
        )

    def tail(self, x_ns: float) -> float:
        return _lognormal_sf(x_ns, self.call_ns, self.sigma)

    def source(
        self, rng: np.random.Generator, clock: FakeClock | None = None, *, cold: bool = True
    ) -> Source:
        return _ContentionSource(self, rng, clock, cold=cold)


class _ContentionSource(Source):
    model: Contention

    def __init__(
        self, model: Contention, rng: np.random.Generator, clock: FakeClock | None, *, cold: bool
    ) -> None:
        super().__init__(model, rng, clock, cold=cold)
        self.machine = FakeMachine()
        self.mean_gap_ns = S / model.rate_per_s
        self.next_preempt = self.clock.now + self._gap()

    def _gap(self) -> float:
        return -self.mean_gap_ns * math.log1p(-self.uniform())

    def latency(self, now: int) -> float:
        m = self.model
        end = now + m.call_ns * math.exp(m.sigma * self.normal())
        lo, hi = m.slice_ms
        while self.next_preempt < end:
            slice_ns = round((lo + (hi - lo) * self.uniform()) * MS)
            end += slice_ns
            assert self.machine is not None
            self.machine.preempt(slice_ns)
            self.next_preempt += self._gap()
        return end - now


# --- grids --------------------------------------------------------------------------------

#: The sources a rule may be tuned on.
TUNING_MODELS: tuple[Model, ...] = (
    *(AR1(rho, call) for call in (100 * US, 1 * MS) for rho in (0.9, 0.99, 0.999)),
    *(Regimes(dwell, 100 * US) for dwell in (0.05, 0.2, 1.0)),
    Drift(100 * US),
    Step(100 * US),
)
#: Sources to check a rule on that it was not tuned on: never tune on these.
HOLDOUT_MODELS: tuple[Model, ...] = (
    LongMemory(100 * US),
    PeriodicStalls(1 * MS),
    OnOffPareto(100 * US),
    ReflectedWalk(100 * US),
    SlowWave(100 * US),
    SpreadRegimes(100 * US),
)
#: Sources whose state outlasts any run: the floor no rule reading one run can pass.
BEYOND_MODELS: tuple[Model, ...] = (HourlyWave(100 * US),)
#: Preempted sources (truth: the model's own cost), for an engine with a machine probe.
CONTENTION_MODELS: tuple[Model, ...] = (Contention(1 * MS, 2.0), Contention(1 * MS, 10.0))


@dataclass(frozen=True, eq=False)
class Cell:
    """One grid cell: a model, a percentile and the ratio of its truth to the budget."""

    model: Model
    percentile: float
    ratio: float

    @property
    def quantile(self) -> float:
        """The percentile as a fraction (0.99 for p99)."""
        return self.percentile / 100.0

    @property
    def truth_ns(self) -> float:
        """The model's true percentile."""
        return self.model.quantile(self.percentile)

    @property
    def budget_ns(self) -> float:
        return self.truth_ns / self.ratio

    @property
    def key(self) -> str:
        return f"{self.model.name}/p{self.percentile:g}/{self.ratio:g}x"


def cells_for(
    models: Sequence[Model],
    percentiles: Sequence[float] = PERCENTILES,
    ratios: Sequence[float] = RATIOS,
) -> list[Cell]:
    """Every (model, percentile, ratio), plus p99.9 for AR(1) models at 100 µs or faster.

    At 100 µs a 3 s trial makes ~30,000 calls, enough for a p99.9 verdict to be possible.
    """
    cells = []
    for model in models:
        pcts = list(percentiles)
        if isinstance(model, AR1) and model.call_ns <= 100 * US and 99.9 not in pcts:
            pcts.append(99.9)
        cells += [Cell(model, p, r) for p in pcts for r in ratios]
    return cells


def tuning_cells(ratios: Sequence[float] = RATIOS) -> list[Cell]:
    return cells_for(TUNING_MODELS, ratios=ratios)


def holdout_cells(ratios: Sequence[float] = RATIOS) -> list[Cell]:
    return cells_for(HOLDOUT_MODELS, ratios=ratios)


def beyond_cells(ratios: Sequence[float] = RATIOS) -> list[Cell]:
    return cells_for(BEYOND_MODELS, ratios=ratios)


def contention_cells(ratios: Sequence[float] = RATIOS) -> list[Cell]:
    return cells_for(CONTENTION_MODELS, ratios=ratios)


# --- trials -------------------------------------------------------------------------------


def is_wrong(outcome: str, true_share: float, quantile: float) -> bool:
    """A pass with more than ``1 - quantile`` of calls over budget, or a fail with no more."""
    limit = 1.0 - quantile
    if outcome == "pass":
        return true_share > limit
    if outcome == "fail":
        return true_share <= limit
    return False


def measure(
    source: Source,
    plan: SamplingPlan,
    *,
    budget_ns: float,
    quantile: float,
    machine: FakeMachine | None = None,
) -> Sampling:
    """The harness's one call to :func:`~pytest_latency_sla.sampling.sample`.

    ``machine`` (the contention sources' :class:`FakeMachine`) tells the engine how long
    each chunk waited for a CPU; without it, no wait is reported.
    """
    return sample(
        source,
        plan,
        budget_ns=budget_ns,
        quantile=quantile,
        clock=source.clock,
        manage_gc=False,
        machine=machine,
    )


@dataclass(frozen=True)
class Trial:
    """One measurement of one cell."""

    #: "pass", "fail" or "inconclusive".
    outcome: str
    wrong: bool
    #: The trial's true share of calls over the budget.
    true_share: float
    #: Calls made (cold call and warmup included) and synthetic time taken, in ns.
    calls: int
    samples: int
    elapsed_ns: int
    #: Wrong against the share expected given the states the run went through
    #: (:meth:`Source.state_truth`): what no rule reading one run could get right.
    state_wrong: bool | None = None
    #: The share of the run's own samples over the budget: what the run saw, against
    #: :attr:`true_share` (a wrong verdict far on the other side of ``1 - q`` saw a
    #: state that outlasted it).
    run_share: float = 0.0


def run_trial(
    cell: Cell,
    rng: np.random.Generator,
    plan: SamplingPlan | None = None,
    *,
    pass_machine: bool = True,
) -> Trial:
    """One measurement of ``cell`` by the real sampler and verdict code, scored."""
    source = cell.model.source(rng)
    result = measure(
        source,
        plan if plan is not None else SamplingPlan(),
        budget_ns=cell.budget_ns,
        quantile=cell.quantile,
        machine=source.machine if pass_machine else None,
    )
    decision = result.decision
    outcome = decision.outcome if decision is not None and decision.outcome else "inconclusive"
    share = source.truth(cell.budget_ns)
    given = source.state_truth(cell.budget_ns)
    samples = result.samples_ns
    return Trial(
        outcome,
        is_wrong(outcome, share, cell.quantile),
        share,
        source.calls,
        int(result.samples_ns.size),
        source.clock.now,
        state_wrong=None if given is None else is_wrong(outcome, given, cell.quantile),
        run_share=float((samples > cell.budget_ns).mean()) if samples.size else 0.0,
    )


@dataclass
class CellResult:
    """Counts over the trials of one cell."""

    key: str
    family: str
    params: str
    percentile: float
    ratio: float
    trials: int = 0
    passed: int = 0
    failed: int = 0
    inconclusive: int = 0
    wrong: int = 0
    #: Wrong against the states the run went through (:attr:`Trial.state_wrong`); None
    #: for sources without a state split.
    state_wrong: int | None = None
    #: Calls and synthetic time of the decided trials (cold call and warmup included).
    decided_calls: list[int] = field(default_factory=list, repr=False)
    decided_ns: list[int] = field(default_factory=list, repr=False)
    #: (the run's own share over the budget, the true share) of each wrong verdict.
    wrong_shares: list[tuple[float, float]] = field(default_factory=list, repr=False)

    @property
    def wrong_rate(self) -> float:
        return self.wrong / self.trials if self.trials else 0.0

    @property
    def wrong_upper(self) -> float:
        """The upper end of the 95% Clopper-Pearson interval of the wrong rate."""
        return clopper_pearson(self.wrong, self.trials)[1] if self.trials else 1.0

    @property
    def inconclusive_rate(self) -> float:
        return self.inconclusive / self.trials if self.trials else 0.0

    @property
    def median_calls(self) -> float | None:
        return float(np.median(self.decided_calls)) if self.decided_calls else None

    @property
    def median_s(self) -> float | None:
        return float(np.median(self.decided_ns)) / S if self.decided_ns else None


def trial_rng(seed: int, cell: Cell, index: int) -> np.random.Generator:
    """Trial ``index`` of ``cell``: independent of the grid's order and of the processes."""
    digest = sum((i + 1) * ord(c) for i, c in enumerate(cell.key))  # hash() is salted
    return np.random.default_rng([seed, digest, index])


def run_cell(
    cell: Cell,
    trials: int,
    seed: int,
    plan: SamplingPlan | None = None,
    *,
    pass_machine: bool = True,
) -> CellResult:
    """``trials`` seeded measurements of ``cell`` (``plan`` defaults to the plugin's)."""
    the_plan = plan if plan is not None else SamplingPlan()
    m = cell.model
    result = CellResult(cell.key, m.family, m.params, cell.percentile, cell.ratio)
    for i in range(trials):
        trial = run_trial(cell, trial_rng(seed, cell, i), the_plan, pass_machine=pass_machine)
        result.trials += 1
        if trial.outcome == "pass":
            result.passed += 1
        elif trial.outcome == "fail":
            result.failed += 1
        else:
            result.inconclusive += 1
        result.wrong += trial.wrong
        if trial.wrong:
            result.wrong_shares.append((trial.run_share, trial.true_share))
        if trial.state_wrong is not None:
            result.state_wrong = (result.state_wrong or 0) + trial.state_wrong
        if trial.outcome != "inconclusive":
            result.decided_calls.append(trial.calls)
            result.decided_ns.append(trial.elapsed_ns)
    return result
