"""``python -m pytest_latency_sla merge``: the JSON reports of CI shards as one report."""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support import FAST, load_report, make_special
from test_report import record

from pytest_latency_sla import __version__
from pytest_latency_sla.cli import main
from pytest_latency_sla.merge import MergeError, _exit_status, load_shard, merge_runs
from pytest_latency_sla.report.document import build_document
from pytest_latency_sla.report.files import render_json
from pytest_latency_sla.schema import Run

ENVIRONMENT = {
    "python": "3.11.7",
    "implementation": "CPython",
    "os": "Linux",
    "platform": "Linux-6.1-x86_64-with-glibc2.36",
    "machine": "x86_64",
    "cpu_model": "AMD EPYC 7763 64-Core Processor",
    "cpu_count": 2,
    "load_avg_1m": 0.4,
    "packages": {"pytest": "9.2.0", "numpy": "2.4.6", "onnxruntime": "1.32.0"},
}


def shard(
    folder: Path,
    name: str,
    margins: dict[str, float],
    *,
    started_at: str = "2026-12-02T10:00:00Z",
    duration_s: float = 60.0,
    exit_status: int = 0,
    environment: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
    outcome: str = "passed",
    unmatched: list[str] | None = None,
    interrupted: bool = False,
    xdist: tuple[int, str] | None = None,
) -> str:
    """Write a shard's JSON report (as a pytest run writes it) and return its name."""
    records = []
    for nodeid, margin in margins.items():
        entry = record(nodeid, margin)
        entry["outcome"] = outcome
        records.append(entry)
    run = Run(
        started_at=started_at,
        duration_s=duration_s,
        interrupted=interrupted,
        exit_status=exit_status,
        environment=copy.deepcopy(environment or ENVIRONMENT),  # type: ignore[typeddict-item]
        settings={"confidence": 0.99, "headroom": 10.0, "report": [f"json:{name}"]}
        | (settings or {}),
        baseline=None,
        xdist_workers=xdist[0] if xdist else None,
        xdist_mode=xdist[1] if xdist else None,
        merged_from=None,
        setting_units={"confidence": "fraction", "headroom": "x"},
    )
    if unmatched is not None:
        run["baseline_unmatched"] = unmatched
    (folder / name).write_text(render_json(build_document(records, run, __version__)), "utf-8")
    return name


def merge(folder: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.chdir(folder)
    return main(["merge", *args])


def test_two_shards_make_one_report_tightest_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shard(tmp_path, "a.json", {"t.py::test_a": 40.0, "t.py::test_b": 3.0})
    shard(
        tmp_path,
        "b.json",
        {"u.py::test_c": 1.2},
        started_at="2026-12-02T10:00:30Z",
        duration_s=90.0,
    )
    status = merge(tmp_path, monkeypatch, "a.json", "b.json", "--sla-report=json:all.json")
    assert status == 0
    document = load_report(tmp_path / "all.json")  # valid against the schema
    assert [r["nodeid"] for r in document["results"]] == [
        "u.py::test_c",
        "t.py::test_b",
        "t.py::test_a",
    ]
    assert document["totals"]["measurements"] == 3
    assert document["totals"]["tightest_label"] == "u.py::test_c"
    run = document["run"]
    # From the first start to the last end.
    assert run["started_at"] == "2026-12-02T10:00:00Z"
    assert run["duration_s"] == pytest.approx(120.0)
    assert [(s["path"], s["measurements"]) for s in run["merged_from"]] == [
        ("a.json", 2),
        ("b.json", 1),
    ]
    assert all(s["differences"] == [] for s in run["merged_from"])
    assert run["setting_units"] == {"confidence": "fraction", "headroom": "x"}
    assert f"sla: json report written to {tmp_path / 'all.json'}" in capsys.readouterr().out


def test_the_terminal_table_is_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shard(tmp_path, "a.json", {"t.py::test_a": 40.0})
    shard(tmp_path, "b.json", {"u.py::test_c": 1.2})
    assert merge(tmp_path, monkeypatch, "a.json", "b.json") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "sla: merged from 2 shard reports (a.json, b.json)"
    assert out[1].split()[:3] == ["test", "budget", "measured"]
    assert out[3].startswith("u.py::test_c ")
    assert out[-1] == "sla: 2 SLA measurements: 2 pass; tightest margin 1.20x (u.py::test_c)"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.json"]  # no files


def test_markdown_and_html_say_the_report_is_merged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shard(tmp_path, "a.json", {"t.py::test_a": 40.0})
    shard(tmp_path, "b.json", {"u.py::test_c": 1.2})
    args = ("a.json", "b.json", "--sla-report=md:m.md", "--sla-report=html:site/", "-q")
    assert merge(tmp_path, monkeypatch, *args) == 0
    markdown = (tmp_path / "m.md").read_text("utf-8")
    assert "> Merged from 2 shard reports (a.json, b.json).\n" in markdown
    assert "| `u.py::test_c` |" in markdown
    html = (tmp_path / "site" / "index.html").read_text("utf-8")
    assert "Merged from 2 shard reports (a.json, b.json)." in html


def test_shards_run_apart_under_xdist_are_said_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A trial: a shard without xdist and one with -n 2 read "SLA tests ran one at a time,
    # alone, across 2 xdist workers", as if both had.
    shard(tmp_path, "a.json", {"t.py::test_a": 40.0})
    shard(tmp_path, "b.json", {"u.py::test_c": 1.2}, xdist=(2, "serial"))
    args = ("a.json", "b.json", "--sla-report=md:m.md", "--sla-report=json:all.json", "-q")
    assert merge(tmp_path, monkeypatch, *args) == 0
    shards = load_report(tmp_path / "all.json")["run"]["merged_from"]  # schema-checked
    assert [(s["xdist_workers"], s["xdist_mode"]) for s in shards] == [(None, None), (2, "serial")]
    markdown = (tmp_path / "m.md").read_text("utf-8")
    assert (
        "SLA tests ran without xdist in 1 of 2 shards; one at a time, alone, across 2 xdist "
        "workers in 1 of 2 shards"
    ) in markdown
    # Alike, as one run would say it.
    shard(tmp_path, "c.json", {"v.py::test_d": 9.0}, xdist=(2, "serial"))
    assert merge(tmp_path, monkeypatch, "b.json", "c.json", "--sla-report=md:n.md", "-q") == 0
    assert "across 2 xdist workers.\n" in (tmp_path / "n.md").read_text("utf-8")


def test_markdown_without_a_path_goes_to_the_step_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", "utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    shard(tmp_path, "a.json", {"t.py::test_a": 40.0})
    assert merge(tmp_path, monkeypatch, "a.json", "--sla-report=md") == 0
    text = summary.read_text("utf-8")
    assert text.startswith("earlier step\n\n## pytest-latency-sla: ")


def test_a_failed_test_in_a_shard_fails_the_merge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shard(tmp_path, "a.json", {"t.py::test_a": 40.0})
    shard(tmp_path, "b.json", {"u.py::test_c": 0.8}, exit_status=1, outcome="failed")
    assert merge(tmp_path, monkeypatch, "a.json", "b.json", "--sla-report=json:m.json") == 1
    document = load_report(tmp_path / "m.json")
    assert document["run"]["exit_status"] == 1
    assert document["totals"]["fail"] == 1


@pytest.mark.parametrize(
    ("statuses", "merged"),
    [
        ([0, 0], 0),
        ([0, 5], 0),  # a shard that collected nothing is not a failure
        ([5, 5], 5),
        ([0, 1], 1),
        ([2, 1, 0], 2),
        ([3, 5], 3),
    ],
)
def test_exit_status_is_the_worst_shards(statuses: list[int], merged: int) -> None:
    assert _exit_status(statuses) == merged


def test_a_measurement_in_two_shards_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shard(tmp_path, "a.json", {"t.py::test_a": 40.0})
    shard(tmp_path, "b.json", {"t.py::test_a": 30.0})
    assert merge(tmp_path, monkeypatch, "a.json", "b.json", "--sla-report=md:m.md") == 2
    assert capsys.readouterr().err == (
        "python -m pytest_latency_sla: error: t.py::test_a is in both 'a.json' and "
        "'b.json': shards must measure different tests; pass each shard's report once\n"
    )
    assert not (tmp_path / "m.md").exists()


def test_a_report_of_dist_each_is_refused_saying_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A review: it read "is in both 'r.json' and 'r.json'".
    shard(tmp_path, "r.json", {"t.py::test_a": 40.0})
    document = json.loads((tmp_path / "r.json").read_text("utf-8"))
    document["results"].append(dict(document["results"][0], label="t.py::test_a [gw1]"))
    (tmp_path / "r.json").write_text(json.dumps(document), "utf-8")
    assert merge(tmp_path, monkeypatch, "r.json", "--sla-report=md:m.md") == 2
    assert "'r.json' holds t.py::test_a (measurement 1) more than once: a report of a run " in (
        capsys.readouterr().err
    )
    # The same report given twice is still named as such.
    shard(tmp_path, "a.json", {"t.py::test_a": 40.0})
    assert merge(tmp_path, monkeypatch, "a.json", "a.json", "--sla-report=md:m.md") == 2
    assert "pass each shard's report once" in capsys.readouterr().err


def test_shards_from_different_machines_are_refused_unless_allowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    other = copy.deepcopy(ENVIRONMENT)
    other["cpu_model"] = "Intel(R) Xeon(R) Platinum 8370C CPU @ 2.80GHz"
    other["packages"] = {**ENVIRONMENT["packages"], "onnxruntime": "1.31.0"}  # type: ignore[dict-item]
    shard(tmp_path, "a.json", {"t.py::test_a": 40.0})
    shard(tmp_path, "b.json", {"u.py::test_c": 1.2}, environment=other)
    assert merge(tmp_path, monkeypatch, "a.json", "b.json", "--sla-report=md:m.md") == 2
    err = capsys.readouterr().err
    assert (
        "the shards differ in what bears on latency: cpu_model 'AMD EPYC 7763 64-Core "
        "Processor' vs 'Intel(R) Xeon(R) Platinum 8370C CPU @ 2.80GHz' (a.json vs b.json); "
        "onnxruntime 1.32.0 vs 1.31.0 (a.json vs b.json). "
    ) in err
    assert "or pass --allow-mixed to merge them anyway" in err
    assert not (tmp_path / "m.md").exists()

    args = (
        *("a.json", "b.json", "--allow-mixed", "--sla-report=md:m.md"),
        *("--sla-report=json:m.json", "--sla-report=html:m.html"),
    )
    assert merge(tmp_path, monkeypatch, *args) == 0
    markdown = (tmp_path / "m.md").read_text("utf-8")
    assert "> ⚠️ The shard b.json differs from a.json in cpu_model " in markdown
    assert "latencies across these shards are not comparable." in markdown
    html = (tmp_path / "m.html").read_text("utf-8")
    assert "<strong>Mixed shards.</strong> the shard b.json differs from a.json in" in html
    shards = load_report(tmp_path / "m.json")["run"]["merged_from"]
    assert shards[0]["differences"] == []
    assert shards[1]["differences"] == [
        "cpu_model 'AMD EPYC 7763 64-Core Processor' vs "
        "'Intel(R) Xeon(R) Platinum 8370C CPU @ 2.80GHz'",
        "onnxruntime 1.32.0 vs 1.31.0",
    ]
    assert shards[1]["environment"]["cpu_model"].startswith("Intel")


def test_measurement_settings_must_match_but_report_paths_may_differ(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shard(tmp_path, "a.json", {"t.py::test_a": 40.0})
    shard(tmp_path, "b.json", {"u.py::test_c": 1.2})  # its own report path: fine
    assert merge(tmp_path, monkeypatch, "a.json", "b.json", "-q") == 0
    shard(tmp_path, "c.json", {"v.py::test_d": 2.0}, settings={"confidence": 0.95})
    assert merge(tmp_path, monkeypatch, "a.json", "c.json", "-q") == 2
    assert "sla_confidence 0.99 vs 0.95 (a.json vs c.json)" in capsys.readouterr().err


def test_a_merged_report_merges_again_keeping_its_shards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shard(tmp_path, "a.json", {"t.py::test_a": 40.0})
    shard(tmp_path, "b.json", {"u.py::test_c": 1.2})
    shard(tmp_path, "c.json", {"v.py::test_d": 2.0})
    assert merge(tmp_path, monkeypatch, "a.json", "b.json", "--sla-report=json:ab.json") == 0
    assert merge(tmp_path, monkeypatch, "ab.json", "c.json", "--sla-report=json:abc.json") == 0
    document = load_report(tmp_path / "abc.json")
    assert [s["path"] for s in document["run"]["merged_from"]] == ["a.json", "b.json", "c.json"]
    assert document["totals"]["measurements"] == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            None,
            "report 'x.json' cannot be read (No such file or directory); pass the JSON "
            "report each shard wrote with --sla-report=json:PATH",
        ),
        ("[1, 2]", "report 'x.json' is not a JSON object; pass the JSON report"),
        ("{nope", "report 'x.json' is not valid JSON ("),
        (
            '{"tool": {"name": "pytest-benchmark"}}',
            "report 'x.json' is not a report of "
            "pytest-latency-sla; pass the JSON report each shard wrote",
        ),
        (
            '{"tool": {"name": "pytest-latency-sla"}, "schema_version": 2}',
            "report 'x.json' "
            "has schema_version 2, and merge reads 3 only; run that shard again with this "
            "version of the plugin",
        ),
    ],
)
def test_what_is_not_a_shard_report_gets_a_sentence(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    content: str | None,
    message: str,
) -> None:
    if content is not None:
        (tmp_path / "x.json").write_text(content, "utf-8")
    assert merge(tmp_path, monkeypatch, "x.json") == 2
    err = capsys.readouterr().err
    assert err.startswith("python -m pytest_latency_sla: error: " + message), err


def drop(field: str) -> Any:
    """A change to a shard's report: ``field`` of its first result left out."""
    return lambda d: d["results"][0].pop(field)


def put(field: str, value: Any, where: str = "results") -> Any:
    """A change to a shard's report: ``field`` of its first result (or of ``run``) set."""
    return lambda d: (d[where][0] if where == "results" else d[where]).update({field: value})


#: (change, what the sentence says after "report 'a.json': ") for damaged shard reports.
DAMAGED = [
    (drop("margin"), "results[0].margin of t.py::test_a is missing"),
    (put("index", "0"), "results[0].index of t.py::test_a is '0', not a whole number"),
    (put("margin", "2x"), "results[0].margin of t.py::test_a is '2x', not a number or null"),
    (put("p50_s", "abc"), "results[0].p50_s of t.py::test_a is 'abc', not a number"),
    (put("p50_s", math.nan), "results[0].p50_s of t.py::test_a is NaN, not a finite number"),
    (put("p50_s", -1), "results[0].p50_s of t.py::test_a is -1, a negative time"),
    (put("p50_s", None), "results[0].p50_s of t.py::test_a is null, not a number"),
    (drop("p50_s"), "results[0].p50_s of t.py::test_a is missing"),
    (put("samples", "x"), "results[0].samples of t.py::test_a is 'x', not a whole number"),
    (put("samples", 0), "results[0].samples of t.py::test_a is 0, below its minimum 1"),
    (put("histogram", None), "results[0].histogram of t.py::test_a is null, not an object"),
    (
        put("histogram", {"edges_s": [1e-3, math.inf], "counts": [3]}),
        "results[0].histogram.edges_s[1] of t.py::test_a is Infinity, not a finite number",
    ),
    (
        put("histogram", {"edges_s": [1e-3, 2e-3]}),
        "results[0].histogram.counts of t.py::test_a is missing",
    ),
    (
        put("percentiles_s", {"p99": "1 ms"}),
        "results[0].percentiles_s.p99 of t.py::test_a is '1 ms', not a number",
    ),
    (put("interval_s", [1e-3]), "results[0].interval_s of t.py::test_a holds 1 item, not 2"),
    (put("measured_s", -2e-3), "results[0].measured_s of t.py::test_a is -0.002, a negative time"),
    (
        put("budget_s", "50 ms"),
        "results[0].budget_s of t.py::test_a is '50 ms', not a number or null",
    ),
    (
        put("decision", {"outcome": "pass"}),
        "results[0].decision.alpha of t.py::test_a is missing",
    ),
    (
        put("verdict", "ok"),
        "results[0].verdict of t.py::test_a is 'ok', not 'pass', 'fail', 'inconclusive' or null",
    ),
    (put("nodeid", None), "results[0].nodeid is null, not a string"),
    (lambda d: d["run"].pop("environment"), "run.environment is missing"),
    (put("duration_s", "1 min", "run"), "run.duration_s is '1 min', not a number"),
    (put("exit_status", "x", "run"), "run.exit_status is 'x', not a whole number"),
    # A review: a traceback (OverflowError: date value out of range).
    (
        put("duration_s", 1e12, "run"),
        "run.duration_s is 1000000000000.0, which from its started_at ends past the last "
        "date there is",
    ),
    (put("settings", None, "run"), "run.settings is null, not an object"),
    (lambda d: d.update(results={}), "'results' is not a list"),
]


@pytest.mark.parametrize(("change", "message"), DAMAGED, ids=[m for _, m in DAMAGED])
def test_a_damaged_shard_report_gets_a_sentence_naming_the_field(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    change: Any,
    message: str,
) -> None:
    shard(tmp_path, "a.json", {"t.py::test_a": 40.0})
    document = json.loads((tmp_path / "a.json").read_text("utf-8"))
    change(document)
    (tmp_path / "a.json").write_text(json.dumps(document), "utf-8")
    assert merge(tmp_path, monkeypatch, "a.json") == 2
    assert capsys.readouterr().err == (
        f"python -m pytest_latency_sla: error: report 'a.json': {message}; pass the JSON "
        "report each shard wrote with --sla-report=json:PATH\n"
    )


def test_a_damaged_earlier_attempt_is_named_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shard(tmp_path, "a.json", {"t.py::test_a": 40.0})
    document = json.loads((tmp_path / "a.json").read_text("utf-8"))
    attempt = copy.deepcopy(document["results"][0]) | {"outcome": "rerun", "p50_s": math.inf}
    document["earlier_attempts"] = [attempt]
    (tmp_path / "a.json").write_text(json.dumps(document), "utf-8")
    assert merge(tmp_path, monkeypatch, "a.json") == 2
    assert "report 'a.json': earlier_attempts[0].p50_s of t.py::test_a is Infinity, not a " in (
        capsys.readouterr().err
    )


def test_never_writes_over_a_file_that_is_not_a_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shard(tmp_path, "a.json", {"t.py::test_a": 40.0})
    (tmp_path / "notes.md").write_text("# my notes\n", "utf-8")
    status = merge(
        tmp_path, monkeypatch, "a.json", "--sla-report=html:all.html", "--sla-report=md:notes.md"
    )
    assert status == 2
    assert "could not write the merged md report to notes.md: " in capsys.readouterr().err
    assert (tmp_path / "notes.md").read_text("utf-8") == "# my notes\n"
    # Refused before anything is written (a trial: the HTML report was written first).
    assert not (tmp_path / "all.html").exists()


def test_a_report_path_through_a_file_is_a_sentence_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shard(tmp_path, "a.json", {"t.py::test_a": 40.0})
    (tmp_path / "afile").write_text("hi\n", "utf-8")
    assert merge(tmp_path, monkeypatch, "a.json", "--sla-report=json:afile/x.json") == 2
    assert "could not write the merged json report to afile/x.json: " in capsys.readouterr().err


def test_never_writes_over_a_shard_it_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A shard overwritten by the merge is lost, and a retry of the same merge then fails.
    shard(tmp_path, "a.json", {"t.py::test_a": 40.0})
    shard(tmp_path, "b.json", {"u.py::test_c": 30.0})
    before = (tmp_path / "a.json").read_text()
    for target in ("--sla-report=json:a.json", "--sla-save=./b.json"):
        assert merge(tmp_path, monkeypatch, "a.json", "b.json", target) == 2
        assert "a report this merge reads; write it to another path" in capsys.readouterr().err
    assert (tmp_path / "a.json").read_text() == before
    assert merge(tmp_path, monkeypatch, "a.json", "b.json", "--sla-report=json:m.json") == 0


def test_a_bad_report_option_gets_the_settings_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shard(tmp_path, "a.json", {"t.py::test_a": 40.0})
    assert merge(tmp_path, monkeypatch, "a.json", "--sla-report=pdf:x.pdf") == 2
    err = capsys.readouterr().err
    assert err.startswith("python -m pytest_latency_sla: error: --sla-report: "), err


def test_save_writes_a_baseline_of_all_shards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shard(tmp_path, "a.json", {"t.py::test_a": 40.0})
    shard(tmp_path, "b.json", {"u.py::test_c": 1.2})
    assert merge(tmp_path, monkeypatch, "a.json", "b.json", "--sla-save=base.json", "-q") == 0
    from pytest_latency_sla.baseline import load_baseline

    baseline = load_baseline(str(tmp_path / "base.json"))
    assert set(baseline.entries) == {("t.py::test_a", 0), ("u.py::test_c", 0)}


def test_no_reports_is_an_error() -> None:
    with pytest.raises(MergeError, match="no reports to merge"):
        merge_runs([])


def test_shards_written_by_pytest_merge_from_the_command_line(
    pytester: pytest.Pytester,
) -> None:
    """The whole path: two shards of a real suite, each its own pytest run, merged by
    the ``python -m`` entry point into a report that validates against the schema."""
    pytester.makepyfile(
        test_zoo="""
        import pytest

        @pytest.mark.sla(ms=50)
        def test_small(sla):
            sla.measure(sum, range(10))

        @pytest.mark.sla(ms=50)
        def test_large(sla):
            sla.measure(sum, range(1000))
        """
    )
    first = pytester.runpytest("-k", "small", "--sla-report=json:shard-1.json", *FAST)
    second = pytester.runpytest("-k", "large", "--sla-report=json:shard-2.json", *FAST)
    first.assert_outcomes(passed=1)
    second.assert_outcomes(passed=1)
    assert load_shard(str(pytester.path / "shard-1.json")).results
    merged = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest_latency_sla",
            "merge",
            "shard-1.json",
            "shard-2.json",
            "--sla-report",
            "--sla-report=json:merged.json",
        ],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert merged.returncode == 0, merged.stderr
    assert "sla: 2 SLA measurements: 2 pass;" in merged.stdout
    document = load_report(pytester.path / "merged.json")
    assert sorted(r["nodeid"] for r in document["results"]) == [
        "test_zoo.py::test_large",
        "test_zoo.py::test_small",
    ]
    assert [s["path"] for s in document["run"]["merged_from"]] == ["shard-1.json", "shard-2.json"]


def _premerge_line(fragment: str) -> str:
    """The one line of docs/premerge.md that quotes a sentence holding ``fragment``."""
    docs = Path(__file__).resolve().parent.parent / "docs" / "premerge.md"
    (quoted,) = [line.strip() for line in docs.read_text("utf-8").splitlines() if fragment in line]
    return quoted


def test_the_mixed_environment_sentence_quoted_in_the_docs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    quoted = _premerge_line("error: the shards differ in what bears on latency")
    other = copy.deepcopy(ENVIRONMENT)
    other["cpu_model"] = "Intel(R) Xeon(R) Platinum 8370C CPU @ 2.80GHz"
    shard(tmp_path, "a.json", {"t.py::test_a": 40.0})
    shard(tmp_path, "b.json", {"u.py::test_c": 1.2}, environment=other)
    assert merge(tmp_path, monkeypatch, "a.json", "b.json") == 2
    assert capsys.readouterr().err.strip() == quoted


def test_the_unmeasured_tests_of_every_shard_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shard(tmp_path, "a.json", {"t.py::test_a": 40.0})
    shard(tmp_path, "b.json", {"u.py::test_c": 1.2}, exit_status=1)
    document = json.loads((tmp_path / "b.json").read_text("utf-8"))
    document["unmeasured"] = [{"nodeid": "u.py::test_d", "phase": "call", "message": "gone"}]
    document["totals"]["unmeasured"] = 1
    (tmp_path / "b.json").write_text(json.dumps(document), "utf-8")
    assert (
        merge(
            tmp_path,
            monkeypatch,
            "a.json",
            "b.json",
            "--sla-report=md:all.md",
            "--sla-report=json:all.json",
        )
        == 1
    )
    merged = load_report(tmp_path / "all.json")
    assert merged["unmeasured"] == document["unmeasured"]
    # Passed twice, or also measured in another shard: each test once, measured first.
    twice = ["a.json", "b.json", "--sla-report=json:again.json"]
    document["unmeasured"].append({"nodeid": "t.py::test_a", "phase": "call", "message": "x"})
    document["unmeasured"].append({"nodeid": "u.py::test_d", "phase": "call", "message": "y"})
    (tmp_path / "b.json").write_text(json.dumps(document), "utf-8")
    assert merge(tmp_path, monkeypatch, *twice) == 1
    again = load_report(tmp_path / "again.json")
    assert [(e["nodeid"], e["message"]) for e in again["unmeasured"]] == [("u.py::test_d", "gone")]
    assert merged["totals"]["unmeasured"] == 1
    markdown = (tmp_path / "all.md").read_text("utf-8")
    assert "❌ **SLA tests failed without a measurement**" in markdown


def test_an_interrupted_shard_fails_the_merge_saying_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A trial: a shard stopped by Ctrl-C merged with exit status 0 and "SLA met".
    shard(tmp_path, "a.json", {"t.py::test_a": 40.0})
    shard(tmp_path, "b.json", {"t.py::test_b": 40.0}, interrupted=True, exit_status=2)
    assert merge(tmp_path, monkeypatch, "a.json", "b.json", "--sla-report=json:all.json") == 1
    assert "sla: b.json was interrupted: the merged results are partial" in (
        capsys.readouterr().err
    )
    assert load_report(tmp_path / "all.json")["run"]["interrupted"] is True


@pytest.mark.parametrize(
    ("lists", "merged"),
    [
        ((["t.py::test_x", "t.py::test_y"], ["t.py::test_y"]), ["t.py::test_y"]),
        ((["t.py::test_x"], None), None),  # a shard without a baseline: not known
    ],
    ids=["missing-from-every-shard", "a-shard-without"],
)
def test_the_baselines_unmatched_measurements_are_those_no_shard_made(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    lists: tuple[list[str] | None, ...],
    merged: list[str] | None,
) -> None:
    shard(tmp_path, "a.json", {"t.py::test_a": 4.0}, unmatched=lists[0])
    shard(tmp_path, "b.json", {"t.py::test_b": 4.0}, unmatched=lists[1])
    assert merge(tmp_path, monkeypatch, "a.json", "b.json", "--sla-report=json:all.json") == 0
    run = load_report(tmp_path / "all.json")["run"]
    assert run.get("baseline_unmatched") == merged


def test_a_shard_with_a_malformed_unmeasured_list_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shard(tmp_path, "a.json", {"t.py::test_a": 40.0})
    document = json.loads((tmp_path / "a.json").read_text("utf-8"))
    document["unmeasured"] = [{"nodeid": "t.py::test_b"}]
    (tmp_path / "a.json").write_text(json.dumps(document), "utf-8")
    assert merge(tmp_path, monkeypatch, "a.json") != 0
    assert "unmeasured[0] is not an object with the strings nodeid, phase, message" in (
        capsys.readouterr().err
    )


def test_the_damaged_record_sentence_quoted_in_the_docs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    quoted = _premerge_line("error: report 'sla-vision.json': results[")
    # Tightest margin first: the model with the most headroom is the fourth record.
    tests = {f"tests/test_zoo.py::test_{name}": 1.2 + n for n, name in enumerate("abc")}
    shard(tmp_path, "sla-vision.json", tests | {"tests/test_zoo.py::test_resnet": 40.0})
    document = json.loads((tmp_path / "sla-vision.json").read_text("utf-8"))
    (resnet,) = [r for r in document["results"] if r["nodeid"].endswith("resnet")]
    resnet["samples"] = "x"
    (tmp_path / "sla-vision.json").write_text(json.dumps(document), "utf-8")
    assert merge(tmp_path, monkeypatch, "sla-vision.json") == 2
    assert capsys.readouterr().err.strip() == quoted


def test_an_infinite_rate_written_as_null_merges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Every call 0 ns (a clock coarser than the call): a mean of 0, an infinite rate,
    # which the JSON report writes as null. The terminal table raised a TypeError on it.
    shard(tmp_path, "a.json", {"t.py::test_a": 40.0})
    document = json.loads((tmp_path / "a.json").read_text("utf-8"))
    document["results"][0]["throughput"] = None
    (tmp_path / "a.json").write_text(json.dumps(document), "utf-8")
    assert merge(tmp_path, monkeypatch, "a.json", "--sla-report", "--sla-report=json:m.json") == 0
    (row,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("t.py")]
    assert row.split()[-1] == "inf"
    assert load_report(tmp_path / "m.json")["results"][0]["throughput"] is None


def test_save_replaces_no_baseline_from_an_interrupted_or_empty_merge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A review: the merge replaced a whole baseline with a stopped shard's one
    # measurement, or with none, which a pytest run never does.
    shard(tmp_path, "a.json", {"t.py::test_a": 40.0, "t.py::test_b": 4.0})
    assert merge(tmp_path, monkeypatch, "a.json", "--sla-save=base.json", "-q") == 0
    before = (tmp_path / "base.json").read_bytes()
    shard(tmp_path, "x.json", {"t.py::test_a": 40.0}, interrupted=True, exit_status=2)
    run = ("x.json", "--sla-save=base.json", "--sla-report=json:base.json", "-q")
    assert merge(tmp_path, monkeypatch, *run) == 1
    assert (tmp_path / "base.json").read_bytes() == before
    assert (
        "sla: x.json was interrupted, so --sla-save left the baseline base.json as it was "
        "rather than replace it with 1 measurement: run every test to save one (nor the SLA "
        "json report at base.json, the same file)"
    ) in capsys.readouterr().err
    shard(tmp_path, "e.json", {})
    assert merge(tmp_path, monkeypatch, "e.json", "--sla-save=base.json", "-q") == 0
    assert (tmp_path / "base.json").read_bytes() == before
    assert "no SLA measurements in these reports, so --sla-save wrote no baseline" in (
        capsys.readouterr().err
    )
    # An interrupted shard may still save a first baseline, as a stopped pytest run may.
    assert merge(tmp_path, monkeypatch, "x.json", "--sla-save=first.json", "-q") == 1
    assert load_report(tmp_path / "first.json")["results"][0]["nodeid"] == "t.py::test_a"


def test_a_baseline_path_of_a_dash_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A review: the merge wrote a baseline named '-', where a pytest run refuses it.
    shard(tmp_path, "a.json", {"t.py::test_a": 40.0})
    assert merge(tmp_path, monkeypatch, "a.json", "--sla-save", "-") == 2
    assert not (tmp_path / "-").exists()
    assert "--sla-save: '-' would name a file called '-'" in capsys.readouterr().err


def test_two_reports_at_one_path_are_refused_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A review: md and html to one path wrote both, and only the last stayed.
    shard(tmp_path, "a.json", {"t.py::test_a": 40.0})
    run = ("a.json", "--sla-report=md:same.txt", "--sla-report=html:same.txt")
    assert merge(tmp_path, monkeypatch, *run) == 2
    assert not (tmp_path / "same.txt").exists()
    assert (
        "the SLA md report and the SLA html report would both be written to same.txt, and "
        "the last would replace the first: give each its own path"
    ) in capsys.readouterr().err


@pytest.mark.timeout(20)
@pytest.mark.usefixtures("nothing_special_opened")
@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_a_shard_report_that_is_a_pipe_or_a_device_is_refused_unread(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    kind: str,
) -> None:
    # A trial: the merge waited on the pipe forever, or read /dev/zero until memory ran out.
    make_special(tmp_path / "x.json", kind)
    assert merge(tmp_path, monkeypatch, "x.json") == 2
    assert capsys.readouterr().err == (
        "python -m pytest_latency_sla: error: report 'x.json' is not a regular file (a device, "
        "a pipe or a socket), so it was not read (the read would block or never end); pass the "
        "JSON report each shard wrote with --sla-report=json:PATH\n"
    )
