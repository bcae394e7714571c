"""How long a measurement may take: the session's measuring time, an isolated worker's
timeout, a timeout around the whole test (pytest-timeout's), and what each leaves of the
sampling plan.

No pytest, no onnxruntime. The fixture asks :func:`fit` for the plan a measurement runs
under; a run that could never end in time comes back as a sentence, which the fixture
turns into a failure.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import fmt

if TYPE_CHECKING:
    from .loadspec import LoadSpec
    from .plan import SamplingPlan
    from .sampling import Sampling

__all__ = [
    "ISOLATED_START_S",
    "RUN_TIME_SPENT",
    "SPANNING",
    "Cut",
    "Deadline",
    "Fitted",
    "RunClock",
    "deadline",
    "fit",
    "left_ns",
    "spanning_a_state",
    "timeout_for",
    "until",
    "worker_deadline",
    "worker_timeout",
]

#: Seconds of ``sla_timeout`` an isolated worker needs before it measures: its start
#: (an interpreter, numpy, onnxruntime) and the model's load (a fifth of a timeout of a
#: few seconds). The rest of the timeout is a deadline like any other (:func:`fit`).
ISOLATED_START_S = 2.0


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


#: Of a timeout around the whole test, what a measurement leaves for the rest of the test
#: (a session to create, the reports' bookkeeping): this share, and at least a second.
DEADLINE_SLACK_SHARE = 0.1
DEADLINE_SLACK_MIN_NS = 1_000_000_000
#: Warmup may take up to a quarter of ``max_time`` (``SamplingPlan.warmup_cap_ns``), and
#: stops after a second (``plan.WARMUP_CAP_NS``): a fifth of what is left is kept for
#: it, but no more than that second and one more (for the cold call, and the last
#: look's chunk past the end). A quarter of a 30 s timeout's time, kept whole, cut a 40 ms
#: model's sampling at 21.4 s when it needed 23 s (a trial).
_WARMUP_SHARE = 0.25
_WARMUP_KEPT_MAX_NS = 2_000_000_000
#: ``Cut.limit_by`` when sla_run_time, spent by earlier tests, cut the time limit.
RUN_TIME_SPENT = "sla_run_time (the session's measuring time, spent by earlier tests)"
#: A capacity search's last step may end this long after the search's time (3 s of
#: load, a sixth of it for its threads' first calls and one for its calls in flight).
_STEP_OVERRUN_NS = 4_000_000_000


@dataclass(frozen=True)
class Deadline:
    """A timeout that would kill a measurement midway, losing every sample:
    pytest-timeout's around the whole test, or an isolated worker's ``sla_timeout``."""

    #: When it strikes (``time.monotonic_ns()``).
    at_ns: int
    timeout_s: float
    #: It in words, e.g. "pytest-timeout's 5 s timeout".
    name: str
    #: How to raise it to ``{n}`` seconds, for a sentence.
    how: str = "--timeout={n}, or @pytest.mark.timeout({n})"
    #: Of it, what goes before the measurement (an isolated worker's start), ns.
    before_ns: int = 0


def worker_deadline(timeout_s: float, now_ns: int) -> Deadline:
    """The deadline of an isolated worker started now and killed after ``timeout_s``."""
    return Deadline(
        at_ns=now_ns + int(timeout_s * 1e9),
        timeout_s=timeout_s,
        name=f"the isolated worker's sla_timeout ({timeout_s:g} s)",
        how="--sla-timeout={n}, or sla_timeout = {n}",
        before_ns=int(ISOLATED_START_S * 1e9),
    )


def worker_timeout(
    timeout_s: float, outer: Deadline | None, now_ns: int
) -> tuple[float, str | None]:
    """An isolated worker's timeout from now: ``sla_timeout``, or less when ``outer``
    (pytest-timeout's) would strike first, so that the worker is killed with the plugin's
    own sentence (and then by whom: ``outer``'s name) rather than the test by it."""
    if outer is None:
        return timeout_s, None
    slack = max(1.0, DEADLINE_SLACK_SHARE / 2 * outer.timeout_s)
    left = (outer.at_ns - now_ns) / 1e9 - slack
    if left >= timeout_s:
        return timeout_s, None
    return max(0.5, left), outer.name


def deadline(
    started_ns: int, *, marker: object, option: object, env: str | None, ini: object
) -> Deadline | None:
    """pytest-timeout's timeout around a test that started at ``started_ns``, read as it
    reads it: the test's ``timeout`` marker, else ``--timeout``, else ``PYTEST_TIMEOUT``,
    else the ``timeout`` ini key; None for none, 0, or a value it would refuse."""
    raw = next((v for v in (marker, option, env or None, ini or None) if v is not None), None)
    try:
        timeout = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if not 0 < timeout < float("inf"):
        return None
    name = f"pytest-timeout's {timeout:g} s timeout"
    return Deadline(started_ns + int(timeout * 1e9), timeout, name)


@dataclass(frozen=True)
class Cut:
    """A deadline that cut a measurement's ``max_time`` short, for its sentence."""

    #: The deadline's name, e.g. "pytest-timeout's 30 s timeout".
    name: str
    #: The parts its time was shared in: the measurement, and what follows it in the same
    #: call (each as long), e.g. 3 for a measurement, the base revision's and the advisor.
    phases: int = 1
    #: What follows, in words ("" for nothing), e.g. "the advisor".
    follows: str = ""
    #: False: the deadline left ``max_time`` as it was, but bounds the test all the same,
    #: so a remedy that asks for more time names it too.
    cut: bool = True
    #: Its timeout, seconds (0: unknown), and how much of it had gone when the
    #: measurement started.
    timeout_s: float = 0.0
    spent_s: float = 0.0
    #: What cut the time limit (sampling past ``max_time``) short, in words: the deadline,
    #: or ``sla_run_time`` spent; "" when nothing did.
    limit_by: str = ""


@dataclass(frozen=True)
class Fitted:
    """The plan and load a measurement runs under, or why it could never end in time."""

    plan: SamplingPlan
    load: LoadSpec | None
    problem: str | None = None
    #: The deadline that cut ``max_time`` short, or else the one around the test that
    #: did not need to (``Cut.cut`` False), or None.
    cut_by: Cut | None = None


def fit(
    plan: SamplingPlan,
    load: LoadSpec | None,
    *,
    run_time_left_ns: int | None = None,
    isolated_timeout_s: float | None = None,
    deadline: Deadline | None = None,
    now_ns: int = 0,
    phases: int = 1,
    follows: str = "",
    warmups: int = 1,
    least: str = "",
) -> Fitted:
    """``plan`` with sampling past ``max_time`` (toward a projected verdict) stopped in time
    for what is left of ``sla_run_time`` (``run_time_left_ns``; None: no such limit), and
    cut to end before each timeout that would kill it midway: an isolated worker's
    (``isolated_timeout_s``: its start and the model's load come first) and ``deadline``
    (pytest-timeout's). The warmup and a capacity search fit in too.

    ``phases``: ``deadline``'s time is shared in that many equal parts, the measurement
    and what ``follows`` it in the same call (the base revision's model, a sweep's other
    sizes, cold starts, the advisor), each fitted when it starts: this one gets its part.
    ``warmups``: how many calls warm up (2 for two models sampled side by side).
    ``least``: what set the plan's ``min_time``, when not the settings (a comparison's
    :func:`spanning_a_state`), for the sentence of a timeout too short for it.
    """
    limit = plan.time_limit_ns
    if run_time_left_ns is not None:
        # Past the run's measuring time, nothing goes past max_time.
        limit = min(limit, run_time_left_ns)
    limit_by = ""
    if limit != plan.time_limit_ns:
        plan = dataclasses.replace(plan, time_limit_ns=max(plan.max_time_ns, limit))
        limit_by = RUN_TIME_SPENT
    cut_by = None
    worker = None if isolated_timeout_s is None else worker_deadline(isolated_timeout_s, now_ns)
    if worker is not None and deadline is not None:
        # An isolated worker starts, and loads the model, within the outer timeout too.
        deadline = dataclasses.replace(deadline, before_ns=worker.before_ns)
    for each in (worker, deadline):
        if each is None:
            continue
        # The isolated worker's timeout is its own: what follows starts workers of its own.
        shared = (phases, follows) if each is deadline else (1, "")
        fitted = _before(plan, load, each, now_ns, *shared, warmups=warmups, least=least)
        if fitted.problem:
            return fitted
        if fitted.plan.limit_ns < plan.limit_ns:
            limit_by = each.name
        plan, load, cut_by = fitted.plan, fitted.load, fitted.cut_by or cut_by
    if cut_by is None and deadline is not None:
        spent = _spent_s(deadline, now_ns)
        cut_by = Cut(deadline.name, phases, follows, False, deadline.timeout_s, spent)
    if limit_by:
        cut_by = dataclasses.replace(cut_by or Cut("", cut=False), limit_by=limit_by)
    return Fitted(plan, load, cut_by=cut_by)


#: ``fit``'s ``least`` for a plan of :func:`spanning_a_state`.
SPANNING = "as a comparison, its samples span a state of the machine"


def spanning_a_state(plan: SamplingPlan) -> SamplingPlan:
    """``plan`` for a measurement compared with another run (a baseline recorded or
    compared with, a base revision side by side): its samples span at least a state of
    a shared machine (``state_time``) in both runs, even under a shorter ``max_time``, or
    a burst would read as a regression."""
    most = max(plan.max_time_ns, plan.state_time_ns)
    low = max(plan.min_time_ns, plan.state_time_ns)
    return dataclasses.replace(plan, min_time_ns=low, max_time_ns=most)


def _spent_s(deadline: Deadline, now_ns: int) -> float:
    """Seconds of ``deadline``'s timeout gone by ``now_ns``."""
    return max(0.0, deadline.timeout_s - (deadline.at_ns - now_ns) / 1e9)


def _slack_ns(timeout_ns: int) -> int:
    """What a timeout of ``timeout_ns`` keeps for the rest of the test: a tenth, at least a
    second, but of a timeout of seconds no more than a quarter."""
    return max(min(DEADLINE_SLACK_MIN_NS, timeout_ns // 4), int(DEADLINE_SLACK_SHARE * timeout_ns))


def left_ns(deadline: Deadline, now_ns: int, phases: int = 1) -> int:
    """What ``deadline`` leaves from ``now_ns`` (less what it keeps for the rest of the
    test), shared in ``phases`` equal parts: one part (ns; negative when past)."""
    timeout_ns = int(deadline.timeout_s * 1e9)
    return (deadline.at_ns - now_ns - _slack_ns(timeout_ns)) // max(1, phases)


def until(deadline: Deadline | None, now_ns: int, phases: int = 1) -> tuple[int, str] | None:
    """When what starts at ``now_ns`` must end to keep to its part of ``phases`` of
    ``deadline`` (:func:`left_ns`; ``time.monotonic_ns()``), and the deadline's name;
    None without a deadline."""
    if deadline is None:
        return None
    return now_ns + left_ns(deadline, now_ns, phases), deadline.name


def _before(
    plan: SamplingPlan,
    load: LoadSpec | None,
    deadline: Deadline,
    now_ns: int,
    phases: int = 1,
    follows: str = "",
    warmups: int = 1,
    least: str = "",
) -> Fitted:
    """``plan`` cut to end (warmup and a capacity search included) before ``deadline``, at
    ``now_ns``, within its part of ``phases``: an inconclusive verdict that says why beats
    a test killed with nothing measured. A plan that fits is left as it is."""
    timeout_ns = int(deadline.timeout_s * 1e9)
    before = min(deadline.before_ns, timeout_ns // 5)
    left = left_ns(deadline, now_ns, phases) - before
    if load is not None and load.capacity:
        # Its last step may run over its time by a step (4 s): that is kept too.
        search = max(0, min(load.capacity_time_ns, left // 3 - _STEP_OVERRUN_NS))
        load = dataclasses.replace(load, capacity_time_ns=search)
        left -= search + (_STEP_OVERRUN_NS if search else 0)
    kept = min(_WARMUP_SHARE * left / (1.0 + _WARMUP_SHARE * warmups), _WARMUP_KEPT_MAX_NS)
    room = int(left - warmups * max(kept, plan.warmup_time_ns))
    if room >= plan.limit_ns:
        return Fitted(plan, load)
    need = plan.min_time_ns
    if load is not None and load.rps is not None:
        need = max(need, plan.load_time_ns)
    if room < max(need, 1):
        spent = _spent_s(deadline, now_ns)
        timeout = timeout_for(
            plan.max_time_ns / 1e9, before / 1e9, phases, plan.warmup_time_ns / 1e9, warmups
        )
        wanted = f"{math.ceil(spent + timeout):d}"
        own = least and need == plan.min_time_ns
        why = least if own else "sla_min_time, or sla_load_time under load"
        share = f" (shared with {follows})" if follows else ""
        return Fitted(
            plan,
            load,
            (
                f"{deadline.name} leaves {_about(room)} for this measurement{share} after "
                f"its warmup, less than the {fmt.duration(need / 1e9)} it needs at least "
                f"({why}): raise the timeout "
                f"(e.g. {deadline.how.format(n=wanted)})"
            ),
        )
    # Only a cut max_time is the deadline's doing: past max_time, the limit is the limit.
    spent = _spent_s(deadline, now_ns)
    by = (
        Cut(deadline.name, phases, follows, True, deadline.timeout_s, spent)
        if room < plan.max_time_ns
        else None
    )
    cut = dataclasses.replace(
        plan,
        max_time_ns=min(plan.max_time_ns, room),
        time_limit_ns=room,
        # A window the timeout chose, not the user, settles nothing; one the user chose
        # shorter than settle_time (a short window, by choice) and the timeout trimmed
        # settles as it would have.
        cap_settles=plan.cap_settles and (by is None or plan.max_time_ns < plan.settle_time_ns),
    )
    return Fitted(cut, load, cut_by=by)


def timeout_for(
    max_time_s: float,
    before_s: float = 0.0,
    phases: int = 1,
    warmup_s: float = 0.0,
    warmups: int = 1,
) -> float:
    """The shortest timeout that :func:`fit` leaves ``max_time_s`` of sampling (and its
    ``warmups``: each a share of the time, or ``warmup_s``, ``sla_warmup_time``, when
    longer), with ``before_s`` of it gone before the measurement (a worker's start), in
    each of ``phases`` parts: the inverse of the cut, for a remedy to suggest."""
    shares = max_time_s * (1.0 + _WARMUP_SHARE * warmups)
    sampling = max(shares, max_time_s + warmups * warmup_s)
    need = (sampling + before_s) * max(1, phases)
    return max(need + DEADLINE_SLACK_MIN_NS / 1e9, need / (1.0 - DEADLINE_SLACK_SHARE))


def _about(ns: int) -> str:
    """``about 1.00 s``, or ``nothing``."""
    return f"about {fmt.duration(ns / 1e9)}" if ns > 0 else "nothing"
