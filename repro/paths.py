"""Paths the user declares and paths read from manifests, expanded and confined to a root."""

from __future__ import annotations

import os
from pathlib import Path

from repro import globs
from repro.data.digest import relative_inside
from repro.errors import UnsafePathError, UsageError
from repro.evidence.manifest import check_relpath

GLOB_CHARS = globs.GLOB_CHARS


def project_relative(path: Path, root: Path) -> str:
    """POSIX path relative to `root` without resolving symlinks, so `data -> /mnt/data` stays `data`."""
    if "\0" in str(path):
        raise UsageError(f"path {str(path)!r} contains a NUL byte")
    rel = relative_inside(os.path.normpath(os.path.abspath(path)), os.fspath(root))
    if rel is None:
        raise UsageError(f"{path} is outside the project root {root}")
    return rel


def refuse_outside(specs: tuple[str, ...] | list[str], cwd: Path, root: Path, *, what: str) -> None:
    """A declared path outside the project can be neither recorded relative to the root nor
    rebuilt by a replay: refuse it before the command runs, saying what to do instead. A glob is
    judged by its fixed leading part."""
    for spec in specs:
        if "\0" in spec:
            raise UsageError(f"{what} {spec!r} contains a NUL byte")
        parts = spec.split("/")
        fixed = "/".join(p for p in parts[:next((i for i, p in enumerate(parts) if GLOB_CHARS & set(p)), len(parts))])
        path = os.path.normpath(os.path.join(cwd, fixed or "."))
        if relative_inside(path, os.fspath(root)) is None:
            raise UsageError(f"{what} {spec} is outside the project root {root}: repro records and replays only files "
                             "under the root, so write it inside the project, or make a directory that holds both the "
                             "project and it the root (put a repro.yaml there and run from it)")


def expand(specs: tuple[str, ...] | list[str], cwd: Path, root: Path, *, what: str, must_exist: bool) -> list[Path]:
    """Expand files, directories and globs (relative to `cwd`, in repro's one glob dialect:
    `repro.globs`); every result must be inside `root`. A spec that matches nothing is an error
    when `must_exist` (inputs), skipped otherwise."""
    out: list[Path] = []
    seen: set[str] = set()
    for spec in specs:
        if "\0" in spec:
            raise UsageError(f"{what} {spec!r} contains a NUL byte")
        pattern = spec if os.path.isabs(spec) else os.path.join(cwd, spec)
        if globs.is_glob(spec):
            matches = globs.expand(spec, os.fspath(cwd))
        else:
            matches = [pattern] if os.path.lexists(pattern) else []
        if not matches:
            if must_exist:
                raise UsageError(f"{what} {spec} does not exist")
            continue
        for m in matches:
            p = Path(os.path.normpath(m))
            rel = project_relative(p, root)
            if rel == ".":
                raise UsageError(f"{what} {spec} is the whole project root: name the data inside it")
            if rel not in seen:
                seen.add(rel)
                out.append(p)
    return out


def confine(root: Path, rel: str, *, what: str = "path") -> Path:
    """Join a manifest path onto `root`, refusing anything that would land outside it, including
    through a symlink already present in the tree."""
    check_relpath(rel, what=what)
    target = root / rel
    real_root = root.resolve()
    try:
        resolved = target.resolve()
    except (RuntimeError, OSError) as e:  # a symlink loop: Python 3.10-3.12 raise RuntimeError
        raise UnsafePathError(f"unsafe {what} {rel!r}: cannot be resolved (symlink loop?)") from e
    if resolved != real_root and real_root not in resolved.parents:
        raise UnsafePathError(f"unsafe {what} {rel!r}: resolves outside {root} (through a symlink)")
    return target


def check_output_target(path: Path, what: str, *, create_parents: bool) -> None:
    """Fail before anything runs, not after, when a file repro must write (a manifest, a report)
    cannot be written at `path`: written atomically (a temporary file beside it, then a rename),
    so it must be a regular file or not exist yet, in a directory that exists — or, with
    `create_parents`, that can be created — and can be written. Nothing is created here: a run
    refused later must leave nothing behind."""
    text = os.fspath(path)
    if text == "-":
        raise UsageError(f"{what} path '-': write it to a file (standard output carries the report)")
    if "\0" in text:
        raise UsageError(f"{what} path {text!r} contains a NUL byte")
    if path.is_dir():
        raise UsageError(f"{what} path {path} is a directory")
    if os.path.lexists(path) and not path.is_file():
        raise UsageError(f"{what} path {path} exists and is not a regular file (it is written atomically: give a "
                         "file path)")
    parent = Path(os.path.abspath(path)).parent
    existing = parent
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    if existing != parent and not create_parents:
        raise UsageError(f"cannot write the {what} {path}: directory {parent} does not exist")
    if not existing.is_dir():
        raise UsageError(f"cannot write the {what} {path}: {existing} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write the {what} {path}: directory {existing} is not writable")
