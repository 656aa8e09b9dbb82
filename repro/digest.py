"""File and tree fingerprints.

Every digest names its algorithm (``{"xxh3_128": "…"}``) so a manifest says how it was made.
xxh3-128 is fast and catches accidental change; it is not collision resistant, so a project that
must resist a forger picks sha256.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import xxhash

from repro.errors import UsageError

ALGORITHMS = ("xxh3_128", "sha256")
DEFAULT_ALGORITHM = "xxh3_128"
CHUNK = 1 << 20
DEFAULT_IGNORE = (".git", "__pycache__", ".repro")

Digest = dict  # {"<algorithm>": "<hex>"}; a plain dict so it serialises as it is


def new_hasher(algorithm: str):
    if algorithm == "xxh3_128":
        return xxhash.xxh3_128()
    if algorithm == "sha256":
        return hashlib.sha256()
    raise UsageError(f"unknown digest algorithm {algorithm!r} (choose from {', '.join(ALGORITHMS)})")


def digest_bytes(data: bytes, algorithm: str = DEFAULT_ALGORITHM) -> Digest:
    h = new_hasher(algorithm)
    h.update(data)
    return {algorithm: h.hexdigest()}


def digest_file(path: Path, algorithm: str = DEFAULT_ALGORITHM) -> Digest:
    h = new_hasher(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return {algorithm: h.hexdigest()}


@dataclass(frozen=True)
class FileEntry:
    """One regular file: its path relative to the project root (POSIX form)."""

    path: str
    size: int
    digest: Digest
    executable: bool = False

    def to_json(self) -> dict:
        return {"path": self.path, "size": self.size, "digest": dict(self.digest), "executable": self.executable}


@dataclass(frozen=True)
class Artifact:
    """A declared input or output: a file, or a directory with its files and a root digest."""

    path: str
    kind: str  # "file" | "directory"
    size: int
    digest: Digest
    files: tuple[FileEntry, ...] = field(default=())

    def to_json(self) -> dict:
        out: dict = {"path": self.path, "kind": self.kind, "size": self.size, "digest": dict(self.digest)}
        if self.kind == "directory":
            out["files"] = [f.to_json() for f in self.files]
        return out

    def file_entries(self) -> tuple[FileEntry, ...]:
        if self.kind == "file":
            return (FileEntry(self.path, self.size, self.digest, False),)
        return self.files


def relpath(path: Path, root: Path) -> str:
    """POSIX path of `path` relative to `root`; paths outside the root keep their absolute form."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def tree_root_digest(entries: Sequence[FileEntry], algorithm: str) -> Digest:
    """Digest over the sorted (path, digest, executable) entries: independent of walk order."""
    h = new_hasher(algorithm)
    for e in sorted(entries, key=lambda e: e.path):
        h.update(f"{e.path}\0{e.digest[algorithm]}\0{int(e.executable)}\n".encode())
    return {algorithm: h.hexdigest()}


def walk_files(directory: Path, ignore: Iterable[str] = DEFAULT_IGNORE) -> list[Path]:
    """Regular files under `directory`; symlinks are never followed (a link out of the tree or a
    loop cannot escape or hang), ignored names are skipped at any depth."""
    ignored = set(ignore)
    out: list[Path] = []
    stack = [directory]
    while stack:
        d = stack.pop()
        with os.scandir(d) as it:
            for entry in it:
                if entry.name in ignored:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=False):
                    out.append(Path(entry.path))
    return out


def fingerprint_file(path: Path, root: Path, algorithm: str) -> FileEntry:
    st = path.stat()
    return FileEntry(relpath(path, root), st.st_size, digest_file(path, algorithm), bool(st.st_mode & stat.S_IXUSR))


def fingerprint(
    paths: Sequence[Path],
    root: Path,
    algorithm: str = DEFAULT_ALGORITHM,
    *,
    ignore: Iterable[str] = DEFAULT_IGNORE,
) -> list[Artifact]:
    """Fingerprint each existing path (file or directory) relative to `root`."""
    new_hasher(algorithm)
    artifacts: list[Artifact] = []
    for p in paths:
        if p.is_dir():
            files = tuple(sorted((fingerprint_file(f, root, algorithm) for f in walk_files(p, ignore)), key=lambda e: e.path))
            artifacts.append(
                Artifact(relpath(p, root), "directory", sum(f.size for f in files), tree_root_digest(files, algorithm), files)
            )
        else:
            e = fingerprint_file(p, root, algorithm)
            artifacts.append(Artifact(e.path, "file", e.size, e.digest))
    return artifacts
