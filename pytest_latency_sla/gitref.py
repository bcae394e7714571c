"""The base revision of a model file: its bytes (and its external data files) at a git
revision, for a side-by-side compare.

No pytest, no onnxruntime: ``git`` in a subprocess, and sentences for every way it can
fail (not a repository, an unknown revision or a shallow clone, a file git does not
track, a Git LFS pointer without git-lfs). Used by the pre-merge comparison
(``--sla-compare-ref``): each ``sla.onnx(path)`` whose file differs at the base revision
is measured against that revision's bytes.
"""

from __future__ import annotations

import posixpath
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .filekind import NOT_REGULAR, is_special
from .modelfiles import external_locations, identity, identity_of_file, inside

__all__ = ["BaseModel", "GitRefError", "base_in_folder", "base_model", "check_ref"]

#: The first line of a Git LFS pointer file.
LFS_POINTER = b"version https://git-lfs.github.com/spec/v1"
#: Longest a git command may take.
_TIMEOUT_S = 60.0


class GitRefError(Exception):
    """The base revision of a model cannot be read; the message is one sentence."""


@dataclass(frozen=True)
class BaseModel:
    """A model file at the base revision, against the file as it is now."""

    #: "changed" (other bytes at the base), "unchanged" (the same bytes) or "new" (no
    #: such file at the base).
    status: str
    #: The base revision's bytes, or the path of its file (a base folder's model with
    #: external data beside it), for "changed"; None otherwise.
    data: bytes | str | None
    #: Its identity (:func:`.modelfiles.identity`; None for "new") and that of the file
    #: now: SHA-256 of the model's bytes, with its external data files when it has any.
    base_sha256: str | None
    head_sha256: str
    #: The external data files of the base's bytes, (location, bytes), to be put beside
    #: them (``--sla-compare-ref``).
    external: tuple[tuple[str, bytes], ...] = ()
    #: The model's path in the repository, as git names it at the ref (``models/m.onnx``;
    #: "" for a base folder's).
    name: str = ""


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, timeout=_TIMEOUT_S, check=False
        )
    except FileNotFoundError:
        raise GitRefError(
            "--sla-compare-ref needs git, which is not installed here; install git, or "
            "compare with a checkout of the base in a folder: --sla-compare-dir=DIR"
        ) from None
    except subprocess.TimeoutExpired:
        raise GitRefError(f"git {' '.join(args)} took more than {_TIMEOUT_S:g} s") from None


def _text(result: subprocess.CompletedProcess[bytes]) -> str:
    """The last line git wrote to stderr, or ""."""
    lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else ""


def _unknown_ref_hint(ref: str, remotes: list[str]) -> str:
    """What to do about a revision git does not know: check its name, or fetch it from
    the remote it names (or the first one), when the clone has one."""
    hint = "check its name (git branch -a lists the branches this clone has)"
    remote, _, name = ref.partition("/")
    if remote in remotes and name:
        return f"{hint}, or fetch it first (git fetch {remote} {name})"
    if remotes:
        first = "origin" if "origin" in remotes else remotes[0]
        return f"{hint}, or fetch it first (git fetch {first} {ref})"
    return hint


def _kind(ref: str, root: Path) -> str:
    """The type of the object ``ref`` names (commit, tree, blob, tag), or ""."""
    return _git(["cat-file", "-t", ref], root).stdout.decode().strip()


def _unknown_ref(ref: str, root: Path) -> str | None:
    """Why the repository at ``root`` cannot read revision ``ref``, with the fix; None
    when it can."""
    commit = _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], root)
    if commit.returncode == 0:
        return None
    known = _git(["rev-parse", "--verify", "--quiet", ref], root)
    if known.returncode == 0:  # (a tree, a blob, a tag of either: no commit to compare)
        # (A tag of a tree is a tree: "names a tag, not a commit; give ... a tag" misleads.
        # A path's object, HEAD:m.onnx, takes no ^{}: read it as it is.)
        kind = next((out for form in (f"{ref}^{{}}", ref) if (out := _kind(form, root))), "object")
        article = "an" if kind[0] in "aeiou" else "a"
        return (
            f"--sla-compare-ref={ref}: {ref!r} names {article} {kind}, not a commit; give a "
            "revision that is a commit, such as a branch, a tag or a commit's id"
        )
    shallow = _git(["rev-parse", "--is-shallow-repository"], root).stdout.strip() == b"true"
    hint = (
        "this clone is shallow: fetch the history (actions/checkout with fetch-depth: 0, "
        "or git fetch --unshallow origin)"
        if shallow
        else _unknown_ref_hint(ref, _git(["remote"], root).stdout.decode().split())
    )
    return f"--sla-compare-ref={ref}: git knows no revision {ref!r}; {hint}"


def check_ref(ref: str, where: str | Path) -> str | None:
    """Before any test: why ``ref`` cannot be compared with from the repository holding
    ``where`` (pytest's starting folder), or None. None too when ``where`` is in no
    repository, or git is missing: each test's model then says what is wrong with it
    (its own repository may differ)."""
    try:
        top = _git(["rev-parse", "--show-toplevel"], Path(where))
        if top.returncode != 0:
            return None
        return _unknown_ref(ref, Path(top.stdout.decode().strip()))
    except GitRefError:
        return None


def base_model(path: str | Path, ref: str) -> BaseModel:
    """The model at ``path`` as it was at revision ``ref`` (e.g. ``origin/main``).

    Raises :class:`GitRefError` with the fix when it cannot be read.
    """
    file = Path(path).resolve()
    if not file.is_file():
        raise GitRefError(f"model file {str(path)!r} does not exist")
    head_sha = identity_of_file(str(file))
    where = file.parent
    top = _git(["rev-parse", "--show-toplevel"], where)
    if top.returncode != 0:
        raise GitRefError(
            f"--sla-compare-ref={ref}: {str(path)!r} is not in a git repository; run pytest "
            "in a clone of the repository, or compare with a checkout of the base in a "
            "folder: --sla-compare-dir=DIR"
        )
    root = Path(top.stdout.decode().strip())
    unknown = _unknown_ref(ref, root)
    if unknown:
        raise GitRefError(unknown)
    relative = file.relative_to(root).as_posix()
    tracked = _git(["ls-files", "--error-unmatch", "--", relative], root)
    listed = _git(["ls-tree", "--name-only", ref, "--", relative], root)
    if tracked.returncode != 0 and not listed.stdout.strip():
        raise GitRefError(
            f"--sla-compare-ref={ref}: {relative} is not tracked by git (a new or generated "
            f"model?): git add it (one that {ref} lacks is then compared as new), or compare "
            "it with a folder holding the base version: --sla-compare-dir=DIR"
        )
    here = relative  # (its path now; ``relative`` becomes the base's)
    if not listed.stdout.strip():
        was = _renamed_from(root, ref, relative)
        if was is None:
            return BaseModel("new", None, None, head_sha)
        relative = was  # (a model moved or renamed since: compared with what it was)
    shown = _git(["show", f"{ref}:{relative}"], root)
    if shown.returncode != 0:
        raise GitRefError(
            f"--sla-compare-ref={ref}: git show {ref}:{relative} failed: {_text(shown)}"
        )
    data = _smudge(shown.stdout, relative, ref, root)
    if _same_files(root, ref, (relative, here), file, data):
        return BaseModel("unchanged", None, head_sha, head_sha)
    external: dict[str, bytes] = {}

    def read(location: str) -> list[bytes] | None:
        # An external data file at the base, beside the model there (None: none there).
        name = inside(posixpath.dirname(relative), location)
        if name is None:
            return None
        blob = _git(["show", f"{ref}:{name}"], root)
        if blob.returncode != 0:
            return None
        external[location] = _smudge(blob.stdout, name, ref, root)
        return [external[location]]

    base_sha = identity([data], read)
    if base_sha == head_sha:
        return BaseModel("unchanged", None, base_sha, head_sha)
    return BaseModel("changed", data, base_sha, head_sha, tuple(external.items()), relative)


def _renamed_from(root: Path, ref: str, relative: str) -> str | None:
    """The path at ``ref`` of the file now at ``relative``, when git pairs the two as a
    rename (a move, or a rename with the bytes mostly kept: git's rename detection, as
    ``git diff -M`` shows it); None when it pairs none (a retrained model shares no
    bytes with the one it replaced: it is new)."""
    suffix = posixpath.splitext(relative)[1]  # (models alone: git's rename limit, time)
    spec = [f"*{suffix}"] if suffix else []
    diff = _git(["diff", "-M", "--name-status", "-z", "--diff-filter=R", ref, "--", *spec], root)
    if diff.returncode != 0:
        return None
    fields = diff.stdout.decode(errors="surrogateescape").split("\0")
    for k in range(0, len(fields) - 2, 3):  # (status, old path, new path), each once
        if fields[k].startswith("R") and fields[k + 2] == relative:
            return fields[k + 1]
    return None


def _same_files(root: Path, ref: str, paths: tuple[str, str], file: Path, data: bytes) -> bool:
    """Whether a model with external data files is the same at ``ref`` as it is now,
    told without reading the data files' contents out of git: the same model bytes, and
    each data file's blob at ``ref`` (beside the model's path there, the first of
    ``paths``) what git would make of the file now (beside its path now, the second:
    ``git hash-object``, with the file's filters: a Git LFS pointer's blob)."""
    locations = external_locations([data])
    if not locations or file.read_bytes() != data:
        return False
    for location in locations:
        name = inside(posixpath.dirname(paths[0]), location)
        now = inside(posixpath.dirname(paths[1]), location)
        if name is None or now is None:
            return False
        there = _git(["rev-parse", "--verify", "--quiet", f"{ref}:{name}"], root)
        here = _git(["hash-object", "--", now], root)
        if there.returncode or here.returncode or there.stdout.strip() != here.stdout.strip():
            return False
    return True


def check_folder(folder: str | Path) -> str | None:
    """Why ``--sla-compare-dir`` cannot be the base's checkout, as a sentence; None if it
    is a folder."""
    if Path(folder).is_dir():
        return None
    what = "a file, not a folder" if Path(folder).exists() else "no such folder"
    return (
        f"--sla-compare-dir={folder}: {what}; give a checkout of the base, e.g. "
        "git worktree add ../base origin/main and --sla-compare-dir=../base"
    )


def base_in_folder(path: str | Path, folder: str | Path) -> BaseModel:
    """The model at ``path`` as a base checkout in ``folder`` has it: the file at the same
    path relative to the current directory (``--sla-compare-dir``; e.g. a ``git worktree
    add ../base origin/main``, or generated models kept outside git)."""
    file = Path(path)
    if not file.is_file():
        raise GitRefError(f"model file {str(path)!r} does not exist")
    base_root = Path(folder)
    problem = check_folder(folder)
    if problem:
        raise GitRefError(problem)
    head_sha = identity_of_file(str(file))
    if file.is_absolute():
        try:
            file = file.resolve().relative_to(Path.cwd().resolve())
        except ValueError:
            raise GitRefError(
                f"--sla-compare-dir={folder}: {str(path)!r} is not under the current "
                "directory, so it has no path to look up in the base folder; give the "
                "model's path relative to the project root"
            ) from None
    base_file = base_root / file
    if is_special(base_file):
        raise GitRefError(
            f"--sla-compare-dir={folder}: the base's {file.as_posix()} {NOT_REGULAR}, so it "
            "was not read; give a checkout of the base, whose model is a file"
        )
    if not base_file.is_file():
        return BaseModel("new", None, None, head_sha)
    base_sha = identity_of_file(str(base_file))
    if base_sha == head_sha:
        return BaseModel("unchanged", None, base_sha, head_sha)
    data = base_file.read_bytes()
    if external_locations([data]):
        # Loaded from its path, so that its own external data files are read beside it.
        return BaseModel("changed", str(base_file.resolve()), base_sha, head_sha)
    return BaseModel("changed", data, base_sha, head_sha)


def _smudge(data: bytes, relative: str, ref: str, root: Path) -> bytes:
    """The real bytes of a Git LFS pointer (with git-lfs), or the bytes as they are."""
    if not data.startswith(LFS_POINTER):
        return data
    if shutil.which("git-lfs") is None:
        raise GitRefError(
            f"--sla-compare-ref={ref}: {relative} is a Git LFS pointer at {ref}, and git-lfs "
            "is not installed to fetch the model; install git-lfs (and git lfs fetch origin "
            f"{ref.split('/', 1)[-1]}), or use --sla-compare-dir=DIR with a checkout of the base"
        )
    try:
        smudged = subprocess.run(
            ["git", "lfs", "smudge", "--", relative],
            cwd=root, input=data, capture_output=True, timeout=600, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise GitRefError(f"git lfs smudge of {relative} took more than 600 s") from None
    if smudged.returncode != 0 or smudged.stdout.startswith(LFS_POINTER):
        raise GitRefError(
            f"--sla-compare-ref={ref}: git-lfs could not fetch {relative} at {ref} "
            f"({_text(smudged) or 'no content'}); run git lfs fetch origin and try again"
        )
    return smudged.stdout
