"""The words every human-readable report shares: record labels, summary line, run status.

The terminal, Markdown and HTML reports all take their labels from here, so a verdict,
a budget or a change reads the same in each, and the run's status is decided once
(:func:`run_status`) for the Markdown and HTML headers and the terminal summary's colour.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .. import fmt
from ..schema import BUSY_MISMATCH, NO_MEDIAN, RENAMED
from .document import cold_missed, failed_anyway, first_few, revision_counts, sort_by_margin, totals
from .revisionlabels import ratio_cell

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..schema import Advice, Run, SlaRecord

__all__ = [
    "BAND_TEXT",
    "STATUS_TEXT",
    "advice_header",
    "advice_of",
    "advice_rows",
    "band_label",
    "budget_label",
    "change_label",
    "cold_text",
    "defaulted_label",
    "defaulted_note",
    "merged_lines",
    "mismatch_text",
    "renamed_text",
    "run_status",
    "summary_line",
    "sweep_text",
    "time_line",
    "unmeasured_heading",
    "verdict_label",
]


def verdict_label(record: SlaRecord) -> str:
    """The verdict, ``disabled`` under ``--sla-disable``, or ``-`` without a budget; with
    ``, cold miss`` when the cold start (``cold_ms=``) missed its budget, which fails the
    test whatever the verdict on calls."""
    label = record["verdict"] or ("disabled" if record["stop_reason"] == "disabled" else "-")
    label = f"{label}, cold miss" if cold_missed(record) else label
    return f"{label} (xfailed)" if record["outcome"] == "xfailed" else label


def budget_label(record: SlaRecord) -> str:
    """``p99 <= 50 ms``, or ``p99 (no budget)``."""
    pct = fmt.pct_label(record["percentile"])
    if record["budget_value"] is None or record["budget_unit"] is None:
        return f"{pct} (no budget)"
    return f"{pct} <= {fmt.budget(record['budget_value'], record['budget_unit'])}"


def change_label(record: SlaRecord) -> str:
    """Against the baseline, judged on the median: ``p50 +230% regression``, ``p50 -3%``,
    ``new``, ``p50 +150% regression (model changed)``, ``p50 +40% (mismatch)``: the
    numbers are shown even when the configuration differs; ``p50 +200% regression
    (renamed?)`` against another test's entry (:func:`renamed_text`)."""
    comparison = record["comparison"]
    if comparison is None:
        return "-"
    status, change = comparison["status"], comparison["change"]
    if status == "new" or change is None:
        return status
    text = f"p50 {round(change * 100) or 0:+d}%"  # never "-0%"
    # Another test's entry (same model: never "model changed" too; renamed_text says whose).
    tags = ["model changed"] if comparison.get("model_changed") else []
    tags += ["renamed?"] if "renamed_from" in comparison else []
    if status == "mismatch":
        return f"{text} ({', '.join(['mismatch', *tags])})"
    if status in ("regression", "improvement"):
        text = f"{text} {status}"
    elif abs(round(change * 100)) >= _SHOWN_AS_NOISE * 100:  # as shown: 9.9% reads +10%
        # Unchanged by the rule, yet far from 0: within the noise floor, or the runs' spread.
        text = f"{text}, within the noise"
    return f"{text} ({', '.join(tags)})" if tags else text


def renamed_text(record: SlaRecord) -> str | None:
    """The entry of another test a measurement was compared with, found by its model:
    ``compared with t.py::test_old (same model; renamed?)``; or, for a new one, the
    entries it could have been renamed from, none guessed; None when neither."""
    comparison = record["comparison"]
    if comparison is None:
        return None
    if "renamed_from" in comparison:
        return f"compared with {comparison['renamed_from']} ({RENAMED})"
    candidates = comparison.get("renamed_candidates") or []
    if not candidates:
        return None
    return (
        f"new, though {fmt.count(len(candidates))} tests of the baseline that are gone "
        f"from the suite measured the same model ({first_few(candidates, shown=3)}): none "
        "is taken for its old name, so it is not compared"
    )


#: An unchanged median this far from the baseline's is labelled "within the noise": a
#: reader of "+100%" next to "no change" must see why (a stored baseline's floor is 2x).
_SHOWN_AS_NOISE = 0.1


def summary_line(
    records: Sequence[SlaRecord],
    headroom: float,
    inconclusive_fails: bool = True,
    partial: bool = False,
) -> str:
    """E.g. ``2 SLA measurements: 2 pass; tightest margin 1,850x (test_a): stop optimizing``.

    ``inconclusive_fails``: whether an inconclusive verdict failed its test; ``partial``:
    the run stopped before its end (Ctrl-C, ``-x``), so its margins are not the suite's."""
    counts: dict[str, int] = {}
    for record in records:
        verdict = record["verdict"] or "no budget"
        if record["outcome"] == "xfailed":
            verdict = "xfailed"  # expected to fail, whatever the verdict
        counts[verdict] = counts.get(verdict, 0) + 1
    order = ("fail", "inconclusive", "pass", "no budget", "xfailed")
    parts = ", ".join(f"{counts[v]} {v}" for v in order if v in counts)
    noun = "measurement" if len(records) == 1 else "measurements"
    # Measured, then the test went another way: its verdicts stand, and say so (of all
    # the measurements, not of the count just before).
    went = [
        f"{count} in {'a test' if count == 1 else 'tests'} {how} after measuring"
        for outcome, how in (("skipped", "skipped"), ("interrupted", "stopped"))
        if (count := sum(1 for r in records if r["outcome"] == outcome))
    ]
    line = f"{len(records)} SLA {noun}" + (f" ({', '.join(went)})" if went else "")
    line += f": {parts}"
    records = [r for r in records if r["outcome"] != "xfailed"]  # the rest: as expected
    colds = [cold["verdict"] for r in records if (cold := r.get("cold"))]
    if colds:
        missed = colds.count("fail")
        line += f"; cold start: {missed} missed, {len(colds) - missed} within budget"
    anyway = failed_anyway(records, inconclusive_fails)
    if anyway:
        named = ", ".join(anyway[:2]) + (f" and {len(anyway) - 2} more" if len(anyway) > 2 else "")
        tests = "test" if len(anyway) == 1 else "tests"
        line += f"; {fmt.count(len(anyway))} {tests} failed with no budget missed ({named})"
    judged = [r for r in records if r["margin"] is not None]
    if judged:
        tightest = sort_by_margin(judged)[0]
        margin = tightest["margin"]
        assert margin is not None
        line += f"; tightest margin {fmt.margin(margin)} ({tightest['label']})"
        missed = any(cold_missed(r) for r in records)
        # A test failed anyway (a regression gate, an assertion): not the time to say so.
        failed = any(r.get("outcome") == "failed" for r in records)
        if all(r["band"] == "headroom" for r in judged) and not missed and not failed:
            line += (
                f": every margin measured is {headroom:g}x or more, but the run stopped "
                "before its end"
                if partial
                else f": every margin is {headroom:g}x or more, "
                "further optimization buys nothing for these SLAs"
            )
    statuses = [r["comparison"]["status"] for r in records if r["comparison"]]
    if statuses:
        plurals = {"regression": "regressions", "improvement": "improvements"}
        plurals["mismatch"] = "mismatches"
        changes = [
            f"{statuses.count(s)} {plurals[s] if statuses.count(s) > 1 else s}"
            for s in ("regression", "improvement", "mismatch")
            if s in statuses
        ]
        if not changes and "unchanged" in statuses:
            changes = ["no change beyond the noise"]
        if "new" in statuses:
            changes.append(f"{statuses.count('new')} new")
        if statuses.count("new") == len(statuses) > 1:
            changes.append(
                "none of them in the baseline: was it saved from another suite, or do the "
                "test ids differ (a parameter, or pytest-repeat's [1-2])?"
            )
        line += "; against the baseline: " + ", ".join(changes)
    return line + revision_counts(records)


#: A record's band as the reports show it.
BAND_TEXT = {
    "miss": "MISS",
    "tight": "tight",
    "ok": "ok",
    "headroom": "stop optimizing",
}


def band_label(record: SlaRecord) -> str:
    """A record's band as a row shows it: "headroom", not "stop optimizing", where its
    test failed anyway (a cold start missed, a sweep size raised, a regression gate): no
    time to say so beside a failure."""
    band = record["band"] or ""
    if band == "headroom" and (record.get("outcome") == "failed" or cold_missed(record)):
        return "headroom"
    return BAND_TEXT.get(band, "-")


def run_status(source: Sequence[SlaRecord] | Mapping[str, Any]) -> str:
    """The run's SLA status, from its records or its document's ``totals``: ``fail`` (a
    budget missed), ``unmeasured`` (an SLA test failed without a measurement: a missing
    model, bad input, a crash), ``gate`` (a test slower than its baseline or base
    revision failed: the regression gate), ``failed`` (an SLA test failed with no budget
    missed: ``document.failed_anyway``), ``inconclusive`` (one too close to call),
    ``regression`` (every budget met, but slower than the baseline), ``met``, or ``none``
    (no measurements).

    The first that applies wins, in that order.
    """
    counts = source if isinstance(source, Mapping) else totals(source)
    if counts.get("fail") or counts.get("cold_fail"):
        return "fail"
    if counts.get("unmeasured"):
        return "unmeasured"
    if counts.get("failed_regressions"):
        return "gate"
    if counts.get("failed_tests"):
        return "failed"
    if counts.get("inconclusive"):
        return "inconclusive"
    if counts.get("regressions"):
        return "regression"
    if counts.get("measurements"):
        return "met"
    return "none"


#: The run's status (:func:`run_status`) in words, for report headers.
STATUS_TEXT = {
    "fail": "SLA missed",
    "unmeasured": "SLA tests failed without a measurement",
    "gate": "slower than the regression gate allows",
    "failed": "no budget missed, but SLA tests failed",
    "inconclusive": "SLA inconclusive",
    "regression": "SLA met, with regressions",
    "met": "SLA met",
    "none": "no SLA measurements",
}


#: Below this much measuring in all, with nothing past ``sla_max_time``, no time line.
_QUIET_TOTAL_S = 60.0


def _beside_s(record: SlaRecord) -> float:
    """The time ``record``'s model was measured side by side with a base revision (s)."""
    revision = record.get("revision")
    return float((revision.get("duration_s") if revision else None) or 0.0)


def time_line(
    records: Sequence[SlaRecord], max_time_s: float, replaced: Sequence[SlaRecord] = ()
) -> str:
    """How long the measurements took, when it matters: more than a minute in all, or
    any past its ``max_time`` (toward a projected verdict): the record's own (a marker's
    ``max_time=``, a timeout's cut), or ``max_time_s`` (``sla_max_time``) for a record
    written without one. E.g. ``measuring took 2.1 min over 12 measurements; 2 went past
    sla_max_time (20 s), the longest 48.2 s``. Empty otherwise. The measurements of
    attempts a rerun plugin ``replaced`` count in the time, and are named."""
    beside: dict[str, float] = {}  # side-by-side time, by base revision
    for record in records:
        if (rev := record.get("revision")) and (took := _beside_s(record)):
            beside[rev["ref"]] = beside.get(rev["ref"], 0.0) + took
    again = sum(r["warmup_s"] + r["duration_s"] + _beside_s(r) for r in replaced)
    total = sum(r["warmup_s"] + r["duration_s"] for r in records) + sum(beside.values()) + again
    # (One that stopped at its max_time ran over it by its last chunk: not past, unless a
    # call far longer than the time allowed took it there, nor one without a budget,
    # which stops there at the latest; nor one decided, 5% on at most, at the look its
    # max_time called for.)
    longer = [
        (r["duration_s"], limit)
        for r in records
        if r["duration_s"] > (limit := r.get("max_time_s", max_time_s))
        and (r["stop_reason"] != "decided" or r["duration_s"] > 1.05 * limit)
        and (r["stop_reason"] not in ("max_time", "measured") or r["duration_s"] > 1.5 * limit)
    ]
    if total < _QUIET_TOTAL_S and not longer:
        return ""
    count = len(records)
    line = (
        f"measuring took {fmt.duration(total)} over {fmt.count(count)} "
        f"measurement{'s' if count != 1 else ''}"
    )
    parts = [f"{fmt.duration(s)} of it side by side with {ref}" for ref, s in beside.items()]
    if replaced:  # (a trial: a rerun's first attempts were left out of the time)
        line += f" and {fmt.count(len(replaced))} a rerun replaced"
        parts.append(f"{fmt.duration(again)} of it in those {fmt.count(len(replaced))}")
    if parts:  # (a trial: the side-by-side time was left out, a third of a run's)
        line += f" ({', '.join(parts)})"
    if longer:
        own = {limit for _, limit in longer}
        which = (
            f"sla_max_time ({fmt.duration(max_time_s)})"
            if own == {max_time_s}
            else f"{'its' if len(longer) == 1 else 'their'} max_time "
            f"({', '.join(fmt.duration(s) for s in sorted(own))})"
        )
        line += (
            f"; {fmt.count(len(longer))} went past {which}, "
            f"the longest {fmt.duration(max(d for d, _ in longer))}"
        )
    return line


def defaulted_label(record: SlaRecord) -> str:
    """The sizes that defaulted to 1, e.g. ``batch=1, seq=1 (defaulted)``; "" if none."""
    dims = record.get("defaulted_dims") or []
    if not dims:
        return ""
    return ", ".join(f"{d['name']}=1" for d in dims) + " (defaulted)"


def defaulted_note(record: SlaRecord) -> str:
    """A sentence on sizes that defaulted to 1, for the notes under a table; "" if none.

    E.g. ``seq=1 (defaulted): measured with inputs of that size only, so "stop
    optimizing" is withheld; give real sizes with dims={'seq': <size>}``.
    """
    label = defaulted_label(record)
    if not label:
        return ""
    sizes = [d["name"] for d in record["defaulted_dims"] if not d["batch"]]
    example = ", ".join(
        f"{name!r}: <size>" for name in sizes or [d["name"] for d in record["defaulted_dims"]]
    )
    if sizes:
        return (
            f'{label}: measured with inputs of that size only, so "stop optimizing" is '
            f"withheld; give real sizes with dims={{{example}}}"
        )
    return f"{label}: single-request latency; give other batch sizes with dims={{{example}}}"


def cold_text(record: SlaRecord) -> str | None:
    """The cold start line (``cold_ms=``), e.g. ``cold start: 640 ms median, 812 ms worst
    of 5 fresh processes (session creation + first call) <= 1 s: pass; a call after 2 s
    idle: 1.20 ms``; None without one."""
    cold = record.get("cold")
    if cold is None:
        return None
    sign = "<=" if cold["verdict"] == "pass" else ">"
    text = (
        f"cold start: {fmt.duration(cold['median_s'])} median, "
        f"{fmt.duration(cold['worst_s'])} worst of {cold['runs']} fresh processes (session "
        f"creation + first call) {sign} {fmt.duration(cold['budget_s'])}: {cold['verdict']}"
    )
    if cold["after_idle_s"] is not None and cold["idle_gap_s"] is not None:
        text += (
            f"; a call after {cold['idle_gap_s']:g} s idle: {fmt.duration(cold['after_idle_s'])}"
        )
    return text


def mismatch_text(record: SlaRecord) -> str | None:
    """Why a baseline entry was not judged, e.g. ``baseline recorded under another
    configuration (cpu_model 'A' -> 'B'): not judged; re-record it with --sla-save on this
    one``; None when it was."""
    comparison = record["comparison"]
    if comparison is None or comparison["status"] != "mismatch":
        return None
    if comparison["mismatch"] == [NO_MEDIAN]:
        return "baseline entry with no p50_s above 0: not judged; re-record it with --sla-save"
    if all(m.startswith(BUSY_MISMATCH) for m in comparison["mismatch"]):
        return (
            f"not compared with the baseline ({'; '.join(comparison['mismatch'])}): rerun on "
            "a quiet machine, or re-record the baseline there with --sla-save"
        )
    return (
        f"baseline recorded under another configuration ({'; '.join(comparison['mismatch'])})"
        ": not judged; re-record it with --sla-save on this one"
    )


#: Why a sweep's size stayed inconclusive, in a word or two (``SweepSize.reason``).
_UNDECIDED = {
    "dependent": "latency in bursts",
    "moved": "level moved",
    "busy": "machine busy",
    "close": "too close",
    "generator": "generator behind",
}


def sweep_text(record: SlaRecord) -> str | None:
    """The sweep line (``sweep=``), e.g. ``sweep of batch: 1: 12.0 µs pass, 64: 300 µs
    pass, 512: 2.40 ms fail; the largest within p99 <= 1 ms: 64``; None without one."""
    sweep = record.get("sweep")
    if sweep is None:
        return None
    # Under --sla-disable each size was called once: no percentile to speak of.
    disabled = record["stop_reason"] == "disabled"
    pct = "one call each" if disabled else fmt.pct_label(record["percentile"])
    sizes = ", ".join(
        f"{entry['size']}: {fmt.duration(entry['percentile_s'])}"
        + (f" {entry['verdict']}" if entry["verdict"] else "")
        + (f" ({_UNDECIDED[why]})" if (why := entry.get("reason")) in _UNDECIDED else "")
        for entry in sweep["sizes"]
    )
    text = f"sweep of {sweep['dim']} ({pct}): {sizes}"
    if unmeasured := sweep.get("unmeasured"):
        shown = ", ".join(str(entry["size"]) for entry in unmeasured)
        text += f"; not measured: {shown} (see the test's failure)"
    if record["budget_s"] is not None:
        largest = sweep["largest_meeting"]
        text += f"; the largest within {budget_label(record)}: " + (
            "none" if largest is None else f"{sweep['dim']}={largest}"
        )
        text += " of those measured" if unmeasured and largest is not None else ""
    return text


def advice_header(record: SlaRecord) -> list[str]:
    """The columns of a record's advice table (its budget percentile, unless p50)."""
    pct = fmt.pct_label(record["percentile"])
    middle = [] if pct == "p50" else [pct]
    return ["variant", "p50", *middle, "original p50 beside it", "p50 vs original", "margin", ""]


def advice_of(record: SlaRecord) -> Advice | None:
    """The record's advice (``--sla-advise``; None without it, or in older reports)."""
    found: Advice | None = record.get("advice")
    return found


def advice_rows(record: SlaRecord) -> list[list[str]]:
    """The advice table of a record as cells of text: per variant its p50, its budget
    percentile, the p50 ratio to the original with its interval, its margin and what it
    means (faster, slower, same; "meets the budget" when that changes the outcome; how
    its inputs or outputs differ from the original's, and for one fed other data, that
    alone); a variant that failed gets its sentence in the last cell."""
    advice = advice_of(record)
    if advice is None:
        return []
    with_pct = fmt.pct_label(record["percentile"]) != "p50"
    rows = []
    for entry in advice["variants"]:
        if entry["status"] != "measured":
            dashes = ["-"] * (5 if with_pct else 4)
            rows.append([entry["name"], *dashes, entry["problem"] or "failed"])
            continue
        meaning = entry["outcome"] or "-"
        if entry["changes_outcome"]:
            meaning += ", meets the budget" if entry["meets_budget"] else ", misses the budget"
        difference = entry.get("difference")
        if entry.get("comparable") is False:
            meaning = difference or "its time is not comparable"  # its inputs differ
        elif difference:
            meaning += f"; {difference}"
        tail = [fmt.duration(entry["percentile_s"] or 0.0)] if with_pct else []
        rows.append(
            [
                entry["name"],
                fmt.duration(entry["p50_s"] or 0.0),
                *tail,
                fmt.duration(beside) if (beside := entry.get("original_p50_s")) else "-",
                ratio_cell(entry["p50_ratio"]),
                fmt.margin(entry["margin"]),
                meaning,
            ]
        )
    return rows


def merged_lines(run: Run) -> list[str]:
    """What a merged report says of its shards: how many, and what differed between
    them when they were merged anyway (``--allow-mixed``). Nothing for one run."""
    shards = run.get("merged_from") or []
    if not shards:
        return []
    names = ", ".join(shard["path"] for shard in shards)
    noun = "report" if len(shards) == 1 else "reports"
    lines = [f"merged from {len(shards)} shard {noun} ({names})"]
    first = shards[0]["path"]
    for shard in shards:
        if shard["differences"]:
            differs = "; ".join(shard["differences"])
            lines.append(
                f"the shard {shard['path']} differs from {first} in {differs}: latencies "
                "across these shards are not comparable"
            )
    return lines


def unmeasured_heading(count: int) -> str:
    """The sentence over the list of SLA tests that failed without a measurement."""
    return (
        f"{count} SLA test{'s' if count != 1 else ''} failed without a measurement, so "
        f"{'they have' if count != 1 else 'it has'} no verdict"
    )
