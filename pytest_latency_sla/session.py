"""Collects every test's SLA records on the controller, writes and prints the reports.

Registered only where reports are made: in a plain run, or on a pytest-xdist controller
(never on its workers, whose records reach the controller on their test reports).

Records arrive as plain values on call-phase reports (``report.sla_records``), so the
same code serves a plain run and a pytest-xdist controller receiving workers' reports.
Files are written in ``pytest_sessionfinish`` (also after Ctrl-C, marked interrupted)
and announced in the terminal summary, as ``--junitxml`` does.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import re
import time
from typing import TYPE_CHECKING, Any

import pytest

from . import __version__, exclusive
from .gate import changed_unchecked, gated_nothing
from .saving import save_refusal

if TYPE_CHECKING:
    from .baseline import Baseline
    from .environment import Environment, EnvironmentCache
    from .schema import Run, SlaRecord, Unmeasured
    from .settings import Settings
    from .spill import SpillController

__all__ = [
    "RECORDS_ATTR",
    "SLA_TEST_ATTR",
    "UNMEASURED_ATTR",
    "ReplacedAttempts",
    "SlaCollector",
    "is_sla_property",
]

#: The attribute of a call-phase ``pytest.TestReport`` that carries a test's records.
RECORDS_ATTR = "sla_records"
#: The attribute of every report of an SLA test (marked, or using the ``sla`` fixture):
#: True. A failed one without records is an SLA test that failed without a measurement.
SLA_TEST_ATTR = "sla_test"
#: The attribute of a failed teardown report of a test whose measurement was left to its
#: fixtures' teardown: True when none came.
UNMEASURED_ATTR = "sla_unmeasured"


class SlaCollector:
    """Controller-side store of results; a pytest plugin object registered per session."""

    def __init__(
        self,
        settings: Settings,
        config: pytest.Config,
        environment: EnvironmentCache,
        baseline: Baseline | None = None,
    ) -> None:
        self.settings = settings
        #: --sla-compare's baseline, to tell which of its measurements this run missed.
        self.baseline = baseline
        self.config = config
        #: The final attempt's records of every test, in the order they arrived.
        self.records: list[SlaRecord] = []
        #: Records of attempts that a rerun plugin replaced.
        self.earlier_attempts: list[SlaRecord] = []
        #: SLA tests that failed without a measurement, by xdist worker and node id (a
        #: later attempt's measurement, or its pass, takes a test off).
        self.unmeasured: dict[tuple[str, str], Unmeasured] = {}
        #: SLA tests seen, by xdist worker and node id (to tell a crashed worker's test).
        self._sla_tests: set[tuple[str, str]] = set()
        #: Under --dist each every worker measures every test: the rows say whose.
        self._dist_each = config.getoption("dist", default=None) == "each"
        #: The current attempt of each test: the records it added to ``records``, and the
        #: first outcome of its setup or call that was not a pass ("" while none).
        self._attempts: dict[tuple[str, str], tuple[list[SlaRecord], str]] = {}
        #: The tests that ran to their teardown (node ids): all of them, or a stopped run.
        self._finished: set[tuple[str, str]] = set()
        #: Stopped with tests left to run (Ctrl-C, -x, --maxfail): set at the session's end.
        self._stopped = False
        #: Under pytest-xdist, what crashed workers measured (``spill``); None without.
        self.spill: SpillController | None = None
        self.written: list[tuple[str, str]] = []
        self.errors: list[str] = []
        #: Files left unwritten on purpose, in a sentence each.
        self.skipped: list[str] = []
        from .report import files

        problem = files.clash(
            files.targets(settings.report_targets(), settings.save, os.environ),
            str(config.invocation_params.dir),
            settings.compare,
            files.others(config.option),
        )
        if problem:
            raise pytest.UsageError(problem)
        self._started = time.time()
        self._started_at = datetime.datetime.now(datetime.timezone.utc)
        self._environment = environment

    @property
    def environment(self) -> Environment:
        """The machine and software of this run (load average from the start)."""
        return self._environment.get()

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        key = _key(report)
        self._note_unmeasured(report)
        # An attempt that a rerun plugin (pytest-rerunfailures) replaces reports a phase
        # with the outcome "rerun" (its call, or a teardown that failed): its records, as
        # many as came with its phases, are kept apart, and only the final attempt counts.
        if report.when == "teardown":
            self._finished.add(_key(report))
        outcome: str = report.outcome  # "rerun" too, though not in pytest's type
        if report.skipped and hasattr(report, "wasxfail"):
            outcome = "xfailed"  # expected to fail: its missed budget fails no run
        kept, status = self._attempts.setdefault(key, ([], ""))
        if report.when != "teardown" and not status and outcome != "passed":
            status = outcome  # the attempt's fate: its setup's or call's first non-pass
            self._attempts[key] = (kept, status)
        if outcome == "rerun":
            replaced = {id(r) for r in kept}
            self.records[:] = [r for r in self.records if id(r) not in replaced]
            self.earlier_attempts += [{**r, "outcome": "rerun"} for r in kept]
            self._attempts[key] = ([], "rerun")
        # Each record comes once, with the report of one phase (plugin.py).
        records = getattr(report, RECORDS_ATTR, None)
        # A teardown's measurement belongs to the test: an error in its setup, a failed
        # or skipped call, is its outcome too.
        if report.when == "teardown" and status and outcome == "passed":
            outcome = status
        worker = getattr(report, "worker_id", None) if self._dist_each else None
        for record in records or []:
            received: SlaRecord = record
            label = received["label"] + (f" [{worker}]" if worker else "")
            entry: SlaRecord = {**received, "label": label, "outcome": outcome}
            if outcome == "rerun":
                self.earlier_attempts.append(entry)
            else:
                self.records.append(entry)
                kept.append(entry)
        if str(report.when) in ("teardown", "???"):
            # The attempt is over (a crashed worker's has no teardown): the next report
            # of the test is another attempt's. Not at its setup: under a rerun plugin a
            # subtest's report comes before the setup's of its attempt.
            self._attempts[key] = ([], "")

    def interrupted(self, nodeid: str, records: list[SlaRecord]) -> None:
        """Keep the measurements of a test that ``pytest.exit()`` or Ctrl-C stopped after
        they were made: no report of its phase comes to carry them (pytest raises the
        stop past its report hooks). Their outcome is ``interrupted``."""
        for record in records:
            self.records.append({**record, "outcome": "interrupted"})
        self.unmeasured.pop(("", nodeid), None)

    def _note_unmeasured(self, report: pytest.TestReport) -> None:
        """Keep an SLA test whose setup or call failed without a measurement (a missing
        model, bad input, a crash or timeout in an isolated worker): the reports must not
        call the run's SLA met."""
        key = _key(report)
        if getattr(report, SLA_TEST_ATTR, False):
            self._sla_tests.add(key)
        elif str(report.when) == "???" and report.failed and key in self._sla_tests:
            # The worker crashed in an SLA test it had set up (a native crash, os._exit):
            # what it measured before never came back on a report, but in its file.
            left = self.spill.left_by(*key) if self.spill is not None else []
            self.records += [{**r, "outcome": "failed"} for r in left]
            if not left:
                self.unmeasured[key] = _unmeasured(report, "call")
            return
        if getattr(report, RECORDS_ATTR, None):  # measured, in any phase (a teardown's)
            self.unmeasured.pop(key, None)
            return
        if getattr(report, UNMEASURED_ATTR, False) and key not in self.unmeasured:
            self.unmeasured[key] = _unmeasured(report, "teardown")
            return
        if not getattr(report, SLA_TEST_ATTR, False) or report.when not in ("setup", "call"):
            return
        # Under pytest's subtests a test's call reports come after its subtests': one
        # that measured is measured (pytest fails the test for a failed subtest), and
        # the first failure says why one that did not measure failed.
        kept, status = self._attempts.get(key, ([], ""))
        if report.passed and not status:
            self.unmeasured.pop(key, None)
        elif report.failed and not kept and (report.when == "setup" or status != "failed"):
            # (Held back only behind a failed subtest's own reason; a skipped one says
            # nothing of why the test failed.)
            self.unmeasured[key] = _unmeasured(report, report.when)

    def _copies(self) -> int:
        """How many times each collected test runs: once, or under --dist each, once per
        worker."""
        workers = self.config.getoption("numprocesses", default=None)
        if not self._dist_each:
            return 1
        return (
            workers
            if isinstance(workers, int) and workers > 0
            else len({worker for worker, _ in self._finished})
        )

    def _run(self, exitstatus: int) -> Run:
        from .schema import Run

        workers = self.config.getoption("numprocesses", default=None)
        run = Run(
            started_at=self._started_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
            duration_s=time.time() - self._started,
            # (pytest-xdist ends a run that -x stopped as interrupted, even at its end.)
            interrupted=self._stopped,
            exit_status=int(exitstatus),
            environment=self.environment,
            settings=dataclasses.asdict(self.settings),
            setting_units=self.settings.units(),
            baseline=self.settings.compare,
            xdist_workers=workers if isinstance(workers, int) and workers > 0 else None,
            xdist_mode=self._xdist_mode(workers),
            merged_from=None,
        )
        if self.baseline is not None:
            from .baseline import unmatched

            run["baseline_unmatched"] = unmatched(self.baseline, self.records)
        return run

    def _xdist_mode(self, workers: object) -> str | None:
        if not isinstance(workers, int) or workers <= 0:
            return None
        if self.settings.xdist == "serial" and exclusive.SUPPORTED:
            return "serial"
        return "parallel"

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        from .report import files

        wanted = files.targets(self.settings.report_targets(), self.settings.save, os.environ)
        if self.config.option.collectonly or exitstatus == pytest.ExitCode.USAGE_ERROR:
            return  # nothing ran: the reports of an earlier run stay as they were
        if not self._attempts and exitstatus == pytest.ExitCode.INTERRUPTED and wanted:
            # Stopped before any test ran (an error during collection, Ctrl-C): the same.
            self.skipped.append("no test ran, so no SLA report or baseline was written")
            return
        start = str(self.config.invocation_params.dir)
        where = [os.path.realpath(files.target_path(t, start)) for t in wanted]
        saved = [w for w, t in zip(where, wanted, strict=True) if t.kind == "baseline"]
        # A baseline missing tests would make them "new" later: no regression found. (A
        # run stopped by -x at its last test is whole.)
        stopped = (
            exitstatus == pytest.ExitCode.INTERRUPTED or session.shouldfail or session.shouldstop
        ) and len(self._finished) < session.testscollected * self._copies()
        self._stopped = bool(stopped)  # the reports say the results are partial
        # On the command line (in addopts too, or as -o sla_max_regression=...).
        given = self.config.getoption("--sla-max-regression") is not None or any(
            o.split("=", 1)[0].strip() == "sla_max_regression"
            for o in self.config.getoption("override_ini") or ()
        )
        nothing, fails = gated_nothing(self.settings, self.baseline, self.records, given)
        gate: tuple[str, bool] = ("", False)  # (a sentence on the gate, and whether it fails)
        if nothing and not _selected(self.config):
            # A gate that compared nothing must not pass as one that found no regression.
            # No measurement at all: said, not failed (SLA tests skipped by design, such as
            # a provider this runner lacks, or a gate set in the ini file for every run).
            said = self.records or (not stopped and exitstatus == 0)
            gate = (nothing if said else "", fails and bool(self.records))
        else:  # (some compared, or a picked part: were its changed models?)
            gate = changed_unchecked(self.settings, self.baseline, self.records, given)
        if gate[0] and gate[1]:
            self.errors.append(gate[0])
            exitstatus = exitstatus or pytest.ExitCode.TESTS_FAILED
            session.exitstatus = exitstatus
        elif gate[0]:
            self.skipped.append(gate[0])
        save, why, dropped = self.settings.save or "", "", []
        if saved:
            partial = "the run stopped before its end" if stopped else ""
            exists = os.path.exists(saved[0])
            why = save_refusal(save, self.records, partial, "this run", exists)
            if not why:  # said once the baseline is written
                floor = self.settings.noise_floor
                dropped = _dropped(saved[0], save, self.records)
                dropped += _busy(save, self.records, floor)
        if why:
            # (Nor may the JSON report, which may share its path, write there: named.)
            held = [t for w, t in zip(where, wanted, strict=True) if w in saved]
            wanted = [t for w, t in zip(where, wanted, strict=True) if w not in saved]
            for target in (t for t in held if t.kind != "baseline"):
                why += f" (nor the SLA {target.label} at {target.path}, the same file)"
            self.skipped.append(why)
        if not wanted:
            return
        from .report.document import build_document

        document = build_document(
            self.records,
            self._run(exitstatus),
            __version__,
            self.earlier_attempts,
            list(self.unmeasured.values()),
        )
        written, errors = files.write_reports(
            document, wanted, str(self.config.invocation_params.dir)
        )
        self.written += written
        if any(os.path.realpath(path) in saved for _, path in written):
            self.skipped += dropped
        self.errors += errors
        # A report that cannot be written must not pass unnoticed: the run fails.
        if errors and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    @pytest.hookimpl
    def pytest_terminal_summary(
        self, terminalreporter: pytest.TerminalReporter, config: pytest.Config
    ) -> None:
        wants_table = any(kind == "term" for kind, _ in self.settings.report_targets())
        said = self.written or self.errors or self.skipped
        if not (wants_table or self.records or said or self.unmeasured):
            return  # a suite without SLA tests: nothing to say, nothing to import
        if config.option.collectonly and not (self.records or self.errors):
            return  # --collect-only measures nothing: no empty SLA section
        from .report import terminal
        from .report.document import xdist_note

        verbosity = config.get_verbosity()
        if wants_table:
            terminalreporter.write_sep("-", "SLA report")
            if self.records:
                for line in terminal.table(self.records, verbosity):
                    terminalreporter.write_line(line)
                for line in terminal.notes(self.records):
                    terminalreporter.write_line(line, yellow=True)
            else:
                terminalreporter.write_line("no SLA measurements in this run")
        if self.records and (wants_table or verbosity >= 0):
            for line in terminal.advice(self.records):
                terminalreporter.write_line(line)
            self._summary(terminalreporter)
        if self.unmeasured:
            from .report.labels import unmeasured_heading

            failed = list(self.unmeasured.values())
            terminalreporter.write_line(f"sla: {unmeasured_heading(len(failed))}:", red=True)
            for entry in failed:
                terminalreporter.write_line(f"  {entry['nodeid']} ({entry['phase']})", red=True)
        if self.records and (wants_table or verbosity >= 0):
            note = xdist_note(self._run(pytest.ExitCode.OK))
            if note:
                parallel = "in parallel" in note
                terminalreporter.write_line(f"sla: {note}", yellow=parallel)
        for label, path in self.written:
            terminalreporter.write_sep("-", f"SLA {label} written to {path}")
        for error in self.errors:
            terminalreporter.write_line(f"sla: {error}", red=True)
        for skipped in self.skipped:
            terminalreporter.write_line(f"sla: {skipped}", yellow=True)

    def _summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        from .report import labels
        from .report.document import no_gate_line, totals, unmatched_line, unsearched_line

        fails = self.settings.inconclusive == "fail"
        line = labels.summary_line(self.records, self.settings.headroom, fails, self._stopped)
        status = labels.run_status(totals(self.records, len(self.unmeasured), fails))
        # Green for "met" and "regression" alike: every budget was met.
        color: dict[str, Any] = (
            {"red": True}
            if status in ("fail", "unmeasured", "gate", "failed")
            else {"yellow": True}
            if status == "inconclusive"
            else {"green": True}
        )
        terminalreporter.write_line("sla: " + line, **color)
        missing = unmatched_line(self._run(pytest.ExitCode.OK))
        if missing:
            terminalreporter.write_line("sla: " + missing, yellow=True)
        ungated = no_gate_line(self._run(pytest.ExitCode.OK))
        if ungated:
            terminalreporter.write_line("sla: " + ungated, yellow=True)
        unsearched = unsearched_line(self._run(pytest.ExitCode.OK), self.records)
        if unsearched:
            terminalreporter.write_line("sla: " + unsearched)
        took = labels.time_line(self.records, self.settings.max_time, self.earlier_attempts)
        if took:
            terminalreporter.write_line("sla: " + took)


def _selected(config: pytest.Config) -> bool:
    """Whether the run is a part of the suite picked by the user (-k, -m, node ids,
    --lf): none of its tests in the baseline may just mean they are all new (a review:
    running only a new test failed as "compared nothing")."""
    option = config.option
    picked = getattr(option, "keyword", "") or getattr(option, "markexpr", "")
    return bool(picked or getattr(option, "lf", False) or any("::" in a for a in config.args))


def _busy(save: str, records: list[SlaRecord], noise_floor: float) -> list[str]:
    """A note on the measurements of a new baseline that other processes slowed: later
    runs at this noise floor will not compare with them (``baseline.busy_limit``)."""
    from .baseline import busy_limit, busy_share
    from .report.document import first_few

    limit = busy_limit(noise_floor)
    busy = [r["label"] for r in records if busy_share(r) >= limit]
    if not busy:
        return []
    one = len(busy) == 1
    return [
        f"--sla-save wrote the baseline {save}, but other processes took {limit:.0%} of the "
        f"time or more from {len(busy):,} of its measurements (enough to move a median by "
        f"half of sla_noise_floor), so later runs will not compare with "
        f"{'it' if one else 'them'} (a mismatch): {first_few(busy)}; re-record it on a "
        "quiet machine"
    ]


def _dropped(path: str, save: str, records: list[SlaRecord]) -> list[str]:
    """A note on the measurements of the baseline at ``path`` that this run, about to
    replace it, did not make (deselected with -k or --lf, say): they leave it, and are
    "new" against it later. None when there is no such baseline of ours to read."""
    from .baseline import BaselineError, load_baseline, unmatched
    from .report.document import first_few

    if not os.path.exists(path):
        return []
    try:
        old = load_baseline(path)
    except BaselineError:
        return []  # not a baseline this run can read: nothing to say it drops
    gone = unmatched(old, records)
    if not gone:
        return []
    named = first_few(gone)
    one = len(gone) == 1
    return [
        f"--sla-save replaced the baseline {save}, and {len(gone):,} of its measurements "
        f"that this run did not make (deselected, skipped or failed before measuring) "
        f"{'is' if one else 'are'} no longer in it, so {'it' if one else 'they'} will be "
        f"new against it: {named}"
    ]


def _unmeasured(report: pytest.TestReport, phase: str) -> Unmeasured:
    """The entry of a test that failed in ``phase`` without a measurement."""
    from .schema import UNMEASURED_MESSAGE

    message = _shortened(_first_line(report), UNMEASURED_MESSAGE)
    return {"nodeid": report.nodeid, "phase": phase, "message": message}


def _key(report: pytest.TestReport) -> tuple[str, str]:
    """A test's reports by xdist worker and node id: under --dist each every worker runs
    every test. pytest-xdist's report of a worker that crashed names it by its gateway."""
    gateway = getattr(getattr(report, "node", None), "gateway", None)
    worker = getattr(report, "worker_id", None) or getattr(gateway, "id", "")
    return str(worker), report.nodeid


def _first_line(report: pytest.TestReport) -> str:
    """The first line of a failure, as pytest's short summary shows it (the exception's
    message, without pytest.fail's "Failed: " and without our "(in node id)" ending)."""
    crash = getattr(report.longrepr, "reprcrash", None)
    text = str(getattr(crash, "message", "") or "") or report.longreprtext
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # pytest-xdist heads a worker's failure with "[gw0] linux -- Python 3.11.7 ...".
    lines = [line for line in lines if not re.match(r"\[gw\d+\] .* -- Python ", line)]
    first = (lines[0] if lines else "failed").removeprefix("Failed: ")
    return first.removesuffix(f" (in {report.nodeid})")


def _shortened(text: str, most: int) -> str:
    """``text``, or its first ``most - 1`` characters and an ellipsis."""
    return text if len(text) <= most else text[: most - 1].rstrip() + "…"


class ReplacedAttempts:
    """JUnit properties of an attempt that a rerun plugin replaces: ``sla_attempt=rerun``.

    A rerun plugin (pytest-rerunfailures) marks the call report "rerun" and hands the
    reports of an attempt to ``pytest_runtest_logreport`` in order; junitxml writes a
    test case's properties from its teardown report. So, first among the hooks, the
    teardown report of a replaced attempt loses its verdict properties: they do not
    count, and the final attempt's test case carries its own.
    """

    def __init__(self) -> None:
        self._replaced: set[str] = set()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        outcome: str = report.outcome  # a setup, call or teardown may be the one rerun
        if outcome == "rerun":
            self._replaced.add(report.nodeid)
        if report.when == "teardown" and report.nodeid in self._replaced:
            self._replaced.discard(report.nodeid)
            kept = [p for p in report.user_properties if not is_sla_property(p)]
            report.user_properties = [*kept, ("sla_attempt", "rerun")]


def is_sla_property(entry: object) -> bool:
    """A JUnit property this plugin adds (``sla_verdict``, ...)."""
    return isinstance(entry, tuple) and str(entry[0]).startswith("sla_")
