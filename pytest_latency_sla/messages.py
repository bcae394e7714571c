"""The sentences a verdict turns into: pure functions of a result."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from . import fmt
from .fmt import pct_label
from .limits import ISOLATED_START_S, RUN_TIME_SPENT, timeout_for
from .result import Verdict
from .schema import BUSY_CPU_SHARE, STEAL_MENTION_SHARE
from .settings import MAX_SECONDS
from .stats import calls_to_decide

if TYPE_CHECKING:
    from .limits import Cut
    from .loadspec import LoadStats
    from .result import SlaResult
    from .sampling import Sampling

__all__ = ["load_failure", "verdict_message"]


def verdict_message(
    result: SlaResult, inconclusive_policy: str = "fail", index: int = 0, cut_by: Cut | None = None
) -> str:
    """One sentence on a result with a budget: why it failed, or was too close to call.

    ``inconclusive_policy`` (the ``sla_inconclusive`` setting) decides which way out of
    an inconclusive result is suggested. The sentence names what was measured (the model
    path or the callable), and ``index`` (from 0) which measurement of the test it was.
    ``cut_by``: the timeout around the test that cut ``max_time`` short, or bounds it
    without that (``Cut.cut`` False; ``limits.fit``).
    """
    budget = result.budget
    if budget is None or result.verdict is None:
        raise ValueError("no verdict to explain")
    label = pct_label(budget.percentile)
    measured = fmt.duration_beside(result.measured_percentile, budget.seconds)
    limit = fmt.budget(budget.value, budget.unit) + " budget for " + _what(result, index)
    load = result.sampling.load
    # pytest-benchmark's rounds are not the calls the sla fixture makes: name them so.
    unit = "round" if result.sampling.stop_reason == "benchmark" else "call"
    calls = f"{fmt.count(result.samples)} {unit}{'' if result.samples == 1 else 's'}"
    if load is not None and load.target_rps is not None:
        limit += f" under {fmt.rate(load.target_rps)} ({load.arrivals} arrivals, open loop)"
        calls = (
            f"{fmt.count(result.samples)} requests, achieved {fmt.rate(load.achieved_rps)}, "
            f"up to {fmt.count(load.outstanding_max)} in the system"
        )
    # p100 is judged on the slowest call seen: no confidence level plays a part.
    sure = "" if budget.percentile >= 100 else f", {fmt.percent(result.confidence)} confidence"
    stats = f"margin {fmt.margin(result.margin)}, {calls}{sure}"
    traced = _traced(result)
    caveats = _sizes(result) + traced
    busy = load is not None and (load.others_share or 0.0) >= BUSY_CPU_SHARE
    if result.verdict is Verdict.FAIL:
        if load is not None and load.unfinished:  # (counted at the time they had waited)
            caveats += f"; {fmt.count(load.unfinished)} {_NEVER}"
        if busy:
            caveats += f"; {_others(load)}"
        return f"SLA missed: {label} {measured} > {limit} ({stats}){caveats}"
    if result.verdict is Verdict.PASS:
        return f"SLA met: {label} {measured} <= {limit} ({stats}){caveats}"
    sampling = result.sampling
    accept = (
        "; or set sla_inconclusive = warn (or pass) to accept such results"
        if inconclusive_policy == "fail"
        else ""
    )
    head = f"SLA inconclusive: {label} {measured} against a {limit} ({stats}){traced}; "
    if sampling.stop_reason == "benchmark":
        # pytest-benchmark chose how many rounds ran; the sla_max_* caps played no part.
        rounds = sampling.needed_calls
        remedy = (
            "no verdict is in sight at this margin with any number of rounds: give the "
            "budget room, or make the code faster"
            if rounds is None
            else f"run about {fmt.count(rounds)} rounds in all (--benchmark-min-rounds="
            f"{rounds}, or rounds={rounds} of benchmark.pedantic)"
        )
        if budget.percentile >= 100 and rounds is not None:  # (the only p100 undecided)
            return (
                f"{head}no round was over the budget, but a p100 passes only on rounds that "
                "span sla_settle_time (or a shorter sla_max_time), or reach sla_max_samples, "
                f"as the sla fixture's samples must; {remedy}{accept}"
            )
        return (
            f"{head}with pytest-benchmark's rounds alone the samples cannot tell at "
            f"{fmt.percent(result.confidence)} confidence whether the budget is met; "
            f"{remedy}{accept}"
        )
    stopped = _stopped(result, cut_by)
    need = _need(result, cut_by)
    decision = sampling.decision
    reason = decision.reason if decision else None
    stolen = load is not None and load.steal_share >= STEAL_MENTION_SHARE
    if load is not None and stolen:
        # Part of the story whatever the reason: a stalled VM delays a queue at once.
        head += (
            f"the host took {fmt.share(load.steal_share, 3)} of the CPU time "
            "meanwhile (a virtual machine's steal: every thread stalls at once, and requests "
            "queue behind each stall; a quieter machine helps); "
        )
    if busy:
        # A trial: 200/s, 1% of what the generator holds, "fell behind" on a busy machine
        # with "lower rps=" as the fix; whatever the reason (a review), it is context.
        head += f"{_others(load)}; "
    if load is not None and load.unfinished:
        # Calls that never returned: each holds a thread, and the requests behind wait.
        head += f"{fmt.count(load.unfinished)} {_NEVER}; "
    if reason == "busy" and decision is not None:
        if sampling.needed_calls is None:
            # "no verdict in sight at this margin" reads as the model's fault: it is not.
            longer = f", or {_sample_longer(sampling, cut_by)}"
        elif need.startswith("raise"):
            longer = f", or {need}"
        elif _TOO_LONG in need:
            longer = f"; {need}"  # no sampling reaches it: not "or sample longer"
        elif (wait := _wait_s(result)) > BUSY_WAIT_S:  # (a trial: "set max_time=3600")
            longer = f" (sampling on here would take about {fmt.long_duration(wait)})"
        else:
            longer = f", or sample longer: {need}"  # "or p99 needs about ..." read garbled
        return (
            f"{head}the machine was busy: {fmt.share(decision.contended_share, 2)} of "
            "calls waited for a CPU taken by other processes, and only that wait stood "
            f"between the samples and a verdict ({stopped}); rerun on a quieter runner"
            f"{longer}{accept}"
        )
    if reason == "generator" and load is not None:
        from .load import LATE_BEHIND

        # Starts the callable's own calls held up are its cost, not the generator's.
        own_late = max(0.0, load.late_share - load.held_share)
        tolerance = fmt.duration(load.late_tolerance_ns / 1e9)
        late = (
            f"{fmt.share(own_late, 3)} of requests were issued more than {tolerance} after "
            "their time by a free thread"
        )
        if load.held_share > 0:
            late += f" (and {fmt.share(load.held_share, 3)} while its own calls held the CPUs)"
        if own_late == 0:  # (the time its threads lost between calls decided)
            but = " but those its own calls held up" if load.held_share > 0 else ""
            late = (
                f"no request was issued more than {tolerance} after its time by a free "
                f"thread{but}, yet its threads lost time between calls"
            )
        quieter_first = stolen or busy  # (another's CPU time: a quieter machine first)
        gil = (
            ", or, for a callable that holds the GIL, set concurrency=1 (calls one at a "
            "time, as a single server)"
            # (Not for a model, whose run releases the GIL, nor at concurrency=1 already.)
            if result.subject.kind == "callable" and load.concurrency > 1
            else ""
        )
        if own_late <= LATE_BEHIND:
            # It kept the rate: a few requests held back (a busy machine, the GIL).
            longer = _sample_longer(sampling, cut_by)
            remedies = (
                ["rerun on a quieter machine", longer]
                if quieter_first
                else [longer, "run on a quieter machine"]
            )
            return (
                f"{head}the load generator lost time: {late}, and only that lost time (and "
                f"the queue it made) stood between the requests and a verdict ({stopped}); "
                f"{', '.join(remedies) if gil else _or_last(remedies)}{gil}{accept}"
            )
        fixes = ["rerun on a quieter machine"] if quieter_first else []
        fixes += ["lower rps=", "run on a machine with more free cores"]
        return (
            f"{head}the load generator fell behind: {late}, and only the time the "
            "generator lost (its lateness, and the queue it made) stood between the "
            f"requests and a verdict ({stopped}); {', '.join(fixes) if gil else _or_last(fixes)}"
            f"{gil}{accept}"
        )
    if (
        decision is not None
        and decision.contended_share >= BUSY_MENTION_SHARE
        and decision.lost_share >= BUSY_MENTION_SHARE
    ):
        # Not what alone stood in the way (that is reason "busy"), but part of the story;
        # not when it cost little time (a slow model's every long chunk catches a tick of
        # the host's steal, 1-2% of its time: "86% of calls waited" on an idle machine).
        head += (
            f"the machine was busy meanwhile ({fmt.share(decision.contended_share, 2)}"
            " of calls waited for a CPU taken by other processes: a quieter runner helps); "
        )
    if reason in ("dependent", "moved") and decision is not None:
        independent = max(1, round(decision.n_eff))
        # "No verdict in sight" already says to give the budget room.
        room = "" if "budget room" in need else ", or give the budget room"
        # Sampling longer sees more spells; judging a lower percentile does not (nor
        # sampling that would take longer than it may: then no longer sampling is told).
        longer, judge, lower = need.partition(", or judge ")
        seen = "the machine's slow and fast spells" if reason == "dependent" else "its moves"
        if "max_time=" in longer and _TOO_LONG not in longer:
            need = f"{longer}, to see more of {seen}{judge}{lower}"
        if reason == "moved":
            return (
                f"{head}the latency's level moved during the run: {stopped}, the typical "
                "call moved across the run more than chance explains, so the next minutes "
                "may find it elsewhere, and a verdict this close to the budget would not "
                f"hold were it as far as the run's moves suggest; {need}{room}{accept}"
            )
        return (
            f"{head}latency came in long bursts: {stopped}, the {fmt.count(result.samples)} "
            f"{'requests' if load is not None and load.target_rps else 'calls'} count as about "
            f"{fmt.count(independent)} independent {'one' if independent == 1 else 'ones'} "
            f"(dependence {decision.design_effect:.3g}x), too few to tell at "
            f"{fmt.percent(result.confidence)} confidence whether the budget is met; "
            f"{need}{room}{accept}"
        )
    return (
        f"{head}{stopped}, the samples cannot tell at {fmt.percent(result.confidence)} "
        f"confidence whether the budget is met; {need}{accept}"
    )


def _what(result: SlaResult, index: int) -> str:
    """What was measured, e.g. ``models/funnel.onnx`` or ``preprocess (measurement 2)``."""
    name = result.subject.name
    return f"{name} (measurement {index + 1} of the test)" if index else name


def _sizes(result: SlaResult) -> str:
    """For sizes that defaulted to 1 (not batch sizes): what the verdict was measured on."""
    sizes = result.subject.defaulted_sizes
    if not sizes:
        return ""
    given = ", ".join(f"{d}=1" for d in sizes)
    example = ", ".join(f"{d!r}: <size>" for d in sizes)
    return (
        f"; measured with {given} (defaulted), which real inputs may not have: give real "
        f"sizes with dims={{{example}}}"
    )


def _traced(result: SlaResult) -> str:
    """For a measurement timed under a tracer (pytest-cov's, a debugger's): what it did."""
    from .schema import UNTRACED

    tracer = result.subject.tracer
    if tracer is None or result.sampling.stop_reason == "disabled":
        return ""
    return (
        f"; timed under a Python tracer ({tracer}), which slows Python code several "
        f"times over: {UNTRACED}"
    )


def _sample_longer(sampling: Sampling, cut_by: Cut | None) -> str:
    """How to let sampling go on longer: the marker's max_time= (max_samples= when that
    stopped it), or the timeout that cut it short (a longer max_time would be cut alike)."""
    if sampling.stop_reason == "max_samples":
        need = sampling.needed_calls or 0  # (p99.9 in 2,000 calls could never pass: say so)
        more = f"{fmt.count(need)} or more" if need > sampling.max_samples else "sample longer"
        return f"raise sla_max_samples (or max_samples= on this marker) to {more}"
    if cut_by and cut_by.cut and sampling.stop_reason in ("max_time", "time_limit", "unreachable"):
        return f"raise {cut_by.name}, which cut the sampling short"
    if sampling.stop_reason in ("time_limit", "unreachable"):
        # It went past max_time already: the time limit stopped it (a hard cap of
        # max(max_time, time_limit), so a max_time under the limit changes nothing).
        if cut_by and cut_by.limit_by:
            return f"raise {cut_by.limit_by}, which ended the sampling"
        limit = fmt.duration(sampling.limit_ns / 1e9)
        return f"raise time_limit= on this marker (sla_time_limit, {limit}) to sample longer"
    return "raise max_time= on this marker (sla_max_time) to sample longer"


def _stopped(result: SlaResult, cut_by: Cut | None = None) -> str:
    """Why sampling stopped undecided, e.g. "after 20.0 s (sla_max_time)"."""
    sampling = result.sampling
    took = fmt.duration(sampling.duration_ns / 1e9)
    limit = fmt.duration(sampling.limit_ns / 1e9)
    if cut_by and cut_by.limit_by:
        limit += f", cut short by {cut_by.limit_by}"
    if cut_by and cut_by.cut and sampling.stop_reason in ("max_time", "time_limit", "unreachable"):
        kept = f", with time kept for {cut_by.follows}" if cut_by.follows else ""
        return f"after {took}, cut short to end before {cut_by.name}{kept}"
    if sampling.stop_reason == "unreachable":
        return (
            f"after {took}, past sla_max_time toward a verdict that then moved beyond the "
            f"time limit ({limit})"
        )
    if sampling.stop_reason == "time_limit":
        return f"after {took}, past sla_max_time toward a verdict, at the time limit ({limit})"
    if sampling.stop_reason == "max_samples":
        return f"after {fmt.count(result.samples)} calls (sla_max_samples)"
    spent = cut_by is not None and cut_by.limit_by == RUN_TIME_SPENT
    if spent and sampling.limit_ns <= sampling.max_time_ns:
        # No projection could take it further: say why, or "max_time=" reads as the cause.
        return f"after {took} (sla_max_time; no sampling past it: {RUN_TIME_SPENT})"
    return f"after {took} (sla_max_time)"


def _need(result: SlaResult, cut_by: Cut | None = None) -> str:
    """What a verdict needs, with numbers, and how to give it that.

    E.g. "p99 needs about 510 calls: about 10.4 s at 20.3 ms per call; set max_time=15
    on this marker, or judge p95 (about 90 calls)".
    """
    sampling = result.sampling
    budget = result.budget
    if budget is None:
        return ""
    label = pct_label(budget.percentile)
    needed = sampling.needed_calls
    per_call = result.mean
    rate = (sampling.load.target_rps or 0.0) if sampling.load is not None else 0.0
    if sampling.stop_reason == "max_samples":
        text, want = _sample_longer(sampling, cut_by), needed or 0
        seconds, limit = want / rate if rate else want * per_call, sampling.limit_ns / 1e9
        if want <= sampling.max_samples or not 0 < limit < seconds:  # they fit in time
            return text
        from .load import MAX_TIME_LIMIT_S  # (the most time_limit= may be: a day)

        took = f"{fmt.count(want)} {'requests' if rate else 'calls'} take about "
        took += f"{fmt.duration(seconds)}"
        suggested, may = fmt.round_up(seconds * 1.2), f"sampling may take {fmt.duration(limit)}"
        if float(suggested) > MAX_TIME_LIMIT_S:
            return f"{text}; but {took}, {_TOO_LONG}: give the budget room"
        if cut_by and (cut_by.cut or cut_by.limit_by):  # not time_limit= that set it
            by = cut_by.name if cut_by.cut else cut_by.limit_by
            return f"{text}, and raise {by}, under which {may}: {took}"
        return f"{text}, and time_limit= to {suggested} or more ({may} now): {took}"
    if needed is None or per_call <= 0:
        # Past max_time already (a projection moved beyond the limit), "in sight" and
        # "raise max_time=" would both be wrong: the time limit ended it.
        past = sampling.stop_reason in ("time_limit", "unreachable")
        sight = "within the time limit" if past else "in sight"
        return (
            f"{label} shows no verdict {sight} at this margin: give the budget room, make "
            f"the model faster, or {_sample_longer(sampling, cut_by)}"
        )
    if rate:
        seconds = needed / rate
        pace = f"{fmt.rate(rate)}"
        unit = "requests"
    else:
        seconds = needed * per_call
        pace = f"{fmt.duration(per_call)} per call"
        unit = "calls"
    lower = _lower_percentile(result, seconds / needed)
    if lower is not None and cut_by is not None and cut_by.cut:
        lower = (*lower[:2], "")  # a timeout cut the run: its remedy comes first
    if seconds > MAX_SECONDS:
        # Longer than max_time= may be: a remedy the marker would refuse is no remedy.
        hours = f"{seconds / 3600:,.0f} h" if seconds >= 7200 else fmt.duration(seconds)
        text = (
            f"{label} needs about {fmt.count(needed)} {unit}: about {hours} at {pace}, "
            f"{_TOO_LONG} (max_time= is at most {MAX_SECONDS // 3600} h): "
            "give the budget room, or make the model faster"
        )
        if lower is not None:
            text += (
                f", or judge {pct_label(lower[0])} (about {fmt.count(lower[1])} {unit}){lower[2]}"
            )
        return text
    suggested = fmt.round_up(min(seconds * 1.2, MAX_SECONDS))  # (an hour at most)
    text = (
        f"{label} needs about {fmt.count(needed)} {unit}: about {fmt.duration(seconds)} at "
        f"{pace}; set max_time={suggested}"
    )
    if needed * 1.2 > sampling.max_samples > 0:
        # The time suggested holds more calls than the cap: raising max_time alone would
        # stop at the cap instead.
        step = 10 ** max(0, math.floor(math.log10(needed * 1.2)) - 1)
        text += f" and max_samples={math.ceil(needed * 1.2 / step) * step:_}"
    text += " on this marker"
    # A timeout must hold the worker's start (isolated), the warmup and the rest of the
    # test besides the sampling: limits.timeout_for, the inverse of limits.fit's cut.
    before = ISOLATED_START_S if result.subject.isolated else 0.0
    warmup = sampling.warmup_ns / 1e9  # (as long as sla_warmup_time, when that is longer)
    timeout = fmt.round_up(timeout_for(float(suggested), before, warmup_s=warmup))
    by = cut_by.name if cut_by else ""
    if result.subject.isolated and not by.startswith("the isolated worker"):
        text += f" and sla_timeout above {timeout} (it is isolated)"
    if cut_by:
        # Its time is shared with what follows the measurement in the same call. One
        # that did not cut this run may still cut the next, longer one.
        # (The time the test had spent before the measurement counts too.)
        whole = fmt.round_up(
            cut_by.spent_s + timeout_for(float(suggested), before, cut_by.phases, warmup)
        )
        if by and (cut_by.cut or float(whole) > cut_by.timeout_s):
            text += f", and raise {by} above {whole} s"
    if lower is not None:
        text += f", or judge {pct_label(lower[0])} (about {fmt.count(lower[1])} {unit}){lower[2]}"
    return text


#: The most a busy machine's undecided result offers to sample on (s): a quieter runner.
BUSY_WAIT_S = 600.0


def _wait_s(result: SlaResult) -> float:
    """How long the calls a verdict needs beyond those made would take (s; 0.0 unknown)."""
    load, needed = (
        result.sampling.load,
        max(0, (result.sampling.needed_calls or 0) - result.samples),
    )
    rate = (load.target_rps or 0.0) if load is not None else 0.0
    return needed / rate if rate else needed * max(0.0, result.mean)


def _or_last(remedies: list[str]) -> str:
    """``[a, b, c]`` as ``a, b, or c`` (a remedy may hold commas of its own)."""
    *rest, last = remedies or [""]
    return f"{', '.join(rest)}, or {last}" if rest else last


_NEVER = (  # said of requests under load that never finished, after their number
    "of the requests due never finished (in a call that had not returned when the run "
    "stopped, or waiting for a thread)"
)
#: Said of the calls a verdict needs when they would take more than max_time= may be.
_TOO_LONG = "longer than sampling may take"


#: Percentiles suggested instead of a judged one that needs too many calls.
_LOWER = (99.9, 99.0, 95.0, 90.0, 50.0)
#: An undecided measurement with at least this share of its calls in chunks that waited
#: for a CPU taken by other processes, waiting at least this share of the time, says
#: so, whatever else kept it undecided.
BUSY_MENTION_SHARE = 0.05


def _lower_percentile(result: SlaResult, seconds_per: float) -> tuple[float, int, str] | None:
    """A lower usual percentile that the samples put within budget, the calls a pass of
    it would need at the share of calls over the budget seen and the dependence
    measured (the calls it needs, not the calls made: fewer can be enough), when fewer
    than the judged percentile needs, and the ``max_time=`` they take, as a clause (""
    when the run's own was enough). The highest whose calls, at ``seconds_per`` each,
    fit in the time sampling may take; else the highest (a trial: "or judge p95 (about
    120 calls)" of a 0.5 s model took 60 s, and ended inconclusive again)."""
    budget = result.budget
    sampling = result.sampling
    decision = sampling.decision
    if budget is None or decision is None:
        return None
    n = result.samples
    share = int((result.timings_ns > budget.ns).sum()) / n if n else 0.0
    d = max(1.0, decision.design_effect)
    reach = max(sampling.limit_ns, sampling.max_time_ns) / 1e9
    found: list[tuple[float, int, str]] = []
    for q in _LOWER:
        if q >= budget.percentile:
            continue
        if result.percentile(q) > budget.seconds:
            break
        # From one call at the share seen: the fewest that decide, even if fewer than made.
        need = calls_to_decide(1.0, share, 1.0 - q / 100.0, decision.alpha, "pass")
        if need is None or need * d >= (sampling.needed_calls or 0):
            break
        calls = math.ceil(need * d)
        seconds = calls * seconds_per * 1.2
        more = sampling.max_time_ns > 0 and seconds > sampling.max_time_ns / 1e9
        found.append((q, calls, f" with max_time={fmt.round_up(seconds)}" if more else ""))
        if seconds <= reach:
            return found[-1]
    return found[0] if found else None


#: A ``sla`` fixture kept past its test (in a global, a class attribute) and used again.
NESTED = (
    "a measurement was started from inside the code another measurement of this test is "
    "timing, which would then time both: measure each on its own, one after the other"
)
#: Two threads of one process measuring at once (each would time the other's load).
CONCURRENT = (
    "another thread of this process is timing a measurement now, and two measurements "
    "timed at once each time the other's load: measure one after the other (join the "
    "other thread first, or run such tests one at a time)"
)
CLOSED_FIXTURE = (
    "this sla fixture's test has finished, so what it measured now would reach no report: "
    "request the sla fixture in the test that measures (each test gets its own), not one "
    "kept from the test it was made for"
)


def joined(problem: str | None, found: str | None, sep: str = "; ") -> str:
    """A test's problems so far (None or "" for none) with one more found (if any)."""
    return sep.join(p for p in (problem, found) if p)


def load_failure(name: str, exc: Exception) -> str:
    """Why ``sla.measure()`` of the callable ``name`` failed under load (``exc``, a
    ``load.LoadError``): one that raised while other calls of it ran is told how to
    serialize its calls."""
    from .load import ConcurrentCallError

    if isinstance(exc, ConcurrentCallError):
        return (
            f"{name} failed under load: {exc}. If it is not thread-safe, set "
            "concurrency=1 on the marker: calls are then made one at a time, as by a "
            "single server, and requests queue behind each other (their wait counts)"
        )
    return f"{name} under load: {exc}"


def _others(load: LoadStats | None) -> str:
    """What other processes took of the CPUs during a load run, with what it means."""
    share = fmt.share(load.others_share or 0.0, 2) if load is not None else "?"
    return (
        f"other processes took {share} of the CPUs meanwhile (under load a busy machine "
        "is not excused: a quieter one helps)"
    )
