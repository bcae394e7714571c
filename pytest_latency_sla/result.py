"""The result model: what one measurement found, as frozen, typed values.

A :class:`SlaResult` is what ``sla.onnx()`` and ``sla.measure()`` return. Its
:meth:`SlaResult.to_record` turns it into plain values (numbers, strings, lists) that
travel from pytest-xdist workers to the controller and feed every report.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypedDict

import numpy as np

from .stats import percentile_ns

if TYPE_CHECKING:
    import numpy.typing as npt

    from .sampling import Sampling

__all__ = [
    "Band",
    "Budget",
    "SlaRecord",
    "SlaResult",
    "Subject",
    "Verdict",
    "classify",
]


class Verdict(str, enum.Enum):
    """The statistical verdict on a budget. Compares equal to its string value."""

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"

    def __str__(self) -> str:
        return self.value


class Band(str, enum.Enum):
    """Where the margin (budget / measured) falls. Compares equal to its string value."""

    #: Below 1x: the budget is not met.
    MISS = "miss"
    #: At least 1x but below ``sla_tight_margin``: one noisy neighbour away from a miss.
    TIGHT = "tight"
    #: Comfortably met.
    OK = "ok"
    #: At least ``sla_headroom`` and a pass: further optimization buys nothing for this SLA.
    HEADROOM = "headroom"

    def __str__(self) -> str:
        return self.value


def classify(margin: float, tight_margin: float, headroom: float) -> Band:
    """The band of a margin."""
    if margin < 1.0:
        return Band.MISS
    if margin < tight_margin:
        return Band.TIGHT
    if margin >= headroom:
        return Band.HEADROOM
    return Band.OK


@dataclass(frozen=True)
class Budget:
    """A latency budget on one percentile, as the marker declared it."""

    #: The number as written in the marker (50 for ``ms=50``).
    value: float
    #: "ms" or "us", as written in the marker.
    unit: str
    #: The percentile the budget applies to, in percent (99 for p99).
    percentile: float

    @property
    def seconds(self) -> float:
        """The budget in seconds."""
        return self.value * (1e-3 if self.unit == "ms" else 1e-6)

    @property
    def ns(self) -> float:
        """The budget in nanoseconds."""
        return self.value * (1e6 if self.unit == "ms" else 1e3)

    def __str__(self) -> str:
        """E.g. ``p99 <= 50 ms``."""
        unit = "µs" if self.unit == "us" else "ms"
        return f"{pct_label(self.percentile)} <= {self.value:g} {unit}"


def pct_label(percentile: float) -> str:
    """``99`` -> ``p99``, ``99.9`` -> ``p99.9``."""
    return f"p{percentile:g}"


@dataclass(frozen=True)
class Subject:
    """What was measured."""

    #: "onnx" or "callable".
    kind: str
    #: The model path (or "<bytes>", "<ModelProto>", "<InferenceSession>") or the
    #: callable's qualified name.
    name: str
    #: The call that was timed, e.g. ``session.run(None, feeds)``.
    api: str
    #: Execution providers asked for and actually in use (ONNX only).
    providers_requested: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    #: Session thread settings (0 means onnxruntime's default).
    intra_op_threads: int | None = None
    inter_op_threads: int | None = None
    #: Input name -> "dtype[shape]" of the feeds used (ONNX only).
    inputs: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SlaResult:
    """The result of one ``sla.onnx()`` or ``sla.measure()`` call.

    Times are in seconds. ``margin`` and ``verdict`` are None when the test has no
    ``@pytest.mark.sla`` budget (or under ``--sla-disable``).
    """

    #: What was measured.
    subject: Subject
    #: The budget judged against, or None.
    budget: Budget | None
    #: The verdict, or None without a budget.
    verdict: Verdict | None
    #: What the sampler observed.
    sampling: Sampling = field(repr=False)
    #: The percentile reported when there is no budget (the ``sla_percentile`` setting).
    default_percentile: float = 99.0
    #: Confidence used for the verdict.
    confidence: float = 0.99
    #: Margins below this are "tight", at or above ``headroom`` "headroom".
    tight_margin: float = 1.5
    headroom: float = 10.0
    _sorted_ns: npt.NDArray[np.int64] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ordered = np.sort(self.sampling.samples_ns)
        ordered.setflags(write=False)
        object.__setattr__(self, "_sorted_ns", ordered)

    @property
    def samples(self) -> int:
        """How many timed calls the statistics rest on (warmup excluded)."""
        return int(self.sampling.samples_ns.size)

    @property
    def timings_ns(self) -> npt.NDArray[np.int64]:
        """Every sample in call order, in nanoseconds (read-only)."""
        return self.sampling.samples_ns

    def percentile(self, q: float) -> float:
        """The ``q``-th percentile in seconds; ``q`` in percent, e.g. ``percentile(99)``."""
        if not (isinstance(q, (int, float)) and 0.0 < q <= 100.0) or isinstance(q, bool):
            raise ValueError(f"percentile(q) takes q in percent, in (0, 100], got {q!r}")
        return percentile_ns(self._sorted_ns, q) / 1e9

    @property
    def measured_percentile(self) -> float:
        """The budget's percentile (or ``sla_percentile``) in seconds."""
        return self.percentile(self.budget.percentile if self.budget else self.default_percentile)

    @property
    def margin(self) -> float | None:
        """Budget / measured percentile (1,850 means 1,850x faster than needed), or None."""
        if self.budget is None:
            return None
        # In nanoseconds, as the verdict counts them: ``budget.seconds`` is inexact
        # (100 * 1e-6 < 1e-4), which would call a budget met exactly a "miss".
        measured_ns = percentile_ns(self._sorted_ns, self.budget.percentile)
        return self.budget.ns / measured_ns if measured_ns > 0 else math.inf

    @property
    def band(self) -> Band | None:
        """Where the margin falls: miss, tight, ok or headroom; None without a budget."""
        margin = self.margin
        if margin is None:
            return None
        band = classify(margin, self.tight_margin, self.headroom)
        # "Stop optimizing" is advice: it needs a verdict that the budget is met.
        if band is Band.HEADROOM and self.verdict is not Verdict.PASS:
            return Band.OK
        return band

    @property
    def p50(self) -> float:
        """The median in seconds."""
        return self.percentile(50)

    @property
    def mean(self) -> float:
        """Mean time per call in seconds."""
        return float(self.sampling.samples_ns.mean()) / 1e9

    @property
    def min(self) -> float:
        """Fastest call in seconds."""
        return float(self._sorted_ns[0]) / 1e9

    @property
    def max(self) -> float:
        """Slowest call in seconds."""
        return float(self._sorted_ns[-1]) / 1e9

    @property
    def throughput(self) -> float:
        """Calls per second on one thread (1 / mean)."""
        mean = self.mean
        return 1.0 / mean if mean > 0 else math.inf

    @property
    def cold_start(self) -> float:
        """The first call, in seconds (reported apart; never a sample)."""
        return self.sampling.cold_start_ns / 1e9

    def to_record(self, nodeid: str) -> SlaRecord:
        """Plain values for transport (pytest-xdist) and reports."""
        budget = self.budget
        pct = budget.percentile if budget else self.default_percentile
        decision = self.sampling.decision
        band = self.band
        return SlaRecord(
            nodeid=nodeid,
            subject=self.subject.name,
            kind=self.subject.kind,
            api=self.subject.api,
            providers=list(self.subject.providers),
            intra_op_threads=self.subject.intra_op_threads,
            inter_op_threads=self.subject.inter_op_threads,
            budget_value=budget.value if budget else None,
            budget_unit=budget.unit if budget else None,
            budget_s=budget.seconds if budget else None,
            percentile=pct,
            measured_s=self.percentile(pct),
            p50_s=self.p50,
            p90_s=self.percentile(90),
            p99_s=self.percentile(99),
            mean_s=self.mean,
            min_s=self.min,
            max_s=self.max,
            throughput=self.throughput,
            samples=self.samples,
            cold_start_s=self.cold_start,
            warmup_calls=self.sampling.warmup_calls,
            duration_s=self.sampling.duration_ns / 1e9,
            stop_reason=self.sampling.stop_reason,
            confidence=self.confidence,
            design_effect=decision.design_effect if decision else None,
            verdict=self.verdict.value if self.verdict else None,
            margin=self.margin,
            band=band.value if band else None,
        )


class SlaRecord(TypedDict):
    """One measurement as plain values: what workers send and reports read."""

    nodeid: str  # the pytest node id of the test
    subject: str  # model path or callable name
    kind: str  # "onnx" or "callable"
    api: str  # the call that was timed
    providers: list[str]  # execution providers in use (ONNX)
    intra_op_threads: int | None  # session setting; 0 = onnxruntime default
    inter_op_threads: int | None  # session setting; 0 = onnxruntime default
    budget_value: float | None  # as written in the marker
    budget_unit: str | None  # "ms" or "us"
    budget_s: float | None  # the budget in seconds
    percentile: float  # the judged (or reported) percentile, in percent
    measured_s: float  # that percentile, measured, in seconds
    p50_s: float  # median, seconds
    p90_s: float  # seconds
    p99_s: float  # seconds
    mean_s: float  # seconds
    min_s: float  # seconds
    max_s: float  # seconds
    throughput: float  # calls per second (1 / mean)
    samples: int  # timed calls behind the statistics
    cold_start_s: float  # the first call, seconds
    warmup_calls: int  # calls made to warm up
    duration_s: float  # sampling wall time, seconds
    stop_reason: str  # decided, max_time, max_samples, measured, disabled
    confidence: float  # confidence of the verdict
    design_effect: float | None  # burstiness correction used by the last look
    verdict: str | None  # "pass", "fail", "inconclusive" or None
    margin: float | None  # budget / measured
    band: str | None  # "miss", "tight", "ok", "headroom" or None
