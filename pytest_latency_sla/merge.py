"""Merging the JSON reports of CI shards into the report of one run.

A large model zoo is split across CI jobs (``pytest --splits``, a matrix of test paths);
each job writes its JSON report, and one job merges them
(``python -m pytest_latency_sla merge shard-*.json --sla-report=md``). Pure: documents
in, a document out; reading files safely is :func:`baseline.read_report`'s.

Latencies measured on different machines, or with different onnxruntime builds or
settings, do not belong in one table: shards from different environments are refused
unless the caller allows it, and a merged report then says so.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .baseline import BaselineError, read_report, record_error, result_problem
from .environment import differences
from .schema import SCHEMA_VERSION, Run, Shard, SlaRecord, Unmeasured, json_schema
from .schemacheck import schema_problem

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from .environment import Environment

__all__ = ["MergeError", "ShardReport", "load_shard", "merge_runs", "merged_records"]

#: Settings that say where reports go or what else is reported, not how anything was
#: measured: shards differ in them by design (each writes its own file).
OUTPUT_SETTINGS = frozenset({"report", "save", "raw", "advise"})
_FIX = "pass the JSON report each shard wrote with --sla-report=json:PATH"


class MergeError(ValueError):
    """Shard reports that cannot be merged; the message says why and what to do."""


@dataclass(frozen=True)
class ShardReport:
    """One shard's JSON report, checked: its path as given and its parts."""

    path: str
    run: Mapping[str, Any]
    results: list[SlaRecord]
    earlier_attempts: list[SlaRecord]
    #: SLA tests that failed without a measurement (none in reports written before the
    #: field existed).
    unmeasured: list[Unmeasured] = dataclasses.field(default_factory=list)

    @property
    def environment(self) -> Environment:
        environment: Environment = self.run["environment"]
        return environment


def load_shard(path: str) -> ShardReport:
    """Read and check one shard's JSON report; :class:`MergeError` says what is wrong."""
    try:
        document = read_report(path, "report", _FIX)
    except BaselineError as exc:
        raise MergeError(str(exc)) from None
    if not isinstance(document, dict):
        raise MergeError(f"report {path!r} is not a JSON object; {_FIX}")
    tool = document.get("tool")
    if not isinstance(tool, dict) or tool.get("name") != "pytest-latency-sla":
        raise MergeError(f"report {path!r} is not a report of pytest-latency-sla; {_FIX}")
    version = document.get("schema_version")
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise MergeError(
            f"report {path!r} has schema_version {version!r}, and merge reads "
            f"{SCHEMA_VERSION} only; run that shard again with this version of the plugin"
        )
    run = document.get("run")
    if not isinstance(run, dict):
        raise MergeError(f"report {path!r} has no 'run' object; {_FIX}")
    # Every field, as the schema has it: the merged report is made of them. (A report of
    # one run written before merged_from existed lacks it.)
    wrong = schema_problem({"merged_from": None} | run, json_schema()["properties"]["run"])
    if wrong is not None:
        raise MergeError(f"report {path!r}: run{wrong[0]} {wrong[1]}; {_FIX}")
    when = _started(run)
    try:
        if when is not None:
            when + datetime.timedelta(seconds=float(run["duration_s"]))
    except OverflowError:
        raise MergeError(
            f"report {path!r}: run.duration_s is {run['duration_s']!r}, which from its "
            f"started_at ends past the last date there is; {_FIX}"
        ) from None
    results = _records(path, document, "results")
    attempts = _records(path, document, "earlier_attempts")
    return ShardReport(path, run, results, attempts, _unmeasured(path, document))


def _unmeasured(path: str, document: Mapping[str, Any]) -> list[Unmeasured]:
    entries = document.get("unmeasured", [])
    if not isinstance(entries, list):
        raise MergeError(f"report {path!r}: 'unmeasured' is not a list; {_FIX}")
    found: list[Unmeasured] = []
    for position, entry in enumerate(entries):
        fields = ("nodeid", "phase", "message")
        if not isinstance(entry, dict) or not all(isinstance(entry.get(f), str) for f in fields):
            raise MergeError(
                f"report {path!r}: unmeasured[{position}] is not an object with the strings "
                f"{', '.join(fields)}; {_FIX}"
            )
        found.append(
            {"nodeid": entry["nodeid"], "phase": entry["phase"], "message": entry["message"]}
        )
    return found


def _records(path: str, document: Mapping[str, Any], key: str) -> list[SlaRecord]:
    entries = document.get(key, [])
    if not isinstance(entries, list):
        raise MergeError(f"report {path!r}: {key!r} is not a list; {_FIX}")
    records: list[SlaRecord] = []
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise MergeError(f"report {path!r}: {key}[{position}] is not an object; {_FIX}")
        # Every field, and all within them: the merged reports read them all.
        problem = result_problem(entry)
        if problem is not None:
            where = f"report {path!r}: {key}[{position}]"
            raise MergeError(record_error(where, entry, problem, _FIX))
        record: SlaRecord = entry  # type: ignore[assignment]  # checked above
        if record["throughput"] is None:
            # JSON's null for an infinite rate (a mean of 0 ns: a coarse clock), as the
            # reports were made from; written back as null.
            record["throughput"] = math.inf
        records.append(record)
    return records


def differences_from(first: ShardReport, shard: ShardReport) -> list[str]:
    """What differs between two shards that bears on latency: environment (machine,
    Python, the packages that time a model) and the settings of the measurement."""
    found = differences(first.environment, shard.environment)
    ours, theirs = first.run["settings"], shard.run["settings"]
    for name in sorted((ours.keys() | theirs.keys()) - OUTPUT_SETTINGS):
        if ours.get(name) != theirs.get(name):
            found.append(f"sla_{name} {ours.get(name)!r} vs {theirs.get(name)!r}")
    return found


def merged_records(shards: Sequence[ShardReport]) -> tuple[list[SlaRecord], list[SlaRecord]]:
    """(results, earlier attempts) of every shard, each measurement once.

    A measurement (test and index) in two shards means a report passed twice or shards
    that overlap: refused, since either copy alone would be a silent choice.
    """
    seen: dict[tuple[str, int], str] = {}
    results: list[SlaRecord] = []
    attempts: list[SlaRecord] = []
    for shard in shards:
        own: set[tuple[str, int]] = set()
        for record in shard.results:
            key = (record["nodeid"], record["index"])
            if key in own:
                raise MergeError(
                    f"{shard.path!r} holds {record['nodeid']} (measurement {record['index'] + 1}) "
                    "more than once: a report of a run under pytest-xdist's --dist each holds "
                    "each test once per worker, and is one run already (one that collected a "
                    "test twice under --keep-duplicates holds it twice); merge the reports of "
                    "runs that split the tests"
                )
            if key in seen:
                raise MergeError(
                    f"{record['label']} is in both {seen[key]!r} and {shard.path!r}: shards "
                    "must measure different tests; pass each shard's report once"
                )
            seen[key] = shard.path
            own.add(key)
            results.append(record)
        attempts += shard.earlier_attempts
    return results, attempts


def _started(run: Mapping[str, Any]) -> datetime.datetime | None:
    try:
        when = datetime.datetime.fromisoformat(str(run["started_at"]).replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=datetime.timezone.utc)


def _exit_status(statuses: Sequence[int]) -> int:
    """The merged run's exit status: the worst failure of any shard (pytest's codes 1-4),
    5 when no shard collected a test, else 0."""
    failures = [s for s in statuses if s not in (0, 5)]
    if failures:
        return max(failures)
    return 5 if statuses and all(s == 5 for s in statuses) else 0


def _shards(shard: ShardReport, found: list[str]) -> list[Shard]:
    """The entries for ``run.merged_from``: a merged report merged again keeps its
    shards, not itself."""
    earlier = shard.run.get("merged_from")
    if isinstance(earlier, list) and earlier:
        return list(earlier)
    run = shard.run
    return [
        Shard(
            path=shard.path,
            started_at=str(run["started_at"]),
            duration_s=float(run["duration_s"]),
            exit_status=int(run["exit_status"]),
            interrupted=bool(run["interrupted"]),
            measurements=len(shard.results),
            environment=shard.environment,
            differences=found,
            xdist_workers=run["xdist_workers"],
            xdist_mode=run["xdist_mode"],
        )
    ]


def merge_runs(shards: Sequence[ShardReport], *, allow_mixed: bool = False) -> Run:
    """The run facts of the merged report: the first shard's environment and settings,
    the span from the first start to the last end, the worst exit status, every shard
    in ``merged_from``. Refuses shards from different environments or settings unless
    ``allow_mixed`` (the reports then name the differences)."""
    if not shards:
        raise MergeError("no reports to merge; pass the JSON report of each shard")
    apart = [differences_from(shards[0], shard) for shard in shards]
    found = [
        f"{d} ({shards[0].path} vs {s.path})"
        for s, ds in zip(shards, apart, strict=True)
        for d in ds
    ]
    if found and not allow_mixed:
        shown = "; ".join(found[:3]) + (f"; and {len(found) - 3} more" if len(found) > 3 else "")
        raise MergeError(
            f"the shards differ in what bears on latency: {shown}. Latencies from "
            "different machines, software or settings do not belong in one table: merge "
            "each environment's shards apart, or pass --allow-mixed to merge them anyway "
            "(the report then says so)"
        )
    first = shards[0].run
    starts = [_started(s.run) for s in shards]
    known = [
        (when, float(s.run["duration_s"])) for when, s in zip(starts, shards, strict=True) if when
    ]
    if known:
        begin = min(when for when, _ in known)
        end = max(when + datetime.timedelta(seconds=d) for when, d in known)
        started_at = begin.isoformat(timespec="seconds").replace("+00:00", "Z")
        duration = (end - begin).total_seconds()
    else:
        started_at, duration = str(first["started_at"]), float(first["duration_s"])
    workers = [w for s in shards if isinstance(w := s.run["xdist_workers"], int)]
    modes = {s.run["xdist_mode"] for s in shards}
    run = Run(
        started_at=started_at,
        duration_s=duration,
        interrupted=any(bool(s.run["interrupted"]) for s in shards),
        exit_status=_exit_status([int(s.run["exit_status"]) for s in shards]),
        environment=shards[0].environment,
        settings=dict(first["settings"]),
        setting_units=dict(first.get("setting_units") or {}),
        baseline=first["baseline"],
        xdist_workers=max(workers) if workers else None,
        xdist_mode="parallel" if "parallel" in modes else "serial" if "serial" in modes else None,
        merged_from=[
            e for shard, ds in zip(shards, apart, strict=True) for e in _shards(shard, ds)
        ],
    )
    lists: list[Any] = [s.run.get("baseline_unmatched") for s in shards]
    if all(isinstance(found, list) for found in lists):
        # Each shard measured a part: missing from the whole when no shard measured it.
        head, *rest = lists
        run["baseline_unmatched"] = [m for m in head if all(m in r for r in rest)]
    return run
