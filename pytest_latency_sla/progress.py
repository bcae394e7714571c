"""A long measurement's progress lines on pytest's terminal, past output capture.

pytest glue, nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    import pytest

__all__ = ["ProgressLines"]


class ProgressLines:
    """Writes progress lines for tests."""

    def __init__(self, config: pytest.Config) -> None:
        self._config = config

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

        return write
