"""The advisor: what each usual optimization would buy against the budget, measured.

Before a team spends a week on int8 quantization or thread tuning, the advisor times
each variant of the model side by side with the original (``paired.sample_pair``: the
same engine as the pre-merge comparison, so a busy machine moves both alike) and says
whether any of them changes the SLA's outcome. Pure: the variants arrive as calls (or as
the sentence saying why one could not be made); no pytest, no onnxruntime.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from . import fmt
from .paired import judge_ratio, sample_pair
from .stats import percentile_ns

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from .plan import SamplingPlan
    from .runner import AdviseRequest, Timing
    from .schema import Advice, AdviceEntry

__all__ = [
    "ADVISE_MAX_TIME_NS",
    "ADVISE_MIN_TIME_NS",
    "Variant",
    "advice_for",
    "advice_sentence",
    "advise",
]

#: Each variant is timed beside the original for at least this long...
ADVISE_MIN_TIME_NS = 500_000_000
#: ... and at most this long (or ``sla_max_time``, if less): advice, not a verdict.
ADVISE_MAX_TIME_NS = 2_000_000_000
#: Within a timeout around the test, a variant left less than this is not timed.
ADVISE_FLOOR_NS = 100_000_000
#: A variant within this fraction of the original is "about the same".
SAME_WITHIN = 0.05
#: A variant's error is quoted up to this many characters.
_MAX_DETAIL = 400

_OUTCOMES = {
    "regression": "slower",
    "improvement": "faster",
    "unchanged": "same",
    "unknown": "unknown",
}


@dataclass(frozen=True)
class Variant:
    """One variant of the model: its name and the call that runs it once, or the sentence
    saying why it could not be made (a quantizer that crashed, an option refused)."""

    name: str
    call: Callable[[], object] | None = None
    problem: str | None = None
    #: How its inputs or outputs differ from the original's, one sentence (None: they
    #: do not).
    difference: str | None = None
    #: False when it is fed other data than the original (an input's type or shape
    #: differs): it is timed and shown, but its time does not compare, so it gets no
    #: margin and is never advised.
    comparable: bool = True


def _failed(name: str, problem: str) -> AdviceEntry:
    return {
        "name": name,
        "status": "failed",
        "problem": problem,
        "p50_s": None,
        "percentile_s": None,
        "p50_ratio": None,
        "percentile_ratio": None,
        "margin": None,
        "meets_budget": None,
        "outcome": None,
        "changes_outcome": None,
    }


def advise(
    original: Callable[[], object],
    variants: Sequence[Variant],
    plan: SamplingPlan,
    *,
    budget_s: float | None,
    quantile: float,
    original_meets: bool | None,
    original_margin: float | None = None,
    confidence: float = 0.95,
    clock: Callable[[], int] = time.perf_counter_ns,
    until: tuple[int, str] | None = None,
    now: Callable[[], int] = time.monotonic_ns,
) -> list[AdviceEntry]:
    """Time each variant side by side with ``original`` and judge variant/original at
    p50 and at ``quantile``; a variant that could not be made, or raised, is a row with
    its sentence. ``original_meets``: whether the original met its budget (None without
    a verdict), against which "changes the outcome" is judged. ``original_margin``: the
    original's margin as measured; a variant's margin is then that margin divided by the
    variant/original ratio at the budget's percentile, measured side by side (the two
    runs' conditions differ; the ratio's do not). ``until``: when the advisor must end
    (``now()``'s clock) and the timeout that says so: what is left is shared among the
    variants still to time, and a variant left with too little is a row saying so."""
    least = min(ADVISE_MIN_TIME_NS, plan.max_time_ns)
    plan = dataclasses.replace(
        plan,
        min_time_ns=least,
        max_time_ns=max(least, min(plan.max_time_ns, ADVISE_MAX_TIME_NS)),
        time_limit_ns=0,
    )
    entries: list[AdviceEntry] = []
    out_of_time = False
    for number, variant in enumerate(variants):
        if variant.call is None:
            entries.append(_failed(variant.name, variant.problem or "could not be made"))
            continue
        timed = plan
        if until is not None:
            # Its share of what is left, with the warmups of both calls sampled side by
            # side (a quarter each); once one is left too little, time is up for every
            # one after it.
            share = (until[0] - now()) / (len(variants) - number) / 1.5
            out_of_time = out_of_time or share < ADVISE_FLOOR_NS
            if out_of_time:
                entries.append(_failed(variant.name, f"not timed: {until[1]} left no time"))
                continue
            cut = int(min(plan.max_time_ns, share))
            timed = dataclasses.replace(
                plan, min_time_ns=min(plan.min_time_ns, cut), max_time_ns=cut
            )
        try:
            paired = sample_pair(original, variant.call, timed, confidence=confidence, clock=clock)
        except Exception as exc:  # the variant raised when run: a row, never a failure
            # Every line, joined: onnxruntime puts what went wrong ("Got: 8 Expected: 1")
            # on the later ones.
            detail = " ".join(part.strip() for part in str(exc).splitlines() if part.strip())
            if len(detail) > _MAX_DETAIL:
                detail = detail[: _MAX_DETAIL - 3].rstrip() + "..."
            problem = f"raised {type(exc).__name__}" + (f": {detail}" if detail else "")
            entries.append(_failed(variant.name, problem))
            continue
        median = judge_ratio(paired, confidence, SAME_WITHIN)
        tail = judge_ratio(paired, confidence, SAME_WITHIN, quantile=quantile)
        pooled = np.sort(paired.pooled("head"))
        p50_s = percentile_ns(pooled, 50.0) / 1e9
        percentile_s = percentile_ns(pooled, quantile * 100.0) / 1e9
        margin = budget_s / percentile_s if budget_s is not None and percentile_s > 0 else None
        if not variant.comparable:
            # Timed on other inputs: its ratio and margin say nothing of the original's
            # work (a batch-1 variant beside a batch-32 original reads 30x faster).
            margin = None
        if margin is not None and original_margin is not None and 0 < tail.high < math.inf:
            # The original's margin carried over by the ratio's upper end, and never more
            # than the variant's own percentile shows (a trial: on a busy machine the
            # ratio's point estimate read 0.05x, and a variant whose p99 missed the
            # budget "met" it).
            margin = min(margin, original_margin / tail.high)
        meets = None if margin is None else margin >= 1.0
        beside = percentile_ns(np.sort(paired.pooled("base")), 50.0) / 1e9
        entry: AdviceEntry = {
            "original_p50_s": beside,
            "name": variant.name,
            "status": "measured",
            "problem": None,
            "p50_s": p50_s,
            "percentile_s": percentile_s,
            "p50_ratio": median.triple(),
            "percentile_ratio": tail.triple(),
            "margin": margin,
            "meets_budget": meets,
            "outcome": _outcome(median.outcome, median.ratio) if variant.comparable else None,
            "changes_outcome": (
                None if meets is None or original_meets is None else meets != original_meets
            ),
        }
        if variant.difference is not None:
            entry["difference"] = variant.difference
            entry["comparable"] = variant.comparable
        entries.append(entry)
    return entries


def _outcome(judged: str, ratio: float) -> str:
    """faster, slower, same or unknown: a difference the interval shows but within
    ``SAME_WITHIN`` of the original is "same" (1% faster buys nothing)."""
    if judged in ("regression", "improvement") and abs(math.log(ratio)) < math.log1p(SAME_WITHIN):
        return "same"
    return _OUTCOMES[judged]


def _speed(entry: AdviceEntry) -> str:
    """``1.30x slower``, ``1.20x faster``, ``about the same``, ``unknown``."""
    ratio = entry["p50_ratio"]
    if entry["outcome"] == "same" or ratio is None:
        return "about the same speed" if entry["outcome"] == "same" else "of unknown speed"
    value = ratio[0]
    if not math.isfinite(value) or value <= 0:
        return "of unknown speed"
    if entry["outcome"] == "unknown":
        return f"{value:.2f}x the time (cannot tell)"
    return f"{value:.2f}x slower" if value > 1 else f"{1 / value:.2f}x faster"


def _listed(entry: AdviceEntry) -> str:
    """A measured variant in the advice: ``int8 is 1.30x slower``, with how its inputs or
    outputs differ; one fed other data than the original, with that alone."""
    difference = entry.get("difference")
    if entry.get("comparable") is False:
        return f"{entry['name']}: {difference}"
    return f"{entry['name']} is {_speed(entry)}" + (f" ({difference})" if difference else "")


def advice_for(
    original: Callable[[], object],
    variants: Sequence[Variant],
    request: AdviseRequest,
    timing: Timing,
) -> Advice:
    """Time ``variants`` beside ``original`` as ``request`` asks, and put the sentence to
    them."""
    # Under load, a variant's single-call ratio says nothing of its margin at the rate:
    # a 1.3x slower call can fill the queue. Variants then get no margin of their own.
    loaded = request.load_rps is not None
    entries = advise(
        original,
        variants,
        timing.plan,
        budget_s=None if loaded else request.budget_s,
        quantile=timing.quantile,
        original_meets=None if loaded else {"pass": True, "fail": False}.get(request.verdict or ""),
        original_margin=None if loaded else request.margin,
        until=request.until,
    )
    sentence = advice_sentence(
        entries,
        subject=request.subject,
        budget=request.budget,
        margin=request.margin,
        verdict=request.verdict,
        stop=request.stop,
        load_rps=request.load_rps,
    )
    return {"sentence": sentence, "variants": entries}


def advice_sentence(
    entries: Sequence[AdviceEntry],
    *,
    subject: str,
    budget: str | None,
    margin: float | None,
    verdict: str | None = None,
    stop: bool | None = None,
    headroom: float = 10.0,
    load_rps: float | None = None,
) -> str:
    """One sentence of advice, e.g. ``funnel.onnx meets the 50 ms budget 7,205x over;
    int8 (dynamic) is 1.30x slower; no variant changes the outcome: stop optimizing``.

    ``verdict``: the original's (pass, fail, inconclusive; None: read from the margin);
    ``stop``: its band is "stop optimizing" (None: the margin is ``headroom`` or more).
    ``load_rps``: the original was judged under load at that rate, and the variants
    were timed one call at a time: the sentence says how to judge them under load.
    """
    # A variant fed other data than the original is listed with how its inputs differ,
    # and judged no further: its time does not compare.
    apart = [e for e in entries if e["status"] == "measured" and e.get("comparable") is False]
    measured = [e for e in entries if e["status"] == "measured" and e not in apart]
    parts = [_listed(e) for e in entries if e["status"] == "measured"]
    parts += [f"{e['name']}: {e['problem']}" for e in entries if e["status"] == "failed"]
    listing = "; ".join(parts) if parts else "no variant could be measured"
    # "no variant meets it" would take in the variants set apart, which were not judged.
    none = "no comparable variant" if apart else "no variant"
    faster = [e for e in measured if e["outcome"] == "faster" and e["p50_ratio"]]
    best = min(faster, key=lambda e: e["p50_ratio"][0] if e["p50_ratio"] else 1.0, default=None)
    if budget is None or margin is None:
        tail = f"the fastest is {best['name']}" if best else "none is clearly faster"
        return f"{subject} (no budget): {listing}; {tail}"
    verdict = verdict or ("pass" if margin >= 1.0 else "fail")
    if load_rps is not None:
        rate = fmt.rate(load_rps)
        head = {
            # ("(7.64x over)" after a rate read as a rate 7.64x over the budget.)
            "pass": f"{subject} meets the {budget} budget at {rate} (margin {fmt.margin(margin)})",
            "fail": f"{subject} misses the {budget} budget at {rate} (margin {fmt.margin(margin)})",
        }.get(
            verdict,
            f"{subject} is inconclusive against the {budget} budget at {rate} "
            f"(margin {fmt.margin(margin)})",
        )
        if verdict == "pass" and (stop if stop is not None else margin >= headroom):
            return f"{head}; one call at a time, {listing}; stop optimizing"
        return (
            f"{head}; one call at a time, {listing}; a queue at {rate} can magnify "
            f"such a difference: judge a variant under load with its own test "
            f"at rps={load_rps:g}"
        )
    # Only a faster variant whose margin, measured side by side, is wider.
    wider = max(
        (e for e in faster if (e["margin"] or 0.0) > margin),
        key=lambda e: e["margin"] or 0.0,
        default=None,
    )
    widen = (
        f"{wider['name']} would widen the margin to {fmt.margin(wider['margin'])}"
        if wider is not None and wider["margin"] is not None
        else f"{none} widens the margin"
    )
    if verdict == "pass":
        head = f"{subject} meets the {budget} budget {fmt.margin(margin)} over"
        if stop if stop is not None else margin >= headroom:
            return f"{head}; {listing}; {none} changes the outcome: stop optimizing"
        return f"{head}; {listing}; {widen}"
    if verdict != "fail":
        head = f"{subject} is inconclusive against the {budget} budget"
        return f"{head} (margin {fmt.margin(margin)}); {listing}; {widen}"
    head = f"{subject} misses the {budget} budget (margin {fmt.margin(margin)})"
    meeting = [e for e in measured if e["meets_budget"]]
    if meeting:
        chosen = max(meeting, key=lambda e: e["margin"] or 0.0)
        return (
            f"{head}; {listing}; {chosen['name']} meets it (margin {fmt.margin(chosen['margin'])})"
        )
    closest = max(measured, key=lambda e: e["margin"] or 0.0, default=None)
    near = (
        f"; the closest, {closest['name']}, reaches margin {fmt.margin(closest['margin'])}"
        if closest is not None and closest["margin"] is not None
        else ""
    )
    return f"{head}; {listing}; {none} meets it{near}"
