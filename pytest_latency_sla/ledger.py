"""The chunks of timed calls a verdict reads: counted at a few thresholds (a Ledger).

No pytest, no onnxruntime, no clock: the sampler adds each chunk of call timings, with
how long the process waited for a CPU that other processes held meanwhile;
:func:`~pytest_latency_sla.verdict.judge` reads the rows.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = ["CONTENDED_SHARE", "FINE_STEPS", "Ledger", "thresholds"]

#: A chunk counts as contended when the process waited for a CPU for more than this
#: share of the chunk's time (a few microseconds of run delay are always there).
CONTENDED_SHARE = 0.02
#: Log-distances from the budget of the fine grid a ledger also counts at (either side):
#: where the level rule (:mod:`~pytest_latency_sla.levelshift`) reads how many calls a
#: budget moved by a little would count, to within one step of the grid.
FINE_STEPS = (0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32)


def thresholds(
    budget_ns: float, quick_factor: float, instant_factor: float = 0.0
) -> npt.NDArray[np.float64]:
    """The thresholds chunks are counted at: ``B / qf / 2`` .. ``B * qf``, in sqrt(2) steps.

    Every judged threshold (``B / qf``, ``B``, ``B * qf``) has its two proxies (itself
    divided by sqrt(2) and by 2) among them.
    """
    factors = [1.0, quick_factor] + ([instant_factor] if instant_factor > 1.0 else [])
    judged = {budget_ns * f for f in factors} | {budget_ns / f for f in factors}
    values = {u / f for u in judged for f in (1.0, math.sqrt(2.0), 2.0)}
    return np.array(sorted(values), dtype=np.float64)


class Ledger:
    """The chunks taken so far, summarized at fixed thresholds (what a look reads).

    Rows are kept in arrays that grow by doubling, so a look reads slices, not lists.
    """

    def __init__(self, levels: npt.NDArray[np.float64], near: float | None = None) -> None:
        #: Thresholds (ns), ascending: see :func:`thresholds`.
        self.levels = levels
        #: With ``near`` (the budget): thresholds ``near * exp(+-FINE_STEPS)``, ascending,
        #: counted too (``fine_upper``, ``fine_lower``); without, none.
        steps = np.array(FINE_STEPS if near else (), dtype=np.float64)
        self.fine = float(near or 0.0) * np.exp(np.concatenate((-steps[::-1], steps)))
        self._all = np.concatenate((levels, self.fine))
        self.size = 0
        capacity = 64
        self._starts = np.zeros(capacity, dtype=np.float64)
        self._calls = np.zeros(capacity, dtype=np.int64)
        self._upper = np.zeros((capacity, self._all.size), dtype=np.int64)
        self._lower = np.zeros((capacity, self._all.size), dtype=np.int64)
        self._contended = np.zeros(capacity, dtype=bool)
        self._level = np.zeros(capacity, dtype=np.float64)
        #: The wait and the time of every chunk, summed (``lost_share``).
        self._lost_ns = 0.0
        self._span_ns = 0.0

    # Per chunk, in order: when it started (ns since sampling started), its calls, its
    # exceedances of each level as measured (upper) and with
    # the wait taken off (lower; equal in an uncontended chunk), and whether it was
    # contended.
    @property
    def starts(self) -> npt.NDArray[np.float64]:
        return self._starts[: self.size]

    @property
    def calls(self) -> npt.NDArray[np.int64]:
        return self._calls[: self.size]

    @property
    def upper(self) -> npt.NDArray[np.int64]:
        return self._upper[: self.size, : self.levels.size]

    @property
    def lower(self) -> npt.NDArray[np.int64]:
        return self._lower[: self.size, : self.levels.size]

    @property
    def fine_upper(self) -> npt.NDArray[np.int64]:
        return self._upper[: self.size, self.levels.size :]

    @property
    def fine_lower(self) -> npt.NDArray[np.int64]:
        return self._lower[: self.size, self.levels.size :]

    @property
    def contended(self) -> npt.NDArray[np.bool_]:
        return self._contended[: self.size]

    @property
    def level(self) -> npt.NDArray[np.float64]:
        """Per chunk, the log of its median call (ns): the latency's level."""
        return self._level[: self.size]

    def _grow(self) -> None:
        def bigger(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
            grown = np.zeros((array.shape[0] * 2, *array.shape[1:]), dtype=array.dtype)
            grown[: array.shape[0]] = array
            return grown

        self._starts = bigger(self._starts)
        self._calls = bigger(self._calls)
        self._upper = bigger(self._upper)
        self._lower = bigger(self._lower)
        self._contended = bigger(self._contended)
        self._level = bigger(self._level)

    def add(
        self,
        chunk: npt.NDArray[np.int64],
        start_ns: float,
        wait_ns: int,
        lower_bounds: npt.NDArray[np.int64] | None = None,
    ) -> None:
        """Summarize one chunk of timings; ``wait_ns``: time the process waited for a CPU
        held by other processes during the chunk (0 when unknown or self-inflicted).
        ``lower_bounds``: per call, a lower bound on what the model is to blame for (a
        load run's latencies less the generator's own lateness), counted instead for the
        FAIL test; the chunk is not counted as contended for it."""
        if self.size == self._starts.size:
            self._grow()
        ordered = np.sort(chunk)
        m = int(ordered.size)
        upper = m - np.searchsorted(ordered, self._all, side="right").astype(np.int64)
        # (In floats: a load run's unknown latencies, 2**62 each, overflow an int64 sum,
        # and a negative span marked the chunk contended.)
        span = float(ordered.sum(dtype=np.float64))
        contended = wait_ns > CONTENDED_SHARE * span
        self._lost_ns += min(float(wait_ns), span)
        self._span_ns += span
        lower = upper
        if lower_bounds is not None:
            bounds = np.sort(lower_bounds)
            lower = m - np.searchsorted(bounds, self._all, side="right").astype(np.int64)
        elif contended:
            lower = upper.copy()
            for k, level in enumerate(self._all):
                count = int(upper[k])
                if count:
                    # The smallest excesses first: as many as the wait could explain.
                    excess = np.cumsum(ordered[m - count :] - level)
                    lower[k] = count - int(np.searchsorted(excess, wait_ns, side="right"))
        row = self.size
        self._starts[row] = start_ns
        self._calls[row] = m
        self._upper[row] = upper
        self._lower[row] = lower
        self._contended[row] = contended
        self._level[row] = math.log(max(1.0, float(ordered[(m - 1) // 2]))) if m else 0.0
        self.size += 1

    @property
    def n(self) -> int:
        return int(self.calls.sum())

    def lost_share(self) -> float:
        """Share of the chunks' time the process waited for a CPU other processes held."""
        return self._lost_ns / self._span_ns if self._span_ns > 0 else 0.0

    def contended_share(self) -> float:
        """Share of calls made in chunks that lost the CPU to other processes."""
        total = self.n
        return int(self.calls[self.contended].sum()) / total if total else 0.0
