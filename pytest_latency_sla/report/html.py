"""The HTML report: one self-contained file (no scripts, fonts or network).

A pure function of the report document.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from . import fmt
from .terminal import BAND_TEXT, budget_label, change_label

if TYPE_CHECKING:
    from .document import Document

__all__ = ["render"]


def render(document: Document) -> str:
    """The HTML report of a run."""
    records = document["results"]
    compared = any(r["comparison"] is not None for r in records)
    head = ["test", "budget", "measured", "p50", "margin", "band", "verdict", "calls"]
    if compared:
        head.append("change")
    rows = []
    for record in records:
        cells = [
            record["label"],
            budget_label(record),
            fmt.duration(record["measured_s"]),
            fmt.duration(record["p50_s"]),
            fmt.margin(record["margin"]),
            BAND_TEXT.get(record["band"] or "", "-"),
            record["verdict"] or "-",
            fmt.count(record["samples"]),
        ] + ([change_label(record)] if compared else [])
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    header = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>SLA report</title></head><body><h1>SLA report</h1>"
        f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        "</body></html>\n"
    )
