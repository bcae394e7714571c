"""Size sweeps: one symbolic dimension at several sizes, and the largest within budget.

``sla.onnx(path, sweep={"batch": [1, 8, 64, 512]})`` measures the model at each size
(the first as ``sla.onnx()`` always does, the others for the table); this module checks
the argument and turns the per-size results into the record's ``sweep`` entry. Pure: no
pytest, no onnxruntime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from .result import SlaResult
    from .schema import SweepEntry, SweepSize

__all__ = ["Swept", "parse_sweep", "raised_at", "sweep_entry", "sweep_problem", "sweep_sizes"]

_EXAMPLE = "sweep={'batch': [1, 8, 64, 512]}"


def parse_sweep(sweep: object) -> tuple[str, list[int]]:
    """(dimension, sizes in increasing order) of a ``sweep=`` argument; ValueError with
    the sentence otherwise."""
    from collections.abc import Mapping

    if not isinstance(sweep, Mapping) or len(sweep) != 1:
        raise ValueError(
            f"sweep= takes one symbolic dimension and its sizes, e.g. {_EXAMPLE}; got "
            f"{type(sweep).__name__} {sweep!r}"[:300]
        )
    ((name, sizes),) = sweep.items()
    if not isinstance(name, str) or not name:
        raise ValueError(f"sweep= needs a dimension name as its key, e.g. {_EXAMPLE}")
    values = list(sizes) if isinstance(sizes, (list, tuple, range)) else []
    good = all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values)
    if not values or not good:
        raise ValueError(
            f"sweep={{{name!r}: ...}} needs a list of positive whole sizes, e.g. {_EXAMPLE}; "
            f"got {sizes!r}"[:300]
        )
    return name, sorted(set(values))


def sweep_entry(
    dim: str,
    results: Sequence[tuple[int, SlaResult]],
    unmeasured: Sequence[tuple[int, str]] = (),
) -> SweepEntry:
    """The record's entry: per size its p50, the judged percentile, margin and verdict;
    the largest size whose verdict is a pass (None when none, or without a budget); the
    sizes that could not be measured, with why (``unmeasured``, when any)."""
    sizes: list[SweepSize] = []
    for size, result in results:
        percentile = result.percentile(result.judged_percentile)
        sizes.append(
            {
                "size": size,
                "p50_s": result.p50,
                "percentile_s": percentile,
                "margin": result.margin,
                "verdict": None if result.verdict is None else result.verdict.value,
                "samples": result.samples,
                "reason": _reason(result),
            }
        )
    passing = [entry["size"] for entry in sizes if entry["verdict"] == "pass"]
    entry: SweepEntry = {
        "dim": dim,
        "sizes": sizes,
        "largest_meeting": max(passing) if passing else None,
    }
    if unmeasured:
        entry["unmeasured"] = [{"size": size, "problem": why} for size, why in unmeasured]
    return entry


def _reason(result: SlaResult) -> str | None:
    """Why an inconclusive size stayed undecided (the decision's reason); None else."""
    decision = result.sampling.decision
    undecided = result.verdict is not None and result.verdict.value == "inconclusive"
    return decision.reason if undecided and decision is not None else None


def sweep_conflict(dim: str, feeds: object, dims: object) -> str | None:
    """Why ``sweep=`` cannot go with these ``feeds=`` or ``dims=`` (None when it can):
    given feeds have one size, and a dimension given in both would be set twice."""
    from collections.abc import Mapping

    if feeds is not None:
        return (
            f"sweep={{{dim!r}: ...}} measures generated inputs at each size, and feeds= "
            "would fix one size for all of them; leave out feeds=, or measure each size "
            "with its own sla.onnx() call"
        )
    if isinstance(dims, Mapping) and dim in dims:
        return (
            f"sweep={{{dim!r}: ...}} and dims={{{dim!r}: {dims[dim]!r}}} both size {dim!r}; "
            "give it in one of them"
        )
    return None


#: A sweep as measured: the dimension, its sizes, their dims, and the sizes before the
#: first measured at which the model raised, with what it raised (``sla.onnx()``).
Swept = tuple[str, list[int], list[dict[str, int]], list[tuple[int, str]]]


def sweep_problem(problem: str) -> str:
    """A ``dims names ...`` problem of the dimension a ``sweep=`` names, told of the
    sweep, with a remedy a sweep can follow (a trial: "write dims={'batch': <size>}")."""
    problem = "sweep=" + problem.removeprefix("dims")
    problem = problem.replace("write dims={", "write sweep={").replace(": <size>}", ": [<sizes>]}")
    if problem.endswith("by the model") or "every dimension is fixed" in problem:
        problem += "; a size the model fixes cannot be swept (export it with a symbolic one)"
    return problem


def raised_at(problem: str, name: str, size: int, ran: bool = True) -> str:
    """What the model raised at a size of the sweep (``ran``: when run; else ``problem``
    as it is), with the remedy that fits a sweep (its advice may name feeds=, which a
    swept input cannot take)."""
    if not ran:
        return problem
    return f"{problem} (if the model cannot run at {name}={size}, drop that size from sweep=)"


def sweep_sizes(
    sweep: object, feeds: object, dims: Mapping[str, int] | None
) -> tuple[str, list[int], list[dict[str, int]]]:
    """A ``sweep=`` argument beside ``feeds=`` and ``dims=``: (dimension, sizes in
    increasing order, the ``dims`` of each size); ValueError with the sentence when it
    cannot be swept (:func:`parse_sweep`, :func:`sweep_conflict`)."""
    dim, sizes = parse_sweep(sweep)
    problem = sweep_conflict(dim, feeds, dims)
    if problem:
        raise ValueError(problem)
    return dim, sizes, [{**(dims or {}), dim: size} for size in sizes]
