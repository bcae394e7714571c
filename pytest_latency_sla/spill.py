"""pytest-xdist glue: a worker's measurements kept on disk until their report is sent.

A worker sends a test's records with the report of the phase they are judged in. A
worker that crashes after measuring (a native crash later in the same test, ``os._exit``)
sends no report, and its measurements were lost. So each worker writes the records of
its current test to a file in a folder the controller hands it, and empties the file
once they are on a report; the controller reads a crashed worker's file.
"""

from __future__ import annotations

import contextlib
import json
import os
from typing import TYPE_CHECKING

from .workers import WorkerFolder

if TYPE_CHECKING:
    import pytest

    from .schema import SlaRecord

__all__ = ["SpillController", "pending_path", "write_pending"]

#: The ``workerinput`` key of the folder.
SPILL_KEY = "sla_spill_dir"


class SpillController(WorkerFolder):
    """Hands every worker the folder; reads what a crashed worker left there (without a
    folder, a crashed worker's measurements are lost)."""

    def __init__(self) -> None:
        super().__init__(SPILL_KEY, "pytest-latency-sla-spill-")

    def left_by(self, worker: str, nodeid: str) -> list[SlaRecord]:
        """The records of ``nodeid`` that ``worker`` made and never sent."""
        if self.folder is None or not worker:
            return []
        try:
            with open(os.path.join(self.folder, f"{worker}.json"), encoding="utf-8") as file:
                found: list[SlaRecord] = json.load(file)
        except (OSError, ValueError):
            return []
        return [r for r in found if isinstance(r, dict) and r.get("nodeid") == nodeid]


def pending_path(config: pytest.Config) -> str | None:
    """This worker's file, or None (not a worker, or no folder handed to it)."""
    workerinput = getattr(config, "workerinput", None) or {}
    folder, worker = workerinput.get(SPILL_KEY), workerinput.get("workerid")
    return os.path.join(folder, f"{worker}.json") if folder and worker else None


def write_pending(path: str, records: list[SlaRecord]) -> None:
    """Replace the file with the records not yet sent (whole: written, then renamed)."""
    with contextlib.suppress(OSError, TypeError, ValueError):
        temporary = f"{path}.tmp"
        with open(temporary, "w", encoding="utf-8") as file:
            json.dump(records, file)
        os.replace(temporary, path)
