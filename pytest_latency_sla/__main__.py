"""``python -m pytest_latency_sla``: the command line of :mod:`pytest_latency_sla.cli`."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
