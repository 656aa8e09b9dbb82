"""`repro unpack` and `repro verify BUNDLE`: every member checked before anything is used.

The index is the bundle's last member (it can only be written once every member was read), so
a bundle is checked in one pass that ends with the index: each member goes through tarfile's own
`data` extraction filter (absolute names, `..`, links leaving the tree, devices) and the bundle's
stricter rules (regular files and directories only, canonical names, no duplicates), and is
hashed as it is read; at the end the index's signature and every size and sha256 are compared.
`verify` reads only. `unpack` writes each member, as it is hashed, into a private staging
directory inside the target, and moves the staged tree into place only once the whole bundle
checked out; a refused bundle leaves nothing behind (the staging directory is removed, and the
target too when unpack created it). Nothing is ever written outside the target. One pass, not
a check pass and then an extracting pass: the bytes written are the bytes hashed, so there is no
window for the file to change between check and use, and the bundle is read once.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from repro.bundle import archive
from repro.bundle.index import (INDEX, MANIFEST, MARKER, MARKER_FORMAT, MAX_INDEX_BYTES, VERSION, BundleIntegrityError, Index,
                                InvalidBundleError, Member)
from repro.errors import ReproError, WriteError
from repro.evidence import jsonio
from repro.progress import Progress

CHUNK = 1 << 20
MAX_MANIFEST_BYTES = 256 * 1024 * 1024
_FILTER_ROOT = "/nonexistent/repro-bundle-check"


@dataclass(frozen=True)
class Verified:
    index: Index
    keyid: str
    members: int
    bytes: int
    manifest: bytes | None = None  # the manifest's bytes, kept by the check-only pass


def _refuse(name: str, why: str) -> BundleIntegrityError:
    return BundleIntegrityError(f"bundle member {name!r} refused: {why}")


def check_member(member: tarfile.TarInfo, dest: str) -> str:
    """The member's name when it is safe to extract under `dest`; raise otherwise.

    tarfile's `data` filter first (the standard library's own rules), then the bundle's: a pack
    writes regular files and directories with canonical relative names, and nothing else."""
    name = member.name
    try:
        tarfile.data_filter(member, dest)
    except tarfile.FilterError as e:
        raise _refuse(name, str(e)) from e
    if member.issym() or member.islnk():
        raise _refuse(name, f"it is a {'symbolic' if member.issym() else 'hard'} link to {member.linkname!r}; "
                            "a bundle holds regular files and directories only")
    if not (member.isreg() or member.isdir()) or member.issparse():
        raise _refuse(name, "it is not a regular file or a directory")
    bare = name.rstrip("/") if member.isdir() else name
    if not bare or os.path.normpath(bare) != bare or bare.startswith("/") or "\\" in bare or "\0" in bare:
        raise _refuse(name, "its name is not a plain relative path")
    return bare


def _check_marker(data: bytes) -> None:
    try:
        marker = jsonio.loads_strict(data, what="bundle marker")
    except ReproError as e:
        raise InvalidBundleError(f"not a repro bundle: {e.message}") from e
    if not isinstance(marker, dict) or marker.get("format") != MARKER_FORMAT:
        raise InvalidBundleError("not a repro bundle: the marker names another format")
    if marker.get("version") != VERSION:
        raise InvalidBundleError(f"bundle format version {marker.get('version')!r} is not supported (expected {VERSION})")


def _read_small(tf: tarfile.TarFile, member: tarfile.TarInfo, limit: int, what: str) -> bytes:
    if member.size > limit:
        raise BundleIntegrityError(f"{what} is larger than {limit // (1024 * 1024)} MiB")
    f = tf.extractfile(member)
    assert f is not None
    data = f.read()
    if len(data) != member.size:
        raise BundleIntegrityError(f"bundle is truncated (in {what})")
    return data


def _open_new(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0),
                 0o644)
    return os.fdopen(fd, "wb")


def _copy(tf: tarfile.TarFile, member: tarfile.TarInfo, target: Path | None, progress: Progress) -> str:
    f = tf.extractfile(member)
    assert f is not None
    h = hashlib.sha256()
    out = _open_new(target) if target is not None else None
    try:
        left = member.size
        while left > 0:
            chunk = f.read(min(CHUNK, left))
            if not chunk:
                raise BundleIntegrityError(f"bundle is truncated (in {member.name!r})")
            h.update(chunk)
            if out is not None:
                out.write(chunk)
            left -= len(chunk)
            progress.advance(nbytes=len(chunk))
        if out is not None and member.mode & 0o100:
            os.fchmod(out.fileno(), 0o755)
    finally:
        if out is not None:
            out.close()
    progress.advance(files=1)
    return h.hexdigest()


def _damage_errors() -> tuple[type[BaseException], ...]:
    try:
        import zstandard
    except ImportError:
        return ()
    return (zstandard.ZstdError,)


def _scan(path: Path, trusted: list, target: Path | None, progress: Progress) -> Verified:
    """One pass over the bundle. `target` None: check only, else each member is also written
    under `target` as it is hashed."""
    found: dict[str, Member] = {}
    index_raw: bytes | None = None
    manifest_raw: bytes | None = None
    dest = str(target) if target is not None else _FILTER_ROOT
    with archive.reader(path) as tf:
        try:
            while (member := tf.next()) is not None:
                tf.members.clear()  # stream mode would otherwise keep every header in memory
                if index_raw is not None:
                    raise _refuse(member.name, "it comes after the index")
                name = check_member(member, dest)
                if not found and name != MARKER:
                    raise InvalidBundleError(f"{path} is not a repro bundle (its first member is {name!r}, not {MARKER})")
                if name in found:
                    raise _refuse(name, "the name appears twice in the bundle")
                if name == INDEX:
                    if not member.isreg():
                        raise _refuse(name, "the index is not a regular file")
                    index_raw = _read_small(tf, member, MAX_INDEX_BYTES, "the bundle index")
                    if target is not None:
                        with _open_new(target / name) as out:
                            out.write(index_raw)
                    continue
                if name == MARKER:
                    if not member.isreg():
                        raise _refuse(name, "the marker is not a regular file")
                    data = _read_small(tf, member, 4096, "the bundle marker")
                    _check_marker(data)
                    found[name] = Member(name, len(data), hashlib.sha256(data).hexdigest())
                    if target is not None:
                        with _open_new(target / name) as out:
                            out.write(data)
                    continue
                if member.isdir():
                    found[name] = Member(name, 0, "", "directory")
                    if target is not None:
                        (target / name).mkdir(parents=True, exist_ok=True)
                elif name == MANIFEST:
                    manifest_raw = _read_small(tf, member, MAX_MANIFEST_BYTES, "the manifest")
                    found[name] = Member(name, len(manifest_raw), hashlib.sha256(manifest_raw).hexdigest())
                    if target is not None:
                        with _open_new(target / name) as out:
                            out.write(manifest_raw)
                else:
                    found[name] = Member(name, member.size, _copy(tf, member, target / name if target else None, progress))
        except (tarfile.ReadError, EOFError, *_damage_errors()) as e:
            raise BundleIntegrityError(f"bundle is truncated or damaged ({e})") from e
        except (FileExistsError, NotADirectoryError, IsADirectoryError) as e:
            raise BundleIntegrityError(f"bundle members collide on extraction: {e.filename}") from e
        except OSError as e:
            if isinstance(e, ReproError):
                raise
            raise WriteError(f"cannot extract into {target}: {e.strerror or e}") from e
    if not found:
        raise InvalidBundleError(f"{path} is not a repro bundle (no members)")
    if index_raw is None:
        raise BundleIntegrityError("bundle has no index: it is truncated, or it was not written by `repro pack`")
    index = Index.from_bytes(index_raw)
    keyid = index.verify(trusted)
    listed = index.by_name()
    for name, member in found.items():
        if name not in listed:
            raise _refuse(name, "it is not listed in the signed index")
        if listed[name] != member:
            raise _refuse(name, "it does not match the signed index (size or sha256 differs)")
    absent = sorted(set(listed) - set(found))
    if absent:
        raise BundleIntegrityError(f"bundle member {absent[0]!r} is listed in the signed index but missing")
    return Verified(index, keyid, len(found) + 1, sum(m.size for m in found.values()), manifest_raw)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def verify_bundle(path: Path, trusted: list, *, progress: bool | None = None) -> Verified:
    """Check the bundle end to end without writing anything."""
    with Progress(progress, label="verifying") as meter:
        meter.start(0, _size(path))
        return _scan(path, trusted, None, meter)


def verify_manifest(verified: Verified, trusted: list) -> str:
    """The manifest inside a verified bundle: the one the index names, signed by a trusted key."""
    from repro.evidence.manifest import Manifest

    if verified.manifest is None:
        raise BundleIntegrityError("the bundle holds no manifest")
    manifest = Manifest.from_bytes(verified.manifest, what="the bundle's manifest")
    if manifest.digest() != verified.index.manifest_digest:
        raise BundleIntegrityError("the bundle's manifest is not the one its index names")
    return manifest.verify(trusted)


def unpack(path: Path, dest: Path, trusted: list, *, progress: bool | None = None) -> Verified:
    """Check and extract into `dest` (absent or empty) in one pass; nothing is left on refusal."""
    created = not dest.exists()
    try:
        dest.mkdir(parents=True, exist_ok=True)
        if any(dest.iterdir()):
            raise InvalidBundleError(f"{dest} is not empty: unpack into a new directory")
        staging = Path(tempfile.mkdtemp(prefix=".repro-unpack-", dir=dest))
    except OSError as e:
        raise WriteError(f"cannot unpack into {dest}: {e.strerror or e}") from e
    done = False
    try:
        with Progress(progress, label="unpacking") as meter:
            meter.start(0, _size(path))
            verified = _scan(path, trusted, staging, meter)
        for entry in staging.iterdir():
            os.replace(entry, dest / entry.name)
        done = True
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if not done and created:
            shutil.rmtree(dest, ignore_errors=True)
    return verified
