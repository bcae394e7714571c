"""The diagnosis of a model that raised when run: which inputs to blame and what to pass."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import _error_detail
from .signature import _numpy_name

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from .session import PreparedModel


#: Errors from session.run: onnxruntime's own types (Fail, InvalidArgument, ...) live in
#: a compiled module and derive from Exception. Interrupts and pytest outcomes are
#: BaseException and pass through.
RUN_ERRORS = (Exception,)


def explain_run_error(
    exc: BaseException, prepared: PreparedModel, *, name: str | None = None
) -> str:
    """A sentence for a model that raised while being run with the given feeds
    (``name``: how to name the model, its own name by default).

    Generated values (0 or 1, random floats) are the usual cause when a model checks its
    inputs, e.g. a sample rate that must be 8000 or 16000: the message names the generated
    inputs most likely to blame and how to pass real values for them.
    """
    detail = _error_detail(exc)
    inputs = ", ".join(f"{n}: {sig}" for n, sig in prepared.subject.inputs)
    called = prepared.subject.name if name is None else name
    head = f"model {called} raised when run with inputs ({inputs}): {detail}. "
    generated = list(prepared.generated)
    if not generated:
        return head + (
            "Every input came from feeds: check their values against what the model expects"
        )
    given = [n for n in prepared.feeds if n not in generated]
    named_given = [n for n in given if _names_input(detail, n)]
    suspects, likely = _suspects(generated, prepared.feeds, detail)
    if named_given and not any(_names_input(detail, n) for n in suspects):
        names = ", ".join(repr(n) for n in named_given)
        its = "its" if len(named_given) == 1 else "their"
        return head + (
            f"The error names {names}, given in feeds: check {its} values against what the "
            f"model expects (also generated: {', '.join(repr(n) for n in generated)})"
        )
    one = len(suspects) == 1
    shown = ", ".join(f"{n!r} ({_generated_value(prepared.feeds[n])})" for n in suspects)
    example = ", ".join(f"{n!r}: {_example(prepared.feeds[n])}" for n in suspects)
    text = head + (
        f"The generated values for input{'' if one else 's'} {shown} are "
        f"{'the likely' if likely else 'a possible'} cause (inputs not given in feeds get "
        "made-up values: 0 or 1, floats in [0, 1)): pass real values for "
        f"{'it' if one else 'them'} in feeds=, e.g. feeds={{{example}}}"
    )
    others = [n for n in generated if n not in suspects]
    if others:
        text += f" (also generated: {', '.join(repr(n) for n in others)})"
    if given and not likely:
        text += f"; else check the values given in feeds for {', '.join(repr(n) for n in given)}"
    if prepared.defaulted_dims:
        sizes = ", ".join(f"{d!r}: <size>" for d in prepared.defaulted_dims)
        text += (
            "; if a size of 1 is the problem, give sizes for the dimensions that defaulted "
            f"to it: dims={{{sizes}}}"
        )
    return text


#: Generated inputs with at most this many elements are taken for control values (sample
#: rates, lengths, top-k) when the error names no input.
_CONTROL_SIZE = 4


def _names_input(detail: str, name: str) -> bool:
    """Whether an error message names an input, as a word of its own."""
    return re.search(rf"(?<![\w.]){re.escape(name)}(?![\w.])", detail) is not None


def _suspects(
    generated: Sequence[str], feeds: Mapping[str, Any], detail: str
) -> tuple[list[str], bool]:
    """The generated inputs most likely to have been rejected, and whether that is likely.

    Those the error names; else small integer or boolean ones (a model checking a value
    usually checks a scalar setting); else all of them, as possible causes only.
    """
    named = [n for n in generated if _names_input(detail, n)]
    if named:
        return named, True
    small = [
        n
        for n in generated
        if np.asarray(feeds[n]).dtype.kind in "biu" and np.asarray(feeds[n]).size <= _CONTROL_SIZE
    ]
    return (small, True) if small else (list(generated), False)


def _generated_value(value: Any) -> str:
    """A generated input's signature, with its values when there are few."""
    array = np.asarray(value)
    text = f"{array.dtype}[{','.join(str(s) for s in array.shape)}]"
    if array.size <= _CONTROL_SIZE:
        text += f" = {array.tolist()!r}"
    return text


def _example(value: Any) -> str:
    """Code for a real value of the shape and type of a generated one."""
    array = np.asarray(value)
    dtype = _numpy_name(array.dtype)
    if array.ndim == 0:
        return f"np.array(<value>, dtype={dtype})"
    if array.shape == (1,):
        return f"np.array([<value>], dtype={dtype})"
    article = "an" if array.dtype.name[0] in "aeiou" else "a"
    return f"<{article} {array.dtype.name} array of shape {tuple(array.shape)}>"


def pair_run_error(
    exc: BaseException, base: PreparedModel, head: PreparedModel, base_name: str
) -> tuple[str, str]:
    """Which of two models called side by side raised ``exc`` ("base", "head", or
    "either" when neither does again) and a sentence for it (the base named
    ``base_name``; "either" blames neither). Each is called once more to tell: their
    calls alternate."""
    for side, prepared in (("base", base), ("head", head)):
        try:
            prepared.call()
        except RUN_ERRORS as again:
            name = base_name if side == "base" else None
            return side, explain_run_error(again, prepared, name=name)
    return "either", (
        f"a call raised {type(exc).__name__}: {_error_detail(exc)}, and neither model "
        f"(the one {base_name}, nor this change's) did when called again: a fault that "
        "comes and goes?"
    )
