"""The documentation site (``docs/``) names everything a user can set or import.

Cheap guards against docs falling behind the code: every setting appears in
``docs/settings.md`` as its command-line option and its ini key, every public name of the
package is mentioned somewhere in ``docs/``, and every marker argument is described in
``docs/marker.md``.
"""

from __future__ import annotations

import ast
import functools
import html
import json
import re
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import pytest_latency_sla
from pytest_latency_sla.marker import MARKER_HELP
from pytest_latency_sla.settings import OPTIONS

if TYPE_CHECKING:
    from pytest_latency_sla.schema import AdviceEntry
    from pytest_latency_sla.settings import Option

DOCS = Path(__file__).resolve().parent.parent / "docs"


@functools.cache
def _page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


@functools.cache
def _all_pages() -> str:
    pages = sorted(DOCS.glob("*.md"))
    assert pages, f"no Markdown pages in {DOCS}"
    return "\n".join(page.read_text(encoding="utf-8") for page in pages)


def _mentions(text: str, word: str) -> bool:
    """``word`` as a whole token: ``--sla-max-time`` is not found in ``--sla-max-times``."""
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None


def _marker_args() -> list[str]:
    """The marker's keyword arguments, from its registered help text: the signature's,
    then the sampling settings it lists."""
    signature = re.match(r"sla\(\*, ([^)]*), \*\*sampling\)", MARKER_HELP)
    assert signature is not None, MARKER_HELP
    named = [part.split("=")[0].strip() for part in signature.group(1).split(",")]
    listed = re.search(r"sampling settings for this test alone: ([^(]*) \(", MARKER_HELP)
    assert listed is not None, MARKER_HELP
    return named + [part.strip().rstrip("=") for part in listed.group(1).split(",")]


PUBLIC_NAMES = [name for name in pytest_latency_sla.__all__ if name != "__version__"]


def test_marker_args_are_read_from_the_help_text() -> None:
    sampling = [o.name for o in OPTIONS if o.plan is not None]
    assert "max_time" in sampling
    assert "time_limit" in sampling
    load = ["rps", "arrivals", "concurrency", "capacity"]
    assert _marker_args() == ["ms", "us", "percentile", "isolate", "cold_ms", *load, *sampling]


@pytest.mark.parametrize("option", OPTIONS, ids=[option.name for option in OPTIONS])
def test_settings_page_names_every_option(option: Option) -> None:
    settings = _page("settings.md")
    missing = [name for name in (option.cli, option.ini) if not _mentions(settings, name)]
    assert not missing, f"{' and '.join(missing)} missing from docs/settings.md"


@pytest.mark.parametrize("name", PUBLIC_NAMES)
def test_docs_mention_every_public_name(name: str) -> None:
    found = _mentions(_all_pages(), name)
    assert found, f"pytest_latency_sla.{name} is not mentioned in docs/"


@pytest.mark.parametrize("arg", _marker_args())
def test_marker_page_describes_every_argument(arg: str) -> None:
    # As written in a marker: ms=50, percentile=95.
    found = re.search(rf"(?<!\w){arg}=", _page("marker.md")) is not None
    assert found, f"@pytest.mark.sla({arg}=...) is missing from docs/marker.md"


# --- the JSON report reference ------------------------------------------------------------


def _schema() -> dict[str, Any]:
    text = (resources.files("pytest_latency_sla") / "schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _schema_fields() -> list[tuple[str, str]]:
    """(where, field) for every property of the document, ``run``, ``totals``, a result,
    and the objects nested in them."""
    schema = _schema()
    run = schema["properties"]["run"]
    result = schema["$defs"]["result"]
    objects = {
        "document": schema,
        "run": run,
        "run.environment": schema["$defs"]["environment"],
        "run.merged_from[]": run["properties"]["merged_from"]["items"],
        "totals": schema["properties"]["totals"],
        "result": result,
        "result.decision": result["properties"]["decision"],
        "result.comparison": result["properties"]["comparison"],
        "result.histogram": result["properties"]["histogram"],
        "result.advice": result["properties"]["advice"],
        "result.cold": result["properties"]["cold"],
        "result.sweep": result["properties"]["sweep"],
        "result.sweep.sizes[]": result["properties"]["sweep"]["properties"]["sizes"]["items"],
        "result.advice.variants[]": result["properties"]["advice"]["properties"]["variants"][
            "items"
        ],
        "result.inputs[]": result["properties"]["inputs"]["items"],
        "result.load": result["properties"]["load"],
        "result.load.capacity": result["properties"]["load"]["properties"]["capacity"],
        "result.load.capacity.steps[]": result["properties"]["load"]["properties"]["capacity"][
            "properties"
        ]["steps"]["items"],
    }
    return [(where, name) for where, node in objects.items() for name in node["properties"]]


def test_schema_fields_are_read_from_the_schema() -> None:
    fields = _schema_fields()
    assert ("result", "margin") in fields
    assert ("run", "interrupted") in fields
    assert ("totals", "tightest_margin") in fields
    assert len(fields) > 60, fields


@pytest.mark.parametrize(
    ("where", "field"), _schema_fields(), ids=[f"{w}.{f}" for w, f in _schema_fields()]
)
def test_json_reference_names_every_schema_field(where: str, field: str) -> None:
    # Written as code in the reference: `margin`, not merely the word "margin".
    found = f"`{field}`" in _page("json-schema.md")
    assert found, f"the JSON report's {where} field {field!r} is missing from docs/json-schema.md"


def test_json_reference_names_every_setting_of_run_settings() -> None:
    import dataclasses

    from pytest_latency_sla.settings import Settings

    section = _page("json-schema.md").split("### `run.settings`", 1)[1].split("\n#", 1)[0]
    missing = [f.name for f in dataclasses.fields(Settings) if f"`{f.name}`" not in section]
    assert not missing, f"run.settings in docs/json-schema.md leaves out {missing}"


def test_the_fixture_page_names_every_field_of_subject() -> None:
    import dataclasses

    from pytest_latency_sla.result import Subject

    section = _page("fixture.md").split("### `Subject`", 1)[1].split("\n### ", 1)[0]
    missing = [f.name for f in dataclasses.fields(Subject) if f"| `{f.name}`" not in section]
    missing = [m for m in missing if not m.endswith("_op_threads")]  # one row for both
    assert not missing, f"docs/fixture.md's Subject table leaves out {missing}"


def _marker_error_rows() -> list[tuple[str, str]]:
    """(marker, message) rows of the table of bad markers in docs/marker.md."""
    page = _page("marker.md")
    section = page.split("## Errors for bad markers", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(@pytest\.mark\.sla\(.*\))` \| `(.*)` \|$", section, re.MULTILINE)
    assert len(rows) >= 10, section
    return rows


@pytest.mark.parametrize(("marker", "message"), _marker_error_rows())
def test_marker_page_quotes_the_real_messages(marker: str, message: str) -> None:
    from pytest_latency_sla.marker import MarkerError, parse_marker_spec

    def sla(*args: object, **kwargs: object) -> tuple[tuple[object, ...], dict[str, object]]:
        return args, kwargs

    args, kwargs = eval(marker.removeprefix("@pytest.mark."), {"sla": sla, "float": float})
    with pytest.raises(MarkerError) as raised:
        parse_marker_spec(args, kwargs, 99.0)
    assert str(raised.value) == message


# --- messages quoted in the docs are the ones the code prints ------------------------------


def _message_shape(message: str, *names: str) -> re.Pattern[str]:
    """A pattern for messages worded as ``message``: its numbers, units, percentiles and
    the ``names`` in it (a model path, a callable, a file) may differ; nothing else."""
    text = re.escape(message)
    for name in names:
        text = text.replace(re.escape(name), r"\S+")
    text = re.sub(r"(?:\\\+|-)?\d[\d,]*(?:\\\.\d+)?", r"[+-]?[\\d.,]+", text)
    text = re.sub(r"(?<=\+\]\?\[\\d\.,\]\+)\\ (?:ns|µs|ms|s|min)\b", r"\\ (?:ns|µs|ms|s|min)", text)
    return re.compile(text)


def _real_messages() -> dict[str, re.Pattern[str]]:
    """Each kind of verdict message, made by the code, as a shape."""
    from support import make_sampling

    from pytest_latency_sla.checkmessages import regression_message
    from pytest_latency_sla.messages import verdict_message
    from pytest_latency_sla.result import Budget, SlaResult, Subject, Verdict

    subject = Subject(kind="callable", name="time.sleep", api="fn(*args, **kwargs)")
    samples = [2_000_000 + i for i in range(16)]

    def message(verdict: Verdict, percentile: float = 99) -> str:
        result = SlaResult(
            subject=subject,
            budget=Budget(1, "ms", percentile),
            verdict=verdict,
            sampling=make_sampling(samples),
        )
        return verdict_message(result)

    regression = regression_message(50.0, 6.11e-3, 2.05, 2e-3, "base.json", 0.2, 1.0)
    return {
        # (p100, judged on the slowest call, names no confidence: first, as the longer.)
        "SLA missed: p100 ": _message_shape(message(Verdict.FAIL, 100), "time.sleep"),
        "SLA missed: ": _message_shape(message(Verdict.FAIL), "time.sleep"),
        "SLA met: ": _message_shape(message(Verdict.PASS).replace("<=", "<="), "time.sleep"),
        "SLA regression: ": _message_shape(regression, "base.json"),
    }


def _quoted_messages() -> list[tuple[str, str]]:
    """(page, line) for each verdict message quoted in docs/, as a line or a table cell."""
    found = []
    for page in sorted(DOCS.glob("*.md")):
        if page.name == "changelog.md":
            continue
        for line in page.read_text(encoding="utf-8").splitlines():
            text = html.unescape(re.sub(r"<[^>]+>", "\n", line))
            for part in text.split("\n"):
                part = part.strip().strip("`")
                if part.startswith(("SLA missed: ", "SLA met: ", "SLA regression: ")):
                    found.append((page.name, part.removeprefix("Failed: ")))
    return found


@pytest.mark.parametrize(("page", "quote"), _quoted_messages())
def test_docs_quote_verdict_messages_as_the_code_words_them(page: str, quote: str) -> None:
    kinds = _real_messages()
    kind = next(k for k in kinds if quote.startswith(k))
    assert kinds[kind].fullmatch(quote), f"docs/{page} quotes an outdated message: {quote}"


def test_the_slarecord_example_has_every_field() -> None:
    from pytest_latency_sla.schema import DecisionEntry, SlaRecord

    section = _page("fixture.md").split("### `SlaRecord`", 1)[1].split("\n### ", 1)[0]
    block = section.split("```python\n", 1)[1].split("\n```", 1)[0]
    example = ast.literal_eval(block)
    assert set(example) == set(SlaRecord.__annotations__), "every field"
    required = [k for k in SlaRecord.__annotations__ if k in SlaRecord.__required_keys__]
    assert [k for k in example if k in required] == required, "fields, in the record's order"
    decision = DecisionEntry.__annotations__
    assert set(example["decision"]) == set(decision), "every field of the decision"
    required = [k for k in decision if k in DecisionEntry.__required_keys__]
    assert [k for k in example["decision"] if k in required] == required, "in its order"


# --- numbers in the docs that follow from the code ----------------------------------------


def test_benchmark_page_gives_the_rounds_a_pass_needs() -> None:
    from pytest_latency_sla.bench import sampling_from_rounds
    from pytest_latency_sla.stats import min_samples_to_pass
    from pytest_latency_sla.verdict import tier_alpha

    text = " ".join(_page("benchmark.md").split())
    found = re.search(
        r"at least ([\d,]+) judged rounds without a single slow one for p99 at 99% "
        r"confidence \(([\d,]+) for p95, ([\d,]+) for p90\), plus the first round, which "
        r"is the cold start and not judged \(below\): ([\d,]+) rounds in all for p99",
        text,
    )
    assert found is not None, "the rounds a pass needs are missing from docs/benchmark.md"
    p99, p95, p90, p99_all = (int(group.replace(",", "")) for group in found.groups())
    assert p99_all == p99 + 1
    for quantile, judged in ((0.99, p99), (0.95, p95), (0.90, p90)):
        # pytest-benchmark's rounds are judged by the plain test alone: all of 1 - confidence.
        assert judged == min_samples_to_pass(quantile, tier_alpha(0.99, 1.0, 0.0))

        def outcome(rounds: int, quantile: float = quantile) -> str | None:
            sampling = sampling_from_rounds([1e-5] * rounds, 50e-3 * 1e9, quantile, 0.99)
            assert sampling.decision is not None
            return sampling.decision.outcome

        # The first round is the cold start: judged + 1 rounds pass, one fewer cannot.
        assert outcome(judged + 1) == "pass"
        assert outcome(judged) is None


def test_verdicts_page_gives_the_calls_a_pass_needs() -> None:
    from pytest_latency_sla.plan import SamplingPlan
    from pytest_latency_sla.stats import min_samples_to_pass
    from pytest_latency_sla.verdict import tier_alpha

    plan = SamplingPlan()
    alpha = tier_alpha(plan.confidence, plan.quick_factor, plan.instant_factor)
    page = _page("verdicts.md")
    table = page.split("The fewest independent calls that can PASS", 1)[1].split("\n\n", 2)[1]
    lines = table.splitlines()
    exceedances = [int(cell) for cell in re.findall(r"\d+", lines[0])]
    assert exceedances == [0, 1, 2, 5, 10], lines[0]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]
    assert [row[0] for row in rows] == ["p90", "p95", "p99", "p99.9"], table
    for label, *cells in rows:
        quantile = float(label.removeprefix("p")) / 100
        computed = [min_samples_to_pass(quantile, alpha, t) for t in exceedances]
        assert [int(cell.replace(",", "")) for cell in cells] == computed, label


def test_pages_give_the_chunk_time_of_the_plan() -> None:
    from pytest_latency_sla.plan import SamplingPlan

    chunk_ms = SamplingPlan().chunk_time_ns / 1e6
    for name in ("verdicts.md", "statistics.md"):
        text = " ".join(_page(name).split()).replace("**", "")
        said = re.findall(r"chunks of (?:about )?(\d+(?:\.\d+)?) ms", text)
        said += re.findall(r"(\d+(?:\.\d+)?) ms chunk", text)
        assert said, f"docs/{name} gives no chunk time"
        wrong = [value for value in said if float(value) != chunk_ms]
        assert not wrong, f"docs/{name} gives chunks of {wrong} ms, not {chunk_ms:g} ms"


def test_pages_give_the_sampling_time_an_isolated_timeout_leaves() -> None:
    from pytest_latency_sla.limits import fit
    from pytest_latency_sla.plan import SamplingPlan

    def sampling_s(timeout_s: float) -> float:
        return fit(SamplingPlan(), None, isolated_timeout_s=timeout_s).plan.limit_ns / 1e9

    settings = " ".join(_page("settings.md").split())
    found = re.search(r"of the default 60 s, sampling takes at most about ([\d.]+) s", settings)
    assert found is not None, "docs/settings.md's --sla-timeout row"
    assert float(found.group(1)) == round(sampling_s(60), 1)
    isolation = " ".join(_page("isolation.md").split())
    found = re.search(r"default of 60 s lets sampling go on to about ([\d.]+) s", isolation)
    assert found is not None, "docs/isolation.md's Timeouts"
    assert float(found.group(1)) == round(sampling_s(60), 1)
    found = re.search(r"sla_timeout = 10`: sampling then ends by about ([\d.]+) s", isolation)
    assert found is not None, "docs/isolation.md's Timeouts"
    assert float(found.group(1)) == round(sampling_s(10), 1)


def test_verdicts_page_compares_with_a_single_look_binomial_test() -> None:
    import math

    from pytest_latency_sla.verdict import tier_alpha

    text = " ".join(_page("verdicts.md").split())
    found = re.search(
        r"a binomial test with a single look at the end, valid only there, needs ([\d,]+) at "
        r"the same alpha, ([\d,]+) at the whole 1%",
        text,
    )
    assert found is not None, "docs/verdicts.md's single-look comparison"
    same, whole = (int(group.replace(",", "")) for group in found.groups())

    def no_exceedance_calls(alpha: float) -> int:
        # P[no call of n over a p99 budget that is exactly met] = 0.99 ** n <= alpha
        return math.ceil(math.log(alpha) / math.log(0.99))

    assert same == no_exceedance_calls(tier_alpha(0.99, 2.0, 10.0))
    assert whole == no_exceedance_calls(0.01)


def test_the_premerge_page_quotes_the_unmatched_baseline_line() -> None:
    from pytest_latency_sla.report.document import unmatched_line

    line = unmatched_line({"baseline_unmatched": ["tests/test_zoo.py::test_preprocess"]})
    assert f"sla: {line}\n" in (DOCS / "premerge.md").read_text(encoding="utf-8")


def test_the_advisor_page_quotes_the_advice_under_load() -> None:
    from pytest_latency_sla.advise import advice_sentence

    int8: AdviceEntry = {
        "name": "int8",
        "status": "measured",
        "problem": None,
        "p50_s": 3.5e-5,
        "percentile_s": 4e-5,
        "p50_ratio": [1.3, 1.25, 1.35],
        "percentile_ratio": [1.3, 1.2, 1.4],
        "margin": None,
        "meets_budget": None,
        "outcome": "slower",
        "changes_outcome": None,
    }
    sentence = advice_sentence(
        [int8],
        subject="fp32 (models/funnel.onnx)",
        budget="50 ms",
        margin=4.0,  # (under sla_headroom: at 120x the advice is to stop optimizing)
        verdict="pass",
        load_rps=300.0,
    )
    page = " ".join((DOCS / "advisor.md").read_text(encoding="utf-8").split())
    assert f"`{sentence}`" in page


def test_the_fixture_page_quotes_the_kept_fixture_message() -> None:
    from pytest_latency_sla.messages import CLOSED_FIXTURE

    quoted = f"{CLOSED_FIXTURE} (made for test_kept.py::test_first)\n"
    assert quoted in (DOCS / "fixture.md").read_text(encoding="utf-8")


def test_the_fixture_page_quotes_the_notes_on_what_fn_raises() -> None:
    from pytest_latency_sla.sampling import COLD_CALL

    page = _page("fixture.md")
    for said in (COLD_CALL, "in the warmup", "while sampling", "of the load at"):
        assert said in page, said
    assert "the only one under --sla-disable" in page


def test_the_premerge_page_quotes_the_gate_that_compared_nothing() -> None:
    import dataclasses

    from pytest_latency_sla.baseline import Baseline
    from pytest_latency_sla.gate import gated_nothing
    from pytest_latency_sla.settings import Settings

    settings = dataclasses.replace(Settings(), max_regression=0.1, compare="base.json")
    baseline = Baseline("base.json", {("other.py::test_x", 0): {}}, {})
    records: list[Any] = [{"comparison": {"status": "new"}}] * 4
    quoted = " ".join(_page("premerge.md").split())
    assert f'"sla: {gated_nothing(settings, baseline, records)[0]}"' in quoted
    busy = "a busy machine: other processes took 67% of this run's measuring time"
    records = [{"comparison": {"status": "mismatch", "mismatch": [busy]}}] * 2
    assert f'"sla: {gated_nothing(settings, baseline, records)[0]}"' in quoted


def test_the_premerge_page_quotes_the_changed_model_the_gate_could_not_compare() -> None:
    import dataclasses

    from pytest_latency_sla.baseline import Baseline
    from pytest_latency_sla.gate import changed_unchecked
    from pytest_latency_sla.settings import Settings

    settings = dataclasses.replace(Settings(), max_regression=0.1, compare="base.json")
    baseline = Baseline("base.json", {("test_models.py::test_kept", 0): {}}, {})
    busy = "a busy machine: other processes took 67% of this run's measuring time"

    def changed(nodeid: str, sha: str, outcome: str = "passed") -> Any:
        comparison = {"status": "mismatch", "mismatch": [busy], "model_changed": True}
        return {"nodeid": nodeid, "model_sha256": sha, "outcome": outcome, "comparison": comparison}

    one = [changed("test_models.py::test_changed", "a")]
    quoted = " ".join(_page("premerge.md").split())
    assert f'"sla: {changed_unchecked(settings, baseline, one)[0]}"' in quoted
    # Counted by model, the tests named; an xfailed test's fails no run (a review).
    two = [changed("t.py::a", "a"), changed("t.py::b", "a"), changed("t.py::c", "b")]
    said, fails = changed_unchecked(settings, baseline, two, given=False)
    assert said.startswith("--sla-max-regression could not compare 2 changed models with ")
    assert "(t.py::a, t.py::b and 1 more: 3 measured on a busy machine)" in said
    assert "passed them unchecked" in said
    assert not fails
    assert changed_unchecked(settings, baseline, [changed("t.py::x", "a", "xfailed")]) == (
        "",
        False,
    )


def test_the_advisor_page_quotes_a_variant_whose_inputs_differ() -> None:
    from onnx import TensorProto
    from test_advise_inputs import passthrough, prepared

    from pytest_latency_sla.advise import advice_sentence
    from pytest_latency_sla.ort.difference import variant_difference

    float32, float16 = TensorProto.FLOAT, TensorProto.FLOAT16
    mlp = prepared(passthrough(("x", float32, [32, 512]), outputs=["y"]))
    fp16 = variant_difference(mlp, prepared(passthrough(("x", float16, [1, 512]), outputs=["y"])))
    assert fp16 is not None
    entry: AdviceEntry = {
        "name": "fp16",
        "status": "measured",
        "problem": None,
        "p50_s": 1.54e-5,
        "percentile_s": 1.54e-5,
        "p50_ratio": [0.18, 0.16, 0.2],
        "percentile_ratio": [0.18, 0.16, 0.2],
        "margin": None,
        "meets_budget": None,
        "outcome": None,
        "changes_outcome": None,
        "difference": fp16.sentence,
        "comparable": fp16.comparable,
    }
    sentence = advice_sentence(
        [entry],
        subject="fp32 (models/mlp.onnx)",
        budget="50 µs",
        margin=0.48,
        verdict="fail",
    )
    page = (DOCS / "advisor.md").read_text(encoding="utf-8")
    assert f"sla: test_mlp.py::test_mlp_variants: advice: {sentence}\n" in page
    assert f"  -  {fp16.sentence}\n" in page  # the row
    batch = prepared(passthrough(("x", float32, ["batch", 512]), outputs=["y"]))
    fixed = variant_difference(
        batch, prepared(passthrough(("x", float32, [1, 512]), outputs=["y"]))
    )
    assert fixed is not None
    assert f"`{fixed.sentence}`" in " ".join(page.split())
    schema = " ".join(_page("json-schema.md").split())
    small = prepared(passthrough(("x", float16, [1, 64]), outputs=["y"]))
    found = variant_difference(
        prepared(passthrough(("x", float32, [32, 64]), outputs=["y"])), small
    )
    assert found is not None
    assert f"`{found.sentence}`" in schema


def test_the_reruns_section_names_the_start_of_every_regression_failure() -> None:
    from pytest_latency_sla.checkmessages import regression_message, revision_regression_message

    said = 'every regression failure starts with "SLA regression"'
    assert said in " ".join(_page("reports.md").split())
    stored = regression_message(99.0, 0.003, 2.0, 0.001, "base.json", 0.2, 1.0)
    entry: Any = {"ref": "main", "p50_ratio": [3.0, 2.8, 3.2], "base_p50_s": 0.001,
                  "head_p50_s": 0.003, "confidence": 0.99}  # fmt: skip
    for message in (stored, revision_regression_message(entry, 0.2)):
        assert message.startswith("SLA regression"), message
