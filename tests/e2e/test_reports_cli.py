"""Reports where CI reads them: `-` for standard output, and a refused replay still reported."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET

from jsonschema import Draft202012Validator

from repro.evidence import validation
from repro.report.json import REPLAY_SCHEMA
from tests.conftest import repro_cli


def _record(example, keys) -> dict:
    env = {"XDG_CONFIG_HOME": str(keys)}
    run = repro_cli("run", "--seed", "7", "--manifest", "run.json", "--", sys.executable, "train.py", cwd=example, env=env)
    assert run.returncode == 0, run.stderr
    return env


def test_replay_json_on_stdout_and_a_refusal_still_reported(example, keys):
    env = _record(example, keys)
    (example / "rules.yaml").write_text('rules:\n  - match: "*.npz"\n    allclose: {rtol: 1.0e-6}\n')
    ok = repro_cli("replay", "run.json", "--rules", "rules.yaml", "--json", "-", "--junit", "r.xml", cwd=example,
                   env=env)
    assert ok.returncode == 0, ok.stderr
    doc = json.loads(ok.stdout)  # the document alone on standard output
    Draft202012Validator(validation.load(REPLAY_SCHEMA)).validate(doc)
    assert doc["outcome"] == "REPRODUCED" and doc["started_at"]
    # A rule written when `*` crossed `/` still applies, and says how to spell it now.
    assert {v["path"]: v["rule"] for v in doc["verdicts"]}["out/model.npz"].startswith("allclose")
    assert any("rules[0].match '*.npz' matches out/model.npz only in the old reading" in w and "'**/*.npz'" in w
               for w in doc["warnings"])
    assert "REPRODUCED" in ok.stderr  # the text report moved to standard error
    suite = ET.parse(example / "r.xml").getroot().find("testsuite")
    assert suite.get("name") == "repro replay run.json" and suite.get("hostname") and suite.get("timestamp")
    assert all(c.get("time") for c in suite.iter("testcase"))

    with open(example / "data" / "train.csv", "a") as f:
        f.write("0,0,0,0,1\n")
    refused = repro_cli("replay", "run.json", "--json", "r.json", "--junit", "-", cwd=example, env=env)
    assert refused.returncode == 3
    assert refused.stderr.strip().splitlines()[-1] == \
        "repro: error: input data/train.csv does not match its recorded digest"
    doc = json.loads((example / "r.json").read_text())
    Draft202012Validator(validation.load(REPLAY_SCHEMA)).validate(doc)
    assert doc["outcome"] == "REFUSED" and doc["refusal"]["exit_code"] == 3
    assert "data/train.csv" in doc["refusal"]["reason"] and doc["run_id"]
    suite = ET.fromstring(refused.stdout).find("testsuite")
    assert suite.get("errors") == "1" and suite.get("name") == "repro replay run.json"
    assert "data/train.csv does not match" in suite.find("testcase/error").get("message")


def test_a_bad_report_path_fails_before_anything_runs(example, keys):
    env = _record(example, keys)
    for args, words in ((("--json", "nowhere/r.json"), "does not exist"), (("--junit", "."), "is a directory"),
                        (("--json", "-", "--junit", "-"), "only one document")):
        result = repro_cli("replay", "run.json", *args, cwd=example, env=env)
        assert result.returncode == 2, result.stderr
        assert len(result.stderr.splitlines()) == 1 and words in result.stderr
        assert not (example / ".repro" / "replays").exists()  # nothing replayed


def test_export_to_standard_output_with_dash(example, keys):
    env = _record(example, keys)
    dash = repro_cli("export", "run.json", "--format", "statement", "-o", "-", cwd=example, env=env)
    plain = repro_cli("export", "run.json", "--format", "statement", cwd=example, env=env)
    assert dash.returncode == 0 and dash.stdout == plain.stdout and json.loads(dash.stdout)["_type"]
