"""Markup helpers shared by the HTML report and its SVG charts: escaping, guarded numbers,
the banner of unmeasured tests.

Numbers are read with care: a document loaded from JSON holds None where a value was
infinite (JSON has no Infinity).
"""

from __future__ import annotations

import math
from html import escape
from importlib import resources
from typing import TYPE_CHECKING, Any

from .. import fmt

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from ..schema import Unmeasured

__all__ = [
    "baseline_banners",
    "css",
    "duration",
    "esc",
    "finite",
    "setting_text",
    "unmeasured_banner",
]


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


def unmeasured_banner(entries: Sequence[Unmeasured]) -> str:
    """The banner listing the SLA tests that failed without a measurement ("" if none)."""
    if not entries:
        return ""
    from .labels import unmeasured_heading

    items = "".join(
        f"<li><code>{esc(e['nodeid'])}</code> ({esc(e['phase'])}): {esc(e['message'])}</li>"
        for e in entries
    )
    heading = esc(unmeasured_heading(len(entries)))
    return f'<div class="banner" role="alert"><strong>{heading}</strong>:<ul>{items}</ul></div>'


def baseline_banners(run: Mapping[str, Any]) -> str:
    """The banners naming the baseline's measurements the run did not make, and a gate
    it could not apply ("" if neither)."""
    from .document import no_gate_line, unmatched_line

    # (The sentences' own words need no escaping; the test ids are escaped, as code.)
    missing = unmatched_line(run, lambda nodeid: f"<code>{esc(nodeid)}</code>")
    banners = ""
    if missing:
        text = missing[0].upper() + missing[1:]
        banners += f'<div class="banner"><strong>Not measured.</strong> {text}</div>'
    ungated = no_gate_line(run)
    if ungated:
        text = esc(ungated[0].upper() + ungated[1:])
        banners += f'<div class="banner"><strong>No gate.</strong> {text}.</div>'
    return banners


def setting_text(value: object, unit: str | None = None) -> str:
    """A setting as the docs write it, by its unit (``run.setting_units``): ``100%`` for a
    share stored as 1.0, ``20 s``, ``1.5x``; as stored without one."""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or "-"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "-" if value is None else str(value)
    number = value * 100 if unit == "fraction" else value
    # A count as a count (1,000,000), not as %g writes it (1e+06).
    text = f"{number:,}" if isinstance(number, int) else f"{number:g}"
    return text + {"fraction": "%", "%": "%", "s": " s", "x": "x"}.get(unit or "", "")
