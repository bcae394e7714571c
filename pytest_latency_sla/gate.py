"""The gate on a stored baseline: a measurement compared with its entry, and why the
test fails: a regression beyond ``sla_max_regression``, or an entry that cannot be
compared under ``sla_strict_baseline``.

Loading a baseline and the comparison itself (a pure function of two records) are
:mod:`baseline`'s; this module finds the entry and words the failure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .baseline import compare
from .schema import BUSY_MISMATCH, NO_MEDIAN

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .baseline import Baseline
    from .schema import SlaRecord
    from .settings import Settings

__all__ = ["judge_against"]


def judge_against(
    record: SlaRecord,
    baseline: Baseline,
    environment: Mapping[str, Any],
    settings: Settings,
) -> str | None:
    """Compare a measurement with its baseline entry (filling ``record["comparison"]``):
    why the test fails (a regression beyond ``sla_max_regression``, or a configuration
    mismatch under ``sla_strict_baseline``), or None."""
    from .messages import regression_message

    if record["stop_reason"] == "disabled":
        return None
    comparison, regressed = compare(
        record,
        baseline.entry(record["nodeid"], record["index"]),
        environment,
        baseline.environment,
        settings.max_regression,
        settings.noise_floor,
    )
    record["comparison"] = comparison
    if regressed and comparison["baseline_p50_s"] and comparison["change"] is not None:
        return regression_message(
            50.0,
            record["p50_s"],
            comparison["change"],
            comparison["baseline_p50_s"],
            baseline.path,
            settings.max_regression or 0.0,
            settings.noise_floor,
        )
    if comparison["status"] == "mismatch" and settings.strict_baseline:
        if comparison["mismatch"] == [NO_MEDIAN]:
            return (
                f"the baseline entry in {baseline.path} has no p50_s above 0, so no change "
                "can be judged against it; re-record the baseline with --sla-save, or drop "
                "--sla-strict-baseline to only mark such tests"
            )
        if all(m.startswith(BUSY_MISMATCH) for m in comparison["mismatch"]):
            return (
                f"this measurement cannot be compared with its entry in {baseline.path} "
                f"({'; '.join(comparison['mismatch'])}): rerun on a quiet machine (or "
                "re-record the baseline there, if it was the baseline's), or drop "
                "--sla-strict-baseline to only mark such tests"
            )
        return (
            f"the baseline entry in {baseline.path} was recorded under another "
            f"configuration ({'; '.join(comparison['mismatch'])}), so it cannot be "
            "compared; re-record the baseline with --sla-save on this configuration, or "
            "drop --sla-strict-baseline to only mark such tests"
        )
    return None
