"""pytest-timeout glue: the timeout around a test, read as pytest-timeout reads it.

A measurement is fitted to end before that timeout (``limits.deadline``); this module
knows where pytest-timeout keeps its settings (its marker, ``--timeout``,
``PYTEST_TIMEOUT``, the ``timeout`` ini key) and when its timer starts (the test's
setup, or its call under ``timeout_func_only``). Nothing here imports pytest-timeout.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .limits import Deadline

__all__ = ["CALLED_KEY", "STARTED_KEY", "deadline_of"]

#: When the test's setup started, and its call (monotonic ns): pytest-timeout's timer
#: starts with one of them.
STARTED_KEY = pytest.StashKey[int]()
CALLED_KEY = pytest.StashKey[int]()


def deadline_of(item: pytest.Item) -> Deadline | None:
    """pytest-timeout's timeout around this test, as it reads it (``limits.deadline``);
    read when a measurement starts (its timer may start with the test's call)."""
    config = item.config
    manager = config.pluginmanager
    if not (manager.hasplugin("timeout") or manager.hasplugin("pytest_timeout")):
        return None
    from .limits import deadline

    mark = item.get_closest_marker("timeout")
    marker = (mark.args[0] if mark.args else mark.kwargs.get("timeout")) if mark else None
    func_only = mark.kwargs.get("func_only") if mark else None
    try:
        ini = config.getini("timeout")
        func_only = config.getini("timeout_func_only") if func_only is None else func_only
    except ValueError:  # no such ini key: another plugin took the name "timeout"
        ini = None
    # func_only: pytest-timeout's timer starts with the call, not the setup.
    started = item.stash.get(CALLED_KEY if func_only else STARTED_KEY, time.monotonic_ns())
    return deadline(
        started,
        marker=marker,
        option=config.getoption("timeout", None),
        env=os.environ.get("PYTEST_TIMEOUT"),
        ini=ini,
    )
