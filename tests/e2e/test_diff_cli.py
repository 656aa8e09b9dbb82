"""`repro diff` end to end: the real CLI in a subprocess on manifests of real runs of the example."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from jsonschema import Draft202012Validator

from repro.evidence import validation
from repro.report.json import DIFF_SCHEMA
from tests.conftest import repro_cli


def record(example: Path, xdg: Path, seed: int, manifest: str) -> Path:
    result = repro_cli("run", "-q", "--seed", str(seed), "--manifest", manifest, "--", sys.executable, "train.py",
                       cwd=example, env={"XDG_CONFIG_HOME": str(xdg)})
    assert result.returncode == 0, result.stderr
    return example / manifest


def test_runs_with_different_seeds_differ_in_seed_and_outputs(example, keys):
    record(example, keys, 7, "a.json")
    record(example, keys, 8, "b.json")
    result = repro_cli("diff", "a.json", "b.json", cwd=example)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert "[seeds]" in lines and "- seed: 7" in lines and "+ seed: 8" in lines
    assert "[outputs]" in lines and any(line.startswith("- out/model.npz: ") for line in lines)
    assert "[code]" not in lines  # the run's own manifests and logs are not code

    as_json = repro_cli("diff", "--json", "a.json", "b.json", cwd=example)
    assert as_json.returncode == 1, as_json.stderr
    doc = json.loads(as_json.stdout)
    Draft202012Validator(validation.load(DIFF_SCHEMA)).validate(doc)
    assert doc["identical"] is False
    assert {"facet": "seeds", "key": "seed", "before": 7, "after": 8} in doc["changes"]


def test_a_manifest_against_itself_has_no_differences(example, keys):
    record(example, keys, 7, "a.json")
    result = repro_cli("diff", "a.json", "a.json", cwd=example)
    assert result.returncode == 0, result.stderr
    assert "no differences" in result.stdout
    doc = json.loads(repro_cli("diff", "--json", "a.json", "a.json", cwd=example).stdout)
    Draft202012Validator(validation.load(DIFF_SCHEMA)).validate(doc)
    assert doc["identical"] is True and doc["changes"] == []
    quiet = repro_cli("diff", "-q", "a.json", "a.json", cwd=example)
    assert quiet.returncode == 0 and quiet.stdout == ""


def test_a_changed_package_version_is_named_with_both_versions(example, keys):
    manifest = record(example, keys, 7, "a.json")
    data = json.loads(manifest.read_text())
    numpy = next(d for d in data["predicate"]["deps"]["distributions"] if d["name"].lower() == "numpy")
    recorded, numpy["version"] = numpy["version"], "0.0.1"
    (example / "edited.json").write_text(json.dumps(data, indent=2))  # the signature no longer matches: diff does not care
    result = repro_cli("diff", "a.json", "edited.json", cwd=example)
    assert result.returncode == 1, result.stderr
    assert f"- {numpy['name']}: {recorded}" in result.stdout.splitlines()
    assert f"+ {numpy['name']}: 0.0.1" in result.stdout.splitlines()


def test_an_invalid_manifest_exits_2(example, keys):
    record(example, keys, 7, "a.json")
    (example / "broken.json").write_text('{"_type": "not a statement"}')
    result = repro_cli("diff", "a.json", "broken.json", cwd=example)
    assert result.returncode == 2
    assert "broken.json" in result.stderr and result.stdout == ""
    assert repro_cli("diff", "a.json", "absent.json", cwd=example).returncode == 2
