"""Tampering: every change to the signed content of a real manifest fails `verify` and `replay`.

The signature covers PAE(payloadType, JCS(statement)); the `signatures` member is outside it and
its `keyid` is only a hint. So: every field and (a spread of) every byte of the statement is
changed in turn; signatures by unknown keys, removed signatures, a swapped payload type and a
signature over another canonicalization all fail; a manifest that is only re-serialised still
verifies.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from repro.evidence import dsse, jsonio, signing
from repro.errors import INTEGRITY, INVALID, IntegrityError
from repro.evidence.manifest import Manifest
from repro.replay.orchestrate import ReplayOptions, replay
from tests.hardening.cases import (
    benign_rewrites,
    describe,
    dump,
    forged_signatures,
    is_clean,
    outcome,
    set_at,
    tampered_bytes,
    tampered_fields,
    tampered_signatures,
)


def verify_bytes(data: bytes, trusted: list) -> BaseException | None:
    return outcome(lambda: Manifest.from_bytes(data).verify(trusted))


def never_verifies(cases, trusted: list) -> list[str]:
    return [f"{c.label}: {describe(err)}" for c in cases if not is_clean(err := verify_bytes(c.data, trusted))]


def test_every_changed_field_fails_verification(signed):
    cases = list(tampered_fields(signed.raw))
    assert len(cases) > 500
    trusted = signed.trusted()
    failures, by_signature = [], 0
    for case in cases:
        err = verify_bytes(case.data, trusted)
        if not is_clean(err):
            failures.append(f"{case.label}: {describe(err)}")
        by_signature += isinstance(err, IntegrityError)
    assert failures == []
    assert by_signature > len(cases) // 2  # most changes fit the schema: only the signature catches them


def test_changed_fields_fail_replay_before_anything_runs(signed, tmp_path):
    """The real `replay()` entry point, in-process, on a spread of the field changes."""
    cases = [c for i, c in enumerate(tampered_fields(signed.raw)) if i % 10 == 0]
    target = tmp_path / "m.json"
    failures = []
    for case in cases:
        target.write_bytes(case.data)
        opts = ReplayOptions(manifest_path=target, pubkeys=(signed.public_key,), root=signed.project,
                             output_manifest=tmp_path / "replayed.json")
        err = outcome(lambda: replay(opts, say=lambda _: None, load_key=None))
        if not is_clean(err):
            failures.append(f"{case.label}: {describe(err)}")
    assert failures == []
    assert not (tmp_path / "replayed.json").exists()


def test_a_flipped_byte_anywhere_in_the_signed_content_fails_verification(signed):
    cases = list(tampered_bytes(signed.raw))
    assert len(cases) >= 400
    assert never_verifies(cases, signed.trusted()) == []


def test_a_changed_signature_fails_verification(signed):
    cases = list(tampered_signatures(signed.raw))
    assert len(cases) > 20
    assert never_verifies(cases, signed.trusted()) == []


def test_every_forged_signature_fails(signed):
    cases = list(forged_signatures(signed.raw, signing.load_private_key(signed.private_key)))
    assert len(cases) >= 15
    failures = [f"{c.label}: {describe(e)}" for c in cases
                if not is_clean(e := verify_bytes(c.data, signed.trusted()), (INTEGRITY, INVALID))]
    assert failures == []


def test_the_keyid_is_only_a_hint(signed):
    """Trust comes from the keys the verifier holds: a wrong keyid does not invalidate a good
    signature, and naming a trusted key's id does not validate a foreign signature."""
    doc = json.loads(signed.raw)
    hinted = set_at(doc, ("signatures", 0, "keyid"), "0" * 64)
    assert verify_bytes(dump(hinted), signed.trusted()) is None

    statement = {k: v for k, v in doc.items() if k != "signatures"}
    foreign = signing.sign(jsonio.canonical_bytes(statement), Ed25519PrivateKey.generate())
    foreign["keyid"] = doc["signatures"][0]["keyid"]
    err = verify_bytes(dump({**statement, "signatures": [foreign]}), signed.trusted())
    assert is_clean(err, (INTEGRITY,)), describe(err)


def test_a_signature_by_an_unknown_key_fails(signed):
    doc = json.loads(signed.raw)
    statement = {k: v for k, v in doc.items() if k != "signatures"}
    stranger = Ed25519PrivateKey.generate()
    data = dump({**statement, "signatures": [signing.sign(jsonio.canonical_bytes(statement), stranger)]})
    err = verify_bytes(data, signed.trusted())
    assert is_clean(err, (INTEGRITY,)) and "does not verify against any trusted key" in str(err)
    assert verify_bytes(data, [stranger.public_key()]) is None  # the same bytes verify for whoever trusts it
    assert is_clean(verify_bytes(data, []), (INTEGRITY,))  # and nothing verifies against no key at all


def test_a_removed_signature_fails_and_so_does_claiming_to_be_unsigned(signed):
    doc = json.loads(signed.raw)
    removed = dump({**doc, "signatures": []})
    err = verify_bytes(removed, signed.trusted())
    assert is_clean(err, (INTEGRITY,)) and "not signed" in str(err)
    claimed = dump({**set_at(doc, ("predicate", "unsigned"), True), "signatures": []})
    err = verify_bytes(claimed, signed.trusted())
    assert is_clean(err, (INTEGRITY,)) and "unsigned" in str(err)


def test_a_swapped_payload_type_fails(signed):
    m = Manifest.from_bytes(signed.raw)
    key = signing.load_private_key(signed.private_key)
    body = m.body()
    other_type = "application/json"
    forged = {"keyid": signing.key_id(key.public_key()),
              "sig": base64.b64encode(key.sign(signing.pae(other_type, body))).decode()}
    err = outcome(lambda: signing.verify(body, [forged], signed.trusted()))
    assert is_clean(err, (INTEGRITY,))

    envelope = dsse.envelope(body, list(m.signatures))

    def dsse_verify(env: dict) -> BaseException | None:
        payload = base64.b64decode(env["payload"])
        return outcome(lambda: signing.verify(payload, env["signatures"], signed.trusted(),
                                              payload_type=env["payloadType"]))

    assert dsse_verify(envelope) is None  # the exported envelope is a valid DSSE signature as it is
    assert is_clean(dsse_verify({**envelope, "payloadType": other_type}), (INTEGRITY,))
    assert is_clean(dsse_verify({**envelope, "payloadType": "application/vnd.in-toto+json "}), (INTEGRITY,))


def test_a_signature_over_another_canonicalization_fails(signed):
    doc = json.loads(signed.raw)
    statement = {k: v for k, v in doc.items() if k != "signatures"}
    key = signing.load_private_key(signed.private_key)
    keyid = signing.key_id(key.public_key())
    bodies = {
        "sorted json.dumps": json.dumps(statement, sort_keys=True).encode(),
        "compact json.dumps": json.dumps(statement, separators=(",", ":")).encode(),
        "the pretty file bytes": jsonio.pretty_bytes(statement),
        "JCS including an empty signatures list": jsonio.canonical_bytes({**statement, "signatures": []}),
    }
    for name, body in bodies.items():
        assert body != jsonio.canonical_bytes(statement), name
        sig = {"keyid": keyid, "sig": base64.b64encode(key.sign(signing.pae(signing.PAYLOAD_TYPE, body))).decode()}
        err = verify_bytes(dump({**statement, "signatures": [sig]}), signed.trusted())
        assert is_clean(err, (INTEGRITY,)), f"{name}: {describe(err)}"
    raw_sig = {"keyid": keyid, "sig": base64.b64encode(key.sign(jsonio.canonical_bytes(statement))).decode()}
    assert is_clean(verify_bytes(dump({**statement, "signatures": [raw_sig]}), signed.trusted()), (INTEGRITY,))


def test_a_signature_moved_from_another_manifest_fails(signed):
    doc = json.loads(signed.raw)
    key = signing.load_private_key(signed.private_key)
    other = set_at(doc, ("predicate", "seeds", "seed"), 8)
    other_statement = {k: v for k, v in other.items() if k != "signatures"}
    signature = signing.sign(jsonio.canonical_bytes(other_statement), key)
    assert verify_bytes(dump({**other_statement, "signatures": [signature]}), signed.trusted()) is None
    assert is_clean(verify_bytes(dump({**doc, "signatures": [signature]}), signed.trusted()), (INTEGRITY,))


def test_a_manifest_only_reserialised_still_verifies(signed):
    cases = list(benign_rewrites(signed.raw))
    assert len(cases) >= 8
    assert [f"{c.label}: {describe(e)}" for c in cases if (e := verify_bytes(c.data, signed.trusted())) is not None] == []


# --- the CLI, a sample ----------------------------------------------------------------------------


def repro(*args: str, cwd: Path, xdg: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_CONFIG_HOME": str(xdg)}
    env.pop("REPRO_SIGNING_KEY", None)
    return subprocess.run([sys.executable, "-m", "repro", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


def one_error_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr and lines and lines[-1].startswith("repro: error: "), result.stderr
    assert sum(line.startswith("repro: error") for line in lines) == 1, result.stderr
    return lines[-1]


def test_tampered_manifests_fail_verify_and_replay_through_the_cli(signed, tmp_path):
    doc = json.loads(signed.raw)
    changes = {
        "output digest": (("subject", 0, "digest", "sha256"), "0" * 64),
        "argv": (("predicate", "command", "argv"), [sys.executable, "evil.py"]),
        "seed": (("predicate", "seeds", "seed"), 8),
        "an environment variable": (("predicate", "environment", "EXTRA"), "1"),
    }
    for n, (name, (path, value)) in enumerate(changes.items()):
        tampered = tmp_path / f"t{n}.json"
        tampered.write_bytes(dump(set_at(doc, path, value)))
        verified = repro("verify", "--no-files", str(tampered), cwd=signed.project, xdg=signed.xdg)
        assert verified.returncode == INTEGRITY, (name, verified.stderr)
        assert "signature does not verify" in one_error_line(verified)
        replayed = repro("replay", "-q", "--manifest", str(tmp_path / f"r{n}.json"), str(tampered),
                         cwd=signed.project, xdg=signed.xdg)
        assert replayed.returncode == INTEGRITY, (name, replayed.stderr)
        assert "refusing to replay" in one_error_line(replayed)
        assert not (tmp_path / f"r{n}.json").exists()

    unschema = tmp_path / "unschema.json"
    unschema.write_bytes(dump(set_at(doc, ("predicate", "command", "exit_code"), "zero")))
    result = repro("verify", str(unschema), cwd=signed.project, xdg=signed.xdg)
    assert result.returncode == INVALID and "exit_code" in one_error_line(result)


def test_reindented_and_reordered_manifest_verifies_through_the_cli(signed, tmp_path):
    copy_dir = tmp_path / "m"
    copy_dir.mkdir()
    doc = json.loads(signed.raw)
    for name in (doc["predicate"]["logs"]["stdout"]["path"], doc["predicate"]["logs"]["stderr"]["path"]):
        (copy_dir / name).write_bytes((signed.manifest.parent / name).read_bytes())
    target = copy_dir / "run.json"
    target.write_text(json.dumps(doc, indent=5, sort_keys=True))
    result = repro("verify", "--root", str(signed.project), str(target), cwd=tmp_path, xdg=signed.xdg)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK: ")


def test_show_of_a_tampered_manifest_cannot_rewrite_its_signature_line(signed, tmp_path):
    """Terminal escapes in manifest strings are shown as escapes, so a forged warning cannot move
    the cursor up and overwrite `NOT VERIFIED`."""
    doc = json.loads(signed.raw)
    spoof = "\x1b[3A\x1b[2Ksignature  valid, keyid " + doc["signatures"][0]["keyid"][:16]
    doc = set_at(doc, ("predicate", "warnings"), [spoof])
    doc = set_at(doc, ("predicate", "command", "argv"), [sys.executable, "train.py\x1b]0;title\x07\r"])
    target = tmp_path / "spoof.json"
    target.write_bytes(dump(doc))
    shown = repro("show", str(target), cwd=tmp_path, xdg=signed.xdg)
    assert shown.returncode == 0, shown.stderr
    assert "signature  NOT VERIFIED" in shown.stdout
    assert not any(c in shown.stdout for c in "\x1b\x07\r")
    assert "\\x1b[3A" in shown.stdout
