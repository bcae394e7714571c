"""Baselines: load a saved JSON report safely, and compare a measurement with it.

Loading never executes anything (plain ``json``), refuses files that are too large or
too deeply nested, and checks the schema version and the fields the comparison reads
against the report's JSON Schema (:func:`result_problem`, also the merge's check of
shard reports). The comparison is a pure function of two records and two environments.
"""

from __future__ import annotations

import functools
import json
import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .filekind import NOT_REGULAR, is_special
from .schema import (
    BUSY_HERE,
    BUSY_MISMATCH,
    NO_MEDIAN,
    READABLE_VERSIONS,
    SCHEMA_VERSION,
    Comparison,
    json_schema,
)
from .schemacheck import schema_problem

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping

    from .environment import Environment
    from .schema import SlaRecord

__all__ = [
    "MAX_BASELINE_BYTES",
    "NOISE_FLOOR",
    "Baseline",
    "BaselineError",
    "compare",
    "load_baseline",
    "read_report",
    "record_error",
    "result_problem",
    "unmatched",
]

#: A baseline larger than this is refused (raw samples of thousands of tests fit).
MAX_BASELINE_BYTES = 256 * 1024 * 1024
#: The default of ``sla_noise_floor``: changes smaller than this are never called a
#: regression or improvement. Within-run intervals do not see the machine's state
#: changing between runs: on these shared 2-vCPU machines a tiny model flips between
#: about 5.7 and 10 us for seconds at a time (../shared/MEASUREMENTS.md), and the same
#: code measured +58% and -36% against one baseline. Only a change beyond 2x is safe
#: to call there; quiet, dedicated runners can lower it.
NOISE_FLOOR = 1.0

#: Fields of a baseline entry the comparison reads: those every report since schema
#: version 1 holds, and those it reads where present (added since, or optional).
_COMPARED = ("nodeid", "index", "percentile", "measured_s", "interval_s", "p50_s")
_COMPARED_IF_PRESENT = (
    "p50_interval_s",
    "providers",
    "intra_op_threads",
    "inter_op_threads",
    "model_sha256",
    "load",
    "load.target_rps",
    "session_options",
)
#: ... and those it reads where present with all within them (since schema version 1).
_COMPARED_WHOLE = ("inputs",)


class BaselineError(ValueError):
    """A baseline file that cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class Baseline:
    """A loaded baseline: its entries by (node id, index) and its run environment; once
    this run's tests are collected, the entries whose tests are gone from the suite (a
    renamed test's old entry among them: ``renamed.gone``)."""

    path: str
    entries: Mapping[tuple[str, int], Mapping[str, Any]]
    environment: Mapping[str, Any]
    gone: frozenset[tuple[str, int]] = frozenset()

    def entry(self, nodeid: str, index: int) -> Mapping[str, Any] | None:
        """The baseline's record for this measurement, or None (a new test).

        By node id; else the one entry whose node id names the same test from another
        rootdir (one ends with the other after a "/": a suite saved from the repository's
        root and compared from ``tests/``, or back), when exactly one does. Without this,
        every test of such a run read as new, and a 4x slowdown passed the gate."""
        found = self.entries.get((nodeid, index))
        if found is not None:
            return found
        near = [
            entry
            for (other, at), entry in self.entries.items()
            if at == index and (other.endswith("/" + nodeid) or nodeid.endswith("/" + other))
        ]
        return near[0] if len(near) == 1 else None


def unmatched(baseline: Baseline, records: Iterable[SlaRecord]) -> list[str]:
    """The baseline's measurements that no record was compared with, as labels
    (``nodeid``, ``nodeid #2``): a test renamed or removed since, or not selected. A
    renamed test not found by its model (``comparison.renamed_from``) is compared as
    new, so without this its slowdown passes unseen."""
    found = set()
    for record in records:
        entry = baseline.entry(record["nodeid"], record["index"])
        comparison = record.get("comparison")
        if entry is not None:
            found.add((entry["nodeid"], entry["index"]))
        elif comparison is not None and "renamed_from" in comparison:
            found.add((comparison["renamed_from"], record["index"]))
    return [
        nodeid if index == 0 else f"{nodeid} #{index + 1}"
        for nodeid, index in baseline.entries
        if (nodeid, index) not in found
    ]


def load_baseline(path: str) -> Baseline:
    """Read and check a baseline written by ``--sla-save`` (or ``--sla-report=json:``)."""
    fix = "record one with `pytest --sla-save=PATH` on the base branch"
    return _check(path, read_report(path, "baseline", fix), fix)


def read_report(path: str, what: str, fix: str) -> object:
    """The parsed JSON of a report file, read safely: never executed, refused when too
    large or nested too deeply. ``what`` names the file in messages ("baseline"), ``fix``
    says what to do instead; raises :class:`BaselineError`."""
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise BaselineError(f"{what} {path!r} cannot be read ({exc.strerror}); {fix}") from None
    if os.path.isdir(path):
        raise BaselineError(f"{what} {path!r} is a directory; pass the JSON file; {fix}")
    if is_special(path):
        # Its size (0) says nothing: a pipe blocks the read, a device never ends it.
        raise BaselineError(
            f"{what} {path!r} {NOT_REGULAR}, so it was not read (the read would block or "
            f"never end); {fix}"
        )
    too_large = "it is not a report of this plugin (or save it without --sla-raw)"
    if size > MAX_BASELINE_BYTES:
        raise BaselineError(
            f"{what} {path!r} is {size:,} bytes, over the {MAX_BASELINE_BYTES:,} byte limit; "
            f"{too_large}"
        )
    try:
        with open(path, "rb") as handle:
            # One byte past the limit at most: the file may have grown since its size was read.
            data = handle.read(MAX_BASELINE_BYTES + 1)
        if len(data) > MAX_BASELINE_BYTES:
            raise BaselineError(
                f"{what} {path!r} is over the {MAX_BASELINE_BYTES:,} byte limit; {too_large}"
            )
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"{what} {path!r} cannot be read as UTF-8 text ({exc})") from None
    try:
        return json.loads(text)
    except RecursionError:
        # json's C parser refuses nesting deeper than the recursion limit: a hostile or
        # broken file, never a report (reports nest five levels).
        raise BaselineError(
            f"{what} {path!r} nests too deeply to be a report of this plugin; {fix}"
        ) from None
    except ValueError as exc:
        raise BaselineError(f"{what} {path!r} is not valid JSON ({exc}); {fix}") from None


def _check(path: str, document: object, fix: str) -> Baseline:
    if not isinstance(document, dict):
        raise BaselineError(f"baseline {path!r} is not a JSON object; {fix}")
    tool = document.get("tool")
    version = document.get("schema_version")
    ours = isinstance(tool, dict) and tool.get("name") == "pytest-latency-sla"
    if version is None and not ours:
        # Another tool's JSON (pytest-benchmark's, say): not "re-record with this version".
        raise BaselineError(f"baseline {path!r} is not a report of pytest-latency-sla; {fix}")
    if version not in READABLE_VERSIONS or isinstance(version, bool):
        *first, last = (str(v) for v in READABLE_VERSIONS)
        readable = f"{', '.join(first)} and {last}" if first else last
        raise BaselineError(
            f"baseline {path!r} has schema_version {version!r}, this plugin reads "
            f"{readable} (writing {SCHEMA_VERSION}); re-record it with this version ({fix})"
        )
    results = document.get("results")
    run = document.get("run")
    if not isinstance(results, list) or not isinstance(run, dict):
        raise BaselineError(f"baseline {path!r} has no 'results' list or 'run' object; {fix}")
    entries: dict[tuple[str, int], Mapping[str, Any]] = {}
    for position, entry in enumerate(results):
        if not isinstance(entry, dict):
            raise BaselineError(f"baseline {path!r}: results[{position}] is not an object; {fix}")
        problem = result_problem(entry, _COMPARED, _COMPARED_IF_PRESENT, _COMPARED_WHOLE)
        problem = problem or _bounds(entry)
        if problem is not None:
            where = f"baseline {path!r}: results[{position}]"
            raise BaselineError(record_error(where, entry, problem, fix))
        key = (entry["nodeid"], entry["index"])
        if key in entries:
            # Either copy alone would be a silent choice (a hand-edited or concatenated file).
            raise BaselineError(
                f"baseline {path!r}: results[{position}] measures {entry['nodeid']} "
                f"(measurement {entry['index'] + 1}) again, as an earlier entry does (a "
                "report of a run under pytest-xdist's --dist each holds one per worker, "
                "one that collected a test twice under --keep-duplicates two); keep one; "
                f"{fix} without --dist each"
            )
        entries[key] = entry
    environment = run.get("environment")
    environment = environment if isinstance(environment, dict) else {}
    # The comparison reads the onnxruntime version in it.
    wrong = schema_problem(environment.get("packages", {}), {"type": "object"})
    if wrong is not None:
        raise BaselineError(f"baseline {path!r}: run.environment.packages {wrong[1]}; {fix}")
    return Baseline(path, entries, environment)


_ABSENT = object()


def _bounds(entry: Mapping[str, Any]) -> tuple[str, str] | None:
    """A time no measurement gives (above 0, under the clock's nanosecond), or an
    interval no measurement gives (its low end above its high end, or nothing but 0
    around an estimate above 0), as (field, what is wrong); None if sound. Either made
    any slowdown read "unchanged" or an improvement (a hand-edited baseline). (An
    interval need not hold its estimate: from very few, strongly dependent calls the
    plugin's own may not, and a baseline it wrote must load.)"""
    for key, interval_key in (("measured_s", "interval_s"), ("p50_s", "p50_interval_s")):
        value = entry.get(key)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        if 0 < value < 1e-9:
            return key, f"is {value!r}, under a nanosecond: no measurement reads that"
        bounds = _interval(entry, interval_key)
        if bounds is not None and (bounds[0] > bounds[1] or (value > 0 and bounds[1] <= 0)):
            low, high = bounds
            shown = f"is [{low!r}, {high!r}]"
            if low > high:
                return interval_key, f"{shown}, its low end above its high end"
            return interval_key, f"{shown}, nothing but 0 around {key} {value!r}"
    return None


@functools.cache
def _result_schema() -> dict[str, Any]:
    result: dict[str, Any] = json_schema()["$defs"]["result"]
    return result


def result_problem(
    entry: Mapping[str, Any],
    needed: Collection[str] | None = None,
    present: Collection[str] = (),
    whole: Collection[str] = (),
) -> tuple[str, str] | None:
    """The first field of a report's result that the report's schema refuses, as (field,
    what is wrong): ``("p50_s", "is NaN, not a finite number")``; None when it is sound.

    Every field, and all within them, by default (a merge puts them all in its reports);
    else the ``needed`` fields and the ``present`` ones the entry holds (``load.target_rps``
    reaches into an object), not the fields within them (a baseline of an older version
    lacks the fields added since), and the ``whole`` ones it holds, all within them."""
    schema = _result_schema()
    if needed is None:
        found = schema_problem(entry, schema)
        return None if found is None else (found[0].removeprefix("."), found[1])
    for field in whole:
        if field in entry:
            found = schema_problem(entry[field], schema["properties"][field])
            if found is not None:
                return field + found[0], found[1]
    for field in (*needed, *present):
        value: object = entry
        part: Mapping[str, Any] = schema
        for name in field.split("."):
            if not isinstance(value, dict):
                break  # not an object: refused as a field of its own
            value, part = value.get(name, _ABSENT), part["properties"][name]
        else:
            if value is _ABSENT:
                if field in needed:
                    return field, "is missing"
                continue
            found = schema_problem(value, part, complete=False, seconds=field.endswith("_s"))
            if found is not None:
                return field + found[0], found[1]
    return None


def record_error(where: str, entry: Mapping[str, Any], problem: tuple[str, str], fix: str) -> str:
    """The sentence for a result :func:`result_problem` refuses, from where it is (``report
    'a.json': results[0]``) to the fix: ``... results[0].p50_s of t.py::test_x is NaN, not a
    finite number; <fix>``."""
    field, wrong = problem
    nodeid = entry.get("nodeid")
    of = f" of {nodeid}" if isinstance(nodeid, str) and field != "nodeid" else ""
    return f"{where}.{field}{of} {wrong}; {fix}"


def _interval(entry: Mapping[str, Any], key: str = "interval_s") -> tuple[float, float] | None:
    bounds = entry.get(key)
    if (
        isinstance(bounds, list)
        and len(bounds) == 2
        and all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds)
    ):
        return float(bounds[0]), float(bounds[1])
    return None


def mismatches(
    record: SlaRecord,
    entry: Mapping[str, Any],
    environment: Mapping[str, Any],
    baseline_environment: Mapping[str, Any],
) -> list[str]:
    """Configuration that differs between a measurement and its baseline entry.

    Not the model itself: a changed model is what a pull request is reviewed for, so it
    is compared (and labelled, see :func:`model_changed`), never set aside; nor the
    inputs of a changed model, which are part of that change. The same model fed other
    inputs is another workload.
    """
    found = []
    for field in ("percentile", "providers", "intra_op_threads", "inter_op_threads"):
        ours: object = record[field]
        theirs = entry.get(field)
        if ours is not None and theirs is not None and ours != theirs:
            found.append(f"{field} {theirs!r} -> {ours!r}")
    ours_opts, theirs_opts = record.get("session_options"), entry.get("session_options")
    if isinstance(ours_opts, dict) and isinstance(theirs_opts, dict):
        for name in sorted(set(ours_opts) & set(theirs_opts)):
            if ours_opts[name] != theirs_opts[name]:
                found.append(f"{name} {theirs_opts[name]!r} -> {ours_opts[name]!r}")
    ours_in, theirs_in = _inputs(record.get("inputs")), _inputs(entry.get("inputs"))
    if ours_in and theirs_in and ours_in != theirs_in and not model_changed(record, entry):
        # The same model fed other inputs: another workload (a changed model's inputs
        # are part of the change under review).
        found.append(f"inputs {theirs_in} -> {ours_in}")
    ours_load, theirs_load = _load_of(record), _load_of(entry)
    if ours_load != theirs_load:
        found.append(f"load {theirs_load or 'one at a time'} -> {ours_load or 'one at a time'}")
    ours_ort = environment.get("packages", {}).get("onnxruntime")
    theirs_ort = baseline_environment.get("packages", {}).get("onnxruntime")
    if record["kind"] == "onnx" and ours_ort and theirs_ort and ours_ort != theirs_ort:
        found.append(f"onnxruntime {theirs_ort} -> {ours_ort}")
    ours_tracer, theirs_tracer = record.get("tracer"), entry.get("tracer")
    if ours_tracer != theirs_tracer:
        found.append(f"tracer {theirs_tracer or 'none'} -> {ours_tracer or 'none'}")
    ours_cpu, theirs_cpu = environment.get("cpu_model"), baseline_environment.get("cpu_model")
    if ours_cpu and theirs_cpu and ours_cpu != theirs_cpu:
        found.append(f"cpu_model {theirs_cpu!r} -> {ours_cpu!r}")
    return found


def _inputs(inputs: object) -> str:
    """A model's inputs as fed, e.g. ``x: float32[1,64]``, by name; "" for none."""
    if not isinstance(inputs, list):
        return ""
    shown = [
        f"{i.get('name')}: {i.get('dtype')}[{','.join(str(d) for d in shape)}]"
        for i in inputs
        if isinstance(i, dict) and isinstance(shape := i.get("shape"), list)
    ]
    return ", ".join(sorted(shown))


def busy_limit(noise_floor: float) -> float:
    """The share of a measurement's time lost to other processes (``lost_share``) from
    which it is not compared with a baseline: time lost that could slow the calls, on
    average, by half the noise floor (a third at the default floor of 2x), and never
    under 5% (a machine is never quite idle). Its median is then the machine's as much
    as the model's."""
    return max(0.05, 1.0 - 1.0 / (1.0 + noise_floor / 2.0))


def _busy(record: SlaRecord, entry: Mapping[str, Any], noise_floor: float) -> list[str]:
    """The sides measured on a machine too busy to compare, in words."""
    found = []
    for whose, measured in (("of the baseline's measuring time", entry), (BUSY_HERE, record)):
        lost = busy_share(measured)
        if lost >= busy_limit(noise_floor):
            found.append(f"{BUSY_MISMATCH}other processes took {lost:.0%} {whose}")
    return found


def busy_share(entry: Mapping[str, Any]) -> float:
    """The share of a measurement's time that other processes took (``lost_share``; 0
    when unknown)."""
    decision = entry.get("decision")
    lost = decision.get("lost_share") if isinstance(decision, dict) else None
    if isinstance(lost, (int, float)) and not isinstance(lost, bool) and math.isfinite(lost):
        return float(lost)
    return 0.0


def _load_of(entry: Mapping[str, Any]) -> str | None:
    """How the samples were taken: under a load (``300/s poisson, 32 threads``), or None
    for one call at a time (a capacity search alone leaves the samples one at a time)."""
    load = entry.get("load")
    if not load or load.get("target_rps") is None:
        return None
    return f"{load['target_rps']:g}/s {load.get('arrivals')}, {load.get('concurrency')} threads"


def model_changed(record: SlaRecord, entry: Mapping[str, Any]) -> bool:
    """Whether the model's bytes differ from the baseline entry's (both known)."""
    ours, theirs = record["model_sha256"], entry.get("model_sha256")
    return ours is not None and theirs is not None and ours != theirs


def compare(
    record: SlaRecord,
    entry: Mapping[str, Any] | None,
    environment: Environment | Mapping[str, Any],
    baseline_environment: Mapping[str, Any],
    max_regression: float | None = None,
    noise_floor: float = NOISE_FLOOR,
) -> tuple[Comparison, bool]:
    """Compare a measurement with its baseline entry.

    Returns the comparison and whether it must fail the test (a slowdown beyond the
    noise floor and beyond ``max_regression``, a fraction). The **median** is judged: a
    stored baseline and this run were measured at different times, and a tail
    percentile moves with the machine's state far more than the median does (on a
    2-core runner, one CPU-bound process moved an unchanged model's p99 by +1,600% and
    its p50 by +21%, ``benchmarks/stored_baseline.py``). A change counts only beyond
    ``noise_floor`` (a fraction: 1.0 means 2x) either way. The budget percentile's
    change is reported beside it.
    """
    if entry is None:
        return _comparison("new", None, None, None, None, None, False, []), False
    base = float(entry["measured_s"])
    base_interval = _interval(entry)
    percentile_change = record["measured_s"] / base - 1.0 if base > 0 else None
    base_p50 = entry.get("p50_s")
    if not isinstance(base_p50, (int, float)) or isinstance(base_p50, bool) or base_p50 <= 0:
        base_p50 = None
    change = record["p50_s"] / base_p50 - 1.0 if base_p50 else None
    mismatch = mismatches(record, entry, environment, baseline_environment)
    if base_p50 is None:
        # Nothing to judge the median against: never "unchanged", which would pass a
        # slowdown of any size.
        mismatch.append(NO_MEDIAN)
    changed = model_changed(record, entry)
    parts = (base, base_interval, base_p50, percentile_change)
    if mismatch or base_p50 is None or change is None or not math.isfinite(change):
        status = "mismatch" if mismatch else "unchanged"
        return _comparison(status, *parts, change, False, mismatch, changed), False
    # The smallest change both runs' intervals on the median allow must clear the floor,
    # not just the point estimates (a baseline written before p50 intervals: its p50).
    base_low, base_high = _interval(entry, "p50_interval_s") or (base_p50, base_p50)
    low, high = record["p50_interval_s"]
    # Time other processes took can only slow a measurement: a regression is claimed only
    # beyond what this run lost could explain, an improvement beyond what the baseline
    # lost could; and "unchanged" never from a side too busy to tell (busy_limit).
    slower = base_high > 0 and low * (1.0 - busy_share(record)) / base_high - 1.0 > noise_floor
    faster = high > 0 and base_low * (1.0 - busy_share(entry)) / high - 1.0 > noise_floor
    busy = [] if slower or faster else _busy(record, entry, noise_floor)
    if busy:
        return _comparison("mismatch", *parts, change, False, busy, changed), False
    status = "regression" if slower else "improvement" if faster else "unchanged"
    fails = slower and max_regression is not None and change > max_regression
    comparison = _comparison(status, *parts, change, slower or faster, [], changed)
    return comparison, fails


def _comparison(
    status: str,
    base: float | None,
    interval: tuple[float, float] | None,
    base_p50: float | None,
    percentile_change: float | None,
    change: float | None,
    significant: bool,
    mismatch: list[str],
    changed: bool = False,
) -> Comparison:
    return Comparison(
        status=status,
        baseline_measured_s=base,
        baseline_interval_s=list(interval) if interval else None,
        baseline_p50_s=base_p50,
        percentile_change=percentile_change,
        change=change,
        significant=significant,
        mismatch=mismatch,
        model_changed=changed,
    )
