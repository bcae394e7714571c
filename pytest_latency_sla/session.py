"""Collects every test's SLA records on the controller and prints the reports.

Records arrive as plain values on call-phase reports (``report.sla_records``), so the
same code serves a plain run and a pytest-xdist controller receiving workers' reports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from .report import terminal

if TYPE_CHECKING:
    from .config import Settings
    from .result import SlaRecord

__all__ = ["RECORDS_ATTR", "SlaCollector"]

#: The attribute of a call-phase ``pytest.TestReport`` that carries a test's records.
RECORDS_ATTR = "sla_records"


class SlaCollector:
    """Controller-side store of results; a pytest plugin object registered per session."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.records: list[SlaRecord] = []

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # Only the call phase carries records; reading every phase would count twice.
        if report.when != "call":
            return
        records = getattr(report, RECORDS_ATTR, None)
        if records:
            self.records.extend(records)

    @pytest.hookimpl
    def pytest_terminal_summary(
        self, terminalreporter: pytest.TerminalReporter, config: pytest.Config
    ) -> None:
        if hasattr(config, "workerinput"):
            return
        verbosity = config.get_verbosity()
        if "term" in self.settings.report:
            terminalreporter.write_sep("-", "SLA report")
            if self.records:
                for line in terminal.table(self.records, verbosity):
                    terminalreporter.write_line(line)
            else:
                terminalreporter.write_line("no SLA measurements in this run")
        elif verbosity < 0 or not self.records:
            return
        if self.records:
            self._summary(terminalreporter)

    def _summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        line = terminal.summary_line(self.records, self.settings.headroom)
        verdicts = {r["verdict"] for r in self.records}
        color = (
            {"red": True}
            if "fail" in verdicts
            else {"yellow": True}
            if "inconclusive" in verdicts
            else {"green": True}
        )
        terminalreporter.write_line("sla: " + line, **color)
