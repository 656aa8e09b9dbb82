"""Scratch workspaces for replay: a copy of the project (or of a recorded commit) where the
command can run without touching the user's files or the original outputs."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from repro.errors import IntegrityError, ReproError, UsageError
from repro.data.store import Store
from repro.paths import confine

ALWAYS_SKIPPED = (".git", ".repro")


def create() -> Path:
    return Path(tempfile.mkdtemp(prefix="repro-replay-")).resolve()


def copy_project(root: Path, dest: Path, skip: set[str]) -> None:
    """Copy the project tree into `dest`, leaving out `.git`, `.repro` and the recorded outputs
    (project-relative POSIX paths in `skip`), so the command must make them again. Symlinks are
    copied as links, never followed."""

    def ignore(directory: str, names: list[str]) -> set[str]:
        rel_dir = Path(directory).relative_to(root).as_posix()
        out = set()
        for name in names:
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            if name in ALWAYS_SKIPPED or rel in skip:
                out.add(name)
        return out

    shutil.copytree(root, dest, symlinks=True, ignore=ignore, dirs_exist_ok=True)


def checkout(root: Path, commit: str, diff: bytes, dest: Path) -> Path:
    """Rebuild the recorded commit plus the saved diff in `dest`, from the user's repository but
    without changing it (`git archive`, no worktree). Returns the project root inside `dest`."""
    top = subprocess.run(["git", "-C", str(root), "rev-parse", "--show-toplevel"], capture_output=True, text=True)
    if top.returncode != 0:
        raise UsageError(f"--checkout needs a git repository at {root}")
    toplevel = Path(top.stdout.strip()).resolve()
    archive = subprocess.run(["git", "-C", str(toplevel), "archive", "--format=tar", commit], capture_output=True)
    if archive.returncode != 0:
        raise IntegrityError(f"recorded commit {commit[:12]} is not in this repository (fetch it first)")
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    if diff:
        applied = subprocess.run(["git", "apply", "--whitespace=nowarn", "-"], cwd=dest, input=diff, capture_output=True)
        if applied.returncode != 0:
            message = applied.stderr.decode(errors="replace").strip().splitlines()
            raise ReproError(f"the saved diff does not apply to commit {commit[:12]}: {message[0] if message else ''}")
    return dest / root.relative_to(toplevel)


def copy_inputs(root: Path, dest_root: Path, paths: list[str]) -> None:
    """Inputs that the checkout lacks (data is rarely committed) come from the user's project."""
    for rel in paths:
        target = confine(dest_root, rel, what="input path")
        if os.path.lexists(target):
            continue
        source = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, symlinks=True)
        else:
            shutil.copy2(source, target)


def restore_state(store: Store, dest_root: Path, entries: list[dict]) -> None:
    """Put each state file's content from before the run (kept in the store by `repro run`) in
    the workspace, so the rerun resumes from what the run resumed from."""
    for entry in entries:
        kept = store.get(entry["digest"])
        if kept is None:
            raise IntegrityError(f"state file {entry['path']}: its content before the run is not in the store "
                                 f"({store.directory}), so the replay cannot start from it")
        target = confine(dest_root, entry["path"], what="state file path")
        target.parent.mkdir(parents=True, exist_ok=True)
        if os.path.lexists(target):
            target.unlink()
        shutil.copyfile(kept, target)  # the content, not the store's read-only mode


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
