"""The example funnel model as a service sees it: under an open-loop request rate, and how
far that rate could go on this machine.

    pytest examples/load --sla-report

See docs/load.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_latency_sla import SlaFixture

FUNNEL = str(Path(__file__).resolve().parent.parent / "funnel" / "funnel.onnx")


@pytest.mark.sla(ms=50, rps=1000)
def test_funnel_at_1000_requests_per_second(sla: SlaFixture) -> None:
    """p99 <= 50 ms with 1,000 requests a second arriving at random (Poisson), each
    timed from when it arrived, queueing included."""
    sla.onnx(FUNNEL)


@pytest.mark.sla(ms=50, rps=1000, capacity=True)
def test_funnel_capacity(sla: SlaFixture) -> None:
    """The same, and the highest rate at which p99 <= 50 ms still holds here: the
    number behind "the traffic of a large site, on a single laptop"."""
    result = sla.onnx(FUNNEL)
    load = result.sampling.load
    assert load is not None
    assert load.capacity is not None
    assert load.capacity.rps >= 1000  # the budget held at the rate it was judged at
