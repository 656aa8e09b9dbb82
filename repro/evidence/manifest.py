"""The manifest: an in-toto Statement v1 with embedded signatures, immutable once built.

A DSSE envelope written by `repro export --format dsse` is read as the manifest it carries.
`Manifest.from_bytes` is the only way a manifest enters repro from outside: strict JSON, then
the schema, then a path check — before anything looks at its content. Signing and verification
operate on `body()`, the RFC 8785 bytes of the statement without `signatures`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from repro.evidence import dsse, jsonio, signing, validation
from repro.errors import IntegrityError, InvalidManifestError, UnsafePathError

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "urn:repro:predicate:run:v1"
SCHEMA = "manifest.schema.json"
SCHEMA_VERSION = 2
"""2: every subject is named with sha256 alone. Version 1 manifests (subjects in the run's digest
algorithm) are still read and verified."""


def check_relpath(path: str, *, what: str = "path") -> PurePosixPath:
    """A path from a manifest: relative, no '..', no NUL, no backslash. Raise UnsafePathError."""
    _check_relpath_text(path, what)
    return PurePosixPath(path)


def _check_relpath_text(path: str, what: str) -> None:
    # String tests, not PurePosixPath: this runs for every file of a manifest (100,000s).
    if not path or "\0" in path or "\\" in path:
        raise UnsafePathError(f"unsafe {what} {path!r} in manifest")
    if path[0] == "/" or ".." in path.split("/") or (len(path) > 1 and path[1] == ":"):
        raise UnsafePathError(f"unsafe {what} {path!r} in manifest: absolute or leaves the project")


def _all_paths(statement: dict) -> list[tuple[str, str]]:
    """Every path the statement holds, read defensively: this runs before the schema check, so
    that an unsafe path is named as one (exit 3) even in a manifest that is otherwise invalid."""

    def items(value: Any) -> list[dict]:
        return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []

    def strings(*values: Any) -> list[str]:
        return [v for v in values if isinstance(v, str)]

    pred = statement.get("predicate")
    pred = pred if isinstance(pred, dict) else {}
    out = [(s, "subject") for x in items(statement.get("subject")) for s in strings(x.get("name"))]
    for facet in ("inputs", "outputs"):
        for art in items(pred.get(facet)):
            out.extend((s, f"{facet[:-1]} path") for s in strings(art.get("path")))
            out.extend((s, f"{facet[:-1]} path") for f in items(art.get("files")) for s in strings(f.get("path")))
    command = pred.get("command")
    out.extend((s, "working directory") for s in strings(command.get("cwd") if isinstance(command, dict) else None))
    return out


def recorded_sidecars(statement: dict) -> list[str]:
    """Names of the files beside the manifest (logs, code diff): plain names, never paths."""
    pred = statement.get("predicate")
    pred = pred if isinstance(pred, dict) else {}
    logs = pred.get("logs") if isinstance(pred.get("logs"), dict) else {}
    code = pred.get("code") if isinstance(pred.get("code"), dict) else {}
    entries = [logs.get("stdout"), logs.get("stderr"), code.get("diff")]
    return [e["path"] for e in entries if isinstance(e, dict) and isinstance(e.get("path"), str)]


def check_paths(statement: dict) -> None:
    """Raise UnsafePathError for any path in the statement that could leave its root."""
    for path, label in _all_paths(statement):
        _check_relpath_text(path, label)
    for name in recorded_sidecars(statement):
        if name in ("", ".", "..") or "/" in name or "\\" in name or "\0" in name:
            raise UnsafePathError(f"unsafe file name {name!r} in manifest: it must name a file beside the manifest")


@dataclass(frozen=True)
class Manifest:
    statement: dict[str, Any]
    signatures: tuple[dict[str, str], ...] = ()

    @property
    def predicate(self) -> dict[str, Any]:
        return self.statement["predicate"]

    def body(self) -> bytes:
        return jsonio.canonical_bytes(self.statement)

    def to_json(self) -> dict[str, Any]:
        out = copy.deepcopy(self.statement)
        out["signatures"] = [dict(s) for s in self.signatures]
        return out

    def to_bytes(self) -> bytes:
        return jsonio.pretty_bytes(self.to_json())

    def signed_with(self, key) -> "Manifest":
        return Manifest(self.statement, (signing.sign(self.body(), key),))

    @classmethod
    def from_json(cls, data: Any, *, what: str = "manifest") -> "Manifest":
        if not isinstance(data, dict):
            raise InvalidManifestError(f"{what} is not a JSON object")
        if dsse.is_envelope(data):  # `repro export --format dsse`: the same statement and signatures
            data = dsse.unwrap(data, what=what)
        check_paths(data)
        validation.validate(data, SCHEMA, what=what, error=InvalidManifestError)
        statement = {k: v for k, v in data.items() if k != "signatures"}
        return cls(statement, tuple(data["signatures"]))

    @classmethod
    def from_bytes(cls, raw: bytes, *, what: str = "manifest") -> "Manifest":
        return cls.from_json(jsonio.loads_strict(raw, what=what), what=what)

    @classmethod
    def load(cls, path: Path) -> "Manifest":
        return cls.from_json(jsonio.load_file(path, what=str(path)), what=str(path))

    def save(self, path: Path) -> bytes:
        """Read back what is about to be written, as `load` will (strict JSON, schema), then write it
        atomically: a manifest repro wrote and cannot read is worse than none. Returns the bytes
        written, for a second copy that need not be checked again."""
        data = {**self.statement, "signatures": [dict(sig) for sig in self.signatures]}
        raw = jsonio.pretty_bytes(data)
        Manifest.from_bytes(raw, what="manifest being written")  # what repro writes, its strict reader reads back
        jsonio.write_atomic(path, raw)
        return raw

    def verify(self, trusted: list) -> signing.KeyID:
        if self.predicate.get("unsigned") and not self.signatures:
            raise IntegrityError("manifest is unsigned (written with --no-sign)")
        return signing.verify(self.body(), list(self.signatures), trusted)

    def digest(self) -> dict[str, str]:
        """sha256 over the canonical bytes, signatures included: what a replay points to."""
        import hashlib

        return {"sha256": hashlib.sha256(jsonio.canonical_bytes(self.to_json())).hexdigest()}


def build_statement(predicate: dict[str, Any], subjects: list[dict[str, Any]]) -> dict[str, Any]:
    return {"_type": STATEMENT_TYPE, "subject": subjects, "predicateType": PREDICATE_TYPE, "predicate": predicate}
