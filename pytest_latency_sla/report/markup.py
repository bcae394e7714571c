"""Markup helpers shared by the HTML report and its SVG charts: escaping, guarded numbers.

Numbers are read with care: a document loaded from JSON holds None where a value was
infinite (JSON has no Infinity).
"""

from __future__ import annotations

import math
from html import escape
from importlib import resources

from .. import fmt

__all__ = ["css", "duration", "esc", "finite"]


def esc(value: object) -> str:
    """Text (or an attribute value) escaped for HTML and XML."""
    return escape(str(value), quote=True)


def finite(value: object) -> float | None:
    """A finite number, or None (JSON documents hold None for infinities)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def duration(value: object) -> str:
    """A duration as ``fmt.duration`` writes it, or ``-`` when it is not a finite number."""
    number = finite(value)
    return fmt.duration(number) if number is not None else "-"


def css() -> str:
    """The HTML page's style sheet, ``html.css`` beside this module, inlined in every page."""
    return (
        resources.files("pytest_latency_sla.report")
        .joinpath("html.css")
        .read_text(encoding="utf-8")
    )
