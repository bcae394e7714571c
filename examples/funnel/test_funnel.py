"""The example SLA suite: a 48-parameter funnel model behind a 50 ms p99 budget.

Run it with ``pytest examples/funnel --sla-report``. The margin column shows how far
under budget the model is: at thousands of x, further optimization buys nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

if TYPE_CHECKING:
    import numpy.typing as npt

    from pytest_latency_sla import SlaFixture

MODEL = Path(__file__).with_name("funnel.onnx")


@pytest.mark.sla(ms=50)
def test_funnel_model(sla: SlaFixture) -> None:
    """Budget on p99 (the default percentile): 50 ms per call at batch 1."""
    result = sla.onnx(MODEL)
    assert result.samples > 0


@pytest.mark.sla(ms=50, percentile=95)
def test_funnel_batch_of_64(sla: SlaFixture) -> None:
    """A symbolic dimension sized by name: the ``batch`` axis of the model's input."""
    result = sla.onnx(MODEL, dims={"batch": 64})
    assert result.subject.inputs == (("features", "float32[64,6]"),)


@pytest.mark.sla(us=500)
def test_preprocessing(sla: SlaFixture) -> None:
    """Any callable, with its arguments: here the feature scaling before the model."""
    raw = np.arange(6, dtype=np.float32)

    def scale(values: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        scaled: npt.NDArray[np.float32] = (values - values.mean()) / (values.std() + 1e-6)
        return scaled

    sla.measure(scale, raw)
