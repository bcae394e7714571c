"""One timing at a time in a process (``alone``): the later of two threads is refused,
the refusal is kept for the test, one thread may nest, and a forked child starts free."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from pytest_latency_sla.alone import ConcurrentError, Refused, alone, take_refused
from pytest_latency_sla.messages import CONCURRENT


def _in_thread(target: object) -> list[BaseException]:
    raised: list[BaseException] = []

    def run() -> None:
        try:
            target()  # type: ignore[operator]
        except BaseException as exc:
            raised.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return raised


def _enter() -> None:
    with alone():
        pass


def test_a_second_thread_is_refused_and_the_refusal_is_kept() -> None:
    take_refused()
    with alone(), alone():  # (one thread nests: a measurement's follow-ups)
        (raised,) = _in_thread(_enter)
    assert isinstance(raised, ConcurrentError)
    assert isinstance(raised, Refused)
    assert str(raised) == CONCURRENT
    assert take_refused() == [CONCURRENT]
    assert take_refused() == []
    # Once the first has ended, another thread times alone.
    assert _in_thread(_enter) == []
    assert take_refused() == []


def test_the_registration_ends_when_the_body_raises() -> None:
    with pytest.raises(RuntimeError), alone():
        raise RuntimeError("the measured code")
    assert _in_thread(_enter) == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_child_forked_while_another_thread_times_is_free() -> None:
    started, stop = threading.Event(), threading.Event()

    def hold() -> None:
        with alone():
            started.set()
            stop.wait()

    holder = threading.Thread(target=hold)
    holder.start()
    started.wait()
    try:
        pid = os.fork()
        if pid == 0:  # the child: the parent's thread is not here
            try:
                with alone():
                    pass
            except BaseException:
                os._exit(1)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        stop.set()
        holder.join()
    take_refused()


if sys.version_info >= (3, 12):  # (fork with threads running warns there: expected here)
    test_a_child_forked_while_another_thread_times_is_free = pytest.mark.filterwarnings(
        "ignore::DeprecationWarning"
    )(test_a_child_forked_while_another_thread_times_is_free)
