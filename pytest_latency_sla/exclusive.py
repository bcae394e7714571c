"""One SLA test at a time, alone, across the pytest-xdist workers of one run.

Parallel workers contend for CPU and distort latency. Rather than pinning SLA tests to
one worker (which changes node ids and still lets other workers run beside it), every
test takes a *shared* lock for its whole run and an SLA test takes it *exclusively*: an
SLA test starts only when no other test is running on any worker, and nothing else
starts until it ends. Other tests still run in parallel with each other.

Readers-writer locking with ``flock`` on two files in a folder the controller creates:
``gate`` (a turnstile, so waiting SLA tests are not starved by a stream of other tests)
and ``rw``. Locks belong to open file descriptions, so each worker opens its own, and
the kernel drops them if a worker dies. POSIX only; elsewhere measuring falls back to
parallel (and the report says so).
"""

from __future__ import annotations

import contextlib
import os
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["SUPPORTED", "MeasurementLock"]

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    SUPPORTED = False
else:
    SUPPORTED = True


class MeasurementLock:
    """The worker's handle on the run-wide lock in ``folder``."""

    def __init__(self, folder: str) -> None:
        self._gate: IO[bytes] = open(os.path.join(folder, "gate"), "a+b")  # noqa: SIM115
        self._rw: IO[bytes] = open(os.path.join(folder, "rw"), "a+b")  # noqa: SIM115

    def close(self) -> None:
        """Release everything (also done by the kernel when the process ends)."""
        self._gate.close()
        self._rw.close()

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        """Held by every ordinary test: many at once, but never beside an SLA test."""
        with self._through_gate():
            fcntl.flock(self._rw, fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(self._rw, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Held by an SLA test: alone on the machine, as far as this run goes."""
        # Holding the gate while waiting stops new tests from starting meanwhile.
        with self._through_gate():
            fcntl.flock(self._rw, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._rw, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def _through_gate(self) -> Iterator[None]:
        fcntl.flock(self._gate, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._gate, fcntl.LOCK_UN)
