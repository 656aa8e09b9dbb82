"""Files written outside the project: named at run, never overwritten by a replay (issue: a replay
printed "REPRODUCED: 0 outputs" and the user's file at that path was the model again)."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import repro_cli

SAVES = ("import os, shutil, sys\n"
         "open(sys.argv[1], 'w').write('model')\n"
         "shutil.copy(sys.argv[1], sys.argv[1] + '.bak')\n"
         "fd = os.open(sys.argv[1] + '.raw', os.O_WRONLY | os.O_CREAT, 0o644)\nos.write(fd, b'raw')\nos.close(fd)\n"
         "os.makedirs('out', exist_ok=True)\nopen('out/log.txt', 'w').write('trained')\n"
         "print('saved')\n")


@pytest.fixture
def places(example, keys, tmp_path) -> tuple[Path, dict]:
    """The example saving to a directory outside it; a temporary directory of its own, so the
    outside directory (also under the test's tmp) is not "the temporary directory"."""
    (example / "train.py").write_text(SAVES)
    (example / "repro.yaml").write_text("inputs:\n  - data/\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    return elsewhere, {"XDG_CONFIG_HOME": str(keys), "TMPDIR": str(scratch)}


def run(project: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return repro_cli("run", "--seed", "7", "--manifest", "run.json", *args, "--", sys.executable, "train.py",
                     str(project.parent / "elsewhere" / "model.pt"), cwd=project, env=env)


def test_run_names_files_written_outside_the_project_and_records_them(example, places):
    elsewhere, env = places
    result = run(example, env)
    assert result.returncode == 0, result.stderr
    assert f"the run wrote 3 file(s) outside the project root {example}" in result.stderr
    assert str(elsewhere / "model.pt") in result.stderr and "write them under the project root" in result.stderr
    observed = json.loads((example / "run.json").read_text())["predicate"]["observed"]
    outside = {o["path"]: o for o in observed["outside"]}
    assert set(outside) == {str(elsewhere / n) for n in ("model.pt", "model.pt.bak", "model.pt.raw")}
    assert outside[str(elsewhere / "model.pt")]["size"] == 5 and "xxh3_128" in outside[str(elsewhere / "model.pt")]["digest"]
    assert observed["outputs"] == ["out/log.txt"]  # inside the project: an output as before
    show = repro_cli("show", "run.json", cwd=example, env=env)
    assert show.returncode == 0, show.stderr


def test_an_output_declared_outside_the_project_is_refused_before_the_command_runs(example, places):
    elsewhere, env = places
    result = run(example, env, "--output", str(elsewhere / "model.pt"))
    assert result.returncode == 2, result.stderr
    assert "is outside the project root" in result.stderr and "write it inside the project" in result.stderr
    assert "Traceback" not in result.stderr and "saved" not in result.stdout
    assert not (elsewhere / "model.pt").exists() and not (example / "run.json").exists()


@pytest.mark.parametrize("sandbox", ["copy", pytest.param("bwrap", marks=pytest.mark.bwrap)])
def test_replay_never_overwrites_a_file_outside_its_workspace_and_says_so(example, places, sandbox):
    elsewhere, env = places
    assert run(example, env).returncode == 0
    (elsewhere / "model.pt").write_text("the user's own data")
    result = repro_cli("replay", "run.json", "--sandbox", sandbox, "--json", "r.json", "--junit", "r.xml", cwd=example,
                       env=env)
    assert (elsewhere / "model.pt").read_text() == "the user's own data"
    assert result.returncode == 1, result.stdout + result.stderr
    assert "REPRODUCED:" not in result.stdout.replace("NOT REPRODUCED", "")
    target = str(elsewhere / "model.pt")
    if sandbox == "copy":  # refused by repro's hook, before the write
        assert "PermissionError" in result.stderr and "repro: a replay may not write outside its workspace" in result.stderr
        assert "sandbox     none (" in result.stdout
        assert f"writes outside the workspace refused (by repro's hook, as the replay was not sandboxed): {target}" \
            in result.stdout
    else:  # failed in the sandbox (its /tmp is private, so the directory is not even there), noted by the hook
        assert "sandbox     bwrap at" in result.stdout
        assert f"writes outside the workspace refused (by the sandbox): {target}" in result.stdout
    assert "the recorded run wrote 3 file(s) outside the project" in result.stdout and "not verified" in result.stdout
    doc = json.loads((example / "r.json").read_text())
    assert doc["sandboxed"] is (sandbox == "bwrap") and doc["refused_writes"] == [target]
    props = {p.get("name"): p.get("value") for p in ET.parse(example / "r.xml").getroot().iter("property")}
    assert props["refused_write.0"] == target
    replayed = json.loads(Path(doc["replay_manifest"]).read_text())["predicate"]["observed"]
    assert replayed["refused_writes"] == [target] and "outside" not in replayed


def test_replay_refuses_writes_into_the_original_project(example, keys):
    """An absolute path into the recorded project would overwrite the run's own outputs."""
    (example / "train.py").write_text(f"import os\nos.makedirs('out', exist_ok=True)\nopen('out/a.txt', 'w').write('a')\n"
                                      f"open({str(example / 'out' / 'a.txt')!r}, 'w').write('again')\n")
    env = {"XDG_CONFIG_HOME": str(keys)}
    assert repro_cli("run", "--manifest", "run.json", "--", sys.executable, "train.py", cwd=example, env=env).returncode == 0
    (example / "out" / "a.txt").write_text("kept")
    result = repro_cli("replay", "run.json", "--sandbox", "copy", "--json", "r.json", cwd=example, env=env)
    assert (example / "out" / "a.txt").read_text() == "kept"
    assert json.loads((example / "r.json").read_text())["refused_writes"] == [str(example / "out" / "a.txt")]
    assert result.returncode == 1


@pytest.mark.bwrap
def test_a_sandboxed_run_names_the_writes_the_sandbox_refused_and_claims_none_written(example, places):
    elsewhere, env = places
    (elsewhere / "model.pt").write_text("the user's own data")
    result = run(example, env, "--sandbox")
    assert result.returncode == 1, result.stderr
    assert (elsewhere / "model.pt").read_text() == "the user's own data"
    assert f"the sandbox refused 1 write(s) outside the project: {elsewhere / 'model.pt'}" in result.stderr
    observed = json.loads((example / "run.json").read_text())["predicate"]["observed"]
    assert observed["refused_writes"] == [str(elsewhere / "model.pt")] and "outside" not in observed
