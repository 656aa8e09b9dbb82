import copy

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from repro.errors import IntegrityError, InvalidManifestError, UnsafePathError
from repro.evidence.manifest import Manifest, build_statement, check_relpath

DIGEST = {"xxh3_128": "0" * 32}


def predicate(**over):
    p = {
        "schema_version": 1, "run_id": "20261128T000000Z-abc123", "repro_version": "0.1.0", "unsigned": False,
        "digest_algorithm": "xxh3_128", "runner": {"name": "host"},
        "command": {"argv": ["python", "t.py"], "cwd": ".", "started_at": "2026-11-28T00:00:00.000001Z",
                    "ended_at": "2026-11-28T00:00:01Z", "duration_s": 1.0, "exit_code": 0, "signal": None},
        "code": {"kind": "tree", "digest": DIGEST, "files": []},
        "inputs": [], "outputs": [{"path": "out/m.npz", "kind": "file", "size": 3, "digest": DIGEST}],
        "deps": {}, "hardware": {},
        "seeds": {"seed": 1, "source": "given", "seeded": [], "threads": None, "variables": {}},
        "environment": {"PATH": "/bin"},
        "logs": {"stdout": {"path": "m.stdout.log", "size": 0, "digest": DIGEST},
                 "stderr": {"path": "m.stderr.log", "size": 0, "digest": DIGEST}},
        "warnings": [],
    }
    p.update(over)
    return p


def manifest(**over) -> Manifest:
    return Manifest(build_statement(predicate(**over), [{"name": "out/m.npz", "digest": DIGEST}]))


def test_roundtrip_and_signature():
    key = Ed25519PrivateKey.generate()
    m = manifest().signed_with(key)
    again = Manifest.from_bytes(m.to_bytes())
    assert again == m
    assert again.verify([key.public_key()]) == m.signatures[0]["keyid"]


def test_any_change_to_signed_content_breaks_the_signature():
    key = Ed25519PrivateKey.generate()
    data = manifest().signed_with(key).to_json()
    for mutate in (
        lambda d: d["predicate"]["seeds"].__setitem__("seed", 2),
        lambda d: d["subject"][0].__setitem__("name", "out/other.npz"),
        lambda d: d["predicate"]["environment"].__setitem__("X", "1"),
    ):
        tampered = copy.deepcopy(data)
        mutate(tampered)
        with pytest.raises(IntegrityError):
            Manifest.from_json(tampered).verify([key.public_key()])


@pytest.mark.parametrize("bad", ["/etc/passwd", "../x", "a/../../x", "a\\b", "C:/x", "a\0b"])
def test_unsafe_output_paths_are_refused(bad):
    data = manifest().to_json()
    data["predicate"]["outputs"][0]["path"] = bad
    with pytest.raises((UnsafePathError, InvalidManifestError)):
        Manifest.from_json(data)
    with pytest.raises(UnsafePathError):
        check_relpath(bad)


def test_schema_errors_name_the_field():
    data = manifest().to_json()
    data["predicate"]["command"]["exit_code"] = "zero"
    with pytest.raises(InvalidManifestError, match=r"\$\.predicate\.command\.exit_code"):
        Manifest.from_json(data)


def test_unsigned_manifest_does_not_verify():
    with pytest.raises(IntegrityError, match="unsigned"):
        manifest(unsigned=True).verify([Ed25519PrivateKey.generate().public_key()])


def test_save_validates_before_writing(tmp_path):
    bad = manifest(run_id="has space")
    with pytest.raises(InvalidManifestError):
        bad.save(tmp_path / "m.json")
    assert not (tmp_path / "m.json").exists()
