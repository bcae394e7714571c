"""The warning of an inconclusive verdict under ``sla_inconclusive = warn``, at the test's line.

pytest glue: the warning is a ``pytest.PytestWarning``, and it points at the first caller
outside this package (the test, or the fixture that measured), not at the plugin.
"""

from __future__ import annotations

import os
import sys
import warnings

import pytest

__all__ = ["SlaInconclusiveWarning", "warn_inconclusive"]

_HERE = os.path.dirname(os.path.abspath(__file__)) + os.sep  # warnings point past it


class SlaInconclusiveWarning(pytest.PytestWarning):
    """A measurement too close to its budget to call, under ``sla_inconclusive = warn``."""


def warn_inconclusive(message: str) -> None:
    """Warn with ``message``, at the first caller outside this package."""
    level, frame = 1, sys._getframe(0)
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_HERE):
        frame, level = frame.f_back, level + 1
    warnings.warn(SlaInconclusiveWarning(message), stacklevel=level)
