"""Cold start: session creation plus the first call, in fresh processes, judged.

A model that answers in 27 µs once warm may still take half a second to create its
session and run its first call: what a serverless function or a freshly scaled replica
pays. ``@pytest.mark.sla(ms=50, cold_ms=500)`` puts a budget on it. Each of
:data:`COLD_RUNS` fresh worker processes creates the session and runs one call; the
first also waits :data:`IDLE_GAP_S` and times one more call (onnxruntime's first call
after an idle gap is slower than back-to-back calls: onnxruntime issue #11581). Pure:
the timings come in, the entry and its verdict go out.
"""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .runner import OnnxJob
    from .schema import ColdEntry

__all__ = ["COLD_RUNS", "IDLE_GAP_S", "judge_cold", "measure_cold"]

#: Fresh processes per cold-start measurement.
COLD_RUNS = 5
#: The idle gap before the timed call after idling, in seconds.
IDLE_GAP_S = 2.0


def judge_cold(
    runs: Sequence[tuple[int, int]], after_idle_ns: int | None, budget_ms: float
) -> ColdEntry:
    """The entry for ``runs`` of (session creation ns, first call ns): passes when even
    the worst run's sum is within ``budget_ms`` (a handful of runs cannot bound a tail
    percentile, so the worst is what is judged)."""
    totals = [(created + first) / 1e9 for created, first in runs]
    worst = max(totals)
    return {
        "budget_s": budget_ms / 1e3,
        "runs": len(runs),
        "session_s": [created / 1e9 for created, _ in runs],
        "first_call_s": [first / 1e9 for _, first in runs],
        "total_s": totals,
        "median_s": statistics.median(totals),
        "worst_s": worst,
        "verdict": "pass" if worst <= budget_ms / 1e3 else "fail",
        "idle_gap_s": IDLE_GAP_S if after_idle_ns is not None else None,
        "after_idle_s": None if after_idle_ns is None else after_idle_ns / 1e9,
    }


def measure_cold(
    job: OnnxJob, budget_ms: float, timeout: float, until: tuple[int, str] | None = None
) -> ColdEntry | str:
    """Cold starts of the model of ``job`` in fresh worker processes, judged against
    ``budget_ms``; the sentence saying why they could not be measured. ``until``: when
    they must end (``time.monotonic_ns()``) and the timeout around the test that says so."""
    from . import ort
    from .isolate import IsolationError
    from .isolate_onnx import run_cold
    from .runner import ModelRunError

    if ort.describe_model(job.model).source is None:
        return (
            "cold start (cold_ms=): a live onnxruntime.InferenceSession cannot be started "
            "fresh; pass the model's path (or bytes) to sla.onnx(), or drop cold_ms="
        )
    try:
        runs, after_idle = run_cold(job, COLD_RUNS, IDLE_GAP_S, timeout, until)
    except (ort.OnnxInputError, ModelRunError, IsolationError) as exc:
        return f"cold start (cold_ms=): {exc}"
    return judge_cold(runs, after_idle, budget_ms)
