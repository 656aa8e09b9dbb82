"""The stat cache must never return a stale digest, must survive corruption and concurrent use,
and must spare reading files that did not change. Real files, real timestamps."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repro.data import digest
from repro.data.digest import Artifact, digest_bytes, fingerprint
from repro.data.statcache import CACHE_RELPATH, OTHER_DEVICE_MARGIN_NS, StatCache, signature


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def settle(where: Path) -> None:
    """Wait until the filesystem clock has ticked past every timestamp written so far, so that
    files written before this call are old enough for the cache to trust."""
    probe = where / ".settle-probe"
    probe.touch()
    first = probe.stat().st_mtime_ns
    while True:
        time.sleep(0.001)
        os.utime(probe)
        if probe.stat().st_mtime_ns > first:
            probe.unlink()
            return


def keep_mtime(path: Path, mtime_ns: int) -> None:
    os.utime(path, ns=(mtime_ns, mtime_ns))


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths the fingerprint actually opened and read."""
    seen: list[str] = []
    real = digest._Reader.hash_walked

    def counting(self: digest._Reader, path: str, size: int):  # type: ignore[no-untyped-def]
        seen.append(os.path.basename(path))
        return real(self, path, size)

    monkeypatch.setattr(digest._Reader, "hash_walked", counting)
    return seen


def fp(root: Path, cache: StatCache | None, target: str = "data", **kw) -> Artifact:
    (a,) = fingerprint([root / target], root, cache=cache, progress=False, **kw)
    return a


def by_name(a: Artifact) -> dict[str, str]:
    return {f.path.rsplit("/", 1)[-1]: f.digest["xxh3_128"] for f in a.files}


@pytest.fixture
def cache(tmp_path: Path):  # type: ignore[no-untyped-def]
    with StatCache.for_root(tmp_path) as c:
        yield c


# -- the cache saves work ---------------------------------------------------------------------------


def test_cache_lives_in_the_project(tmp_path: Path, cache: StatCache) -> None:
    assert cache.path == tmp_path / ".repro" / "cache" / "stat.sqlite" == tmp_path / CACHE_RELPATH


def test_unchanged_files_are_not_read_again(tmp_path: Path, cache: StatCache, reads: list[str]) -> None:
    for i in range(20):
        write(tmp_path / "data" / f"f{i}", f"content {i}")
    write(tmp_path / "single.bin", "one")
    settle(tmp_path)
    first = fp(tmp_path, cache)
    (single,) = fingerprint([tmp_path / "single.bin"], tmp_path, cache=cache)
    assert len(reads) == 21 and len(cache) == 21
    reads.clear()
    assert fp(tmp_path, cache) == first
    assert fingerprint([tmp_path / "single.bin"], tmp_path, cache=cache) == [single]
    assert reads == []
    assert first == fp(tmp_path, None)


def test_one_changed_file_is_the_only_one_read(tmp_path: Path, cache: StatCache, reads: list[str]) -> None:
    for i in range(10):
        write(tmp_path / "data" / f"f{i}", f"content {i}")
    settle(tmp_path)
    fp(tmp_path, cache)
    reads.clear()
    write(tmp_path / "data" / "f3", "changed, and longer")
    a = fp(tmp_path, cache)
    assert reads == ["f3"]
    assert by_name(a)["f3"] == digest_bytes(b"changed, and longer")["xxh3_128"]


# -- it never returns a stale digest -------------------------------------------------------------------


@pytest.mark.parametrize("settled", [False, True], ids=["racy", "settled"])
def test_same_size_rewrite_with_identical_mtime(tmp_path: Path, cache: StatCache, settled: bool) -> None:
    f = write(tmp_path / "data" / "weights.bin", b"A" * 4096)
    if settled:
        settle(tmp_path)
    before = fp(tmp_path, cache)
    assert by_name(before)["weights.bin"] == digest_bytes(b"A" * 4096)["xxh3_128"]
    if settled:
        assert len(cache) == 1

    old = f.stat()
    with open(f, "r+b") as out:
        out.write(b"B" * 4096)
    keep_mtime(f, old.st_mtime_ns)
    assert f.stat().st_mtime_ns == old.st_mtime_ns and f.stat().st_size == old.st_size
    after = fp(tmp_path, cache)
    assert by_name(after)["weights.bin"] == digest_bytes(b"B" * 4096)["xxh3_128"]


def test_racily_clean_entries_are_never_stored(tmp_path: Path, cache: StatCache, reads: list[str]) -> None:
    """A file whose mtime is not older than the moment the cache read the filesystem clock may
    still change without changing its mtime: it must be read again next time."""
    f = write(tmp_path / "data" / "f", "12345")
    future = time.time_ns() + 3600 * 10**9
    keep_mtime(f, future)
    fp(tmp_path, cache)
    fp(tmp_path, cache)
    assert reads == ["f", "f"] and len(cache) == 0
    keep_mtime(f, future - 7200 * 10**9)  # in the past now; ctime moved to now
    settle(tmp_path)
    fp(tmp_path, cache)
    assert len(cache) == 1


def test_trust_rule_on_the_signature(tmp_path: Path, cache: StatCache) -> None:
    now = cache.fs_now()
    assert now is not None
    here = os.stat(cache.path.parent).st_dev

    def sig(mtime: int, ctime: int, dev: int = here) -> bytes:
        return signature(SimpleNamespace(st_dev=dev, st_ino=7, st_size=5, st_mtime_ns=mtime, st_ctime_ns=ctime))  # type: ignore[arg-type]

    assert cache.trusted(sig(now - 1, now - 1), now)
    assert not cache.trusted(sig(now, now - 1), now)
    assert not cache.trusted(sig(now - 1, now), now)
    assert not cache.trusted(sig(now + 10**9, now - 1), now)
    assert not cache.trusted(sig(now - 1, now - 1), None)
    other = here + 1
    assert not cache.trusted(sig(now - 1, now - 1, other), now)
    assert cache.trusted(sig(now - OTHER_DEVICE_MARGIN_NS - 1, now - OTHER_DEVICE_MARGIN_NS - 1, other), now)

    racy = SimpleNamespace(st_dev=here, st_ino=7, st_size=5, st_mtime_ns=now, st_ctime_ns=now - 1)
    assert cache.put("xxh3_128", "/x/racy", racy, "00", now) is False  # type: ignore[arg-type]
    assert cache.lookup("xxh3_128", "/x/racy", racy) is None  # type: ignore[arg-type]
    clean = SimpleNamespace(st_dev=here, st_ino=7, st_size=5, st_mtime_ns=now - 1, st_ctime_ns=now - 1)
    assert cache.put("xxh3_128", "/x/clean", clean, "11", now) is True  # type: ignore[arg-type]
    assert cache.lookup("xxh3_128", "/x/clean", clean) == "11"  # type: ignore[arg-type]
    assert cache.lookup("sha256", "/x/clean", clean) is None  # type: ignore[arg-type]
    moved = SimpleNamespace(st_dev=here, st_ino=8, st_size=5, st_mtime_ns=now - 1, st_ctime_ns=now - 1)
    assert cache.lookup("xxh3_128", "/x/clean", moved) is None  # type: ignore[arg-type]


def test_replaced_by_rename(tmp_path: Path, cache: StatCache) -> None:
    f = write(tmp_path / "data" / "f", "version-1")
    settle(tmp_path)
    fp(tmp_path, cache)
    assert len(cache) == 1
    tmp = write(tmp_path / "staging", "version-2")
    keep_mtime(tmp, f.stat().st_mtime_ns)
    old_inode = f.stat().st_ino
    os.replace(tmp, f)
    assert f.stat().st_ino != old_inode
    assert by_name(fp(tmp_path, cache))["f"] == digest_bytes(b"version-2")["xxh3_128"]


def test_truncated_and_rewritten_to_the_same_size(tmp_path: Path, cache: StatCache) -> None:
    f = write(tmp_path / "data" / "f", "aaaaaaaa")
    settle(tmp_path)
    fp(tmp_path, cache)
    old = f.stat()
    with open(f, "r+b") as out:
        out.truncate(0)
        out.write(b"bbbbbbbb")
    keep_mtime(f, old.st_mtime_ns)
    assert (f.stat().st_size, f.stat().st_ino) == (old.st_size, old.st_ino)
    assert by_name(fp(tmp_path, cache))["f"] == digest_bytes(b"bbbbbbbb")["xxh3_128"]


def test_content_and_mode_changes(tmp_path: Path, cache: StatCache) -> None:
    f = write(tmp_path / "data" / "f", "short")
    settle(tmp_path)
    base = fp(tmp_path, cache)
    write(f, "much longer now")
    changed = fp(tmp_path, cache)
    assert by_name(changed)["f"] == digest_bytes(b"much longer now")["xxh3_128"]
    settle(tmp_path)
    fp(tmp_path, cache)
    f.chmod(0o755)
    a = fp(tmp_path, cache)
    assert a.files[0].executable and a.digest != changed.digest != base.digest
    assert a == fp(tmp_path, None)


def test_deleted_files_are_forgotten_and_siblings_kept(tmp_path: Path, cache: StatCache) -> None:
    for d in ("data", "data2", "data-x"):
        write(tmp_path / d / "f", d)
        write(tmp_path / d / "g", d + "!")
    settle(tmp_path)
    for d in ("data", "data2", "data-x"):
        fp(tmp_path, cache, d)
    assert len(cache) == 6
    (tmp_path / "data" / "g").unlink()
    (tmp_path / "data2" / "g").unlink()
    os.symlink("f", tmp_path / "data2" / "g")
    assert [f.path for f in fp(tmp_path, cache).files] == ["data/f"]
    a = fp(tmp_path, cache, "data2")
    assert [(f.path, f.link) for f in a.files] == [("data2/f", None), ("data2/g", "f")]
    assert len(cache) == 4  # data/g and data2/g (now a link) forgotten, data-x untouched


def test_algorithms_are_cached_apart(tmp_path: Path, cache: StatCache) -> None:
    write(tmp_path / "data" / "f", "x")
    settle(tmp_path)
    a = fp(tmp_path, cache, algorithm="sha256")
    b = fp(tmp_path, cache, algorithm="xxh3_128")
    assert len(cache) == 2
    assert fp(tmp_path, cache, algorithm="sha256") == a and fp(tmp_path, cache) == b


# -- corruption and unusable caches ----------------------------------------------------------------


def test_garbage_cache_file_is_moved_aside_and_rebuilt(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    write(tmp_path / "data" / "f", "payload")
    path = tmp_path / CACHE_RELPATH
    write(path, b"this is not a database at all " * 200)
    settle(tmp_path)
    with StatCache(path) as cache:
        a = fp(tmp_path, cache)
        assert by_name(a)["f"] == digest_bytes(b"payload")["xxh3_128"]
        assert len(cache) == 1 and cache.enabled
    assert path.with_name("stat.sqlite.corrupt").read_bytes().startswith(b"this is not a database")
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_cache_damaged_in_the_middle_is_rebuilt(tmp_path: Path) -> None:
    for i in range(400):
        write(tmp_path / "data" / f"file-with-a-long-name-{i:04d}", f"{i}")
    settle(tmp_path)
    path = tmp_path / CACHE_RELPATH
    with StatCache(path) as cache:
        good = fp(tmp_path, cache)
        assert len(cache) == 400
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = path.stat().st_size
    assert size > 8 * 4096
    with open(path, "r+b") as f:
        f.seek(2 * 4096)
        f.write(os.urandom(size - 3 * 4096))
    with StatCache(path) as cache:
        assert fp(tmp_path, cache) == good
        assert fp(tmp_path, cache) == good
        assert cache.enabled and len(cache) == 400
    assert path.with_name("stat.sqlite.corrupt").exists()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_old_schema_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / CACHE_RELPATH
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE entries (x)")
        conn.execute("PRAGMA user_version = 99")
    write(tmp_path / "data" / "f", "x")
    settle(tmp_path)
    with StatCache(path) as cache:
        fp(tmp_path, cache)
        assert len(cache) == 1


def test_unusable_cache_location_means_no_cache_and_no_error(tmp_path: Path) -> None:
    write(tmp_path / "data" / "f", "x")
    write(tmp_path / "blocker", "a file where the cache directory should be")
    with StatCache(tmp_path / "blocker" / "cache" / "stat.sqlite") as cache:
        a = fp(tmp_path, cache)
        assert not cache.enabled and len(cache) == 0
    assert a == fp(tmp_path, None)


# -- concurrency -----------------------------------------------------------------------------------------


def _worker(root: str, cache_path: str, start: object, rounds: int) -> list[dict]:
    start.wait()  # type: ignore[attr-defined]
    out = []
    for _ in range(rounds):
        with StatCache(Path(cache_path)) as cache:
            (a,) = fingerprint([Path(root) / "data"], Path(root), cache=cache, progress=False, jobs=2)
        out.append(a.to_json())
    return out


def test_processes_share_the_cache(tmp_path: Path) -> None:
    for i in range(1500):
        write(tmp_path / "data" / f"d{i % 10}" / f"f{i}", f"row {i} " * (i % 50))
    settle(tmp_path)
    expected = fp(tmp_path, None).to_json()
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        start = manager.Event()
        with ctx.Pool(4) as pool:
            jobs = [pool.apply_async(_worker, (str(tmp_path), str(tmp_path / CACHE_RELPATH), start, 3)) for _ in range(4)]
            time.sleep(0.5)
            start.set()
            results = [j.get(timeout=300) for j in jobs]
    assert all(r == expected for rs in results for r in rs)
    with sqlite3.connect(tmp_path / CACHE_RELPATH) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT count(*) FROM entries").fetchone() == (1500,)
    with StatCache.for_root(tmp_path) as cache:
        assert fp(tmp_path, cache).to_json() == expected


def _child_uses_inherited(cache: StatCache, root: str, q: object) -> None:
    (a,) = fingerprint([Path(root) / "data"], Path(root), cache=cache, progress=False)
    q.put((a.digest, len(cache)))  # type: ignore[attr-defined]


def test_a_forked_child_reopens_the_connection(tmp_path: Path, cache: StatCache) -> None:
    write(tmp_path / "data" / "f", "x")
    settle(tmp_path)
    parent = fp(tmp_path, cache)
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child_uses_inherited, args=(cache, str(tmp_path), q))
    p.start()
    p.join(60)
    assert p.exitcode == 0
    assert q.get(timeout=5) == (parent.digest, 1)
    assert fp(tmp_path, cache) == parent and len(cache) == 1


# -- a property: whatever happens to the files, cached == uncached -------------------------------------

ops = st.lists(
    st.tuples(
        st.sampled_from(["rewrite-same-size", "rename-replace", "truncate-rewrite", "append", "chmod", "delete", "settle"]),
        st.integers(min_value=0, max_value=3),
        st.binary(min_size=1, max_size=64),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=ops)
def test_property_cached_digests_are_never_stale(tmp_path_factory: pytest.TempPathFactory, steps) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("stale")
    files = [root / "data" / f"f{i}" for i in range(4)]
    for i, f in enumerate(files):
        write(f, bytes([65 + i]) * 32)
    settle(root)
    with StatCache.for_root(root) as cache:
        fp(root, cache)
        for op, i, data in steps:
            f = files[i]
            if op == "settle":
                settle(root)
            elif not f.exists():
                write(f, data)
            elif op == "rewrite-same-size":
                old = f.stat()
                with open(f, "r+b") as out:
                    out.write(data[:1] * old.st_size)
                keep_mtime(f, old.st_mtime_ns)
            elif op == "rename-replace":
                old = f.stat()
                tmp = write(root / "tmp", data[:1] * old.st_size)
                keep_mtime(tmp, old.st_mtime_ns)
                os.replace(tmp, f)
            elif op == "truncate-rewrite":
                old = f.stat()
                with open(f, "r+b") as out:
                    out.truncate(0)
                    out.write(data[-1:] * old.st_size)
                keep_mtime(f, old.st_mtime_ns)
            elif op == "append":
                with open(f, "ab") as out:
                    out.write(data)
            elif op == "chmod":
                f.chmod(f.stat().st_mode ^ 0o100)
            elif op == "delete":
                f.unlink()
            assert fp(root, cache) == fp(root, None)
