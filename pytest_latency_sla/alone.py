"""One timing at a time in a process: a measurement timed while another thread times
one would time that thread's load too, so the later one is refused.

Every timing the process makes or waits for goes through :func:`alone`: a measurement
(``runner.Timing.run``), a side-by-side comparison with a base revision, the advisor's
variants, and an isolated worker's (the parent holds it while the worker times). Not the
cold starts of ``cold_ms=``, made in fresh processes after the measurement. One thread
may nest (a measurement's own follow-ups run after it, and a measurement started from
inside the timed code is refused by the fixture with its own sentence). A refusal raises
:class:`ConcurrentError` in the thread that asked; the ``sla`` fixture keeps those made
in other threads than its test's for the test to take (:class:`Refusals`): raised in
such a thread, it would fail only that thread. Standard library only.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["ConcurrentError", "Refusals", "Refused", "alone"]


class Refused(Exception):
    """A timing that could not start (``runner.TooLateError``, :class:`ConcurrentError`);
    the message is one sentence."""


class ConcurrentError(Refused):
    """Another thread of this process is timing: two timings at once would each time the
    other's load."""


#: The threads timing now, each with how many :func:`alone` it is in.
_TIMING: dict[int, int] = {}
_LOCK = threading.Lock()


@contextlib.contextmanager
def alone() -> Iterator[None]:
    """Time the body while no other thread of this process does; :class:`ConcurrentError`
    (before the body) when another thread is timing now."""
    me = threading.get_ident()
    with _LOCK:  # (the check and the registration at once: two threads never both pass)
        if any(thread != me for thread in _TIMING):
            from .messages import CONCURRENT

            raise ConcurrentError(CONCURRENT)
        _TIMING[me] = _TIMING.get(me, 0) + 1
    try:
        yield
    finally:
        with _LOCK:
            left = _TIMING.get(me, 1) - 1
            if left > 0:
                _TIMING[me] = left
            else:
                _TIMING.pop(me, None)


class Refusals:
    """The refusals of one ``sla`` fixture that happened in threads other than the one
    that made it (its test's): raised there, they fail only that thread, and a thread
    pool's future may never show them. The test takes them (:meth:`take`)."""

    def __init__(self) -> None:
        self._owner = threading.get_ident()
        self._kept: list[str] = []
        self._lock = threading.Lock()

    def note(self, exc: BaseException) -> str:
        """``exc``'s sentence, kept when it is a refusal made in another thread."""
        said = str(exc)
        if isinstance(exc, ConcurrentError) and threading.get_ident() != self._owner:
            with self._lock:
                self._kept.append(said)
        return said

    def take(self) -> str | None:
        """The first refusal kept since the last call, taken (None: none)."""
        with self._lock:
            taken, self._kept = self._kept, []
        return taken[0] if taken else None


def _forked() -> None:
    """In a child process no thread of the parent is timing, and the lock is free."""
    global _LOCK
    _LOCK = threading.Lock()
    _TIMING.clear()


if hasattr(os, "register_at_fork"):  # (not on Windows)
    os.register_at_fork(after_in_child=_forked)
