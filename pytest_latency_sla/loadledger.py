"""Finished load requests into the verdict's ledgers: chunks of scheduled time.

No pytest, no onnxruntime, no threads. ``load.py`` runs the generator and looks at the
verdict; here the requests it recorded become ledger chunks: one per window of scheduled
time, added only once every request in it has finished, and at the end of a run the
requests due and never finished, so none is left out of the last look. Two ledgers: the
first for the verdict (measured latencies for the PASS test, lower bounds for the FAIL
test), the second with the lower bounds alone, which tells when only the generator's
own lost time stands between the requests and a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .loadgen import Generator
    from .verdict import Ledger

__all__ = ["UNKNOWN_NS", "Judged", "add_unfinished", "add_windows"]


@dataclass
class Judged:
    """What the looks have added to the ledger so far: requests ``[0, added)``."""

    added: int = 0
    chunks: int = 0


def add_windows(
    ledgers: tuple[Ledger, Ledger] | None,
    generator: Generator,
    judged: Judged,
    upto: int,
    window_ns: int,
    final: bool,
) -> None:
    """Add the finished requests ``[judged.added, upto)`` to the ledgers, one chunk per
    window of scheduled time; a window is added only once every request in it finished
    (or at the end, ``final``). The first ledger counts latencies (and, for the FAIL test,
    latencies less the generator's lateness); the second counts latencies less the
    lateness alone: what the verdict would be had the generator kept its schedule."""
    offsets = generator.offsets
    first = judged.added
    if upto <= first:
        return
    if final or upto >= offsets.size:
        last = upto
    else:
        # The window of the first unfinished request is not complete yet.
        open_window = int(offsets[upto]) // window_ns * window_ns
        last = int(np.searchsorted(offsets[:upto], open_window, side="left"))
    if last <= first:
        return
    if ledgers is not None:
        latencies = generator.latencies(last)[first:]
        bounds = latencies - np.maximum(generator.lateness(last)[first:], 0)
        windows = offsets[first:last] // window_ns
        cuts = np.flatnonzero(np.diff(windows)) + 1
        begins = np.concatenate(([0], cuts))
        ends = np.concatenate((cuts, [latencies.size]))
        measured, optimistic = ledgers
        for begin, end in zip(begins, ends, strict=True):
            start = float(windows[begin] * window_ns)
            measured.add(latencies[begin:end], start, 0, bounds[begin:end])
            optimistic.add(bounds[begin:end], start, 0)
            judged.chunks += 1
    judged.added = last


#: Stands for the unknown latency of a request that never finished: over every threshold.
UNKNOWN_NS = np.int64(2**62)


def add_unfinished(
    ledgers: tuple[Ledger, Ledger] | None,
    generator: Generator,
    first: int,
    stopped_at: int,
) -> int:
    """Add the requests from ``first`` that were due before the run stopped, as one
    chunk: finished ones at their latency, the others over every threshold for the PASS
    test and at the time they had waited for the FAIL test. Returns how many never
    finished."""
    due = generator.start_ns + generator.offsets
    upto = int(np.searchsorted(due, stopped_at, side="left"))
    if upto <= first:
        return 0
    done = generator.done[first:upto]
    waited = stopped_at - due[first:upto]
    latencies = np.where(done, generator.ended[first:upto] - due[first:upto], UNKNOWN_NS)
    bounds = np.where(done, latencies - np.maximum(generator.lateness(upto)[first:], 0), waited)
    if ledgers is not None:
        start = float(generator.offsets[first])
        ledgers[0].add(latencies, start, 0, bounds)
        ledgers[1].add(np.where(done, bounds, UNKNOWN_NS), start, 0, bounds)
    return int((~done).sum())
