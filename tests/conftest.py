"""Shared test setup: pytester for end-to-end runs of the plugin."""

from __future__ import annotations

import builtins
import importlib
import os
import pkgutil
import stat
from typing import Any

# numpy refuses to be imported twice in one process, and pytester's in-process runs drop
# the modules first imported inside them. The plugin imports numpy only when a result is
# made, so without this the first in-process run that measures imports it and every later
# one fails ("cannot load module more than once per process") when a test file runs alone.
import numpy  # noqa: F401

# ... and so does onnx's C extension ("refusing to add duplicate key"): the advisor imports
# it inside an in-process run, and a later test of the same process that imports it aborted.
import onnx  # noqa: F401
import pytest

import pytest_latency_sla

# For the same reason, every module of the plugin is imported here, before any in-process
# run: a class imported anew inside one run would not be the class that modules imported
# earlier use (an onnxruntime adapter's OnnxInputError would not be caught; an isolated
# worker's task would not pickle: "not the same object as pytest_latency_sla.isolate._Task").
for _module in pkgutil.walk_packages(pytest_latency_sla.__path__, "pytest_latency_sla."):
    if not _module.name.endswith("__main__"):
        importlib.import_module(_module.name)

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def _fixed_terminal_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-process runs lay out their output for a 120-column terminal whatever the
    terminal (or CI log) running this suite is: the short summary, which cuts lines at the
    terminal's width, reads the same everywhere."""
    monkeypatch.setenv("COLUMNS", "120")


@pytest.fixture
def not_an_xdist_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest-benchmark turns itself off in xdist workers (and warns, an error here): an
    in-process run of a test run under -n is not one."""
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    monkeypatch.delenv("PYTEST_XDIST_WORKER_COUNT", raising=False)


class OpenedSpecialFileError(BaseException):
    """A pipe or a device was opened to be read: the read would hang, or never end. (Not
    an ``Exception``, so that no ``except`` in the code under test can swallow it.)"""


@pytest.fixture
def nothing_special_opened(monkeypatch: pytest.MonkeyPatch) -> None:
    """For the test, ``open()`` (the plugin's, zipfile's, numpy's) refuses a pipe or a
    device: a test of the check before such a file is read then fails without it, rather
    than hang on a FIFO or read /dev/zero until memory runs out."""
    real_open = builtins.open

    def guarded(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, (str, bytes, os.PathLike)):
            try:
                mode = os.stat(file).st_mode
            except OSError:
                mode = stat.S_IFREG
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise OpenedSpecialFileError(f"{os.fsdecode(file)!r} was opened")
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded)
