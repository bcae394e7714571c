"""How far a run's latency level may lie from the long run's: the level rule.

No pytest, no onnxruntime, no clock. Exceedance counts at a threshold cannot see a
latency whose level wandered while staying clear of the threshold: a run that sat in a
machine's fast minutes counts few exceedances with little spread, however far the next
minutes may take the level. So :func:`~pytest_latency_sla.verdict.judge` also reads the
level (the log of each chunk's median call) and holds a verdict near the budget to the
budget moved by as far as the level may lie beyond what its test allows for.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .stats import level_uncertainty

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = ["count_at", "level_shift"]


def level_shift(
    levels: npt.NDArray[np.float64],
    blocks: npt.NDArray[np.int64],
    thresholds: npt.NDArray[np.float64],
    upper: npt.NDArray[np.int64],
    calls: npt.NDArray[np.int64],
    k: int,
    dependence: float,
    alpha: float,
) -> float:
    """How far (log units) the long run's latency may lie from this run's beyond what
    the exceedance test at threshold ``k`` already allows for, at ``alpha``.

    ``levels`` and ``blocks``: per chunk, the log of its median and its time-block;
    ``thresholds`` and ``upper``: the ledger's levels and per-chunk exceedance counts
    and ``calls`` the chunks' calls;
    ``dependence``: the test's inflation at ``k``. The level's standard error
    (:func:`~pytest_latency_sla.stats.level_uncertainty`) less, in quadrature, the
    uncertainty of the run's quantile that the test itself implies: the share's
    standard error over the independent calls it counts, divided by the latency's
    density there (from the neighbouring thresholds' counts). The two agree on a level
    that only jitters; they part where the level wandered while the share at the
    threshold stayed put. Times the normal quantile of ``1 - alpha``; 0 when the level
    did not move beyond that.
    """
    from statistics import NormalDist

    spread = level_uncertainty(levels, blocks)
    if spread <= 0.0:
        return 0.0
    n = float(calls.sum())
    if n <= 0:
        return 0.0
    shares = upper.sum(axis=0) / n
    share = float(shares[k])
    steps = np.log(thresholds[1:] / thresholds[:-1])
    slopes = (shares[:-1] - shares[1:]) / steps
    density = float(max(slopes[max(0, k - 1) : k + 1], default=0.0))
    implied = 0.0
    if density > 0.0:
        implied = math.sqrt(share * (1.0 - share) * dependence / n) / density
    beyond = spread * spread - implied * implied
    return NormalDist().inv_cdf(1.0 - alpha) * math.sqrt(beyond) if beyond > 0 else 0.0


def count_at(
    thresholds: npt.NDArray[np.float64],
    counts: npt.NDArray[np.int64],
    fine: npt.NDArray[np.float64],
    fine_counts: npt.NDArray[np.int64],
    x: float,
    outcome: str,
) -> float:
    """Exceedances of ``x``, bounded from the per-chunk ``counts`` at ``thresholds`` and
    ``fine_counts`` at ``fine`` (the fine grid around the budget): for a pass, the count
    at the nearest threshold at or below ``x`` (at least as many as exceed ``x``); for a
    fail, at the nearest at or above it (at most as many). Nothing interpolated: calls
    that spread less than the thresholds' steps would read as many (or none) over ``x``
    as over a threshold far off. Beyond every threshold, the outermost one's: a level
    that may have moved further than they reach is judged there (a pass at the lowest, a
    fail at the highest), not at every call or none, which would refuse a verdict at any
    margin (a 250 ns call against 50 ms)."""
    grid = np.concatenate((thresholds, fine))
    totals = np.concatenate((counts.sum(axis=0), fine_counts.sum(axis=0)))
    order = np.argsort(grid, kind="stable")
    grid, totals = grid[order], totals[order]
    if outcome == "pass":
        j = max(0, int(np.searchsorted(grid, x, side="right")) - 1)
    else:
        j = min(grid.size - 1, int(np.searchsorted(grid, x, side="left")))
    return float(totals[j])
