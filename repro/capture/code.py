"""The code that ran: git commit, branch, remote, dirty flag and the diff against HEAD (with
untracked source files); a tree digest outside git.

What counts as code is deliberately narrow: tracked files, plus untracked files that are not
ignored, look like source, and are not the run's own inputs, outputs, manifests or logs, nor
files that earlier runs recorded as their outputs (see `run_records`). So a user without a
`.gitignore` is never refused at replay because a run wrote into the tree.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from repro.capture.run_records import RunOutputs, changed_since_written

from repro.data.digest import DEFAULT_IGNORE, digest_bytes, fingerprint_file, tree_root_digest, walk_files
from repro.secrets import mask_bytes, strip_url_credentials

SOURCE_SUFFIXES = frozenset({
    ".py", ".pyx", ".pxd", ".pyi", ".ipynb", ".c", ".cc", ".cpp", ".cxx", ".h", ".hpp", ".cu", ".cuh",
    ".sh", ".bash", ".r", ".jl", ".toml", ".cfg", ".ini", ".yaml", ".yml", ".mk", ".cmake",
})
# repro.yaml is not code: everything in it that shapes a run is recorded in its own fields, and
# its `verify:` rules must be editable after a run without making the code differ.
NOT_CODE = ("repro.yaml",)
SOURCE_NAMES = frozenset({"Makefile", "Dockerfile", "requirements.txt", "setup.py", "pyproject.toml", "CMakeLists.txt"})


def is_source(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return name in SOURCE_NAMES or ("." in name and "." + name.rsplit(".", 1)[-1].lower() in SOURCE_SUFFIXES)


def _excluded(rel: str, exclude: tuple[str, ...]) -> bool:
    parts = rel.split("/")
    if any(p in DEFAULT_IGNORE for p in parts) or rel in NOT_CODE:
        return True
    return any(rel == e or rel.startswith(e.rstrip("/") + "/") for e in exclude)


@dataclass(frozen=True)
class CodeCapture:
    facet: dict
    diff: bytes  # saved beside the manifest when non-empty


def _git(root: Path, *args: str, check: bool = True) -> str:
    out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=check)
    return out.stdout.decode("utf-8", errors="surrogateescape")


def _git_bytes(root: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=True).stdout


def git_toplevel(path: Path) -> Path | None:
    try:
        out = subprocess.run(["git", "-C", str(path), "rev-parse", "--show-toplevel"], capture_output=True, text=True)
    except OSError:
        return None
    return Path(out.stdout.strip()) if out.returncode == 0 else None


@dataclass(frozen=True)
class GitState:
    """What one `git rev-parse` and one `git status` say about the checkout at `root`."""

    prefix: str  # of `root` inside the repository, "" or ending in "/"
    head: str | None  # None before the first commit
    branch: str | None  # None when detached or before the first commit's branch exists
    untracked: tuple[str, ...]  # not ignored, project-relative, every file (not only directories)


def git_state(root: Path) -> GitState | None:
    """None outside a work tree. `--no-optional-locks`: a capture must never write the index."""
    try:
        rev = subprocess.run(["git", "-C", str(root), "rev-parse", "--show-toplevel", "--show-prefix"],
                             capture_output=True)
    except OSError:
        return None
    if rev.returncode != 0:
        return None
    lines = rev.stdout.decode("utf-8", errors="surrogateescape").split("\n")
    prefix = lines[1] if len(lines) > 1 else ""
    status = subprocess.run(
        ["git", "--no-optional-locks", "-C", str(root), "status", "--porcelain=v2", "--branch", "-z",
         "--untracked-files=all", "--ignored=no", "--", "."], capture_output=True, check=True,
    ).stdout.decode("utf-8", errors="surrogateescape")
    head = branch = None
    untracked = []
    for entry in status.split("\0"):
        if entry.startswith("# branch.oid "):
            oid = entry[len("# branch.oid "):]
            head = None if oid == "(initial)" else oid
        elif entry.startswith("# branch.head "):
            name = entry[len("# branch.head "):]
            branch = None if name == "(detached)" else name
        elif entry.startswith("? ") and entry[2:].startswith(prefix):  # paths are relative to the top
            untracked.append(entry[2 + len(prefix):])
    return GitState(prefix, head, branch if head else None, tuple(sorted(untracked)))


def untracked_sources(state: GitState, exclude: tuple[str, ...]) -> list[str]:
    return [p for p in state.untracked if is_source(p) and not _excluded(p, exclude)]


def modified_tracked(root: Path, exclude: tuple[str, ...]) -> list[str]:
    """Tracked files (under `root`) whose content differs from HEAD, project-relative."""
    pathspecs = [".", *(f":(exclude){p}" for p in (*exclude, *NOT_CODE))]
    listing = _git(root, "diff", "--name-only", "--relative", "-z", "HEAD", "--", *pathspecs, check=False)
    return sorted(p for p in listing.split("\0") if p)


def written_by_runs(
    root: Path, state: GitState, exclude: tuple[str, ...], run_outputs: RunOutputs
) -> tuple[list[str], list[str]]:
    """The files that would count as code but that runs recorded as outputs, and those of them
    whose bytes changed since (edited by the user, or written by something else)."""
    if not run_outputs:
        return [], []
    candidates = set(untracked_sources(state, exclude))
    if state.head:
        candidates.update(modified_tracked(root, exclude))
    written = sorted(p for p in candidates if p in run_outputs)
    edited = [p for p in written if changed_since_written(root, p, run_outputs[p])]
    return written, edited


def capture(root: Path, algorithm: str, exclude: Iterable[str] = (), run_outputs: RunOutputs | None = None) -> CodeCapture:
    """`exclude` names project-relative paths that are the run's own (inputs, outputs, manifest);
    `run_outputs` the files earlier runs recorded as outputs, which are never code either."""
    excl = tuple(exclude)
    state = git_state(root)
    if state is None:
        return _capture_tree(root, algorithm, excl, run_outputs or {})
    head, branch, prefix = state.head, state.branch, state.prefix
    remote = _git(root, "remote", "get-url", "origin", check=False).strip() or None
    written, edited = written_by_runs(root, state, excl, run_outputs or {})
    excl += tuple(written)
    pathspecs = [".", *(f":(exclude){p}" for p in (*excl, *NOT_CODE))]
    diff = _git_bytes(root, "diff", "--binary", "--no-color", "--no-ext-diff", "HEAD", "--", *pathspecs) if head else b""
    untracked = untracked_sources(state, excl)
    for rel in untracked:
        diff += subprocess.run(
            ["git", "-C", str(root), "diff", "--binary", "--no-color", "--no-index", "--", "/dev/null", rel],
            capture_output=True,
        ).stdout
    # The diff is saved beside the manifest and travels with it: a token in an uncommitted config
    # file must not. Masked the same way at run and at replay, so the digests still compare.
    diff, masked = mask_bytes(diff)
    facet = {
        "kind": "git",
        "commit": head,
        "branch": branch,
        "remote": strip_url_credentials(remote) if remote else None,
        "subdir": prefix.rstrip("/") or None,
        "dirty": bool(diff),
        "diff": {"size": len(diff), "digest": digest_bytes(diff, algorithm)} if diff else None,
        "untracked_sources": untracked,
    }
    if masked:
        facet["secrets_masked"] = masked
    _note_run_outputs(facet, written, edited)
    return CodeCapture(facet, diff)


def _note_run_outputs(facet: dict, written: list[str], edited: list[str]) -> None:
    if written:
        facet["run_outputs"] = written
    if edited:
        facet["edited_run_outputs"] = edited


def edited_warning(facet: dict) -> str | None:
    """What to tell the user about files that runs write and that were changed since."""
    edited = facet.get("edited_run_outputs") or []
    if not edited:
        return None
    shown = ", ".join(edited[:5]) + (f" (and {len(edited) - 5} more)" if len(edited) > 5 else "")
    return (f"{shown}: written by earlier runs and changed since, so both edited and a run's output; "
            "not recorded as code (declare it with --input if the command reads it)")


def _capture_tree(root: Path, algorithm: str, exclude: tuple[str, ...], run_outputs: RunOutputs) -> CodeCapture:
    entries = []
    written: list[str] = []
    for f in walk_files(root):
        rel = f.relative_to(root).as_posix()
        if is_source(rel) and not _excluded(rel, exclude):
            if rel in run_outputs:
                written.append(rel)
                continue
            entries.append(fingerprint_file(f, root, algorithm))
    entries.sort(key=lambda e: e.path)
    facet = {
        "kind": "tree",
        "digest": tree_root_digest(entries, algorithm),
        "files": [e.to_json() for e in entries],
    }
    _note_run_outputs(facet, sorted(written), sorted(p for p in written if changed_since_written(root, p, run_outputs[p])))
    return CodeCapture(facet, b"")
