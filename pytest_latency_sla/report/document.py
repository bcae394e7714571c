"""The report document: building one JSON-ready object for a whole run from its records.

Every file report (JSON, Markdown, HTML) and every baseline is a pure function of this
document, and the JSON report *is* it. Its layout (``Document``, ``SCHEMA_VERSION``) is
defined in :mod:`pytest_latency_sla.schema`; this module fills it in: the totals, the one
ordering of records (:func:`sort_by_margin`), and JSON-safe values.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .. import fmt
from ..schema import SCHEMA_VERSION, Document

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from ..schema import Run, SlaRecord, Unmeasured

__all__ = [
    "build_document",
    "cold_missed",
    "failed_anyway",
    "first_few",
    "inconclusive_fails",
    "json_ready",
    "no_gate_line",
    "revision_counts",
    "sort_by_margin",
    "totals",
    "tracer_text",
    "unmatched_line",
    "unsearched_line",
    "xdist_note",
]


def cold_missed(record: SlaRecord) -> bool:
    """Whether the record's cold start (``cold_ms=``) missed its budget."""
    cold = record.get("cold")
    return cold is not None and cold["verdict"] == "fail"


def totals(
    records: Sequence[SlaRecord], unmeasured: int = 0, inconclusive_fails: bool = True
) -> dict[str, Any]:
    """The counts of a run's records: measurements, tests, verdicts, changes, the tightest;
    and ``unmeasured``, the SLA tests that failed without a measurement.
    ``inconclusive_fails``: whether an inconclusive verdict fails its test
    (``sla_inconclusive = fail``), for :func:`failed_anyway`."""
    # An xfail test's results were expected to fail: pytest passes the run, and so do the
    # counts a status reads (they are counted apart, as xfailed).
    counted = [r for r in records if r["outcome"] != "xfailed"]
    verdicts = [r["verdict"] for r in counted]
    statuses = [_change(r) for r in counted]
    judged = [r for r in counted if r["margin"] is not None]
    tightest = min(judged, key=lambda r: r["margin"] or 0.0) if judged else None
    return {
        "measurements": len(records),
        "tests": len({r["nodeid"] for r in records}),
        "pass": verdicts.count("pass"),
        "fail": verdicts.count("fail"),
        "inconclusive": verdicts.count("inconclusive"),
        "no_budget": verdicts.count(None),
        "regressions": statuses.count("regression"),
        # Slower, and their tests failed: the regression gate (--sla-max-regression).
        "failed_regressions": sum(
            1
            for r, s in zip(counted, statuses, strict=True)
            if s == "regression" and r.get("outcome") == "failed"
        ),
        "improvements": statuses.count("improvement"),
        "mismatches": statuses.count("mismatch"),
        "cold_fail": sum(1 for r in counted if cold_missed(r)),
        "xfailed": len(records) - len(counted),
        "failed_tests": len(failed_anyway(records, inconclusive_fails)),
        "tightest_margin": tightest["margin"] if tightest else None,
        "tightest_label": tightest["label"] if tightest else None,
        "unmeasured": unmeasured,
    }


def failed_anyway(records: Sequence[SlaRecord], inconclusive_fails: bool = True) -> list[str]:
    """The tests that failed although no record of theirs says why: every budget met
    (or none given, or too close to call where that does not fail a test:
    ``inconclusive_fails`` False), no cold start missed, no regression gate. An assertion
    after measuring, the ``cold_ms=`` check, a comparison that could not be made. Node
    ids, in run order."""
    failed: dict[str, bool] = {}
    for record in records:
        if record.get("outcome") != "failed":
            continue
        explained = (
            record["verdict"] == "fail"
            or (record["verdict"] == "inconclusive" and inconclusive_fails)
            or cold_missed(record)
            or _change(record) == "regression"
        )
        failed[record["nodeid"]] = failed.get(record["nodeid"], False) or explained
    return [nodeid for nodeid, explained in failed.items() if not explained]


def _change(record: SlaRecord) -> str | None:
    """A record's change: against the baseline (its comparison's status), or
    "regression" when it is slower than the base revision measured side by side
    (``--sla-compare-ref`` / ``--sla-compare-dir``)."""
    revision = record.get("revision")
    if revision is not None and revision["outcome"] == "regression":
        return "regression"
    return record["comparison"]["status"] if record["comparison"] else None


def sort_by_margin(records: Sequence[SlaRecord]) -> list[SlaRecord]:
    """Tightest margin first; measurements without a budget last, in run order."""

    def key(pair: tuple[int, SlaRecord]) -> tuple[int, float, int]:
        index, record = pair
        margin = record["margin"]
        return (1, 0.0, index) if margin is None else (0, margin, index)

    return [record for _, record in sorted(enumerate(records), key=key)]


def build_document(
    records: Sequence[SlaRecord],
    run: Run,
    version: str,
    earlier_attempts: Sequence[SlaRecord] = (),
    unmeasured: Sequence[Unmeasured] = (),
) -> Document:
    """The report of a run: its facts, totals, and every record, tightest margin first.

    ``earlier_attempts`` are the records of attempts a rerun plugin replaced: kept, apart,
    and counted nowhere. ``unmeasured``: the SLA tests that failed without a measurement.
    """
    return Document(
        schema_version=SCHEMA_VERSION,
        tool={"name": "pytest-latency-sla", "version": version},
        run=run,
        totals=totals(records, len(unmeasured), inconclusive_fails(run)),
        results=sort_by_margin(records),
        earlier_attempts=list(earlier_attempts),
        unmeasured=list(unmeasured),
    )


def inconclusive_fails(run: Run) -> bool:
    """Whether the run's inconclusive verdicts failed their tests (``sla_inconclusive``,
    "fail" by default and in reports that do not say)."""
    settings = run.get("settings") or {}
    return bool(settings.get("inconclusive", "fail") == "fail")


def json_ready(value: Any) -> Any:
    """A copy with non-finite floats as None: JSON has no Infinity or NaN.

    (An infinite margin means the measured percentile was 0 ns: a coarse clock.)
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(item) for item in value]
    return value


def xdist_note(run: Run) -> str | None:
    """How pytest-xdist workers shared the machine, for every human-readable report (of
    a merged report's shards, how each did, when they differ)."""
    workers, mode = run["xdist_workers"], run["xdist_mode"]
    shards = [s for s in run.get("merged_from") or [] if "xdist_mode" in s]
    ways = [(s.get("xdist_mode"), s.get("xdist_workers")) for s in shards]
    if len(set(ways)) > 1:
        said = {"serial": "one at a time, alone, across {} xdist workers", None: "without xdist"}
        said["parallel"] = "in parallel on {} xdist workers"
        return "SLA tests ran " + "; ".join(
            f"{said[m].format(n)} in {ways.count((m, n))} of {len(ways)} shards"
            for m, n in dict.fromkeys(ways)
        )
    if not workers or mode is None:
        return None
    if mode == "serial":
        return f"SLA tests ran one at a time, alone, across {workers} xdist workers"
    chosen = run["settings"].get("xdist") == "parallel"
    why = "--sla-xdist=parallel" if chosen else "no file locking on this platform"
    return (
        f"measured in parallel on {workers} xdist workers: latencies include contention "
        f"between workers ({why})"
    )


#: The most of the baseline's unmatched measurements a report names.
UNMATCHED_SHOWN = 5


def first_few(
    labels: Sequence[str], name: Callable[[str], str] = str, shown: int = UNMATCHED_SHOWN
) -> str:
    """The first ``shown`` labels, each as ``name`` writes it, and how many more."""
    named = ", ".join(name(label) for label in labels[:shown])
    if len(labels) > shown:
        named += f" and {fmt.count(len(labels) - shown)} more"
    return named


def unmatched_line(run: Mapping[str, Any], name: Callable[[str], str] = str) -> str:
    """The baseline's measurements this run made none of (renamed, removed or not
    selected), in a sentence, each as ``name`` writes it (a code span); "" when there are
    none, or no baseline."""
    missing = list(run.get("baseline_unmatched") or ())
    if not missing:
        return ""
    named = first_few(missing, name)
    one = len(missing) == 1
    return (
        f"{fmt.count(len(missing))} measurement{'' if one else 's'} of the baseline "
        f"{'was' if one else 'were'} not made in this run (a test renamed, removed, not "
        "selected, skipped or failed before measuring; a renamed test not found by its "
        f"model is compared as new): {named}"
    )


def tracer_text(record: Mapping[str, Any]) -> str:
    """A note on a tracer that ran while the measurement was timed; "" without one."""
    from ..schema import UNTRACED

    tracer = record.get("tracer")
    if not tracer or record.get("stop_reason") == "disabled":  # --sla-disable timed nothing
        return ""
    return (
        f"timed under a Python tracer ({tracer}), which slows Python code several times "
        f"over: the time is the tracer's as much as the model's; {UNTRACED}"
    )


def unsearched_line(run: Mapping[str, Any], records: Sequence[SlaRecord]) -> str:
    """Callables that ``--sla-capacity`` (``sla_capacity``) left unsearched, in a
    sentence: a new user read the silence as a search that found nothing. "" when the
    setting is off or every measurement was searched (or was a model, or had no budget
    to search a rate for)."""
    if not (run.get("settings") or {}).get("capacity"):
        return ""
    left = list(  # (once per test: under --dist each, every worker measures it)
        dict.fromkeys(
            r["nodeid"]
            for r in records
            if r.get("kind") == "callable"
            and r.get("load") is None
            and r.get("budget_s") is not None  # (no budget: no rate could hold)
            and r.get("stop_reason") != "disabled"  # (--sla-disable: nothing was run)
        )
    )
    if not left:
        return ""
    them = f"{len(left)} callable{'s' if len(left) > 1 else ''}"
    return (
        f"sla_capacity searched no capacity for {them} measured one call at a time "
        f"({left[0]}{', ...' if len(left) > 1 else ''}): a callable is searched "
        "only when its marker has rps= or capacity=True (it is not known to be safe to call "
        "from threads)"
    )


def no_gate_line(run: Mapping[str, Any]) -> str:
    """A gate set in a file that this run could not apply (no base to compare with), in
    a sentence: a forgotten base must not pass as a gate that held. "" otherwise, and
    for a run that saves a baseline (the gate is for the runs that compare with it)."""
    settings = run.get("settings") or {}
    gate = settings.get("max_regression")
    bases = ("compare", "compare_ref", "compare_dir", "save")
    if gate is None or any(settings.get(key) for key in bases):
        return ""
    return (
        f"no regression gate in this run: sla_max_regression ({float(gate) * 100:g}%) has "
        "nothing to compare with; pass --sla-compare, --sla-compare-ref or "
        "--sla-compare-dir to apply it"
    )


def revision_counts(records: Sequence[SlaRecord]) -> str:
    """The side-by-side comparisons with the base revision, counted, e.g. ``; against
    main: 1 regression, 1 new (no such model at main: not compared)``; "" without."""
    revisions = [revision for r in records if (revision := r.get("revision"))]
    if not revisions:
        return ""
    ref = revisions[0]["ref"]
    kinds = [
        str(v["outcome"] or "unknown") if v["status"] == "changed" else f"model {v['status']}"
        for v in revisions
    ]
    words = {
        "regression": "regression",
        "improvement": "improvement",
        "unchanged": "unchanged",
        "unknown": "too close to tell",
        # (Not "unchanged": "1 unchanged, 1 model unchanged" read alike: a new user's trial.)
        "model unchanged": f"model{{s}} identical at {ref} (same bytes: not measured again)",
        "model new": f"new (no such model at {ref}: not compared)",
        "model not comparable": "not comparable",
    }
    parts = []
    for kind, word in words.items():
        if n := kinds.count(kind):
            plural = "s" if n > 1 and kind in ("regression", "improvement") else ""
            parts.append(f"{n} {word.replace('{s}', 's' if n > 1 else '')}{plural}")
    return f"; against {ref}: " + ", ".join(parts)
