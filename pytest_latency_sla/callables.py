"""What ``sla.measure()`` is given: how reports name a callable, why one could not be
timed, and which of its calls raised; and what a misspelt keyword of the fixture's
methods meant.

No pytest: the fixture asks, and turns a problem into a failure. What the callable raises
propagates as itself; the sampler that made the call marks it with which call it was
(:func:`raised_at`, from counters it keeps anyway, once the call has raised), and the
fixture turns that mark into a note under the exception (:func:`where_raised`,
:func:`add_note`).
"""

from __future__ import annotations

import sys

__all__ = [
    "add_note",
    "call_problem",
    "callable_name",
    "raised_at",
    "unknown_keywords",
    "where_raised",
]

#: The key of :func:`raised_at`'s mark in an exception's ``__dict__`` (written there, not
#: set as an attribute: an exception class may refuse attributes, a frozen dataclass's).
_RAISED_AT = "_sla_raised_at"


def raised_at(exc: BaseException, where: str) -> None:
    """Mark ``exc``, raised by a measured call, with which call it was, e.g. "call 500, in
    the warmup". The first mark stands: that of the sampler that made the call. Not what
    pytest raises to skip, fail, xfail or stop a test, nor Ctrl-C: their words stand as
    they are (a skip's reason, a report's message)."""
    if isinstance(exc, KeyboardInterrupt) or any(
        kind.__module__ == "_pytest.outcomes" for kind in type(exc).__mro__
    ):
        return
    found = getattr(exc, "__dict__", None)
    if isinstance(found, dict):
        found.setdefault(_RAISED_AT, where)


def where_raised(exc: BaseException) -> str | None:
    """:func:`raised_at`'s mark on ``exc``, taken off it (None: not raised by a measured
    call), so the exception goes on as it was raised (and pickles as it did)."""
    found = getattr(exc, "__dict__", None)
    where = found.pop(_RAISED_AT, None) if isinstance(found, dict) else None
    return where if isinstance(where, str) else None


def add_note(exc: BaseException, note: str) -> None:
    """``exc.add_note(note)``, also on Python 3.10 (pytest shows ``__notes__`` there too,
    through the exceptiongroup backport); an exception that refuses attributes gets none."""
    try:
        if sys.version_info >= (3, 11):
            exc.add_note(note)
        else:
            notes = getattr(exc, "__notes__", None)
            if notes is None:
                notes = []
                setattr(exc, "__notes__", notes)  # noqa: B010 (not in 3.10's typeshed)
            if isinstance(notes, list):  # (3.11 refuses to add to anything else)
                notes.append(note)
    except Exception:
        return


def callable_name(fn: object) -> str:
    """How reports name a callable: ``module.qualname`` (builtins without the module).
    An attribute that raises reads as absent: naming a callable never fails its test."""
    module = _attribute(fn, "__module__")
    name = _attribute(fn, "__qualname__") or _attribute(fn, "__name__")
    if name is None:
        return type(fn).__qualname__ + " instance"
    return f"{module}.{name}" if module and module != "builtins" else str(name)


def _attribute(fn: object, key: str) -> object:
    try:
        return getattr(fn, key, None)
    except Exception:  # (a property of the user's that raises; not our error to show)
        return None


def call_problem(fn: object) -> str | None:
    """Why ``sla.measure(fn)`` would not time ``fn``'s work, in a sentence (None when it
    would): not a callable, or a generator or coroutine function, whose call only makes
    the generator or coroutine and never runs the body."""
    import inspect
    import reprlib

    if not callable(fn):
        # (reprlib survives a __repr__ that raises, and shortens a long one.)
        from pathlib import PurePath

        shown = f"{type(fn).__name__} {reprlib.repr(fn)}"
        path = fn if isinstance(fn, str) else str(fn) if isinstance(fn, PurePath) else ""
        if path.lower().endswith(".onnx"):
            return (
                f"sla.measure() takes a callable first, got {shown}; to time that model "
                f"write sla.onnx({path!r})"  # (whole: reprlib cut it at 30 characters)
            )
        return (
            f"sla.measure() takes a callable first, got {shown}; "
            "e.g. sla.measure(preprocess, record)"
        )
    name = callable_name(fn).rsplit(".", 1)[-1]
    if inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn):
        kind = "an async generator" if inspect.isasyncgenfunction(fn) else "a generator"
        return (
            f"sla.measure({name}): {name} is {kind} function: a call only makes the "
            "generator and runs none of its body, so only that would be timed; measure what "
            f"consumes it, e.g. sla.measure(lambda: list({name}()))"
        )
    # An object whose __call__ is async def: calling it only makes a coroutine too.
    called = fn if inspect.isroutine(fn) or inspect.isclass(fn) else type(fn).__call__
    dunder = called is not fn and not hasattr(fn, "func") and inspect.iscoroutinefunction(called)
    if inspect.iscoroutinefunction(fn) or dunder:
        what = f"{name}'s __call__" if dunder else name
        return (
            f"sla.measure({name}): {what} is a coroutine function (async def): a call only "
            "makes the coroutine and runs none of its body, so only that would be timed; "
            f"measure it run to the end, e.g. sla.measure(lambda: asyncio.run({name}())) "
            "(which times an event loop's start too)"
        )
    return None


def unknown_keywords(
    method: str, unknown: list[str], known: list[str], compare: bool, also: tuple[str, ...] = ()
) -> str:
    """The sentence for keywords ``method`` does not take, e.g. "sla.onnx() got unknown
    argument provider= (did you mean providers=?; it takes feeds=, ...)": Python's own
    TypeError names neither the fix nor the arguments there are. ``compare``: for
    sla.compare(), which takes neither of sla.onnx()'s ``advise=`` and ``sweep=``.
    ``also``: names a misspelling may be meant for that go unlisted (the model,
    usually given by position)."""
    import difflib

    hints = []
    for name in unknown:
        if compare and name in ("advise", "sweep"):
            hints.append(f"{name}= is for sla.onnx(), not {method}()")
        elif close := difflib.get_close_matches(name, [*known, *also], n=1, cutoff=0.75):
            hints.append(f"{name}=: did you mean {close[0]}=?")
    plural = "s" if len(unknown) > 1 else ""
    return (
        f"{method}() got unknown argument{plural} {', '.join(f'{name}=' for name in unknown)} "
        f"({'; '.join(hints) + '; ' if hints else ''}it takes "
        f"{', '.join(f'{name}=' for name in known)})"
    )
