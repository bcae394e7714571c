"""The sentences a verdict turns into: pure functions of a result."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .report import fmt
from .result import Verdict, pct_label

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
    stopped = (
        f"after {fmt.duration(result.sampling.duration_ns / 1e9)}"
        if result.sampling.stop_reason == "max_time"
        else "at the sample cap"
    )
    accept = (
        "; or set sla_inconclusive = warn (or pass) to accept such results"
        if inconclusive_policy == "fail"
        else ""
    )
    return (
        f"SLA too close to call: {label} {measured} against a {limit} budget ({stats}); "
        f"{stopped} the samples cannot tell at {fmt.percent(result.confidence)} confidence "
        f"whether the budget is met. Measurements within about 1.5x of a budget flip on noisy "
        f"machines: give the budget room, make the model faster, or raise sla_max_time to "
        f"sample longer{accept}"
    )
