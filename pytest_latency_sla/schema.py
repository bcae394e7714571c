"""The report schema: the typed shape of records and documents, and its JSON Schema.

Every record a measurement produces (:class:`SlaRecord`), every report document
(:class:`Document`), the JSON report and every baseline share this one layout, at
:data:`SCHEMA_VERSION`. ``schema.json`` beside this module describes the same layout as
JSON Schema (draft 2020-12); keep the two in step. :func:`schema_problem` checks a value
read from a file against a part of that schema (baselines and shard reports are read so).

Types only: this module imports nothing from the rest of the package at run time, so
records, baselines and reports can all depend on it.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:
    from .environment import Environment

__all__ = [
    "BUSY_CPU_SHARE",
    "BUSY_HERE",
    "BUSY_MISMATCH",
    "NO_MEDIAN",
    "READABLE_VERSIONS",
    "RENAMED",
    "SCHEMA_VERSION",
    "STEAL_MENTION_SHARE",
    "UNMEASURED_MESSAGE",
    "UNTRACED",
    "Advice",
    "AdviceEntry",
    "CapacityEntry",
    "CapacityStepEntry",
    "ColdEntry",
    "Comparison",
    "DecisionEntry",
    "DefaultedDim",
    "Document",
    "Histogram",
    "InputEntry",
    "LoadEntry",
    "RevisionEntry",
    "Run",
    "Shard",
    "SlaRecord",
    "SweepEntry",
    "SweepSize",
    "SweepUnmeasured",
    "Unmeasured",
    "json_schema",
]

#: Version of the document's layout. Bump it on any incompatible change.
SCHEMA_VERSION = 3
#: Versions whose baselines can still be compared with: the fields a comparison reads
#: (measured_s, interval_s, the configuration) mean the same in all of them.
READABLE_VERSIONS = (1, 2, 3)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the report document, parsed from ``schema.json``."""
    text = resources.files("pytest_latency_sla").joinpath("schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


# --- one measurement ----------------------------------------------------------------------


class InputEntry(TypedDict):
    """One model input as fed: name, numpy dtype name and shape."""

    name: str
    dtype: str
    shape: list[int]


class DefaultedDim(TypedDict):
    """A symbolic dimension of a generated input that got the default size 1."""

    name: str
    batch: bool  # the leading axis of every input it appears in


class Histogram(TypedDict):
    """Sample counts in log-spaced bins; ``len(edges_s) == len(counts) + 1``."""

    edges_s: list[float]
    counts: list[int]


class _DecisionLost(TypedDict, total=False):
    # Share of the measuring time spent waiting for a CPU others held; absent from before.
    lost_share: float


class DecisionEntry(_DecisionLost):
    """The last look of the verdict rule: what the verdict rests on."""

    outcome: str | None  # "pass", "fail" or None (undecided at that look)
    alpha: float  # significance level of each direction (valid at every look)
    p_pass: float  # anytime-valid p-value (1 / pass evidence): small means clearly within budget
    p_fail: float  # anytime-valid p-value (1 / fail evidence): small means clearly over budget
    n_eff: float  # calls divided by the dependence inflation: independent calls they are worth
    t_eff: float  # exceedances divided by the same
    design_effect: float  # variance inflation from dependence (1 = independent calls)
    threshold_s: float | None  # latency counted against (budget, or budget / 2 for a quick pass)
    contended_share: float  # share of calls in chunks that lost the CPU to other processes
    reason: (
        str | None
    )  # why undecided: "close", "busy", "dependent", "moved" or "generator"; None when decided


class _ComparisonRenamed(TypedDict, total=False):
    # A measurement with no entry under its node id: the node id of the entry it was
    # compared with, the one of a test gone from the suite that measured the same model
    # under the same configuration (a renamed test?); or, "new" with more than one such
    # entry, theirs (none is guessed). Absent otherwise, and from older reports.
    renamed_from: str
    renamed_candidates: list[str]


class Comparison(_ComparisonRenamed):
    """How a measurement compares with its baseline entry."""

    status: str  # regression, improvement, unchanged, mismatch, new
    baseline_measured_s: float | None  # the baseline's measured percentile
    baseline_interval_s: list[float] | None  # its confidence bounds
    baseline_p50_s: float | None  # the baseline's median
    percentile_change: float | None  # measured / baseline's measured - 1, shown only
    change: float | None  # p50 / baseline's p50 - 1 (0.23 = 23% slower): what is judged
    significant: bool  # the change is beyond the noise floor
    mismatch: list[str]  # configuration that differs from the baseline's
    model_changed: bool  # the model's bytes differ from the baseline's (still compared)


class RevisionEntry(TypedDict):
    """The measurement against the base revision (``--sla-compare-ref``), side by side."""

    ref: str  # the base revision, as given
    status: str  # changed (measured side by side), unchanged, new, not comparable
    base_sha256: str | None  # of the model's bytes at the base
    outcome: str | None  # regression, improvement, unchanged, unknown (changed only)
    blocks: int  # interleaved blocks measured (one chunk of each side)
    duration_s: float  # of the side-by-side measurement, both warmups included
    stop_reason: str | None  # decided, max_time, time_limit, unreachable (changed only)
    confidence: float | None  # of the intervals
    percentile: float | None  # the budget's percentile, in percent
    base_p50_s: float | None
    head_p50_s: float | None
    p50_ratio: list[float] | None  # [head/base, low, high]
    base_percentile_s: float | None
    head_percentile_s: float | None
    percentile_ratio: list[float] | None  # [head/base, low, high]
    detectable: float | None  # smallest change (fraction) this run could tell from none


class _AdviceOriginal(TypedDict, total=False):
    # The original's p50 beside the variant, s; absent if not measured, and from before.
    original_p50_s: float
    # How a measured variant's inputs or outputs differ from the original's, one
    # sentence; absent when they do not, and from reports written before this field.
    difference: str
    # With ``difference``: False when the variant was fed other data than the original
    # (an input's type or shape differs), so its time does not compare: no margin, no
    # outcome, never advised.
    comparable: bool


class AdviceEntry(_AdviceOriginal):
    """One variant the advisor timed beside the original (``--sla-advise``)."""

    name: str  # e.g. "int8 (dynamic)", "graph: basic", "threads=1"
    status: str  # measured, or failed (could not be made, or raised when run)
    problem: str | None  # why it failed, one sentence
    p50_s: float | None
    percentile_s: float | None  # at the budget's percentile
    p50_ratio: list[float] | None  # [variant/original, low, high]
    percentile_ratio: list[float] | None  # [variant/original, low, high]
    margin: float | None  # budget / the variant's percentile
    meets_budget: bool | None  # the variant's percentile within the budget
    outcome: str | None  # faster, slower, same, unknown (p50, against the original)
    changes_outcome: bool | None  # meets the budget where the original did not, or back


class ColdEntry(TypedDict):
    """Session creation plus the first call, in fresh processes (``cold_ms=``)."""

    budget_s: float  # the cold_ms budget, in seconds
    runs: int  # fresh processes measured
    session_s: list[float]  # per process: creating the InferenceSession
    first_call_s: list[float]  # per process: its first session.run
    total_s: list[float]  # per process: the two together, what is judged
    median_s: float
    worst_s: float
    verdict: str  # pass: even the worst within budget; fail
    idle_gap_s: float | None  # the idle gap before the after-idle call
    after_idle_s: float | None  # one call after idling that long (first process)


class SweepSize(TypedDict):
    """One size of a sweep."""

    size: int
    p50_s: float
    percentile_s: float  # the judged percentile
    margin: float | None
    verdict: str | None  # pass, fail, inconclusive; None without a budget
    samples: int
    # Why an inconclusive size stayed undecided (dependent, moved, busy, close, generator);
    # None otherwise. Absent from reports written before this field existed.
    reason: str | None


class SweepUnmeasured(TypedDict):
    """A size of a sweep that could not be measured."""

    size: int
    problem: str  # why: the model raised at it, or no time was left for it


class _SweepUnmeasured(TypedDict, total=False):
    # The sizes that could not be measured; absent when every size was, and from before.
    unmeasured: list[SweepUnmeasured]


class SweepEntry(_SweepUnmeasured):
    """A model measured at several sizes of one dimension (``sweep=``)."""

    dim: str
    sizes: list[SweepSize]  # in increasing size
    largest_meeting: int | None  # the largest size whose verdict is a pass


class _CapacityStepOthers(TypedDict, total=False):
    # Shares of the CPUs' time other processes (and the host's steal) took during the step,
    # and that was idle; absent where they cannot be read, and from older reports.
    others_share: float
    idle_share: float


class CapacityStepEntry(_CapacityStepOthers):
    """One rate tried by the capacity search."""

    rps: float
    measured_s: float  # the judged percentile (unfinished requests: their wait so far)
    held: bool  # the budget held at this rate
    requests: int
    duration_s: float


class CapacityEntry(TypedDict):
    """The highest rate at which the budget held (``capacity=True``, ``--sla-capacity``)."""

    rps: float  # requests per second; 0 when the budget held at no rate tried
    cores: int  # CPUs the process may use
    used_share: float | None  # the target rate (rps=) as a share of the capacity
    limited: str | None  # why the search stopped short: time, generator, floor, busy, error
    steps: list[CapacityStepEntry]  # in the order tried
    duration_s: float  # how long the search took
    problem: str | None  # why the search has no figure (limited "error"), or None


class _LoadMachine(TypedDict, total=False):
    # What the machine did during a load run: fields added after the first, so absent
    # from older reports.

    # Share of the CPU time the host took (a virtual machine's steal); absent from before.
    steal_share: float
    # Share of the CPUs' time other processes and the host took; absent from before.
    others_share: float | None
    # Of late_share, the requests late while the callable's calls held the CPUs.
    held_share: float


class LoadEntry(_LoadMachine):
    """An open-loop load run (the marker's ``rps=``) and capacity search."""

    target_rps: float | None  # requests per second issued; None for a capacity search alone
    arrivals: str  # poisson or constant
    concurrency: int  # most calls in flight at once
    achieved_rps: float  # requests finished per second over the run
    requests: int  # requests judged
    in_flight_max: int  # most calls running at once
    outstanding_max: int  # most requests due and unfinished at once
    late_share: float  # share of requests a free thread issued late
    late_tolerance_s: float  # how late counts as late
    behind: bool  # the generator's lateness alone stood between the requests and a verdict
    cores: int  # CPUs the process may use
    capacity: CapacityEntry | None  # the capacity search, or None
    unfinished: int  # requests due before an undecided run stopped that never finished


class Advice(TypedDict):
    """What the advisor found for one measurement: every variant and one sentence."""

    sentence: str
    variants: list[AdviceEntry]


class _RecordMaxTime(TypedDict, total=False):
    # The max_time the measurement ran under (the marker's or sla_max_time, as a timeout
    # cut it), seconds; absent without one, and from reports written before this field.
    max_time_s: float
    # What traced or profiled Python code while it was timed (coverage's tracer under
    # pytest-cov, a debugger, a profiler); absent when nothing did.
    tracer: str


class SlaRecord(_RecordMaxTime):
    """One measurement as plain values: what workers send, reports read, JSON holds."""

    nodeid: str  # the pytest node id of the test
    index: int  # which measurement of the test, from 0
    label: str  # the node id, with " #2", " #3" for later measurements of one test
    subject: str  # model path or callable name
    kind: str  # "onnx", "callable" or "benchmark"
    api: str  # the call that was timed
    model_sha256: str | None  # of the model's bytes (ONNX, when known)
    inputs: list[InputEntry]  # inputs as fed (ONNX)
    defaulted_dims: list[DefaultedDim]  # symbolic dims given size 1 by default (ONNX)
    providers_requested: list[str]  # execution providers asked for (ONNX)
    providers: list[str]  # execution providers in use (ONNX)
    intra_op_threads: int | None  # session setting; 0 = onnxruntime default
    inter_op_threads: int | None  # session setting; 0 = onnxruntime default
    session_options: dict[str, str | int]  # other session settings (ONNX)
    budget_value: float | None  # as written in the marker
    budget_unit: str | None  # "ms" or "us"
    budget_s: float | None  # the budget in seconds
    percentile: float  # the judged (or reported) percentile, in percent
    measured_s: float  # that percentile, measured, in seconds
    interval_s: list[float]  # [low, high] confidence bounds on measured_s
    p50_s: float  # median, seconds
    p50_interval_s: list[float]  # [low, high] confidence bounds on p50_s
    percentiles_s: dict[str, float]  # "p50", "p90", "p95", "p99", "p99.9" -> seconds
    mean_s: float  # seconds
    min_s: float  # seconds
    max_s: float  # seconds
    throughput: float  # calls per second (1 / mean; under load, the rate achieved)
    samples: int  # timed calls behind the statistics
    cold_start_s: float  # the first call, seconds
    warmup_calls: int  # calls made to warm up
    warmup_s: float  # warmup wall time, seconds
    duration_s: float  # sampling wall time, seconds
    chunks: int  # chunks the samples were taken in
    looks: int  # looks at the verdict rule
    timer_overhead_ns: int  # one back-to-back clock read, included in each sample
    stop_reason: str  # decided, max_time, time_limit, unreachable, max_samples, measured, ...
    needed_calls: int | None  # undecided: calls a verdict would have needed (projected)
    confidence: float  # confidence of the verdict
    decision: DecisionEntry | None  # the last look, or None without a budget
    verdict: str | None  # "pass", "fail", "inconclusive" or None
    margin: float | None  # budget / measured
    band: str | None  # "miss", "tight", "ok", "headroom" or None
    histogram: Histogram  # summary of every sample
    raw_ns: list[int] | None  # every sample in call order, with --sla-raw
    comparison: Comparison | None  # against --sla-compare's baseline
    revision: RevisionEntry | None  # against --sla-compare-ref's base revision
    advice: Advice | None  # the variants --sla-advise timed (ONNX only)
    cold: ColdEntry | None  # cold start against the marker's cold_ms= (ONNX only)
    sweep: SweepEntry | None  # the sizes of sla.onnx(sweep=...) (ONNX only)
    load: LoadEntry | None  # open-loop load (rps=) and capacity search, or None
    outcome: str | None  # passed, failed, skipped, xfailed, interrupted: set by the run


# --- the document of a run ----------------------------------------------------------------


class _RunUnits(TypedDict, total=False):
    # The unit of each setting that has one ("s", "x", "%" or "fraction": a share stored
    # as 0-1), so a report can show "100%" for 1.0; absent from older reports.
    setting_units: dict[str, str]


class _RunUnmatched(TypedDict, total=False):
    # With --sla-compare: the baseline's measurements no record of this run was compared
    # with, as labels; absent without a baseline, and from older reports.
    baseline_unmatched: list[str]


class Run(_RunUnits, _RunUnmatched):
    """Facts about the run, gathered by the controller."""

    started_at: str  # ISO 8601, UTC
    duration_s: float  # wall time of the session
    interrupted: bool  # stopped with tests left (Ctrl-C, -x): the results are partial
    exit_status: int  # pytest's exit status
    environment: Environment  # machine and software at the start
    settings: dict[str, Any]  # the sla_* settings in force
    baseline: str | None  # path of --sla-compare's baseline, if any
    xdist_workers: int | None  # pytest-xdist workers, or None without xdist
    xdist_mode: str | None  # "serial" (SLA tests ran alone) or "parallel"; None without xdist
    merged_from: list[Shard] | None  # the shard reports merged into this one; None: one run


class _ShardXdist(TypedDict, total=False):
    # The shard's run.xdist_workers and run.xdist_mode; absent from older reports.
    xdist_workers: int | None
    xdist_mode: str | None


class Shard(_ShardXdist):
    """One shard report that ``python -m pytest_latency_sla merge`` merged."""

    path: str  # the shard's JSON report, as given
    started_at: str
    duration_s: float
    exit_status: int
    interrupted: bool
    measurements: int  # records it held
    environment: Environment
    differences: list[str]  # what differs from the first shard (merged with --allow-mixed)


class Unmeasured(TypedDict):
    """An SLA test that failed without a measurement (bad input, a crash, a timeout)."""

    nodeid: str
    phase: str  # "setup", "call" or "teardown" (measuring left to a fixture's teardown)
    message: str  # the failure's first line, at most UNMEASURED_MESSAGE characters


#: The most characters of an unmeasured test's failure kept in reports.
UNMEASURED_MESSAGE = 300

#: A load run's ``steal_share`` from which its messages and reports name the host's steal.
STEAL_MENTION_SHARE = 0.01
#: The share of the CPUs' time other processes took from which a load run's messages and
#: load line name the busy machine, and a capacity step's failure is the machine's.
BUSY_CPU_SHARE = 0.25
#: How a comparison's ``mismatch`` list begins such a measurement's entry.
BUSY_MISMATCH = "a busy machine: "
#: Whose measuring time a busy mismatch of this run's side names (the baseline's: another).
BUSY_HERE = "of this run's measuring time"

#: The ``comparison.mismatch`` reason of a baseline entry with no median to compare with.
NO_MEDIAN = "the baseline has no p50_s above 0"
#: What the reports say of a comparison with the entry of another test (``renamed_from``):
#: ``compared with t.py::test_old (same model; renamed?)``.
RENAMED = "same model; renamed?"
#: How to time without a tracer (``SlaRecord.tracer``), in the notes that name one.
UNTRACED = "run the SLA tests without it (pytest-cov: --no-cov)"


class Document(TypedDict):
    """The whole report."""

    schema_version: int  # SCHEMA_VERSION
    tool: dict[str, str]  # {"name": "pytest-latency-sla", "version": ...}
    run: Run
    totals: dict[str, Any]  # counts: measurements, tests, pass, fail, ... (see schema.json)
    results: list[SlaRecord]  # tightest margin first, then runs without a budget
    # Earlier attempts of tests a rerun plugin ran again (their outcome is "rerun"); the
    # reports, totals and baselines count only final attempts, in results.
    earlier_attempts: list[SlaRecord]
    # SLA tests that failed without a measurement, in the order they failed; absent from
    # reports written before this field existed.
    unmeasured: list[Unmeasured]
