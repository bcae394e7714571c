"""The sentences a verdict turns into: pure functions of a result."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import fmt
from .fmt import pct_label
from .result import Verdict

if TYPE_CHECKING:
    from .result import SlaResult

__all__ = ["verdict_message"]


def verdict_message(result: SlaResult, inconclusive_policy: str = "fail") -> str:
    """One sentence on a result with a budget: why it failed, or was too close to call.

    ``inconclusive_policy`` (the ``sla_inconclusive`` setting) decides which way out of
    an inconclusive result is suggested.
    """
    budget = result.budget
    if budget is None or result.verdict is None:
        raise ValueError("no verdict to explain")
    label = pct_label(budget.percentile)
    measured = fmt.duration(result.measured_percentile)
    limit = fmt.budget(budget.value, budget.unit)
    stats = (
        f"margin {fmt.margin(result.margin)}, {fmt.count(result.samples)} calls, "
        f"{fmt.percent(result.confidence)} confidence"
    )
    if result.verdict is Verdict.FAIL:
        return f"SLA missed: {label} {measured} > {limit} budget ({stats})"
    if result.verdict is Verdict.PASS:
        return f"SLA met: {label} {measured} <= {limit} budget ({stats})"
    stop_reason = result.sampling.stop_reason
    if stop_reason == "max_time":
        stopped = f"after {fmt.duration(result.sampling.duration_ns / 1e9)} (sla_max_time)"
        longer = "raise sla_max_time"
    elif stop_reason == "benchmark":
        # pytest-benchmark chose how many rounds ran; the sla_max_* caps played no part.
        stopped = "with pytest-benchmark's rounds alone"
        longer = "run more rounds (--benchmark-min-rounds, or rounds= of benchmark.pedantic)"
    else:
        stopped = "at the sample cap (sla_max_samples)"
        longer = "raise sla_max_samples"
    accept = (
        "; or set sla_inconclusive = warn (or pass) to accept such results"
        if inconclusive_policy == "fail"
        else ""
    )
    head = f"SLA too close to call: {label} {measured} against a {limit} budget ({stats}); "
    decision = result.sampling.decision
    reason = decision.reason if decision else None
    if reason == "busy" and decision is not None:
        return (
            f"{head}the machine was busy: {fmt.percent(round(decision.contended_share, 2))} of "
            "calls waited for a CPU taken by other processes, and only that wait stood "
            f"between the samples and a verdict ({stopped}); rerun on a quieter runner, or "
            f"{longer} to sample longer{accept}"
        )
    if reason == "dependent" and decision is not None:
        return (
            f"{head}latency came in long bursts: {stopped} the {fmt.count(result.samples)} "
            f"calls count as about {fmt.count(round(decision.n_eff))} independent ones "
            f"(dependence {decision.design_effect:.3g}x), too few to tell at "
            f"{fmt.percent(result.confidence)} confidence whether the budget is met; "
            f"{longer} to see more of the machine's slow and fast spells, or give the budget "
            f"room{accept}"
        )
    margin = result.margin or 1.0
    if 0.5 < margin < 2.0:
        return (
            f"{head}{stopped} the samples cannot tell at {fmt.percent(result.confidence)} "
            "confidence whether the budget is met. Measurements within about 2x of a budget "
            "need many samples and flip on noisy machines: give the budget room, make the "
            f"model faster, or {longer} to sample longer{accept}"
        )
    # Far from the budget yet undecided: too few samples were allowed, not too close.
    return (
        f"{head}{stopped} there were too few samples to call even this clear a margin at "
        f"{fmt.percent(result.confidence)} confidence ({label} needs hundreds of calls: "
        f"see the table in docs/verdicts.md); {longer}, or lower the percentile{accept}"
    )
