"""`repro replay` end to end: the real CLI in a subprocess on the example project."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from repro.evidence import signing
from repro.evidence.manifest import Manifest
from tests.conftest import repro_cli

NOISY = """\
import json, os
import numpy as np
# Unseeded on purpose: the last bits change from one run to the next.
noise = np.random.default_rng().normal(scale=1e-9, size=(8, 3))
w = np.linspace(0.0, 1.0, 24).reshape(8, 3) + noise
os.makedirs("out", exist_ok=True)
np.save("out/w.npy", w)
with open("out/metrics.json", "w") as f:
    json.dump({"loss": 0.25 + float(noise[0, 0]), "epochs": 3}, f)
"""


def record(project: Path, xdg: Path, *args: str, manifest: str = "run.json") -> Manifest:
    result = repro_cli("run", "--seed", "7", "--manifest", manifest, *args, "--", sys.executable, "train.py",
                       cwd=project, env={"XDG_CONFIG_HOME": str(xdg)})
    assert result.returncode == 0, result.stderr
    return Manifest.load(project / manifest)


def replay(project: Path, xdg: Path, *args: str):
    return repro_cli("replay", "run.json", *args, cwd=project, env={"XDG_CONFIG_HOME": str(xdg)})


def tree_state(path: Path) -> dict[str, tuple[str, int]]:
    return {str(p.relative_to(path)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(path.rglob("*")) if p.is_file()}


def test_replay_reproduces_bit_identically_and_leaves_originals_untouched(example, keys):
    record(example, keys)
    before = tree_state(example / "out")
    result = replay(example, keys, "--json", "report.json", "--junit", "report.xml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "REPRODUCED" in result.stdout and "out/model.npz" in result.stdout
    assert tree_state(example / "out") == before
    report = json.loads((example / "report.json").read_text())
    assert report["reproduced"] is True
    assert {v["path"]: v["status"] for v in report["verdicts"]} == {
        "out/model.npz": "identical", "out/metrics.json": "identical"}
    cases = ET.parse(example / "report.xml").getroot().iter("testcase")
    names = [c.get("name") for c in cases]
    assert "out/model.npz" in names and "out/metrics.json" in names
    replay_manifest = Manifest.load(Path(report["replay_manifest"]))
    assert replay_manifest.predicate["replay_of"]["run_id"] == report["run_id"]
    assert replay_manifest.predicate["seeds"]["seed"] == 7 and replay_manifest.predicate["seeds"]["source"] == "recorded"
    assert replay_manifest.signatures, "the replay's own manifest is signed"


def test_float_noise_fails_exact_and_passes_with_allclose(example, keys):
    (example / "train.py").write_text(NOISY)
    record(example, keys)
    exact = replay(example, keys, "--junit", "exact.xml")
    assert exact.returncode == 1, exact.stdout + exact.stderr
    assert "NOT REPRODUCED" in exact.stdout and "differs" in exact.stdout
    failures = [c for c in ET.parse(example / "exact.xml").getroot().iter("testcase") if c.find("failure") is not None]
    assert {c.get("name") for c in failures} >= {"out/w.npy", "out/metrics.json"}

    (example / "verify.yaml").write_text(
        "rules:\n"
        "  - match: 'out/*.npy'\n    allclose: {rtol: 1.0e-6, atol: 1.0e-6}\n"
        "  - match: 'out/metrics.json'\n    allclose: {rtol: 1.0e-6, atol: 1.0e-6}\n"
    )
    tolerant = replay(example, keys, "--rules", "verify.yaml", "--json", "tol.json")
    assert tolerant.returncode == 0, tolerant.stdout + tolerant.stderr
    verdicts = {v["path"]: v for v in json.loads((example / "tol.json").read_text())["verdicts"]}
    assert verdicts["out/w.npy"]["status"] == "within_tolerance"
    assert 0 < verdicts["out/w.npy"]["max_abs_error"] < 1e-7
    assert verdicts["out/w.npy"]["where"].startswith("[")
    assert verdicts["out/metrics.json"]["where"] == "$.loss"


def test_rules_from_repro_yaml_verify_key(example, keys):
    (example / "train.py").write_text(NOISY)
    with open(example / "repro.yaml", "a") as f:
        f.write("verify:\n  rules:\n    - match: 'out/*'\n      allclose: {atol: 1.0e-6}\n")
    record(example, keys)
    result = replay(example, keys)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "within tolerance" in result.stdout or "within_tolerance" in result.stdout


def test_changed_input_is_caught_before_running(example, keys):
    record(example, keys)
    with open(example / "data" / "train.csv", "a") as f:
        f.write("0,0,0,0,1\n")
    result = replay(example, keys)
    assert result.returncode == 3
    assert "data/train.csv does not match its recorded digest" in result.stderr
    assert "epochs" not in result.stdout  # nothing ran


def test_tampered_manifest_is_refused_with_exit_3(example, keys):
    record(example, keys)
    raw = (example / "run.json").read_text().replace('"seed": 7', '"seed": 8', 1)
    (example / "run.json").write_text(raw)
    result = replay(example, keys)
    assert result.returncode == 3 and "signature does not verify" in result.stderr
    assert "epochs" not in result.stdout


def test_unsigned_manifest_needs_the_unsafe_flag(example, keys):
    record(example, keys, "--no-sign")
    refused = replay(example, keys)
    assert refused.returncode == 3 and "--unsafe-allow-untrusted" in refused.stderr
    allowed = replay(example, keys, "--unsafe-allow-untrusted")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert "untrusted" in allowed.stderr


@pytest.mark.parametrize("bad", ["../../x", "/etc/passwd"])
def test_output_path_leaving_the_workspace_is_refused_even_when_signed(example, keys, bad):
    m = record(example, keys)
    data = m.to_json()
    data["predicate"]["outputs"][0]["path"] = bad
    key = signing.load_private_key(keys / "repro" / "signing-key.pem")
    forged = {k: v for k, v in data.items() if k != "signatures"}
    from repro.evidence import jsonio

    forged["signatures"] = [signing.sign(jsonio.canonical_bytes(forged), key)]
    (example / "run.json").write_text(json.dumps(forged))
    result = replay(example, keys)
    assert result.returncode in (2, 3), result.stderr
    assert bad in result.stderr and "Traceback" not in result.stderr
    assert "epochs" not in result.stdout


def test_changed_code_is_refused_and_checkout_rebuilds_the_recorded_commit(example, keys):
    record(example, keys)
    (example / "train.py").write_text((example / "train.py").read_text().replace("EPOCHS = 30", "EPOCHS = 31"))
    refused = replay(example, keys)
    assert refused.returncode == 3 and "code differs" in refused.stderr and "--checkout" in refused.stderr
    rebuilt = replay(example, keys, "--checkout")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert "epochs 30" in rebuilt.stdout
    assert "EPOCHS = 31" in (example / "train.py").read_text()  # the user's edit is untouched


def test_checkout_applies_the_saved_diff_of_a_dirty_run(example, keys):
    (example / "train.py").write_text((example / "train.py").read_text().replace("EPOCHS = 30", "EPOCHS = 12"))
    m = record(example, keys)
    assert m.predicate["code"]["dirty"] and m.predicate["code"]["diff"]
    subprocess.run(["git", "-C", str(example), "checkout", "-q", "--", "train.py"], check=True)
    result = replay(example, keys, "--checkout")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "epochs 12" in result.stdout


def test_missing_output_in_replay_is_reported(example, keys):
    (example / "train.py").write_text(
        "import os\nos.makedirs('out', exist_ok=True)\n"
        "open('out/a.txt', 'w').write('a')\n"
        "if os.environ.get('DROP_B') != '1':\n    open('out/b.txt', 'w').write('b')\n"
    )
    record(example, keys)
    result = repro_cli("replay", "run.json", "--json", "r.json", cwd=example,
                       env={"XDG_CONFIG_HOME": str(keys), "DROP_B": "1"})
    assert result.returncode == 1
    statuses = {v["path"]: v["status"] for v in json.loads((example / "r.json").read_text())["verdicts"]}
    assert statuses == {"out/a.txt": "identical", "out/b.txt": "missing"}


def test_replay_checkout_of_a_run_recorded_before_the_first_commit_is_one_clear_line(tmp_path, keys):
    project = tmp_path / "fresh"
    project.mkdir()
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    (project / "train.py").write_text("open('out.txt', 'w').write('1')\n")
    env = {"XDG_CONFIG_HOME": str(keys)}
    run = repro_cli("run", "-q", "--manifest", "run.json", "--output", "out.txt", "--", sys.executable, "train.py",
                    cwd=project, env=env)
    assert run.returncode == 0, run.stderr
    replayed = repro_cli("replay", "-q", "--checkout", "run.json", cwd=project, env=env)
    assert replayed.returncode == 2, replayed.stderr
    assert replayed.stderr.strip().splitlines() == ["repro: error: --checkout needs a recorded commit, and this run was "
                                                    "recorded before the repository's first commit: replay from the "
                                                    "working tree instead"]
