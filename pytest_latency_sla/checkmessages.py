"""The sentences of the checks beyond the budget: a regression against a stored
baseline or the base revision, a missed cold start. Pure functions of their entries."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from . import fmt
from .fmt import pct_label
from .schema import RENAMED

if TYPE_CHECKING:
    from .schema import ColdEntry, RevisionEntry

__all__ = ["cold_message", "regression_message", "revision_regression_message"]


def regression_message(
    percentile: float,
    measured_s: float,
    change: float,
    baseline_s: float,
    baseline_path: str,
    allowed: float,
    noise_floor: float,
    renamed_from: str | None = None,
) -> str:
    """Why a test failed against its baseline (``--sla-max-regression``); shares are
    fractions (``change`` 2.05 is +205%). ``renamed_from``: the node id of another
    test's entry it was compared with (``comparison.renamed_from``)."""
    entry = f", compared with {renamed_from} ({RENAMED})" if renamed_from else ""
    return (
        f"SLA regression: {pct_label(percentile)} {fmt.duration(measured_s)} is "
        f"{change * 100:+.0f}% against the baseline's {fmt.duration(baseline_s)} "
        f"({baseline_path}){entry}, beyond the {allowed * 100:g}% allowed by "
        f"sla_max_regression and the noise floor ({noise_floor * 100:g}%, sla_noise_floor) "
        "of both runs. Find what slowed it down, or re-record the baseline with --sla-save "
        "if the change is intended"
    )


def revision_regression_message(entry: RevisionEntry, allowed: float) -> str:
    """Why a test failed against the base revision (``--sla-compare-ref`` with
    ``--sla-max-regression``): the median's whole interval is above ``1 + allowed``."""
    ratio, low, high = entry["p50_ratio"] or [math.nan] * 3
    base, head = entry["base_p50_s"] or math.nan, entry["head_p50_s"] or math.nan
    return (
        f"SLA regression against {entry['ref']}: p50 {fmt.duration(head)} is {ratio:.2f}x "
        f"the base's {fmt.duration(base)} ({low:.2f}-{high:.2f}x at "
        f"{fmt.percent(entry['confidence'] or 0.0)} confidence, measured side by side), "
        f"beyond the {allowed * 100:g}% allowed by sla_max_regression. Find what slowed the "
        "model down, or raise --sla-max-regression if the change is intended"
    )


def cold_message(entry: ColdEntry, subject: str) -> str:
    """Why a test failed on its cold start (``cold_ms=``)."""
    worst = entry["total_s"].index(entry["worst_s"])
    return (
        f"SLA cold start missed: session creation plus the first call of {subject} took up "
        f"to {fmt.duration(entry['worst_s'])} in {entry['runs']} fresh processes (median "
        f"{fmt.duration(entry['median_s'])}; the worst: session "
        f"{fmt.duration(entry['session_s'][worst])} + first call "
        f"{fmt.duration(entry['first_call_s'][worst])}) > "
        f"{fmt.duration(entry['budget_s'])} cold_ms budget. Load less at start-up (a "
        "smaller or pre-optimized model: SessionOptions.optimized_model_filepath), or give "
        "the cold start more room"
    )
