"""pytest-benchmark: a verdict and margin from a ``benchmark`` fixture's own rounds.

A test already written for pytest-benchmark gets an SLA by adding the marker::

    @pytest.mark.sla(ms=50)
    def test_model(benchmark):
        benchmark(session.run, None, feeds)

After the test body, its rounds (pytest-benchmark's raw timings: each round's time per
iteration) are judged by the same rule as the ``sla`` fixture's samples, in one look.
pytest-benchmark's own table, JSON and comparisons are untouched. Duck-typed: nothing
here imports pytest-benchmark.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

import numpy as np

from .result import Subject, judged_percentile
from .runner import Measured
from .sampling import Sampling
from .verdict import Ledger, judge, projection, thresholds

if TYPE_CHECKING:
    from .fixture import SlaFixture
    from .result import SlaResult

__all__ = ["benchmark_rounds", "judge_benchmark", "no_rounds", "sampling_from_rounds"]


def benchmark_rounds(benchmark: object) -> tuple[list[float], int] | None:
    """(seconds per iteration of each round, iterations per round), or None if it did not
    run (``--benchmark-disable``, or the fixture was requested but never called)."""
    metadata = getattr(benchmark, "stats", None)
    data = getattr(getattr(metadata, "stats", None), "data", None)
    if not data:
        return None
    return [float(value) for value in data], int(getattr(metadata, "iterations", 1) or 1)


def sampling_from_rounds(
    rounds_s: list[float],
    budget_ns: float | None,
    quantile: float,
    confidence: float,
    settle_ns: float = 0.0,
    max_samples: int | None = None,
) -> Sampling:
    """The rounds as samples, judged in a single look at ``confidence``.

    The first round is reported as the cold start and not judged (pytest-benchmark runs
    no warmup by default, so it is a cold call), unless it is the only round. A p100
    passes only on judged rounds whose times add up to ``settle_ns``, or that number
    ``max_samples``.
    """
    all_ns = np.rint(np.asarray(rounds_s, dtype=np.float64) * 1e9).astype(np.int64)
    cold = int(all_ns[0])
    samples = all_ns[1:] if all_ns.size > 1 else all_ns
    samples.setflags(write=False)
    decision, needed = None, None
    if budget_ns is not None:
        # One look, on rounds that are all there is: settled. Consecutive rounds make up
        # the chunks (at most 2,000), in the order (and so the time) they ran.
        ledger = Ledger(thresholds(budget_ns, 1.0), budget_ns)
        size = max(1, -(-int(samples.size) // 2_000))
        offset = 0.0
        for first in range(0, int(samples.size), size):
            part = samples[first : first + size]
            ledger.add(part, offset, 0)
            offset += float(part.sum())
        decision = judge(ledger, budget_ns, quantile, confidence)
        full = max_samples is not None and samples.size >= max_samples
        if decision.outcome == "pass" and quantile >= 1.0 and offset < settle_ns and not full:
            # A p100 passes only on rounds spanning sla_settle_time (or sla_max_samples of
            # them), as the sla fixture's samples must: a maximum over one round says
            # little (a bad-input hunt).
            decision = dataclasses.replace(decision, outcome=None)
            want = math.ceil(int(samples.size) * settle_ns / max(offset, 1.0))
            needed = min(want, max_samples or want) + 1
        elif decision.outcome is None:
            need = projection(ledger, budget_ns, quantile, confidence)
            # The rounds a verdict would need, with the first (the cold start) in front.
            needed = None if need is None else max(int(samples.size), math.ceil(need)) + 1
    return Sampling(
        samples_ns=samples,
        cold_start_ns=cold,
        warmup_calls=0,
        warmup_ns=0,
        duration_ns=int(all_ns.sum()),
        chunks=1,
        looks=1 if decision else 0,
        stop_reason="benchmark",
        timer_overhead_ns=0,
        decision=decision,
        needed_calls=needed,
    )


def judge_benchmark(fixture: SlaFixture, benchmark: object, name: str) -> SlaResult | None:
    """Judge a finished benchmark against the fixture's budget; None if it did not run."""
    found = benchmark_rounds(benchmark)
    if found is None:
        return None
    rounds, iterations = found
    budget = fixture.budget
    settings = fixture.settings
    if settings.disable:
        return None
    quantile = judged_percentile(budget, settings.percentile) / 100.0
    plan = settings.plan()
    # (Each round times ``iterations`` calls: the rounds span that many times their sum.)
    settle_ns = min(plan.settle_time_ns, plan.max_time_ns) / iterations
    sampling = sampling_from_rounds(
        rounds,
        budget.ns if budget else None,
        quantile,
        settings.confidence,
        settle_ns,
        plan.max_samples,
    )
    from .environment import active_tracer

    subject = Subject(
        tracer=active_tracer(),
        kind="benchmark",
        name=name,
        api=f"pytest-benchmark rounds ({iterations} iteration{'s' if iterations > 1 else ''} "
        "per round)",
    )
    return fixture.judge(Measured(subject, sampling))


def no_rounds(disabled: bool, xdist_worker: bool, nodeid: str) -> str:
    """The skip reason of a test whose benchmark fixture recorded no rounds, naming why:
    ``--benchmark-disable`` (``disabled``), pytest-benchmark turning itself off under
    pytest-xdist (``xdist_worker``), or a fixture the test requested and never called."""
    if disabled:
        why, fix = "--benchmark-disable", "drop --benchmark-disable"
    elif xdist_worker:
        why, fix = "pytest-benchmark turns itself off under pytest-xdist", "run it without -n"
    else:
        why, fix = "the test never called it", "call benchmark(...) in the test"
    sla = "the sla fixture, which measures under xdist too" if xdist_worker else "the sla fixture"
    return (
        f"no SLA verdict: the benchmark fixture recorded no rounds ({why}); {fix}, or use "
        f"{sla} (in {nodeid})"
    )
