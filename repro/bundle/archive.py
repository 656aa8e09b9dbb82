"""The container format: a POSIX tar, optionally zstd-compressed, written and read in one pass.

Writing uses tarfile's stream mode (`w|`); reading a plain tar reads it in place (`r:`: member data
straight from the file), a zstd frame as a stream (`r|`). Both with 1 MiB buffers: the default of
10 KiB makes a stream re-slice its buffer about a hundred times per MiB, which costs more than the
hashing. Members are taken in order, one at a time, none kept in memory. A bundle is recognised by
its content (the zstd frame magic, the tar header's `ustar` magic and the marker as first member
name), never by its file name alone.
"""

from __future__ import annotations

import os
import stat
import tarfile
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator

from repro.bundle.index import MARKER, InvalidBundleError

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
CHUNK = 1 << 20
BLOCK = 512


def zstd_available() -> bool:
    try:
        import zstandard  # noqa: F401
    except ImportError:
        return False
    return True


def wants_zstd(path: Path) -> bool:
    return path.name.endswith((".zst", ".zstd"))


def _zstd():
    try:
        import zstandard
    except ImportError as e:
        raise InvalidBundleError("a .tar.zst bundle needs the zstandard package (pip install 'repro[zstd]')") from e
    return zstandard


@contextmanager
def writer(out: BinaryIO, *, compress: bool) -> Iterator[tarfile.TarFile]:
    """A tar stream writing to `out`; closing it writes the end-of-archive blocks (and ends the zstd frame)."""
    if not compress:
        with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT, copybufsize=CHUNK, bufsize=CHUNK) as tf:
            yield tf
        return
    zstandard = _zstd()
    with zstandard.ZstdCompressor(level=3, threads=-1).stream_writer(out, closefd=False) as z:
        with tarfile.open(fileobj=z, mode="w|", format=tarfile.PAX_FORMAT, copybufsize=CHUNK, bufsize=CHUNK) as tf:
            yield tf


def _first_block(raw: BinaryIO) -> bytes:
    head = raw.read(4)
    if head == ZSTD_MAGIC:
        zstandard = _zstd()
        raw.seek(0)
        try:
            with zstandard.ZstdDecompressor().stream_reader(raw, closefd=False) as z:
                return z.read(BLOCK)
        except zstandard.ZstdError:
            return b""
    return head + raw.read(BLOCK - len(head))


def looks_like_bundle(path: Path) -> bool:
    """True when `path` is a regular file whose first tar member is the bundle marker."""
    try:
        if not path.is_file():
            return False
        with open(path, "rb") as raw:
            block = _first_block(raw)
    except OSError:
        return False
    if len(block) < BLOCK or block[257:262] != b"ustar":
        return False
    name = block[:100].split(b"\0", 1)[0]
    if block[156:157] in (b"x", b"g"):  # a PAX header first: the marker's name is short, so it never has one
        return False
    return name == MARKER.encode()


@contextmanager
def reader(path: Path) -> Iterator[tarfile.TarFile]:
    """A tar stream over the bundle at `path` (decompressed when it is a zstd frame)."""
    try:
        raw = open(path, "rb")
    except FileNotFoundError as e:
        raise InvalidBundleError(f"{path} does not exist") from e
    except OSError as e:
        raise InvalidBundleError(f"cannot read {path}: {e.strerror or e}") from e
    with raw:
        st = os.fstat(raw.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise InvalidBundleError(f"{path} is not a regular file")
        if st.st_size == 0:
            raise InvalidBundleError(f"{path} is empty (0 bytes): not a repro bundle")
        head = raw.read(4)
        raw.seek(0)
        source: BinaryIO = raw
        # A plain tar is read in place (member data straight from the file, skipped by seeking);
        # a zstd frame only as a stream. Either way members are read in order, one at a time.
        mode = "r:"
        if head == ZSTD_MAGIC:
            source, mode = _zstd().ZstdDecompressor().stream_reader(raw, closefd=False), "r|"
        try:
            tf = tarfile.open(fileobj=source, mode=mode, copybufsize=CHUNK, bufsize=CHUNK)
        except tarfile.TarError as e:
            raise InvalidBundleError(f"{path} is not a repro bundle (not a tar archive: {e})") from e
        with tf:
            yield tf
