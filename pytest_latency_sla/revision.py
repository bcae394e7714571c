"""A measurement against the base revision: base and head side by side, as plain values.

No pytest, no onnxruntime: given the base's status (``gitref.base_model``) and, for a
changed model, the two prepared calls, runs ``paired.sample_pair`` and returns the
:class:`~pytest_latency_sla.schema.RevisionEntry` that reports show and
``--sla-max-regression`` judges. The budget's verdict is never touched: it comes from
the head's own measurement, before any of this.
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING

import numpy as np

from .paired import judge_ratio, sample_pair
from .stats import percentile_ns

if TYPE_CHECKING:
    from collections.abc import Callable

    from .plan import SamplingPlan
    from .schema import RevisionEntry

__all__ = ["base_not_ours", "compare_calls", "not_compared", "regression_beyond"]


def not_compared(ref: str, status: str, base_sha256: str | None = None) -> RevisionEntry:
    """An entry for a model not measured again: "unchanged" (the same bytes at ``ref``),
    "new" (absent there) or "not comparable" (a callable, or a model given as bytes)."""
    return _entry(ref, status, base_sha256)


def _entry(ref: str, status: str, base_sha256: str | None) -> RevisionEntry:
    return {
        "ref": ref,
        "status": status,
        "base_sha256": base_sha256,
        "outcome": None,
        "blocks": 0,
        "duration_s": 0.0,
        "stop_reason": None,
        "confidence": None,
        "percentile": None,
        "base_p50_s": None,
        "head_p50_s": None,
        "p50_ratio": None,
        "base_percentile_s": None,
        "head_percentile_s": None,
        "percentile_ratio": None,
        "detectable": None,
    }


def compare_calls(
    base: Callable[[], object],
    head: Callable[[], object],
    plan: SamplingPlan,
    *,
    ref: str,
    base_sha256: str | None,
    quantile: float,
    confidence: float,
    delta: float,
    pursue: bool = False,
    clock: Callable[[], int] = time.perf_counter_ns,
) -> RevisionEntry:
    """Measure ``base`` and ``head`` side by side and judge head/base at p50 and at
    ``quantile`` (the budget's). The outcome is the median's, the steadier of the two."""
    # Samples spanning at least a state of the machine, as a baseline does (and never a
    # cap below that).
    least = max(plan.min_time_ns, plan.state_time_ns)
    plan = dataclasses.replace(plan, min_time_ns=least, max_time_ns=max(plan.max_time_ns, least))
    paired = sample_pair(
        base, head, plan, confidence=confidence, delta=delta, pursue=pursue, clock=clock
    )
    median = judge_ratio(paired, confidence, delta)
    tail = judge_ratio(paired, confidence, delta, quantile=quantile)
    q = quantile * 100.0
    base_all, head_all = (np.sort(paired.pooled(s)) for s in ("base", "head"))
    entry = _entry(ref, "changed", base_sha256)
    entry.update(
        {
            "outcome": median.outcome,
            "blocks": paired.blocks,
            "duration_s": (paired.warmup_ns + paired.duration_ns) / 1e9,
            "stop_reason": paired.stop_reason,
            "confidence": confidence,
            "percentile": q,
            "base_p50_s": percentile_ns(base_all, 50.0) / 1e9,
            "head_p50_s": percentile_ns(head_all, 50.0) / 1e9,
            "p50_ratio": median.triple(),
            "base_percentile_s": percentile_ns(base_all, q) / 1e9,
            "head_percentile_s": percentile_ns(head_all, q) / 1e9,
            "percentile_ratio": tail.triple(),
            "detectable": median.detectable,
        }
    )
    return entry


def regression_beyond(entry: RevisionEntry, allowed: float) -> bool:
    """Slower than the base by more than ``allowed`` (a fraction), with confidence: the
    median ratio's whole interval lies above ``1 + allowed``."""
    ratio = entry["p50_ratio"]
    return ratio is not None and ratio[1] > 1.0 + allowed


def base_not_ours(ref: str) -> str:
    """What to do about a problem of the base's model, in brackets, after the problem."""
    return (
        f"(said of the model at {ref}, which this change cannot fix: to merge a fix, or "
        "new inputs, compare with a base whose model takes them, or run this test "
        "without --sla-compare-ref / --sla-compare-dir)"
    )
