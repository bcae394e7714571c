"""One timing at a time in a process: a measurement timed while another thread times
one would time that thread's load too, so the later one is refused.

Every timing of the process goes through :func:`alone`: a measurement
(``runner.Timing.run``), a side-by-side comparison with a base revision, the advisor's
variants. One thread may nest (a measurement's own follow-ups run after it, and a
measurement started from inside the timed code is refused by the fixture with its own
sentence). A refusal raises :class:`ConcurrentError` in the thread that asked, and is
kept for the test to take (:func:`take_refused`): raised in a thread of the test, it
would fail only that thread. Standard library only.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["ConcurrentError", "Refused", "alone", "take_refused"]


class Refused(Exception):
    """A timing that could not start (``runner.TooLateError``, :class:`ConcurrentError`);
    the message is one sentence."""


class ConcurrentError(Refused):
    """Another thread of this process is timing: two timings at once would each time the
    other's load."""


#: The threads timing now, each with how many :func:`alone` it is in.
_TIMING: dict[int, int] = {}
_LOCK = threading.Lock()
#: Refusals not yet taken by the test they happened in.
_REFUSED: list[str] = []


@contextlib.contextmanager
def alone() -> Iterator[None]:
    """Time the body while no other thread of this process does; :class:`ConcurrentError`
    (before the body) when another thread is timing now."""
    me = threading.get_ident()
    with _LOCK:
        if any(thread != me for thread in _TIMING):
            from .messages import CONCURRENT

            _REFUSED.append(CONCURRENT)
            raise ConcurrentError(CONCURRENT)
    try:
        with _LOCK:
            _TIMING[me] = _TIMING.get(me, 0) + 1
        yield
    finally:
        with _LOCK:
            left = _TIMING.get(me, 1) - 1
            if left > 0:
                _TIMING[me] = left
            else:
                _TIMING.pop(me, None)


def take_refused() -> list[str]:
    """The refusals since the last call, taken."""
    with _LOCK:
        taken = list(_REFUSED)
        _REFUSED.clear()
    return taken


def _forked() -> None:
    """In a child process no thread of the parent is timing, and the lock is free."""
    global _LOCK
    _LOCK = threading.Lock()
    _TIMING.clear()
    _REFUSED.clear()


if hasattr(os, "register_at_fork"):  # (not on Windows)
    os.register_at_fork(after_in_child=_forked)
