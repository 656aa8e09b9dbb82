"""The content-addressed output store: deduplicated, verified on read, bounded in size."""

import os

from repro.data.digest import digest_file
from repro.data.store import Store


def test_put_then_get_returns_a_verified_copy(tmp_path):
    source = tmp_path / "model.npz"
    source.write_bytes(b"weights" * 100)
    digest = digest_file(source, "xxh3_128")
    store = Store(tmp_path / "store")
    assert store.put(source, digest, source.stat().st_size)
    copy = store.get(digest)
    assert copy is not None and copy.read_bytes() == source.read_bytes()


def test_a_damaged_entry_is_never_served(tmp_path):
    source = tmp_path / "m.json"
    source.write_text('{"loss": 0.25}')
    digest = digest_file(source, "sha256")
    store = Store(tmp_path / "store")
    store.put(source, digest, source.stat().st_size)
    entry = store.path_for(digest)
    os.chmod(entry, 0o644)
    entry.write_text('{"loss": 0.26}')
    assert store.get(digest) is None


def test_least_recently_used_entries_make_room(tmp_path):
    store = Store(tmp_path / "store", max_bytes=150)
    digests = []
    for i in range(3):
        f = tmp_path / f"f{i}"
        f.write_bytes(bytes([i]) * 60)
        os.utime(f, (1000 + i, 1000 + i))
        digests.append(digest_file(f, "xxh3_128"))
        assert store.put(f, digests[-1], 60)
        os.utime(store.path_for(digests[-1]), (1000 + i, 1000 + i))
    assert store.get(digests[0]) is None and store.get(digests[2]) is not None


def test_many_puts_scan_the_store_once_while_they_fit(tmp_path, monkeypatch):
    scans = []
    original = Store.usage
    monkeypatch.setattr(Store, "usage", lambda self: scans.append(1) or original(self))
    store = Store(tmp_path / "store", max_bytes=1000)
    for i in range(30):
        f = tmp_path / f"f{i}"
        f.write_bytes(bytes([i]) * 30)
        assert store.put(f, digest_file(f, "xxh3_128"), 30)
    assert len(scans) == 1  # 900 bytes fit: only the first put looked
    big = tmp_path / "big"
    big.write_bytes(b"x" * 300)
    assert store.put(big, digest_file(big, "xxh3_128"), 300)  # does not fit: a scan, and evictions
    assert len(scans) == 2 and sum(size for _, size, _ in original(store)) <= 1000
