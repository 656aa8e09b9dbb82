"""Strict JSON in, canonical JSON out, files written atomically.

Strictness is a security property: a manifest with two `digest` keys must not mean one thing to
the verifier and another to the reader, and NaN has no canonical form (RFC 8785 forbids it).
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import tempfile
from pathlib import Path
from typing import Any

import rfc8785

from repro.errors import InvalidManifestError, ReproError, WriteError

MAX_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 64
# RFC 8785 (like I-JSON) only has exact integers up to 2**53 - 1: anything larger cannot be signed.
MAX_SAFE_INTEGER = 2**53 - 1
_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]|[\ud800-\udfff]")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for k, v in pairs:
        if k in out:
            raise InvalidManifestError(f"duplicate key {k!r}")
        out[k] = v
    return out


def _no_constant(name: str) -> Any:
    raise InvalidManifestError(f"non-finite number {name} is not allowed")


def _safe_int(text: str) -> int:
    """Checked on the digits first: Python refuses to convert more than 4300 of them."""
    digits = text.lstrip("-")
    if len(digits) > 16 or abs(int(text)) > MAX_SAFE_INTEGER:
        shown = text if len(text) <= 24 else text[:20] + "..."
        raise InvalidManifestError(f"integer {shown} is outside the range that can be signed (|n| <= 2**53 - 1)")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        shown = text if len(text) <= 24 else text[:20] + "..."
        raise InvalidManifestError(f"number {shown} is too large (it would be infinite)")
    return value


def _check_unicode(value: Any) -> None:
    """A lone surrogate (`"\\ud800"`) parses into a string that cannot be encoded, canonicalized
    or printed; reject it here rather than crash later."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as e:
                raise InvalidManifestError("contains a lone UTF-16 surrogate (not a Unicode character)") from e
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def _nesting_bound(text: str) -> None:
    """Reject deep nesting before the recursive decoder sees it. Strings are cut out first (a
    bracket inside one does not nest), so only the structural brackets are walked."""
    depth = 0
    for m in _BRACKET.finditer(_STRING.sub("", text)):
        if m.group() in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise InvalidManifestError(f"nesting deeper than {MAX_DEPTH} levels")
        else:
            depth -= 1


def loads_strict(data: bytes | str, *, what: str = "document") -> Any:
    """Parse JSON rejecting duplicate keys, NaN/Infinity, bad UTF-8, and excessive size or depth."""
    if isinstance(data, bytes):
        if len(data) > MAX_BYTES:
            raise InvalidManifestError(f"{what} is larger than {MAX_BYTES // (1024 * 1024)} MiB")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise InvalidManifestError(f"{what} is not UTF-8 (byte {e.start})") from e
    else:
        text = data
    if text.startswith("\ufeff"):
        raise InvalidManifestError(f"{what} starts with a byte-order mark")
    _nesting_bound(text)
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant,
                           parse_int=_safe_int, parse_float=_finite_float)
        if _SURROGATE.search(text):
            _check_unicode(value)
        return value
    except InvalidManifestError as e:
        raise InvalidManifestError(f"{what} is not valid: {e.message}") from e
    except json.JSONDecodeError as e:
        raise InvalidManifestError(f"{what} is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from e
    except RecursionError as e:
        raise InvalidManifestError(f"{what} is nested too deeply") from e


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB" if n >= 1024 * 1024 else f"{n // 1024} KiB"


def read_regular(path: Path, *, limit: int, what: str, error: type[ReproError] = InvalidManifestError) -> bytes:
    """The bytes of a regular file of at most `limit` bytes, or `error` with one line.

    Only regular files: a FIFO would block the reader forever and a device (`/dev/zero`, perhaps
    behind a symlink) never ends. The file is checked before it is opened and again on the open
    descriptor (opened non-blocking), so swapping it in between does not help, and reading stops
    after `limit` bytes whatever the size said."""
    try:
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            raise error(f"{what} is a directory")
        if not stat.S_ISREG(st.st_mode):
            raise error(f"{what} is not a regular file")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError as e:
        raise error(f"{what}: no such file") from e
    except NotADirectoryError as e:
        raise error(f"{what}: no such file (a parent is not a directory)") from e
    except OSError as e:
        raise error(f"{what}: {e.strerror or e}") from e
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise error(f"{what} is not a regular file")
        if st.st_size > limit:
            raise error(f"{what} is larger than {_size(limit)}")
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise error(f"{what} is larger than {_size(limit)}")
        return b"".join(chunks)
    except OSError as e:
        raise error(f"{what}: {e.strerror or e}") from e
    finally:
        os.close(fd)


def load_file(path: Path, *, what: str | None = None) -> Any:
    """Strictly parse the JSON file at `path` (a regular file of at most MAX_BYTES)."""
    label = what or str(path)
    return loads_strict(read_regular(path, limit=MAX_BYTES, what=label), what=label)


def canonical_bytes(value: Any) -> bytes:
    """RFC 8785 (JCS) bytes: the form that is signed, independent of indentation and key order."""
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as e:
        raise InvalidManifestError(f"cannot canonicalize: {e}") from e


def pretty_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def _reason(e: OSError) -> str:
    return e.strerror or str(e)


def write_atomic(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write to a temporary file in the same directory, fsync, then rename over the target, so a
    crash leaves either the old file or the new one, never half of one.

    A failure (full disk, no permission) raises WriteError naming the file, after removing the
    temporary file: the previous content stays exactly as it was. A target that exists and is not
    a regular file (a device, a FIFO, a directory) is refused: renaming over it would replace it."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        pass
    except OSError as e:
        raise WriteError(f"cannot write {path}: {_reason(e)}") from e
    else:
        if not stat.S_ISREG(st.st_mode):
            raise WriteError(f"cannot write {path}: it exists and is not a regular file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise WriteError(f"cannot write {path}: {_reason(e)}") from e
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(e, OSError):
            raise WriteError(f"cannot write {path}: {_reason(e)} (the previous file, if any, is unchanged)") from e
        raise
    try:
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
