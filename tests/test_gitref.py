"""The base revision of a model file (``gitref.py``), in real git repositories made here."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from typing import TYPE_CHECKING

import pytest
from support import FAST

from pytest_latency_sla.gitref import (
    LFS_POINTER,
    GitRefError,
    base_model,
    check_folder,
    check_ref,
)

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=cwd, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository whose main holds models/m.onnx (b"base") and a branch 'pr'."""
    root = tmp_path / "repo"
    (root / "models").mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    (root / "models" / "m.onnx").write_bytes(b"base")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "base")
    git(root, "checkout", "-q", "-b", "pr")
    return root


def test_a_changed_model_gives_the_base_bytes(repo: Path) -> None:
    (repo / "models" / "m.onnx").write_bytes(b"head")
    git(repo, "commit", "-q", "-am", "head")
    found = base_model(repo / "models" / "m.onnx", "main")
    assert found.status == "changed"
    assert found.data == b"base"
    assert found.base_sha256 == hashlib.sha256(b"base").hexdigest()
    assert found.head_sha256 == hashlib.sha256(b"head").hexdigest()


def test_uncommitted_changes_count_as_the_head(repo: Path) -> None:
    (repo / "models" / "m.onnx").write_bytes(b"edited")
    assert base_model(repo / "models" / "m.onnx", "main").status == "changed"


def test_the_same_bytes_need_no_second_measurement(repo: Path) -> None:
    found = base_model(repo / "models" / "m.onnx", "main")
    assert found.status == "unchanged"
    assert found.data is None


def test_a_model_absent_at_the_base_is_new(repo: Path) -> None:
    (repo / "models" / "n.onnx").write_bytes(b"new")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "new")
    found = base_model(repo / "models" / "n.onnx", "main")
    assert found.status == "new"
    assert found.base_sha256 is None


def test_relative_paths_are_from_the_current_directory(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / "models" / "m.onnx").write_bytes(b"head")
    monkeypatch.chdir(repo / "models")
    assert base_model("m.onnx", "main").data == b"base"


def test_an_untracked_model_says_to_add_it_or_compare_with_a_folder(repo: Path) -> None:
    (repo / "models" / "made.onnx").write_bytes(b"generated")
    # (A trial: a new model's obvious fix, git add, was missing.)
    with pytest.raises(
        GitRefError,
        match=r"models/made.onnx is not tracked by git .*: git add it .*--sla-compare-dir",
    ):
        base_model(repo / "models" / "made.onnx", "main")


def test_an_unknown_revision_says_to_check_its_name_or_fetch_it(repo: Path) -> None:
    # No remote: a mistyped name is the likely cause, and there is nothing to fetch from.
    with pytest.raises(
        GitRefError,
        match=r"git knows no revision 'origin/main'; check its name \(git branch -a lists "
        r"the branches this clone has\)$",
    ):
        base_model(repo / "models" / "m.onnx", "origin/main")
    git(repo, "remote", "add", "origin", f"file://{repo}")
    with pytest.raises(
        GitRefError, match=r"check its name .*, or fetch it first \(git fetch origin main\)$"
    ):
        base_model(repo / "models" / "m.onnx", "origin/main")
    with pytest.raises(GitRefError, match=r"or fetch it first \(git fetch origin mian\)$"):
        base_model(repo / "models" / "m.onnx", "mian")


def test_the_ref_is_checked_once_from_the_starting_folder(repo: Path, tmp_path: Path) -> None:
    assert check_ref("main", repo / "models") is None
    assert check_ref("mian", repo) == (
        "--sla-compare-ref=mian: git knows no revision 'mian'; check its name (git branch "
        "-a lists the branches this clone has)"
    )
    # A bad-input hunt: a tree's id read "git knows no revision"; reviews: a tag of a
    # tree read "a tag, not a commit; give ... a tag", a path's object "a object".
    git(repo, "tag", "-a", "treetag", "-m", "a tag of a tree", "main^{tree}")
    for ref, kind in (("main^{tree}", "tree"), ("treetag", "tree"), ("main:models/m.onnx", "blob")):
        assert check_ref(ref, repo) == (
            f"--sla-compare-ref={ref}: {ref!r} names a {kind}, not a commit; give a revision "
            "that is a commit, such as a branch, a tag or a commit's id"
        )
    # Outside a repository, each test's model says what is wrong with it.
    outside = tmp_path / "outside"
    outside.mkdir()
    assert check_ref("main", outside) is None


def test_a_mistyped_ref_stops_the_run_once_before_any_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.sla(ms=50)
        def test_one(sla):
            sla.measure(lambda: None)
        """
    )
    git(pytester.path, "init", "-q", "-b", "main")
    git(pytester.path, "add", ".")
    git(pytester.path, "commit", "-q", "-m", "base")
    result = pytester.runpytest("--sla-compare-ref=mian")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--sla-compare-ref=mian: git knows no revision 'mian'; *"])
    # Listing tests, or running without measuring, needs no base revision; nor do the
    # tests left when -k deselected every SLA test (a trial).
    assert pytester.runpytest("--sla-compare-ref=mian", "--collect-only").ret == 0
    assert pytester.runpytest("--sla-compare-ref=mian", "-k", "not one").ret in (0, 5)
    assert pytester.runpytest("--sla-compare-ref=mian", "--sla-disable").ret == 0
    assert pytester.runpytest("--sla-compare-ref=mian", "--help").ret == 0
    assert "(from " not in result.stderr.str()  # typed on the command line: as it was typed
    # From the ini file, the error says so (a trial: it read as if typed).
    ini = pytester.makeini("[pytest]\nsla_compare_ref = mian\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"*git knows no revision 'mian'; * (from sla_compare_ref in {ini})"]
    )
    result = pytester.runpytest("-o", "sla_compare_ref=mian")
    result.stderr.fnmatch_lines(["* (from the command line, -o sla_compare_ref)"])


def test_under_xdist_a_mistyped_ref_fails_each_sla_test_before_it_measures(
    pytester: pytest.Pytester,
) -> None:
    """A trial: under pytest -n 2 in a shallow clone, each test measured its model in
    full (28 s) and then failed with "this clone is shallow"; a usage error on a worker
    is an internal error of xdist's. Each SLA test now fails at its setup, measuring
    nothing; the others run."""
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.sla(ms=50)
        def test_one(sla):
            raise AssertionError("measured")

        def test_plain():
            pass
        """
    )
    git(pytester.path, "init", "-q", "-b", "main")
    git(pytester.path, "add", ".")
    git(pytester.path, "commit", "-q", "-m", "base")
    result = pytester.runpytest_subprocess("-n", "2", "--sla-compare-ref=mian", "-p", "xdist")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*--sla-compare-ref=mian: git knows no revision 'mian'; * (in test_*::test_one)*"]
    )
    assert "measured" not in result.stdout.str()
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_a_missing_compare_dir_stops_the_run_once_before_any_test(
    pytester: pytest.Pytester,
) -> None:
    # It failed each test after measuring it; a mistyped ref stopped the run at once.
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.sla(ms=50)
        def test_one(sla):
            sla.measure(lambda: None)
        """
    )
    result = pytester.runpytest("--sla-compare-dir=../nope")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--sla-compare-dir=../nope: no such folder; give a checkout *"])
    from pathlib import Path

    from pytest_latency_sla.gitref import check_folder

    said = check_folder("../nope")
    assert said is not None
    assert said in result.stderr.str()
    page = Path(__file__).parent.parent / "docs" / "premerge.md"
    assert f"`{said}`" in page.read_text(encoding="utf-8")  # the docs quote it
    assert pytester.runpytest("--sla-compare-dir=../nope", "--collect-only").ret == 0
    assert pytester.runpytest("--sla-compare-dir=.", *FAST).ret == 0


def test_a_mistyped_ref_does_not_stop_a_run_without_sla_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain(): pass")
    git(pytester.path, "init", "-q", "-b", "main")
    git(pytester.path, "add", ".")
    git(pytester.path, "commit", "-q", "-m", "base")
    pytester.runpytest("--sla-compare-ref=mian").assert_outcomes(passed=1)


def test_a_shallow_clone_says_fetch_depth_0(repo: Path, tmp_path: Path) -> None:
    (repo / "models" / "m.onnx").write_bytes(b"head")
    git(repo, "commit", "-q", "-am", "head")
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", "--branch", "pr", f"file://{repo}", str(clone))
    with pytest.raises(GitRefError, match=r"this clone is shallow: .*fetch-depth: 0"):
        base_model(clone / "models" / "m.onnx", "main")


def test_outside_a_repository_says_so(tmp_path: Path) -> None:
    (tmp_path / "m.onnx").write_bytes(b"x")
    with pytest.raises(GitRefError, match=r"is not in a git repository"):
        base_model(tmp_path / "m.onnx", "main")


def test_an_lfs_pointer_without_git_lfs_says_to_install_it(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pointer = LFS_POINTER + b"\noid sha256:" + b"0" * 64 + b"\nsize 4\n"
    git(repo, "checkout", "-q", "main")
    (repo / "models" / "m.onnx").write_bytes(pointer)
    git(repo, "commit", "-q", "-am", "lfs")
    git(repo, "checkout", "-q", "pr")
    monkeypatch.setattr(shutil, "which", lambda name: None if name == "git-lfs" else "/usr/bin/git")
    with pytest.raises(
        GitRefError, match=r"is a Git LFS pointer at main, and git-lfs is not installed"
    ):
        base_model(repo / "models" / "m.onnx", "main")


def test_a_missing_model_file_says_so(repo: Path) -> None:
    with pytest.raises(GitRefError, match=r"model file .* does not exist"):
        base_model(repo / "models" / "gone.onnx", "main")


# --- a base in a folder (--sla-compare-dir) ----------------------------------------------


def test_a_base_folder_gives_the_file_at_the_same_relative_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_latency_sla.gitref import base_in_folder

    head, base = tmp_path / "head", tmp_path / "base"
    (head / "models").mkdir(parents=True)
    (base / "models").mkdir(parents=True)
    (head / "models" / "m.onnx").write_bytes(b"head")
    (base / "models" / "m.onnx").write_bytes(b"base")
    (head / "models" / "same.onnx").write_bytes(b"same")
    (base / "models" / "same.onnx").write_bytes(b"same")
    (head / "models" / "new.onnx").write_bytes(b"new")
    monkeypatch.chdir(head)
    changed = base_in_folder("models/m.onnx", base)
    assert changed.status == "changed"
    assert changed.data == b"base"
    assert base_in_folder(head / "models" / "m.onnx", base).data == b"base"  # absolute
    assert base_in_folder("models/same.onnx", base).status == "unchanged"
    assert base_in_folder("models/new.onnx", base).status == "new"
    with pytest.raises(GitRefError, match=r"--sla-compare-dir=.*: no such folder; .*worktree"):
        base_in_folder("models/m.onnx", tmp_path / "missing")
    # A trial: a model file given for the folder read "no such folder".
    said = check_folder(head / "models" / "m.onnx")
    assert said is not None
    assert ": a file, not a folder; give a checkout of the base" in said
    elsewhere = tmp_path / "elsewhere.onnx"
    elsewhere.write_bytes(b"x")
    with pytest.raises(GitRefError, match=r"is not under the current directory"):
        base_in_folder(elsewhere, base)


# --- models with external data ----------------------------------------------------------


def _external(folder: Path, repeats: int) -> Path:
    from onnx_models import looped_matmul_model, save_with_external_data

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "m.onnx.data").unlink(missing_ok=True)  # (onnx appends to one that is there)
    return save_with_external_data(looped_matmul_model(repeats), folder / "m.onnx", "m.onnx.data")


def test_a_change_in_the_external_data_alone_is_a_change(repo: Path) -> None:
    # A trial: only models/m.onnx.data changed (8x the work), and the model read as
    # "unchanged at main": a slowdown passed the gate unmeasured.
    model = _external(repo / "models", 2)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "external")
    git(repo, "branch", "-f", "main")
    before = model.read_bytes()
    _external(repo / "models", 16)
    assert model.read_bytes() == before
    found = base_model(model, "main")
    assert found.status == "changed"
    assert found.data == before
    base_data = dict(found.external)["m.onnx.data"]
    assert base_data != (repo / "models" / "m.onnx.data").read_bytes()
    _external(repo / "models", 2)
    assert base_model(model, "main").status == "unchanged"


def test_a_moved_model_whose_data_changed_is_a_change(repo: Path) -> None:
    # A review: moved, its data file copied beside it and changed there, the model read
    # as "unchanged": the data file left at the base's path was compared instead.
    _external(repo / "models", 2)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "external")
    git(repo, "branch", "-f", "main")
    (repo / "served").mkdir()
    git(repo, "mv", "models/m.onnx", "served/m.onnx")
    shutil.copy(repo / "models" / "m.onnx.data", repo / "served" / "m.onnx.data")  # (kept)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "move")
    model = repo / "served" / "m.onnx"
    assert base_model(model, "main").status == "unchanged"
    before = model.read_bytes()
    _external(repo / "served", 16)  # the same graph file, 8x the work in its data
    assert model.read_bytes() == before
    found = base_model(model, "main")
    assert (found.status, found.name) == ("changed", "models/m.onnx")


def test_an_unchanged_model_s_data_is_not_read_out_of_git(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A review: a 256 MB data file was read out of git (into memory) for every test,
    # though nothing had changed: its blob is compared now.
    from pytest_latency_sla import gitref

    model = _external(repo / "models", 2)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "external")
    git(repo, "branch", "-f", "main")
    ran: list[list[str]] = []
    real = gitref._git

    def logged(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
        ran.append(args)
        return real(args, cwd)

    monkeypatch.setattr(gitref, "_git", logged)
    found = base_model(model, "main")
    assert found.status == "unchanged"
    assert found.base_sha256 == found.head_sha256
    assert ["show", "main:models/m.onnx.data"] not in ran
    _external(repo / "models", 3)
    assert base_model(model, "main").status == "changed"
    assert ["show", "main:models/m.onnx.data"] in ran


def test_a_base_folder_model_with_external_data_is_loaded_from_its_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_latency_sla.gitref import base_in_folder

    _external(tmp_path / "head" / "models", 16)
    base = _external(tmp_path / "base" / "models", 2)
    monkeypatch.chdir(tmp_path / "head")
    found = base_in_folder("models/m.onnx", tmp_path / "base")
    assert found.status == "changed"
    assert found.data == str(base.resolve())  # its own data file beside it
    _external(tmp_path / "head" / "models", 2)
    assert base_in_folder("models/m.onnx", tmp_path / "base").status == "unchanged"


@pytest.mark.timeout(30)
def test_a_base_folder_model_that_is_a_pipe_is_refused_with_a_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A trial: it was read as "new", a model the base did not have.
    from support import make_special

    from pytest_latency_sla.gitref import base_in_folder

    (tmp_path / "head" / "models").mkdir(parents=True)
    (tmp_path / "base" / "models").mkdir(parents=True)
    (tmp_path / "head" / "models" / "m.onnx").write_bytes(b"head")
    make_special(tmp_path / "base" / "models" / "m.onnx", "fifo")
    monkeypatch.chdir(tmp_path / "head")
    with pytest.raises(GitRefError, match=r"the base's models/m.onnx is not a regular file"):
        base_in_folder("models/m.onnx", tmp_path / "base")


def test_a_moved_model_is_compared_with_what_it_was(repo: Path) -> None:
    # A trial: a model renamed in a pull request was "new", and nothing gated it.
    (repo / "served").mkdir()
    git(repo, "mv", "models/m.onnx", "served/funnel.onnx")
    git(repo, "commit", "-q", "-m", "move")
    assert base_model(repo / "served" / "funnel.onnx", "main").status == "unchanged"
    # Renamed and changed a little (bytes mostly kept): compared side by side.
    (repo / "served" / "funnel.onnx").write_bytes(b"base" * 100 + b"!")
    git(repo, "commit", "-q", "-am", "edit")
    git(repo, "checkout", "-q", "main")
    (repo / "models" / "m.onnx").write_bytes(b"base" * 100)
    git(repo, "commit", "-q", "-am", "longer")
    git(repo, "checkout", "-q", "pr")
    found = base_model(repo / "served" / "funnel.onnx", "main")
    assert (found.status, found.data, found.name) == ("changed", b"base" * 100, "models/m.onnx")
    # A model that shares no bytes with the one it replaced is new (git pairs nothing).
    git(repo, "rm", "-q", "served/funnel.onnx")
    (repo / "served").mkdir(exist_ok=True)  # (git removed it, empty)
    (repo / "served" / "other.onnx").write_bytes(hashlib.sha256(b"x").digest() * 20)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "retrained")
    assert base_model(repo / "served" / "other.onnx", "main").status == "new"
