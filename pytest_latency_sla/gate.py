"""The gate on a stored baseline: a measurement compared with its entry, and why the
test fails: a regression beyond ``sla_max_regression``, or an entry that cannot be
compared under ``sla_strict_baseline``.

Loading a baseline and the comparison itself (a pure function of two records) are
:mod:`baseline`'s; this module finds the entry and words the failure, and that of a run whose gate
compared nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .baseline import compare
from .renamed import renamed_entry
from .schema import BUSY_HERE, BUSY_MISMATCH, NO_MEDIAN, RENAMED

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .baseline import Baseline
    from .schema import SlaRecord
    from .settings import Settings

__all__ = ["changed_unchecked", "gated_nothing", "judge_against"]


def judge_against(
    record: SlaRecord,
    baseline: Baseline,
    environment: Mapping[str, Any],
    settings: Settings,
) -> str | None:
    """Compare a measurement with its baseline entry (filling ``record["comparison"]``):
    why the test fails (a regression beyond ``sla_max_regression``, or a configuration
    mismatch under ``sla_strict_baseline``), or None. With no entry under its node id,
    the entry of the renamed test it may be (``renamed.renamed_entry``), saying so."""
    from .checkmessages import regression_message

    if record["stop_reason"] == "disabled":
        return None
    entry = baseline.entry(record["nodeid"], record["index"])
    renamed: str | None = None
    candidates: list[str] = []
    if entry is None:
        # A renamed test's old entry, found by its model (or the entries it could be).
        entry, candidates = renamed_entry(record, baseline, environment)
        renamed = entry["nodeid"] if entry is not None else None
    comparison, regressed = compare(
        record,
        entry,
        environment,
        baseline.environment,
        settings.max_regression,
        settings.noise_floor,
    )
    if renamed is not None:
        comparison["renamed_from"] = renamed
    if candidates:
        comparison["renamed_candidates"] = candidates
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
            renamed,
        )
    if comparison["status"] == "mismatch" and settings.strict_baseline:
        where = baseline.path if renamed is None else f"{baseline.path} ({renamed}'s, {RENAMED})"
        if comparison["mismatch"] == [NO_MEDIAN]:
            return (
                f"the baseline entry in {where} has no p50_s above 0, so no change "
                "can be judged against it; re-record the baseline with --sla-save, or drop "
                "--sla-strict-baseline to only mark such tests"
            )
        if all(m.startswith(BUSY_MISMATCH) for m in comparison["mismatch"]):
            return (
                f"this measurement cannot be compared with its entry in {where} "
                f"({'; '.join(comparison['mismatch'])}): rerun on a quiet machine (or "
                "re-record the baseline there, if it was the baseline's), or drop "
                "--sla-strict-baseline to only mark such tests"
            )
        return (
            f"the baseline entry in {where} was recorded under another "
            f"configuration ({'; '.join(comparison['mismatch'])}), so it cannot be "
            "compared; re-record the baseline with --sla-save on this configuration, or "
            "drop --sla-strict-baseline to only mark such tests"
        )
    return None


def gated_nothing(
    settings: Settings, baseline: Baseline | None, records: list[SlaRecord], given: bool = True
) -> tuple[str, bool]:
    """Why a regression gate on a stored baseline passed nothing through, and whether
    that fails the run: none of the run's measurements is in it (another suite's
    baseline, or changed test ids: it fails), or none could be compared with its entry
    (a mismatch: a busy machine, another configuration): it fails when the gate was
    ``given`` on the command line, as a pre-merge job gives it, and is said when it comes
    from a configuration file, which every run reads (a review: a laptop's every run
    failed on its CPU model); ("", False) when it gated something."""
    if settings.max_regression is None or baseline is None or not baseline.entries:
        return "", False
    statuses = [c["status"] if (c := r["comparison"]) else None for r in records]
    if not statuses and not settings.disable:  # (a new user's trial: a path with no SLA test)
        held = len(baseline.entries)
        return (
            f"--sla-max-regression compared nothing: this run made no SLA measurement, and "
            f"the baseline {settings.compare} holds {held:,} (no SLA test collected here, or "
            "all skipped?): its regression gate gated nothing"
        ), False
    if not statuses or any(status not in ("new", "mismatch") for status in statuses):
        return "", False
    count, plural = len(statuses), "s" if len(statuses) != 1 else ""
    fails = "so the run fails rather than pass a regression gate that gated nothing"
    if all(status == "new" for status in statuses):
        return (
            f"--sla-max-regression compared nothing: none of this run's {count:,} "
            f"measurement{plural} is in the baseline {settings.compare} (saved from another "
            f"suite, or the test ids differ?), {fails}; re-record the baseline from this "
            "suite with --sla-save"
        ), True
    if settings.strict_baseline:
        return "", False  # (each mismatch failed its own test, saying why)
    # A trial: on a busy 2-core runner every measurement was a mismatch (other processes
    # took most of its time), and a 3.3x slowdown passed a gate that compared nothing.
    parts, remedies = _not_compared(records)
    if "new" in statuses:
        parts.append(f"{statuses.count('new'):,} not in it")
    why = (
        f"{fails} (--sla-strict-baseline fails each such test instead)"
        if given
        else "and its regression gate, set in the configuration, gated nothing (given on "
        "the command line, as a pre-merge job gives it, such a run fails)"
    )
    return (
        f"--sla-max-regression compared nothing: none of this run's {count:,} "
        f"measurement{plural} could be compared with the baseline {settings.compare} "
        f"({', '.join(parts)}), {why}; {_or(remedies)}"
    ), given


def changed_unchecked(
    settings: Settings, baseline: Baseline | None, records: list[SlaRecord], given: bool = True
) -> tuple[str, bool]:
    """The models this run changed (their bytes differ from the baseline's) that could not
    be compared with their entries (a mismatch: a busy machine, another configuration)
    under a regression gate, in a sentence, and whether that fails the run: as
    :func:`gated_nothing` (given on the command line), since a pull request's changed
    model is what the gate is for (a trial: a model made 2.3x slower passed a busy
    runner's gate as a mismatch while other tests were compared). ("", False): none."""
    if settings.max_regression is None or baseline is None or settings.strict_baseline:
        return "", False  # (under --sla-strict-baseline each mismatch failed its test)
    left = [
        r
        for r in records
        if (c := r["comparison"])
        and c["status"] == "mismatch"
        and c.get("model_changed")
        and r.get("outcome") not in ("xfailed", "skipped")  # (such a test fails no run)
    ]
    if not left:
        return "", False
    tests = list(dict.fromkeys(r["nodeid"] for r in left))
    named = ", ".join(tests[:2]) + (f" and {len(tests) - 2:,} more" if len(tests) > 2 else "")
    parts, remedies = _not_compared(left)
    # (Re-recorded from the pull request, the baseline would hold the changed model.)
    remedies = [
        r.replace("re-record the baseline", "re-record the baseline from the base revision")
        for r in remedies
    ]
    count = len({r["model_sha256"] for r in left})
    models = "a changed model" if count == 1 else f"{count:,} changed models"
    why = (
        f"so the run fails rather than pass {'it' if count == 1 else 'them'} unchecked"
        if given
        else f"and its regression gate, set in the configuration, passed "
        f"{'it' if count == 1 else 'them'} unchecked (given on the command line, as a "
        "pre-merge job gives it, such a run fails)"
    )
    return (
        f"--sla-max-regression could not compare {models} with the baseline "
        f"{settings.compare} ({named}: {', '.join(parts)}), {why}; {_or(remedies)}"
    ), given


def _not_compared(records: list[SlaRecord]) -> tuple[list[str], list[str]]:
    """Why the mismatches among ``records`` could not be compared, counted ("2 measured on
    a busy machine", "1 under another configuration"), and what to do about them."""
    reasons = [c["mismatch"] for r in records if (c := r["comparison"]) and c["mismatch"]]
    here = sum(
        any(m.startswith(BUSY_MISMATCH) and m.endswith(BUSY_HERE) for m in found)
        for found in reasons
    )
    busy = sum(any(m.startswith(BUSY_MISMATCH) for m in found) for found in reasons)
    parts = [f"{busy:,} measured on a busy machine"] if busy else []
    if len(reasons) > busy:
        parts.append(f"{len(reasons) - busy:,} under another configuration")
    remedies = ["rerun on a quieter runner"] if here else []
    if here < len(reasons):  # (the baseline's side busy, or another configuration)
        remedies.append("re-record the baseline on a quiet runner of this type with --sla-save")
    remedies.append(
        "measure base and head side by side, in the same minutes, with --sla-compare-ref"
    )
    return parts, remedies


def _or(items: list[str]) -> str:
    """``a, b, or c``; ``a or b``; ``a``."""
    return (
        f"{', '.join(items[:-1])}{',' if len(items) > 2 else ''} or {items[-1]}"
        if len(items) > 1
        else items[0]
    )
