"""Unit tests for formatting, the terminal report, the result model and verdict messages."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import TYPE_CHECKING, Any

import pytest
from support import make_sampling

from pytest_latency_sla import fmt
from pytest_latency_sla.fmt import pct_label
from pytest_latency_sla.messages import verdict_message
from pytest_latency_sla.report import labels, revisionlabels, terminal
from pytest_latency_sla.report.document import (
    build_document,
    failed_anyway,
    sort_by_margin,
    totals,
)
from pytest_latency_sla.result import (
    Band,
    Budget,
    SlaResult,
    Subject,
    Verdict,
    classify,
)
from pytest_latency_sla.schema import SlaRecord
from pytest_latency_sla.stats import Decision

if TYPE_CHECKING:
    from pytest_latency_sla.sampling import Sampling

# --- fmt ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0, "0.00 ns"),
        (5e-9, "5.00 ns"),
        (0.5e-9, "0.50 ns"),
        (42e-9, "42.0 ns"),
        (420e-9, "420 ns"),
        (1e-6, "1.00 µs"),
        (6.1e-6, "6.10 µs"),
        (27e-6, "27.0 µs"),
        (123.4e-6, "123 µs"),
        (1.55e-3, "1.55 ms"),
        (12.34e-3, "12.3 ms"),
        (999e-3, "999 ms"),
        (2.1, "2.10 s"),
        (65.0, "65.0 s"),
        (1234.5, "1,234 s"),
        # Rounding to 3 figures may carry into the next unit or decimal place.
        (999.7e-6, "1.00 ms"),
        (999.4e-6, "999 µs"),
        (0.9996, "1.00 s"),
        (9.996e-6, "10.0 µs"),
        (99.96e-3, "100 ms"),
        (math.inf, "inf"),
        (math.nan, "nan"),
    ],
)
def test_duration(seconds: float, text: str) -> None:
    assert fmt.duration(seconds) == text


@pytest.mark.parametrize("seconds", [1e-9 * 1.234**k for k in range(0, 140, 3)])
def test_duration_has_three_significant_figures(seconds: float) -> None:
    text = fmt.duration(seconds)
    number, unit = text.split(" ")
    assert unit in ("ns", "µs", "ms", "s")
    digits = number.replace(",", "").replace(".", "").lstrip("0")
    assert len(digits) == 3 or (unit == "s" and len(digits) > 3), text
    value = float(number.replace(",", "")) * {"ns": 1e-9, "µs": 1e-6, "ms": 1e-3, "s": 1.0}[unit]
    assert value == pytest.approx(seconds, rel=5e-3)
    assert 1 <= float(number.replace(",", "")) < 1000 or unit in ("s", "ns")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "-"),
        (1850.0, "1,850x"),
        (1234.5, "1,234x"),
        (100.0, "100x"),
        (12.4, "12.4x"),
        (10.0, "10.0x"),
        (1.0, "1.00x"),
        # A review: a miss by 0.4% read "1.00x", as if the budget were met exactly.
        (0.996, "0.996x"),
        (1.004, "1.004x"),
        (0.99996, "0.99996x"),
        # A nanosecond over a 1 s budget read "1.000000x".
        (999_999_999 / 1_000_000_000, "0.999999999x"),
        (1 + 2e-9, "1.000000002x"),
        (0.82, "0.82x"),
        (0.01, "0.01x"),
        (0.0042, "0.0042x"),
        (0.000123, "0.00012x"),
        (0.0, "0x"),
        (9.996, "10.0x"),
        (99.96, "100x"),
        (math.inf, "inf"),
        (998_000_000.0, "998,000,000x"),
        (999_999_999.6, "1e+09x"),  # (not "1,000,000,000x")
        # A new user's ms=1e300: 300 digits widened every row of the table.
        (1.356e305, "1.36e+305x"),
        (1.86e9, "1.86e+09x"),
    ],
)
def test_margin(value: float | None, text: str) -> None:
    assert fmt.margin(value) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(1.004e-3, "1.004 ms"), (0.9996e-3, "0.9996 ms"), (1.2e-3, "1.20 ms"), (1e-3, "1.00 ms")],
)
def test_a_duration_beside_a_budget_never_reads_as_it_when_it_differs(
    seconds: float, text: str
) -> None:
    # A review: "SLA missed: p99 1.00 ms > 1 ms budget".
    assert fmt.duration_beside(seconds, 1e-3) == text


@pytest.mark.parametrize(("value", "text"), [(0, "0"), (999, "999"), (1240, "1,240")])
def test_count(value: int, text: str) -> None:
    assert fmt.count(value) == text
    assert fmt.count(1_000_000) == "1,000,000"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (10.9e6, "10.9M/s"),
        (1e6, "1.00M/s"),
        (999_999.0, "1.00M/s"),
        (163_000.0, "163k/s"),
        (100_000.0, "100k/s"),
        (99_999.0, "99,999/s"),
        (99_999.6, "100k/s"),
        (3658.0, "3,658/s"),
        (100.0, "100/s"),
        (99.96, "100/s"),
        (99.94, "99.9/s"),
        (2.5, "2.5/s"),
        (0.25, "0.2/s"),
        (math.inf, "inf"),
    ],
)
def test_rate(value: float, text: str) -> None:
    assert fmt.rate(value) == text


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [(50, "ms", "50 ms"), (200, "us", "200 µs"), (0.5, "ms", "0.5 ms"), (50.0, "ms", "50 ms")],
)
def test_budget(value: float, unit: str, text: str) -> None:
    assert fmt.budget(value, unit) == text


@pytest.mark.parametrize(
    ("fraction", "text"),
    [(0.99, "99%"), (0.995, "99.5%"), (0.999, "99.9%"), (0.95, "95%"), (0.5, "50%")],
)
def test_percent(fraction: float, text: str) -> None:
    assert fmt.percent(fraction) == text


# --- records and the terminal report --------------------------------------------------


def record(
    nodeid: str,
    margin: float | None,
    verdict: str | None = None,
    *,
    percentile: float = 99.0,
    budget_value: float = 50.0,
    budget_unit: str = "ms",
    providers: tuple[str, ...] = (),
    intra_op_threads: int | None = None,
    samples: int = 1_240,
    band: str | None = None,
) -> SlaRecord:
    """A record as workers send it; ``margin=None`` means no budget."""
    has_budget = margin is not None
    budget_s = budget_value * (1e-3 if budget_unit == "ms" else 1e-6)
    measured_s = budget_s / margin if margin else 27e-6
    if band is None and margin is not None:
        band = classify(margin, 1.5, 10.0).value
    if verdict is None and has_budget:
        verdict = "pass" if margin is not None and margin >= 1 else "fail"
    return SlaRecord(
        nodeid=nodeid,
        index=0,
        label=nodeid,
        subject="model.onnx",
        kind="onnx",
        api="session.run(None, feeds)",
        model_sha256="ab" * 32,
        inputs=[{"name": "x", "dtype": "float32", "shape": [1, 6]}],
        defaulted_dims=[],
        providers_requested=list(providers),
        providers=list(providers),
        intra_op_threads=intra_op_threads,
        inter_op_threads=None,
        session_options={},
        budget_value=budget_value if has_budget else None,
        budget_unit=budget_unit if has_budget else None,
        budget_s=budget_s if has_budget else None,
        percentile=percentile,
        measured_s=measured_s,
        interval_s=[measured_s * 0.9, measured_s * 1.1],
        p50_s=measured_s / 2,
        p50_interval_s=[measured_s * 0.45, measured_s * 0.55],
        percentiles_s={"p50": measured_s / 2, "p90": measured_s * 0.8, "p99": measured_s},
        mean_s=measured_s / 2,
        min_s=measured_s / 3,
        max_s=measured_s * 3,
        throughput=2 / measured_s,
        samples=samples,
        cold_start_s=0.004,
        warmup_calls=100,
        warmup_s=0.05,
        duration_s=0.05,
        chunks=10,
        looks=1,
        timer_overhead_ns=40,
        stop_reason="decided" if has_budget else "measured",
        needed_calls=None,
        confidence=0.99,
        decision=None,
        verdict=verdict,
        margin=margin,
        band=band,
        histogram={"edges_s": [measured_s / 3, measured_s * 3], "counts": [samples]},
        raw_ns=None,
        comparison=None,
        revision=None,
        advice=None,
        cold=None,
        sweep=None,
        load=None,
        outcome="passed",
    )


def test_budget_label() -> None:
    assert labels.budget_label(record("a", 2.0)) == "p99 <= 50 ms"
    assert labels.budget_label(record("a", 2.0, budget_value=200, budget_unit="us")) == (
        "p99 <= 200 µs"
    )
    assert labels.budget_label(record("a", 2.0, percentile=99.9)) == "p99.9 <= 50 ms"
    assert labels.budget_label(record("a", None, percentile=95)) == "p95 (no budget)"


def test_sort_by_margin_tightest_first_no_budget_last_in_run_order() -> None:
    records = [
        record("five", 5.0),
        record("nobudget1", None),
        record("miss", 0.8),
        record("huge", 1850.0),
        record("nobudget2", None),
        record("tight", 1.2),
        record("tight_again", 1.2),
    ]
    ordered = [r["nodeid"] for r in sort_by_margin(records)]
    assert ordered == [
        "miss",
        "tight",
        "tight_again",
        "five",
        "huge",
        "nobudget1",
        "nobudget2",
    ]
    assert next(r["nodeid"] for r in records) == "five"  # the input is not reordered


def _columns(lines: list[str]) -> list[tuple[int, int]]:
    """Column spans from the dashed separator under the header."""
    spans, pos = [], 0
    for dashes in lines[1].split("  "):
        spans.append((pos, pos + len(dashes)))
        pos += len(dashes) + 2
    return spans


def _cells(line: str, spans: list[tuple[int, int]]) -> list[str]:
    return [line.ljust(spans[-1][1])[a:b].strip() for a, b in spans]


def test_table_header_order_and_alignment() -> None:
    records = [
        record("test_fast", 1850.0, samples=123_456),
        record("test_none", None),
        record("test_slow", 0.82, "fail"),
        record("test_close", 1.2, "inconclusive"),
    ]
    lines = terminal.table(records)
    assert len(lines) == 2 + len(records)
    spans = _columns(lines)
    header = _cells(lines[0], spans)
    assert header == [
        "test",
        "budget",
        "measured",
        "p50",
        "margin",
        "band",
        "verdict",
        "calls",
        "rate",
    ]
    assert set(lines[1]) == {"-", " "}
    rows = [_cells(line, spans) for line in lines[2:]]
    assert [row[0] for row in rows] == ["test_slow", "test_close", "test_fast", "test_none"]
    slow, close, fast, none = rows
    assert slow[1:] == [
        "p99 <= 50 ms",
        "61.0 ms",
        "30.5 ms",
        "0.82x",
        "MISS",
        "fail",
        "1,240",
        "32.8/s",
    ]
    assert close[4:7] == ["1.20x", "tight", "inconclusive"]
    assert fast[4:8] == ["1,850x", "stop optimizing", "pass", "123,456"]
    assert none[1] == "p99 (no budget)"
    assert none[4:7] == ["-", "-", "-"]
    # Numbers are right-aligned: each ends at its column's right edge.
    for line in lines[2:]:
        for index in (2, 3, 4, 7, 8):
            assert line[spans[index][1] - 1] != " ", (line, index)
    # No trailing blanks.
    assert all(line == line.rstrip() for line in lines)


def test_table_verbose_adds_cold_start_subject_and_threads() -> None:
    records = [
        record(
            "test_a",
            3.0,
            providers=("CPUExecutionProvider",),
            intra_op_threads=0,
        ),
        record("test_b", 2.0, intra_op_threads=2),
        record("test_c", None),
    ]
    quiet = terminal.table(records, verbosity=0)
    assert "first call" not in quiet[0]
    assert "threads" not in quiet[0]
    lines = terminal.table(records, verbosity=1)
    spans = _columns(lines)
    header = _cells(lines[0], spans)
    assert header[-3:] == ["first call", "measured what", "threads"]
    rows = {cells[0]: cells for cells in (_cells(line, spans) for line in lines[2:])}
    assert rows["test_a"][-3:] == ["4.00 ms", "model.onnx [CPU]", "default"]
    assert rows["test_b"][-3:] == ["4.00 ms", "model.onnx", "2/default"]
    assert rows["test_c"][-3:] == ["4.00 ms", "model.onnx", "-"]
    assert [cells[0] for cells in (_cells(line, spans) for line in lines[2:])] == [
        "test_b",
        "test_a",
        "test_c",
    ]


def test_summary_line_single_measurement() -> None:
    line = labels.summary_line([record("test_a", 3.0)], headroom=10.0)
    assert line == "1 SLA measurement: 1 pass; tightest margin 3.00x (test_a)"


def test_summary_line_says_which_measurements_tests_went_another_way() -> None:
    # A trial: a test that measured and then skipped itself counted as a plain pass.
    skipped, stopped, plain = record("test_a", 3.0), record("test_b", 4.0), record("test_c", 5.0)
    skipped["outcome"], stopped["outcome"] = "skipped", "interrupted"
    line = labels.summary_line([skipped, stopped, plain], headroom=10.0)
    assert line.startswith(
        "3 SLA measurements (1 in a test skipped after measuring, 1 in a test stopped after "
        "measuring): 3 pass; tightest margin 3.00x"
    )
    # A trial: "6 pass, 1 xfailed (1 of them in a test skipped ...)" read as the xfailed.
    xfailed = record("test_d", 6.0)
    xfailed["outcome"] = "xfailed"
    line = labels.summary_line([skipped, plain, xfailed], headroom=10.0)
    assert line.startswith(
        "3 SLA measurements (1 in a test skipped after measuring): 2 pass, 1 xfailed;"
    )


def test_summary_line_counts_in_severity_order_and_tightest_margin() -> None:
    records = [
        record("test_p1", 20.0),
        record("test_nb", None),
        record("test_f", 0.82, "fail"),
        record("test_i", 1.1, "inconclusive"),
        record("test_p2", 4.0),
    ]
    line = labels.summary_line(records, headroom=10.0)
    assert line.startswith(
        "5 SLA measurements: 1 fail, 1 inconclusive, 2 pass, 1 no budget; "
        "tightest margin 0.82x (test_f)"
    )
    assert "further optimization buys nothing" not in line


def test_summary_line_without_budgets() -> None:
    line = labels.summary_line([record("a", None), record("b", None)], headroom=10.0)
    assert line == "2 SLA measurements: 2 no budget"


@pytest.mark.parametrize(
    ("margins", "headroom", "stop"),
    [
        ([1850.0, 12.4], 10.0, True),
        ([10.0, 400.0], 10.0, True),  # exactly at headroom counts
        ([9.99, 400.0], 10.0, False),
        ([1850.0, 12.4], 20.0, False),  # 12.4x is "ok", not "headroom", at 20x
        ([1850.0], 100.0, True),
    ],
)
def test_summary_line_says_when_optimizing_buys_nothing(
    margins: list[float], headroom: float, stop: bool
) -> None:
    records = [
        record(f"test_{i}", m, band=classify(m, 1.5, headroom).value) for i, m in enumerate(margins)
    ]
    records.append(record("test_nb", None))  # a measurement without budget does not count
    line = labels.summary_line(records, headroom=headroom)
    assert ("further optimization buys nothing" in line) is stop
    tightest = min(margins)
    assert f"tightest margin {fmt.margin(tightest)} (test_{margins.index(tightest)})" in line
    # A run stopped before its end (Ctrl-C, -x) did not measure the suite: no such word
    # on what it measured (a new user's trial).
    partial = labels.summary_line(records, headroom=headroom, partial=True)
    assert "further optimization buys nothing" not in partial
    assert (
        partial.endswith(
            f": every margin measured is {headroom:g}x or more, but the run stopped before its end"
        )
        is stop
    )
    if stop and headroom == 10.0:
        from pathlib import Path

        page = (Path(__file__).parent.parent / "docs" / "reports.md").read_text("utf-8")
        quoted = partial.rsplit(": ", 1)[1]
        assert f'"{quoted}"' in " ".join(page.split())


def _regressed(rec: SlaRecord) -> SlaRecord:
    rec["comparison"] = {
        "status": "regression",
        "baseline_measured_s": rec["measured_s"] / 2,
        "baseline_interval_s": None,
        "baseline_p50_s": rec["p50_s"] / 2,
        "percentile_change": 1.0,
        "change": 1.0,
        "significant": True,
        "mismatch": [],
        "model_changed": False,
    }
    return rec


@pytest.mark.parametrize(
    ("statuses", "said"),
    [
        (["unchanged", "unchanged"], "no change beyond the noise"),
        (
            ["new", "new"],
            "2 new, none of them in the baseline: was it saved from another suite, or do the "
            "test ids differ (a parameter, or pytest-repeat's [1-2])?",
        ),
        (["unchanged", "new"], "no change beyond the noise, 1 new"),
        (["regression", "new", "unchanged"], "1 regression, 1 new"),
    ],
)
def test_the_summary_says_what_changed_against_the_baseline(statuses: list[str], said: str) -> None:
    records = []
    for i, status in enumerate(statuses):
        rec = _regressed(record(f"test_{i}", 3.0))
        assert rec["comparison"] is not None
        rec["comparison"]["status"] = status
        records.append(rec)
    line = labels.summary_line(records, headroom=10.0)
    assert line.endswith(f"; against the baseline: {said}")


def _slower_than_base(rec: SlaRecord, outcome: str = "regression") -> SlaRecord:
    from pytest_latency_sla.revision import not_compared

    entry = not_compared("main", "changed", "cd" * 32)
    entry["outcome"] = outcome
    rec["revision"] = entry
    return rec


@pytest.mark.parametrize(
    ("records", "status"),
    [
        ([], "none"),
        # Slower than the base revision, measured side by side: as against a baseline.
        ([record("a", 3.0), _slower_than_base(record("b", 2.0))], "regression"),
        ([_slower_than_base(record("a", 3.0), "improvement")], "met"),
        ([record("a", None)], "met"),
        ([record("a", 3.0)], "met"),
        ([record("a", 3.0), _regressed(record("b", 2.0))], "regression"),
        ([_regressed(record("a", 3.0)), record("b", 1.2, "inconclusive")], "inconclusive"),
        ([record("a", 0.5), record("b", 1.2, "inconclusive")], "fail"),
    ],
)
def test_run_status_reads_records_and_totals_alike(records: list[SlaRecord], status: str) -> None:
    assert labels.run_status(records) == status
    assert labels.run_status(totals(records)) == status


# --- the result model ---------------------------------------------------------------------


def sampling(
    samples_ns: list[int],
    *,
    stop_reason: str = "decided",
    decision: Decision | None = None,
    duration_ns: int = 3_000_000_000,
    **fields: object,
) -> Sampling:
    return make_sampling(
        samples_ns, stop_reason=stop_reason, decision=decision, duration_ns=duration_ns, **fields
    )


_ONE_TO_HUNDRED_US = [i * 1_000 for i in range(100, 0, -1)]  # 100 µs .. 1 µs, reversed
_SUBJECT = Subject(
    kind="onnx",
    name="model.onnx",
    api="session.run(None, feeds)",
    providers_requested=("CPUExecutionProvider",),
    providers=("CPUExecutionProvider",),
    intra_op_threads=1,
    inter_op_threads=1,
    inputs=(("x", "float32[1, 6]"),),
)
_DECISION = Decision("pass", 1e-5, 1.0, 0.0005, 100.0, 0.0, 1.25)


def result(
    budget: Budget | None,
    verdict: Verdict | None,
    samples_ns: list[int] | None = None,
    **kwargs: object,
) -> SlaResult:
    return SlaResult(
        subject=_SUBJECT,
        budget=budget,
        verdict=verdict,
        sampling=sampling(samples_ns or _ONE_TO_HUNDRED_US, **kwargs),  # type: ignore[arg-type]
    )


def test_result_percentiles_and_summary_statistics() -> None:
    res = result(None, None)
    assert res.samples == 100
    assert res.percentile(99) == pytest.approx(99e-6)
    assert res.percentile(100) == pytest.approx(100e-6)
    assert res.percentile(50) == pytest.approx(50e-6)
    assert res.percentile(0.5) == pytest.approx(1e-6)
    assert res.p50 == pytest.approx(50e-6)
    assert res.min == pytest.approx(1e-6)
    assert res.max == pytest.approx(100e-6)
    assert res.mean == pytest.approx(50.5e-6)
    assert res.throughput == pytest.approx(1 / 50.5e-6)
    assert res.cold_start == pytest.approx(4.5e-3)
    # Timings keep call order; percentiles use a sorted copy.
    assert res.timings_ns.tolist() == _ONE_TO_HUNDRED_US
    assert not res.timings_ns.flags.writeable
    assert res.measured_percentile == pytest.approx(99e-6)  # default_percentile
    assert res.margin is None
    assert res.band is None


@pytest.mark.parametrize(
    "q",
    [0, -1, 100.01, 101, math.nan, math.inf, True, "99", None],
)
def test_result_percentile_rejects_bad_q(q: object) -> None:
    res = result(None, None)
    with pytest.raises(ValueError, match="in percent"):
        res.percentile(q)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("budget", "margin", "band"),
    [
        (Budget(50, "us", 99), 50 / 99, Band.MISS),
        (Budget(120, "us", 99), 120 / 99, Band.TIGHT),
        (Budget(148.5, "us", 99), 1.5, Band.OK),  # tight_margin itself is ok
        (Budget(198, "us", 99), 2.0, Band.OK),
        (Budget(0.99, "ms", 99), 10.0, Band.HEADROOM),  # headroom itself is headroom
        (Budget(1, "ms", 50), 20.0, Band.HEADROOM),
        (Budget(100, "us", 100), 1.0, Band.TIGHT),
    ],
)
def test_result_margin_and_band(budget: Budget, margin: float, band: Band) -> None:
    res = result(budget, Verdict.PASS)
    assert res.margin == pytest.approx(margin)
    assert res.band is band
    assert res.band == band.value  # a str enum compares equal to its value


@pytest.mark.parametrize("verdict", [Verdict.INCONCLUSIVE, Verdict.FAIL])
def test_stop_optimizing_needs_a_pass(verdict: Verdict) -> None:
    # A wide margin on a verdict that is not a pass is no reason to stop optimizing.
    res = result(Budget(1, "ms", 50), verdict)
    assert res.margin == pytest.approx(20.0)
    assert res.band is Band.OK


def test_result_margin_infinite_when_measured_zero() -> None:
    res = result(Budget(1, "ms", 99), Verdict.PASS, [0] * 10)
    assert res.margin == math.inf
    assert res.throughput == math.inf
    assert res.band is Band.HEADROOM


@pytest.mark.parametrize(
    ("margin", "band"),
    [(0.99, "miss"), (1.0, "tight"), (1.49, "tight"), (1.5, "ok"), (9.99, "ok"), (10, "headroom")],
)
def test_classify(margin: float, band: str) -> None:
    assert classify(margin, 1.5, 10.0) == band


def test_enums_and_labels() -> None:
    assert str(Verdict.INCONCLUSIVE) == "inconclusive"
    assert Verdict("fail") is Verdict.FAIL
    assert str(Band.HEADROOM) == "headroom"
    assert pct_label(99.0) == "p99"
    assert pct_label(99.9) == "p99.9"
    # A trial: p99.99999 read "p100", the label of a budget judged another way.
    assert pct_label(99.99999) == "p99.99999"
    assert pct_label(0.9999999 * 100) == "p99.99999"
    assert pct_label(50.00001) == "p50.00001"


def test_to_record_round_trips_through_json() -> None:
    res = result(
        Budget(198, "us", 99), Verdict.PASS, decision=_DECISION, max_time_ns=20_000_000_000
    )
    rec = res.to_record("tests/test_m.py::test_fast")
    # Every field but the tracer's, absent when nothing traced the calls.
    assert set(rec) == set(SlaRecord.__annotations__) - {"tracer"}
    traced = dataclasses.replace(res, subject=dataclasses.replace(res.subject, tracer="T"))
    assert traced.to_record("tests/test_m.py::test_fast")["tracer"] == "T"
    assert rec["max_time_s"] == 20.0
    assert json.loads(json.dumps(rec, allow_nan=False)) == rec
    # Plain Python values only: no numpy scalars, enums or tuples.
    for key, value in rec.items():
        assert type(value) in (str, int, float, list, dict, type(None)), key
    assert rec["nodeid"] == "tests/test_m.py::test_fast"
    assert rec["subject"] == "model.onnx"
    assert rec["providers"] == ["CPUExecutionProvider"]
    assert rec["budget_value"] == 198
    assert rec["budget_unit"] == "us"
    assert rec["budget_s"] == pytest.approx(198e-6)
    assert rec["percentile"] == 99
    assert rec["measured_s"] == pytest.approx(99e-6)
    assert rec["p50_s"] == pytest.approx(50e-6)
    assert rec["percentiles_s"]["p90"] == pytest.approx(90e-6)
    assert rec["percentiles_s"]["p99.9"] == pytest.approx(100e-6)
    low, high = rec["interval_s"]
    assert low <= rec["measured_s"] <= high
    assert sum(rec["histogram"]["counts"]) == 100
    assert rec["raw_ns"] is None
    assert res.to_record("t::x", raw=True)["raw_ns"] == res.timings_ns.tolist()
    assert res.to_record("t::x", index=1)["label"] == "t::x #2"
    assert rec["samples"] == 100
    assert rec["warmup_calls"] == 128
    assert rec["duration_s"] == pytest.approx(3.0)
    assert rec["decision"] is not None
    assert rec["decision"]["design_effect"] == 1.25
    assert rec["verdict"] == "pass"
    assert rec["margin"] == pytest.approx(2.0)
    assert rec["band"] == "ok"
    assert type(rec["verdict"]) is str
    assert type(rec["band"]) is str


def test_to_record_without_budget() -> None:
    res = SlaResult(
        subject=Subject(kind="callable", name="tests.test_m.predict", api="predict()"),
        budget=None,
        verdict=None,
        sampling=sampling(_ONE_TO_HUNDRED_US, stop_reason="measured"),
        default_percentile=90.0,
    )
    rec = res.to_record("t::x")
    assert json.loads(json.dumps(rec, allow_nan=False)) == rec
    assert "max_time_s" not in rec  # none in force: absent, as in older reports
    assert rec["percentile"] == 90.0
    assert rec["measured_s"] == pytest.approx(90e-6)
    for key in ("budget_value", "budget_unit", "budget_s", "verdict", "margin", "band"):
        assert rec[key] is None, key
    assert rec["decision"] is None
    assert rec["providers"] == []
    assert rec["kind"] == "callable"
    assert labels.budget_label(rec) == "p90 (no budget)"


# --- verdict messages ---------------------------------------------------------------------


def test_verdict_message_fail() -> None:
    res = result(Budget(50, "us", 99), Verdict.FAIL)
    assert verdict_message(res) == (
        "SLA missed: p99 99.0 µs > 50 µs budget for model.onnx (margin 0.51x, 100 calls, 99% "
        "confidence)"
    )


def test_verdict_message_pass() -> None:
    res = result(Budget(1, "ms", 99.9), Verdict.PASS)
    assert verdict_message(res) == (
        "SLA met: p99.9 100 µs <= 1 ms budget for model.onnx (margin 10.0x, 100 calls, 99% "
        "confidence)"
    )


def _undecided_at_max_time() -> SlaResult:
    """p99 99 µs against 100 µs, undecided at max_time; 51,000 calls would decide it."""
    return result(
        Budget(100, "us", 99),
        Verdict.INCONCLUSIVE,
        stop_reason="max_time",
        needed_calls=51_000,
        limit_ns=60_000_000_000,
    )


@pytest.mark.parametrize(
    ("needed", "remedy"),
    [
        (505, "; run about 505 rounds in all (--benchmark-min-rounds=505, or rounds=505 of "),
        (None, "; no verdict is in sight at this margin with any number of rounds: give the"),
    ],
)
def test_an_inconclusive_benchmark_says_how_many_rounds(needed: int | None, remedy: str) -> None:
    res = result(
        Budget(100, "us", 99), Verdict.INCONCLUSIVE, stop_reason="benchmark", needed_calls=needed
    )
    message = verdict_message(res)
    assert "with pytest-benchmark's rounds alone the samples cannot tell" in message
    assert remedy in message


def test_verdict_message_inconclusive_at_time_cap_gives_the_numbers() -> None:
    res = _undecided_at_max_time()
    message = verdict_message(res)
    assert message.startswith(
        "SLA inconclusive: p99 99.0 µs against a 100 µs budget for model.onnx "
        "(margin 1.01x, 100 calls, 99% confidence); after 3.00 s (sla_max_time), the samples "
        "cannot tell at 99% confidence whether the budget is met; p99 needs about 51,000 "
        "calls: about 2.58 s at 50.5 µs per call; set max_time=4 on this marker"
    )
    assert message.endswith("; or set sla_inconclusive = warn (or pass) to accept such results")
    assert "sample cap" not in message


def test_a_timeout_that_did_not_cut_is_named_when_the_time_asked_for_would_pass_it() -> None:
    # A trial: under --timeout=10, "set max_time=29" alone, which the timeout then cut.
    from pytest_latency_sla.limits import Cut

    res = _undecided_at_max_time()  # asks for max_time=4: a timeout above 6 s
    tight = Cut("pytest-timeout's 5 s timeout", cut=False, timeout_s=5.0)
    message = verdict_message(res, cut_by=tight)
    assert "after 3.00 s (sla_max_time), the samples" in message  # not "cut short"
    assert "set max_time=4 on this marker, and raise pytest-timeout's 5 s timeout above 6 s" in (
        message
    )
    roomy = Cut("pytest-timeout's 30 s timeout", cut=False, timeout_s=30.0)
    assert "pytest-timeout" not in verdict_message(res, cut_by=roomy)
    # The time the test had spent before measuring counts: 4 s of 8 leave too little.
    late = Cut("pytest-timeout's 8 s timeout", cut=False, timeout_s=8.0, spent_s=4.0)
    assert "and raise pytest-timeout's 8 s timeout above 10 s" in verdict_message(res, cut_by=late)


def test_the_timeout_advised_holds_a_long_warmup() -> None:
    # A review: with sla_warmup_time = 30, "raise pytest-timeout's 5 s timeout above 6 s"
    # (the 30 s warmup left out), which would have cut the next run the same.
    from pytest_latency_sla.limits import Cut

    res = _undecided_at_max_time()
    res = dataclasses.replace(
        res, sampling=dataclasses.replace(res.sampling, warmup_ns=30_000_000_000)
    )
    tight = Cut("pytest-timeout's 5 s timeout", cut=False, timeout_s=5.0)
    # max_time=4 and the 30 s warmup, a tenth kept: above 38 s.
    assert "raise pytest-timeout's 5 s timeout above 38 s" in verdict_message(res, cut_by=tight)


def test_a_time_limit_cut_by_a_timeout_names_the_timeout_not_time_limit() -> None:
    from pytest_latency_sla.limits import Cut

    res = _undecided_at_max_time()
    stopped = dataclasses.replace(
        res, sampling=dataclasses.replace(res.sampling, stop_reason="time_limit", needed_calls=None)
    )
    cut = Cut("pytest-timeout's 60 s timeout", cut=False, timeout_s=60.0)
    cut = dataclasses.replace(cut, limit_by="pytest-timeout's 60 s timeout")
    message = verdict_message(stopped, cut_by=cut)
    assert "at the time limit (60.0 s, cut short by pytest-timeout's 60 s timeout)" in message
    assert "time_limit=" not in message


def test_a_cut_verdict_says_what_the_time_was_kept_for_and_a_timeout_for_all_of_it() -> None:
    from pytest_latency_sla.limits import Cut

    res = _undecided_at_max_time()
    alone = verdict_message(res, cut_by=Cut("pytest-timeout's 4 s timeout"))
    assert "after 3.00 s, cut short to end before pytest-timeout's 4 s timeout, the " in alone
    # max_time=4 with its warmup (5 s) and a tenth kept: above 6 s; three parts: 17 s.
    assert "raise pytest-timeout's 4 s timeout above 6 s" in alone
    shared = verdict_message(res, cut_by=Cut("pytest-timeout's 4 s timeout", 3, "x and y"))
    assert (
        "after 3.00 s, cut short to end before pytest-timeout's 4 s timeout, with time kept "
        "for x and y, the samples"
    ) in shared
    assert "raise pytest-timeout's 4 s timeout above 17 s" in shared


def test_verdict_message_inconclusive_past_max_time() -> None:
    res = result(
        Budget(100, "us", 99),
        Verdict.INCONCLUSIVE,
        stop_reason="time_limit",
        needed_calls=9_000_000,
        limit_ns=60_000_000_000,
    )
    message = verdict_message(res)
    assert "after 3.00 s, past sla_max_time toward a verdict, at the time limit (60.0 s)" in message
    assert "p99 needs about 9,000,000 calls: about 454 s at 50.5 µs per call" in message
    assert "set max_time=550 on this marker" in message


@pytest.mark.parametrize(
    ("needed", "remedy"),
    [
        # Following "set max_time=..." alone would end at sla_max_samples instead (a new
        # user's trial: 1,762,294 calls needed, 1,000,000 allowed).
        (1_762_294, "set max_time=110 and max_samples=2_200_000 on this marker"),
        (51_000, "set max_time=4 on this marker"),
        # Within the cap, but not the 20% more calls the time suggested holds.
        (900_000, "set max_time=55 and max_samples=1_100_000 on this marker"),
    ],
)
def test_a_remedy_past_the_sample_cap_raises_it_too(needed: int, remedy: str) -> None:
    res = result(
        Budget(100, "us", 99),
        Verdict.INCONCLUSIVE,
        stop_reason="max_time",
        needed_calls=needed,
        max_samples=1_000_000,
    )
    assert remedy in verdict_message(res)


@pytest.mark.parametrize(
    ("needed", "remedy"),
    [
        # A trial: "set max_time=160000", which the marker refuses (at most 3600).
        (3_000_000_000, "about 42 h at 50.5 µs per call, longer than sampling may take"),
        (80_000_000, "about 4,040 s at 50.5 µs per call, longer than sampling may take"),
    ],
)
def test_a_remedy_never_suggests_a_max_time_past_the_settings_limit(
    needed: int, remedy: str
) -> None:
    res = result(Budget(100, "us", 99), Verdict.INCONCLUSIVE, needed_calls=needed)
    message = verdict_message(res)
    assert f"p99 needs about {needed:,} calls: {remedy} (max_time= is at most 1 h): " in message
    assert "give the budget room, or make the model faster" in message
    assert "set max_time=" not in message


def test_a_remedy_within_the_hour_suggests_the_hour_at_most() -> None:
    # A review: 3,030 s was called "longer than sampling may take", under the hour.
    res = result(Budget(100, "us", 99), Verdict.INCONCLUSIVE, needed_calls=60_000_000)
    assert "about 3,030 s at 50.5 µs per call; set max_time=3600" in verdict_message(res)


def test_verdict_message_inconclusive_at_sample_cap() -> None:
    res = result(Budget(100, "us", 99), Verdict.INCONCLUSIVE, stop_reason="max_samples")
    message = verdict_message(res)
    assert "after 100 calls (sla_max_samples), the samples cannot tell" in message
    assert "raise sla_max_samples (or max_samples= on this marker) to sample longer" in message
    assert "after 3.00 s" not in message
    # A trial: p99.9 capped at 2,000 calls, which could never pass, was told only to raise
    # the cap; the sampler's projection at the cap says how far.
    capped = result(
        Budget(100, "us", 99.9),
        Verdict.INCONCLUSIVE,
        stop_reason="max_samples",
        max_samples=100,
        needed_calls=6_157,
    )
    assert "raise sla_max_samples (or max_samples= on this marker) to 6,157 or more" in (
        verdict_message(capped)
    )


def test_the_calls_past_the_cap_that_need_more_time_say_so() -> None:
    # A review: "raise sla_max_samples to N or more" where N calls would not fit in the
    # time limit either: raising the cap alone would stop at the limit instead.
    from pytest_latency_sla.limits import Cut

    def capped(needed: int, cut_by: Cut | None = None) -> str:
        return verdict_message(
            result(
                Budget(100, "us", 99.9),
                Verdict.INCONCLUSIVE,
                stop_reason="max_samples",
                max_samples=100,
                needed_calls=needed,
                limit_ns=60 * 10**9,
            ),
            cut_by=cut_by,
        )

    assert "to 6,157 or more; or set sla_inconclusive" in capped(6_157)  # 0.3 s: it fits
    assert (
        "raise sla_max_samples (or max_samples= on this marker) to 2,000,000 or more, and "
        "time_limit= to 130 or more (sampling may take 60.0 s now): 2,000,000 calls take "
        "about 101 s"
    ) in capped(2_000_000)
    assert "and time_limit= to 3700 or more (sampling" in capped(60_000_000)  # (3,030 s)
    # A review: rounded up past the most time_limit= may be (87,000 > 86,400 s).
    for too_many in (1_422_442_244, 2_000_000_000):
        assert f"to {too_many:,} or more; but {too_many:,} calls take about " in capped(too_many)
        assert "longer than sampling may take: give the budget room" in capped(too_many)
    # A review: where a timeout set the time sampling may take, time_limit= is no remedy.
    cut = Cut("pytest-timeout's 90 s timeout", cut=True, timeout_s=90.0)
    assert (
        "to 2,000,000 or more, and raise pytest-timeout's 90 s timeout, under which "
        "sampling may take 60.0 s: 2,000,000 calls take about 101 s"
    ) in capped(2_000_000, cut)


def test_the_sampler_stopped_at_its_cap_projects_the_calls_a_verdict_needs() -> None:
    from pytest_latency_sla.plan import SamplingPlan
    from pytest_latency_sla.sampling import sample

    plan = SamplingPlan(max_samples=2_000)
    capped = sample(lambda: None, plan, budget_ns=50_000_000, quantile=0.999)
    assert capped.stop_reason == "max_samples"
    assert capped.needed_calls is not None
    assert 6_151 <= capped.needed_calls < 7_000  # (6,151: none over the budget)


def test_verdict_message_out_of_reach_says_how_many_calls_and_which_percentile_fits() -> None:
    # 101x under budget at p99, but a pass needs more calls than fit in the time allowed.
    decision = Decision(None, 1.0, 1.0, 0.01 / 3, 100.0, 0.0, 1.0, reason="close")
    res = result(
        Budget(10, "ms", 99),
        Verdict.INCONCLUSIVE,
        stop_reason="max_time",
        needed_calls=613,
        limit_ns=60_000_000_000,
        decision=decision,
    )
    message = verdict_message(res, "warn")
    assert "margin 101x" in message
    assert (
        "after 3.00 s (sla_max_time), the samples cannot tell at 99% confidence whether the "
        "budget is met; p99 needs about 613 calls: about 31.0 ms at 50.5 µs per call; set "
        "max_time=1 on this marker, or judge p95 (about 120 calls)"
    ) in message
    assert "too few samples" not in message
    assert "sla_inconclusive" not in message  # already warn: no advice to set it


def _undecided_message(decision: Decision, needed: int | None) -> str:
    """The message of a p99 100 µs measurement left undecided at sla_max_time."""
    res = result(
        Budget(100, "us", 99),
        Verdict.INCONCLUSIVE,
        stop_reason="max_time",
        needed_calls=needed,
        decision=decision,
    )
    return verdict_message(res)


@pytest.mark.parametrize(
    ("reason", "share", "lost", "mentioned"),
    [
        ("dependent", 0.38, 0.2, True),
        ("close", 0.05, 0.05, True),
        ("close", 0.04, 0.2, False),
        # A trial: a 0.5 s model's every chunk caught a tick of the host's steal (86% of
        # calls "waited") on an idle machine, losing 1-2% of the time: not busy.
        ("close", 0.86, 0.02, False),
    ],
)
def test_an_undecided_message_names_a_busy_machine_whatever_else_kept_it_undecided(
    reason: str, share: float, lost: float, mentioned: bool
) -> None:
    decision = Decision(
        None,
        0.5,
        0.5,
        0.01 / 3,
        100.0,
        1.0,
        8.0,
        reason=reason,
        contended_share=share,
        lost_share=lost,
    )
    message = _undecided_message(decision, 5_000)
    busy = (
        f"the machine was busy meanwhile ({share:.0%} of calls waited for a CPU taken by other "
        "processes: a quieter runner helps); "
    )
    assert (busy in message) is mentioned
    if reason == "dependent":
        assert busy + "latency came in long bursts: " in message


@pytest.mark.parametrize("needed", [5_000, None])
def test_an_undecided_message_says_the_level_moved(needed: int | None) -> None:
    decision = Decision(None, 0.5, 0.5, 0.01 / 3, 900.0, 2.0, 1.5, reason="moved")
    message = _undecided_message(decision, needed)
    assert "the latency's level moved during the run: " in message
    assert "more than chance explains" in message
    assert "to see more of its moves" in message or needed is None
    assert message.count("budget room") == 1
    assert "independent" not in message  # not the bursts' sentence


@pytest.mark.parametrize(
    ("n_eff", "needed", "counted", "ending"),
    [
        (
            0.6,
            None,
            "about 1 independent one (dependence",
            "or raise max_time= on this marker "
            "(sla_max_time) to sample longer, to see more of the machine's slow and fast spells;",
        ),
        (
            7.2,
            5_000,
            "about 7 independent ones (dependence",
            "to see more of the machine's slow and fast spells, or judge p95 (about 1,680 "
            "calls), or give the budget room;",
        ),
    ],
)
def test_a_message_on_bursts_counts_the_independent_calls_and_advises_once(
    n_eff: float, needed: int | None, counted: str, ending: str
) -> None:
    decision = Decision(None, 1.0, 0.5, 0.01 / 3, n_eff, 0.5, 14.0, reason="dependent")
    message = _undecided_message(decision, needed)
    assert counted in message
    assert ending in message
    assert message.count("give the budget room") == 1


def _busy(needed: int | None) -> SlaResult:
    """Undecided at max_time on a busy machine (61% of calls waited for a CPU), with
    ``needed`` calls projected for a verdict."""
    decision = Decision(
        None, 1.0, 1.0, 0.01 / 3, 100.0, 1.0, 1.0, reason="busy", contended_share=0.61
    )
    return result(
        Budget(100, "us", 99),
        Verdict.INCONCLUSIVE,
        stop_reason="max_time",
        needed_calls=needed,
        decision=decision,
    )


def _no_projection(stop_reason: str) -> str:
    """The message of a p99 left undecided with no verdict projected, stopped so."""
    return verdict_message(
        result(
            Budget(1150, "us", 99),
            Verdict.INCONCLUSIVE,
            stop_reason=stop_reason,
            needed_calls=None,
            decision=Decision(None, 1.0, 1.0, 0.01 / 3, 100.0, 1.0, 1.0),
        )
    )


def test_no_verdict_within_the_time_limit_asks_for_the_limit_not_max_time() -> None:
    # A docs audit: past sla_max_time toward a verdict that then moved beyond the time
    # limit, with no projection left, the message said "no verdict in sight ... raise
    # max_time=", which changes nothing once sampling is past max_time.
    message = _no_projection("unreachable")
    assert (
        "p99 shows no verdict within the time limit at this margin: give the budget room, "
        "make the model faster, or raise time_limit= on this marker (sla_time_limit, "
    ) in message
    assert "raise max_time=" not in message
    assert "in sight" not in message
    assert (
        "p99 shows no verdict in sight at this margin: give the budget room, make the model "
        "faster, or raise max_time= on this marker (sla_max_time) to sample longer"
    ) in _no_projection("max_time")


def test_a_busy_machine_with_no_verdict_in_sight_is_not_blamed_on_the_margin() -> None:
    res = _busy(None)
    message = verdict_message(res)
    assert (
        "the machine was busy: 61% of calls waited for a CPU taken by other processes, and "
        "only that wait stood between the samples and a verdict (after 3.00 s "
        "(sla_max_time)); rerun on a quieter runner, or raise max_time= on this marker "
        "(sla_max_time) to sample longer"
    ) in message
    assert "no verdict in sight" not in message
    # Cut short by a timeout around the test, a longer max_time would be cut the same.
    from pytest_latency_sla.limits import Cut

    cut = verdict_message(res, cut_by=Cut("pytest-timeout's 25 s timeout", 2, "the advisor"))
    assert (
        "(after 3.00 s, cut short to end before pytest-timeout's 25 s timeout, with time kept "
        "for the advisor); rerun on a quieter runner, or raise pytest-timeout's 25 s timeout, "
        "which cut the sampling short"
    ) in cut


def test_a_busy_machine_is_not_told_to_sample_for_an_hour() -> None:
    # A trial: "rerun on a quieter runner, or sample longer: ... set max_time=3600" on a
    # busy runner with a slow model.
    from pytest_latency_sla.messages import BUSY_WAIT_S

    res = _busy(None)
    per_call = res.mean
    for seconds, offered in ((BUSY_WAIT_S / 2, True), (BUSY_WAIT_S * 3, False)):
        needed = res.samples + round(seconds / per_call)  # (those beyond the calls made)
        sampling = dataclasses.replace(res.sampling, needed_calls=needed)
        message = verdict_message(dataclasses.replace(res, sampling=sampling))
        assert ("or sample longer: p99 needs about" in message) == offered, message
        assert ("; set max_time=" in message) == offered
        assert (
            f"rerun on a quieter runner (sampling on here would take about {seconds / 60:.0f} min)"
            in message
        ) == (not offered)


def test_the_wait_a_busy_machine_is_told_of_is_for_the_calls_still_to_come() -> None:
    # A review: it counted every call a verdict needs, those already made too.
    import numpy as np

    res = _busy(None)
    made = np.full(4_000, 100_000_000, dtype=np.int64)  # 400 s of 100 ms calls made
    sampling = dataclasses.replace(res.sampling, samples_ns=made, needed_calls=7_000)
    message = verdict_message(dataclasses.replace(res, sampling=sampling))
    assert "or sample longer: p99 needs about 7,000 calls" in message  # 300 s more
    assert "sampling on here" not in message


def test_a_busy_machine_stopped_by_the_cap_on_calls_is_told_to_raise_that() -> None:
    # A new user's trial: a p100 budget stopped at 1,000,000 calls on a busy machine was
    # told to raise max_time=, which changes nothing; and 0.19% of calls read "0%".
    res = _busy(None)
    assert res.sampling.decision is not None
    decision = dataclasses.replace(res.sampling.decision, contended_share=0.0019)
    sampling = dataclasses.replace(res.sampling, stop_reason="max_samples", decision=decision)
    message = verdict_message(dataclasses.replace(res, sampling=sampling))
    assert (
        "the machine was busy: 0.19% of calls waited for a CPU taken by other processes"
    ) in message
    assert (
        "; rerun on a quieter runner, or raise sla_max_samples (or max_samples= on this "
        "marker) to sample longer"
    ) in message
    assert "max_time" not in message


def test_a_busy_machine_with_a_verdict_in_sight_says_to_sample_longer() -> None:
    # A trial: "rerun on a quieter runner, or p99 needs about 4,140 calls: ..." read garbled.
    assert (
        "; rerun on a quieter runner, or sample longer: p99 needs about 4,140 calls: about "
    ) in verdict_message(_busy(4_140))
    # More than max_time= may be: not "or sample longer" (a review).
    assert (
        "; rerun on a quieter runner; p99 needs about 3,000,000,000 calls: about 42 h at "
    ) in verdict_message(_busy(3_000_000_000))


def test_verdict_message_when_the_projection_moved_out_of_reach() -> None:
    res = result(
        Budget(100, "us", 99),
        Verdict.INCONCLUSIVE,
        stop_reason="unreachable",
        needed_calls=2_000_000,
        limit_ns=45_000_000_000,
    )
    message = verdict_message(res)
    assert (
        "after 3.00 s, past sla_max_time toward a verdict that then moved beyond the time "
        "limit (45.0 s)"
    ) in message


def test_verdict_message_for_an_isolated_test_says_to_raise_the_timeout_too() -> None:
    subject = dataclasses.replace(_SUBJECT, isolated=True)
    res = SlaResult(
        subject=subject,
        budget=Budget(100, "us", 99),
        verdict=Verdict.INCONCLUSIVE,
        sampling=sampling(_ONE_TO_HUNDRED_US, stop_reason="max_time", needed_calls=2_000_000),
    )
    assert "set max_time=130 on this marker and sla_timeout above 190 (it is isolated)" in (
        verdict_message(res)
    )


@pytest.mark.parametrize(
    ("budget", "verdict"),
    [(None, None), (Budget(1, "ms", 99), None), (None, Verdict.PASS)],
)
def test_verdict_message_needs_a_verdict(budget: Budget | None, verdict: Verdict | None) -> None:
    with pytest.raises(ValueError, match="no verdict"):
        verdict_message(result(budget, verdict))


def test_table_marks_disabled_measurements() -> None:
    disabled = record("test_d", None)
    disabled["stop_reason"] = "disabled"
    lines = terminal.table([disabled, record("test_nb", None)])
    rows = {line.split()[0]: line for line in lines[2:]}
    assert "disabled" in rows["test_d"]
    assert "disabled" not in rows["test_nb"]


def test_time_line_only_when_measuring_took_long_or_went_past_max_time() -> None:
    quick = record("test_q", 50.0)
    assert labels.time_line([quick], 20.0) == ""
    slow = record("test_s", 2.0)
    slow["duration_s"] = 48.2
    slow["warmup_s"] = 1.0
    assert labels.time_line([quick, slow], 20.0) == (
        f"measuring took {fmt.duration(quick['warmup_s'] + quick['duration_s'] + 49.2)} over 2 "
        "measurements; 1 went past sla_max_time (20.0 s), the longest 48.2 s"
    )
    many = [record(f"test_{i}", None) for i in range(7)]
    for entry in many:
        entry["duration_s"] = 10.0
        entry["warmup_s"] = 0.0
    assert labels.time_line(many, 20.0) == "measuring took 70.0 s over 7 measurements"
    # Side by side with a base revision, counted too (a trial: a third of the run's time).
    from pytest_latency_sla.revision import not_compared

    for entry in many[:2]:
        measured = not_compared("main", "changed", None)
        measured["duration_s"] = 21.0
        entry["revision"] = measured
    many[2]["revision"] = not_compared("main", "unchanged", None)  # not measured: no time
    assert labels.time_line(many, 20.0) == (
        "measuring took 112 s over 7 measurements (42.0 s of it side by side with main)"
    )
    # A trial: the attempts a rerun plugin replaced were left out of the time.
    first = record("test_0", 2.0)
    first["duration_s"], first["warmup_s"] = 20.0, 0.5
    assert labels.time_line(many, 20.0, [first, first]) == (
        "measuring took 153 s over 7 measurements and 2 a rerun replaced (42.0 s of it side "
        "by side with main, 41.0 s of it in those 2)"
    )


def test_time_line_reads_each_measurements_own_max_time() -> None:
    # A marker's max_time=60 let this one run 48.2 s: it did not go past its max_time.
    own = record("test_own", 2.0)
    own["duration_s"] = 48.2
    own["warmup_s"] = 0.0
    own["max_time_s"] = 60.0
    assert labels.time_line([own], 20.0) == ""
    # A timeout's cut (8 s) and a marker's (30 s): both named, not the setting.
    cut = record("test_cut", 2.0)
    cut["duration_s"] = 9.5
    cut["warmup_s"] = 0.0
    cut["max_time_s"] = 8.0
    longer = record("test_long", 2.0)
    longer["duration_s"] = 40.0
    longer["warmup_s"] = 0.0
    longer["max_time_s"] = 30.0
    assert labels.time_line([own, cut, longer], 20.0) == (
        "measuring took 97.7 s over 3 measurements; 2 went past their max_time "
        "(8.00 s, 30.0 s), the longest 40.0 s"
    )
    # Stopped at its max_time, a chunk over it (5.01 s of 5 s): not past it (a trial).
    stopped = record("test_stopped", 2.0)
    stopped["duration_s"], stopped["warmup_s"], stopped["max_time_s"] = 5.01, 0.0, 5.0
    stopped["stop_reason"] = "max_time"
    assert labels.time_line([stopped], 20.0) == ""
    # Nor one without a budget at its cap (a new user's trial: "3 went past sla_max_time
    # (20.0 s), the longest 20.0 s" for three that stopped there, 7-50 ms over).
    unjudged = record("test_unjudged", None)
    unjudged["duration_s"], unjudged["warmup_s"], unjudged["max_time_s"] = 20.05, 0.0, 20.0
    unjudged["stop_reason"] = "measured"
    assert "went past" not in labels.time_line([unjudged], 20.0)
    stopped["duration_s"] = 30.0  # one 30 s call under max_time=5: past it, and said so
    assert "1 went past its max_time (5.00 s), the longest 30.0 s" in labels.time_line(
        [stopped], 20.0
    )
    # Decided at the look its max_time called for, 6 ms on: not past it either (a trial:
    # "1 went past sla_max_time (1.00 s), the longest 1.01 s").
    decided = record("test_decided", 2.0)
    decided["duration_s"], decided["warmup_s"], decided["max_time_s"] = 1.006, 0.0, 1.0
    assert labels.time_line([decided], 1.0) == ""
    # A stop at the time limit, 0.9 s past a 20 s max_time, went past it (a review).
    limited = record("test_limited", 2.0)
    limited["duration_s"], limited["warmup_s"], limited["max_time_s"] = 20.9, 0.0, 20.0
    limited["stop_reason"] = "time_limit"
    assert labels.time_line([limited], 20.0).endswith(
        "1 went past sla_max_time (20.0 s), the longest 20.9 s"
    )
    # A record written before the field: the setting, as before.
    del longer["max_time_s"]
    assert labels.time_line([longer], 20.0).endswith(
        "1 went past sla_max_time (20.0 s), the longest 40.0 s"
    )


def test_revision_text_shows_both_sides_and_when_sampling_ran_out_of_time() -> None:
    from pytest_latency_sla.revision import not_compared

    entry = not_compared("main", "changed", "cd" * 32)
    entry["outcome"] = "regression"
    entry["blocks"] = 400
    entry["duration_s"] = 60.2
    entry["stop_reason"] = "time_limit"
    entry["percentile"] = 99.0
    entry["p50_ratio"] = [1.14, 1.08, 1.21]
    entry["percentile_ratio"] = [1.2, 1.0, 1.4]
    entry["detectable"] = 0.06
    revision_text = revisionlabels.revision_text
    assert revision_text(entry) == (
        "against main: p50 1.14x (1.08-1.21); p99 1.20x (1.00-1.40): regression; this run "
        "could tell a change of 6%; unsettled after 60.2 s (time_limit)"
    )
    entry["base_p50_s"], entry["head_p50_s"] = 102e-6, 116e-6
    entry["base_percentile_s"], entry["head_percentile_s"] = 140e-6, 168e-6
    assert revision_text(entry).startswith(
        "against main: p50 102 µs -> 116 µs, 1.14x (1.08-1.21); p99 140 µs -> 168 µs, "
        "1.20x (1.00-1.40): regression;"
    )
    entry["stop_reason"] = "decided"
    assert revision_text(entry).endswith("could tell a change of 6%")
    # A model too slow for 3 blocks side by side has no ratio (a review: "nanx (0.00-inf)").
    entry["p50_ratio"] = entry["percentile_ratio"] = entry["detectable"] = None
    entry["outcome"], entry["stop_reason"], entry["blocks"] = "unknown", "max_time", 2
    entry["base_p50_s"], entry["head_p50_s"] = 6.0, 6.6
    assert revision_text(entry).startswith(
        "against main: p50 6.00 s -> 6.60 s, no ratio (too few blocks side by side); p99 "
    )
    assert revision_text(entry).endswith(": unknown; unsettled after 60.2 s (max_time)")


@pytest.mark.parametrize(
    ("value", "unit", "seconds"), [(20, "us", 2e-05), (50, "ms", 0.05), (0.3, "ms", 0.0003)]
)
def test_a_budget_in_seconds_reads_as_written(value: float, unit: str, seconds: float) -> None:
    # JUnit properties and JSON show it: 20 µs is 2e-05 s, not 1.9999999999999998e-05.
    assert repr(Budget(value, unit, 99).seconds) == repr(seconds)


def test_the_summary_counts_the_comparisons_with_the_base_revision() -> None:
    from pytest_latency_sla.revision import not_compared

    slower, same, moved = (record(f"test_{i}", 30.0) for i in range(3))
    slower["revision"] = {**not_compared("main", "changed"), "outcome": "regression"}
    same["revision"] = not_compared("main", "unchanged")
    moved["revision"] = not_compared("main", "new")  # renamed, say: nothing was compared
    slower["outcome"] = "failed"  # by the gate
    line = labels.summary_line([slower, same, moved], headroom=10.0)
    assert line.endswith(
        "; against main: 1 regression, 1 model identical at main (same bytes: not measured "
        "again), 1 new (no such model at main: not compared)"
    )
    # A test failed (here by the gate): no "further optimization buys nothing".
    assert "buys nothing" not in line
    slower["outcome"] = "passed"
    assert "buys nothing" in labels.summary_line([slower, same, moved], headroom=10.0)
    again = record("test_again", 30.0)
    again["revision"] = not_compared("main", "unchanged")
    line = labels.summary_line([same, again], headroom=10.0)
    assert line.endswith(
        "; against main: 2 models identical at main (same bytes: not measured again)"
    )
    # Beside one measured and unchanged, the two read apart.
    alike = record("test_alike", 30.0)
    alike["revision"] = {**not_compared("main", "changed"), "outcome": "unchanged"}
    line = labels.summary_line([alike, same], headroom=10.0)
    assert line.endswith(
        "; against main: 1 unchanged, 1 model identical at main (same bytes: not measured again)"
    )


def test_a_failed_regression_gate_heads_the_reports() -> None:
    from test_html_report import _document

    from pytest_latency_sla.report.markdown import render

    slower = _regressed(record("test_slower", 3.0))
    assert labels.run_status([slower]) == "regression"  # within the gate, or none
    slower["outcome"] = "failed"  # the gate failed its test
    assert labels.run_status([slower]) == "gate"
    assert labels.STATUS_TEXT["gate"] == "slower than the regression gate allows"
    document = _document([slower])
    assert document["totals"]["failed_regressions"] == 1
    assert "❌ **slower than the regression gate allows**" in render(document)


def test_a_test_that_failed_with_every_budget_met_heads_the_reports() -> None:
    # An assertion after measuring, the cold_ms= check, a comparison that could not be
    # made: the tests are red, so the reports must not read "SLA met".
    from test_html_report import _document

    from pytest_latency_sla.report.markdown import render

    first, second, third = (record(f"test_{n}", 3.0) for n in ("a", "b", "c"))
    assert labels.run_status([first, second, third]) == "met"
    first["outcome"] = second["outcome"] = third["outcome"] = "failed"
    assert labels.run_status([first, second, third]) == "failed"
    line = labels.summary_line([first, second, third], headroom=10.0)
    assert "3 tests failed with no budget missed (test_a, test_b and 1 more)" in line
    assert "buys nothing" not in line
    document = _document([first, second])
    assert document["totals"]["failed_tests"] == 2
    assert "❌ **no budget missed, but SLA tests failed**" in render(document)
    # A failure the records explain (a missed budget, one of the test's measurements,
    # too close to call, a cold start, the regression gate) is not counted again.
    missed = record("test_a", 0.5)
    missed["outcome"] = "failed"
    assert failed_anyway([first, missed, second]) == ["test_b"]
    assert labels.run_status([first, missed]) == "fail"
    unsure = record("test_b", 3.0)
    unsure["verdict"], unsure["outcome"] = "inconclusive", "failed"
    slower = _regressed(record("test_c", 3.0))
    slower["outcome"] = "failed"
    assert failed_anyway([unsure, slower]) == []
    # Under sla_inconclusive = warn (or pass) an inconclusive verdict fails no test: an
    # assertion after it did.
    assert failed_anyway([unsure, slower], inconclusive_fails=False) == ["test_b"]
    line = labels.summary_line([unsure], headroom=10.0, inconclusive_fails=False)
    assert "1 test failed with no budget missed (test_b)" in line
    warned = _document([unsure])
    warned["run"]["settings"]["inconclusive"] = "warn"
    rebuilt = build_document(warned["results"], warned["run"], "0")
    assert rebuilt["totals"]["failed_tests"] == 1
    assert labels.run_status(rebuilt["totals"]) == "failed"


def test_a_mismatched_baseline_says_why_under_the_table() -> None:
    from test_html_report import _document

    from pytest_latency_sla.report import markdown

    mismatched = _regressed(record("test_x", 3.0))
    assert mismatched["comparison"] is not None
    mismatched["comparison"]["status"] = "mismatch"
    mismatched["comparison"]["mismatch"] = ["cpu_model 'AMD EPYC' -> 'Intel Xeon'"]
    said = (
        "baseline recorded under another configuration (cpu_model 'AMD EPYC' -> 'Intel "
        "Xeon'): not judged; re-record it with --sla-save on this one"
    )
    assert labels.mismatch_text(mismatched) == said
    assert f"sla: {mismatched['label']}: {said}" in terminal.notes([mismatched])
    assert said in markdown.render(_document([mismatched]))
    assert labels.mismatch_text(_regressed(record("test_y", 3.0))) is None


def test_the_baselines_unmatched_measurements_name_at_most_five() -> None:
    from pytest_latency_sla.report.document import unmatched_line

    missing = [f"t.py::test_{n}" for n in range(7)]
    line = unmatched_line({"baseline_unmatched": missing})
    assert line.startswith("7 measurements of the baseline were not made in this run")
    assert line.endswith(": t.py::test_0, t.py::test_1, t.py::test_2, t.py::test_3, "
                         "t.py::test_4 and 2 more")  # fmt: skip
    assert unmatched_line({"baseline_unmatched": []}) == ""
    assert unmatched_line({}) == ""


@pytest.mark.parametrize(
    ("label", "span"),
    [
        ("t.py::test_x[a`b]", "``t.py::test_x[a`b]``"),
        ("t.py::test_x[``]", "```t.py::test_x[``]```"),
        ("t.py::test_x[a|b]", "`t.py::test_x[a\\|b]`"),
        # A review: a code span shows backslashes as written; doubled, they showed twice.
        ("t.py::test_x[caf\\xe9]", "`t.py::test_x[caf\\xe9]`"),
    ],
)
def test_a_label_with_backticks_stays_one_code_span(label: str, span: str) -> None:
    from test_html_report import _document

    from pytest_latency_sla.report.markdown import render

    entry = record("test_x", 3.0)
    entry["label"] = label
    assert f"| {span} |" in render(_document([entry]))


def test_an_xfail_tests_results_are_counted_apart_whatever_their_verdict() -> None:
    # A review: an inconclusive or cold-start miss of an xfail test still made the run
    # read "SLA inconclusive" or "SLA missed" where pytest passed it.
    from pytest_latency_sla.report.document import totals

    unsure, cold, met = record("test_u", 3.0), record("test_c", 3.0), record("test_m", 3.0)
    unsure["verdict"] = "inconclusive"
    cold["cold"] = {"verdict": "fail"}  # type: ignore[typeddict-item]
    for entry in (unsure, cold):
        entry["outcome"] = "xfailed"
    counts = totals([unsure, cold, met])
    assert (counts["inconclusive"], counts["cold_fail"], counts["xfailed"]) == (0, 0, 2)
    assert counts["pass"] == 1
    assert labels.run_status(counts) == "met"
    line = labels.summary_line([unsure, cold, met], 10.0)
    assert line.startswith("3 SLA measurements: 1 pass, 2 xfailed; tightest margin ")
    assert "cold start" not in line  # (its miss was expected)
    assert counts["tightest_label"] == "test_m"
    assert labels.verdict_label(cold) == "pass, cold miss (xfailed)"


def test_the_tracer_is_named_in_an_inconclusive_message_and_not_when_disabled() -> None:
    from pytest_latency_sla.report.document import tracer_text

    res = _undecided_at_max_time()
    traced = dataclasses.replace(res, subject=dataclasses.replace(res.subject, tracer="T"))
    message = verdict_message(traced)
    assert message.startswith("SLA inconclusive: ")
    assert "confidence); timed under a Python tracer (T), which slows Python code" in message
    rec = traced.to_record("t.py::test")
    assert tracer_text(rec).startswith("timed under a Python tracer (T)")
    # --sla-disable timed nothing: a coverage job is not told to drop coverage (a review).
    rec["stop_reason"] = "disabled"
    assert tracer_text(rec) == ""


def test_a_lower_percentile_is_suggested_only_with_the_time_its_calls_take() -> None:
    # A trial: a 0.5 s model stopped at 20 s (40 calls, all within a 5 s p99 budget) was
    # told "or judge p95 (about 120 calls)", which took 60 s and ended inconclusive
    # again. p95's 120 calls (72 s with room) do not fit the 60 s limit; p90's 59 do,
    # with the max_time they take.
    decision = Decision(None, 0.5, 1.0, 0.01 / 3, 40.0, 0.0, 1.0, reason="close")
    res = result(
        Budget(5000, "ms", 99),
        Verdict.INCONCLUSIVE,
        [500 * 1_000_000] * 40,
        stop_reason="max_time",
        needed_calls=613,
        decision=decision,
        duration_ns=20 * 10**9,
        max_time_ns=20 * 10**9,
        limit_ns=60 * 10**9,
    )
    message = verdict_message(res)
    assert "p99 needs about 613 calls: about 306 s at 500 ms per call; set max_time=370" in (
        message
    )
    assert "or judge p90 (about 59 calls) with max_time=36" in message


def test_a_spent_sla_run_time_is_named_where_it_kept_sampling_at_max_time() -> None:
    # A trial: with sla_run_time spent, a 40 ms model stopped at 20 s, told only to
    # raise max_time=, though without the cap it went on to pass at 22 s.
    from pytest_latency_sla.limits import fit
    from pytest_latency_sla.plan import SamplingPlan

    fitted = fit(SamplingPlan(), None, run_time_left_ns=0, now_ns=0)
    assert fitted.plan.limit_ns == fitted.plan.max_time_ns
    res = _undecided_at_max_time()
    res = dataclasses.replace(
        res, sampling=dataclasses.replace(res.sampling, limit_ns=res.sampling.max_time_ns)
    )
    message = verdict_message(res, cut_by=fitted.cut_by)
    assert (
        "after 3.00 s (sla_max_time; no sampling past it: sla_run_time (the session's "
        "measuring time, spent by earlier tests)), the samples" in message
    )


def _bursts_message(needed: int, n_eff: float, dependence: float) -> str:
    """The message of a p99 100 µs measurement (3% of calls at 200 µs) left undecided at
    sla_max_time by bursts, ``needed`` calls projected for a verdict."""
    decision = Decision(None, 1.0, 0.5, 0.01 / 3, n_eff, 0.5, dependence, reason="dependent")
    res = result(
        Budget(100, "us", 99),
        Verdict.INCONCLUSIVE,
        [1_000] * 9_000 + [200_000] * 300,
        stop_reason="max_time",
        needed_calls=needed,
        decision=decision,
    )
    return verdict_message(res)


def test_a_message_on_bursts_says_sampling_longer_sees_more_spells_not_a_lower_percentile() -> None:
    # A trial: "... or judge p90 (about 56,165 calls), to see more of the machine's slow
    # and fast spells" read as if a lower percentile saw more of them.
    message = _bursts_message(needed=5_000_000, n_eff=7.2, dependence=14.0)
    assert "on this marker, to see more of the machine's slow and fast spells, or judge p9" in (
        message
    )


def test_a_message_on_bursts_tells_no_longer_sampling_where_none_may_come() -> None:
    # A new user's trial: "... longer than sampling may take (max_time= is at most 1 h):
    # give the budget room, or make the model faster, to see more of the machine's slow
    # and fast spells, or judge p95 ..." (the clause went with no remedy that samples).
    message = _bursts_message(needed=5_000_000_000, n_eff=0.5, dependence=1_030.0)
    assert "longer than sampling may take" in message
    assert "slow and fast spells" not in message


def test_a_failed_tests_row_reads_headroom_not_stop_optimizing() -> None:
    """A trial: a test that failed its cold start (or a sweep size, or a gate) with a
    14.5x steady margin read "stop optimizing" in its row, beside the failure."""
    from pytest_latency_sla.report.labels import band_label

    row = record("t.py::test_x", 14.5)
    assert row["band"] == "headroom"
    assert band_label(row) == "stop optimizing"
    failed: dict[str, Any] = {**row, "outcome": "failed"}
    assert band_label(failed) == "headroom"  # type: ignore[arg-type]
    cold: dict[str, Any] = {**row, "cold": {"verdict": "fail"}}
    assert band_label(cold) == "headroom"  # type: ignore[arg-type]
    assert band_label(record("t.py::test_y", None)) == "-"


def test_remedies_that_hold_commas_are_joined_whole() -> None:
    # A trial: "rerun on a quieter machine, raise pytest-timeout's 8 s timeout, or which
    # cut the sampling short": the "or" went before the last comma of the last remedy.
    from pytest_latency_sla.messages import _or_last

    cut = "raise pytest-timeout's 8 s timeout, which cut the sampling short"
    assert _or_last(["rerun on a quieter machine", cut]) == (
        f"rerun on a quieter machine, or {cut}"
    )
    assert _or_last(["a", "b", "c"]) == "a, b, or c"
    assert _or_last(["a"]) == "a"


def test_callables_the_capacity_setting_left_unsearched_are_named() -> None:
    from pytest_latency_sla.report.document import unsearched_line

    first, second, model = (
        record("t.py::test_a", 1.0),
        record("t.py::test_b", 1.0),
        record("t.py::test_m", 1.0),
    )
    first["kind"] = second["kind"] = "callable"
    model["kind"] = "onnx"
    on = {"settings": {"capacity": True}}
    assert unsearched_line(on, [first, second, model]) == (
        "sla_capacity searched no capacity for 2 callables measured one call at a time "
        "(t.py::test_a, ...): a callable is searched only when its marker has rps= or "
        "capacity=True (it is not known to be safe to call from threads)"
    )
    assert unsearched_line(on, [model]) == ""
    # Once per test (--dist each measures it in every worker); none under --sla-disable.
    again = first.copy()
    assert unsearched_line(on, [first, again]).startswith(
        "sla_capacity searched no capacity for 1 callable "
    )
    # A callable with no budget has no rate to search for: not named.
    unbudgeted = first.copy()
    unbudgeted["budget_s"] = None
    assert unsearched_line(on, [unbudgeted]) == ""
    first["stop_reason"] = "disabled"
    assert unsearched_line(on, [first]) == ""
    assert unsearched_line({"settings": {"capacity": False}}, [first]) == ""
