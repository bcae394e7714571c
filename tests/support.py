"""Helpers shared by the end-to-end tests: short sampling settings and run output.

Test modules import it as a sibling module (``tests/`` has no ``__init__.py``, so pytest
puts the folder on ``sys.path``), like ``onnx_models`` and ``synthetic``.
"""

from __future__ import annotations

import json
import os
import re
from typing import TYPE_CHECKING, Any

import jsonschema
import numpy as np
import pytest

from pytest_latency_sla.sampling import Sampling
from pytest_latency_sla.schema import json_schema

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

#: Short warmup and sampling, for runs where the timing itself is not the subject: each
#: measurement takes a fraction of a second; one that a busy test machine leaves
#: undecided samples on toward its projected verdict for 5 s at most, not the default 60.
FAST = (
    "--sla-warmup-time=0.005",
    "--sla-min-time=0.005",
    "--sla-max-time=0.5",
    "--sla-time-limit=5",
)
#: The same settings as ini lines.
FAST_INI = "sla_warmup_time = 0.005\nsla_min_time = 0.005\nsla_max_time = 0.5\nsla_time_limit = 5\n"

#: The smallest baseline that ``--sla-compare`` accepts: no results.
EMPTY_BASELINE = '{"schema_version": 1, "run": {}, "results": []}'


def output(result: pytest.RunResult) -> str:
    """Everything the run printed, stdout and stderr."""
    return result.stdout.str() + "\n" + result.stderr.str()


def skip_if_too_busy_to_compare(*results: pytest.RunResult) -> None:
    """Skip a test of a stored baseline's comparison when a run of it found the machine
    too busy to compare (a ``mismatch`` by design, ``baseline.busy_limit``): the outcome
    it checks cannot be had on such a machine. Quiet, every assertion runs."""
    from pytest_latency_sla.schema import BUSY_MISMATCH

    for result in results:
        for line in output(result).splitlines():
            # (The comparison's note, or --sla-save's on the baseline it wrote.)
            if BUSY_MISMATCH + "other processes took" in line or (
                "--sla-save wrote the baseline" in line and "other processes took" in line
            ):
                pytest.skip(f"too busy to compare with a baseline here: {line.strip()}")


def assert_no_internal_error(result: pytest.RunResult) -> None:
    """The plugin did not crash pytest."""
    text = output(result)
    assert "INTERNALERROR" not in text, text
    assert result.ret != pytest.ExitCode.INTERNAL_ERROR


#: A file of the plugin's named in a traceback (``test_load.py`` is not ``load.py``).
PLUGIN_FILE = re.compile(
    r"pytest_latency_sla[/\\]|(?<![\w.])(fixture|runner|sampling|load|loadgen|capacity|isolate)\.py"
)


def failure_section(result: pytest.RunResult, test: str) -> str:
    """What pytest printed for the failure of ``test`` (a function's name): from its
    ``____ test ____`` header to the next header or the summary (not to the ``_ _ _``
    between the entries of its traceback)."""
    lines = result.stdout.lines
    start = next(n for n, line in enumerate(lines) if re.fullmatch(rf"_+ {test} _+", line))
    header = re.compile(r"_{2,} .+ _{2,}|={2,} .+ ={2,}")
    end = next((n for n in range(start + 1, len(lines)) if header.fullmatch(lines[n])), len(lines))
    return "\n".join(lines[start:end])


def report_schema() -> dict[str, Any]:
    """The JSON schema of the plugin's JSON report, as shipped in the package."""
    return json_schema()


def load_report(path: Path) -> dict[str, Any]:
    """A JSON report written by a run, checked against the schema."""
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.validate(document, report_schema())
    return document


def make_sampling(samples_ns: Sequence[int], **fields: Any) -> Sampling:
    """What a sampler could have observed: these samples (read-only), and plausible
    values for the rest; ``fields`` overrides any of them."""
    array = np.array(samples_ns, dtype=np.int64)
    array.setflags(write=False)
    values: dict[str, Any] = {
        "cold_start_ns": 4_500_000,
        "warmup_calls": 128,
        "warmup_ns": 60_000_000,
        "duration_ns": int(array.sum()),
        "chunks": 3,
        "looks": 2,
        "stop_reason": "decided",
        "timer_overhead_ns": 45,
        "decision": None,
    }
    values.update(fields)
    return Sampling(samples_ns=array, **values)


def make_special(at: Path, kind: str) -> None:
    """Make ``at`` a pipe (``kind`` "fifo") or a link to /dev/zero ("dev-zero"); skip the
    test where the platform has neither. Read with the ``nothing_special_opened`` fixture,
    so that a missing check fails the test instead of hanging it."""
    if kind == "fifo":
        if not hasattr(os, "mkfifo"):
            pytest.skip("no os.mkfifo on this platform")
        os.mkfifo(at)
    else:
        if not os.path.exists("/dev/zero"):
            pytest.skip("no /dev/zero on this platform")
        at.symlink_to("/dev/zero")
