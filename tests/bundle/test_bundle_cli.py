"""`repro pack`, `unpack`, `verify BUNDLE` and `replay BUNDLE` end to end with the host runner."""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile

import pytest

from jsonschema import Draft202012Validator

from repro.bundle.archive import zstd_available
from repro.evidence import validation
from repro.report.json import VERIFY_SCHEMA
from tests.bundle.conftest import record_and_pack
from tests.conftest import repro_cli


def test_replay_of_a_bundle_reproduces_with_the_original_project_deleted(tmp_path):
    packed = record_and_pack(tmp_path)
    shutil.rmtree(packed.project)
    elsewhere = tmp_path / "auditor"
    elsewhere.mkdir()
    result = repro_cli("replay", str(packed.bundle), cwd=elsewhere, env=packed.env)
    assert result.returncode == 0, result.stderr
    assert "REPRODUCED: 2 outputs (2 identical)" in result.stdout
    assert "bundle verified" in result.stderr and "signature valid" in result.stderr
    replays = list((elsewhere / ".repro" / "replays").glob("*/manifest.json"))
    assert len(replays) == 1, "the replay's own manifest is written where the auditor works"
    assert not packed.project.exists()


def test_a_dirty_tree_with_an_untracked_source_is_rebuilt_exactly(tmp_path):
    """The saved diff (a tracked change and a new untracked module) is applied on the commit from
    the git bundle, and the normal code check then finds the very same commit and diff."""
    from tests.examples import make_example

    xdg = tmp_path / "xdg"
    env = {"XDG_CONFIG_HOME": str(xdg)}
    assert repro_cli("keygen", env=env).returncode == 0
    project = make_example(tmp_path / "logreg")
    train = project / "train.py"
    train.write_text(train.read_text().replace("import numpy as np", "import numpy as np\nimport helper  # noqa", 1))
    (project / "helper.py").write_text("VALUE = 1\n")
    manifest = project / "run.json"
    assert repro_cli("run", "--manifest", str(manifest), "--", "python", "train.py", cwd=project, env=env).returncode == 0
    recorded = json.loads(manifest.read_text())["predicate"]["code"]
    assert recorded["dirty"] and recorded["untracked_sources"] == ["helper.py"]
    bundle = tmp_path / "dirty.repro.tar"
    assert repro_cli("pack", str(manifest), "-o", str(bundle), cwd=project, env=env).returncode == 0
    shutil.rmtree(project)
    result = repro_cli("replay", str(bundle), cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "REPRODUCED" in result.stdout


def test_verify_and_unpack_a_bundle(tmp_path):
    packed = record_and_pack(tmp_path)
    verified = repro_cli("verify", str(packed.bundle), env=packed.env)
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("OK: bundle") and "members match" in verified.stdout
    as_json = repro_cli("verify", str(packed.bundle), "--json", "-", env=packed.env)
    doc = json.loads(as_json.stdout)
    Draft202012Validator(validation.load(VERIFY_SCHEMA)).validate(doc)
    assert doc["kind"] == "bundle" and doc["verified"] is True and doc["checks"][0]["name"] == "bundle"
    target = tmp_path / "unpacked"
    unpacked = repro_cli("unpack", str(packed.bundle), "-C", str(target), env=packed.env)
    assert unpacked.returncode == 0, unpacked.stderr
    index = json.loads((target / "repro-index.json").read_text())
    for member in index["members"]:
        assert (target / member["name"]).exists(), member["name"]
    assert (target / "inputs" / "data" / "train.csv").read_bytes() == (packed.project / "data" / "train.csv").read_bytes()
    assert (target / "manifest" / "manifest.json").read_bytes() == packed.manifest.read_bytes()
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(target / "code" / "repo.bundle"), str(clone)], check=True,
                   capture_output=True)
    assert (clone / "train.py").read_bytes() == (packed.project / "train.py").read_bytes()
    again = repro_cli("unpack", str(packed.bundle), "-C", str(target), env=packed.env)
    assert again.returncode == 2 and "not empty" in again.stderr


def test_pack_refuses_an_input_changed_since_the_run_naming_it(tmp_path):
    packed = record_and_pack(tmp_path)
    csv = packed.project / "data" / "train.csv"
    data = csv.read_bytes()
    csv.write_bytes(data[:-2] + bytes([data[-2] ^ 1]) + data[-1:])  # same size, other bytes
    out = tmp_path / "again.repro.tar"
    result = repro_cli("pack", str(packed.manifest), "-o", str(out), cwd=packed.project, env=packed.env)
    assert result.returncode == 3, result.stderr
    assert "data/train.csv" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not out.exists() and not list(tmp_path.glob(".again.repro.tar.*")), "no partial bundle is left"


def test_no_inputs_is_recorded_as_left_out_and_the_replay_then_needs_them(tmp_path):
    from tests.examples import make_example

    project = make_example(tmp_path / "logreg")  # the data leaves the commit: only the bundle could hold it
    (project / ".gitignore").write_text("data/\n")
    git = ["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "rm", "-rq", "--cached", "data"], check=True)
    subprocess.run([*git, "add", ".gitignore"], check=True)
    subprocess.run([*git, "commit", "-qm", "data is not code"], check=True)
    packed = record_and_pack(tmp_path, "--no-inputs", project=project)
    target = tmp_path / "unpacked"
    assert repro_cli("unpack", str(packed.bundle), "-C", str(target), env=packed.env).returncode == 0
    index = json.loads((target / "repro-index.json").read_text())
    assert index["contents"]["inputs"] == "left out (--no-inputs)"
    assert not (target / "inputs").exists()
    result = repro_cli("replay", str(packed.bundle), cwd=tmp_path, env=packed.env)
    assert result.returncode == 3 and "input data is missing" in result.stderr


def test_the_tolerance_rules_in_force_travel_with_the_bundle(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - match: out/metrics.json\n    allclose: {rtol: 0.5}\n")
    packed = record_and_pack(tmp_path, "--rules", str(rules))
    target = tmp_path / "unpacked"
    assert repro_cli("unpack", str(packed.bundle), "-C", str(target), env=packed.env).returncode == 0
    assert (target / "rules.yaml").read_text() == rules.read_text()
    rules.unlink()
    shutil.rmtree(packed.project)
    replayed = repro_cli("replay", str(packed.bundle), cwd=tmp_path, env=packed.env)
    assert replayed.returncode == 0, replayed.stderr
    metrics = next(line for line in replayed.stdout.splitlines() if "out/metrics.json" in line)
    model = next(line for line in replayed.stdout.splitlines() if "out/model.npz" in line)
    assert " exact " not in metrics and " exact " in model, replayed.stdout


@pytest.mark.skipif(not zstd_available(), reason="zstandard is not installed")
def test_a_zstd_bundle_replays(tmp_path):
    packed = record_and_pack(tmp_path)
    zst = tmp_path / "run.repro.tar.zst"
    result = repro_cli("pack", str(packed.manifest), "-o", str(zst), cwd=packed.project, env=packed.env)
    assert result.returncode == 0, result.stderr
    assert zst.read_bytes()[:4] == b"\x28\xb5\x2f\xfd"
    with pytest.raises(tarfile.ReadError):
        tarfile.open(zst, "r:")  # really compressed, not a tar with another name
    shutil.rmtree(packed.project)
    replayed = repro_cli("replay", str(zst), cwd=tmp_path, env=packed.env)
    assert replayed.returncode == 0, replayed.stderr
    assert "REPRODUCED" in replayed.stdout


def test_pack_refuses_an_untrusted_manifest(tmp_path):
    packed = record_and_pack(tmp_path)
    other = tmp_path / "other-xdg"
    assert repro_cli("keygen", env={"XDG_CONFIG_HOME": str(other)}).returncode == 0
    result = repro_cli("pack", str(packed.manifest), "-o", str(tmp_path / "x.repro.tar"), cwd=packed.project,
                       env={"XDG_CONFIG_HOME": str(other)})
    assert result.returncode == 3 and "refusing to pack" in result.stderr
