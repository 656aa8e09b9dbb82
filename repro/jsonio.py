"""Strict JSON in, canonical JSON out, files written atomically.

Strictness is a security property: a manifest with two `digest` keys must not mean one thing to
the verifier and another to the reader, and NaN has no canonical form (RFC 8785 forbids it).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import rfc8785

from repro.errors import InvalidManifestError

MAX_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 64


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for k, v in pairs:
        if k in out:
            raise InvalidManifestError(f"duplicate key {k!r}")
        out[k] = v
    return out


def _no_constant(name: str) -> Any:
    raise InvalidManifestError(f"non-finite number {name} is not allowed")


def _nesting_bound(text: str) -> None:
    """Reject deep nesting before the recursive decoder sees it."""
    depth = 0
    in_string = False
    escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise InvalidManifestError(f"nesting deeper than {MAX_DEPTH} levels")
        elif ch in "]}":
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
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except InvalidManifestError as e:
        raise InvalidManifestError(f"{what} is not valid: {e.message}") from e
    except json.JSONDecodeError as e:
        raise InvalidManifestError(f"{what} is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from e
    except RecursionError as e:
        raise InvalidManifestError(f"{what} is nested too deeply") from e


def load_file(path: Path, *, what: str | None = None) -> Any:
    label = what or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InvalidManifestError(f"{label} is larger than {MAX_BYTES // (1024 * 1024)} MiB")
        data = path.read_bytes()
    except FileNotFoundError as e:
        raise InvalidManifestError(f"{label}: no such file") from e
    except IsADirectoryError as e:
        raise InvalidManifestError(f"{label} is a directory") from e
    except OSError as e:
        raise InvalidManifestError(f"{label}: {e.strerror}") from e
    return loads_strict(data, what=label)


def canonical_bytes(value: Any) -> bytes:
    """RFC 8785 (JCS) bytes: the form that is signed, independent of indentation and key order."""
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as e:
        raise InvalidManifestError(f"cannot canonicalize: {e}") from e


def pretty_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def write_atomic(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write to a temporary file in the same directory, fsync, then rename over the target, so a
    crash leaves either the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
