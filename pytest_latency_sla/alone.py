"""One timing at a time in a process: a measurement timed while another thread times
one would time that thread's load too, so the later one is refused.

A measurement (``runner.Timing.run``) goes through :func:`alone`. One thread may nest
(a measurement started from inside the timed code is refused by the fixture with its
own sentence). A refusal raises :class:`ConcurrentError` in the thread that asked.
Standard library only.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["ConcurrentError", "Refused", "alone"]


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
    with _LOCK:
        if any(thread != me for thread in _TIMING):
            from .messages import CONCURRENT

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
