"""A renamed test compared with its old baseline entry, found by its model: which entries
are gone from the suite, which one a measurement is compared with, and what the reports
say (deterministic: synthetic records), then one end-to-end run of the gate."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

from pytest_latency_sla.baseline import Baseline, unmatched
from pytest_latency_sla.gate import judge_against
from pytest_latency_sla.renamed import gone, renamed_entry
from pytest_latency_sla.settings import Settings

if TYPE_CHECKING:
    from pathlib import Path

    from pytest_latency_sla.schema import SlaRecord

ENV: dict[str, Any] = {"cpu_model": "AMD EPYC", "packages": {"onnxruntime": "1.32.0"}}
GATE = Settings(compare="base.json", max_regression=0.2)


def record(p50: float = 3.0, **extra: Any) -> SlaRecord:
    """A measurement of model ``aa`` by ``t.py::test_new``, its p50 known to 2%."""
    base: dict[str, Any] = {
        "nodeid": "t.py::test_new",
        "label": "t.py::test_new",
        "index": 0,
        "kind": "onnx",
        "percentile": 99.0,
        "measured_s": p50,
        "interval_s": [p50 * 0.98, p50 * 1.02],
        "p50_s": p50,
        "p50_interval_s": [p50 * 0.98, p50 * 1.02],
        "model_sha256": "aa",
        "providers": ["CPUExecutionProvider"],
        "intra_op_threads": 0,
        "inter_op_threads": 0,
        "stop_reason": "decided",
        "comparison": None,
        "margin": None,
        "load": None,
        "inputs": [{"name": "x", "dtype": "float32", "shape": [32, 64]}],
    }
    base.update(extra)
    return base  # type: ignore[return-value]


def entry(nodeid: str, p50: float = 1.0, **extra: Any) -> dict[str, Any]:
    return dict(record(p50, nodeid=nodeid, label=nodeid, **extra))


def baseline(*entries: dict[str, Any], gone_keys: Any = None) -> Baseline:
    """A baseline of ``entries``; all of them gone from the suite unless ``gone_keys``."""
    keyed = {(e["nodeid"], e["index"]): e for e in entries}
    return Baseline("base.json", keyed, ENV, frozenset(keyed if gone_keys is None else gone_keys))


# --- which of the baseline's tests are gone ------------------------------------------------


def test_an_entry_is_gone_when_its_test_left_a_file_the_run_collected(tmp_path: Path) -> None:
    (tmp_path / "t.py").write_text("")
    keys = [("t.py::test_old", 0), ("t.py::test_kept", 0), ("t.py::test_kept", 1)]
    assert gone(keys, {"t.py::test_kept", "t.py::test_new"}, False, str(tmp_path)) == {
        ("t.py::test_old", 0)
    }


def test_a_deselected_test_is_not_gone(tmp_path: Path) -> None:
    # -k test_new: test_old is still in the suite (the glue counts deselected tests in).
    (tmp_path / "t.py").write_text("")
    tests = {"t.py::test_new", "t.py::test_old"}
    assert gone([("t.py::test_old", 0)], tests, False, str(tmp_path)) == set()


def test_an_entry_of_a_file_the_run_did_not_collect_is_gone_only_with_its_file(
    tmp_path: Path,
) -> None:
    # `pytest t.py`: other.py may still hold test_x; moved.py is no longer there.
    (tmp_path / "t.py").write_text("")
    (tmp_path / "other.py").write_text("")
    keys = [("other.py::test_x", 0), ("moved.py::test_x", 0), ("sub/moved.py::test_y", 0)]
    found = gone(keys, {"t.py::test_new"}, False, str(tmp_path))
    assert found == {("moved.py::test_x", 0), ("sub/moved.py::test_y", 0)}


def test_given_node_ids_only_a_file_no_longer_there_tells(tmp_path: Path) -> None:
    # `pytest t.py::test_new`: pytest collected t.py's test_new alone; test_old may be there.
    (tmp_path / "t.py").write_text("")
    keys = [("t.py::test_old", 0), ("moved.py::test_x", 0)]
    assert gone(keys, {"t.py::test_new"}, True, str(tmp_path)) == {("moved.py::test_x", 0)}
    assert gone(keys, {"t.py::test_new"}, False, str(tmp_path)) == set(keys)


def test_a_baseline_from_another_rootdir_finds_its_tests_in_the_run(tmp_path: Path) -> None:
    # Saved from the repository's root, compared from tests/ (the rootdir here), or back.
    (tmp_path / "t.py").write_text("")
    tests = {"t.py::test_kept", "a/u.py::test_kept"}
    keys = [("tests/t.py::test_kept", 0), ("u.py::test_kept", 0), ("tests/t.py::test_old", 0)]
    # (tests/t.py is t.py from here: a file the run collected, which test_old left.)
    assert gone(keys, tests, False, str(tmp_path)) == {("tests/t.py::test_old", 0)}
    # tests/other.py is other.py from here, still there: not gone.
    (tmp_path / "other.py").write_text("")
    assert gone([("tests/other.py::test_x", 0)], tests, False, str(tmp_path)) == set()


def test_a_file_a_deeper_rootdir_named_is_found_under_the_folders_collected(
    tmp_path: Path,
) -> None:
    """Saved with tests/ as the rootdir (test_a.py), compared from the repository's root
    on tests/test_b.py alone: test_a.py is tests/test_a.py, still there (a review: it
    was looked for at the root only, taken as gone, and test_b's new test of the same
    model was compared with it)."""
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text("")
    keys = [("test_a.py::test_x", 0), ("test_gone.py::test_x", 0)]
    found = gone(keys, {"tests/test_b.py::test_y"}, False, str(tmp_path))
    assert found == {("test_gone.py::test_x", 0)}


# --- which entry a measurement is compared with ---------------------------------------------


def test_a_renamed_test_is_compared_with_its_old_entry_and_fails_the_gate() -> None:
    made = record(3.0)
    saved = baseline(entry("t.py::test_old", 1.0))
    failure = judge_against(made, saved, ENV, GATE)
    comparison = made["comparison"]
    assert comparison is not None
    assert comparison["status"] == "regression"
    assert comparison["change"] == pytest.approx(2.0)
    assert comparison["renamed_from"] == "t.py::test_old"
    assert "renamed_candidates" not in comparison
    assert failure is not None
    assert failure.startswith(
        "SLA regression: p50 3.00 s is +200% against the baseline's 1.00 s (base.json), "
        "compared with t.py::test_old (same model; renamed?), beyond the 20% allowed by "
        "sla_max_regression"
    )
    # Its entry was compared with: not among those the run did not make.
    assert unmatched(saved, [made]) == []


def test_an_unchanged_renamed_test_passes_and_says_whose_entry_it_met() -> None:
    made = record(1.0)
    assert judge_against(made, baseline(entry("t.py::test_old", 1.0)), ENV, GATE) is None
    assert made["comparison"] is not None
    assert made["comparison"]["status"] == "unchanged"
    assert made["comparison"]["renamed_from"] == "t.py::test_old"


def test_a_test_whose_model_file_changed_too_is_new() -> None:
    # A new SHA-256: nothing to find it by. New, and its old entry named as not made.
    made = record(3.0, model_sha256="bb")
    saved = baseline(entry("t.py::test_old", 1.0))
    assert judge_against(made, saved, ENV, GATE) is None
    assert made["comparison"] is not None
    assert made["comparison"]["status"] == "new"
    assert "renamed_from" not in made["comparison"]
    assert "renamed_candidates" not in made["comparison"]
    assert unmatched(saved, [made]) == ["t.py::test_old"]


def test_a_callable_has_no_model_to_be_found_by() -> None:
    made = record(3.0, kind="callable", model_sha256=None)
    saved = baseline(entry("t.py::test_old", 1.0, kind="callable", model_sha256=None))
    assert renamed_entry(made, saved, ENV) == (None, [])


def test_only_an_entry_of_a_test_gone_from_the_suite_is_taken() -> None:
    # test_other still runs (and measures the same model): its entry is its own.
    saved = baseline(entry("t.py::test_other", 1.0), gone_keys=[])
    made = record(3.0)
    assert judge_against(made, saved, ENV, GATE) is None
    assert made["comparison"] is not None
    assert made["comparison"]["status"] == "new"


def test_the_same_measurement_index_and_configuration_are_needed() -> None:
    made = record(3.0)
    # The second measurement of the old test, and one under another percentile: not it.
    assert renamed_entry(made, baseline(entry("t.py::test_old", index=1)), ENV) == (None, [])
    assert renamed_entry(made, baseline(entry("t.py::test_old", percentile=50.0)), ENV) == (
        None,
        [],
    )
    # Nor under another load, providers, threads or tracer (what a mismatch is).
    for other in (
        {"load": {"target_rps": 100.0, "arrivals": "poisson", "concurrency": 4}},
        {"providers": ["CUDAExecutionProvider"]},
        {"intra_op_threads": 2},
        {"tracer": "coverage"},
        # The same model fed other inputs: another workload, not the test renamed.
        {"inputs": [{"name": "x", "dtype": "float32", "shape": [1, 64]}]},
    ):
        assert renamed_entry(made, baseline(entry("t.py::test_old", **other)), ENV)[0] is None
    # With one of them comparable, that one is.
    saved = baseline(entry("t.py::test_a", percentile=50.0), entry("t.py::test_b"))
    found, candidates = renamed_entry(made, saved, ENV)
    assert found is not None
    assert (found["nodeid"], candidates) == ("t.py::test_b", [])


def test_on_another_machine_nothing_is_comparable_so_nothing_is_found() -> None:
    other = {"cpu_model": "Intel Xeon", "packages": {"onnxruntime": "1.32.0"}}
    assert renamed_entry(record(), baseline(entry("t.py::test_old")), other) == (None, [])


def test_more_than_one_entry_of_the_model_is_not_guessed() -> None:
    from pytest_latency_sla.report.labels import change_label, renamed_text

    made = record(3.0)
    saved = baseline(entry("t.py::test_a"), entry("u.py::test_b"))
    assert judge_against(made, saved, ENV, GATE) is None
    comparison = made["comparison"]
    assert comparison is not None
    assert comparison["status"] == "new"
    assert "renamed_from" not in comparison
    assert comparison["renamed_candidates"] == ["t.py::test_a", "u.py::test_b"]
    assert change_label(made) == "new"
    assert renamed_text(made) == (
        "new, though 2 tests of the baseline that are gone from the suite measured the same "
        "model (t.py::test_a, u.py::test_b): none is taken for its old name, so it is not "
        "compared"
    )
    assert sorted(unmatched(saved, [made])) == ["t.py::test_a", "u.py::test_b"]
    # Three named, then how many more.
    made = record(3.0)
    judge_against(made, baseline(*(entry(f"t.py::test_{n}") for n in range(5))), ENV, GATE)
    assert "(t.py::test_0, t.py::test_1, t.py::test_2 and 2 more)" in (renamed_text(made) or "")


# --- the reports ------------------------------------------------------------------------------


def test_the_reports_say_whose_entry_a_renamed_test_was_compared_with() -> None:
    from pytest_latency_sla.report.labels import change_label, renamed_text
    from pytest_latency_sla.report.terminal import notes

    made = record(3.0)
    judge_against(made, baseline(entry("t.py::test_old", 1.0)), ENV, Settings())
    assert change_label(made) == "p50 +200% regression (renamed?)"
    assert renamed_text(made) == "compared with t.py::test_old (same model; renamed?)"
    note = "sla: t.py::test_new: compared with t.py::test_old (same model; renamed?)"
    assert note in notes([made])
    # Found under its own node id: nothing of the kind.
    own = record(3.0)
    judge_against(own, baseline(entry("t.py::test_new", 1.0), gone_keys=[]), ENV, Settings())
    assert change_label(own) == "p50 +200% regression"
    assert renamed_text(own) is None


def test_a_renamed_entry_that_cannot_be_judged_says_whose_it_is() -> None:
    # --sla-strict-baseline: an entry with no median, found by the model, named.
    made = record(3.0)
    saved = baseline(entry("t.py::test_old", 1.0, p50_s=0.0))
    failure = judge_against(made, saved, ENV, Settings(compare="base.json", strict_baseline=True))
    assert failure is not None
    assert failure.startswith(
        "the baseline entry in base.json (t.py::test_old's, same model; renamed?) has no "
        "p50_s above 0"
    )


def test_a_gate_that_compared_only_renamed_tests_compared_something() -> None:
    from pytest_latency_sla.gate import gated_nothing

    made = record(1.0)
    saved = baseline(entry("t.py::test_old", 1.0))
    judge_against(made, saved, ENV, GATE)
    assert gated_nothing(GATE, saved, [made]) == ("", False)
    new = record(1.0, model_sha256="bb")
    judge_against(new, saved, ENV, GATE)
    said, fails = gated_nothing(GATE, saved, [new])
    assert said.startswith("--sla-max-regression compared nothing")
    assert fails


def test_a_gate_that_could_compare_nothing_says_why_and_what_to_do() -> None:
    """A trial: on a busy 2-core runner every measurement was a mismatch (other
    processes took most of its time), and a 3.3x slowdown passed a gate that compared
    nothing."""
    from pytest_latency_sla.gate import gated_nothing

    busy = "a busy machine: other processes took 67% of this run's measuring time"
    busy_base = "a busy machine: other processes took 40% of the baseline's measuring time"
    other = "cpu_model 'AMD EPYC' -> 'Intel Xeon'"

    def made(status: str, *mismatch: str) -> Any:
        return {"comparison": {"status": status, "mismatch": list(mismatch)}}

    saved = baseline(entry("t.py::test_old", 1.0))
    said, fails = gated_nothing(GATE, saved, [made("mismatch", busy), made("new")])
    assert fails
    assert said == (
        "--sla-max-regression compared nothing: none of this run's 2 measurements could be "
        "compared with the baseline base.json (1 measured on a busy machine, 1 not in it), "
        "so the run fails rather than pass a regression gate that gated nothing "
        "(--sla-strict-baseline fails each such test instead); rerun on a quieter runner or "
        "measure base and head side by side, in the same minutes, with --sla-compare-ref"
    )
    said, _ = gated_nothing(GATE, saved, [made("mismatch", other), made("mismatch", busy, other)])
    assert "(1 measured on a busy machine, 1 under another configuration)" in said
    assert said.endswith(
        "; rerun on a quieter runner, re-record the baseline on a quiet runner of this type "
        "with --sla-save, or measure base and head side by side, in the same minutes, with "
        "--sla-compare-ref"
    )
    # The baseline's side busy: rerunning this side changes nothing (a review).
    said, _ = gated_nothing(GATE, saved, [made("mismatch", busy_base)])
    assert "rerun on a quieter runner" not in said
    assert "; re-record the baseline on a quiet runner of this type with --sla-save or " in said
    # From a configuration file, read by every run (a laptop's too): said, not failed.
    said, fails = gated_nothing(GATE, saved, [made("mismatch", other)], given=False)
    assert not fails
    assert "its regression gate, set in the configuration, gated nothing (given on the " in said
    # One measurement compared is a gate that gated something; strict fails each test.
    assert gated_nothing(GATE, saved, [made("mismatch", busy), made("unchanged")])[0] == ""
    strict = replace(GATE, strict_baseline=True)
    assert gated_nothing(strict, saved, [made("mismatch", busy)])[0] == ""


def test_the_json_schema_takes_the_renamed_fields() -> None:
    from support import report_schema

    comparison = report_schema()["$defs"]["result"]["properties"]["comparison"]
    for field in ("renamed_from", "renamed_candidates"):
        assert field in comparison["properties"]
        assert field not in comparison["required"]  # absent from older reports


# --- end to end -------------------------------------------------------------------------------

SHOW_GONE = """
    import pytest
    from pytest_latency_sla.plugin import BASELINE_KEY

    def pytest_collection_modifyitems(items):
        # A splitting plugin that leaves test_split to another CI job, saying nothing.
        items[:] = [item for item in items if "split" not in item.nodeid]

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(session):
        gone = session.config.stash[BASELINE_KEY].gone
        print("gone:", sorted(nodeid for nodeid, _ in gone))
"""


def test_the_run_tells_the_baseline_which_of_its_tests_are_gone(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(SHOW_GONE)
    tests = "\n\n".join(f"def test_{name}(): pass" for name in ("kept", "split", "deselected"))
    pytester.makepyfile(test_model=tests, test_other="def test_y(): pass")
    saved = [
        entry(nodeid, p50_s=1.0, interval_s=[0.9, 1.1])
        for nodeid in (
            "test_model.py::test_kept",
            "test_model.py::test_old",  # renamed: gone
            "test_model.py::test_split",
            "test_model.py::test_deselected",
            "moved.py::test_x",  # its file moved: gone
            "test_other.py::test_y",  # its file not collected, but there
        )
    ]
    document = {"schema_version": 3, "run": {"environment": ENV}, "results": saved}
    (pytester.path / "base.json").write_text(json.dumps(document), "utf-8")
    run = ("--collect-only", "-q", "-s", "--sla-compare=base.json")
    result = pytester.runpytest("test_model.py", *run, "-k", "not deselected")
    result.stdout.fnmatch_lines(["gone: ['moved.py::test_x', 'test_model.py::test_old']"])
    # Given a node id, pytest collects it alone: only a file no longer there tells.
    result = pytester.runpytest("test_model.py::test_kept", *run)
    result.stdout.fnmatch_lines(["gone: ['moved.py::test_x']"])
    # --lf leaves a file's passed tests out as it collects it, deselecting none (a
    # review: they read as gone, and a failed new test was compared with one of them).
    pytester.makepyfile(test_model=tests + "\n\ndef test_failing(): assert False")
    pytester.runpytest("test_model.py", "-p", "no:randomly")
    result = pytester.runpytest("test_model.py", *run, "--lf")
    result.stdout.fnmatch_lines(["gone: ['moved.py::test_x']"])


RENAMED_RUN = (
    "--sla-warmup-time=0.01",
    "--sla-min-time=0.05",
    "--sla-max-time=1",
    "--sla-time-limit=10",
    # 3x clears 1.5x (not just 2x, the default) even when the two runs' machine states
    # differ by a third, or the run loses a third of its time to other processes.
    "--sla-noise-floor=50",
)
MODEL_TEST = """
    import pytest

    @pytest.mark.sla(ms=500, percentile=50)
    def {name}(sla):
        sla.onnx("model.onnx")
"""


def test_a_renamed_test_whose_model_got_3x_slower_fails_the_gate(
    pytester: pytest.Pytester,
) -> None:
    from onnx_models import matmul_chain_model, save
    from support import load_report, output, skip_if_too_busy_to_compare

    # A trial: a test renamed in the same pull request that slowed it read "1 new", and
    # the gate passed. Here the old name's entry is the same model at a sixth of the time
    # it was measured at: 3x slower or more, even when that first run of the model was
    # measured twice as slow as the second (a CI run: +58%, within a stored baseline's 2x
    # noise floor, and the gate rightly passed it).
    save(matmul_chain_model(24, 256), pytester.path / "model.onnx")
    pytester.makepyfile(test_model=MODEL_TEST.format(name="test_old"))
    saved = pytester.runpytest(*RENAMED_RUN, "--sla-save=base.json")
    saved.assert_outcomes(passed=1)
    path = pytester.path / "base.json"
    document = json.loads(path.read_text("utf-8"))
    (old,) = document["results"]
    assert old["nodeid"] == "test_model.py::test_old"
    for field in ("p50_s", "measured_s"):
        old[field] /= 6
    for field in ("p50_interval_s", "interval_s"):
        old[field] = [bound / 6 for bound in old[field]]
    path.write_text(json.dumps(document), "utf-8")

    pytester.makepyfile(test_model=MODEL_TEST.format(name="test_renamed"))
    gate = ("--sla-compare=base.json", "--sla-max-regression=20", "--sla-report")
    files = ("--sla-report=json:r.json", "--sla-report=md:r.md", "--sla-report=html:r.html")
    result = pytester.runpytest(*RENAMED_RUN, *gate, *files)
    # (Only a run too busy to call 3x a regression: a busy baseline holds its median.)
    skip_if_too_busy_to_compare(result)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*SLA regression: p50 * is +*% against the baseline's * (base.json), compared "
            "with test_model.py::test_old (same model; renamed?), beyond the 20% allowed*",
            "*test_renamed*p50 +*% regression (renamed?)*",
            "sla: test_model.py::test_renamed: compared with test_model.py::test_old (same "
            "model; renamed?)",
        ]
    )
    assert "not made in this run" not in output(result)
    report = load_report(pytester.path / "r.json")
    (made,) = report["results"]
    assert made["comparison"]["status"] == "regression"
    assert made["comparison"]["renamed_from"] == "test_model.py::test_old"
    assert made["comparison"]["change"] > 1.0
    assert report["run"]["baseline_unmatched"] == []
    said = "compared with test_model.py::test_old (same model; renamed?)"
    markdown = (pytester.path / "r.md").read_text("utf-8")
    assert f"- `test_model.py::test_renamed`: {said}\n" in markdown
    assert f"<dd>{said}</dd>" in (pytester.path / "r.html").read_text("utf-8")

    # While test_old is still in the suite (deselected with -k), its entry is its own.
    pytester.makepyfile(
        test_model=MODEL_TEST.format(name="test_renamed") + MODEL_TEST.format(name="test_old")
    )
    result = pytester.runpytest(*RENAMED_RUN, *gate, "-k", "renamed", "--sla-report=json:r.json")
    result.assert_outcomes(passed=1, deselected=1)
    (made,) = load_report(pytester.path / "r.json")["results"]
    assert made["comparison"]["status"] == "new"
    assert "renamed_from" not in made["comparison"]
