"""pytest-xdist glue: SLA tests run one at a time, alone, across the workers of a run.

The controller makes a folder for the run-wide measurement lock (``exclusive``) and hands
it to every worker; a worker holds the lock exclusively around an SLA test and shared
around every other test. Registered only under ``sla_xdist = serial``.
"""

from __future__ import annotations

import shutil
import tempfile
from typing import TYPE_CHECKING, Any

import pytest

from . import exclusive
from .exclusive import MeasurementLock

if TYPE_CHECKING:
    from collections.abc import Generator

__all__ = ["WorkerFolder", "close", "register"]


class WorkerFolder:
    """The controller's temporary folder, made when the first worker starts and handed
    to every worker in its ``workerinput`` under ``key``; removed by :meth:`close`."""

    def __init__(self, key: str, prefix: str) -> None:
        self.key, self.prefix = key, prefix
        self.folder: str | None = None

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        if self.folder is None:
            try:
                self.folder = tempfile.mkdtemp(prefix=self.prefix)
            except OSError:
                return  # none: the workers do without it
        node.workerinput[self.key] = self.folder

    def close(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


def _lock_folder() -> WorkerFolder:
    """The folder of the run-wide measurement lock (without it, SLA tests are measured
    beside others)."""
    return WorkerFolder("sla_lock_dir", "pytest-latency-sla-lock-")


class _XdistWorker:
    """Runs SLA tests alone: exclusive lock for them, shared for every other test."""

    def __init__(self, lock: MeasurementLock) -> None:
        self.lock = lock

    def close(self) -> None:
        self.lock.close()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, object, object]:
        is_sla = item.get_closest_marker("sla") is not None or "sla" in getattr(
            item, "fixturenames", ()
        )
        with self.lock.exclusive() if is_sla else self.lock.shared():
            return (yield)


def register(config: pytest.Config) -> None:
    """Set up the lock for this process: the controller's folder, or a worker's lock."""
    if not exclusive.SUPPORTED:
        return
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None:
        controller = _lock_folder()
        config.stash[XDIST_KEY] = controller
        config.pluginmanager.register(controller, "pytest_latency_sla.xdist_controller")
    elif "sla_lock_dir" in workerinput:
        try:
            lock = MeasurementLock(workerinput["sla_lock_dir"])
        except OSError:
            # A remote worker (--tx ssh=...) cannot see the controller's folder: it
            # measures without the lock rather than failing the run.
            return
        worker = _XdistWorker(lock)
        config.stash[XDIST_WORKER_KEY] = worker
        config.pluginmanager.register(worker, "pytest_latency_sla.xdist_worker")


XDIST_KEY: pytest.StashKey[WorkerFolder] = pytest.StashKey()
XDIST_WORKER_KEY: pytest.StashKey[_XdistWorker] = pytest.StashKey()


def close(config: pytest.Config) -> None:
    """Release what :func:`register` set up (the lock, the controller's folder)."""
    controller = config.stash.get(XDIST_KEY, None)
    if controller is not None:
        controller.close()
    worker = config.stash.get(XDIST_WORKER_KEY, None)
    if worker is not None:
        worker.close()
