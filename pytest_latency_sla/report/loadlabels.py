"""The load lines of the human-readable reports: the open-loop run (``rps=``) and the
capacity search, from a record's ``load`` entry (see ``labels.py`` for the rest).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import fmt
from ..schema import BUSY_CPU_SHARE, STEAL_MENTION_SHARE
from .labels import budget_label

if TYPE_CHECKING:
    from ..schema import SlaRecord

__all__ = ["capacity_text", "load_text"]


def load_text(record: SlaRecord) -> str | None:
    """The load line (``rps=``), e.g. ``under load: 300/s (poisson arrivals, up to 32
    threads): achieved 296/s, up to 6 in flight, 6 in the system at most``; None without
    a load run."""
    load = record.get("load")
    if load is None or load["target_rps"] is None:
        return None
    text = (
        f"under load: {fmt.rate(load['target_rps'])} ({load['arrivals']} arrivals, up to "
        f"{load['concurrency']} thread{'s' if load['concurrency'] != 1 else ''}): achieved "
        f"{fmt.rate(load['achieved_rps'])}, up to "
        f"{load['in_flight_max']} in flight, {fmt.count(load['outstanding_max'])} in the system "
        "at most"
    )
    text += (
        f"; {load['late_share'] * 100:.2g}% of requests issued over "
        f"{fmt.duration(load['late_tolerance_s'])} late"
    )
    if load["behind"]:
        text += " (the generator's lost time kept the verdict open)"
    held = load.get("held_share", 0.0)  # absent from older reports
    if held > 0:
        text += (
            f"; {held * 100:.2g}% of requests started late while the callable's own calls "
            "held the CPUs (its cost, not the generator's)"
        )
    unfinished = load.get("unfinished", 0)
    if unfinished:
        # (Stuck calls: each holds its thread, and the requests behind it wait.)
        text += (
            f"; {fmt.count(unfinished)} request{'s' if unfinished != 1 else ''} due never "
            "finished (in a call that had not returned, or waiting for a thread)"
        )
    stolen = load.get("steal_share", 0.0)  # absent from older reports
    if stolen >= STEAL_MENTION_SHARE:
        text += (
            f"; the host took {fmt.share(stolen, 3)} of the CPU time (a virtual machine's steal)"
        )
    others = load.get("others_share")  # absent from older reports, None unknown
    if others is not None and others >= BUSY_CPU_SHARE:
        text += f"; other processes took {fmt.share(others, 2)} of the CPUs"
    return text


def capacity_text(record: SlaRecord) -> str | None:
    """The capacity line, e.g. ``capacity about 610/s at p99 <= 10 ms on 2 cores; 300/s
    uses 49%``; None without a capacity search."""
    load = record.get("load")
    found = load["capacity"] if load is not None else None
    if load is None or found is None:
        return None
    if found.get("problem"):
        return f"capacity: no figure, the search stopped: {found['problem']}"
    within = budget_label(record)
    cores = f"{found['cores']} core{'s' if found['cores'] != 1 else ''}"
    busy = ""
    failed = [step for step in found["steps"] if not step["held"]]
    if found["limited"] == "busy" and failed:
        # The lowest rate that failed (the search halves on below a busy failure until
        # a rate holds).
        last = min(failed, key=lambda step: step["rps"])
        busy = (
            f"the budget failed at {fmt.rate(last['rps'])} while other processes took "
            f"{fmt.share(last.get('others_share', 0.0), 2)} of the CPUs; rerun on a "
            "quieter machine for a figure"
        )
        if not found["rps"]:
            return f"capacity: no figure on {cores}, the search stopped: {busy}"
    if found["limited"] == "time" and not found["rps"]:
        tried = ", ".join(fmt.rate(step["rps"]) for step in found["steps"])
        if not tried:  # (no time was left for it at all: "(0.00 ns) ... (none)")
            return (
                f"capacity: no figure on {cores}, no time was left for the search; give it "
                "more time (sla_timeout, or pytest-timeout's timeout)"
            )
        return (
            f"capacity: no figure on {cores}, the search ran out of time "
            f"({fmt.duration(found['duration_s'])}) before {within} held at a rate tried "
            f"({tried}); give it more time (sla_timeout, or pytest-timeout's timeout)"
        )
    if found["limited"] == "floor" or not found["rps"]:
        lowest = min((step["rps"] for step in found["steps"]), default=0.0)
        return f"capacity: {within} held at no rate tried (down to {fmt.rate(lowest)}) on {cores}"
    about = "at least" if found["limited"] == "generator" or busy else "about"
    text = f"capacity {about} {fmt.rate(found['rps'])} at {within} on {cores}"
    if busy:
        text += f" ({busy})"
    elif found["limited"] == "generator":
        text += " (the highest rate the search tries)"
    elif found["limited"] == "time":
        text += " (the search ran out of time before narrowing it down)"
    if found["used_share"] is not None and load["target_rps"] is not None:
        # Two figures, however small (0.13%, not 0%); of a capacity "at least", at most.
        share = fmt.percent(float(f"{found['used_share']:.2g}"))
        most = "at most " if about == "at least" else ""
        if most and found["used_share"] > 1:
            # "at least 18.4/s; 20.0/s uses at most 110%" read garbled (a new user's trial).
            text += (
                f"; {fmt.rate(load['target_rps'])} is above that: the search cannot say "
                "whether it holds (the test's own verdict at that rate does)"
            )
        else:
            text += f"; {fmt.rate(load['target_rps'])} uses {most}{share}"
    return text
