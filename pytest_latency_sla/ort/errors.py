"""The adapter's exceptions, and the helper that turns any exception into one line of detail."""

from __future__ import annotations

import re


class OnnxInputError(ValueError):
    """The model, feeds, dims or providers given to ``sla.onnx()`` cannot be used."""


class ProviderUnavailableError(OnnxInputError):
    """A requested execution provider is not in this onnxruntime build (skip, or fail)."""


class ProviderDroppedError(OnnxInputError):
    """onnxruntime created the session without a provider that was asked for."""


#: The C++ source location and function signature onnxruntime puts inside its messages
#: ("/onnxruntime_src/.../reshape_helper.h:91 onnxruntime::ReshapeHelper::ReshapeHelper(
#: const TensorShape&, ...) "): noise to a user, so it is cut from the sentences we write.
_CPP_LOCATION = re.compile(
    r"(?:(?<![A-Za-z])[A-Za-z]:)?[/\\][^\s:]*\.(?:h|hpp|cc|cpp|cu):\d+ [^()]*\([^()]*\)"
    r"(?: const)?\s"
)


#: Longest error detail quoted from onnxruntime.
_MAX_DETAIL = 400


def _error_detail(exc: BaseException) -> str:
    """An exception's message on one line, without C++ locations or a final period.

    onnxruntime puts the useful part (expected vs actual shapes) on later lines, so all
    lines are kept, joined, up to a readable length.
    """
    text = str(exc).strip()
    if not text:
        return type(exc).__name__
    lines = [_CPP_LOCATION.sub(" ", line).strip() for line in text.splitlines()]
    joined = re.sub(r"\s{2,}", " ", " ".join(line for line in lines if line)).strip()
    if len(joined) > _MAX_DETAIL:
        joined = joined[: _MAX_DETAIL - 3].rstrip() + "..."
    return joined.rstrip(".")
