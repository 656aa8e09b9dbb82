"""The signed replay verdict, end to end: written by `repro replay`, checked by `repro verify`."""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from pathlib import Path

import rfc8785
from jsonschema import Draft202012Validator

from repro.evidence import validation
from repro.report.json import VERIFY_SCHEMA
from tests.conftest import repro_cli

VSA = "https://slsa.dev/verification_summary/v1"
TEST_RESULT = "https://in-toto.io/attestation/test-result/v0.1"


def statements(path: Path) -> dict[str, dict]:
    """The Statements of a verdict file, read with the standard library alone."""
    out = {}
    for line in path.read_text().splitlines():
        env = json.loads(line)
        assert env["payloadType"] == "application/vnd.in-toto+json"
        st = json.loads(base64.b64decode(env["payload"]))
        out[st["predicateType"]] = st
    return out


def signed_payload_sha256(manifest: Path) -> str:
    doc = json.loads(manifest.read_text())
    doc.pop("signatures")
    return hashlib.sha256(rfc8785.dumps(doc)).hexdigest()


def run(example: Path, env: dict, *argv: str, outputs=("out",)) -> None:
    args = [x for o in outputs for x in ("--output", o)]
    result = repro_cli("run", "--seed", "7", *args, "--manifest", "run.json", "--", *argv, cwd=example, env=env)
    assert result.returncode == 0, result.stderr


def test_a_reproduced_run_is_attested_passed_and_verify_says_what_it_vouches_for(example, keys, tmp_path):
    env = {"XDG_CONFIG_HOME": str(keys)}
    run(example, env, sys.executable, "train.py", outputs=())
    attest = tmp_path / "replay.intoto.jsonl"
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text("rules:\n  - match: out/metrics.json\n    allclose: {rtol: 1.0e-4}\n")
    replayed = repro_cli("replay", "-q", "run.json", "--rules", str(rules_file), "--attest", str(attest), cwd=example,
                         env=env)
    assert replayed.returncode == 0, replayed.stderr
    assert f"attested    {attest}" in replayed.stdout
    beside = next((example / ".repro" / "replays").glob("*/manifest.intoto.jsonl"))
    assert beside.read_bytes() == attest.read_bytes()

    found = statements(attest)
    vsa, test = found[VSA]["predicate"], found[TEST_RESULT]["predicate"]
    run_json = json.loads((example / "run.json").read_text())
    assert found[VSA]["subject"] == run_json["subject"] and all(set(s["digest"]) == {"sha256"} for s in run_json["subject"])
    assert vsa["verificationResult"] == "PASSED" and vsa["verifier"]["id"] == "urn:repro:verifier:replay"
    assert vsa["inputAttestations"] == [{"uri": "run.json", "digest": {"sha256": signed_payload_sha256(example / "run.json")}}]
    rules = next(c for c in test["configuration"] if c["uri"] == "urn:repro:rules")
    assert vsa["policy"]["digest"] == {"sha256": hashlib.sha256(base64.b64decode(rules["content"])).hexdigest()}
    assert json.loads(base64.b64decode(rules["content"])) == {"rules": [{"match": "out/metrics.json", "allclose": {"rtol": 1e-4}}]}
    report = next(c for c in test["configuration"] if c["name"] == "replay report")
    report_file = beside.parent / test["url"]
    assert report["digest"]["sha256"] == hashlib.sha256(report_file.read_bytes()).hexdigest()
    assert json.loads(report_file.read_text())["outcome"] == "REPRODUCED"
    assert test["result"] == "PASSED" and set(test["passedTests"]) == {"out/model.npz", "out/metrics.json", "exit code"}

    # re-indenting the manifest changes nothing the verdict points to
    (example / "run.json").write_text(json.dumps(run_json, indent=7))
    checked = repro_cli("verify", str(attest), "--against", "run.json", "--require-passed", cwd=example, env=env)
    assert checked.returncode == 0, checked.stderr
    for needle in ("verdict    PASSED", "manifest   run.json", signed_payload_sha256(example / "run.json"),
                   "against    run.json: the verdict is about this manifest", "passed  out/model.npz"):
        assert needle in checked.stdout, checked.stdout


def test_a_run_that_does_not_reproduce_is_attested_failed(example, keys, tmp_path):
    env = {"XDG_CONFIG_HOME": str(keys)}
    (example / "clock.py").write_text("import os, time\nos.makedirs('out', exist_ok=True)\n"
                                      "open('out/t.txt', 'w').write(repr(time.time()))\n")
    import subprocess

    subprocess.run(["git", "-C", str(example), "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qam", "c"],
                   check=False)
    subprocess.run(["git", "-C", str(example), "add", "clock.py"], check=True)
    subprocess.run(["git", "-C", str(example), "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "c"], check=True)
    run(example, env, sys.executable, "clock.py", outputs=("out/t.txt",))
    attest = tmp_path / "v.intoto.jsonl"
    replayed = repro_cli("replay", "-q", "run.json", "--attest", str(attest), cwd=example, env=env)
    assert replayed.returncode == 1, replayed.stdout + replayed.stderr
    found = statements(attest)
    assert found[VSA]["predicate"]["verificationResult"] == "FAILED"
    assert found[TEST_RESULT]["predicate"]["failedTests"] == ["out/t.txt"]
    authentic = repro_cli("verify", str(attest), cwd=example, env=env)
    assert authentic.returncode == 0 and "verdict    FAILED" in authentic.stdout and "FAILED  out/t.txt" in authentic.stdout
    assert repro_cli("verify", str(attest), "--require-passed", cwd=example, env=env).returncode == 1
    as_json = repro_cli("verify", str(attest), "--require-passed", "--json", "-", cwd=example, env=env)
    assert as_json.returncode == 1 and "verdict    FAILED" in as_json.stderr
    doc = json.loads(as_json.stdout)
    Draft202012Validator(validation.load(VERIFY_SCHEMA)).validate(doc)
    assert doc["kind"] == "verdict" and doc["verified"] is True and doc["exit_code"] == 1
    assert doc["verdict"]["result"] == "FAILED" and doc["verdict"]["failed"] == ["out/t.txt"]
    assert doc["manifest_digest"] == found[VSA]["predicate"]["inputAttestations"][0]["digest"]


def test_a_refused_replay_is_attested_failed_with_its_reason(example, keys, tmp_path):
    env = {"XDG_CONFIG_HOME": str(keys)}
    run(example, env, sys.executable, "train.py", outputs=())
    (example / "data" / "train.csv").write_text("x,y\n1,2\n")  # a changed input: refused
    attest = tmp_path / "refused.intoto.jsonl"
    replayed = repro_cli("replay", "-q", "run.json", "--attest", str(attest), cwd=example, env=env)
    assert replayed.returncode == 3 and "data/train.csv" in replayed.stderr
    predicate = statements(attest)[TEST_RESULT]["predicate"]
    assert predicate["result"] == "FAILED" and "replay refused" in predicate["failedTests"][0]
    assert "data/train.csv" in predicate["failedTests"][0]
    assert statements(attest)[VSA]["predicate"]["verificationResult"] == "FAILED"
    checked = repro_cli("verify", str(attest), "--against", "run.json", cwd=example, env=env)
    assert checked.returncode == 0 and "replay refused" in checked.stdout, checked.stderr


def test_a_tampered_or_misdirected_verdict_is_refused(example, keys, tmp_path):
    env = {"XDG_CONFIG_HOME": str(keys)}
    run(example, env, sys.executable, "train.py", outputs=())
    attest = tmp_path / "v.intoto.jsonl"
    assert repro_cli("replay", "-q", "run.json", "--attest", str(attest), cwd=example, env=env).returncode == 0
    lines = attest.read_text().splitlines()
    env0 = json.loads(lines[0])
    st = json.loads(base64.b64decode(env0["payload"]))
    st["predicate"]["verificationResult"] = "FAILED" if st["predicate"]["verificationResult"] == "PASSED" else "PASSED"
    env0["payload"] = base64.b64encode(rfc8785.dumps(st)).decode()
    forged = tmp_path / "forged.intoto.jsonl"
    forged.write_text("\n".join([json.dumps(env0), *lines[1:]]) + "\n")
    result = repro_cli("verify", str(forged), cwd=example, env=env)
    assert result.returncode == 3 and "signature does not verify" in result.stderr and "Traceback" not in result.stderr

    other = repro_cli("run", "--seed", "8", "--manifest", "other.json", "--", sys.executable, "train.py", cwd=example, env=env)
    assert other.returncode == 0, other.stderr
    misdirected = repro_cli("verify", str(attest), "--against", "other.json", cwd=example, env=env)
    assert misdirected.returncode == 3 and "the verdict is not about other.json" in misdirected.stderr

    stranger = tmp_path / "stranger"
    assert repro_cli("keygen", env={"XDG_CONFIG_HOME": str(stranger)}).returncode == 0
    untrusted = repro_cli("verify", str(attest), env={"XDG_CONFIG_HOME": str(stranger)})
    assert untrusted.returncode == 3
