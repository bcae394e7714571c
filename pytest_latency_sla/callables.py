"""What ``sla.measure()`` is given: how reports name a callable.

No pytest: the fixture asks, and turns a problem into a failure.
"""

from __future__ import annotations

__all__ = ["callable_name"]


def callable_name(fn: object) -> str:
    """How reports name a callable: ``module.qualname`` (builtins without the module)."""
    module = getattr(fn, "__module__", None)
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    if name is None:
        return type(fn).__qualname__ + " instance"
    return f"{module}.{name}" if module and module != "builtins" else str(name)
