"""A renamed test's baseline entry, found by its model: the one entry of a test gone
from the suite that measured the same model file under the same configuration.

Matched by node id alone, a test renamed in a pull request (or moved to another file)
was "new" against a stored baseline, and a slowdown that came with the rename passed
the gate. Which of the baseline's tests are gone, this module is told (the glue,
``collected``, hands it the tests pytest collected); it imports no pytest.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .baseline import mismatches

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping

    from .baseline import Baseline
    from .schema import SlaRecord

__all__ = ["gone", "renamed_entry"]


def gone(
    keys: Iterable[tuple[str, int]], tests: Collection[str], narrowed: bool, root: str
) -> frozenset[tuple[str, int]]:
    """The baseline's entries (by node id and index) whose tests the suite no longer has.

    ``tests``: the node ids of this run, the deselected ones (``-k``, ``-m``, a splitting
    plugin's) included.
    An entry is gone when its node id is not one of them (nor the same test from another
    rootdir, as :meth:`Baseline.entry` finds it), and its file is one the run collected
    (the test left it) or is no longer under ``root`` (moved or deleted). A file still
    there that the run did not collect (a run of some files only) may hold the test
    still, so its entries are not gone; it is looked for under ``root`` and under every
    folder of the files collected (a baseline saved from a deeper rootdir names
    ``test_a.py`` for ``tests/test_a.py``). ``narrowed``: the run was given node ids
    (``file.py::test_x``) or ``--lf``, so a file it collected may hold tests it did not:
    only a file no longer there tells.
    """
    known, known_tails = set(tests), _tails(tests)
    files = {_file(nodeid) for nodeid in tests}
    files_tails = _tails(files)
    folders = {""} | {
        "/".join(f.split("/")[:cut]) for f in files for cut in range(f.count("/") + 1)
    }
    found = set()
    for nodeid, index in keys:
        if _seen(nodeid, known, known_tails):
            continue
        file = _file(nodeid)
        collected = not narrowed and _seen(file, files, files_tails)
        there = any(os.path.exists(os.path.join(root, d, f)) for d in folders for f in _cuts(file))
        if collected or not there:
            found.add((nodeid, index))
    return frozenset(found)


def renamed_entry(
    record: SlaRecord, baseline: Baseline, environment: Mapping[str, Any]
) -> tuple[Mapping[str, Any] | None, list[str]]:
    """For a measurement with no entry under its node id: the entry of a test gone from
    the suite (:attr:`Baseline.gone`) with the same measurement index, the same model
    (SHA-256: never a callable's) and nothing that :func:`baseline.mismatches` tells
    apart, when exactly one is; else None, with the node ids of such entries when more
    than one is (none is guessed)."""
    sha = record["model_sha256"]
    if sha is None or not baseline.gone:
        return None, []
    found = [
        entry
        for key, entry in baseline.entries.items()
        if key in baseline.gone
        and key[1] == record["index"]
        and entry.get("model_sha256") == sha
        and not mismatches(record, entry, environment, baseline.environment)
    ]
    if len(found) == 1:
        return found[0], []
    return None, [entry["nodeid"] for entry in found]


def _file(nodeid: str) -> str:
    """The file of a node id: ``tests/test_a.py`` of ``tests/test_a.py::test_x[1]``."""
    return nodeid.split("::", 1)[0]


def _cuts(nodeid: str) -> list[str]:
    """The node id and the same from the rootdirs below: ``a/b.py::t``, ``b.py::t``."""
    file, rest = _file(nodeid), nodeid[len(_file(nodeid)) :]
    parts = file.split("/")
    return ["/".join(parts[at:]) + rest for at in range(len(parts))]


def _tails(nodeids: Iterable[str]) -> set[str]:
    return {cut for nodeid in nodeids for cut in _cuts(nodeid)}


def _seen(nodeid: str, exact: set[str], tails: set[str]) -> bool:
    """Whether ``nodeid`` names one of ``exact``, from this rootdir or another: the same,
    one of their tails after a "/", or one of them a tail of it."""
    return nodeid in tails or any(cut in exact for cut in _cuts(nodeid))
