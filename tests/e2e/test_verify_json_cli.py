"""`repro verify --json`: the result as a document, for a failure too, valid against its schema."""

from __future__ import annotations

import json
import sys

from jsonschema import Draft202012Validator

from repro.evidence import validation
from repro.evidence.manifest import Manifest
from repro.evidence.verdict import payload_digest
from repro.report.json import VERIFY_SCHEMA
from tests.conftest import repro_cli


def _validate(doc: dict) -> None:
    Draft202012Validator(validation.load(VERIFY_SCHEMA)).validate(doc)


def test_verify_json_on_stdout_and_for_a_tampered_output(example, keys):
    env = {"XDG_CONFIG_HOME": str(keys)}
    run = repro_cli("run", "--seed", "7", "--manifest", "run.json", "--output", "out/", "--", sys.executable, "train.py",
                    cwd=example, env=env)
    assert run.returncode == 0, run.stderr

    ok = repro_cli("verify", "run.json", "--json", "-", cwd=example, env=env)
    assert ok.returncode == 0, ok.stderr
    doc = json.loads(ok.stdout)  # standard output holds the document alone
    _validate(doc)
    assert "OK: run.json signed by" in ok.stderr
    assert doc["verified"] is True and doc["exit_code"] == 0 and doc["keyid"]
    assert doc["manifest_digest"] == payload_digest(Manifest.load(example / "run.json"))
    assert [c["status"] for c in doc["checks"]] == ["passed"] * 6
    assert doc["files_checked"] == sum(c["files"] for c in doc["checks"] if c["name"] in ("sidecars", "artifacts")) > 0
    quiet = repro_cli("verify", "-q", "run.json", cwd=example, env=env)
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""

    (example / "out" / "metrics.json").write_text("{}")
    bad = repro_cli("verify", "run.json", "--json", "result.json", cwd=example, env=env)
    assert bad.returncode == 3 and bad.stdout == ""
    assert bad.stderr.strip() == "repro: error: output out/metrics.json does not match its recorded digest"
    doc = json.loads((example / "result.json").read_text())
    _validate(doc)
    assert doc["verified"] is False and doc["exit_code"] == 3 and doc["error"].startswith("output out/metrics.json")
    assert {c["name"]: c["status"] for c in doc["checks"]} == {
        "parse": "passed", "signature": "passed", "file_lists": "passed", "sidecars": "passed",
        "artifacts": "failed", "subjects": "skipped"}


def test_verify_json_of_an_unreadable_manifest_and_a_bad_target(tmp_path):
    (tmp_path / "run.json").write_text("{not json")
    result = repro_cli("verify", "run.json", "--json", "-", cwd=tmp_path)
    assert result.returncode == 2
    doc = json.loads(result.stdout)
    _validate(doc)
    assert doc["run_id"] is None and doc["checks"][0] == {**doc["checks"][0], "name": "parse", "status": "failed"}

    missing_dir = repro_cli("verify", "run.json", "--json", "no/such/dir/r.json", cwd=tmp_path)
    assert missing_dir.returncode == 2 and len(missing_dir.stderr.splitlines()) == 1
    assert "directory" in missing_dir.stderr and "does not exist" in missing_dir.stderr
    assert not (tmp_path / "no").exists()
