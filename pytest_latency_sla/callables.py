"""What ``sla.measure()`` is given: how reports name a callable, and why one could not be
timed.

No pytest: the fixture asks, and turns a problem into a failure.
"""

from __future__ import annotations

__all__ = ["call_problem", "callable_name"]


def callable_name(fn: object) -> str:
    """How reports name a callable: ``module.qualname`` (builtins without the module)."""
    module = getattr(fn, "__module__", None)
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    if name is None:
        return type(fn).__qualname__ + " instance"
    return f"{module}.{name}" if module and module != "builtins" else str(name)


def call_problem(fn: object) -> str | None:
    """Why ``sla.measure(fn)`` would not time ``fn``'s work, in a sentence (None when it
    would): not a callable, or a generator or coroutine function, whose call only makes
    the generator or coroutine and never runs the body."""
    import inspect
    import reprlib

    if not callable(fn):
        # (reprlib survives a __repr__ that raises, and shortens a long one.)
        return (
            f"sla.measure() takes a callable first, got {type(fn).__name__} "
            f"{reprlib.repr(fn)}; e.g. "
            "sla.measure(preprocess, record)"
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
