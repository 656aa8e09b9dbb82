"""sha256 subjects: what they hash, what they reuse, and that old (version 1) manifests still verify."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from repro.data.digest import FileEntry, fingerprint
from repro.errors import InvalidManifestError, UsageError
from repro.evidence import subjects
from repro.evidence.manifest import Manifest
from tests.conftest import repro_cli

V1 = Path(__file__).parent / "assets" / "manifest-v1"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_subjects_are_the_sha256_of_every_output_file_in_order(tmp_path):
    (tmp_path / "out").mkdir()
    payloads = {f"out/f{i}.bin": os.urandom(i * 997) for i in range(40)}
    payloads["big.bin"] = os.urandom(3 << 20)  # several read chunks
    for name, data in payloads.items():
        (tmp_path / name).write_bytes(data)
    os.symlink("f1.bin", tmp_path / "out" / "link")
    arts = fingerprint([tmp_path / "out", tmp_path / "big.bin"], tmp_path, "xxh3_128")
    got = subjects.sha256_subjects(subjects.output_files(arts, tmp_path), "xxh3_128", jobs=4)
    expected = {name: sha256(data) for name, data in payloads.items()}
    expected["out/link"] = sha256(b"f1.bin")  # a link inside a directory: its target string, as the predicate
    assert {s["name"]: s["digest"] for s in got} == {k: {"sha256": v} for k, v in expected.items()}
    assert [s["name"] for s in got] == [f.path for a in arts for f in a.file_entries()]


def test_a_sha256_run_reuses_its_digests_without_reading_again(tmp_path):
    (tmp_path / "m.bin").write_bytes(b"weights")
    arts = fingerprint([tmp_path / "m.bin"], tmp_path, "sha256")
    files = subjects.output_files(arts, tmp_path)
    (tmp_path / "m.bin").unlink()  # not read again: the recorded digest is the subject
    assert subjects.sha256_subjects(files, "sha256") == [{"name": "m.bin", "digest": {"sha256": sha256(b"weights")}}]
    with pytest.raises(UsageError, match="m.bin vanished"):
        subjects.sha256_subjects(files, "xxh3_128")


def test_a_named_symlink_output_is_followed(tmp_path):
    (tmp_path / "real.bin").write_bytes(b"abc")
    os.symlink("real.bin", tmp_path / "named.bin")
    named = subjects.Named("named.bin", tmp_path / "named.bin", 3, follow=True)
    assert subjects.sha256_subjects([(named, None)], "xxh3_128")[0]["digest"] == {"sha256": sha256(b"abc")}
    inside = subjects.Named("named.bin", tmp_path / "named.bin", 3, follow=False)
    with pytest.raises(UsageError):
        subjects.sha256_subjects([(inside, None)], "xxh3_128")


def test_version_2_requires_sha256_subjects_and_version_1_keeps_its_own():
    v1 = json.loads((V1 / "run.json").read_bytes())
    assert v1["predicate"]["schema_version"] == 1 and "xxh3_128" in v1["subject"][0]["digest"]
    Manifest.from_json(v1)  # still read
    v2 = json.loads(json.dumps(v1))
    v2["predicate"]["schema_version"] = 2
    with pytest.raises(InvalidManifestError, match=r"subject\[0\]\.digest.*xxh3_128. was unexpected"):
        Manifest.from_json(v2)
    v2["subject"][0]["digest"] = {"sha256": "0" * 64, "xxh3_128": "0" * 32}
    with pytest.raises(InvalidManifestError):
        Manifest.from_json(v2)
    v2["subject"][0]["digest"] = {"sha256": "0" * 64}
    Manifest.from_json(v2)


def test_a_version_1_manifest_written_before_sha256_subjects_still_verifies(tmp_path, xdg):
    """The committed manifest was written and signed by repro before schema version 2."""
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(V1 / "out.txt", root / "out.txt")
    pub = str(V1 / "signing-key.pub.pem")
    result = repro_cli("verify", str(V1 / "run.json"), "--pubkey", pub, "--root", str(root), cwd=root)
    assert result.returncode == 0, result.stderr
    assert "signed by 4ee70e60" in result.stdout and "3 recorded files match" in result.stdout
    shown = repro_cli("show", str(V1 / "run.json"), "--pubkey", pub, cwd=root)
    assert shown.returncode == 0 and "valid, keyid 4ee70e60" in shown.stdout, shown.stderr
    (root / "out.txt").write_bytes(b"changed\n")
    result = repro_cli("verify", str(V1 / "run.json"), "--pubkey", pub, "--root", str(root), cwd=root)
    assert result.returncode == 3 and "out.txt does not match" in result.stderr


def test_a_run_names_its_outputs_with_sha256_and_verify_checks_them(example, keys):
    env = {"XDG_CONFIG_HOME": str(keys)}
    result = repro_cli("run", "--seed", "7", "--manifest", "run.json", "--", sys.executable, "train.py", cwd=example, env=env)
    assert result.returncode == 0, result.stderr
    m = Manifest.load(example / "run.json")
    assert m.predicate["schema_version"] == 2 and m.predicate["digest_algorithm"] == "xxh3_128"
    assert {s["name"]: s["digest"] for s in m.statement["subject"]} == {
        name: {"sha256": sha256((example / name).read_bytes())} for name in ("out/model.npz", "out/metrics.json")}
    assert all("xxh3_128" in a["digest"] for a in m.predicate["outputs"])  # the predicate keeps the run's algorithm
    assert repro_cli("verify", "run.json", cwd=example, env=env).returncode == 0


def test_verify_catches_an_output_that_matches_the_fast_digest_but_not_its_sha256_subject(tmp_path):
    """Only the subject check can see this: the predicate's xxh3 digests are made to match."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from repro.evidence.verify import check_subjects

    (tmp_path / "out.bin").write_bytes(b"original")
    arts = fingerprint([tmp_path / "out.bin"], tmp_path, "xxh3_128")
    doc = json.loads((V1 / "run.json").read_bytes())
    doc["predicate"]["schema_version"] = 2
    doc["predicate"]["outputs"] = [a.to_json() for a in arts]
    doc["subject"] = [{"name": "out.bin", "digest": {"sha256": sha256(b"forged")}}]
    m = Manifest.from_json(doc).signed_with(Ed25519PrivateKey.generate())
    from repro.errors import IntegrityError

    with pytest.raises(IntegrityError, match="out.bin does not match its sha256 subject"):
        check_subjects(m, tmp_path)
    doc["subject"] = [{"name": "out.bin", "digest": {"sha256": sha256(b"original")}}]
    assert check_subjects(Manifest.from_json(doc), tmp_path) == 1
