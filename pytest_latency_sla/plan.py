"""The sampling plan: how long to warm up and sample, and how sure a verdict must be.

A light module (no numpy), so the settings can take their defaults from it at start-up:
the numbers below are the plugin's defaults, declared here once. ``SamplingPlan()`` with
no arguments is exactly what a user gets with no configuration, so a simulation driven
with it shows what users get.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_PERCENTILE", "SamplingPlan"]

#: The percentile a budget applies to when the marker gives none, in percent; also the
#: percentile a measurement without a budget reports and plans its samples for.
DEFAULT_PERCENTILE = 99.0
#: Warmup of a slow model stops after this long (see ``SamplingPlan.warmup_cap_ns``).
WARMUP_CAP_NS = 1_000_000_000


@dataclass(frozen=True)
class SamplingPlan:
    """How long to warm up and sample, and how sure a verdict must be."""

    #: Warm up for at least this many calls after the cold first call ...
    warmup_calls: int = 100
    #: ... and for at least this long (nanoseconds).
    warmup_time_ns: int = 50_000_000
    #: Never decide on samples spanning less than this (spreads samples over time).
    min_time_ns: int = 30_000_000
    #: Stop sampling after this long; an undecided verdict is then inconclusive, unless
    #: the samples project a verdict within reach of ``time_limit``.
    max_time_ns: int = 20_000_000_000
    #: Sampling may go on past ``max_time`` up to this long while the calls so far project
    #: a verdict within its reach (``sampling.PROJECTION_REACH`` times it: slow models); a
    #: verdict out of its reach stops sampling at once. At or below ``max_time``: no
    #: extension.
    time_limit_ns: int = 60_000_000_000
    #: Stop sampling after this many samples.
    max_samples: int = 1_000_000
    #: Verdicts closer than ``quick_factor`` to the budget wait until samples span this
    #: long, so that the slow states of a shared machine (lasting up to about
    #: ``state_time``) come and go several times within them.
    settle_time_ns: int = 10_000_000_000
    #: How long a state of the machine (a slow spell of a shared runner, a drifting
    #: latency level) may last: a 2x margin is called once samples span this, and near
    #: the budget dependence is judged over time-blocks at least this long.
    state_time_ns: int = 2_000_000_000
    #: A margin this clear (either way) is called once the samples span ``state_time``.
    quick_factor: float = 2.0
    #: A margin this clear (either way) is called as soon as ``min_time`` has passed:
    #: no state of a shared machine moves latency that far.
    instant_factor: float = 10.0
    #: Aim for chunks of about this long between looks at the clock, the machine and the
    #: caps (what a chunk costs besides its calls, about 20 µs, is then 0.2% of the time).
    chunk_time_ns: int = 10_000_000
    #: Confidence of a verdict (the binomial rule's 1 - alpha over all looks).
    confidence: float = 0.99
    #: Under load (the marker's ``rps=``), no pass before the load has run this long: a
    #: queue takes time to build, and a stall every few seconds takes time to show.
    load_time_ns: int = 5_000_000_000
    #: Whether sampling stopped by ``max_time`` or ``time_limit`` counts as settled (a
    #: shorter window, by choice: a p100 passes at it, and so do verdicts near the budget).
    #: False when a timeout cut those times short: the window was not chosen, so a
    #: verdict near the budget still waits for ``settle_time`` and is otherwise
    #: inconclusive, naming the timeout.
    cap_settles: bool = True

    def __post_init__(self) -> None:
        if self.warmup_calls < 0 or self.warmup_time_ns < 0 or self.min_time_ns < 0:
            raise ValueError("warmup and minimum times must not be negative")
        if self.load_time_ns < 0:
            raise ValueError("load_time_ns must not be negative")
        if self.quick_factor < 1.0 or self.instant_factor < self.quick_factor:
            raise ValueError("quick_factor must be at least 1, instant_factor at least that")
        if self.max_time_ns <= 0 or self.max_samples < 1:
            raise ValueError("max_time_ns and max_samples must be positive")
        if self.time_limit_ns < 0:
            raise ValueError("time_limit_ns must not be negative")
        if not 0.0 < self.confidence < 1.0:
            raise ValueError("confidence must be in (0, 1)")

    @property
    def warmup_cap_ns(self) -> int:
        """Warmup of a slow model stops after ``WARMUP_CAP_NS`` (or a quarter of
        ``max_time``, if less), even short of ``warmup_calls``: a few calls warm up
        onnxruntime, and time is better spent on samples."""
        return max(self.warmup_time_ns, min(WARMUP_CAP_NS, self.max_time_ns // 4))

    @property
    def limit_ns(self) -> int:
        """The hard cap on sampling time: ``time_limit``, never below ``max_time``."""
        return max(self.max_time_ns, self.time_limit_ns)
