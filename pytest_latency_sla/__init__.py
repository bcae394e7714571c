"""pytest-latency-sla: latency SLAs for ONNX models and callables as ordinary pytest tests.

Importing this package is cheap: onnxruntime is imported only when ``sla.onnx()`` runs.
"""

from __future__ import annotations

from .fixture import SlaFixture, SlaInconclusiveWarning
from .result import Band, Budget, SlaRecord, SlaResult, Subject, Verdict

__version__ = "0.1.0"

__all__ = [
    "Band",
    "Budget",
    "SlaFixture",
    "SlaInconclusiveWarning",
    "SlaRecord",
    "SlaResult",
    "Subject",
    "Verdict",
    "__version__",
]
