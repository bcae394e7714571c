"""Writing report files: atomically, so a reader never sees half a report."""

from __future__ import annotations

import json
import os
import tempfile
from typing import TYPE_CHECKING

from .document import json_ready

if TYPE_CHECKING:
    from ..schema import Document

__all__ = ["NotOursError", "check_ours", "render_json", "write_atomic"]


def render_json(document: Document) -> str:
    """The JSON report: the document itself, strict JSON (no NaN or Infinity)."""
    return json.dumps(json_ready(document), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_atomic(path: str, text: str, *, append: bool = False) -> str:
    """Write ``text`` to ``path`` through a temporary file and a rename; return the path.

    ``append`` adds to the end of the file instead, in place (for
    ``$GITHUB_STEP_SUMMARY``: the runner owns that file, and appending is its protocol).
    """
    path = os.path.abspath(path)
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    if append:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text)
        return path
    # mkstemp makes owner-only files; give the report the mode a plain open() would
    # (or keep the mode of the file it replaces).
    umask = os.umask(0)
    os.umask(umask)
    mode = 0o666 & ~umask
    if os.path.exists(path):
        mode = os.stat(path).st_mode & 0o777
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".sla-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return path


class NotOursError(Exception):
    """A file to be replaced by a report that is not a report of this plugin."""


#: What the start of each of this plugin's files holds: JSON reports and baselines name
#: the tool, Markdown opens with its title, HTML names it in its generator tag.
_SIGNATURES = (
    b'"name": "pytest-latency-sla"',
    b"## pytest-latency-sla",
    b'<meta name="generator" content="pytest-latency-sla',
)
_HEAD_BYTES = 4096


def check_ours(path: str) -> None:
    """Raise :class:`NotOursError` if ``path`` holds a file this plugin did not write.

    A report replaces only a report: ``pytest --sla-save test_x.py`` (a space where ``=``
    was meant) or a mistyped path must never overwrite a test file or anything else. A
    missing or empty file is fine.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(_HEAD_BYTES)
    except FileNotFoundError:
        return
    except IsADirectoryError:
        raise NotOursError(f"{path} is a folder") from None
    if head.strip() and not any(signature in head for signature in _SIGNATURES):
        raise NotOursError(
            f"{path} exists and is not a report of pytest-latency-sla, so it was left "
            "untouched; choose another path, or delete the file if it is a stale report"
        )
