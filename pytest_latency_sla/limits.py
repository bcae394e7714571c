"""How long a measurement may take: the session's measuring time, an isolated worker's
timeout, and what each leaves of the sampling plan.

No pytest, no onnxruntime. The fixture asks :func:`fit` for the plan a measurement runs
under; a run that could never end in time comes back as a sentence, which the fixture
turns into a failure.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .capacity import fit_isolated

if TYPE_CHECKING:
    from .loadspec import LoadSpec
    from .plan import SamplingPlan
    from .sampling import Sampling

__all__ = ["ISOLATED_SLACK_S", "Fitted", "RunClock", "fit"]

#: Seconds of ``sla_timeout`` kept for an isolated worker's start, model load and warmup.
ISOLATED_SLACK_S = 15.0


class RunClock:
    """How long this session (this xdist worker) has measured, against ``sla_run_time``."""

    def __init__(self) -> None:
        self.used_ns = 0
        self.measurements = 0

    def add(self, sampling: Sampling) -> None:
        self.used_ns += sampling.warmup_ns + sampling.duration_ns
        load = sampling.load
        if load is not None and load.capacity is not None:
            self.used_ns += load.capacity.duration_ns
        self.measurements += 1


@dataclass(frozen=True)
class Fitted:
    """The plan and load a measurement runs under, or why it could never end in time."""

    plan: SamplingPlan
    load: LoadSpec | None
    problem: str | None = None


def fit(
    plan: SamplingPlan,
    load: LoadSpec | None,
    *,
    run_time_left_ns: int | None = None,
    isolated_timeout_s: float | None = None,
) -> Fitted:
    """``plan`` with sampling past ``max_time`` (toward a projected verdict) stopped in time
    for what is left of ``sla_run_time`` (``run_time_left_ns``; None: no such limit) and,
    in an isolated worker that is killed after ``isolated_timeout_s``, for the worker's
    start, the model's load and warmup, and a capacity search after it."""
    limit = plan.time_limit_ns
    if run_time_left_ns is not None:
        # Past the run's measuring time, nothing goes past max_time.
        limit = min(limit, run_time_left_ns)
    if isolated_timeout_s is not None:
        load, room, late = fit_isolated(load, plan, isolated_timeout_s, ISOLATED_SLACK_S)
        if late:
            return Fitted(plan, load, late)
        limit = min(limit, room)
    if limit != plan.time_limit_ns:
        plan = dataclasses.replace(plan, time_limit_ns=max(plan.max_time_ns, limit))
    return Fitted(plan, load)
