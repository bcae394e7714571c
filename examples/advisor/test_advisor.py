"""The advisor, cold start and size sweeps on the example funnel model.

    pytest examples/advisor --sla-report

Each test is one question a team asks before it spends a week optimizing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_latency_sla import SlaFixture

FUNNEL = str(Path(__file__).resolve().parent.parent / "funnel" / "funnel.onnx")


@pytest.mark.sla(ms=50)
def test_would_int8_or_threads_help(sla: SlaFixture) -> None:
    """Time int8, the graph optimization levels and thread counts beside the model."""
    sla.onnx(FUNNEL, advise=True)


@pytest.mark.sla(ms=50, cold_ms=500)
def test_cold_start(sla: SlaFixture) -> None:
    """Session creation plus the first call, in fresh processes, within 500 ms."""
    sla.onnx(FUNNEL)


@pytest.mark.sla(ms=1)
def test_largest_batch_within_1_ms(sla: SlaFixture) -> None:
    """The largest batch that still answers within 1 ms at p99."""
    sla.onnx(FUNNEL, sweep={"batch": [1, 64, 1024, 16384]})
