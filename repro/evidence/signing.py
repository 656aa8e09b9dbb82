"""Ed25519 keys and DSSE signatures over the manifest's canonical bytes.

The signature covers PAE(payloadType, JCS(manifest without `signatures`)), so the very same
signature is a valid DSSE signature: exporting a standard envelope needs no re-signing.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import NewType

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from repro.errors import IntegrityError, SigningKeyError
from repro.evidence.jsonio import read_regular, write_atomic

PAYLOAD_TYPE = "application/vnd.in-toto+json"
PRIVATE_KEY_NAME = "signing-key.pem"
PUBLIC_KEY_NAME = "signing-key.pub.pem"

KeyID = NewType("KeyID", str)

MAX_KEY_BYTES = 64 * 1024  # a PEM Ed25519 key is about 120 bytes


def pae(payload_type: str, body: bytes) -> bytes:
    """DSSE pre-authentication encoding."""
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(body), body)


def key_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "repro"


def default_private_key_path() -> Path:
    env = os.environ.get("REPRO_SIGNING_KEY")
    return Path(env) if env else key_dir() / PRIVATE_KEY_NAME


def default_public_key_path() -> Path:
    env = os.environ.get("REPRO_SIGNING_KEY")
    if env:
        return _public_path_for(Path(env))
    return key_dir() / PUBLIC_KEY_NAME


def _public_path_for(private: Path) -> Path:
    name = private.name
    stem = name[: -len(".pem")] if name.endswith(".pem") else name
    return private.with_name(stem + ".pub.pem")


def key_id(public_key: Ed25519PublicKey) -> KeyID:
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return KeyID(hashlib.sha256(der).hexdigest())


@dataclass(frozen=True)
class KeyPair:
    private_path: Path
    public_path: Path
    keyid: KeyID


def generate(private_path: Path | None = None, *, force: bool = False) -> KeyPair:
    """Create an Ed25519 key pair; the private key is written 0600 and never overwritten
    unless `force`."""
    private_path = private_path or default_private_key_path()
    public_path = _public_path_for(private_path)
    if private_path.exists() and not force:
        raise SigningKeyError(f"a key already exists at {private_path} (use --force to replace it)")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        private_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as e:
        raise SigningKeyError(f"cannot create {private_path.parent}: {e.strerror or e}") from e
    write_atomic(private_path, private_pem, mode=0o600)
    write_atomic(public_path, public_pem, mode=0o644)
    return KeyPair(private_path, public_path, key_id(key.public_key()))


def existing(private_path: Path | None = None) -> KeyPair | None:
    """The key pair already at `private_path` (default location), or None."""
    private_path = private_path or default_private_key_path()
    if not private_path.exists():
        return None
    key = load_private_key(private_path)
    return KeyPair(private_path, _public_path_for(private_path), key_id(key.public_key()))


def load_private_key(path: Path | None = None) -> Ed25519PrivateKey:
    """The signing key at `path`, by default $REPRO_SIGNING_KEY or the one `repro keygen` made."""
    path = path or default_private_key_path()
    try:
        st = path.stat()
    except FileNotFoundError as e:
        raise SigningKeyError(
            f"no signing key at {path}: run `repro keygen` (or pass --key, or --no-sign for an unsigned manifest)"
        ) from e
    except OSError as e:
        raise SigningKeyError(f"cannot read private key {path}: {e.strerror or e}") from e
    if stat.S_ISREG(st.st_mode) and st.st_mode & 0o077:
        raise SigningKeyError(
            f"private key {path} is readable by others (mode {stat.S_IMODE(st.st_mode):04o}); run `chmod 600 {path}`"
        )
    data = read_regular(path, limit=MAX_KEY_BYTES, what=f"private key {path}", error=SigningKeyError)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        raise SigningKeyError(f"cannot read private key {path}: not an unencrypted PEM key") from e
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"private key {path} is not an Ed25519 key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    if not os.path.lexists(path):
        raise SigningKeyError(f"no public key at {path}: run `repro keygen` or pass --pubkey")
    data = read_regular(path, limit=MAX_KEY_BYTES, what=f"public key {path}", error=SigningKeyError)
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        raise SigningKeyError(f"cannot read public key {path}: not a PEM public key") from e
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"public key {path} is not an Ed25519 key")
    return key


def sign(body: bytes, key: Ed25519PrivateKey, *, payload_type: str = PAYLOAD_TYPE) -> dict:
    sig = key.sign(pae(payload_type, body))
    return {"keyid": key_id(key.public_key()), "sig": base64.b64encode(sig).decode("ascii")}


def verify(body: bytes, signatures: list[dict], trusted: list[Ed25519PublicKey], *, payload_type: str = PAYLOAD_TYPE) -> KeyID:
    """Return the key id of the first trusted key that signed `body`; raise IntegrityError if none did.
    The keyid in a signature is a hint only: every trusted key is tried."""
    if not signatures:
        raise IntegrityError("manifest is not signed")
    if not trusted:
        raise IntegrityError("no trusted public key to verify against (run `repro keygen` or pass --pubkey)")
    message = pae(payload_type, body)
    for entry in signatures:
        try:
            raw = base64.b64decode(entry.get("sig", ""), validate=True)
        except (ValueError, TypeError):
            continue
        for pub in trusted:
            try:
                pub.verify(raw, message)
            except InvalidSignature:
                continue
            return key_id(pub)
    hints = ", ".join(str(s.get("keyid", "?"))[:16] for s in signatures)
    raise IntegrityError(f"signature does not verify against any trusted key (signed by keyid {hints})")
