"""Pin an image by digest: names as the engine spells them, the pinned reference, the build context's digest."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    pass




def repository_of(reference: str) -> str:
    """`host:5000/name:tag@sha256:...` -> `host:5000/name` (a registry port is not a tag)."""
    name = reference.split("@", 1)[0]
    head, _, last = name.rpartition("/")
    if ":" in last:
        last = last.split(":", 1)[0]
    return f"{head}/{last}" if head else last


def familiar(repository: str) -> str:
    """A repository in the short form the engine shows in RepoDigests: the default registry's
    name and its `library/` namespace dropped (the SDK knows which registry is the default)."""
    from docker.auth import INDEX_NAME, resolve_repository_name
    from docker.errors import InvalidRepository

    try:
        registry, name = resolve_repository_name(repository)
    except InvalidRepository:  # an odd name is compared as it is written
        return repository
    if registry != INDEX_NAME:
        return f"{registry}/{name}"
    return name[len("library/"):] if name.startswith("library/") and name.count("/") == 1 else name


def pin(reference: str | None, image_id: str, repo_digests: Sequence[str]) -> str:
    """The immutable reference to record. A reference by digest is already pinned. Otherwise the
    RepoDigest of the repository the user named, else any RepoDigest of the image (the same
    content, pullable from where it was pushed), else the image ID (built or imported here and
    never pushed: only this engine has it)."""
    ordered = sorted(repo_digests)
    if reference and "@" in reference:
        wanted = familiar(repository_of(reference)) + "@" + reference.split("@", 1)[1]
        return next((d for d in ordered if familiar(repository_of(d)) + "@" + d.split("@", 1)[1] == wanted), reference)
    if reference:
        repo = familiar(repository_of(reference))
        for d in ordered:
            if familiar(repository_of(d)) == repo:
                return d
    return ordered[0] if ordered else image_id


def context_digest(context: Path, dockerfile: Path, algorithm: str) -> dict:
    """Digest of the build context as the SDK sends it: the files `.dockerignore` lets through."""
    from docker.utils.build import exclude_paths

    from repro.data.digest import FileEntry, digest_bytes, digest_file, tree_root_digest

    patterns: list[str] = []
    ignore_file = context / ".dockerignore"
    if ignore_file.is_file():
        lines = ignore_file.read_text(encoding="utf-8", errors="replace").splitlines()
        patterns = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
    try:
        inside = dockerfile.relative_to(context).as_posix()
    except ValueError:
        inside = None
    entries = []
    for rel in sorted(exclude_paths(str(context), patterns, dockerfile=inside)):
        path = context / rel
        if path.is_symlink():
            target = os.readlink(path)
            entries.append(FileEntry(rel, len(target.encode()), digest_bytes(target.encode(), algorithm), link=target))
        elif path.is_file():
            entries.append(FileEntry(rel, path.stat().st_size, digest_file(path, algorithm),
                                     executable=os.access(path, os.X_OK)))
    return tree_root_digest(entries, algorithm)


@dataclass(frozen=True)
class PinnedImage:
    reference: str | None  # as the user gave it; None for an image built from a Dockerfile
    pinned: str  # name@sha256:<digest>, or sha256:<image id>
    id: str
    repo_digests: tuple[str, ...]
    env: tuple[str, ...] = ()  # the image's Config.Env

    def to_json(self) -> dict:
        return {"reference": self.reference, "pinned": self.pinned, "id": self.id,
                "repo_digests": list(self.repo_digests)}
