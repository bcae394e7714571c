"""A long measurement's progress lines on pytest's terminal, past output capture.

pytest glue, nothing else. Where pytest shows a file's results on one line (``test_x.py
..F``), a line written in the middle of a test ends that line, and the test's result
letter would then stand alone on the next one: after such lines, the file's name is
written again before the test's report is shown, so the letter follows it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["ProgressLines"]


class ProgressLines:
    """Writes progress lines for tests and owes pytest's result line its file's name."""

    def __init__(self, config: pytest.Config) -> None:
        self._config = config
        #: Tests that wrote a line since their last report was shown.
        self._owed: set[str] = set()

    def writer(self, nodeid: str) -> Callable[[str], None] | None:
        """Writes a progress line of test ``nodeid``; None under ``-q``, on an xdist
        worker (no terminal there), or without a terminal reporter."""
        config = self._config
        if config.get_verbosity() < 0 or hasattr(config, "workerinput"):
            return None
        reporter = config.pluginmanager.getplugin("terminalreporter")
        capture = config.pluginmanager.getplugin("capturemanager")
        if reporter is None:
            return None

        def write(line: str) -> None:
            if capture is not None:
                with capture.global_and_fixture_disabled():
                    reporter.write_line(line)
            else:
                reporter.write_line(line)
            self._owed.add(nodeid)

        return write

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Before the terminal shows the report: the file's name again, where a line of
        ours ended pytest's line of results."""
        if report.nodeid not in self._owed:
            return
        self._owed.discard(report.nodeid)
        config = self._config
        reporter = config.pluginmanager.getplugin("terminalreporter")
        if reporter is None or config.get_verbosity() != 0:
            return  # -v writes each test's own line, -q none
        if not getattr(reporter, "showfspath", False) or reporter.currentfspath is not None:
            return
        status = config.hook.pytest_report_teststatus(report=report, config=config)
        if not status[1]:
            return  # no letter to follow it (a passed setup or teardown: measured there)
        fspath = config.rootpath / report.nodeid.split("::")[0]
        reporter.write(os.path.relpath(fspath, reporter.startpath) + " ")
        reporter.currentfspath = fspath
