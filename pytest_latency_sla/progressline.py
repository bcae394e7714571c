"""The progress line of a long measurement: how far it got and what a verdict needs.

No pytest: ``fixture.py`` writes it, from ``sampling.Progress``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import fmt

if TYPE_CHECKING:
    from collections.abc import Callable

    from .sampling import Progress

__all__ = ["progress_line", "reporter"]


def progress_line(label: str, progress: Progress) -> str:
    """A long measurement's progress, e.g. ``sla: test_x.py::test_y: 312 calls in 10 s
    (32.1 ms per call); a verdict needs about 613 calls, about 10 s more``."""
    took = fmt.duration(progress.elapsed_ns / 1e9)
    unit, per_call = "calls", progress.per_call_ns / 1e9
    if progress.rate:
        unit, per_call = "requests", 1.0 / progress.rate
        head = (
            f"sla: {label}: {fmt.count(progress.calls)} requests judged in {took} at "
            f"{fmt.rate(progress.rate)}"
        )
    else:
        head = (
            f"sla: {label}: {fmt.count(progress.calls)} calls in {took} "
            f"({fmt.duration(per_call)} per call)"
        )
    need = progress.needed_calls
    if progress.until_ns is not None and need is not None:  # (no budget: no verdict)
        more = min(
            (need - progress.calls) * per_call, (progress.until_ns - progress.elapsed_ns) / 1e9
        )
        return (
            f"{head}; no budget: it stops at {fmt.count(need)} calls or after "
            f"{fmt.duration(progress.until_ns / 1e9)}, about {fmt.duration(max(0.0, more))} more"
        )
    if need is None:
        return f"{head}; no verdict in sight yet"
    if need <= progress.calls:
        return f"{head}; enough for a verdict, due at the next look"
    more = (need - progress.calls) * per_call
    return (
        f"{head}; a verdict needs about {fmt.count(need)} {unit}, about {fmt.duration(more)} more"
    )


def reporter(write: Callable[[str], None] | None, label: str) -> Callable[[Progress], None]:
    """The sampler's progress as lines of :func:`progress_line` for ``write`` (the
    terminal), labelled ``label``; nothing without ``write``."""

    def report(progress: Progress) -> None:
        if write is not None:
            write(progress_line(label, progress))

    return report
