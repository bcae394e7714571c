"""The result model: what one measurement found, as frozen, typed values.

A :class:`SlaResult` is what ``sla.onnx()`` and ``sla.measure()`` return. Its
:meth:`SlaResult.to_record` turns it into plain values (an
:class:`~pytest_latency_sla.schema.SlaRecord`) that travel from pytest-xdist workers to
the controller and feed every report.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .fmt import pct_label
from .schema import (
    CapacityEntry,
    CapacityStepEntry,
    DecisionEntry,
    DefaultedDim,
    Histogram,
    InputEntry,
    LoadEntry,
    SlaRecord,
)
from .stats import percentile_ns, quantile_interval

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from .loadspec import CapacityStep, LoadStats
    from .sampling import Sampling
    from .settings import Settings
    from .stats import Decision

__all__ = [
    "Band",
    "Budget",
    "SlaResult",
    "Subject",
    "Verdict",
    "classify",
    "judged",
]


#: Percentiles every record reports, besides the judged one.
REPORTED_PERCENTILES = (50.0, 90.0, 95.0, 99.0, 99.9)
#: Bins of the histogram that summarizes the samples.
HISTOGRAM_BINS = 40


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
        # Divided, not multiplied by 1e-6: 20 us is 2e-05 s, not 1.9999999999999998e-05.
        return self.value / (1e3 if self.unit == "ms" else 1e6)

    @property
    def ns(self) -> float:
        """The budget in nanoseconds."""
        return self.value * (1e6 if self.unit == "ms" else 1e3)

    def __str__(self) -> str:
        """E.g. ``p99 <= 50 ms``."""
        unit = "µs" if self.unit == "us" else "ms"
        return f"{pct_label(self.percentile)} <= {self.value:g} {unit}"


def judged_percentile(budget: Budget | None, default: float) -> float:
    """The percentile a measurement is judged (or reported) at: the budget's, or the
    ``sla_percentile`` setting without one. The one place this choice is made."""
    return budget.percentile if budget is not None else default


@dataclass(frozen=True)
class Subject:
    """What was measured."""

    #: "onnx", "callable" or "benchmark".
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
    #: SHA-256 of the model's bytes (ONNX, when the model came as a path, bytes or proto).
    model_sha256: str | None = None
    #: Other session settings that change latency (execution mode, optimization level).
    session_options: tuple[tuple[str, str | int], ...] = ()
    #: Measured in a separate worker process (``isolate=True``).
    isolated: bool = False
    #: Symbolic dimensions of generated inputs that got the default size 1 (ONNX, not
    #: given in ``dims=`` nor by a feed), and which of them are batch dimensions: the
    #: leading axis of every input they appear in. A margin measured with another
    #: dimension at 1 (a sequence length, an image width) says little about real inputs.
    defaulted_dims: tuple[str, ...] = ()
    batch_dims: tuple[str, ...] = ()
    #: What traced or profiled Python code while it was timed (``active_tracer``), e.g.
    #: ``coverage.tracer.CTracer`` under pytest-cov; None: nothing.
    tracer: str | None = None

    @property
    def defaulted_sizes(self) -> tuple[str, ...]:
        """Defaulted dimensions that are not batch dimensions: they withhold the "stop
        optimizing" band."""
        return tuple(d for d in self.defaulted_dims if d not in self.batch_dims)

    @property
    def api_text(self) -> str:
        """The timed call as reports show it, e.g. ``session.run(None, feeds) [isolated]``."""
        return self.api + (" [isolated]" if self.isolated else "")


# eq=False, as for Sampling: results compare (and hash) by identity, not by their arrays.
@dataclass(frozen=True, eq=False)
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
    _sorted_ns: npt.NDArray[np.int64] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        import numpy as np

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
    def judged_percentile(self) -> float:
        """The percentile judged (the budget's) or, without a budget, reported; in percent."""
        return judged_percentile(self.budget, self.default_percentile)

    @property
    def measured_percentile(self) -> float:
        """The budget's percentile (or ``sla_percentile``) in seconds."""
        return self.percentile(self.judged_percentile)

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
        # "Stop optimizing" is advice: it needs a verdict that the budget is met, on
        # inputs of real sizes (a sequence of length 1 is not one).
        if band is Band.HEADROOM and (
            self.verdict is not Verdict.PASS or self.subject.defaulted_sizes
        ):
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
        """Calls per second: on one thread (1 / mean), or under load (``rps=``) the rate
        achieved."""
        load = self.sampling.load
        if load is not None and load.target_rps is not None:
            return load.achieved_rps
        mean = self.mean
        return 1.0 / mean if mean > 0 else math.inf

    @property
    def cold_start(self) -> float:
        """The first call, in seconds (reported apart; never a sample)."""
        return self.sampling.cold_start_ns / 1e9

    def interval(self, percentile: float | None = None) -> tuple[float, float]:
        """Confidence bounds (seconds) on the measured percentile (or ``percentile``), at
        ``confidence``.

        Distribution-free (order statistics), widened by the last look's design effect
        when samples came in bursts. Baseline comparisons rest on the median's.
        """
        pct = self.judged_percentile if percentile is None else percentile
        decision = self.sampling.decision
        deff = decision.design_effect if decision else 1.0
        low, high = quantile_interval(self.samples, pct / 100.0, self.confidence, deff)
        return (
            percentile_ns(self._sorted_ns, max(low * 100.0, 1e-9)) / 1e9,
            percentile_ns(self._sorted_ns, max(high * 100.0, 1e-9)) / 1e9,
        )

    def histogram(self, bins: int = HISTOGRAM_BINS) -> Histogram:
        """Counts of samples in log-spaced bins from the fastest to the slowest call."""
        lo = max(float(self._sorted_ns[0]), 1.0)
        hi = max(float(self._sorted_ns[-1]), lo * 1.0001)
        import numpy as np

        edges = np.geomspace(lo, hi, bins + 1)
        counts, _ = np.histogram(np.clip(self._sorted_ns, lo, hi), bins=edges)
        return Histogram(edges_s=[float(e) / 1e9 for e in edges], counts=counts.tolist())

    def to_record(self, nodeid: str, index: int = 0, raw: bool = False) -> SlaRecord:
        """Plain values for transport (pytest-xdist) and reports.

        ``index`` numbers the measurements of one test from 0; ``raw`` adds every sample
        (otherwise a log-spaced histogram summarizes them).
        """
        budget = self.budget
        subject = self.subject
        sampling = self.sampling
        pct = self.judged_percentile
        band = self.band
        low, high = self.interval()
        record = SlaRecord(
            nodeid=nodeid,
            index=index,
            label=nodeid if index == 0 else f"{nodeid} #{index + 1}",
            subject=subject.name,
            kind=subject.kind,
            api=subject.api_text,
            model_sha256=subject.model_sha256,
            inputs=[_input_entry(name, text) for name, text in subject.inputs],
            defaulted_dims=[
                DefaultedDim(name=d, batch=d in subject.batch_dims) for d in subject.defaulted_dims
            ],
            providers_requested=list(subject.providers_requested),
            providers=list(subject.providers),
            intra_op_threads=subject.intra_op_threads,
            inter_op_threads=subject.inter_op_threads,
            session_options=dict(subject.session_options),
            budget_value=budget.value if budget else None,
            budget_unit=budget.unit if budget else None,
            budget_s=budget.seconds if budget else None,
            percentile=pct,
            measured_s=self.percentile(pct),
            interval_s=[low, high],
            p50_s=self.p50,
            p50_interval_s=list(self.interval(50.0)),
            percentiles_s={pct_label(q): self.percentile(q) for q in REPORTED_PERCENTILES},
            mean_s=self.mean,
            min_s=self.min,
            max_s=self.max,
            throughput=self.throughput,
            samples=self.samples,
            cold_start_s=self.cold_start,
            warmup_calls=sampling.warmup_calls,
            warmup_s=sampling.warmup_ns / 1e9,
            duration_s=sampling.duration_ns / 1e9,
            chunks=sampling.chunks,
            looks=sampling.looks,
            timer_overhead_ns=sampling.timer_overhead_ns,
            stop_reason=sampling.stop_reason,
            needed_calls=sampling.needed_calls,
            confidence=self.confidence,
            decision=_decision_entry(sampling.decision),
            verdict=self.verdict.value if self.verdict else None,
            margin=self.margin,
            band=band.value if band else None,
            histogram=self.histogram(),
            raw_ns=sampling.samples_ns.tolist() if raw else None,
            comparison=None,
            revision=None,
            advice=None,
            cold=None,
            sweep=None,
            load=_load_entry(sampling.load),
            outcome=None,
        )
        if sampling.max_time_ns > 0:
            record["max_time_s"] = sampling.max_time_ns / 1e9
        if subject.tracer is not None:
            record["tracer"] = subject.tracer
        return record


def _input_entry(name: str, text: str) -> InputEntry:
    """``("x", "float32[1,6]")`` -> ``{"name": "x", "dtype": "float32", "shape": [1, 6]}``."""
    dtype, _, dims = text.partition("[")
    shape = [int(d) for d in dims.rstrip("]").split(",") if d.strip().lstrip("-").isdigit()]
    return InputEntry(name=name, dtype=dtype, shape=shape)


def _step_entry(step: CapacityStep) -> CapacityStepEntry:
    entry = CapacityStepEntry(
        rps=step.rps,
        measured_s=step.measured_ns / 1e9,
        held=step.held,
        requests=step.requests,
        duration_s=step.duration_ns / 1e9,
    )
    if step.others_share is not None:
        entry["others_share"] = step.others_share
    if step.idle_share is not None:
        entry["idle_share"] = step.idle_share
    return entry


def _load_entry(load: LoadStats | None) -> LoadEntry | None:
    if load is None:
        return None
    capacity: CapacityEntry | None = None
    found = load.capacity
    if found is not None:
        capacity = CapacityEntry(
            rps=found.rps,
            cores=found.cores,
            used_share=(
                load.target_rps / found.rps if load.target_rps is not None and found.rps else None
            ),
            limited=found.limited,
            steps=[_step_entry(step) for step in found.steps],
            duration_s=found.duration_ns / 1e9,
            problem=found.problem,
        )
    return LoadEntry(
        target_rps=load.target_rps,
        arrivals=load.arrivals,
        concurrency=load.concurrency,
        achieved_rps=load.achieved_rps,
        requests=load.requests,
        in_flight_max=load.in_flight_max,
        outstanding_max=load.outstanding_max,
        late_share=load.late_share,
        late_tolerance_s=load.late_tolerance_ns / 1e9,
        behind=load.behind,
        cores=load.cores,
        capacity=capacity,
        unfinished=load.unfinished,
        steal_share=load.steal_share,
        others_share=load.others_share,
        held_share=load.held_share,
    )


def _decision_entry(decision: Decision | None) -> DecisionEntry | None:
    if decision is None:
        return None
    return DecisionEntry(
        outcome=decision.outcome,
        alpha=decision.alpha,
        p_pass=decision.p_pass,
        p_fail=decision.p_fail,
        n_eff=decision.n_eff,
        t_eff=decision.t_eff,
        design_effect=decision.design_effect,
        threshold_s=decision.threshold_ns / 1e9 if decision.threshold_ns is not None else None,
        contended_share=decision.contended_share,
        reason=decision.reason,
        lost_share=decision.lost_share,
    )


def judged(
    subject: Subject, sampling: Sampling, budget: Budget | None, settings: Settings
) -> SlaResult:
    """A measurement judged against ``budget`` (none under ``--sla-disable``) with the
    session's ``settings``: the verdict its last look decided, or inconclusive."""
    budget = None if settings.disable else budget
    verdict = None
    if budget is not None:
        decision = sampling.decision
        outcome = decision.outcome if decision else None
        verdict = Verdict(outcome) if outcome else Verdict.INCONCLUSIVE
    return SlaResult(
        subject=subject,
        budget=budget,
        verdict=verdict,
        sampling=sampling,
        default_percentile=settings.percentile,
        confidence=settings.confidence,
        tight_margin=settings.tight_margin,
        headroom=settings.headroom,
    )
