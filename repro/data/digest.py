"""File and tree fingerprints, at the speed of the disk.

Every digest names its algorithm (``{"xxh3_128": "…"}``) so a manifest says how it was made.
xxh3-128 is fast and catches accidental change; it is not collision resistant, so a project that
must resist a forger picks sha256.

How the bytes are read, and why (measured, 2 GiB file in the page cache; see docs/data.md):

- every file is read with ``readv`` into one reused, page-aligned 1 MiB buffer per thread. The
  buffer stays in the CPU cache, so the copy out of the page cache and the hash both run from
  cache: as fast as ``cat``, with a few MB of memory whatever the file size. Memory-mapped windows are
  faster still on warm data, but a file truncated by another process while it is mapped kills the
  whole process with SIGBUS, which Python cannot catch: not a risk a fingerprinting tool may take.
- a file of 64 MiB or more is read by a thread of its own a few buffers ahead of its hash, so
  the copy and the hash overlap on two cores;
- small files need one ``readv``: no per-file thread, no second read to find the end;
- files are hashed in parallel by a pool of threads pulling tasks: a large file is a task of its
  own (largest first), small files go in batches, so thread hand-offs stay rare. The hashes and
  the system calls release the GIL (python-xxhash only above 64 KiB, hence the 1 MiB chunks).
- a stat cache (:mod:`repro.data.statcache`) skips files whose stat signature has not changed.

Symbolic links inside a directory are never followed: each is recorded as an entry of its own
whose digest is taken over the link's target string. A path named by the caller is followed,
as ``find -H`` and ``rsync`` do with their arguments.
"""

from __future__ import annotations

import errno
import gc
import hashlib
import logging
import mmap
import os
import queue
import stat
import threading
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import xxhash

from repro import globs as globs_dialect
from repro.errors import UsageError
from repro.progress import Progress
from repro.data.statcache import SIGNATURE, StatCache, signature
from repro.data.statcache import match as statcache_match

ALGORITHMS = ("xxh3_128", "sha256")
DEFAULT_ALGORITHM = "xxh3_128"
CHUNK = 1 << 20
PIPELINE_MIN = 64 << 20  # a file this large is read a few buffers ahead of its hash
PIPELINE_BUFFERS = 4
DEFAULT_IGNORE = (".git", "__pycache__", ".repro")

BATCH_FILES = 256
BATCH_BYTES = 16 << 20
PROGRESS_STEP = 64 << 20
STABLE_READ_ATTEMPTS = 3

log = logging.getLogger(__name__)

Digest = dict  # {"<algorithm>": "<hex>"}; a plain dict so it serialises as it is

_SIGNATURE_PACK = SIGNATURE.pack

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
_WALKED_FLAGS = _OPEN_FLAGS | getattr(os, "O_NOFOLLOW", 0)
_GONE = (errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.EISDIR, errno.EAGAIN, errno.ENXIO)


def new_hasher(algorithm: str) -> Any:
    """An incremental hasher for `algorithm`; a UsageError names the choices when it is unknown."""
    if algorithm == "xxh3_128":
        return xxhash.xxh3_128()
    if algorithm == "sha256":
        return hashlib.sha256()
    raise UsageError(f"unknown digest algorithm {algorithm!r} (choose from {', '.join(ALGORITHMS)})")


def _sha256_hex(data: Any) -> str:
    return hashlib.sha256(data).hexdigest()


def _oneshot(algorithm: str) -> Callable[[Any], str]:
    """Hex digest of one buffer in a single call: no hasher object for the common small file."""
    new_hasher(algorithm)
    return xxhash.xxh3_128_hexdigest if algorithm == "xxh3_128" else _sha256_hex


def digest_bytes(data: bytes, algorithm: str = DEFAULT_ALGORITHM) -> Digest:
    """Digest of bytes already in memory (a log, a config, a link target)."""
    return {algorithm: _oneshot(algorithm)(data)}


def digest_file(path: Path, algorithm: str = DEFAULT_ALGORITHM) -> Digest:
    """Digest of a file's content, following a symlink; OSErrors reach the caller unchanged."""
    reader = _thread_reader(algorithm)
    fd = os.open(path, _OPEN_FLAGS)
    try:
        return {algorithm: reader.hash_fd(fd, 0)[0]}
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One file of a tree: its path relative to the project root (POSIX form).

    A symbolic link inside a tree is an entry too: `link` holds its target, `digest` is taken
    over the target string and `size` is the target's length in bytes."""

    path: str
    size: int
    digest: Digest
    executable: bool = False
    link: str | None = None

    def to_json(self) -> dict:
        """The manifest form; `link` appears only for a symbolic link, so a regular file's
        record is the same as before links were recorded."""
        out = {"path": self.path, "size": self.size, "digest": dict(self.digest), "executable": self.executable}
        if self.link is not None:
            out["link"] = self.link
        return out


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
    return _relative_real(os.path.realpath(path), root)


@lru_cache(maxsize=16)
def _real_root(root: str) -> str:
    return os.path.realpath(root)


def _stat_real(path: Path, directories: dict[str, str]) -> tuple[os.stat_result, str, str]:
    """`stat`, absolute (normalised) path and `realpath` of a path. 100,000 observed files are
    mostly plain files in a few directories: for a path that is not itself a link and has no `..`
    component, the real path is its directory's (resolved once per directory and call, in
    `directories`) joined with its name: one lstat instead of a stat plus a realpath's lstat of
    every component."""
    text = os.path.abspath(path)
    if ".." not in os.fspath(path).split(os.sep):
        st = os.lstat(text)
        if not stat.S_ISLNK(st.st_mode):
            head, name = os.path.split(text)
            real_head = directories.get(head)
            if real_head is None:
                real_head = directories[head] = os.path.realpath(head)
            return st, text, os.path.join(real_head, name)
    return os.stat(path), text, os.path.realpath(path)


def relative_inside(path: str, base: str) -> str | None:
    """`path` as a POSIX path relative to `base` (both absolute and normalised), "." for `base`
    itself, None when it is outside. String work only: it runs once per declared or observed
    path, 100,000s of them."""
    base = base.rstrip(os.sep)
    if path == (base or os.sep):
        return "."
    if not path.startswith(base + os.sep):
        return None
    return path[len(base) + 1:].replace(os.sep, "/")


def _relative_real(real: str, root: Path) -> str:
    rel = relative_inside(real, _real_root(os.fspath(root)))
    return rel if rel is not None else real.replace(os.sep, "/")


def _recorded_name(absolute: str, real: str, root: Path, absolute_root: str) -> str:
    """The name a declared path gets: as the user named it inside the project, so a symlink
    `data -> /mnt/data` is recorded as `data` (its files as `data/...`) while its target is read.
    `absolute` and `absolute_root` are normalised absolute paths."""
    declared = relative_inside(absolute, absolute_root)
    return declared if declared is not None else _relative_real(real, root)


def tree_root_digest(entries: Sequence[FileEntry], algorithm: str) -> Digest:
    """Digest over the sorted (path, digest, mode) entries: independent of walk order.

    Each entry is ``path NUL digest NUL mode LF`` with mode ``0``/``1`` for a regular file
    (executable bit) and ``l`` for a symbolic link. A path cannot hold NUL and the mode is one
    character, so the encoding is unambiguous. Paths are encoded as the filesystem names them
    (UTF-8, undecodable bytes kept as they are)."""
    h = new_hasher(algorithm)
    ordered = sorted(entries, key=attrgetter("path"))
    for i in range(0, len(ordered), 4096):
        text = "".join(
            f"{e.path}\0{e.digest[algorithm]}\0{'l' if e.link is not None else '1' if e.executable else '0'}\n"
            for e in ordered[i : i + 4096]
        )
        h.update(text.encode("utf-8", "surrogateescape"))
    return {algorithm: h.hexdigest()}


class IgnoreRules:
    """Which names a walk skips: exact names (cheap set lookup) and globs in repro's one dialect
    (`repro.globs`).

    A glob matches a file or directory when it matches its name or its path as recorded in the
    manifest (relative to the project root): `*.tmp` skips that name at any depth, `data/cache`
    that directory, `**/checkpoints` every `checkpoints` directory (``*`` stops at ``/``). A
    skipped directory is not entered."""

    def __init__(self, patterns: Iterable[str]) -> None:
        if isinstance(patterns, str):
            patterns = (patterns,)
        names: set[str] = set()
        globs: list[str] = []
        for p in patterns:
            if "/" in p or any(c in p for c in "*?["):
                globs.append(p)
            else:
                names.add(p)
        self.names = frozenset(names)
        self.globs = tuple(globs)
        compiled = globs_dialect.compile_any(globs)
        self._match = compiled.match if compiled is not None else None

    def __call__(self, name: str, path: str) -> bool:
        if name in self.names:
            return True
        return self._match is not None and (self._match(name) is not None or self._match(path) is not None)


# What a walk keeps of a regular file: (recorded path, absolute path, size, mode, stat signature
# or None, cached hex digest or None). Not the stat_result itself: at 100,000 files those weigh
# 55 MB.
_Found = tuple
# A symbolic link: (recorded path, absolute path, target).
_Link = tuple

_NO_CACHE: dict[str, bytes] = {}
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _scan(
    top: str,
    recorded_top: str,
    rules: IgnoreRules,
    meter: Progress | None = None,
    known: dict[str, bytes] | None = None,
) -> tuple[list[_Found], list[_Link], int, list[str]]:
    """Regular files and symlinks below `top`, never following a link (a link out of the tree or
    a loop can neither escape nor hang; a directory swapped for a link mid-walk is not entered
    either). Other kinds (sockets, FIFOs, devices) are skipped: opening a FIFO would block.
    Entries that vanish while we walk are left out.

    Each directory is opened once and its entries are statted relative to it (``fstatat``), so
    the kernel resolves one name per file instead of the whole path.

    With `known` (stat cache entries), each file's signature is matched as it is found: returns
    the number of hits and the paths whose cache entry no longer matches. A cached
    re-fingerprint is this one loop, so it is kept tight."""
    files: list[_Found] = []
    links: list[_Link] = []
    changed: list[str] = []
    append = files.append
    names = rules.names
    match = rules._match
    with_signature = known is not None
    known_get = (known if known is not None else _NO_CACHE).get
    pack = _SIGNATURE_PACK
    sig_size = SIGNATURE.size
    hits = 0
    first = "" if recorded_top == "." else recorded_top.rstrip("/") + "/"
    stack = [(top, first, 0)]
    while stack:
        directory, prefix, nofollow = stack.pop()
        try:
            dir_fd = os.open(directory, _DIR_FLAGS | nofollow)
        except OSError as exc:
            if exc.errno in _GONE:
                continue
            raise UsageError(f"cannot read directory {directory}: {exc.strerror}") from exc
        base = directory if directory.endswith("/") else directory + "/"
        try:
            with os.scandir(dir_fd) as it:
                for entry in it:
                    name = entry.name
                    if name in names:
                        continue
                    recorded = prefix + name
                    if match is not None and (match(name) is not None or match(recorded) is not None):
                        continue
                    try:
                        if entry.is_file(follow_symlinks=False):
                            st = entry.stat(follow_symlinks=False)
                            if with_signature:
                                path = base + name
                                sig = pack(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
                                hit = known_get(path)
                                if hit is not None:
                                    if hit.startswith(sig):
                                        hits += 1
                                        append((recorded, path, st.st_size, st.st_mode, None, hit[sig_size:].decode("ascii")))
                                        continue
                                    changed.append(path)
                                append((recorded, path, st.st_size, st.st_mode, sig, None))
                            else:
                                append((recorded, base + name, st.st_size, st.st_mode, None, None))
                        elif entry.is_dir(follow_symlinks=False):
                            stack.append((base + name, recorded + "/", _NOFOLLOW))
                        elif entry.is_symlink():
                            links.append((recorded, base + name, os.readlink(name, dir_fd=dir_fd)))
                    except (FileNotFoundError, NotADirectoryError):
                        continue
        finally:
            os.close(dir_fd)
        if meter is not None and meter.enabled:
            meter.scanning(len(files) + len(links))
    return files, links, hits, changed


def walk_files(directory: Path, ignore: Iterable[str] = DEFAULT_IGNORE) -> list[Path]:
    """Regular files under `directory`; symlinks are never followed (a link out of the tree or a
    loop cannot escape or hang), ignored names and globs are skipped at any depth (globs match
    the name or the path relative to `directory`)."""
    files, _, _, _ = _scan(os.fspath(directory), ".", IgnoreRules(ignore))
    return [Path(f[1]) for f in files]


class _Reader:
    """Reads and hashes files through one reused buffer; one per thread."""

    def __init__(self, algorithm: str, meter: Progress | None = None) -> None:
        self.algorithm = algorithm
        self.oneshot = _oneshot(algorithm)
        # An anonymous mapping is page-aligned; a bytearray's data sits 16 bytes past a page
        # boundary and the kernel's copy into it runs at half the speed (measured: 0.31 s
        # against 0.18 s for 2 GiB).
        self.buf = mmap.mmap(-1, CHUNK)
        self.view = memoryview(self.buf)
        self.meter = meter if meter is not None and meter.enabled else None
        self.reported = 0  # bytes of the last file already counted by the progress meter

    def hash_fd(self, fd: int, size: int) -> tuple[str, int]:
        """(hex digest, bytes read) of an open file. `size` is what stat said: a short read is
        taken as the end of the file only once that many bytes have arrived."""
        buf, view = self.buf, self.view
        self.reported = 0
        n = os.readv(fd, [buf])
        if n < CHUNK and n >= size:
            return self.oneshot(view[:n]), n
        if size > CHUNK and hasattr(os, "posix_fadvise"):
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
        h = new_hasher(self.algorithm)
        h.update(view[:n])
        total, reported = n, 0
        meter = self.meter
        chunks = _pipelined_reads(fd, size - n) if size >= PIPELINE_MIN and n == CHUNK else None
        try:
            while n:
                if chunks is None:
                    n = os.readv(fd, [buf])
                    h.update(view[:n])
                else:
                    n = chunks.hash_next(h)
                total += n
                if meter is not None and total - reported >= PROGRESS_STEP:
                    meter.advance(0, total - reported)
                    reported = total
                if n < CHUNK and total >= size:
                    break
        finally:
            if chunks is not None:
                chunks.close()
        self.reported = reported
        return h.hexdigest(), total

    def hash_walked(self, path: str, size: int) -> tuple[str, int] | None:
        """Like :meth:`hash_fd` for a path found by a walk; None when it vanished or stopped
        being a regular file meanwhile (the final component is never followed)."""
        try:
            fd = os.open(path, _WALKED_FLAGS)
        except OSError as exc:
            if exc.errno in _GONE:
                return None
            raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
        try:
            return self._hash_stable(fd, size, path)
        except OSError as exc:
            if exc.errno in _GONE:
                return None
            raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
        finally:
            os.close(fd)

    def _hash_stable(self, fd: int, size: int, path: str) -> tuple[str, int]:
        """Hash a file, reading it again when it changed while it was read: a file of several
        chunks can be rewritten between two reads, and its digest would then match no version
        of it. (A one-chunk file is one read: no such window, and no second fstat to pay.)"""
        if size < CHUNK:
            return self.hash_fd(fd, size)
        for _ in range(STABLE_READ_ATTEMPTS):
            before = os.fstat(fd)
            result = self.hash_fd(fd, before.st_size)
            after = os.fstat(fd)
            if (before.st_size, before.st_mtime_ns, before.st_ctime_ns) == (after.st_size, after.st_mtime_ns, after.st_ctime_ns):
                return result
            os.lseek(fd, 0, os.SEEK_SET)
        log.warning("%s kept changing while it was read; its digest may match no single version of it", path)
        return result


class _Pipeline:
    """The reads of one large file in a thread of their own, a few buffers ahead of the hash: the
    copy out of the page cache and the hash then run on two cores at once (both release the
    GIL). Buffers go round a pair of queues, so memory stays at PIPELINE_BUFFERS MiB."""

    def __init__(self, fd: int, remaining: int) -> None:
        self.free: queue.SimpleQueue = queue.SimpleQueue()
        self.full: queue.SimpleQueue = queue.SimpleQueue()
        self.stop = False
        for _ in range(PIPELINE_BUFFERS):
            self.free.put(mmap.mmap(-1, CHUNK))
        self.thread = threading.Thread(target=self._read, args=(fd, remaining), daemon=True)
        self.thread.start()

    def _read(self, fd: int, remaining: int) -> None:
        total = 0
        try:
            while not self.stop:
                buf = self.free.get()
                if buf is None:
                    return
                n = os.readv(fd, [buf])
                total += n
                self.full.put((buf, n))
                if n == 0 or (n < CHUNK and total >= remaining):
                    return
        except BaseException as exc:  # handed to the hashing thread, raised there
            self.full.put((exc, 0))

    def hash_next(self, h: Any) -> int:
        buf, n = self.full.get()
        if isinstance(buf, BaseException):
            raise buf
        h.update(memoryview(buf)[:n])
        self.free.put(buf)
        return n

    def close(self) -> None:
        self.stop = True
        self.free.put(None)
        self.thread.join()


def _pipelined_reads(fd: int, remaining: int) -> _Pipeline | None:
    return _Pipeline(fd, remaining) if default_jobs() > 1 else None


_local = threading.local()


def _thread_reader(algorithm: str, meter: Progress | None = None) -> _Reader:
    """This thread's reader for `algorithm`: the 1 MiB buffer is mapped once per thread, not
    once per file."""
    readers: dict[str, _Reader] = _local.__dict__.setdefault("readers", {})
    reader = readers.get(algorithm)
    if reader is None:
        reader = readers[algorithm] = _Reader(algorithm)
    reader.meter = meter if meter is not None and meter.enabled else None
    return reader


def default_jobs() -> int:
    """Threads that hash at once: one per usable CPU, at least 2 so reads overlap on one CPU,
    at most 8 (beyond that the GIL-held part of each file dominates)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(2, min(8, cpus))


def _tasks(sizes: Sequence[int]) -> list[list[int]]:
    """Split work into tasks: each large file alone (largest first, so no big file is left to
    run alone at the end), small files in batches of at most BATCH_FILES / BATCH_BYTES."""
    large = sorted((i for i, s in enumerate(sizes) if s >= BATCH_BYTES // 4), key=lambda i: -sizes[i])
    tasks = [[i] for i in large]
    batch: list[int] = []
    batch_bytes = 0
    for i, s in enumerate(sizes):
        if s >= BATCH_BYTES // 4:
            continue
        batch.append(i)
        batch_bytes += s
        if len(batch) >= BATCH_FILES or batch_bytes >= BATCH_BYTES:
            tasks.append(batch)
            batch, batch_bytes = [], 0
    if batch:
        tasks.append(batch)
    return tasks


def _hash_many(
    paths: Sequence[str], sizes: Sequence[int], algorithm: str, jobs: int, meter: Progress
) -> list[tuple[str, int] | None]:
    """Hash files found by a walk, in parallel unless `jobs` is 1."""
    results: list[tuple[str, int] | None] = [None] * len(paths)
    tasks = _tasks(sizes)

    def run(task: list[int]) -> None:
        reader = _thread_reader(algorithm, meter)
        hash_walked = reader.hash_walked
        done = 0
        for i in task:
            r = results[i] = hash_walked(paths[i], sizes[i])
            if r is not None:
                done += r[1] - reader.reported
        meter.advance(len(task), done)

    if jobs <= 1 or len(tasks) <= 1:
        for task in tasks:
            run(task)
        return results
    pool = ThreadPoolExecutor(max_workers=min(jobs, len(tasks)), thread_name_prefix="repro-hash")
    try:
        futures = [pool.submit(run, t) for t in tasks]
        finished, _ = wait(futures, return_when=FIRST_EXCEPTION)
        for f in finished:
            exc = f.exception()
            if exc is not None:
                raise exc
    finally:
        # on an error or Ctrl-C, drop the queued batches instead of hashing them all first
        pool.shutdown(wait=True, cancel_futures=True)
    return results


def hash_files(paths: Sequence[str], sizes: Sequence[int], algorithm: str, *, jobs: int | None = None) -> list[str | None]:
    """Hex digests of files already found, in parallel like a fingerprint (large files first,
    small ones in batches); None for one that vanished or stopped being a regular file. The final
    component is never followed."""
    workers = default_jobs() if jobs is None else max(1, int(jobs))
    results = _hash_many(paths, sizes, algorithm, workers, Progress(False))
    return [r[0] if r is not None else None for r in results]


def fingerprint_file(path: Path, root: Path, algorithm: str) -> FileEntry:
    st = path.stat()
    return FileEntry(relpath(path, root), st.st_size, digest_file(path, algorithm), bool(st.st_mode & stat.S_IXUSR))


@dataclass
class _Plan:
    recorded: str
    real: str
    kind: str
    start: int
    stop: int
    links: list[_Link]


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a fingerprint builds its records.

    A tree of 100,000 files creates several hundred thousand tuples, dicts and entries, none of
    them in a cycle; the collector would walk the growing heap again and again for nothing
    (measured: a quarter of a cached re-fingerprint)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def fingerprint(
    paths: Sequence[Path],
    root: Path,
    algorithm: str = DEFAULT_ALGORITHM,
    *,
    ignore: Iterable[str] = DEFAULT_IGNORE,
    cache: StatCache | None = None,
    progress: bool | None = None,
    jobs: int | None = None,
) -> list[Artifact]:
    """Fingerprint each path (file or directory) relative to `root`.

    `ignore`: names and globs (repro.globs) to skip inside directories (it replaces the defaults: pass
    ``(*DEFAULT_IGNORE, *globs)`` to add to them). `cache`: a :class:`StatCache` whose entries
    spare reading unchanged files; digests are identical with or without it. `progress`: draw
    a progress line on stderr (None: only when stderr is a terminal). `jobs`: files hashed at
    once (None: :func:`default_jobs`; 1: everything in the calling thread).

    A missing path, a path that is neither a regular file nor a directory, and an unreadable
    file or directory raise UsageError."""
    oneshot = _oneshot(algorithm)
    rules = IgnoreRules(ignore)
    workers = default_jobs() if jobs is None else max(1, int(jobs))
    # The filesystem clock is read before the first stat: see repro.data.statcache.
    now = cache.fs_now() if cache is not None else None
    meter = Progress(progress)
    with _gc_paused():
        try:
            return _fingerprint(paths, root, algorithm, rules, cache, now, meter, workers, oneshot)
        finally:
            meter.close()


def _fingerprint(
    paths: Sequence[Path],
    root: Path,
    algorithm: str,
    rules: IgnoreRules,
    cache: StatCache | None,
    now: int | None,
    meter: Progress,
    workers: int,
    oneshot: Callable[[Any], str],
) -> list[Artifact]:
    plans: list[_Plan] = []
    found: list[_Found] = []
    forget: list[str] = []
    directories: dict[str, str] = {}
    absolute_root = os.path.abspath(root)
    for p in map(Path, paths):
        try:
            st, absolute, real = _stat_real(p, directories)
        except FileNotFoundError as exc:
            raise UsageError(f"no such file or directory: {p}") from exc
        except OSError as exc:
            raise UsageError(f"cannot read {p}: {exc.strerror}") from exc
        recorded = _recorded_name(absolute, real, root, absolute_root)
        known = cache.load(algorithm, real) if cache is not None else None
        if stat.S_ISDIR(st.st_mode):
            files, links, hits, changed = _scan(real, recorded, rules, meter, known)
            forget.extend(changed)
            if known and hits + len(changed) < len(known):
                seen = {f[1] for f in files}
                forget.extend(k for k in known if k not in seen)
            plans.append(_Plan(recorded, real, "directory", len(found), len(found) + len(files), links))
            found.extend(files)
        elif stat.S_ISREG(st.st_mode):
            sig = signature(st)
            entry = known.get(real) if known else None
            cached = statcache_match(entry, sig)
            if entry is not None and cached is None:
                forget.append(real)
            plans.append(_Plan(recorded, real, "file", len(found), len(found) + 1, []))
            found.append((recorded, real, st.st_size, st.st_mode, sig, cached))
        else:
            raise UsageError(f"not a regular file or directory: {p}")

    pending = [i for i, f in enumerate(found) if f[5] is None]
    meter.start(len(pending), sum(found[i][2] for i in pending))
    results = _hash_many([found[i][1] for i in pending], [found[i][2] for i in pending], algorithm, workers, meter)
    rows: list[tuple[str, bytes, str]] = []
    for i, r in zip(pending, results):
        if r is None:  # vanished: its digest stays None and it is left out
            continue
        recorded, real, size, mode, sig, _ = found[i]
        found[i] = (recorded, real, r[1], mode, sig, r[0])
        if cache is not None and r[1] == size and cache.trusted(sig, now):
            rows.append((real, sig, r[0]))
    del results
    if cache is not None:
        cache.store(algorithm, rows, forget)
    del rows, forget
    return [_artifact(plan, found, algorithm, oneshot) for plan in plans]


def _artifact(plan: _Plan, found: list[_Found], algorithm: str, oneshot: Callable[[Any], str]) -> Artifact:
    """Build a plan's artifact: entries sorted by path, and for a directory its root digest,
    computed in the same pass (the lines are those of :func:`tree_root_digest`)."""
    if plan.kind == "file":
        recorded, _, size, _, _, d = found[plan.start]
        if d is None:
            raise UsageError(f"{plan.recorded} vanished while it was being read")
        return Artifact(plan.recorded, "file", size, {algorithm: d})
    part = found[plan.start : plan.stop]
    part.sort(key=itemgetter(0))
    h = new_hasher(algorithm)
    entries: list[FileEntry] = []
    lines: list[str] = []
    total = 0
    for recorded, _, size, mode, _, d in part:
        if d is None:
            continue
        executable = mode & stat.S_IXUSR != 0
        entries.append(FileEntry(recorded, size, {algorithm: d}, executable))
        lines.append(f"{recorded}\0{d}\0{'1' if executable else '0'}\n")
        total += size
        if len(lines) == 4096:
            h.update("".join(lines).encode("utf-8", "surrogateescape"))
            lines.clear()
    h.update("".join(lines).encode("utf-8", "surrogateescape"))
    root_digest = {algorithm: h.hexdigest()}
    if plan.links:
        for recorded, _, target in plan.links:
            raw = os.fsencode(target)
            entries.append(FileEntry(recorded, len(raw), {algorithm: oneshot(raw)}, False, target))
            total += len(raw)
        entries.sort(key=attrgetter("path"))
        root_digest = tree_root_digest(entries, algorithm)
    return Artifact(plan.recorded, "directory", total, root_digest, tuple(entries))


def hash_paths(
    paths: Sequence[Path],
    root: Path | None = None,
    algorithm: str = DEFAULT_ALGORITHM,
    *,
    use_cache: bool = True,
    ignore: Iterable[str] = DEFAULT_IGNORE,
    progress: bool | None = None,
    jobs: int | None = None,
) -> list[Artifact]:
    """What ``repro hash PATH...`` does: fingerprint the paths with the project's stat cache
    (``<root>/.repro/cache/stat.sqlite``) unless `use_cache` is False. `root` defaults to the
    current directory."""
    root = Path.cwd() if root is None else Path(root)
    if not use_cache:
        return fingerprint(paths, root, algorithm, ignore=ignore, progress=progress, jobs=jobs)
    with StatCache.for_root(root) as cache:
        return fingerprint(paths, root, algorithm, ignore=ignore, cache=cache, progress=progress, jobs=jobs)


def _checksum_line(hexdigest: str, name: str) -> str:
    if "\\" in name or "\n" in name or "\r" in name:
        name = name.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
        return f"\\{hexdigest}  {name}"
    return f"{hexdigest}  {name}"


def hash_lines(artifacts: Sequence[Artifact]) -> list[str]:
    """One ``<hex>  <path>`` line per artifact, the format of ``sha256sum``: for a file hashed
    with sha256 the line is identical to the coreutils one. A directory's line carries its root
    digest and a trailing ``/``. Names with a backslash or newline are escaped as coreutils does."""
    out = []
    for a in artifacts:
        (hexdigest,) = a.digest.values()
        out.append(_checksum_line(hexdigest, a.path + "/" if a.kind == "directory" and not a.path.endswith("/") else a.path))
    return out
