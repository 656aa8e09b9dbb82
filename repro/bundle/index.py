"""The bundle's member names and its signed index.

The manifest's signature covers the run; the index covers the bundle: every member's name, size
and sha256, signed with the packer's key over the DSSE pre-authentication encoding of its
canonical bytes (the same scheme as the manifest, under its own payload type, so an index
signature can never be replayed as a manifest signature or the other way round). sha256, not
the run's digest algorithm: the index must resist a forger, and xxh3 does not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from repro.errors import IntegrityError, ReproError, UnsafePathError, UsageError
from repro.evidence import jsonio, signing
from repro.evidence.manifest import check_relpath

INDEX_PAYLOAD_TYPE = "application/vnd.repro.bundle-index+json"
INDEX_FORMAT = "repro-bundle-index"
MARKER_FORMAT = "repro-bundle"
VERSION = 1

# Member names. The marker comes first (it names the file as a bundle); the index comes last,
# because it can only be written once every member has been read.
MARKER = "repro-bundle.json"
INDEX = "repro-index.json"
MANIFEST_DIR = "manifest"
MANIFEST = "manifest/manifest.json"
CODE_BUNDLE = "code/repo.bundle"
CODE_TREE = "code/tree"
INPUTS = "inputs"
STORE = "store"
IMAGE = "image/image.tar"
IMAGE_FACTS = "image/facts.json"
RULES = "rules.yaml"

MAX_INDEX_BYTES = 64 * 1024 * 1024


class InvalidBundleError(UsageError):
    """A file that is not a repro bundle at all (empty, not a tar, no marker): exit 2."""


class BundleIntegrityError(IntegrityError):
    """A bundle that is damaged, tampered with, unsafe or signed by an untrusted key: exit 3."""


@dataclass(frozen=True)
class Member:
    name: str
    size: int
    sha256: str
    kind: str = "file"  # "file" | "directory"

    def to_json(self) -> dict:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind}
        if self.kind == "file":
            out.update(size=self.size, sha256=self.sha256)
        return out


@dataclass(frozen=True)
class Index:
    """What the bundle holds. `contents` says what was packed and what was left out, by name, so
    an auditor can tell a bundle made with --no-image from one whose image went missing."""

    run_id: str
    manifest_digest: dict
    contents: dict
    members: tuple[Member, ...]
    signatures: tuple[dict, ...] = field(default=())

    def statement(self) -> dict:
        return {
            "format": INDEX_FORMAT,
            "version": VERSION,
            "run_id": self.run_id,
            "manifest_digest": self.manifest_digest,
            "contents": self.contents,
            "members": [m.to_json() for m in self.members],
        }

    def body(self) -> bytes:
        return jsonio.canonical_bytes(self.statement())

    def signed_with(self, key: Any) -> "Index":
        sig = signing.sign(self.body(), key, payload_type=INDEX_PAYLOAD_TYPE)
        return Index(self.run_id, self.manifest_digest, self.contents, self.members, (sig,))

    def to_bytes(self) -> bytes:
        return jsonio.pretty_bytes({**self.statement(), "signatures": list(self.signatures)})

    def verify(self, trusted: list) -> signing.KeyID:
        if not self.signatures:
            raise BundleIntegrityError("bundle index is not signed")
        try:
            return signing.verify(self.body(), list(self.signatures), trusted, payload_type=INDEX_PAYLOAD_TYPE)
        except IntegrityError as e:
            raise BundleIntegrityError(f"bundle index: {e.message}") from e

    def by_name(self) -> dict[str, Member]:
        return {m.name: m for m in self.members}

    @classmethod
    def from_bytes(cls, raw: bytes) -> "Index":
        """Parse strictly and check the shape: a damaged or hostile index is refused here, before
        any of its names is used as a path."""
        try:
            data = jsonio.loads_strict(raw, what="bundle index")
        except ReproError as e:
            raise BundleIntegrityError(e.message) from e
        if not isinstance(data, dict) or data.get("format") != INDEX_FORMAT:
            raise BundleIntegrityError("bundle index is not a repro bundle index")
        if data.get("version") != VERSION:
            raise BundleIntegrityError(f"bundle index version {data.get('version')!r} is not supported (expected {VERSION})")
        members, seen = [], set()
        raw_members = data.get("members")
        sigs = data.get("signatures")
        if not isinstance(raw_members, list) or not isinstance(sigs, list) or not all(isinstance(s, dict) for s in sigs):
            raise BundleIntegrityError("bundle index is malformed: members and signatures must be lists")
        for entry in raw_members:
            member = _member(entry)
            if member.name in seen:
                raise BundleIntegrityError(f"bundle index lists {member.name!r} twice")
            seen.add(member.name)
            members.append(member)
        run_id, digest, contents = data.get("run_id"), data.get("manifest_digest"), data.get("contents")
        if not isinstance(run_id, str) or not isinstance(digest, dict) or not isinstance(contents, dict):
            raise BundleIntegrityError("bundle index is malformed: run_id, manifest_digest or contents missing")
        return cls(run_id, digest, contents, tuple(members), tuple(sigs))


def _member(entry: Any) -> Member:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise BundleIntegrityError("bundle index is malformed: a member without a name")
    name, kind = entry["name"], entry.get("kind")
    try:
        check_relpath(name, what="bundle member")
    except UnsafePathError as e:
        raise BundleIntegrityError(f"bundle index lists an unsafe name {name!r}") from e
    if kind == "directory":
        return Member(name, 0, "", "directory")
    size, digest = entry.get("size"), entry.get("sha256")
    if kind != "file" or not isinstance(size, int) or size < 0 or not isinstance(digest, str) or len(digest) != 64:
        raise BundleIntegrityError(f"bundle index entry {name!r} is malformed")
    return Member(name, size, digest, "file")


def marker_bytes() -> bytes:
    return jsonio.pretty_bytes({"format": MARKER_FORMAT, "version": VERSION})
