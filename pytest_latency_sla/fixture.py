"""The ``sla`` fixture's object: time a model or callable, judge it, record the result.

Thin glue between pytest (failing a test) and the pure parts (sampling, statistics, the
ONNX adapter, the result model)."""

from __future__ import annotations

import dataclasses
import functools
import itertools
import time
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from . import fmt, followups, messages, progressline
from .alone import Refusals
from .gate import judge_against
from .inconclusive import SlaInconclusiveWarning, warn_inconclusive
from .limits import RunClock, worker_timeout
from .load import capacity_problem, too_few
from .messages import verdict_message
from .result import SlaResult, Verdict, judged, judged_percentile
from .sweep import raised_at, sweep_problem

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Mapping, Sequence

    from .baseline import Baseline
    from .limits import Cut, Deadline
    from .loadspec import LoadSpec
    from .result import Budget
    from .runner import Measured, OnnxJob, Runner, Timing
    from .sampling import Progress
    from .schema import RevisionEntry, SlaRecord, SweepEntry
    from .settings import Settings
    from .sweep import Swept

__all__ = ["SlaFixture", "SlaInconclusiveWarning"]


class SlaFixture:
    """Time an ONNX model or any callable and judge it against the test's SLA marker.

    ``sla.onnx(model)`` times ``session.run(None, feeds)``; ``sla.measure(fn, *args)``
    times ``fn(*args)``. Both warm up, sample in chunks until the verdict is decided
    (or a cap is hit), fail the test when the budget of ``@pytest.mark.sla`` is missed,
    and return a :class:`~pytest_latency_sla.SlaResult` for further checks. Without a
    marker they measure and report, without a verdict. With ``isolate=True`` on the marker
    (or ``--sla-isolate``) each measurement runs in a separate process, so a native crash
    or a hang fails only this test.
    """

    def __init__(
        self,
        nodeid: str,
        budget: Budget | None,
        settings: Settings,
        record: Callable[[SlaRecord], None],
        baseline: Baseline | None = None,
        environment: Mapping[str, Any] | None = None,
        isolate: bool | None = None,
        cold_ms: float | None = None,
        load: LoadSpec | None = None,
        run_clock: RunClock | None = None,
        progress: Callable[[str], None] | None = None,
        deadline: Callable[[], Deadline | None] | None = None,
    ) -> None:
        self._nodeid = nodeid
        self._deadline = deadline
        self._cut_by: Cut | None = None
        self._indexes = itertools.count()  # next() is atomic: threads measuring at once
        self._run_clock = run_clock if run_clock is not None else RunClock()
        self._progress = progress
        self._budget = budget
        self._settings = settings
        self._record = record
        self._baseline = baseline
        self._environment = environment or {}
        self._isolate = settings.isolate if isolate is None else isolate
        self._cold_ms = cold_ms
        self._load = load
        self._results: list[SlaResult] = []
        self._closed = False
        self.refusals = Refusals()  # (those in other threads than the test's, for it)

    def close(self) -> None:
        """Called when its test is done: what it measured after would reach no report."""
        self._closed = True

    def __repr__(self) -> str:
        return f"<SlaFixture {self._nodeid} budget={self._budget}>"

    @property
    def budget(self) -> Budget | None:
        """The budget from the closest ``@pytest.mark.sla``, or None."""
        return self._budget

    @property
    def load(self) -> LoadSpec | None:
        """The marker's load (``rps=``, ``capacity=`` ...), or None."""
        return self._load

    @property
    def isolated(self) -> bool:
        """Whether measurements run in a separate process (``isolate=``, ``sla_isolate``)."""
        return self._isolate

    @property
    def settings(self) -> Settings:
        """The session's resolved ``sla_*`` settings."""
        return self._settings

    @property
    def results(self) -> tuple[SlaResult, ...]:
        """Every result this test measured so far, in order."""
        return tuple(self._results)

    def onnx(
        self,
        model: object = None,  # (a default, so that `modle=` gets a sentence, not a TypeError)
        *,
        feeds: Mapping[str, Any] | str | os.PathLike[str] | None = None,
        dims: Mapping[str, int] | None = None,
        providers: Sequence[Any] | None = None,
        session_options: Any = None,
        advise: bool | None = None,
        sweep: Mapping[str, Sequence[int]] | None = None,
        **unknown: NoReturn,  # a misspelt keyword: a sentence, and mypy still flags it
    ) -> SlaResult:
        """Time ``session.run(None, feeds)`` on an ONNX model and judge it.

        ``model``: a path, bytes, an ``onnx.ModelProto`` or an ``InferenceSession``.
        ``feeds``: input name -> array, or the path of a folder of ``input_<n>.pb``
        tensors (the ONNX test-data layout) or of an ``.npz`` file; inputs not given are
        generated from the model's signature (seeded, so deterministic). ``dims``: sizes
        by dimension name, ``"x[1]"`` for an unnamed axis (default: a feed's size, or 1).
        ``providers``: execution providers, names or ``(name, options)`` tuples (default
        CPU). ``session_options``: an ``onnxruntime.SessionOptions`` (e.g. thread counts).
        ``advise``: also time the usual optimizations of the model side by side with it
        and say whether any changes the SLA's outcome (default: ``sla_advise``).
        ``sweep``: one symbolic dimension and sizes, e.g. ``{"batch": [1, 8, 64]}``: the
        smallest is judged as always, every size is measured for the sweep table.
        Isolated, an ``InferenceSession`` cannot be used (it cannot be sent to another
        process): pass the path, bytes or ``ModelProto``.
        """
        self._refuse("onnx", unknown, "advise", "sweep")
        if advise is not None and not isinstance(advise, bool):
            pytest.fail(
                f"sla.onnx(advise={fmt.given(advise)}): advise= must be True or False (or left "
                f"out to follow sla_advise), got {type(advise).__name__} (in {self._nodeid})",
                pytrace=False,
            )
        if sweep is None:
            return self._onnx(model, feeds, dims, providers, session_options, advise)
        from .sweep import sweep_sizes

        try:
            swept: Swept = (*sweep_sizes(sweep, feeds, dims), [])
            problem = ""
        except ValueError as exc:
            problem = str(exc)
        if problem:  # outside the except block: one sentence, not a chained traceback
            pytest.fail(f"sla.onnx(): {problem} (in {self._nodeid})", pytrace=False)
        first = swept[2][0]
        return self._onnx(model, feeds, first, providers, session_options, advise, None, swept)

    def compare(
        self,
        models: Mapping[str, object] | None = None,
        *,
        feeds: Mapping[str, Any] | str | os.PathLike[str] | None = None,
        dims: Mapping[str, int] | None = None,
        providers: Sequence[Any] | None = None,
        session_options: Any = None,
        **unknown: NoReturn,
    ) -> SlaResult:
        """Your own variants, e.g. ``{"fp32": "m.onnx", "int8": "m.int8.onnx"}``: the first
        is judged as ``sla.onnx()`` does, the others timed side by side with it."""
        from .runner import own_variants

        self._refuse("compare", unknown)
        names, own, problem = own_variants(models, self._isolate)
        if problem:
            pytest.fail(f"{problem} (in {self._nodeid})", pytrace=False)
        first, source = names[0], (models or {})[names[0]]
        return self._onnx(
            source, feeds, dims, providers, session_options, True, (first, tuple(own))
        )

    def _refuse(self, method: str, unknown: Mapping[str, object], *more: str) -> None:
        if unknown:
            from .callables import unknown_keywords

            known = ["feeds", "dims", "providers", "session_options", *more]
            also = ("model",) if more else ("models",)
            said = unknown_keywords(f"sla.{method}", sorted(unknown), known, not more, also)
            pytest.fail(f"{said} (in {self._nodeid})", pytrace=False)

    def _onnx(
        self,
        model: object,
        feeds: Any,
        dims: Mapping[str, int] | None,
        providers: Sequence[Any] | None,
        session_options: Any,
        advise: bool | None,
        own: tuple[str, tuple[tuple[str, Any], ...]] | None = None,
        swept: Swept | None = None,
    ) -> SlaResult:
        from . import ort
        from .isolate import IsolationError
        from .runner import ModelRunError, OnnxJob, Refused

        job = OnnxJob(model, feeds, dims, providers, session_options, own is not None)
        settings = self._settings
        ref = self._base_label()
        base, looked = followups.look_up_base(job, settings, ref) if ref else (None, None)
        while True:  # over a sweep's sizes while the model raises at the first: the rest stand
            after = followups.After(
                revision=base is not None,
                sizes=len(swept[1]) - 1 if swept else 0,
                cold=self._cold_ms is not None and not settings.disable,
                advise=not settings.disable and (settings.advise if advise is None else advise),
            )
            timing = self._timing(onnx=True, after=after)
            try:
                measured = self._runner().onnx(job, timing)
            except ort.ProviderUnavailableError as exc:
                problem = str(exc)
                if not settings.require_providers:
                    problem += " (skipped; --sla-require-providers makes this a failure)"
                    pytest.skip(f"sla.onnx(): {problem} (in {self._nodeid})")
            except (ort.OnnxInputError, ModelRunError, IsolationError, Refused) as exc:
                problem = self.refusals.note(exc)
                if swept is not None and problem.startswith("dims names"):
                    problem = sweep_problem(problem)  # the user gave sweep=
                elif swept is not None and isinstance(exc, ModelRunError) and len(swept[1]) > 1:
                    name, sizes, sized, raised = swept
                    raised = [*raised, (sizes[0], raised_at(problem, name, sizes[0]))]
                    swept = (name, sizes[1:], sized[1:], raised)
                    job = dataclasses.replace(job, dims=sized[1])
                    continue
                elif swept is not None and swept[3]:  # the last size raised too: every size
                    problem = f"sweep= size {swept[1][0]}: {problem}; the sizes before raised too"
            else:
                steps = (job, timing, own, swept, after, (ref, base, looked), measured)
                return self.judge(measured, functools.partial(self._follow, *steps))
            break
        # Outside the except blocks, so the failure is one sentence, not a chained traceback.
        what = f"sla.compare(): {own[0]!r}" if own else "sla.onnx()"
        pytest.fail(f"{what}: {problem} (in {self._nodeid})", pytrace=False)

    def _follow(
        self,
        job: OnnxJob,
        timing: Timing,
        own: tuple[str, tuple[tuple[str, Any], ...]] | None,
        swept: Swept | None,
        after: followups.After,
        revision_of: tuple[str | None, Any, RevisionEntry | str | None],
        measured: Measured,
        result: SlaResult,
    ) -> followups.Followed:
        """What follows the measurement, ``after`` it, once it is recorded: the base
        revision's model side by side, the sweep's other sizes, cold starts, the advisor
        (no "stop optimizing" in a test failed anyway), each fitted to a timeout in turn."""
        from .cold import measure_cold
        from .runner import AdviseRequest

        ref, base, revision = revision_of
        if ref is not None and base is not None:
            after = after.without("revision")
            paired = self._fit(True, after, paired=True)
            revision = followups.revision(job, paired, self._settings, ref, base, self._runner)
        sweep, unswept = self._sweep(job, measured, swept, after) if swept else (None, None)
        after = dataclasses.replace(after, sizes=0)
        cold = None
        if after.cold:
            after = after.without("cold")
            until = self._until(after)
            cold = measure_cold(job, self._cold_ms or 0.0, self._settings.timeout, until)
        advice = None
        if after.advise:  # the last part of a timeout around the test: all that is left
            until = self._until(followups.After())
            request = AdviseRequest.of(result, self._settings.timeout, own, until)
            failed = unswept or (isinstance(cold, dict) and cold["verdict"] == "fail")
            request = dataclasses.replace(request, stop=request.stop and not failed)
            advice = followups.advice(job, request, timing, self._runner())
        return followups.Followed(revision, sweep, unswept, cold, advice)

    def _until(self, after: followups.After) -> tuple[int, str] | None:
        """When what starts now must end, ``after`` it still to come (``limits.until``)."""
        from .limits import until

        return until(self._deadline_now(), time.monotonic_ns(), after.phases)

    def measure(self, fn: Callable[..., object], /, *args: Any, **kwargs: Any) -> SlaResult:
        """Time ``fn(*args, **kwargs)`` and judge it. What ``fn`` raises propagates as
        itself, with a note saying which call raised it, and in which phase.

        Isolated, ``fn`` and its arguments are pickled to the worker process: ``fn`` must
        be a module-level function (or a ``functools.partial`` of one), not a lambda.
        """
        __tracebackhide__ = True  # what fn raises shows the test's line, then fn's frames
        from .callables import add_note, call_problem, callable_name, where_raised
        from .isolate import IsolationError
        from .runner import CallJob, Refused

        problem = call_problem(fn)
        if problem:
            pytest.fail(f"{problem} (in {self._nodeid})", pytrace=False)
        from .load import LoadError
        from .messages import load_failure

        job = CallJob(fn, args, kwargs, callable_name(fn))
        try:
            measured = self._runner().callable(job, self._timing(onnx=False))
        except (IsolationError, Refused) as exc:
            problem = self.refusals.note(exc)
        except LoadError as exc:
            problem = load_failure(job.name, exc)
        except BaseException as exc:
            where = where_raised(exc)  # (None: not raised by fn, e.g. a bug of the plugin)
            if where is not None:
                said = f"sla.measure(): {job.name} raised this on {where} (in {self._nodeid})"
                add_note(exc, said)
            raise
        else:
            return self.judge(measured)
        pytest.fail(f"sla.measure(): {problem} (in {self._nodeid})", pytrace=False)

    def _runner(self) -> Runner:
        from .runner import InProcess, Isolated

        if not self._isolate:
            return InProcess()
        # Killed by its own timeout before pytest-timeout would kill the test.
        timeout, cut_by = worker_timeout(
            self._settings.timeout, self._deadline and self._deadline(), time.monotonic_ns()
        )
        return Isolated(timeout, cut_by)

    def _timing(self, onnx: bool = True, after: followups.After | None = None) -> Timing:
        """How to sample, the same in this process and in an isolated worker; the test
        fails when the measurement could never end in time. ``after``: what follows it in
        the same call, sharing a timeout around the test with it."""
        timing = self._fit(onnx, after, first=True)
        if isinstance(timing, str):  # (a fixture kept past its test names that test)
            where = f"made for {self._nodeid}" if self._closed else f"in {self._nodeid}"
            pytest.fail(f"{timing} ({where})", pytrace=False)
        if onnx and not self._isolate and self._deadline_now() is not None:  # after the load
            again = functools.partial(self._fit, onnx, after, True)
            timing = dataclasses.replace(timing, refit=again)
        return timing

    def _fit(
        self, onnx: bool, after: followups.After | None, first: bool = False, paired: bool = False
    ) -> Timing | str:
        """The timing of a measurement (``first``: the one the verdict is on) or of what
        follows it, ``after`` it still to come (``paired``: two models side by side, each
        warmed up, for at least a machine state); or why it could never end in time."""
        from .limits import SPANNING, fit, spanning_a_state
        from .load import resolve
        from .runner import Timing, measuring

        if self._closed or measuring():
            return messages.CLOSED_FIXTURE if self._closed else messages.NESTED
        settings = self._settings
        budget = self._budget
        quantile = judged_percentile(budget, settings.percentile) / 100.0
        plan = settings.plan()
        least = ""
        if self._baseline is not None or settings.save or paired:
            spanned = spanning_a_state(plan)
            least = SPANNING if spanned.min_time_ns > plan.min_time_ns else ""
            plan = spanned
        load = resolve(self._load, settings.capacity, onnx) if budget else None
        # Judged on the test's own settings, not on what is left of sla_run_time.
        problem = too_few(load, plan, quantile) if load and not settings.disable else None
        if problem:
            return problem
        left = int(settings.run_time * 1e9 - self._run_clock.used_ns)
        fitted = fit(
            plan,
            load,
            run_time_left_ns=left if settings.run_time > 0 else None,
            isolated_timeout_s=settings.timeout if self._isolate else None,
            deadline=self._deadline_now(),
            now_ns=time.monotonic_ns(),
            phases=after.phases if after else 1,
            follows=after.words() if after else "",
            warmups=2 if paired else 1,
            least=least,
        )
        if first:
            self._cut_by = fitted.cut_by
        if fitted.problem:
            return fitted.problem
        plan, load = fitted.plan, fitted.load
        return Timing(
            plan,
            budget_ns=budget.ns if budget else None,
            quantile=quantile,
            once=settings.disable,
            progress=self._progress_line() if self._progress is not None else None,
            load=load,
        )

    def _deadline_now(self) -> Deadline | None:
        """pytest-timeout's timeout around this test, or None (and under --sla-disable)."""
        return None if self._settings.disable or not self._deadline else self._deadline()

    def _progress_line(self, what: str = "") -> Callable[[Progress], None]:
        """Turns the sampler's progress into a line for the terminal."""
        number = f" #{len(self._results) + 1}" if self._results else ""
        label = f"{self._nodeid} ({what})" if what else self._nodeid + number
        return progressline.reporter(self._progress, label)

    def _base_label(self) -> str | None:
        """The base measured against, side by side: ``--sla-compare-ref`` or
        ``--sla-compare-dir``; None for neither, and under ``--sla-disable``."""
        settings = self._settings
        return None if settings.disable else settings.compare_ref or settings.compare_dir

    def _sweep(
        self, job: OnnxJob, first: Measured, swept: Swept, after: followups.After
    ) -> tuple[SweepEntry, str | None]:
        """Every size of a sweep measured (the first already is) and summarized, ``after``
        the first; the sizes that could not be measured, in a sentence (or None)."""
        from . import ort
        from .isolate import IsolationError
        from .runner import ModelRunError, Refused
        from .sweep import sweep_entry

        results = [(swept[1][0], self._result(first))]
        unmeasured: list[tuple[int, str]] = list(swept[3])  # sizes before the first measured
        problems = [f"size {size}: {problem}" for size, problem in unmeasured]
        for number, (size, sized) in enumerate(zip(swept[1][1:], swept[2][1:], strict=True)):
            after = after.without("size")
            timing = self._fit(True, after)
            if isinstance(timing, str):
                rest = ", ".join(str(s) for s in swept[1][number + 1 :])
                problems.append(f"size{'s' if after.sizes else ''} {rest} not measured: {timing}")
                unmeasured += [(left, timing) for left in swept[1][number + 1 :]]
                break
            named = self._progress_line(f"{swept[0]}={size}")  # the size, not "#2"
            timing = dataclasses.replace(timing, progress=named if timing.progress else None)
            try:
                other = self._runner().onnx(dataclasses.replace(job, dims=sized), timing)
            except (ort.OnnxInputError, ModelRunError, IsolationError, Refused) as exc:
                told = raised_at(
                    self.refusals.note(exc), swept[0], size, isinstance(exc, ModelRunError)
                )
                problems.append(f"size {size}: {told}")  # the other sizes stand
                unmeasured.append((size, told))
                continue
            self._run_clock.add(other.sampling)
            results.append((size, self._result(other)))
        problem = "sweep= " + "; ".join(problems) if problems else None
        return sweep_entry(swept[0], results, unmeasured), problem

    def _result(self, measured: Measured) -> SlaResult:
        """The measurement judged against the test's budget (not recorded)."""
        return judged(measured.subject, measured.sampling, self._budget, self._settings)

    def judge(
        self,
        measured: Measured,
        later: Callable[[SlaResult], followups.Followed] | None = None,
    ) -> SlaResult:
        """Judge a measurement against the test's budget, record it, and fail the test
        when the budget is missed (or, per ``sla_inconclusive``, too close to call).

        ``sla.onnx()`` and ``sla.measure()`` end here; so does a pytest-benchmark test's
        rounds (``bench.py``). ``later``: what follows the measurement in ``sla.onnx()``
        (given the judged result), run once the measurement is recorded, so that nothing
        measured is lost if it raises or a timeout kills the test in it.
        """
        subject, sampling = measured.subject, measured.sampling
        self._run_clock.add(sampling)
        settings = self._settings
        result = self._result(measured)
        verdict = result.verdict
        index = next(self._indexes)
        record = result.to_record(self._nodeid, index, raw=settings.raw)
        self._results.append(result)
        # The baseline's comparison fills record["comparison"]: a failure or None.
        base = self._baseline
        problem = None if base is None else judge_against(record, base, self._environment, settings)
        # Recorded before anything else runs (filled in after): nothing measured is lost.
        self._record(record)
        followed = later(result) if later is not None else followups.Followed()
        problem = followed.fill(
            record,
            settings,
            problem,
            base_label=self._base_label(),
            nodeid=self._nodeid,
            subject=subject.name,
        )
        stopped = capacity_problem(measured.sampling)
        stopped = stopped and f"{stopped} (in {self._nodeid})"
        problem = messages.joined(problem, stopped, "\n")
        # The budget's verdict stands on its own; a comparison adds its text, never replaces it.
        failures = []
        if verdict is Verdict.FAIL:
            failures.append(verdict_message(result, index=index))
        elif verdict is Verdict.INCONCLUSIVE and settings.inconclusive == "fail":
            failures.append(verdict_message(result, settings.inconclusive, index, self._cut_by))
        if problem:
            failures.append(problem)
        if failures:
            pytest.fail("\n".join(failures), pytrace=False)
        if verdict is Verdict.INCONCLUSIVE and settings.inconclusive == "warn":
            warn_inconclusive(verdict_message(result, settings.inconclusive, index, self._cut_by))
        return result
