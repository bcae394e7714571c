"""Real-time servers whose behaviour under load queueing theory predicts.

A test and benchmark harness, not part of the plugin: tests import it as a sibling
module, and ``benchmarks/load.py`` finds it on the path ``benchmarks/_common.py`` sets.
"""

from __future__ import annotations

import threading
import time

__all__ = ["SingleServer"]


class SingleServer:
    """One request at a time, 1 ms each: with Poisson arrivals an M/D/1 queue (a sleep
    overshoots a little, so about M/G/1 with a 1.1 ms mean). Optionally a 300 ms stall
    every ``stall_every_s`` seconds, as a garbage collector or a noisy neighbour makes."""

    def __init__(self, stall_every_s: float | None = None) -> None:
        self.lock = threading.Lock()
        self.stall_every_s = stall_every_s
        self.next_stall = 0.0

    def __call__(self) -> None:
        with self.lock:
            if self.stall_every_s is not None:
                now = time.monotonic()
                if not self.next_stall:
                    self.next_stall = now + self.stall_every_s
                elif now >= self.next_stall:
                    self.next_stall = now + self.stall_every_s
                    time.sleep(0.3)
            time.sleep(0.001)
