import base64
import os
import stat

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from repro.evidence import dsse, signing
from repro.errors import IntegrityError, SigningKeyError


def test_pae_matches_the_dsse_test_vector():
    assert signing.pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def test_generate_writes_private_key_0600_and_refuses_to_overwrite(tmp_path):
    pair = signing.generate(tmp_path / "k.pem")
    assert stat.S_IMODE(os.stat(pair.private_path).st_mode) == 0o600
    assert pair.public_path.name == "k.pub.pem"
    with pytest.raises(SigningKeyError, match="already exists"):
        signing.generate(tmp_path / "k.pem")
    assert signing.generate(tmp_path / "k.pem", force=True).keyid != pair.keyid


def test_private_key_readable_by_others_is_refused(tmp_path):
    pair = signing.generate(tmp_path / "k.pem")
    os.chmod(pair.private_path, 0o644)
    with pytest.raises(SigningKeyError, match="readable by others"):
        signing.load_private_key(pair.private_path)


def test_missing_key_tells_the_user_to_run_keygen(tmp_path):
    with pytest.raises(SigningKeyError, match="repro keygen"):
        signing.load_private_key(tmp_path / "nope.pem")


def test_garbage_key_files_are_clear_errors(tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_bytes(b"not a key")
    os.chmod(bad, 0o600)
    with pytest.raises(SigningKeyError, match="not an unencrypted PEM"):
        signing.load_private_key(bad)
    with pytest.raises(SigningKeyError, match="not a PEM public key"):
        signing.load_public_key(bad)


def test_sign_verify_roundtrip_and_keyid_is_sha256_of_spki(tmp_path):
    pair = signing.generate(tmp_path / "k.pem")
    key = signing.load_private_key(pair.private_path)
    pub = signing.load_public_key(pair.public_path)
    sig = signing.sign(b"body", key)
    assert sig["keyid"] == pair.keyid and len(sig["keyid"]) == 64
    assert signing.verify(b"body", [sig], [pub]) == pair.keyid
    with pytest.raises(IntegrityError, match="does not verify"):
        signing.verify(b"bodY", [sig], [pub])


def test_unknown_key_and_missing_signature_fail():
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    sig = signing.sign(b"body", key)
    with pytest.raises(IntegrityError):
        signing.verify(b"body", [sig], [other.public_key()])
    with pytest.raises(IntegrityError, match="not signed"):
        signing.verify(b"body", [], [key.public_key()])
    with pytest.raises(IntegrityError, match="no trusted public key"):
        signing.verify(b"body", [sig], [])


def test_signature_is_a_valid_dsse_signature_over_the_envelope_payload():
    """Any DSSE verifier recomputes PAE(payloadType, b64decode(payload)); check it by hand."""
    key = Ed25519PrivateKey.generate()
    body = b'{"_type":"https://in-toto.io/Statement/v1"}'
    env = dsse.envelope(body, [signing.sign(body, key)])
    payload = base64.b64decode(env["payload"])
    raw_sig = base64.b64decode(env["signatures"][0]["sig"])
    key.public_key().verify(raw_sig, signing.pae(env["payloadType"], payload))
    assert env["payloadType"] == "application/vnd.in-toto+json"


def test_swapped_payload_type_fails():
    key = Ed25519PrivateKey.generate()
    sig = signing.sign(b"body", key)
    with pytest.raises(IntegrityError):
        signing.verify(b"body", [sig], [key.public_key()], payload_type="application/json")
