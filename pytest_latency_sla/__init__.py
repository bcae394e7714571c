"""pytest-latency-sla: latency SLAs for ONNX models and callables as ordinary pytest tests.

Importing this package is cheap: the public names load on first use, numpy when a
result is made, onnxruntime only when ``sla.onnx()`` runs, so a suite without SLA tests
pays next to nothing for the plugin.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .fixture import SlaFixture
    from .inconclusive import SlaInconclusiveWarning
    from .result import Band, Budget, SlaResult, Subject, Verdict
    from .schema import SlaRecord

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

_HOMES = {
    "SlaFixture": "fixture",
    "SlaInconclusiveWarning": "inconclusive",
    "Band": "result",
    "Budget": "result",
    "SlaRecord": "schema",
    "SlaResult": "result",
    "Subject": "result",
    "Verdict": "result",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
