"""Shared test setup: pytester for end-to-end runs of the plugin."""

from __future__ import annotations

# numpy refuses to be imported twice in one process, and pytester's in-process runs drop
# the modules first imported inside them. The plugin imports numpy only when a result is
# made, so without this the first in-process run that measures imports it and every later
# one fails ("cannot load module more than once per process") when a test file runs alone.
import numpy  # noqa: F401

pytest_plugins = ["pytester"]
