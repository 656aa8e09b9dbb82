"""A content-addressed store of run outputs under `.repro/store/`.

Tolerance comparison needs the recorded bytes, not only their digests, and the user may have
overwritten the outputs since. Files are named by digest, so identical outputs of many runs
are kept once; each copy is hashed while it is written and renamed into place only when it
matches, so a crash or a concurrent writer never leaves a wrong or half-written entry.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from repro.data.digest import digest_file, new_hasher

DEFAULT_MAX_BYTES = 2 * 1024**3
CHUNK = 1 << 20


@dataclass(frozen=True)
class Store:
    directory: Path
    max_bytes: int = DEFAULT_MAX_BYTES
    _known: list[int] = field(default_factory=list, compare=False, repr=False)
    """Bytes in the store as of its last scan plus what was put since, so storing a run's
    10,000 outputs scans the store once, not once per file (which was quadratic)."""

    @classmethod
    def for_project(cls, root: Path, settings: dict | None = None) -> "Store":
        settings = settings or {}
        return cls(root / ".repro" / "store", int(settings.get("max_bytes", DEFAULT_MAX_BYTES)))

    def path_for(self, digest: dict) -> Path:
        ((algorithm, value),) = digest.items()
        if not value.isalnum():
            raise ValueError("digest value is not hexadecimal")
        return self.directory / algorithm / value[:2] / value

    def get(self, digest: dict) -> Path | None:
        """The stored copy, re-hashed so a damaged store can never vouch for wrong bytes; None when
        it is absent, damaged or unreadable."""
        path = self.path_for(digest)
        if not path.is_file():
            return None
        try:
            if digest_file(path, next(iter(digest))) != digest:
                return None
        except OSError:
            return None
        try:
            os.utime(path)
        except OSError:
            pass  # a read-only store still serves its bytes
        return path

    def put(self, source: Path, digest: dict, size: int) -> bool:
        """Keep a copy of `source` if it still has `digest`; False when it does not fit, changed,
        or cannot be written (full disk, read-only store): the store is an optimisation, and a
        failure to fill it must never cost the user the run's manifest."""
        try:
            return self._put(source, digest, size)
        except OSError:
            return False

    def _put(self, source: Path, digest: dict, size: int) -> bool:
        target = self.path_for(digest)
        if target.is_file():
            os.utime(target)
            return True
        if size > self.max_bytes:
            return False
        self._make_room(size)
        target.parent.mkdir(parents=True, exist_ok=True)
        ((algorithm, value),) = digest.items()
        h = new_hasher(algorithm)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".put-")
        try:
            with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
                while chunk := src.read(CHUNK):
                    h.update(chunk)
                    out.write(chunk)
            if h.hexdigest() != value:
                os.unlink(tmp)
                return False
            os.chmod(tmp, 0o444)
            os.replace(tmp, target)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        return True

    def usage(self) -> list[tuple[float, int, Path]]:
        entries = []
        if self.directory.is_dir():
            for path in self.directory.glob("*/*/*"):
                try:
                    st = path.stat()
                except FileNotFoundError:
                    continue
                entries.append((st.st_mtime, st.st_size, path))
        return entries

    def _make_room(self, incoming: int) -> None:
        """Evict the least recently used entries until `incoming` bytes fit under the limit."""
        if self._known and self._known[0] + incoming <= self.max_bytes:
            self._known[0] += incoming
            return
        entries = sorted(self.usage())
        total = sum(size for _, size, _ in entries)
        for _, size, path in entries:
            if total + incoming <= self.max_bytes:
                break
            try:
                path.unlink()
                total -= size
            except FileNotFoundError:
                pass
        self._known[:] = [total + incoming]
