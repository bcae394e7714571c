"""The verdict rule: chunks of timed calls, summarized, judged against a budget.

No pytest, no onnxruntime, no clock. The sampler hands each chunk of call timings to a
:class:`Ledger`, with what the machine did meanwhile (how long this process waited for a
CPU that other processes held); :func:`judge` decides from the ledger.

The rule, for a budget ``B`` at percentile ``q``:

* **Counts at a few thresholds.** Each chunk is summarized by how many calls exceeded
  each of a few thresholds around ``B`` (``B / quick_factor`` to ``B * quick_factor``,
  in steps of sqrt(2)), so a look costs a pass over chunks, not over every call.
* **Busy machines.** Another process can take the CPU in the middle of a call. A call's
  measured time is an upper bound on what the model costs, so the PASS test counts
  measured times. For the FAIL test, each chunk's exceedances are lowered by as many as
  the time the process waited for a CPU in that chunk could explain (the smallest
  excesses first): a lower bound on the model's own exceedances. Both tests are thus
  conservative: contention can make a verdict wait, never make one. When only the
  contention stands between the samples and a verdict, the look says the machine was
  busy (``reason="busy"``).
* **Dependence.** Exceedance counts are divided by their variance inflation
  (:func:`~pytest_latency_sla.stats.inflation`), estimated over time-blocks spread
  across the run, at the threshold itself and at two lower ones within 2x of it, which
  exceed more often and so show how the latency near the threshold clusters in time
  even when the threshold itself was never exceeded.
* **Anytime-valid evidence.** The divided counts are tested with mixture likelihood
  ratios (:func:`~pytest_latency_sla.stats.pass_evidence`), valid at every look.
* **Clear margins first.** Before the samples span ``settle_time``, only a pass against
  ``B / quick_factor`` or a fail against ``B * quick_factor`` is called, and it must also
  hold with the steady warmup calls just before sampling; near the budget, a verdict
  waits until the samples have seen the machine's slower states come and go.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .ledger import CONTENDED_SHARE, Ledger, thresholds
from .levelshift import count_at, level_shift
from .stats import Decision, calls_to_decide, fail_evidence, inflation, pass_evidence

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = ["CONTENDED_SHARE", "Ledger", "judge", "projection", "thresholds", "tier_alpha"]

#: Time-blocks the run is divided into to estimate dependence.
BLOCKS = 20
#: Above this inflation an undecided verdict is blamed on dependence.
DEPENDENT = 4.0


def tier_alpha(confidence: float, quick_factor: float, instant_factor: float) -> float:
    """Each direction's error allowance per tier: ``1 - confidence`` shared by the tiers
    :func:`judge` tests (plain, and quick and instant when their factors are above 1)."""
    tiers = 1 + sum(f > 1.0 for f in (quick_factor, instant_factor))
    return (1.0 - confidence) / tiers


def _block_count(span_ns: float, state_ns: float, chunks: int) -> int:
    """How many time-blocks a run spanning ``span_ns`` in ``chunks`` chunks is divided
    into: ``BLOCKS`` equal spans, or, with ``state_ns``, blocks of at least that long and
    never fewer than 3 (a run shorter than three states gets three blocks: cautious,
    never more confident)."""
    length = max(span_ns / BLOCKS, min(state_ns, span_ns / 3.0))
    return max(1, min(chunks, round(span_ns / length)))


def _blocks(starts: npt.NDArray[np.float64], state_ns: float) -> npt.NDArray[np.int64]:
    """The time-block of each chunk (see :func:`_block_count`)."""
    span = float(starts[-1] - starts[0]) if starts.size else 0.0
    if span <= 0:
        return np.zeros(starts.size, dtype=np.int64)
    count = _block_count(span, state_ns, int(starts.size))
    index = np.floor((starts - starts[0]) / span * count).astype(np.int64)
    clipped: npt.NDArray[np.int64] = np.minimum(index, count - 1)
    return clipped


@dataclass(frozen=True)
class _Table:
    """A ledger (with the steady warmup in front, or not) as arrays."""

    calls: npt.NDArray[np.int64]
    upper: npt.NDArray[np.int64]
    lower: npt.NDArray[np.int64]
    blocks: npt.NDArray[np.int64]
    #: Other divisions of the same chunks into time-blocks (finer ones): dependence is
    #: the largest estimate over every division.
    scales: tuple[npt.NDArray[np.int64], ...] = ()
    #: The ``state_ns`` each division (``blocks``, then ``scales``) was made with, and
    #: the span of the chunks' starts: how the divisions would grow in a longer run.
    states: tuple[float, ...] = (0.0,)
    span_ns: float = 0.0

    @classmethod
    def of(cls, ledger: Ledger, steady: Ledger | None = None, state_ns: float = 0.0) -> _Table:
        if steady is None or steady.size == 0:
            blocks = _blocks(ledger.starts, state_ns)
            scales = (_blocks(ledger.starts, 0.0),) if state_ns > 0 else ()
            states = (state_ns, 0.0) if state_ns > 0 else (0.0,)
            span = float(ledger.starts[-1] - ledger.starts[0]) if ledger.size else 0.0
            return cls(ledger.calls, ledger.upper, ledger.lower, blocks, scales, states, span)
        # The steady warmup ran just before sampling: its chunks come first in time.
        shift = float(steady.starts[-1]) + 1.0
        starts = np.concatenate((steady.starts, ledger.starts + shift))
        return cls(
            calls=np.concatenate((steady.calls, ledger.calls)),
            upper=np.concatenate((steady.upper, ledger.upper)),
            lower=np.concatenate((steady.lower, ledger.lower)),
            blocks=_blocks(starts, state_ns),
            states=(state_ns,),
            span_ns=float(starts[-1] - starts[0]),
        )

    def dependence(self, k: int, grow: float = 1.0) -> float:
        """Inflation at level ``k``, the largest of it and its two lower proxies, over
        every division into time-blocks.

        ``grow`` > 1 (a projection): each estimate bounded as it would be in a run
        ``grow`` times as long, whose divisions have more blocks; the estimates
        themselves as they are now.
        """
        chunks = round(self.calls.size * grow)
        return max(
            inflation(
                self.upper[:, j],
                self.calls,
                blocks,
                blocks_then=_block_count(self.span_ns * grow, state, chunks)
                if grow > 1.0 and self.span_ns > 0
                else None,
            )
            for blocks, state in zip((self.blocks, *self.scales), self.states, strict=True)
            for j in range(max(0, k - 2), k + 1)
        )

    def test(
        self, k: int, eps: float, alpha: float, outcome: str, count: float | None = None
    ) -> Decision:
        """The test at level ``k``; ``count``: this many exceedances instead of level
        ``k``'s, for the tested direction (the level rule's bound on the calls over a
        moved budget), with level ``k``'s dependence."""
        n = float(self.calls.sum())
        d = self.dependence(k)
        t_up = float(self.upper[:, k].sum())
        t_low = float(self.lower[:, k].sum())
        if count is not None:
            t_up = t_low = count
        goal = math.log(1.0 / alpha)
        ev_pass = pass_evidence(n / d, t_up / d, eps)
        ev_fail = fail_evidence(n / d, t_low / d, eps)
        decided = None
        if outcome == "pass" and ev_pass >= goal:
            decided = "pass"
        elif outcome == "fail" and ev_fail >= goal:
            decided = "fail"
        t = t_up if outcome == "pass" else t_low
        return Decision(
            decided,
            p_pass=_p_value(ev_pass),
            p_fail=_p_value(ev_fail),
            alpha=alpha,
            n_eff=n / d,
            t_eff=t / d,
            design_effect=d,
        )


def _level_shift(ledger: Ledger, alpha: float, table: _Table, k: int) -> float:
    """:func:`~pytest_latency_sla.levelshift.level_shift` of the uncontended chunks
    over ``BLOCKS`` time-blocks, beyond what the test at level ``k`` allows for."""
    keep = ~ledger.contended
    if int(keep.sum()) < 6:
        return 0.0
    blocks = _blocks(ledger.starts[keep], 0.0)
    return level_shift(
        ledger.level[keep],
        blocks,
        ledger.levels,
        table.upper,
        table.calls,
        k,
        table.dependence(k),
        alpha,
    )


def _moved(
    ledger: Ledger, table: _Table, k: int, eps: float, alpha: float, plain: Decision
) -> Decision | None:
    """``plain``'s verdict undone (reason "moved") when it would not hold were the
    latency's level where the long run may put it (:func:`level_shift`): the budget
    lowered by that much for a pass, raised for a fail. None when it holds."""
    shift = _level_shift(ledger, alpha, table, k)
    if shift <= 0.0:
        return None
    outcome = str(plain.outcome)
    x = ledger.levels[k] * math.exp(-shift if outcome == "pass" else shift)
    counts, fine = (
        (table.upper, ledger.fine_upper) if outcome == "pass" else (table.lower, ledger.fine_lower)
    )
    count = count_at(ledger.levels, counts, ledger.fine, fine, x, outcome)
    shifted = table.test(k, eps, alpha, outcome, count=count)
    if shifted.outcome == outcome:
        return None
    from dataclasses import replace

    # The budget's own figures, but the tested direction's evidence as it stands moved.
    if outcome == "pass":
        return replace(plain, outcome=None, reason="moved", p_pass=shifted.p_pass)
    return replace(plain, outcome=None, reason="moved", p_fail=shifted.p_fail)


def _p_value(log_evidence: float) -> float:
    """1 / evidence, at most 1: an anytime-valid p-value."""
    return math.exp(-log_evidence) if log_evidence > 0 else 1.0


def _index(levels: npt.NDArray[np.float64], value: float) -> int:
    return int(np.argmin(np.abs(np.log(levels) - math.log(value))))


def judge(
    ledger: Ledger,
    budget_ns: float,
    quantile: float,
    confidence: float,
    *,
    quick_factor: float = 1.0,
    settled: bool = True,
    steady: Ledger | None = None,
    state_ns: float = 0.0,
    instant_factor: float = 0.0,
    spanned: bool = True,
) -> Decision:
    """The verdict on the chunks in ``ledger`` (see the module's docstring).

    Three tiers, the clearer the sooner: against ``B / instant_factor`` (a pass) or
    ``B * instant_factor`` (a fail) at any look; against ``B / quick_factor`` or
    ``B * quick_factor`` once the samples have ``spanned`` a machine state; against ``B``
    once they have ``settled``. ``confidence`` holds for each direction over every look:
    the tiers share it, so a wrong verdict by any of them is at most 1 - confidence.
    Quick verdicts estimate dependence over short time-blocks (a twentieth of the run);
    verdicts near the budget over blocks of ``state_ns`` (how long a machine state may
    last) once the run is long enough for three of them, so that a run that saw a slow
    state come and go only a few times counts as the few independent blocks it is.
    """
    factors = [f for f in (instant_factor, quick_factor) if f > 1.0]
    alpha = tier_alpha(confidence, quick_factor, instant_factor)
    levels = ledger.levels
    table = _Table.of(ledger)
    coarse = _Table.of(ledger, state_ns=state_ns) if state_ns > 0 else table
    share, lost = ledger.contended_share(), ledger.lost_share()
    eps = 1.0 - quantile
    if eps <= 0.0:
        maximum = _judge_maximum(table, _index(levels, budget_ns), settled, share, budget_ns)
        return _finish(maximum, budget_ns, share, lost)
    context = _Table.of(ledger, steady) if steady is not None and steady.size else None
    allowed = [f for f in factors if f == instant_factor or spanned or settled]
    clear = [
        (o, budget_ns / f if o == "pass" else budget_ns * f)
        for f in allowed
        for o in ("pass", "fail")
    ]
    for outcome, threshold in clear:
        k = _index(levels, threshold)
        quick = table.test(k, eps, alpha, outcome)
        if quick.outcome == outcome and (
            context is None or context.test(k, eps, alpha, outcome).outcome == outcome
        ):
            return _finish(quick, threshold, share, lost)
    k = _index(levels, budget_ns)
    plain_pass = coarse.test(k, eps, alpha, "pass")
    plain_fail = coarse.test(k, eps, alpha, "fail")
    for plain in (plain_pass, plain_fail) if settled else ():
        if plain.outcome is not None:
            moved = _moved(ledger, coarse, k, eps, alpha, plain)
            return _finish(moved or plain, budget_ns, share, lost)
    return _finish(
        _undecided(plain_pass, plain_fail, coarse, k, eps, alpha, share), budget_ns, share, lost
    )


def projection(
    ledger: Ledger,
    budget_ns: float,
    quantile: float,
    confidence: float,
    *,
    quick_factor: float = 1.0,
    instant_factor: float = 0.0,
    state_ns: float = 0.0,
) -> float | None:
    """Calls a verdict would need if the shares seen so far held: the fewest over every
    tier and direction :func:`judge` tests, each with its own dependence (as estimated
    now, bounded as the verdict will bound it then: see :func:`_calls_then`); None when
    no tier would decide within a million times the calls so far (or for p100).

    For planning how long to sample (``sla_time_limit``), never for the verdict.
    """
    eps = 1.0 - quantile
    if eps <= 0.0 or ledger.size == 0:
        return None
    factors = [f for f in (instant_factor, quick_factor) if f > 1.0]
    alpha = tier_alpha(confidence, quick_factor, instant_factor)
    table = _Table.of(ledger)
    coarse = _Table.of(ledger, state_ns=state_ns) if state_ns > 0 else table
    n = float(ledger.calls.sum())
    tests = [(table, "pass", budget_ns / f) for f in factors]
    tests += [(table, "fail", budget_ns * f) for f in factors]
    tests += [(coarse, "pass", budget_ns), (coarse, "fail", budget_ns)]
    best: float | None = None
    shift = _level_shift(ledger, alpha, coarse, _index(ledger.levels, budget_ns))
    for i, (tab, outcome, threshold) in enumerate(tests):
        k = _index(ledger.levels, threshold)
        counts = tab.upper if outcome == "pass" else tab.lower
        t = float(counts[:, k].sum())
        if shift > 0.0 and i >= len(tests) - 2:
            # Near the budget, as the level's movement so far would let a verdict go.
            x = ledger.levels[k] * math.exp(-shift if outcome == "pass" else shift)
            fine = ledger.fine_upper if outcome == "pass" else ledger.fine_lower
            t = count_at(ledger.levels, counts, ledger.fine, fine, x, outcome)
        calls = _calls_then(tab, k, n, t, eps, alpha, outcome)
        if calls is not None and (best is None or calls < best):
            best = calls
    return best


#: Rounds of :func:`_calls_then`'s fixed point (the block counts settle within a few).
_PROJECTION_ROUNDS = 4


def _calls_then(
    tab: _Table, k: int, n: float, t: float, eps: float, alpha: float, outcome: str
) -> float | None:
    """Calls one test would need at the shares and the dependence seen so far, with the
    dependence bounded as the verdict will bound it then: a longer run is divided into
    more time-blocks, and an estimate from more blocks needs a smaller allowance for
    having fallen short by chance. A fixed point (the calls decide the run's length, the
    length the blocks, the blocks the calls); the larger of its last two rounds."""
    grow = 1.0
    rounds: list[float] = []
    for _ in range(_PROJECTION_ROUNDS):
        d = tab.dependence(k, grow)
        need = calls_to_decide(n / d, t / d, eps, alpha, outcome)
        if need is None:
            return None
        rounds.append(need * d)
        grow = max(1.0, rounds[-1] / n)
    # Every round bounds the dependence at least as loosely as now: never above the first.
    return min(rounds[0], max(rounds[-2:]))


def _undecided(
    plain_pass: Decision,
    plain_fail: Decision,
    table: _Table,
    k: int,
    eps: float,
    alpha: float,
    share: float,
) -> Decision:
    """The undecided look, with why: the busy machine, dependence, or a close call."""
    goal = math.log(1.0 / alpha)
    measured_fail = fail_evidence(
        plain_fail.n_eff, float(table.upper[:, k].sum()) / plain_fail.design_effect, eps
    )
    reason = "close"
    if share > 0.0 and measured_fail >= goal:
        # The measured times fail; only the wait for a CPU keeps the lower bound from it.
        reason = "busy"
    elif plain_pass.design_effect >= DEPENDENT:
        reason = "dependent"
    closest = plain_pass if plain_pass.p_pass <= plain_fail.p_fail else plain_fail
    return Decision(
        None,
        p_pass=plain_pass.p_pass,
        p_fail=plain_fail.p_fail,
        alpha=alpha,
        n_eff=closest.n_eff,
        t_eff=closest.t_eff,
        design_effect=closest.design_effect,
        reason=reason,
    )


def _finish(decision: Decision, threshold: float, share: float, lost: float) -> Decision:
    """``decision`` with the threshold it was judged at and what contention cost: the
    share of calls in contended chunks, and of the time (``Decision.lost_share``)."""
    from dataclasses import replace

    return replace(decision, threshold_ns=threshold, contended_share=share, lost_share=lost)


def _judge_maximum(
    table: _Table, k: int, settled: bool, share: float, budget_ns: float
) -> Decision:
    """p100: judged on what was observed. Any exceedance (beyond what contention explains)
    fails; none passes, once the samples have settled."""
    n = float(table.calls.sum())
    exceeded = float(table.lower[:, k].sum())
    if exceeded > 0:
        outcome: str | None = "fail"
    else:
        outcome = "pass" if settled and float(table.upper[:, k].sum()) == 0 else None
    return Decision(
        outcome,
        p_pass=0.0 if outcome == "pass" else 1.0,
        p_fail=0.0 if outcome == "fail" else 1.0,
        alpha=0.0,
        n_eff=n,
        t_eff=exceeded,
        design_effect=1.0,
        threshold_ns=budget_ns,
        contended_share=share,
        reason=None if outcome else ("busy" if share > 0 else "close"),
    )
