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
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_PAIRS = str.maketrans("[{]}", "(())")


def _nesting_bound(text: str) -> None:
    """Reject deep nesting before the recursive decoder sees it. Strings are cut out first (a
    bracket inside one does not nest), then everything but the brackets; each pass of
    `replace("()", "")` removes the innermost level, so more than MAX_DEPTH passes with pairs left
    is too deep, and so are more than MAX_DEPTH brackets left open at the end. All C-level string
    work: a manifest of 100,000 files has 400,000 brackets. Otherwise unbalanced brackets are
    left to the decoder, which names where."""
    shape = _NOT_BRACKET.sub("", _STRING.sub("", text)).translate(_PAIRS)
    for _ in range(MAX_DEPTH):
        if "()" not in shape:
            break
        shape = shape.replace("()", "")
    if "()" in shape or shape.count("(") > MAX_DEPTH:
        raise InvalidManifestError(f"nesting deeper than {MAX_DEPTH} levels")


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


_JCS = json.JSONEncoder(ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":"))
_JCS_INT = 2**53 - 1


class _NotPlain(Exception):
    """The value holds something the fast path does not prove identical to RFC 8785."""


def _plain(value: Any) -> Any:
    """The value with integral floats as ints, or _NotPlain. For ASCII keys, safe integers and
    floats that Python writes without an exponent, the C encoder's sorted compact output is
    byte for byte RFC 8785: same string escapes, code point order equals UTF-16 order, and
    shortest round-trip digits in both."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if type(k) is not str or not k.isascii():
                raise _NotPlain
            out[k] = _plain(v)
        return out
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if type(value) is float:
        if value.is_integer() and abs(value) < 1e16:
            return int(value)
        if "e" in repr(value) or "n" in repr(value):  # exponent, nan, inf
            raise _NotPlain
        return value
    if type(value) is int and not -_JCS_INT <= value <= _JCS_INT:
        raise _NotPlain
    if value is None or type(value) in (str, int, bool):
        return value
    raise _NotPlain


def canonical_bytes(value: Any) -> bytes:
    """RFC 8785 (JCS) bytes: the form that is signed, independent of indentation and key order.
    The reference implementation is pure Python (a second per 100,000 files); the C encoder
    serves the values it provably writes the same way, and everything else goes to rfc8785."""
    try:
        return _JCS.encode(_plain(value)).encode("utf-8")
    except (_NotPlain, UnicodeEncodeError, RecursionError):
        pass
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError, RecursionError) as e:
        raise InvalidManifestError(f"cannot canonicalize: {e}") from e


_COMPACT = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(", ", ": "))
_SCALARS = (str, int, float, bool, type(None))


def _is_leaf(value: Any) -> bool:
    """A small record (a file entry with its digest, a package) reads best on one line."""
    if isinstance(value, dict):
        return len(value) <= 6 and all(
            isinstance(v, _SCALARS) or (isinstance(v, dict) and len(v) <= 2 and all(isinstance(x, _SCALARS) for x in v.values()))
            for v in value.values()
        )
    return isinstance(value, list) and len(value) <= 8 and all(isinstance(v, _SCALARS) for v in value)


def _pretty(value: Any, indent: str, out: list[str]) -> None:
    if not isinstance(value, (dict, list)) or not value or _is_leaf(value):
        out.append(_COMPACT.encode(value))
        return
    inner = indent + "  "
    if isinstance(value, dict):
        out.append("{")
        for i, (k, v) in enumerate(value.items()):
            out.append(("," if i else "") + "\n" + inner + _COMPACT.encode(k) + ": ")
            _pretty(v, inner, out)
        out.append("\n" + indent + "}")
    else:
        out.append("[")
        for i, v in enumerate(value):
            out.append(("," if i else "") + "\n" + inner)
            _pretty(v, inner, out)
        out.append("\n" + indent + "]")


def pretty_bytes(value: Any) -> bytes:
    """Indented JSON for people, with small records on one line: a manifest of 100,000 files
    stays readable (one file per line) and is written by the C encoder, not the slow indenter."""
    out: list[str] = []
    _pretty(value, "", out)
    out.append("\n")
    return "".join(out).encode("utf-8")


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
