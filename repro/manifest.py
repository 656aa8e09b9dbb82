"""The manifest: an in-toto Statement v1 with embedded signatures, immutable once built.

`Manifest.from_bytes` is the only way a manifest enters repro from outside: strict JSON, then
the schema, then a path check — before anything looks at its content. Signing and verification
operate on `body()`, the RFC 8785 bytes of the statement without `signatures`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from repro import jsonio, signing, validation
from repro.errors import IntegrityError, InvalidManifestError, UnsafePathError

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "urn:repro:predicate:run:v1"
SCHEMA = "manifest.schema.json"


def check_relpath(path: str, *, what: str = "path") -> PurePosixPath:
    """A path from a manifest: relative, no '..', no NUL, no backslash. Raise UnsafePathError."""
    if not path or "\0" in path or "\\" in path:
        raise UnsafePathError(f"unsafe {what} {path!r} in manifest")
    p = PurePosixPath(path)
    if p.is_absolute() or ".." in p.parts or (len(path) > 1 and path[1] == ":"):
        raise UnsafePathError(f"unsafe {what} {path!r} in manifest: absolute or leaves the project")
    return p


def _all_paths(statement: dict) -> list[tuple[str, str]]:
    pred = statement.get("predicate", {})
    out = [(s["name"], "subject") for s in statement.get("subject", [])]
    for facet in ("inputs", "outputs"):
        for art in pred.get(facet, []):
            out.append((art["path"], f"{facet[:-1]} path"))
            out.extend((f["path"], f"{facet[:-1]} path") for f in art.get("files", []))
    out.append((pred.get("command", {}).get("cwd", "."), "working directory"))
    return out


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
        validation.validate(data, SCHEMA, what=what, error=InvalidManifestError)
        for path, label in _all_paths(data):
            check_relpath(path, what=label)
        statement = {k: v for k, v in data.items() if k != "signatures"}
        return cls(statement, tuple(data["signatures"]))

    @classmethod
    def from_bytes(cls, raw: bytes, *, what: str = "manifest") -> "Manifest":
        return cls.from_json(jsonio.loads_strict(raw, what=what), what=what)

    @classmethod
    def load(cls, path: Path) -> "Manifest":
        return cls.from_json(jsonio.load_file(path, what=str(path)), what=str(path))

    def save(self, path: Path) -> None:
        """Validate what is about to be written, then write it atomically."""
        Manifest.from_json(self.to_json(), what="manifest being written")
        jsonio.write_atomic(path, self.to_bytes())

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
