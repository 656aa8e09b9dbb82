"""File and tree fingerprints: digests, tree root digests, walking, symlinks, ignore rules,
parallel hashing and progress. Real files, real timestamps."""

from __future__ import annotations

import errno
import functools
import hashlib
import io
import os
import shutil
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import xxhash
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repro.data import digest
from repro import globs
from repro.data.digest import (
    ALGORITHMS,
    CHUNK,
    DEFAULT_IGNORE,
    Artifact,
    FileEntry,
    IgnoreRules,
    digest_bytes,
    digest_file,
    fingerprint,
    fingerprint_file,
    hash_lines,
    hash_paths,
    new_hasher,
    relpath,
    tree_root_digest,
    walk_files,
)
from repro.errors import UsageError
from repro.progress import Progress, format_bytes
from repro.data.statcache import StatCache


def reference(data: bytes, algorithm: str) -> str:
    if algorithm == "sha256":
        return hashlib.sha256(data).hexdigest()
    return xxhash.xxh3_128(data).hexdigest()


def write(path: Path, data: bytes | str, mode: int | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    if mode is not None:
        path.chmod(mode)
    return path


def tree_digest(tmp: Path, name: str = "data", **kw) -> Artifact:
    (a,) = fingerprint([tmp / name], tmp, **kw)
    return a


# -- single digests -----------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("size", [0, 1, 65_536, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17])
def test_digest_file_matches_reference_at_chunk_boundaries(tmp_path: Path, algorithm: str, size: int) -> None:
    data = os.urandom(size)
    f = write(tmp_path / "f", data)
    assert digest_file(f, algorithm) == {algorithm: reference(data, algorithm)}
    assert digest_bytes(data, algorithm) == {algorithm: reference(data, algorithm)}
    (a,) = fingerprint([f], tmp_path, algorithm)
    assert (a.kind, a.size, a.digest) == ("file", size, {algorithm: reference(data, algorithm)})


def test_known_vectors() -> None:
    assert digest_bytes(b"abc", "sha256") == {"sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}
    assert digest_bytes(b"", "xxh3_128") == {"xxh3_128": "99aa06d3014798d86001c324468d497f"}


def test_unknown_algorithm_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown digest algorithm"):
        new_hasher("md5")
    with pytest.raises(UsageError):
        fingerprint([tmp_path], tmp_path, "md5")


def test_fingerprint_file_keeps_its_old_shape(tmp_path: Path) -> None:
    f = write(tmp_path / "bin" / "run.sh", "#!/bin/sh\n", 0o755)
    e = fingerprint_file(f, tmp_path, "sha256")
    assert e == FileEntry("bin/run.sh", 10, {"sha256": hashlib.sha256(b"#!/bin/sh\n").hexdigest()}, True)
    assert relpath(f, tmp_path) == "bin/run.sh"
    assert relpath(Path("/"), tmp_path) == "/"


# -- tree digests --------------------------------------------------------------------------------


def test_tree_root_digest_encoding_is_pinned() -> None:
    entries = [
        FileEntry("b/x", 1, {"sha256": "bb"}, True),
        FileEntry("a", 2, {"sha256": "aa"}, False),
        FileEntry("c", 3, {"sha256": "cc"}, False, link="target"),
    ]
    expected = hashlib.sha256(b"a\0aa\x000\nb/x\0bb\x001\nc\0cc\0l\n").hexdigest()
    assert tree_root_digest(entries, "sha256") == {"sha256": expected}
    assert tree_root_digest(list(reversed(entries)), "sha256") == {"sha256": expected}


def test_directory_digest_is_independent_of_creation_order(tmp_path: Path) -> None:
    names = [f"d{i % 3}/f{i}.txt" for i in range(30)]
    for label, order in (("one", names), ("two", list(reversed(names)))):
        for n in order:
            write(tmp_path / label / "data" / n, n * 3)
    a = tree_digest(tmp_path / "one")
    b = tree_digest(tmp_path / "two")
    assert a.digest == b.digest
    assert [f.path for f in a.files] == sorted(f"data/{n}" for n in names)
    assert a.size == sum(len(n) * 3 for n in names)


def test_directory_digest_changes_with_rename_content_and_mode(tmp_path: Path) -> None:
    write(tmp_path / "data" / "a.txt", "alpha")
    write(tmp_path / "data" / "sub" / "b.txt", "beta")
    base = tree_digest(tmp_path).digest

    os.rename(tmp_path / "data" / "a.txt", tmp_path / "data" / "c.txt")
    renamed = tree_digest(tmp_path).digest
    assert renamed != base
    os.rename(tmp_path / "data" / "c.txt", tmp_path / "data" / "a.txt")
    assert tree_digest(tmp_path).digest == base

    write(tmp_path / "data" / "sub" / "b.txt", "bet4")
    assert tree_digest(tmp_path).digest not in (base, renamed)
    write(tmp_path / "data" / "sub" / "b.txt", "beta")
    assert tree_digest(tmp_path).digest == base

    (tmp_path / "data" / "a.txt").chmod(0o755)
    a = tree_digest(tmp_path)
    assert a.digest != base
    assert next(f for f in a.files if f.path == "data/a.txt").executable is True


def test_root_itself_and_outside_paths_are_recorded_sensibly(tmp_path: Path) -> None:
    write(tmp_path / "proj" / "x.txt", "x")
    write(tmp_path / "elsewhere" / "y.txt", "y")
    (inside,) = fingerprint([tmp_path / "proj"], tmp_path / "proj")
    assert inside.path == "." and [f.path for f in inside.files] == ["x.txt"]
    (outside,) = fingerprint([tmp_path / "elsewhere"], tmp_path / "proj")
    assert outside.path == (tmp_path / "elsewhere").resolve().as_posix()
    assert [f.path for f in outside.files] == [(tmp_path / "elsewhere" / "y.txt").resolve().as_posix()]


def test_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    a = tree_digest(tmp_path)
    assert (a.kind, a.size, a.files) == ("directory", 0, ())
    assert a.digest == {"xxh3_128": xxhash.xxh3_128(b"").hexdigest()}


def test_to_json_shapes(tmp_path: Path) -> None:
    write(tmp_path / "data" / "f", "1")
    os.symlink("f", tmp_path / "data" / "l")
    a = tree_digest(tmp_path)
    j = a.to_json()
    assert set(j) == {"path", "kind", "size", "digest", "files"}
    by_path = {f["path"]: f for f in j["files"]}
    assert set(by_path["data/f"]) == {"path", "size", "digest", "executable"}
    assert by_path["data/l"]["link"] == "f"
    assert a.file_entries() == a.files
    (f,) = fingerprint([tmp_path / "data" / "f"], tmp_path)
    assert "files" not in f.to_json() and f.file_entries()[0].path == "data/f"


# -- symlinks ------------------------------------------------------------------------------------


def test_symlinks_inside_a_tree_are_recorded_not_followed(tmp_path: Path) -> None:
    write(tmp_path / "outside" / "secret.txt", "secret")
    write(tmp_path / "data" / "real.txt", "real")
    os.symlink("real.txt", tmp_path / "data" / "alias.txt")
    os.symlink(tmp_path / "outside", tmp_path / "data" / "escape")
    os.symlink(tmp_path / "outside" / "secret.txt", tmp_path / "data" / "escape.txt")
    os.symlink("..", tmp_path / "data" / "loop")
    os.symlink("loop2", tmp_path / "data" / "loop1")
    os.symlink("loop1", tmp_path / "data" / "loop2")
    os.symlink("missing", tmp_path / "data" / "dangling")

    a = tree_digest(tmp_path)
    links = {f.path: f.link for f in a.files if f.link is not None}
    assert links == {
        "data/alias.txt": "real.txt",
        "data/escape": str(tmp_path / "outside"),
        "data/escape.txt": str(tmp_path / "outside" / "secret.txt"),
        "data/loop": "..",
        "data/loop1": "loop2",
        "data/loop2": "loop1",
        "data/dangling": "missing",
    }
    assert all(f.path.startswith("data/") for f in a.files)
    assert a.digest == tree_root_digest(a.files, "xxh3_128")
    alias = next(f for f in a.files if f.path == "data/alias.txt")
    assert alias.digest == digest_bytes(b"real.txt") and alias.size == len(b"real.txt")
    assert walk_files(tmp_path / "data") == [tmp_path / "data" / "real.txt"]

    # the content behind a link is not part of the digest; the target string is
    write(tmp_path / "outside" / "secret.txt", "changed")
    assert tree_digest(tmp_path).digest == a.digest
    os.unlink(tmp_path / "data" / "alias.txt")
    os.symlink("other.txt", tmp_path / "data" / "alias.txt")
    assert tree_digest(tmp_path).digest != a.digest


def test_a_link_is_not_mistaken_for_a_file_holding_its_target(tmp_path: Path) -> None:
    write(tmp_path / "one" / "data" / "x", "target")
    write(tmp_path / "two" / "data" / "target", "")
    os.symlink("target", tmp_path / "two" / "data" / "x")
    (tmp_path / "two" / "data" / "target").unlink()
    a, b = tree_digest(tmp_path / "one"), tree_digest(tmp_path / "two")
    assert a.files[0].digest == b.files[0].digest
    assert a.digest != b.digest


def test_named_symlink_is_followed(tmp_path: Path) -> None:
    write(tmp_path / "store" / "blob", "content")
    os.symlink(tmp_path / "store", tmp_path / "data")
    a = tree_digest(tmp_path)
    # read through the link, recorded under the name the user gave
    assert a.kind == "directory" and a.path == "data" and [f.path for f in a.files] == ["data/blob"]
    assert [f.digest for f in a.files] == [digest_bytes(b"content")]
    os.symlink(tmp_path / "store" / "blob", tmp_path / "file-link")
    (f,) = fingerprint([tmp_path / "file-link"], tmp_path)
    assert f.kind == "file" and f.path == "file-link" and f.digest == digest_bytes(b"content")


def test_special_files_are_skipped_and_never_block(tmp_path: Path) -> None:
    write(tmp_path / "data" / "f", "x")
    os.mkfifo(tmp_path / "data" / "pipe")
    result: list[Artifact] = []
    t = threading.Thread(target=lambda: result.extend(fingerprint([tmp_path / "data"], tmp_path)), daemon=True)
    t.start()
    t.join(10)
    assert not t.is_alive(), "fingerprint blocked on a FIFO"
    assert [f.path for f in result[0].files] == ["data/f"]
    with pytest.raises(UsageError, match="not a regular file"):
        fingerprint([tmp_path / "data" / "pipe"], tmp_path)


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        fingerprint([tmp_path / "nope"], tmp_path)


def test_unreadable_file_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locked = write(tmp_path / "data" / "locked", "x", 0o000)
    real_open = os.open

    def deny(path, flags, *args):  # type: ignore[no-untyped-def]
        if os.fspath(path) == str(locked):  # root reads whatever the mode: deny it here
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", deny)
    with pytest.raises(UsageError, match="cannot read .*locked: Permission denied"):
        fingerprint([tmp_path / "data"], tmp_path, jobs=1)
    with pytest.raises(UsageError, match="Permission denied"):
        fingerprint([tmp_path / "data"], tmp_path, jobs=2)


def test_undecodable_file_name(tmp_path: Path) -> None:
    d = tmp_path / "data"
    d.mkdir()
    with open(os.path.join(os.fsencode(d), b"caf\xe9.bin"), "wb") as f:
        f.write(b"latin-1 name")
    with StatCache.for_root(tmp_path) as cache:
        a = tree_digest(tmp_path, cache=cache)
        b = tree_digest(tmp_path, cache=cache)
    assert a.digest == b.digest and a.files[0].digest == digest_bytes(b"latin-1 name")


# -- ignore --------------------------------------------------------------------------------------


def test_default_ignores_and_user_globs(tmp_path: Path) -> None:
    for n in ["keep.txt", ".git/HEAD", "pkg/__pycache__/m.pyc", ".repro/cache/x", "run.tmp", "logs/a.log", "sub/logs/b.log", "sub/keep.log"]:
        write(tmp_path / "data" / n, n)
    a = tree_digest(tmp_path)
    assert sorted(f.path for f in a.files) == ["data/keep.txt", "data/logs/a.log", "data/run.tmp", "data/sub/keep.log", "data/sub/logs/b.log"]

    b = tree_digest(tmp_path, ignore=(*DEFAULT_IGNORE, "*.tmp", "data/logs"))
    assert sorted(f.path for f in b.files) == ["data/keep.txt", "data/sub/keep.log", "data/sub/logs/b.log"]
    c = tree_digest(tmp_path, ignore=(*DEFAULT_IGNORE, "logs", "*/sub/*.log"))
    assert sorted(f.path for f in c.files) == ["data/keep.txt", "data/run.tmp"]
    assert b.digest != a.digest != c.digest


def test_ignore_rules_split_names_from_globs() -> None:
    rules = IgnoreRules([".git", "*.tmp", "data/cache", "[ab].txt"])
    assert rules.names == {".git"}
    assert rules(".git", "x/.git") and rules("x.tmp", "d/x.tmp") and rules("cache", "data/cache")
    assert rules("a.txt", "q/a.txt") and not rules("c.txt", "q/c.txt") and not rules("cache", "other/cache")
    assert IgnoreRules("only")("only", "only")


# -- parallel, cache, progress ----------------------------------------------------------------------


def make_mixed_tree(base: Path) -> None:
    for i in range(300):
        write(base / f"d{i % 7}" / f"s{i}.bin", os.urandom(i * 37 % 5000))
    write(base / "big1.bin", os.urandom(5 * CHUNK + 3))
    write(base / "big2.bin", os.urandom(9 * CHUNK))
    write(base / "exact.bin", os.urandom(CHUNK))


def test_parallel_and_serial_agree(tmp_path: Path) -> None:
    make_mixed_tree(tmp_path / "data")
    serial = tree_digest(tmp_path, jobs=1)
    for jobs in (2, 5, None):
        assert tree_digest(tmp_path, jobs=jobs) == serial
    for algorithm in ALGORITHMS:
        s = tree_digest(tmp_path, algorithm=algorithm, jobs=1)
        p = tree_digest(tmp_path, algorithm=algorithm, jobs=4)
        assert s == p
        for f in s.files:
            assert f.digest[algorithm] == reference((tmp_path / f.path).read_bytes(), algorithm)


def test_cache_and_no_cache_agree(tmp_path: Path) -> None:
    make_mixed_tree(tmp_path / "data")
    plain = tree_digest(tmp_path)
    with StatCache.for_root(tmp_path) as cache:
        assert tree_digest(tmp_path, cache=cache) == plain
        assert tree_digest(tmp_path, cache=cache) == plain


def test_a_file_vanishing_mid_walk_is_left_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "data" / "stays", "1")
    write(tmp_path / "data" / "goes", "2")
    real_hash = digest._Reader.hash_walked

    def vanish_first(self: digest._Reader, path: str, size: int):  # type: ignore[no-untyped-def]
        if path.endswith("goes"):
            os.unlink(path)
        return real_hash(self, path, size)

    monkeypatch.setattr(digest._Reader, "hash_walked", vanish_first)
    a = tree_digest(tmp_path, jobs=1)
    assert [f.path for f in a.files] == ["data/stays"]


def test_a_file_that_grows_after_stat_is_read_to_its_end(tmp_path: Path) -> None:
    f = write(tmp_path / "f", b"x" * 10)
    reader = digest._Reader("sha256")
    with open(f, "ab") as out:
        out.write(b"y" * (2 * CHUNK))
    fd = os.open(f, os.O_RDONLY)
    try:
        hexdigest, n = reader.hash_fd(fd, 10)
    finally:
        os.close(fd)
    assert n == 10 + 2 * CHUNK and hexdigest == hashlib.sha256(f.read_bytes()).hexdigest()


def test_a_large_file_rewritten_while_read_is_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = write(tmp_path / "data" / "ckpt", os.urandom(2 * CHUNK))
    real = digest._Reader.hash_fd
    calls = []

    def rewrite_during_first_read(self: digest._Reader, fd: int, size: int):  # type: ignore[no-untyped-def]
        result = real(self, fd, size)
        calls.append(result)
        if len(calls) == 1:
            write(f, os.urandom(3 * CHUNK))
        return result

    monkeypatch.setattr(digest._Reader, "hash_fd", rewrite_during_first_read)
    a = tree_digest(tmp_path, jobs=1)
    assert len(calls) == 2
    assert a.files[0].digest == digest_bytes(f.read_bytes()) and a.files[0].size == 3 * CHUNK


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_waits_then_draws_then_summarises() -> None:
    clock, out = FakeClock(), FakeTTY()
    p = Progress(None, stream=out, clock=clock, label="hashing")
    assert p.enabled
    p.scanning(10)
    p.start(4, 4_000_000)
    p.advance(1, 1_000_000)
    assert out.getvalue() == ""  # nothing before the delay
    clock.t = 1.0
    p.advance(1, 1_000_000)
    assert "hashing: 2/4 files, 2.00 MB/4.00 MB, 2.00 MB/s" in out.getvalue()
    clock.t = 1.05
    p.advance(1, 1_000_000)
    assert out.getvalue().count("\r") == 1  # redrawn at most every interval
    p.close()
    assert out.getvalue().endswith("\n") and "3 files, 3.00 MB in 1.1 s" in out.getvalue()


def test_progress_is_silent_off_a_terminal_and_when_disabled() -> None:
    clock = FakeClock()
    piped = io.StringIO()
    p = Progress(None, stream=piped, clock=clock)
    forced_off = Progress(False, stream=FakeTTY(), clock=clock)
    clock.t = 5.0
    for meter in (p, forced_off):
        meter.start(1, 1)
        meter.advance(1, 1)
        meter.close()
    assert not p.enabled and not forced_off.enabled
    assert piped.getvalue() == "" and forced_off.stream.getvalue() == ""
    assert format_bytes(999) == "999 B" and format_bytes(1_500_000_000) == "1.50 GB"


def test_fingerprint_progress_goes_to_stderr_only_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_mixed_tree(tmp_path / "data")
    monkeypatch.setattr(digest, "Progress", functools.partial(Progress, delay=0.0, interval=0.0))
    tree_digest(tmp_path, progress=False)
    tree_digest(tmp_path, progress=None)  # captured stderr is not a terminal
    assert capsys.readouterr() == ("", "")
    tree_digest(tmp_path, progress=True, jobs=1)
    err = capsys.readouterr().err
    assert "hashing: " in err and "files" in err and err.endswith("\n")


# -- the `repro hash` library entry ----------------------------------------------------------------


def test_hash_paths_and_lines(tmp_path: Path) -> None:
    f = write(tmp_path / "model.bin", os.urandom(1000))
    write(tmp_path / "data" / "a", "a")
    weird = write(tmp_path / "odd\\name", "z")
    arts = hash_paths([f, tmp_path / "data", weird], tmp_path, "sha256", progress=False)
    assert (tmp_path / ".repro" / "cache" / "stat.sqlite").exists()
    lines = hash_lines(arts)
    assert lines[0] == f"{hashlib.sha256(f.read_bytes()).hexdigest()}  model.bin"
    assert lines[1] == f"{arts[1].digest['sha256']}  data/"
    assert lines[2] == f"\\{hashlib.sha256(b'z').hexdigest()}  odd\\\\name"
    if shutil.which("sha256sum"):
        coreutils = subprocess.run(["sha256sum", "model.bin", "odd\\name"], cwd=tmp_path, capture_output=True, text=True, check=True)
        assert coreutils.stdout.splitlines() == [lines[0], lines[2]]
    assert hash_paths([f, tmp_path / "data"], tmp_path, "sha256", use_cache=False, progress=False) == arts[:2]


# -- properties ----------------------------------------------------------------------------------

names = st.text(alphabet="abcxyz-_.0", min_size=1, max_size=6).filter(lambda s: s not in (".", ".."))
trees = st.dictionaries(st.lists(names, min_size=1, max_size=3).map(tuple), st.binary(max_size=300), min_size=1, max_size=12)


def materialise(base: Path, tree: dict[tuple[str, ...], bytes], order: list[int]) -> dict[str, bytes]:
    """Create what can be created (a name cannot be both file and directory); return it."""
    made: dict[str, bytes] = {}
    items = list(tree.items())
    for i in order:
        parts, data = items[i]
        target = base.joinpath(*parts)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_dir():
                continue
            target.write_bytes(data)
        except (NotADirectoryError, FileExistsError, IsADirectoryError):
            continue
        made["/".join(parts)] = data
    return made


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=trees, seed=st.randoms(use_true_random=False))
def test_property_tree_digest_is_a_function_of_contents(tmp_path_factory: pytest.TempPathFactory, tree, seed) -> None:  # type: ignore[no-untyped-def]
    base = tmp_path_factory.mktemp("prop")
    order = list(range(len(tree)))
    made_a = materialise(base / "a" / "data", tree, order)
    seed.shuffle(order)
    rebuilt = base / "b" / "data"
    for rel, data in sorted(made_a.items(), key=lambda kv: seed.random()):
        write(rebuilt / rel, data)
    a = tree_digest(base / "a", jobs=1)
    b = tree_digest(base / "b", jobs=3)
    assert a == b
    assert a.digest == tree_root_digest(a.files, "xxh3_128")
    assert {f.path: f.digest["xxh3_128"] for f in a.files} == {f"data/{k}": xxhash.xxh3_128(v).hexdigest() for k, v in made_a.items()}


def test_interpreter_runs_module_without_numpy_or_docker() -> None:
    code = "import sys, repro.data.digest; print(sorted(m for m in ('numpy', 'docker', 'jsonschema') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    assert out.stdout.strip() == "[]"


def test_file_entry_mode_from_stat(tmp_path: Path) -> None:
    f = write(tmp_path / "data" / "tool", "x", 0o644)
    f.chmod(f.stat().st_mode | stat.S_IXUSR)
    (a,) = fingerprint([tmp_path / "data"], tmp_path)
    assert a.files[0].executable is True


@pytest.mark.parametrize("extra", [0, 1, digest.CHUNK - 1, digest.CHUNK + 7])
def test_a_file_read_ahead_of_its_hash_digests_as_one_read_would(tmp_path, extra):
    """Files of PIPELINE_MIN bytes and more are read in a thread of their own, a few buffers ahead."""
    data = os.urandom(digest.PIPELINE_MIN + extra)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    assert digest_file(path) == {"xxh3_128": xxhash.xxh3_128(data).hexdigest()}
    assert digest_file(path, "sha256") == {"sha256": hashlib.sha256(data).hexdigest()}


def test_ignore_globs_follow_the_one_dialect() -> None:
    rules = IgnoreRules(["data/*.tmp", "**/checkpoints"])
    assert rules("x.tmp", "data/x.tmp") and not rules("x.tmp", "data/sub/x.tmp")  # * stops at /
    assert rules("checkpoints", "checkpoints") and rules("checkpoints", "a/b/checkpoints")
    assert globs.ignore_notes(["*.tmp", "data/*.tmp", "**/checkpoints"]) == [
        "ignore pattern 'data/*.tmp': `*` no longer crosses `/`; write 'data/**/*.tmp' if it should reach into "
        "subdirectories"]
