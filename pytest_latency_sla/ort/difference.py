"""How a variant's inputs and outputs differ from the original model's, and whether its
time still compares with the original's: one sentence for the advisor's row.

A variant is timed on its own feeds: the given ones (shared, so they are the same) and
the rest generated from its own signature. A variant exported with a fixed batch of 1
beside an original that takes 32, or with float16 inputs for float32 ones, is fed other
data, and its time says nothing of the original's work (a batch-1 variant reads 30x
faster). Names alone do not change the work: same types and shapes, in any order, is
the same work under other names (generated values are drawn in input order from one
seed, so they are even the same numbers).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .signature import _signature

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .session import PreparedModel

__all__ = ["Difference", "variant_difference"]

#: One input or output: its name, how it is written (float32[batch,64]), and what
#: compares (a declared symbolic or unknown size matches any other).
_Port = tuple[str, str, object]


@dataclass(frozen=True)
class Difference:
    """How a variant's inputs or outputs differ from the original's, in one sentence."""

    sentence: str
    #: False when it was fed other data than the original (an input's type or shape, or
    #: the number of inputs, differs): its time and ratio do not compare.
    comparable: bool


def variant_difference(original: PreparedModel, variant: PreparedModel) -> Difference | None:
    """How ``variant``'s inputs (as fed, then as declared) and declared outputs differ
    from ``original``'s; None when they do not."""
    fed: list[_Port] = [(name, text, text) for name, text in variant.subject.inputs]
    fed_original: list[_Port] = [(name, text, text) for name, text in original.subject.inputs]
    inputs = _phrases("input", fed, fed_original)
    if Counter(t for _, t, _ in fed) != Counter(t for _, t, _ in fed_original):
        # Its outputs follow from other inputs (a batch of 1 gives a batch of 1): that
        # its time does not compare is what the row must say.
        how = (
            "each was fed inputs generated from its own signature, so " if variant.generated else ""
        )
        return Difference(
            f"inputs differ from the original's: {', '.join(inputs)}; {how}its time is "
            "not comparable",
            comparable=False,
        )
    parts: list[str] = []
    if inputs:
        parts.append(f"inputs named differently from the original's: {', '.join(inputs)}")
    else:
        declared = _phrases(
            "input",
            _declared(variant.session.get_inputs(), loose=False),
            _declared(original.session.get_inputs(), loose=False),
        )
        if declared:
            parts.append(
                f"inputs declared differently from the original's: {', '.join(declared)}; "
                "both were timed on the same feeds"
            )
    outputs = _phrases(
        "output",
        _declared(variant.session.get_outputs(), loose=True),
        _declared(original.session.get_outputs(), loose=True),
    )
    if outputs:
        parts.append(f"outputs differ from the original's: {', '.join(outputs)}")
    return Difference("; ".join(parts), comparable=True) if parts else None


def _declared(nodes: Sequence[Any], *, loose: bool) -> list[_Port]:
    """Inputs or outputs as the model declares them. A size that is not fixed is ``"?"``
    (matching only another such), or with ``loose`` None (matching any size), and so is
    a shape not declared at all: exporters declare outputs less carefully than inputs."""
    ports: list[_Port] = []
    for node in nodes:
        free = None if loose else "?"
        dims = tuple(d if isinstance(d, int) and d >= 0 else free for d in node.shape or [])
        ports.append((str(node.name), _signature(node), (str(node.type), dims or free)))
    return ports


def _same(ours: object, theirs: object) -> bool:
    """Whether two compared forms match: equal, where a size (or a shape) that is None
    matches any."""
    if not isinstance(ours, tuple) or not isinstance(theirs, tuple):
        return ours == theirs
    (kind, dims), (other_kind, other_dims) = ours, theirs
    if kind != other_kind:
        return False
    if dims is None or other_dims is None:
        return True
    return len(dims) == len(other_dims) and all(
        a is None or b is None or a == b for a, b in zip(dims, other_dims, strict=True)
    )


def _phrases(kind: str, ours: list[_Port], theirs: list[_Port]) -> list[str]:
    """How ``ours`` (the variant's) differ from ``theirs`` (the original's), a phrase
    each: by name, then a name of one beside a name of the other (alike first, then in
    order: a renamed input), then what only one of them has."""
    by_name = {name: (text, key) for name, text, key in theirs}
    names = {name for name, _, _ in ours}
    found = [
        f"{kind} {name!r} is {text}, the original's {by_name[name][0]}"
        for name, text, key in ours
        if name in by_name and not _same(key, by_name[name][1])
    ]
    extra = [port for port in ours if port[0] not in by_name]
    missing = [port for port in theirs if port[0] not in names]
    pairs: list[tuple[_Port, _Port]] = []
    for port in list(extra):
        alike = next((m for m in missing if _same(port[2], m[2])), None)
        if alike is not None:
            pairs.append((port, alike))
            extra.remove(port)
            missing.remove(alike)
    pairs += list(zip(extra, missing, strict=False))
    for (name, text, key), (other, other_text, other_key) in pairs:
        if _same(key, other_key):
            found.append(f"{kind} {name!r} for the original's {other!r}, both {text}")
        else:
            found.append(f"{kind} {name!r} is {text}, the original's {other!r} {other_text}")
    found += [f"an extra {kind} {name!r} ({text})" for name, text, _ in extra[len(missing) :]]
    found += [
        f"no {kind} {name!r} (the original's {text})" for name, text, _ in missing[len(extra) :]
    ]
    return found
