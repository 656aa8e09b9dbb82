"""State files: a run that resumes from a checkpoint and rewrites it (torchrun's snapshot.pt).
Undeclared, the replay started from scratch and every output differed with no hint; declared
as an input, the replay was refused because the run changed it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import repro_cli

RESUMES = """import json, os, subprocess, sys
step = 0
if os.path.exists("snapshot.json"):
    with open("snapshot.json") as f:
        step = json.load(f)["step"]
step += 1
text = json.dumps({"step": step})
if os.environ.get("NATIVE_WRITER"):  # written by another program: the hook cannot see it coming
    subprocess.run(["sh", "-c", f"printf '%s' '{text}' > snapshot.json"], check=True)
else:
    with open("snapshot.json", "w") as f:
        f.write(text)
os.makedirs("out", exist_ok=True)
with open("out/result.txt", "w") as f:
    f.write(f"trained to step {step}\\n")
"""


@pytest.fixture
def resumable(example: Path) -> Path:
    (example / "train.py").write_text(RESUMES)
    (example / "repro.yaml").write_text("inputs:\n  - data/\noutputs:\n  - out/\n")
    (example / ".gitignore").write_text("*.json\n*.log\nout/\n")
    subprocess.run(["git", "-C", str(example), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(example), "commit", "-qm", "resumes"], check=True)
    (example / "snapshot.json").write_text('{"step": 5}')
    return example


def cli(project: Path, keys: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return repro_cli(*args, cwd=project, env={"XDG_CONFIG_HOME": str(keys), **(env or {})})


def run(project: Path, keys: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return cli(project, keys, "run", "--seed", "7", "--manifest", "run.json", *args, "--", sys.executable, "train.py",
               env=env)


def entries(project: Path, facet: str) -> dict[str, dict]:
    return {a["path"]: a for a in json.loads((project / "run.json").read_text())["predicate"][facet]}


@pytest.mark.parametrize("declared", ["flag", "config"])
def test_a_declared_state_file_is_restored_before_and_compared_after(resumable, keys, declared):
    if declared == "config":
        (resumable / "repro.yaml").write_text((resumable / "repro.yaml").read_text() + "state:\n  - snapshot.json\n")
        subprocess.run(["git", "-C", str(resumable), "commit", "-qam", "state"], check=True)
    result = run(resumable, keys, *(("--state", "snapshot.json") if declared == "flag" else ()))
    assert result.returncode == 0, result.stderr
    assert "read, then written" not in result.stderr and "changed during the run" not in result.stderr
    before, after = entries(resumable, "inputs")["snapshot.json"], entries(resumable, "outputs")["snapshot.json"]
    assert before["state"] and before["stored"] and before["size"] == len('{"step": 5}')
    assert after["state"] and after["size"] == len('{"step": 6}')
    assert (resumable / "snapshot.json").read_text() == '{"step": 6}'
    replay = cli(resumable, keys, "replay", "run.json", "--json", "r.json")
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "REPRODUCED: 2 outputs (2 identical)" in replay.stdout
    assert (resumable / "snapshot.json").read_text() == '{"step": 6}'  # the user's file is left alone
    shown = [line for line in cli(resumable, keys, "show", "run.json").stdout.splitlines() if "snapshot.json" in line]
    assert len(shown) == 2 and all(line.endswith("  state") for line in shown)


def test_a_declared_input_that_is_also_state_is_state_not_a_changed_input(resumable, keys):
    result = run(resumable, keys, "--input", "data/", "--input", "snapshot.json", "--state", "snapshot.json")
    assert result.returncode == 0, result.stderr
    assert "changed during the run" not in result.stderr
    replay = cli(resumable, keys, "replay", "run.json")
    assert replay.returncode == 0, replay.stdout + replay.stderr


def test_a_file_read_then_written_by_python_is_detected_as_state(resumable, keys):
    result = run(resumable, keys)
    assert result.returncode == 0, result.stderr
    assert "snapshot.json was read, then written: recorded as a state file" in result.stderr
    before = entries(resumable, "inputs")["snapshot.json"]
    assert before["state"] and before["observed"] and before["size"] == len('{"step": 5}')
    assert entries(resumable, "outputs")["snapshot.json"]["state"]
    replay = cli(resumable, keys, "replay", "run.json")
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "REPRODUCED: 2 outputs (2 identical)" in replay.stdout


def test_a_state_file_not_recorded_as_state_is_named_with_the_flag(resumable, keys):
    result = run(resumable, keys, env={"NATIVE_WRITER": "1"})
    assert result.returncode == 0, result.stderr
    assert "snapshot.json was read, then written by the run" in result.stderr
    assert "--state snapshot.json" in result.stderr
    replay = cli(resumable, keys, "replay", "run.json", "--json", "r.json", env={"NATIVE_WRITER": "1"})
    assert replay.returncode == 1, replay.stdout + replay.stderr
    verdicts = {v["path"]: v for v in json.loads((resumable / "r.json").read_text())["verdicts"]}
    assert verdicts["snapshot.json"]["status"] == "differs"
    assert "not recorded as a state file" in verdicts["snapshot.json"]["detail"]
    assert "repro run --state snapshot.json" in replay.stdout


def test_a_state_file_missing_from_the_store_refuses_the_replay(resumable, keys):
    assert run(resumable, keys, "--state", "snapshot.json").returncode == 0
    shutil.rmtree(resumable / ".repro" / "store")
    replay = cli(resumable, keys, "replay", "run.json")
    assert replay.returncode == 3, replay.stdout + replay.stderr
    assert "state file snapshot.json: its content before the run is not in the store" in replay.stderr
    assert "Traceback" not in replay.stderr


def test_a_state_file_outside_the_project_is_refused(resumable, keys, tmp_path):
    result = run(resumable, keys, "--state", str(tmp_path / "elsewhere.json"))
    assert result.returncode == 2 and "state file" in result.stderr and "outside the project root" in result.stderr
