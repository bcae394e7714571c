"""The report document: one JSON-ready object for a whole run.

Every file report (JSON, Markdown, HTML) and every baseline is a pure function of this
document, and the JSON report *is* it. ``schema.json`` beside this module describes it
(``schema_version`` 1); keep the two in step.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..environment import Environment
    from ..result import SlaRecord

__all__ = [
    "SCHEMA_VERSION",
    "Document",
    "Run",
    "build_document",
    "json_ready",
    "sort_by_margin",
    "xdist_note",
]

#: Version of the document's layout. Bump it on any incompatible change.
SCHEMA_VERSION = 1


class Run(TypedDict):
    """Facts about the run, gathered by the controller."""

    started_at: str  # ISO 8601, UTC
    duration_s: float  # wall time of the session
    interrupted: bool  # Ctrl-C (or another interruption): the results are partial
    exit_status: int  # pytest's exit status
    environment: Environment  # machine and software at the start
    settings: dict[str, Any]  # the sla_* settings in force
    baseline: str | None  # path of --sla-compare's baseline, if any
    xdist_workers: int | None  # pytest-xdist workers, or None without xdist
    xdist_mode: str | None  # "serial" (SLA tests ran alone) or "parallel"; None without xdist


class Document(TypedDict):
    """The whole report."""

    schema_version: int  # SCHEMA_VERSION
    tool: dict[str, str]  # {"name": "pytest-latency-sla", "version": ...}
    run: Run
    totals: dict[str, Any]  # counts: measurements, tests, pass, fail, ... (see schema.json)
    results: list[SlaRecord]  # tightest margin first, then runs without a budget


def _totals(records: Sequence[SlaRecord]) -> dict[str, Any]:
    verdicts = [r["verdict"] for r in records]
    statuses = [r["comparison"]["status"] if r["comparison"] else None for r in records]
    judged = [r for r in records if r["margin"] is not None]
    tightest = min(judged, key=lambda r: r["margin"] or 0.0) if judged else None
    return {
        "measurements": len(records),
        "tests": len({r["nodeid"] for r in records}),
        "pass": verdicts.count("pass"),
        "fail": verdicts.count("fail"),
        "inconclusive": verdicts.count("inconclusive"),
        "no_budget": verdicts.count(None),
        "regressions": statuses.count("regression"),
        "improvements": statuses.count("improvement"),
        "mismatches": statuses.count("mismatch"),
        "tightest_margin": tightest["margin"] if tightest else None,
        "tightest_label": tightest["label"] if tightest else None,
    }


def sort_by_margin(records: Sequence[SlaRecord]) -> list[SlaRecord]:
    """Tightest margin first; measurements without a budget last, in run order."""

    def key(pair: tuple[int, SlaRecord]) -> tuple[int, float, int]:
        index, record = pair
        margin = record["margin"]
        return (1, 0.0, index) if margin is None else (0, margin, index)

    return [record for _, record in sorted(enumerate(records), key=key)]


def build_document(records: Sequence[SlaRecord], run: Run, version: str) -> Document:
    """The report of a run: its facts, totals, and every record, tightest margin first."""
    return Document(
        schema_version=SCHEMA_VERSION,
        tool={"name": "pytest-latency-sla", "version": version},
        run=run,
        totals=_totals(records),
        results=sort_by_margin(records),
    )


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
    """How pytest-xdist workers shared the machine, for every human-readable report."""
    workers, mode = run["xdist_workers"], run["xdist_mode"]
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
