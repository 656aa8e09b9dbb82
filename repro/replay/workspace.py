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


class _Counting:
    """A copy function for shutil that adds up the bytes it copies: the report says what the
    workspace cost."""

    def __init__(self) -> None:
        self.bytes = 0

    def __call__(self, src: str, dst: str) -> str:
        result = shutil.copy2(src, dst)
        if not os.path.islink(dst):
            self.bytes += os.stat(dst).st_size
        return result


def copy_project(root: Path, dest: Path, skip: set[str]) -> int:
    """Copy the project tree into `dest`, leaving out `.git`, `.repro` and the project-relative
    POSIX paths in `skip` (the recorded outputs, so the command must make them again; in a
    sandbox also the inputs, bound in place instead). Symlinks are copied as links, never
    followed. Returns the bytes copied."""

    def ignore(directory: str, names: list[str]) -> set[str]:
        rel_dir = Path(directory).relative_to(root).as_posix()
        out = set()
        for name in names:
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            if name in ALWAYS_SKIPPED or rel in skip:
                out.add(name)
        return out

    counting = _Counting()
    shutil.copytree(root, dest, symlinks=True, ignore=ignore, dirs_exist_ok=True, copy_function=counting)
    _prune_emptied(dest, skip)
    return counting.bytes


def _prune_emptied(dest: Path, skip: set[str]) -> None:
    """copytree makes every directory, even one whose files were all left out: an empty
    `lightning_logs/version_2/` left behind by a later run would still make the program pick
    `version_3`. Directories above a left-out path that hold nothing else go too."""
    for rel in sorted(skip, key=lambda p: -p.count("/")):
        parent = Path(rel).parent
        while parent != Path("."):
            try:
                (dest / parent).rmdir()
            except OSError:
                break
            parent = parent.parent


def recreate_listed(dest_root: Path, listed_entries: dict) -> int:
    """Recreate, as empty placeholders, the names each directory the run listed held before the
    run: a program that picks a name from what exists (`version_N`) picks the recorded one.
    Names come from the manifest, so each is confined to the workspace and existing paths are
    left as they are. Returns how many placeholders were made."""
    made = 0
    for directory, names in sorted(listed_entries.items()):
        for name in names:
            is_dir = name.endswith("/")
            rel = name.rstrip("/") if directory == "." else f"{directory}/{name.rstrip('/')}"
            target = confine(dest_root, rel, what="listed directory entry")
            if os.path.lexists(target):
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if is_dir:
                target.mkdir()
            else:
                target.touch()
            made += 1
    return made


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


def copy_inputs(root: Path, dest_root: Path, paths: list[str]) -> int:
    """Inputs that the checkout lacks (data is rarely committed) come from the user's project.
    Returns the bytes copied."""
    counting = _Counting()
    for rel in paths:
        target = confine(dest_root, rel, what="input path")
        if os.path.lexists(target):
            continue
        source = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, symlinks=True, copy_function=counting)
        else:
            counting(str(source), str(target))
    return counting.bytes


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
