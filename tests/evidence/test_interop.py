"""Third-party verifiers accept what repro writes, with none of repro's code on the verifying side.

repro produces the files through its CLI; the checks below use only securesystemslib,
in-toto-attestation, sigstore-python and the standard library, as a user holding the files and
the team's public key would (docs/interop.md shows each as a command)."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import pytest

from tests.conftest import repro_cli

securesystemslib = pytest.importorskip("securesystemslib", reason="the test extra installs securesystemslib")
pytest.importorskip("in_toto_attestation", reason="the test extra installs in-toto-attestation")


@pytest.fixture
def evidence(example, keys, tmp_path):
    """A run, its DSSE and SLSA exports and a replay verdict, all made by the real CLI."""
    env = {"XDG_CONFIG_HOME": str(keys)}
    assert repro_cli("run", "--seed", "7", "--manifest", "run.json", "--", sys.executable, "train.py",
                     cwd=example, env=env).returncode == 0
    for fmt, name in (("dsse", "run.dsse.json"), ("slsa", "run.slsa.json")):
        result = repro_cli("export", "run.json", "--format", fmt, "-o", name, cwd=example, env=env)
        assert result.returncode == 0, result.stderr
    replayed = repro_cli("replay", "-q", "run.json", "--attest", "replay.intoto.jsonl", cwd=example, env=env)
    assert replayed.returncode == 0, replayed.stderr
    return example, keys / "repro" / "signing-key.pub.pem"


def envelopes(project: Path) -> dict[str, dict]:
    out = {"run": json.loads((project / "run.dsse.json").read_text()),
           "slsa": json.loads((project / "run.slsa.json").read_text())}
    for i, line in enumerate((project / "replay.intoto.jsonl").read_text().splitlines()):
        out[f"verdict{i}"] = json.loads(line)
    return out


def repro_keyid(pub_pem: bytes) -> str:
    """repro's keyid, computed as docs/interop.md says: sha256 of the key's DER SubjectPublicKeyInfo."""
    import hashlib

    from cryptography.hazmat.primitives import serialization

    der = serialization.load_pem_public_key(pub_pem).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def test_securesystemslib_verifies_every_envelope(evidence):
    from cryptography.hazmat.primitives import serialization
    from securesystemslib.dsse import Envelope
    from securesystemslib.signer import SSlibKey

    project, pub = evidence
    pem = pub.read_bytes()
    key = SSlibKey.from_crypto(serialization.load_pem_public_key(pem), keyid=repro_keyid(pem))
    for name, env in envelopes(project).items():
        accepted = Envelope.from_dict(env).verify([key], 1)
        assert list(accepted) == [repro_keyid(pem)], name
    # a changed payload is refused by securesystemslib too
    from securesystemslib.exceptions import VerificationError

    env = envelopes(project)["verdict0"]
    st = json.loads(base64.b64decode(env["payload"]))
    st["predicate"]["verificationResult"] = "FAILED"
    env["payload"] = base64.b64encode(json.dumps(st).encode()).decode()
    with pytest.raises(VerificationError):
        Envelope.from_dict(env).verify([key], 1)


def test_in_toto_attestation_validates_the_run_the_provenance_and_the_verdict(evidence):
    from google.protobuf import json_format
    from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
    from in_toto_attestation.predicates.test_result.v0 import test_result_pb2
    from in_toto_attestation.predicates.vsa.v1 import vsa_pb2
    from in_toto_attestation.v1 import statement_pb2
    from in_toto_attestation.v1.statement import Statement

    project, _ = evidence
    predicates = {
        "https://slsa.dev/provenance/v1": provenance_pb2.Provenance,
        "https://slsa.dev/verification_summary/v1": vsa_pb2.VerificationSummary,
        "https://in-toto.io/attestation/test-result/v0.1": test_result_pb2.TestResult,
    }
    seen = set()
    for name, env in envelopes(project).items():
        statement = json.loads(base64.b64decode(env["payload"]))
        Statement.copy_from_pb(json_format.ParseDict(statement, statement_pb2.Statement())).validate()
        kind = statement["predicateType"]
        seen.add(kind)
        if kind in predicates:  # the official protos, unknown fields refused
            predicate = statement["predicate"]
            if kind == "https://slsa.dev/verification_summary/v1":
                # the specification has verifier.version; the protobuf of in-toto-attestation 0.9 lacks it
                assert set(predicate["verifier"]["version"]) == {"repro"}
                predicate = {**predicate, "verifier": {"id": predicate["verifier"]["id"]}}
            json_format.ParseDict(predicate, predicates[kind]())
    assert seen == {"urn:repro:predicate:run:v1", *predicates}
    slsa = json.loads(base64.b64decode(envelopes(project)["slsa"]["payload"]))
    provenance = json_format.ParseDict(slsa["predicate"], provenance_pb2.Provenance())
    deps = provenance.build_definition.resolved_dependencies
    assert any(d.digest.get("gitCommit") for d in deps)
    assert any(d.uri.startswith("pkg:pypi/numpy@") for d in deps)
    assert any(d.name == "data/train.csv" and len(d.digest["sha256"]) == 64 for d in deps)


def test_sigstore_statement_model_accepts_the_subjects(evidence):
    dsse = pytest.importorskip("sigstore.dsse", reason="the test extra installs sigstore")
    project, _ = evidence
    for name, env in envelopes(project).items():
        payload = base64.b64decode(env["payload"])
        statement = dsse.Statement(payload)  # raises on subjects without a sha2/sha3 digest
        assert statement._inner.subjects, name

