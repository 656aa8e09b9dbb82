"""`repro run`, `verify`, `show`, `export` end to end: the real CLI in a subprocess on the example."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from repro.evidence import signing
from repro.evidence.manifest import Manifest
from tests.conftest import repro_cli


def run_example(example: Path, xdg: Path, *extra: str, manifest: str = "run.json"):
    result = repro_cli("run", "--seed", "7", "--manifest", manifest, *extra, "--", sys.executable, "train.py",
                       cwd=example, env={"XDG_CONFIG_HOME": str(xdg)})
    return result


def test_run_writes_a_valid_signed_manifest_that_verifies(example, keys):
    result = run_example(example, keys)
    assert result.returncode == 0, result.stderr
    assert "epochs 30" in result.stdout  # the command's output streams through
    assert "signed manifest" in result.stderr and "run.json" in result.stderr
    m = Manifest.load(example / "run.json")  # strict parse + schema
    p = m.predicate
    assert m.statement["_type"] == "https://in-toto.io/Statement/v1"
    assert {s["name"] for s in m.statement["subject"]} == {"out/model.npz", "out/metrics.json"}
    assert [a["path"] for a in p["inputs"]] == ["data"] and p["inputs"][0]["files"][0]["path"] == "data/train.csv"
    assert p["code"]["kind"] == "git" and len(p["code"]["commit"]) == 40
    assert p["seeds"]["seed"] == 7 and {"lib": "numpy", "value": 7, "processes": 1} in p["seeds"]["seeded"]
    assert p["seeds"]["pythonhashseed"] == "7"
    assert p["deps"]["python"]["executable"] and any(d["name"].lower() == "numpy" for d in p["deps"]["distributions"])
    assert p["hardware"]["cpu"]["logical_cores"] >= 1
    assert p["command"]["exit_code"] == 0 and p["command"]["argv"][-1] == "train.py"
    assert (example / p["logs"]["stdout"]["path"]).read_text().startswith("epochs 30")
    verified = repro_cli("verify", "run.json", cwd=example, env={"XDG_CONFIG_HOME": str(keys)})
    assert verified.returncode == 0, verified.stderr
    assert "OK" in verified.stdout


def test_default_manifest_path_is_under_dot_repro(example, keys):
    result = repro_cli("run", "--", sys.executable, "train.py", cwd=example, env={"XDG_CONFIG_HOME": str(keys)})
    assert result.returncode == 0, result.stderr
    manifests = list((example / ".repro" / "runs").glob("*/manifest.json"))
    assert len(manifests) == 1 and str(manifests[0].relative_to(example)) in result.stderr
    assert Manifest.load(manifests[0]).predicate["seeds"]["source"] == "drawn"


def test_one_changed_byte_in_signed_content_fails_verify(example, keys):
    assert run_example(example, keys).returncode == 0
    raw = (example / "run.json").read_text()
    tampered = raw.replace('"exit_code": 0', '"exit_code": 1', 1)
    assert tampered != raw
    (example / "run.json").write_text(tampered)
    result = repro_cli("verify", "run.json", "--no-files", cwd=example, env={"XDG_CONFIG_HOME": str(keys)})
    assert result.returncode == 3
    assert "signature does not verify" in result.stderr and "Traceback" not in result.stderr


def test_reindented_manifest_still_verifies(example, keys):
    assert run_example(example, keys).returncode == 0
    data = json.loads((example / "run.json").read_text())
    (example / "run.json").write_text(json.dumps(data, indent=7, sort_keys=True))
    result = repro_cli("verify", "run.json", cwd=example, env={"XDG_CONFIG_HOME": str(keys)})
    assert result.returncode == 0, result.stderr


def test_changed_output_on_disk_is_named_by_verify(example, keys):
    assert run_example(example, keys).returncode == 0
    with open(example / "out" / "metrics.json", "a") as f:
        f.write(" ")
    result = repro_cli("verify", "run.json", cwd=example, env={"XDG_CONFIG_HOME": str(keys)})
    assert result.returncode == 3
    assert "out/metrics.json does not match its recorded digest" in result.stderr


def test_failing_command_exit_code_propagates_and_is_recorded(example, keys):
    result = repro_cli("run", "--manifest", "fail.json", "--", sys.executable, "-c", "import sys; sys.exit(7)",
                       cwd=example, env={"XDG_CONFIG_HOME": str(keys)})
    assert result.returncode == 7, result.stderr
    m = Manifest.load(example / "fail.json")
    assert m.predicate["command"]["exit_code"] == 7
    assert m.statement["subject"][0]["name"] == "fail.stdout.log"  # logs stand in when there is no output


def test_same_seed_same_random_numbers_other_seed_other_numbers(tmp_path, keys):
    script = tmp_path / "rand.py"
    script.write_text("import random, numpy\nprint(random.random(), numpy.random.rand(), hash('abc'))\n")
    env = {"XDG_CONFIG_HOME": str(keys)}

    def once(seed: str) -> str:
        r = repro_cli("run", "--no-sign", "--seed", seed, "--", sys.executable, "rand.py", cwd=tmp_path, env=env)
        assert r.returncode == 0, r.stderr
        return r.stdout

    assert once("11") == once("11")
    assert once("11") != once("12")


def test_secrets_in_the_environment_never_reach_written_files(example, keys):
    planted = {"MY_API_TOKEN": "tok-PLANTED-1234567", "DB_PASSWORD": "pw-PLANTED-7654321",
               "INNOCENT": "AKIAIOSFODNN7PLANTED"}
    result = repro_cli("run", "--manifest", "run.json", "--", sys.executable, "train.py", cwd=example,
                       env={"XDG_CONFIG_HOME": str(keys), **planted})
    assert result.returncode == 0, result.stderr
    written = [p for p in example.rglob("*") if p.is_file() and ".git" not in p.parts]
    assert any(p.name == "run.json" for p in written)
    for path in written:
        data = path.read_bytes()
        for value in planted.values():
            assert value.encode() not in data, f"{value} leaked into {path}"
    env = Manifest.load(example / "run.json").predicate["environment"]
    assert env["MY_API_TOKEN"] == "***" and env["DB_PASSWORD"] == "***"


def test_missing_input_fails_before_anything_runs(example, keys):
    result = repro_cli("run", "--input", "nope.csv", "--", sys.executable, "-c", "open('ran', 'w')",
                       cwd=example, env={"XDG_CONFIG_HOME": str(keys)})
    assert result.returncode == 2
    assert result.stderr.strip() == "repro: error: input nope.csv does not exist"
    assert not (example / "ran").exists()


def test_missing_key_says_run_keygen_and_runs_nothing(example, xdg):
    result = repro_cli("run", "--", sys.executable, "-c", "open('ran', 'w')", cwd=example,
                       env={"XDG_CONFIG_HOME": str(xdg)})
    assert result.returncode == 2 and "repro keygen" in result.stderr
    assert not (example / "ran").exists()


def test_no_sign_is_visibly_marked_and_refused_by_verify(example, xdg):
    result = run_example(example, xdg, "--no-sign")
    assert result.returncode == 0, result.stderr
    m = Manifest.load(example / "run.json")
    assert m.predicate["unsigned"] is True and m.signatures == ()
    shown = repro_cli("show", "run.json", cwd=example, env={"XDG_CONFIG_HOME": str(xdg)})
    assert "UNSIGNED" in shown.stdout
    assert repro_cli("verify", "run.json", cwd=example, env={"XDG_CONFIG_HOME": str(xdg)}).returncode == 3


def test_show_summarises_for_a_person(example, keys):
    assert run_example(example, keys, "--threads", "1").returncode == 0
    result = repro_cli("show", "run.json", cwd=example, env={"XDG_CONFIG_HOME": str(keys)})
    assert result.returncode == 0, result.stderr
    for needle in ("signature  valid", "command", "out/", "seed       7 (given)", "OMP_NUM_THREADS=1", "cpu", "python"):
        assert needle in result.stdout


def test_export_dsse_envelope_verifies_with_the_same_signature(example, keys):
    assert run_example(example, keys).returncode == 0
    result = repro_cli("export", "run.json", "--format", "dsse", "-o", "run.dsse.json", cwd=example,
                       env={"XDG_CONFIG_HOME": str(keys)})
    assert result.returncode == 0, result.stderr
    env = json.loads((example / "run.dsse.json").read_text())
    manifest = json.loads((example / "run.json").read_text())
    assert env["signatures"] == manifest["signatures"]
    statement = json.loads(base64.b64decode(env["payload"]))
    assert statement["predicate"]["run_id"] == manifest["predicate"]["run_id"] and "signatures" not in statement
    pub = serialization.load_pem_public_key((keys / "repro" / "signing-key.pub.pem").read_bytes())
    pub.verify(base64.b64decode(env["signatures"][0]["sig"]),
               signing.pae(env["payloadType"], base64.b64decode(env["payload"])))


def test_verify_with_another_key_fails_and_with_pubkey_passes(example, keys, tmp_path):
    assert run_example(example, keys).returncode == 0
    other = tmp_path / "other"
    assert repro_cli("keygen", env={"XDG_CONFIG_HOME": str(other)}).returncode == 0
    wrong = repro_cli("verify", str(example / "run.json"), "--no-files", env={"XDG_CONFIG_HOME": str(other)})
    assert wrong.returncode == 3
    right = repro_cli("verify", str(example / "run.json"), "--no-files", "--pubkey",
                      str(keys / "repro" / "signing-key.pub.pem"), env={"XDG_CONFIG_HOME": str(other)})
    assert right.returncode == 0, right.stderr


def test_sigterm_is_forwarded_and_the_interruption_recorded(example, keys):
    proc = subprocess.Popen(
        [sys.executable, "-m", "repro", "run", "--manifest", "term.json", "--", sys.executable, "-c",
         "import time, sys; print('ready', flush=True); time.sleep(60)"],
        cwd=example, env={**os.environ, "XDG_CONFIG_HOME": str(keys)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    start = time.monotonic()
    proc.communicate(timeout=30)
    assert time.monotonic() - start < 20
    assert proc.returncode == 143
    cmd = Manifest.load(example / "term.json").predicate["command"]
    assert cmd["signal"] == "SIGTERM" and cmd["exit_code"] == 143


def test_python_dash_m_repro_and_version():
    result = subprocess.run([sys.executable, "-m", "repro", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and "repro" in result.stdout


def test_bad_manifest_is_one_line_exit_2(tmp_path, keys):
    (tmp_path / "bad.json").write_text('{"_type": 1, "_type": 2}')
    result = repro_cli("verify", str(tmp_path / "bad.json"), env={"XDG_CONFIG_HOME": str(keys)})
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "duplicate key" in result.stderr


def test_input_with_a_non_utf8_name_is_refused_before_running(tmp_path, keys):
    (tmp_path / "data").mkdir()
    (tmp_path / "data").joinpath(os.fsdecode(b"bad\xff.csv")).write_bytes(b"1")
    result = repro_cli("run", "--input", "data", "--", sys.executable, "-c", "open('ran', 'w')", cwd=tmp_path,
                       env={"XDG_CONFIG_HOME": str(keys)})
    assert result.returncode == 2 and "is not UTF-8" in result.stderr
    assert not (tmp_path / "ran").exists()


def test_output_with_a_non_utf8_name_is_left_out_with_a_warning(tmp_path, keys):
    script = "import os; os.makedirs('out', exist_ok=True); open('out/ok.txt', 'w'); open(os.path.join(b'out', b'bad\\xff'), 'w')"
    result = repro_cli("run", "--output", "out", "--manifest", "m.json", "--", sys.executable, "-c", script,
                       cwd=tmp_path, env={"XDG_CONFIG_HOME": str(keys)})
    assert result.returncode == 0, result.stderr
    assert "is not recorded: its name is not UTF-8" in result.stderr
    outputs = Manifest.load(tmp_path / "m.json").predicate["outputs"]
    assert [f["path"] for f in outputs[0]["files"]] == ["out/ok.txt"]


def test_a_symlinked_input_directory_is_recorded_by_its_declared_name_and_verifies(tmp_path, keys):
    outside = tmp_path / "outside" / "dataset"
    outside.mkdir(parents=True)
    (outside / "a.txt").write_text("hi\n")
    project = tmp_path / "proj"
    project.mkdir()
    (project / "data").symlink_to(outside)
    env = {"XDG_CONFIG_HOME": str(keys)}
    result = repro_cli("run", "--input", "data", "--manifest", "run.json", "--", sys.executable, "-c", "pass",
                       cwd=project, env=env)
    assert result.returncode == 0, result.stderr
    (artifact,) = Manifest.load(project / "run.json").predicate["inputs"]
    assert artifact["path"] == "data" and [f["path"] for f in artifact["files"]] == ["data/a.txt"]
    verified = repro_cli("verify", "run.json", cwd=project, env=env)
    assert verified.returncode == 0, verified.stderr
