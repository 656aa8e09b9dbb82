"""The DSSE envelope `repro export --format dsse` writes is read back as the manifest it carries."""

from __future__ import annotations

import base64
import json
import sys

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from repro.errors import IntegrityError, InvalidManifestError
from repro.evidence import dsse
from repro.evidence.manifest import Manifest
from tests.conftest import repro_cli
from tests.evidence.test_manifest import manifest


@pytest.fixture
def signed():
    key = Ed25519PrivateKey.generate()
    return manifest().signed_with(key), key


def test_an_envelope_reads_back_as_the_same_manifest(signed):
    m, key = signed
    env = dsse.envelope(m.body(), list(m.signatures))
    again = Manifest.from_json(env, what="envelope")
    assert again == m and again.verify([key.public_key()]) == m.signatures[0]["keyid"]


def test_a_changed_payload_fails_the_signature(signed):
    m, key = signed
    statement = json.loads(m.body())
    statement["predicate"]["seeds"]["seed"] = 2
    from repro.evidence.jsonio import canonical_bytes

    env = dsse.envelope(canonical_bytes(statement), list(m.signatures))
    with pytest.raises(IntegrityError, match="signature does not verify"):
        Manifest.from_json(env).verify([key.public_key()])


@pytest.mark.parametrize("change, message", [
    (lambda e: e.update(payloadType="application/json"), "payloadType"),
    (lambda e: e.update(payload="not base64!"), "base64"),
    (lambda e: e.update(extra=1), "unexpected field"),
    (lambda e: e.update(signatures="x"), "signatures must be a list"),
    (lambda e: e.update(payload=base64.b64encode(b"[1]").decode()), "not a JSON object"),
    (lambda e: e.update(payload=base64.b64encode(json.dumps(json.loads(base64.b64decode(e["payload"])),
                                                            indent=2).encode()).decode()), "RFC 8785"),
])
def test_a_malformed_envelope_is_refused_by_name(signed, change, message):
    m, _ = signed
    env = dsse.envelope(m.body(), list(m.signatures))
    change(env)
    with pytest.raises(InvalidManifestError, match=message):
        Manifest.from_json(env, what="env.json")


def test_verify_show_and_replay_accept_the_exported_envelope(example, keys):
    env = {"XDG_CONFIG_HOME": str(keys)}
    assert repro_cli("run", "--seed", "7", "--manifest", "run.json", "--", sys.executable, "train.py",
                     cwd=example, env=env).returncode == 0
    exported = repro_cli("export", "run.json", "--format", "dsse", "-o", "run.dsse.json", cwd=example, env=env)
    assert exported.returncode == 0, exported.stderr
    assert "payloadType" in json.loads((example / "run.dsse.json").read_text())
    verified = repro_cli("verify", "run.dsse.json", cwd=example, env=env)
    assert verified.returncode == 0 and "recorded files match" in verified.stdout, verified.stderr
    shown = repro_cli("show", "run.dsse.json", cwd=example, env=env)
    assert shown.returncode == 0 and "signature  valid" in shown.stdout, shown.stderr
    replayed = repro_cli("replay", "-q", "run.dsse.json", cwd=example, env=env)
    assert replayed.returncode == 0 and "REPRODUCED" in replayed.stdout, replayed.stdout + replayed.stderr
    (example / "out" / "metrics.json").write_text("{}")
    assert repro_cli("verify", "run.dsse.json", cwd=example, env=env).returncode == 3
