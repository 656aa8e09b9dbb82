"""Replays of small real framework runs through the CLI: Lightning's next-free-name log
directories, a Transformers `Trainer` with checkpoints compared tensor by tensor, a notebook
executed by nbconvert, and a safetensors file with last-bit noise."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import repro_cli
from tests.examples import make_example

FRAMEWORKS = Path(__file__).parent / "frameworks"


def commit_all(project: Path) -> None:
    git = ["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "add", "-A"], check=True, capture_output=True)
    subprocess.run([*git, "commit", "-qm", "project"], check=True, capture_output=True)


def new_project(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(project)], check=True)
    for name, content in files.items():
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    commit_all(project)
    return project


def has_row(report: str, status: str, path: str) -> bool:
    """The text report's table row for `path`, whatever the column widths."""
    return re.search(rf"^{re.escape(status)}\s+{re.escape(path)}\s", report, re.MULTILINE) is not None


def run_ok(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    result = repro_cli(*args, cwd=cwd)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


NEXT_FREE = '''
import os
os.makedirs("runs", exist_ok=True)
n = len([d for d in os.listdir("runs") if d.startswith("version_")])
os.makedirs(f"runs/version_{n}")
with open(f"runs/version_{n}/result.txt", "w") as f:
    f.write(f"run number {n}\\n")
'''


def test_a_program_that_picks_the_next_free_name_replays_into_the_same_name(keys, tmp_path) -> None:
    project = new_project(tmp_path, {"train.py": NEXT_FREE, ".gitignore": ".repro/\n/run*\n"})
    for i in (1, 2, 3):
        run_ok("run", "--manifest", f"run{i}.json", "--", sys.executable, "train.py", cwd=project)
    recorded = json.loads((project / "run3.json").read_text())["predicate"]["observed"]
    assert recorded["listed_entries"] == {"runs": ["version_0/", "version_1/"]}
    for i in (1, 3):
        result = run_ok("replay", f"run{i}.json", cwd=project)
        assert has_row(result.stdout, "identical", f"runs/version_{i - 1}/result.txt")
        assert "unexpected" not in result.stdout
        assert "REPRODUCED: 1 output" in result.stdout


@pytest.mark.torch("lightning")
def test_lightning_runs_replay_the_first_and_the_third(keys, tmp_path) -> None:
    project = make_example(tmp_path / "lightning", "lightning")
    for i in (1, 2, 3):
        run_ok("run", "--manifest", f"run{i}.json", "--", sys.executable, "train.py", cwd=project)
    assert sorted(p.name for p in (project / "lightning_logs").iterdir()) == ["version_0", "version_1", "version_2"]
    for i in (1, 3):
        result = run_ok("replay", f"run{i}.json", cwd=project)
        version = f"lightning_logs/version_{i - 1}"
        assert has_row(result.stdout, "identical", f"{version}/checkpoints/epoch=1-step=16.ckpt")
        assert has_row(result.stdout, "identical", f"{version}/metrics.csv")
        assert "REPRODUCED: 3 outputs (3 identical)" in result.stdout
    # The later runs' outputs were never taken for code: the tree of run 3 is the committed one.
    code = json.loads((project / "run3.json").read_text())["predicate"]["code"]
    assert code["dirty"] is False and code["untracked_sources"] == []


TRAINER_RULES = """\
verify:
  rules:
    - match: "out/*.safetensors"
      ulp: 1
    - match: "out/*.json"
      paths:
        "eval_runtime": ignore
        "eval_samples_per_second": ignore
        "eval_steps_per_second": ignore
        "log_history[*].eval_runtime": ignore
        "log_history[*].eval_samples_per_second": ignore
        "log_history[*].eval_steps_per_second": ignore
"""


@pytest.mark.torch("transformers", "accelerate")
def test_a_transformers_trainer_run_with_tensors_compared_and_timings_ignored_by_path(keys, tmp_path) -> None:
    project = new_project(tmp_path, {"train.py": (FRAMEWORKS / "hf_trainer.py").read_text(),
                                     "repro.yaml": TRAINER_RULES, ".gitignore": "out/\n.repro/\n/run*\n"})
    run_ok("run", "--manifest", "run.json", "--output", "out", "--", sys.executable, "train.py", cwd=project)
    result = run_ok("replay", "run.json", "--json", "report.json", cwd=project)
    report = json.loads((project / "report.json").read_text())
    by_path = {o["path"]: o for o in report["verdicts"]}
    weights = by_path["out/checkpoint-8/model.safetensors"]
    assert weights["status"] in ("identical", "within_tolerance") and weights["rule"].startswith("ulp")
    for name in ("out/eval.json", "out/checkpoint-8/trainer_state.json"):
        assert by_path[name]["status"] in ("identical", "within_tolerance"), by_path[name]
    assert "REPRODUCED" in result.stdout


NOTEBOOK = {
    "cells": [
        {"cell_type": "code", "execution_count": None, "id": "c1", "metadata": {}, "outputs": [], "source": [
            "import json\n", "import numpy as np\n",
            "rng = np.random.default_rng(3)\n",
            "w = rng.normal(size=4)\n",
            "json.dump({'w': [round(float(x), 12) for x in w]}, open('weights.json', 'w'))\n",
            "print(w.sum())\n"]},
    ],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    "nbformat": 4, "nbformat_minor": 5,
}


@pytest.mark.notebook
def test_a_notebook_executed_by_nbconvert_twice_then_replayed(keys, tmp_path) -> None:
    # nbconvert stamps each executed cell with its times: the rule leaves those values out.
    rules = 'verify:\n  rules:\n    - match: "*.ipynb"\n      paths: {"cells[*].metadata.execution": ignore}\n'
    project = new_project(tmp_path, {"train.ipynb": json.dumps(NOTEBOOK), "repro.yaml": rules,
                                     ".gitignore": ".repro/\n/run*\n"})
    command = [sys.executable, "-m", "nbconvert", "--to", "notebook", "--execute", "train.ipynb",
               "--output", "executed.ipynb"]
    run_ok("run", "--manifest", "run1.json", "--output", "weights.json", "--", *command, cwd=project)
    run_ok("run", "--manifest", "run2.json", "--output", "weights.json", "--", *command, cwd=project)
    code = json.loads((project / "run2.json").read_text())["predicate"]["code"]
    assert "executed.ipynb" not in code["untracked_sources"] and code["dirty"] is False
    run_ok("run", "--manifest", "run3.json", "--output", "weights.json", "--", *command, cwd=project)
    result = run_ok("replay", "run2.json", cwd=project)
    assert has_row(result.stdout, "identical", "weights.json")
    assert has_row(result.stdout, "within tolerance", "executed.ipynb")
    assert "REPRODUCED: 2 outputs" in result.stdout


SAFETENSORS_NOISE = """
import json, os, struct
import numpy as np
w = np.linspace(-1, 1, 1000, dtype=np.float32)
if os.environ.get("LAST_BIT_NOISE"):
    w = np.nextafter(w, np.float32(np.inf))
header = json.dumps({"w": {"dtype": "F32", "shape": [1000], "data_offsets": [0, w.nbytes]}}).encode()
with open("model.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(header)) + header + w.tobytes())
"""


def test_a_safetensors_file_with_one_ulp_noise_is_accepted_by_ulp_1_and_refused_exact(keys, tmp_path) -> None:
    project = new_project(tmp_path, {"train.py": SAFETENSORS_NOISE, ".gitignore": ".repro/\n/run*\n"})
    run_ok("run", "--manifest", "run.json", "--output", "model.safetensors", "--", sys.executable, "train.py",
           cwd=project)
    # Another machine's last bits, simulated by a variable the replay does not restore.
    noisy = {"LAST_BIT_NOISE": "1"}
    exact = repro_cli("replay", "run.json", cwd=project, env=noisy)
    assert exact.returncode == 1, exact.stdout + exact.stderr
    assert has_row(exact.stdout, "differs", "model.safetensors")
    (tmp_path / "rules.yaml").write_text('rules:\n  - match: "*.safetensors"\n    ulp: 1\n')
    tolerant = repro_cli("replay", "run.json", "--rules", str(tmp_path / "rules.yaml"), cwd=project, env=noisy)
    assert tolerant.returncode == 0, tolerant.stdout + tolerant.stderr
    assert has_row(tolerant.stdout, "within tolerance", "model.safetensors")
    assert "REPRODUCED: 1 output" in tolerant.stdout
