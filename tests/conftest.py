"""Shared test setup: pytester for end-to-end runs of the plugin."""

from __future__ import annotations

# numpy refuses to be imported twice in one process, and pytester's in-process runs drop
# the modules first imported inside them. The plugin imports numpy only when a result is
# made, so without this the first in-process run that measures imports it and every later
# one fails ("cannot load module more than once per process") when a test file runs alone.
import numpy  # noqa: F401
import pytest

# For the same reason, the plugin's onnxruntime adapter is imported here, before any
# in-process run: a class of it imported anew inside one run (OnnxInputError) would not
# be the class the plugin's already-imported modules catch.
import pytest_latency_sla.ort
import pytest_latency_sla.ort.variants  # noqa: F401  (its quantizer is pickled by name)

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def _fixed_terminal_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-process runs lay out their output for a 120-column terminal whatever the
    terminal (or CI log) running this suite is: the short summary, which cuts lines at the
    terminal's width, reads the same everywhere."""
    monkeypatch.setenv("COLUMNS", "120")
