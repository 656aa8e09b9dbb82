"""A stat cache: digests of files that have not changed since they were last read.

Re-reading every byte of a dataset to learn that nothing changed is the slow part of a second
fingerprint. Like git's index, this cache remembers, per file and algorithm, the digest together
with the file's stat signature (device, inode, size, mtime, ctime). When the signature is the
same the file is not read again.

It must never return a stale digest, so an entry is only written when it can be trusted later:

- the signature includes the inode and device, so a file replaced by rename misses;
- it includes ctime, which nobody can set (``os.utime`` moves it to now), so a file rewritten
  and given back its old mtime misses;
- a file changed within the timestamp granularity keeps its mtime, which is git's "racily clean"
  problem. The cache reads the filesystem clock (the mtime of a marker file it touches) *before*
  the files are statted, and stores an entry only when the file's mtime and ctime are strictly
  older than that moment. Any write after that moment stamps the file with a time no earlier
  than it, so a later change can never keep the stored signature. Files on another device than
  the cache get a margin of ``OTHER_DEVICE_MARGIN_NS`` for coarse timestamps and clock skew.
  An entry that is not old enough is simply not stored: the file is hashed again next time.

The database is SQLite in WAL mode, so readers never wait for a writer and two processes can
share it; writes are short batched transactions under a busy timeout. The cache is an
optimisation only: a locked, read-only or unreadable cache is skipped, and a corrupt one is moved
aside and rebuilt, without an error to the user.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import struct
import threading
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

log = logging.getLogger(__name__)

CACHE_RELPATH = Path(".repro") / "cache" / "stat.sqlite"
SCHEMA_VERSION = 2
OTHER_DEVICE_MARGIN_NS = 2_000_000_000
BUSY_TIMEOUT_S = 10.0
WRITE_BATCH = 5_000

SIGNATURE = struct.Struct("<QQQqq")  # dev, ino, size, mtime_ns, ctime_ns

_INSERT = "INSERT OR REPLACE INTO entries (algorithm, path, entry) VALUES (?, ?, ?)"
_DELETE = "DELETE FROM entries WHERE algorithm = ? AND path = ?"

_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26

# One row per (algorithm, absolute path). `entry` is the 40-byte signature followed by the
# ASCII hex digest: two columns per row instead of three, and `dict(cursor)` builds the lookup
# table in C, which is a fifth of the load time at 100,000 rows.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    algorithm TEXT NOT NULL,
    path      TEXT NOT NULL,
    entry     BLOB NOT NULL,
    PRIMARY KEY (algorithm, path)
) WITHOUT ROWID
"""


def signature(st: os.stat_result) -> bytes:
    """The part of a stat result that changes whenever the content may have: 40 packed bytes.

    Packed rather than kept as five integers because loading 100,000 rows is on the critical
    path of a cached re-fingerprint: a row is one blob, and checking a file is one
    ``bytes.startswith``."""
    return SIGNATURE.pack(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def match(entry: bytes | None, sig: bytes) -> str | None:
    """The hex digest stored in a cache `entry` if it was stored for signature `sig`."""
    if entry is not None and entry.startswith(sig) and len(entry) > SIGNATURE.size:
        return entry[SIGNATURE.size :].decode("ascii")
    return None


def _is_corruption(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    text = str(exc).lower()
    return "not a database" in text or "malformed" in text


class StatCache:
    """Digests keyed on (path, stat signature, algorithm), stored in one SQLite file.

    Safe to share between threads of one process (calls are serialised) and between processes
    (SQLite WAL). A connection inherited across ``fork`` is never reused: the child reopens.
    """

    def __init__(self, path: Path, *, timeout: float = BUSY_TIMEOUT_S) -> None:
        self.path = Path(path)
        self._timeout = timeout
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = -1
        self._disabled = False
        self._clock = self.path.parent / "clock"
        self._dev: int | None = None

    @classmethod
    def for_root(cls, root: Path) -> StatCache:
        """The cache of a project: ``<root>/.repro/cache/stat.sqlite``."""
        return cls(Path(root) / CACHE_RELPATH)

    @property
    def enabled(self) -> bool:
        """False once the cache proved unusable (read-only, full disk); the run goes on without it."""
        return not self._disabled

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def __enter__(self) -> StatCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the filesystem clock -------------------------------------------------------------

    def fs_now(self) -> int | None:
        """The filesystem's idea of "now" in ns: the mtime of a marker file just touched.

        Taken from the filesystem, not ``time.time_ns()``, because file timestamps come from the
        kernel's coarse clock truncated to the filesystem's granularity; comparing against the
        same clock is what makes the racily-clean rule exact. None when the cache is unusable:
        then nothing will be stored."""
        if self._disabled:
            return None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._clock, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                os.utime(fd)
                st = os.fstat(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            log.debug("stat cache disabled: cannot touch %s: %s", self._clock, exc)
            self._disabled = True
            return None
        self._dev = st.st_dev
        return st.st_mtime_ns

    def trusted(self, sig: bytes, now: int | None) -> bool:
        """Whether a digest read after `now` (from :meth:`fs_now`) for a file with signature
        `sig` may be stored: its mtime and ctime must be strictly older than `now`, with a margin
        when the file lives on another device than the cache (another clock, maybe coarser)."""
        if now is None:
            return False
        dev, _, _, mtime_ns, ctime_ns = SIGNATURE.unpack(sig)
        limit = now if dev == self._dev else now - OTHER_DEVICE_MARGIN_NS
        return mtime_ns < limit and ctime_ns < limit

    # -- reads and writes -----------------------------------------------------------------

    def load(self, algorithm: str, path: str) -> dict[str, bytes]:
        """Every entry for `path` and, when it is a directory, for everything below it, as
        absolute path -> signature + ASCII hex digest (see :func:`match`). One query, so
        checking a whole tree costs one dict lookup per file instead of one query per file."""
        upper = path.rstrip("/")
        args = (algorithm, path, algorithm, upper + "/", upper + "0")
        sql = (
            "SELECT path, entry FROM entries WHERE algorithm = ? AND path = ? "
            "UNION ALL SELECT path, entry FROM entries WHERE algorithm = ? AND path >= ? AND path < ?"
        )
        return self._run(lambda c: dict(c.execute(sql, args)), default={})  # type: ignore[no-any-return]

    def lookup(self, algorithm: str, path: str, st: os.stat_result) -> str | None:
        """The digest of one file if its stat signature is unchanged, else None."""
        return match(self.load(algorithm, path).get(path), signature(st))

    def store(
        self,
        algorithm: str,
        entries: Iterable[tuple[str, bytes, str]],
        forget: Iterable[str] = (),
    ) -> None:
        """Delete the `forget` paths, then insert (absolute path, signature, hex digest) rows, in
        short transactions of ``WRITE_BATCH`` rows so another process waits at most one batch."""
        rows = entries if isinstance(entries, list) else list(entries)
        gone = forget if isinstance(forget, list) else list(forget)
        if not rows and not gone:
            return

        def batches() -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
            # built one batch at a time: 100,000 rows at once would cost 15 MB of peak memory
            for i in range(0, len(gone), WRITE_BATCH):
                yield _DELETE, [(algorithm, p) for p in gone[i : i + WRITE_BATCH] if _storable(p)]
            for i in range(0, len(rows), WRITE_BATCH):
                yield _INSERT, [(algorithm, p, s + d.encode("ascii")) for p, s, d in rows[i : i + WRITE_BATCH] if _storable(p)]

        def write(conn: sqlite3.Connection) -> None:
            for sql, batch in batches():
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.executemany(sql, batch)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")

        self._run(write, default=None)

    def put(self, algorithm: str, path: str, st: os.stat_result, digest: str, now: int | None) -> bool:
        """Store one digest if the racily-clean rule allows it; returns whether it was stored."""
        sig = signature(st)
        if not self.trusted(sig, now):
            return False
        self.store(algorithm, [(path, sig, digest)])
        return True

    def __len__(self) -> int:
        return int(self._run(lambda c: c.execute("SELECT count(*) FROM entries").fetchone()[0], default=0))

    # -- connection management ------------------------------------------------------------

    def _run(self, op: Callable[[sqlite3.Connection], Any], default: Any) -> Any:
        """Run `op(connection)`; on corruption move the file aside and retry once on a fresh
        database; on any other SQLite or OS error give up on the cache for this process."""
        if self._disabled:
            return default
        with self._lock:
            for attempt in (1, 2):
                try:
                    return op(self._connection())
                except sqlite3.Error as exc:
                    if _is_corruption(exc) and attempt == 1:
                        log.debug("stat cache %s is corrupt (%s): rebuilding", self.path, exc)
                        self._quarantine()
                        continue
                    if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc).lower():
                        log.debug("stat cache %s busy, skipped: %s", self.path, exc)
                        return default
                    log.debug("stat cache %s disabled: %s", self.path, exc)
                except OSError as exc:
                    log.debug("stat cache %s disabled: %s", self.path, exc)
                self._disabled = True
                self._drop_connection()
                return default
        return default

    def _connection(self) -> sqlite3.Connection:
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        self._conn = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA busy_timeout = %d" % int(self._timeout * 1000))
            if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
                raise sqlite3.OperationalError("cannot switch the stat cache to WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                        conn.execute("DROP TABLE IF EXISTS entries")
                        conn.execute(_SCHEMA)
                        conn.execute("PRAGMA user_version = %d" % SCHEMA_VERSION)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
        except BaseException:
            conn.close()
            raise
        self._conn, self._pid = conn, os.getpid()
        return conn

    def _drop_connection(self) -> None:
        if self._conn is not None and self._pid == os.getpid():
            try:
                self._conn.close()
            except sqlite3.Error:
                pass
        self._conn = None

    def _quarantine(self) -> None:
        """Move a corrupt database aside as ``stat.sqlite.corrupt`` (only the latest is kept, for
        a post-mortem) and drop its WAL files, which belong to it; the next connection creates a
        fresh database."""
        self._drop_connection()
        try:
            os.replace(self.path, self.path.with_name(self.path.name + ".corrupt"))
        except FileNotFoundError:
            pass
        for suffix in ("-wal", "-shm"):
            try:
                os.unlink(f"{self.path}{suffix}")
            except FileNotFoundError:
                pass


def _storable(path: str) -> bool:
    """SQLite text must be UTF-8: a file name that is not (kept by Python as surrogate escapes)
    is simply never cached."""
    if path.isascii():
        return True
    try:
        path.encode()
    except UnicodeEncodeError:
        return False
    return True

