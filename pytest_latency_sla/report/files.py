"""Writing report files: where each goes, atomically, never over a file that is not ours.

Shared by the pytest session and ``python -m pytest_latency_sla merge``: one meaning for
``--sla-report=TYPE[:PATH]`` and ``--sla-save=PATH`` wherever a report is written.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .document import json_ready

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from ..schema import Document

__all__ = [
    "DEFAULT_PATHS",
    "FOLDER_NAMES",
    "NotOursError",
    "Target",
    "check_ours",
    "clash",
    "others",
    "render_json",
    "target_path",
    "targets",
    "write_atomic",
    "write_reports",
]

#: Default file names when --sla-report names a type without a path.
DEFAULT_PATHS = {"json": "sla-report.json", "md": "sla-report.md", "html": "sla-report.html"}
#: File names inside a folder named as a report's path (``html:site/``), as pytest-cov does.
FOLDER_NAMES = {
    "json": "sla-report.json",
    "md": "sla-report.md",
    "html": "index.html",
    "baseline": "sla-baseline.json",
}


@dataclass(frozen=True)
class Target:
    """One file to write: its type (json, md, html or baseline), path and mode."""

    kind: str
    path: str
    append: bool  # add to the end (the runner's $GITHUB_STEP_SUMMARY), not replace

    @property
    def label(self) -> str:
        """How messages name it: "baseline", "md report", ..."""
        return "baseline" if self.kind == "baseline" else f"{self.kind} report"


def targets(
    requested: Sequence[tuple[str, str | None]],
    save: str | None,
    environ: Mapping[str, str],
) -> list[Target]:
    """The files to write for ``--sla-report`` targets (type, path or None) and
    ``--sla-save``; the terminal table is not a file. Markdown without a path appends to
    ``$GITHUB_STEP_SUMMARY`` when that is set."""
    found = []
    for kind, path in requested:
        if kind == "term":
            continue
        append = False
        if path is None and kind == "md" and environ.get("GITHUB_STEP_SUMMARY"):
            path, append = environ["GITHUB_STEP_SUMMARY"], True
        found.append(Target(kind, path or DEFAULT_PATHS[kind], append))
    if save:
        found.append(Target("baseline", save, False))
    return found


def _renderers() -> dict[str, Callable[[Document], str]]:
    # Imported when a file report is asked for, not at start-up.
    from . import html, markdown

    return {
        "json": render_json,
        "baseline": render_json,
        "md": markdown.render,
        "html": html.render,
    }


def write_reports(
    document: Document, wanted: Sequence[Target], start: str
) -> tuple[list[tuple[str, str]], list[str]]:
    """Write ``document`` to every target; return (label, absolute path) of each file
    written and a sentence for each that could not be.

    Relative paths are taken from ``start`` (where pytest was started, as ``--junitxml``
    does). One report that cannot be written never loses the others.
    """
    renderers = _renderers()
    written: list[tuple[str, str]] = []
    errors: list[str] = []
    done: set[tuple[str, str, bool]] = set()
    for target in wanted:
        full = target_path(target, start)
        once = (target.kind, os.path.realpath(full), target.append)
        if once in done:  # the same report asked for twice, spelt two ways
            continue
        done.add(once)
        try:
            if not target.append:
                # Never replace a file that is not a report of this plugin.
                check_ours(full)
            text = renderers[target.kind](document)
            written.append((target.label, write_atomic(full, text, append=target.append)))
        except (OSError, ValueError, NotOursError) as exc:
            # (ValueError: e.g. a $GITHUB_STEP_SUMMARY to append to that is not UTF-8.)
            # An OSError's own text names the temporary file beside the report: the
            # report's path is named already, so only what went wrong is added.
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            errors.append(f"could not write the SLA {target.label} to {target.path}: {why}")
    return written, errors


def target_path(target: Target, start: str) -> str:
    """Where a target's file goes, from the folder ``start``: a path naming a folder gets
    the report's usual file name inside it."""
    full = os.path.join(start, target.path)
    if not target.append and (target.path.endswith(("/", os.sep)) or os.path.isdir(full)):
        full = os.path.join(full, FOLDER_NAMES[target.kind])
    return full


def others(option: object) -> list[tuple[str, str]]:
    """The report files other plugins write in this run, from pytest's parsed options
    (``config.option``): their paths, and who writes them (pytest-benchmark's
    ``--benchmark-json`` is a path, or an open file in its older versions)."""
    found = []
    for name, who in (
        ("xmlpath", "pytest's --junitxml"),
        ("benchmark_json", "pytest-benchmark's --benchmark-json"),
    ):
        value = getattr(option, name, None)
        if not isinstance(value, (str, os.PathLike)):
            value = getattr(value, "name", None)  # (an open file names its path)
        if isinstance(value, (str, os.PathLike)) and os.fspath(value):
            found.append((str(os.fspath(value)), who))
    return found


def clash(
    wanted: Sequence[Target],
    start: str,
    compare: str | None,
    others: Sequence[tuple[str, str]] = (),
) -> str | None:
    """Why these targets cannot all be written (None if they can): two of them at one
    path (the last would silently replace the others), a report over ``compare``, the
    baseline the run compares with (``--sla-compare``; ``--sla-save`` may re-record it),
    or over a file another part of pytest writes in this run (``others``: its path and
    who writes it, e.g. "pytest's --junitxml")."""
    seen: dict[str, Target] = {}
    base = os.path.realpath(os.path.join(start, compare)) if compare else None
    theirs = {os.path.realpath(os.path.join(start, path)): who for path, who in others}
    for target in wanted:
        full = os.path.realpath(target_path(target, start))
        if full in theirs and not target.append:
            return (
                f"the SLA {target.label} would be written to {target.path}, where "
                f"{theirs[full]} writes its report in this run: give the SLA report another "
                "path"
            )
        other = seen.get(full)
        if full == base and target.kind != "baseline":
            return (
                f"the SLA {target.label} would be written to {target.path}, the baseline "
                "this run compares with (--sla-compare): give the report another path"
            )
        # (The JSON report and the baseline are the same text: one path may take both; one
        # report asked for twice, spelt two ways, "./r.json" and "r.json", is written once.)
        same = other is not None and (other.kind, other.append) == (target.kind, target.append)
        if other is not None and not same and {other.kind, target.kind} != {"json", "baseline"}:
            first, last = (
                f"{t.label} for $GITHUB_STEP_SUMMARY" if t.append else t.label
                for t in (other, target)
            )
            what = "mix into" if target.append else "replace"
            return (
                f"the SLA {first} and the SLA {last} would both be written to "
                f"{target.path}, and the last would {what} the first: give each its own path"
            )
        seen[full] = target
    return None


def render_json(document: Document) -> str:
    """The JSON report: the document itself, strict JSON (no NaN or Infinity)."""
    return json.dumps(json_ready(document), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_atomic(path: str, text: str, *, append: bool = False) -> str:
    """Write ``text`` to ``path`` through a temporary file and a rename; return the path.

    ``append`` adds to the end of the file instead, in place (for
    ``$GITHUB_STEP_SUMMARY``: the runner owns that file, and appending is its protocol).
    """
    shown = os.path.abspath(path)
    # A lone surrogate (a file name that is not UTF-8, in a message) is written escaped:
    # one character must not lose the whole report.
    data = text.encode("utf-8", "backslashreplace")
    if append:
        # As named, not resolved (/dev/stdout is a link to /proc/self/fd/1, whose target
        # names a pipe no open() finds); a pipe with no reader fails at once (O_NONBLOCK),
        # where it would block the run forever.
        os.makedirs(os.path.dirname(shown), exist_ok=True)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NONBLOCK", 0)
        gap = _gap_after(shown)
        fd = os.open(shown, flags, 0o666)
        with os.fdopen(fd, "wb") as handle:
            handle.write(gap + data)
        return shown
    # Through a symbolic link to the file it names: the rename would replace the link.
    path = os.path.realpath(shown)
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    # mkstemp makes owner-only files; give the report the mode a plain open() would
    # (or keep the mode of the file it replaces).
    umask = os.umask(0)
    os.umask(umask)
    mode = 0o666 & ~umask
    if os.path.exists(path):
        mode = os.stat(path).st_mode & 0o777
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".sla-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return shown


def _gap_after(path: str) -> bytes:
    """What goes between a file's end and text appended to it: a blank line after what an
    earlier step wrote (a heading glued to its last line, "tests: ok## pytest-latency-
    sla", would be no heading); nothing after nothing, or where the end cannot be read
    (a pipe, a terminal, a device: /dev/zero would be read forever)."""
    if not os.path.isfile(path):
        return b""
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - 2))
            ending = handle.read(2)
    except (OSError, ValueError):
        return b""
    if size == 0 or ending == b"\n\n":
        return b""
    return b"\n" if ending.endswith(b"\n") else b"\n\n"


class NotOursError(Exception):
    """A file to be replaced by a report that is not a report of this plugin."""


#: How each of this plugin's files begins: a JSON report or baseline with its schema
#: version and the tool's name, the Markdown report with its title line, the HTML report
#: with its doctype and, in its head, the generator tag. The whole opening must match: a
#: file that merely mentions the plugin (a test of its reports, notes with its name for
#: a heading, a package list) is not ours.
_SIGNATURES = (
    re.compile(
        rb'\A\s*\{\s*(?:"schema_version"\s*:\s*\d+\s*,\s*)?"tool"\s*:\s*\{\s*'
        rb'"name"\s*:\s*"pytest-latency-sla"'
    ),
    re.compile(rb"\A(?:\xef\xbb\xbf)?## pytest-latency-sla: "),
    re.compile(
        rb"\A\s*<!DOCTYPE html>\s*<html[^>]*>\s*<head>(?:(?!</head>).)*?"
        rb'<meta name="generator" content="pytest-latency-sla ',
        re.DOTALL | re.IGNORECASE,
    ),
)
_HEAD_BYTES = 4096
#: Endings of files whose being there, even empty, means something: never replaced.
_SOURCE_ENDINGS = (
    *(".py", ".pyi", ".pyx", ".pxd", ".pth", ".ini", ".cfg", ".toml", ".yaml", ".yml"),
    *(".txt", ".in", ".sh", ".conf", ".env", ".lock", ".typed"),
)
_REPORT_ENDINGS = (".json", ".md", ".markdown", ".html", ".htm")
_MARKER_FILES = (
    "__init__",
    "makefile",
    "dockerfile",
    *("license", "licence", "copying", "notice", "authors", "codeowners", "owners"),
)  # (py.typed: .typed; .gitkeep, .nojekyll, .gitignore ...: every dotfile)


def check_ours(path: str) -> None:
    """Raise :class:`NotOursError` if ``path`` holds a file this plugin did not write.

    A report replaces only a report: ``pytest --sla-save test_x.py`` (a space where ``=``
    was meant) or a mistyped path must never overwrite a test file or anything else. A
    missing or empty file is fine; anything but a regular file is not (the rename would
    replace ``/dev/null`` with a file, and a pipe would block the read forever). An empty
    file named as source or configuration is not replaced either (a dotfile such as
    ``.gitignore``, a ``LICENSE`` or ``CODEOWNERS`` too): an empty
    ``__init__.py`` or ``pytest.ini`` means something, and one replaced by a report broke
    the next run's collection (a trial); other empty files are, as ``mktemp`` and a CI
    runner's step summary make them. Blank lines are content. Through a link, the file
    it leads to is the one judged.
    """
    try:
        kind = os.stat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISDIR(kind):
        raise NotOursError(f"{path} is a folder")
    if not stat.S_ISREG(kind):
        raise NotOursError(
            f"{path} is not a regular file (a device, a pipe or a socket), so it was left "
            "untouched; give a file's path"
        )
    try:
        with open(path, "rb") as handle:
            head = handle.read(_HEAD_BYTES)
    except FileNotFoundError:
        return
    except IsADirectoryError:
        raise NotOursError(f"{path} is a folder") from None
    name = os.path.basename(os.path.realpath(path)).lower()
    # A dotfile configures (a report's own ending aside: mkstemp(prefix=".sla-")), and
    # LICENSE.md is a LICENSE.
    dotfile = name.startswith(".") and not name.endswith(_REPORT_ENDINGS)
    named = name.endswith(_SOURCE_ENDINGS) or dotfile
    if not head and (named or name.split(".", 1)[0] in _MARKER_FILES):
        raise NotOursError(
            f"{path} is an empty file named as source or configuration, so it was left "
            "untouched (an empty file can mean something, as an __init__.py does); choose "
            "another path, or delete the file"
        )
    if head and not any(signature.match(head) for signature in _SIGNATURES):
        raise NotOursError(
            f"{path} exists and is not a report of pytest-latency-sla, so it was left "
            "untouched; choose another path, or delete the file if it is a stale report"
        )
