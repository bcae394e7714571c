"""What an isolated worker's measured code left running: found in ``/proc`` and killed.

No pytest here. A worker starts with a token of its own in its environment
(:data:`LEFTOVER_ENV`), which every process the measured code starts inherits; once the
worker has ended, however it ended, :func:`kill_leftovers` kills the processes holding
it, and :func:`kill_with_descendants` stops a worker outliving its timeout with what it
started. Linux only; elsewhere the worker alone is killed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading

__all__ = ["LEFTOVER_ENV", "START_LOCK", "kill_leftovers", "kill_with_descendants"]


def kill_with_descendants(pid: int | None) -> None:
    """Kill the processes the worker ``pid`` started, directly or not (what the measured
    code ran: a child left by a killed worker outlived it), the worker stopped first so
    that it starts no more. Linux, from ``/proc``; elsewhere the worker alone is killed.
    (Not a process group of its own: a kill of pytest's group, as CI cancels a job,
    would then miss them.)"""
    if pid is None or not os.path.isdir("/proc"):
        return
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGSTOP)
    for child in _descendants(pid):
        with contextlib.suppress(OSError):
            os.kill(child, signal.SIGKILL)


#: Set to a token of its own in each worker's environment, which what the measured code
#: starts inherits: see :func:`kill_leftovers`.
LEFTOVER_ENV = "PYTEST_LATENCY_SLA_WORKER"
#: Held while a worker starts with its token in this process's environment.
START_LOCK = threading.Lock()


def kill_leftovers(token: str) -> None:
    """Kill the processes that hold a worker's ``token`` in their environment, once the
    worker has ended, however it ended: what the measured code started and left running.
    A child of a worker that crashed or exited is no longer under it (its parent is now
    init), so it is found by what it inherited. Linux, from ``/proc``; a process that
    cleared its environment is not found."""
    if not os.path.isdir("/proc"):
        return
    mark = f"\0{LEFTOVER_ENV}={token}\0".encode()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as environ:
                held = mark in b"\0" + environ.read()
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if held:
            with contextlib.suppress(OSError):
                os.kill(int(name), signal.SIGKILL)


def _descendants(pid: int) -> list[int]:
    """The processes under ``pid`` (its children, theirs, ...), from ``/proc``."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                data = stat.read()
        except OSError:
            continue  # gone meanwhile
        # The parent's pid is the second field after the command, which may hold spaces.
        fields = data[data.rindex(b")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found
