"""`repro export --format slsa`: the provenance names what the run resolved, all with sha256."""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from pathlib import Path

from tests.conftest import repro_cli

V1 = Path(__file__).parent / "assets" / "manifest-v1"


def test_slsa_provenance_of_a_run(example, keys, tmp_path):
    env = {"XDG_CONFIG_HOME": str(keys)}
    assert repro_cli("run", "--seed", "7", "--threads", "1", "--manifest", "run.json", "--", sys.executable, "train.py",
                     cwd=example, env=env).returncode == 0
    result = repro_cli("export", "run.json", "--format", "slsa", "-o", "run.slsa.json", cwd=example, env=env)
    assert result.returncode == 0, result.stderr
    envelope = json.loads((example / "run.slsa.json").read_text())
    st = json.loads(base64.b64decode(envelope["payload"]))
    run = json.loads((example / "run.json").read_text())
    assert st["predicateType"] == "https://slsa.dev/provenance/v1" and st["subject"] == run["subject"]
    build = st["predicate"]["buildDefinition"]
    assert build["buildType"] == "urn:repro:build-type:run:v1"
    assert build["externalParameters"]["seed"] == 7 and build["externalParameters"]["threads"] == 1
    assert build["internalParameters"]["determinism_variables"]["OMP_NUM_THREADS"] == "1"
    deps = build["resolvedDependencies"]
    assert {"gitCommit": run["predicate"]["code"]["commit"]} in [d.get("digest") for d in deps]
    train = next(d for d in deps if d.get("name") == "data/train.csv")
    assert train["digest"] == {"sha256": hashlib.sha256((example / "data" / "train.csv").read_bytes()).hexdigest()}
    assert any(d.get("uri", "").startswith("pkg:pypi/numpy@") for d in deps)
    details = st["predicate"]["runDetails"]
    assert details["metadata"]["invocationId"] == run["predicate"]["run_id"]
    assert details["builder"]["id"] == "urn:repro:builder:host"
    logs = {b["name"]: b["digest"]["sha256"] for b in details["byproducts"]}
    assert logs["run.stdout.log"] == hashlib.sha256((example / "run.stdout.log").read_bytes()).hexdigest()

    (example / "data" / "train.csv").write_text("changed\n")  # sha256 is taken only of what the run read
    changed = repro_cli("export", "run.json", "--format", "slsa", cwd=example, env=env)
    assert changed.returncode == 3 and "data/train.csv" in changed.stderr

    stranger = tmp_path / "stranger"
    assert repro_cli("keygen", env={"XDG_CONFIG_HOME": str(stranger)}).returncode == 0
    wrong = repro_cli("export", "run.json", "--format", "slsa", "--key", str(stranger / "repro" / "signing-key.pem"),
                      cwd=example, env=env)
    assert wrong.returncode == 3 and "signed by the key that signed the run" in wrong.stderr


def test_a_version_1_manifest_cannot_be_exported_as_slsa(tmp_path, keys):
    result = repro_cli("export", str(V1 / "run.json"), "--format", "slsa", cwd=tmp_path, env={"XDG_CONFIG_HOME": str(keys)})
    assert result.returncode != 0 and "schema version 1" in result.stderr and "Traceback" not in result.stderr
