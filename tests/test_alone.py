"""One timing at a time in a process (``alone``): the later of two threads is refused,
one thread may nest, a refusal in another thread than the test's is kept for it, and a
forked child starts free."""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TYPE_CHECKING

import pytest

from pytest_latency_sla.alone import ConcurrentError, Refusals, Refused, alone
from pytest_latency_sla.messages import CONCURRENT

if TYPE_CHECKING:
    from collections.abc import Iterator


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


def test_a_second_thread_is_refused() -> None:
    with alone(), alone():  # (one thread nests: a measurement's follow-ups)
        (raised,) = _in_thread(_enter)
    assert isinstance(raised, ConcurrentError)
    assert isinstance(raised, Refused)
    assert str(raised) == CONCURRENT
    # Once the first has ended, another thread times alone.
    assert _in_thread(_enter) == []


def test_two_threads_released_at_once_never_both_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # A review: the check and the registration under two holds of the lock let both
    # threads pass the check. A check made slow (1 ms) opens that gap wide.
    import pytest_latency_sla.alone as module

    class SlowToRead(dict[int, int]):
        def __iter__(self) -> Iterator[int]:
            time.sleep(0.001)
            return super().__iter__()

    monkeypatch.setattr(module, "_TIMING", SlowToRead())
    inside, most = [0], [0]
    refused: list[BaseException] = []
    count = threading.Lock()

    def time_it(barrier: threading.Barrier) -> None:
        barrier.wait()
        try:
            with alone():
                with count:
                    inside[0] += 1
                    most[0] = max(most[0], inside[0])
                time.sleep(0.002)
                with count:
                    inside[0] -= 1
        except ConcurrentError as exc:
            refused.append(exc)

    for _ in range(20):
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=time_it, args=(barrier,)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert most[0] == 1
    assert refused  # (one of the two in each round where they met: on a busy runner one
    # may come only after the other's 2 ms, and time alone)


def test_a_refusal_in_another_thread_than_the_tests_is_kept_for_it() -> None:
    refusals = Refusals()  # made here: this thread is the test's
    refused = ConcurrentError(CONCURRENT)
    assert refusals.note(refused) == CONCURRENT  # in the test's own thread: not kept
    assert refusals.take() is None
    _in_thread(lambda: refusals.note(refused))
    _in_thread(lambda: refusals.note(ValueError("another problem")))  # (not a refusal)
    assert refusals.take() == CONCURRENT
    assert refusals.take() is None


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


if sys.version_info >= (3, 12):  # (fork with threads running warns there: expected here)
    test_a_child_forked_while_another_thread_times_is_free = pytest.mark.filterwarnings(
        "ignore::DeprecationWarning"
    )(test_a_child_forked_while_another_thread_times_is_free)
