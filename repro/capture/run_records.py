"""Which files of the project earlier runs wrote: the outputs recorded in the run records under
`.repro/runs/`.

A file a run wrote is that run's output, never the next run's code: `nbconvert --execute
train.ipynb --output executed.ipynb` leaves an untracked notebook that would otherwise be
recorded as source, mark the tree dirty, and make a replay of the second run refuse once a third
run rewrote it. The code facet leaves these files out, and says which of them changed since a
run wrote them (edited by hand, or written by something else).

At replay the records decide what the code check ignores, so there only records signed by a
trusted key count: a planted record must not hide a changed source file. A run believes records
as they are, and reads each one's outputs from the small index kept beside it (`outputs.json`,
stamped with the record's size, mtime and inode) instead of parsing a manifest that can list
100,000 files: without it, every run would re-read the whole history.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Mapping

from repro.errors import ReproError

RUNS_DIR = Path(".repro") / "runs"
MANIFEST_NAME = "manifest.json"
INDEX_NAME = "outputs.json"

Digest = dict[str, str]
# project-relative path -> the digests runs recorded for it (one per run that wrote it)
RunOutputs = Mapping[str, list[Digest]]
# (canonical body, signatures) -> whether the record may be believed
Check = Callable[[bytes, list], bool]


def _entries(outputs: object) -> list[tuple[str, Digest]]:
    """(path, digest) of every file entry in a record's outputs; malformed entries are skipped."""
    out: list[tuple[str, Digest]] = []
    if not isinstance(outputs, list):
        return out
    for art in outputs:
        if not isinstance(art, dict):
            continue
        for entry in (art, *(art.get("files") or [])):
            if not isinstance(entry, dict):
                continue
            path, digest = entry.get("path"), entry.get("digest")
            if isinstance(path, str) and isinstance(digest, dict) and path not in (".", ""):
                out.append((path, digest))
    return out


def _stamp(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def write_index(record: Path, outputs: list) -> None:
    """Keep the outputs of the run record at `record` beside it, stamped with the record's stat."""
    from repro.evidence import jsonio

    index = {"record": _stamp(record), "outputs": [[rel, digest] for rel, digest in _entries(outputs)]}
    jsonio.write_atomic(record.parent / INDEX_NAME, json.dumps(index, separators=(",", ":")).encode())


def _indexed(record: Path) -> list[tuple[str, Digest]] | None:
    """The index's entries when it belongs to the record as it is now, else None."""
    try:
        index = json.loads((record.parent / INDEX_NAME).read_bytes())
        if index["record"] != _stamp(record):
            return None
        return [(rel, digest) for rel, digest in index["outputs"] if isinstance(rel, str) and isinstance(digest, dict)]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def outputs_written_by_runs(root: Path, check: Check | None = None) -> dict[str, list[Digest]]:
    """The files the run records under `root/.repro/runs/` list as outputs. A record that
    cannot be read, is malformed or (with `check`) is not believed is left out: this is a list of
    files to leave out of the code, so a broken record must never stop a run."""
    from repro.evidence import jsonio

    found: dict[str, list[Digest]] = {}
    runs = root / RUNS_DIR
    if not runs.is_dir():
        return found
    for path in sorted(runs.glob(f"*/{MANIFEST_NAME}")):
        entries = _indexed(path) if check is None else None
        if entries is not None:
            for rel, digest in entries:
                found.setdefault(rel, []).append(digest)
            continue
        try:
            data = jsonio.load_file(path)
        except ReproError:
            continue
        if not isinstance(data, dict) or not isinstance(data.get("predicate"), dict):
            continue
        if check is not None:
            statement = {k: v for k, v in data.items() if k != "signatures"}
            signatures = data.get("signatures")
            try:
                believed = isinstance(signatures, list) and check(jsonio.canonical_bytes(statement), signatures)
            except ReproError:
                believed = False
            if not believed:
                continue
        for rel, digest in _entries(data["predicate"].get("outputs")):
            found.setdefault(rel, []).append(digest)
    return found


def signed_by(trusted: list) -> Check:
    """A check that believes a record signed by one of the `trusted` keys."""
    from repro.evidence import signing

    def check(body: bytes, signatures: list) -> bool:
        try:
            signing.verify(body, signatures, trusted)
        except ReproError:
            return False
        return True

    return check


def changed_since_written(root: Path, rel: str, digests: list[Digest]) -> bool:
    """Whether the file's bytes now are none of those the runs recorded for it."""
    from repro.data.digest import digest_file

    for digest in digests:
        for algorithm in digest:
            try:
                if digest_file(root / rel, algorithm) == {algorithm: digest[algorithm]}:
                    return False
            except (OSError, ValueError, KeyError):
                return True
    return True
