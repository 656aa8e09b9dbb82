"""The Statement's subjects: every output file named with its sha256.

The predicate keeps the run's own digest algorithm (xxh3-128 by default: fast, and enough to
notice change), but the subjects are what other tools match artifacts against. The in-toto digest
set asks producers for a cryptographic digest, sigstore-python's Statement model accepts only
sha2/sha3 names, and cosign's claim check looks for sha256: so a subject carries sha256 and
nothing else. When the run already hashes with sha256 its digests are reused; otherwise the
output files are read once more, in parallel (the page cache usually still holds them).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from repro.data.digest import Artifact, FileEntry, digest_bytes, digest_file, hash_files
from repro.errors import UsageError

SUBJECT_ALGORITHM = "sha256"


@dataclass(frozen=True)
class Named:
    """A file to name as a subject: its recorded name and where it is now."""

    name: str
    path: Path
    size: int
    link: str | None = None
    follow: bool = False  # a path the user named is followed, a file found inside a directory is not


def output_files(outputs: Iterable[Artifact], root: Path) -> list[tuple[Named, FileEntry]]:
    """Each file of each output, with the place it is read from."""
    out = []
    for art in outputs:
        for entry in art.file_entries():
            out.append((Named(entry.path, root / entry.path, entry.size, entry.link, follow=art.kind == "file"), entry))
    return out


def sha256_subjects(files: Sequence[tuple[Named, FileEntry | None]], algorithm: str, *, jobs: int | None = None) -> list[dict]:
    """`[{"name", "digest": {"sha256"}}]` in the order given. Digests the run already took with
    sha256 are reused; the rest are hashed in parallel. A file gone since it was fingerprinted
    is an error: a subject must name bytes that existed."""
    digests: list[str | None] = [None] * len(files)
    todo: list[int] = []
    for i, (named, entry) in enumerate(files):
        if entry is not None and algorithm == SUBJECT_ALGORITHM:
            digests[i] = entry.digest[SUBJECT_ALGORITHM]
        elif named.link is not None:
            digests[i] = digest_bytes(os.fsencode(named.link), SUBJECT_ALGORITHM)[SUBJECT_ALGORITHM]
        else:
            todo.append(i)
    found = hash_files([str(files[i][0].path) for i in todo], [files[i][0].size for i in todo], SUBJECT_ALGORITHM,
                       jobs=jobs)
    for i, hexdigest in zip(todo, found):
        named = files[i][0]
        if hexdigest is None and named.follow:
            hexdigest = _followed(named)
        if hexdigest is None:
            raise UsageError(f"output {named.name} vanished before the manifest was sealed")
        digests[i] = hexdigest
    return [{"name": named.name, "digest": {SUBJECT_ALGORITHM: d}} for (named, _), d in zip(files, digests)]


def _followed(named: Named) -> str | None:
    """A path the user named may be a symbolic link: read what it points to, as the fingerprint did."""
    try:
        return digest_file(named.path, SUBJECT_ALGORITHM)[SUBJECT_ALGORITHM]
    except OSError:
        return None
