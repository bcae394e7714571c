"""What machine and software a run measured on: recorded in reports and baselines.

Reads only cheap facts: package versions come from installed metadata, so recording
onnxruntime's version never imports it.
"""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "Environment",
    "EnvironmentCache",
    "active_tracer",
    "capture",
    "cpu_model",
    "differences",
]

#: Packages whose versions change latency or the plugin's behaviour.
PACKAGES = ("pytest-latency-sla", "pytest", "numpy", "onnxruntime", "onnxruntime-gpu", "onnx")
#: What makes two runs' latencies comparable in one table: the machine and the software
#: that times it. Not the load, the kernel build or pytest's version.
IDENTITY = ("os", "machine", "cpu_model", "cpu_count", "implementation", "python")
TIMING_PACKAGES = ("pytest-latency-sla", "numpy", "onnxruntime", "onnxruntime-gpu", "onnx")


class Environment(TypedDict):
    """The machine and software of a run."""

    python: str  # e.g. "3.11.7"
    implementation: str  # e.g. "CPython"
    os: str  # e.g. "Linux"
    platform: str  # platform.platform()
    machine: str  # e.g. "x86_64"
    cpu_model: str  # from /proc/cpuinfo or platform.processor(); "" when unknown
    cpu_count: int | None  # logical CPUs
    load_avg_1m: float | None  # one-minute load average at the start (None on Windows)
    packages: dict[str, str]  # installed versions of PACKAGES (absent when not installed)


def cpu_model() -> str:
    """The CPU's model name, or "" when it cannot be read."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or ""


def _versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


class EnvironmentCache:
    """The run's environment, captured when first needed, with the load at the start.

    The load average is read when the run starts (cheap); the rest only when a
    measurement or a report needs it, so a run without SLA tests reads nothing more.
    """

    def __init__(self) -> None:
        try:
            self._load_at_start: float | None = os.getloadavg()[0]
        except (OSError, AttributeError):
            self._load_at_start = None
        self._environment: Environment | None = None

    def get(self) -> Environment:
        """The machine and software of this run (load average from the start)."""
        if self._environment is None:
            self._environment = {**capture(), "load_avg_1m": self._load_at_start}
        return self._environment


def _named(hook: object) -> str:
    """A trace or profile hook by name: its class for an object (coverage's ``CTracer``),
    its qualified name for a function."""
    kind = hook if callable(hook) and hasattr(hook, "__qualname__") else type(hook)
    module = getattr(kind, "__module__", "") or ""
    qualname = getattr(kind, "__qualname__", "") or repr(kind)
    return f"{module}.{qualname}" if module and module != "builtins" else qualname


def active_tracer() -> str | None:
    """What traces or profiles Python code in this thread, by name, or None.

    A trace function (``sys.settrace``: coverage.py, as pytest-cov's ``--cov`` runs it,
    and debuggers), a profile function (``sys.setprofile``) or, from Python 3.12, a
    ``sys.monitoring`` tool with events on (coverage's "sysmon" core): each slows the
    Python code of a timed call several times over, so a latency measured under one is
    the tracer's as much as the model's.
    """
    found = [_named(hook) for hook in (sys.gettrace(), sys.getprofile()) if hook is not None]
    monitoring: Any = getattr(sys, "monitoring", None)
    if monitoring is not None:
        for tool in range(6):
            name = monitoring.get_tool(tool)
            if name is not None and monitoring.get_events(tool):
                found.append(str(name))
    return ", ".join(dict.fromkeys(found)) or None


def capture() -> Environment:
    """The environment now."""
    try:
        load: float | None = os.getloadavg()[0]
    except (OSError, AttributeError):
        load = None
    return Environment(
        python=platform.python_version(),
        implementation=sys.implementation.name.replace("cpython", "CPython"),
        os=platform.system(),
        platform=platform.platform(),
        machine=platform.machine(),
        cpu_model=cpu_model(),
        cpu_count=os.cpu_count(),
        load_avg_1m=load,
        packages=_versions(),
    )


def differences(first: Mapping[str, Any], second: Mapping[str, Any]) -> list[str]:
    """What differs between two runs' environments that bears on latency, each as
    "cpu_model 'A' vs 'B'" (a package absent on one side reads "not installed")."""
    found = [
        f"{field} {first.get(field)!r} vs {second.get(field)!r}"
        for field in IDENTITY
        if first.get(field) != second.get(field)
    ]
    ours, theirs = first.get("packages") or {}, second.get("packages") or {}
    for name in TIMING_PACKAGES:
        if ours.get(name) != theirs.get(name):
            found.append(
                f"{name} {ours.get(name, 'not installed')} vs {theirs.get(name, 'not installed')}"
            )
    return found
