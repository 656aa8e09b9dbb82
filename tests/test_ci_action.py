"""The composite GitHub Action: parsed as GitHub would read it, and its shell steps run here
against real recorded runs of the example (the `uses:` steps are GitHub's own actions)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, repro_cli

ACTION = REPO / ".github" / "actions" / "replay" / "action.yml"
CLOCK = "import os, time; os.makedirs('out', exist_ok=True); open('out/t.txt', 'w').write(repr(time.time()))"


def _action() -> dict:
    return yaml.safe_load(ACTION.read_text())


def _expand(value: str, inputs: dict[str, str]) -> str:
    def one(match: re.Match) -> str:
        expr = match.group(1).strip()
        if expr == "github.action_path":
            return str(ACTION.parent)
        assert expr.startswith("inputs."), f"unexpected expression {expr}"
        return inputs[expr[len("inputs."):]]

    return re.sub(r"\$\{\{(.*?)\}\}", one, value)


def _run_steps(inputs: dict[str, str], cwd: Path, env: dict[str, str]) -> list[subprocess.CompletedProcess]:
    action = _action()
    values = {k: v.get("default", "") for k, v in action["inputs"].items()} | inputs
    results = []
    for step in action["runs"]["steps"]:
        if "run" not in step:
            continue
        assert step["shell"] == "bash"
        assert "${{" not in step["run"], "inputs reach scripts through env:, never pasted into the script"
        step_env = env | {k: _expand(str(v), values) for k, v in step.get("env", {}).items()}
        results.append(subprocess.run(["bash", "-c", step["run"]], cwd=cwd, env=step_env, capture_output=True,
                                      text=True, timeout=600))
        if results[-1].returncode != 0:
            break
    return results


def test_the_action_is_a_composite_with_the_documented_inputs():
    action = _action()
    assert action["runs"]["using"] == "composite"
    assert {"manifests", "pubkey", "rules", "reports"} <= set(action["inputs"])
    assert [s["if"] for s in action["runs"]["steps"] if "upload-artifact" in s.get("uses", "")] == ["always()"]


@pytest.mark.slow
def test_its_shell_steps_install_replay_and_fail_the_job(example, keys, tmp_path):
    env_keys = {"XDG_CONFIG_HOME": str(keys)}
    assert repro_cli("run", "--manifest", "good.json", "--", sys.executable, "train.py", cwd=example,
                     env=env_keys).returncode == 0
    assert repro_cli("run", "--output", "out/t.txt", "--manifest", "clock.json", "--", sys.executable, "-c", CLOCK,
                     cwd=example, env=env_keys).returncode == 0
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    env = dict(os.environ) | env_keys | {"PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
                                         "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    env.pop("PYTHONPATH", None)
    pubkey = keys / "repro" / "signing-key.pub.pem"

    install, replay = _run_steps({"manifests": "good.json", "pubkey": str(pubkey)}, example, env)
    assert install.returncode == 0, install.stderr
    assert (venv / "bin" / "repro").exists() and "repro" in install.stdout
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert (example / "repro-reports" / "good.json").is_file() and (example / "repro-reports" / "good.xml").is_file()
    assert "| good.json | 0 | REPRODUCED" in (tmp_path / "summary.md").read_text()

    _, replay = _run_steps({"manifests": "good.json\nclock.json", "pubkey": str(pubkey)}, example, env)
    assert replay.returncode == 1
    assert "| clock.json | 1 | NOT REPRODUCED" in replay.stdout
    assert (example / "repro-reports" / "clock.xml").is_file()
