"""Replay verdicts that hold: each case here is one that used to give a wrong or unhelpful
verdict through the real CLI (docs/replay.md, "The four verdicts")."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import repro_cli


def run(project: Path, xdg: Path, *args: str, env: dict | None = None, manifest: str = "run.json",
        command: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    argv = command or (sys.executable, "train.py")
    return repro_cli("run", "--seed", "7", "--manifest", manifest, *args, "--", *argv, cwd=project,
                     env={"XDG_CONFIG_HOME": str(xdg), **(env or {})})


def replay(project: Path, xdg: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return repro_cli("replay", "run.json", *args, cwd=project, env={"XDG_CONFIG_HOME": str(xdg), **(env or {})})


def no_outputs(project: Path) -> None:
    """A project whose result is only what it prints (pytorch/examples' regression)."""
    (project / "repro.yaml").write_text("inputs:\n  - data/\n")


PRINTS = "import numpy as np\nprint('loss', float(np.random.normal()))\n"


def test_stdout_is_the_result_of_a_run_without_output_files(example, keys):
    no_outputs(example)
    (example / "train.py").write_text(PRINTS)
    assert run(example, keys).returncode == 0
    same = replay(example, keys, "--json", "same.json")
    assert same.returncode == 0, same.stdout + same.stderr
    assert "REPRODUCED: the command's stdout (1 identical)" in same.stdout
    assert json.loads((example / "same.json").read_text())["verdicts"][0]["path"] == "stdout"


def test_printed_result_that_differs_is_not_reproduced_and_ignore_rules_apply(example, keys):
    no_outputs(example)
    (example / "train.py").write_text("import os, time\nprint('loss 0.25')\nprint('took', time.time())\n"
                                      "print('flag', os.environ.get('FLAG', 'a'))\n")
    assert run(example, keys).returncode == 0
    differs = replay(example, keys, env={"FLAG": "b"})
    assert differs.returncode == 1, differs.stdout + differs.stderr
    assert "NOT REPRODUCED" in differs.stdout and "stdout" in differs.stdout
    (example / "rules.yaml").write_text("rules:\n  - match: stdout\n    ignore: ['^took ']\n")
    tolerant = replay(example, keys, "--rules", "rules.yaml")
    assert tolerant.returncode == 0, tolerant.stdout + tolerant.stderr
    assert "REPRODUCED" in tolerant.stdout


def test_nothing_compared_is_nothing_verified_with_exit_1(example, keys):
    no_outputs(example)
    (example / "train.py").write_text("import sys\nsys.exit(2)\n")
    assert run(example, keys).returncode == 2
    result = replay(example, keys, "--json", "r.json", "--junit", "r.xml")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "NOTHING VERIFIED" in result.stdout and "REPRODUCED:" not in result.stdout.replace("NOT REPRODUCED", "")
    assert "the recorded run failed with exit 2; the replay failed the same way" in result.stdout
    doc = json.loads((example / "r.json").read_text())
    assert doc["outcome"] == "NOTHING VERIFIED" and doc["reproduced"] is False
    assert doc["exit_note"] == "the recorded run failed with exit 2; the replay failed the same way"
    suite = ET.parse(example / "r.xml").getroot().find("testsuite")
    assert "failed the same way" in suite.find("testcase[@classname='repro.command']/system-out").text
    assert suite.find("testcase[@name='outputs']/failure").get("type") == "nothing_verified"


def test_matched_failure_with_outputs_says_so(example, keys):
    (example / "train.py").write_text("import os\nos.makedirs('out', exist_ok=True)\n"
                                      "open('out/a.txt', 'w').write('a')\nraise SystemExit(2)\n")
    assert run(example, keys).returncode == 2
    result = replay(example, keys)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "REPRODUCED: 1 output (1 identical); the recorded run failed with exit 2; the replay failed the same way" \
        in result.stdout


def test_logs_beside_outputs_are_shown_but_gate_only_when_a_rule_names_them(example, keys):
    (example / "train.py").write_text((example / "train.py").read_text() + "import time\nprint('took', time.time())\n")
    subprocess.run(["git", "-C", str(example), "commit", "-qam", "timing"], check=True)
    assert run(example, keys).returncode == 0
    shown = replay(example, keys)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "stdout (shown, not gating: no rule names it): differs" in shown.stdout
    (example / "rules.yaml").write_text("rules:\n  - match: stdout\n    exact: true\n")
    gated = replay(example, keys, "--rules", "rules.yaml")
    assert gated.returncode == 1 and "NOT REPRODUCED" in gated.stdout


SLOW = "import os, time\nos.makedirs('out', exist_ok=True)\nopen('out/a.txt', 'w').write('a')\n" \
       "print('started', flush=True)\nif os.environ.get('SLOW'):\n    time.sleep(60)\n"


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupted_replay_claims_no_verdict(example, keys, signum, code):
    (example / "train.py").write_text(SLOW)
    assert run(example, keys).returncode == 0
    env = {**os.environ, "XDG_CONFIG_HOME": str(keys), "SLOW": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "repro", "replay", "run.json", "--json", "r.json"], cwd=example,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    line = ""
    while "started" not in line and time.monotonic() < deadline:
        line = proc.stdout.readline()
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, out + err
    assert "interrupted" in err and "REPRODUCED" not in out + err
    assert not (example / "r.json").exists()
    replays = example / ".repro" / "replays"
    assert not replays.exists() or not list(replays.rglob("manifest.json"))


def test_quiet_replay_prints_only_the_report(example, keys):
    assert run(example, keys).returncode == 0
    result = replay(example, keys, "-q")
    assert result.returncode == 0
    assert "epochs 30" not in result.stdout + result.stderr  # the command's own line
    assert "REPRODUCED" in result.stdout and result.stderr == ""


def test_environment_is_restored_and_drift_names_every_variable(example, keys):
    (example / "train.py").write_text("import os\nos.makedirs('out', exist_ok=True)\n"
                                      "open('out/stamp.txt', 'w').write(os.environ.get('SOURCE_DATE_EPOCH', 'now')"
                                      " + os.environ.get('MY_KNOB', '-'))\n")
    (example / "repro.yaml").write_text("inputs:\n  - data/\noutputs:\n  - out/\nenv:\n  - MY_KNOB\n")
    assert run(example, keys, env={"SOURCE_DATE_EPOCH": "0", "MY_KNOB": "3", "OTHER_VAR": "x"}).returncode == 0
    result = replay(example, keys, "--json", "r.json", env={"OTHER_VAR": "y", "ADDED_VAR": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "environment drift: none" not in result.stdout
    drift = {c["key"]: (c["before"], c["after"]) for c in json.loads((example / "r.json").read_text())["drift"]}
    assert drift["OTHER_VAR"] == ("x", "y") and drift["ADDED_VAR"] == (None, "1")
    assert "SOURCE_DATE_EPOCH" not in drift and "MY_KNOB" not in drift and "PWD" not in drift


def test_a_variable_the_run_did_not_have_is_removed_for_the_replay(example, keys):
    (example / "train.py").write_text("import os\nos.makedirs('out', exist_ok=True)\n"
                                      "open('out/tz.txt', 'w').write(os.environ.get('TZ', 'unset'))\n")
    env = dict(os.environ)
    env.pop("TZ", None)
    assert repro_cli("run", "--manifest", "run.json", "--", sys.executable, "train.py", cwd=example,
                     env={"XDG_CONFIG_HOME": str(keys)}).returncode == 0
    result = replay(example, keys, env={"TZ": "Asia/Tokyo"})
    assert result.returncode == 0, result.stdout + result.stderr


def test_unexpected_outputs_anywhere_and_mirrored_names_are_reported(example, keys):
    (example / "train.py").write_text(
        "import os\nn = 2 if os.environ.get('EXTRA') else 0  # a name picked from what the run did not record\n"
        "os.makedirs(f'logs/version_{n}')\nopen(f'logs/version_{n}/metrics.csv', 'w').write('loss\\n0.5\\n')\n"
        "open('extra.txt' if os.environ.get('EXTRA') else 'logs/keep.txt', 'w').write('x')\n"
    )
    (example / "repro.yaml").write_text("inputs:\n  - data/\n")
    (example / ".gitignore").write_text("logs/\nextra.txt\n*.json\n*.log\n")
    subprocess.run(["git", "-C", str(example), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(example), "commit", "-qm", "versioned logs"], check=True)
    assert run(example, keys).returncode == 0
    result = replay(example, keys, "--json", "r.json", env={"EXTRA": "1"})
    assert result.returncode == 1, result.stdout + result.stderr
    verdicts = {v["path"]: v for v in json.loads((example / "r.json").read_text())["verdicts"]}
    assert verdicts["logs/version_0/metrics.csv"]["status"] == "missing"
    assert verdicts["logs/version_2/metrics.csv"]["status"] == "unexpected"
    assert "written to logs/version_2/metrics.csv where the run wrote version_0/metrics.csv" in \
        verdicts["logs/version_2/metrics.csv"]["detail"]
    assert verdicts["extra.txt"]["status"] == "unexpected"
    assert "was not written" not in result.stderr + result.stdout


def test_refused_code_names_the_changed_files(example, keys):
    assert run(example, keys).returncode == 0
    for i in range(12):
        (example / f"mod{i:02d}.py").write_text("x = 1\n")
    subprocess.run(["git", "-C", str(example), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(example), "commit", "-qm", "more modules"], check=True)
    result = replay(example, keys)
    assert result.returncode == 3
    assert "mod00.py" in result.stderr and "mod09.py" in result.stderr and "and 2 more" in result.stderr
    assert "mod11.py" not in result.stderr

    subprocess.run(["git", "-C", str(example), "reset", "-q", "--hard", "HEAD~1"], check=True)
    (example / "train.py").write_text((example / "train.py").read_text() + "\n# edited\n")
    dirty = replay(example, keys)
    assert dirty.returncode == 3 and "train.py" in dirty.stderr, dirty.stderr


def test_replay_progress_says_what_it_compares(example, keys):
    assert run(example, keys).returncode == 0
    result = replay(example, keys)
    assert result.returncode == 0
    assert "observed 0 input(s)" not in result.stderr and "observed" not in result.stderr.split("replaying")[-1]
    assert "2 recorded output file(s) to compare" in result.stderr


NOISY = ("import json, os\nos.makedirs('out', exist_ok=True)\nnoise = float(os.environ.get('NOISE', '0'))\n"
         "json.dump({'loss': 0.25 + noise, 'epochs': 3}, open('out/metrics.json', 'w'))\n"
         "open('out/log.txt', 'w').write('epoch 1\\nloss %r\\n' % (0.25 + noise))\n"
         "open('out/weights.bin', 'wb').write(b'\\x00' * 8 + (b'\\x01' if noise else b'\\x00') + b'\\x00' * 3)\n")


def test_an_exact_difference_is_explained_with_the_rule_that_would_accept_it(example, keys):
    (example / "train.py").write_text(NOISY)
    assert run(example, keys).returncode == 0
    result = replay(example, keys, "--json", "r.json", env={"NOISE": "1e-7"})
    assert result.returncode == 1, result.stdout + result.stderr
    details = {v["path"]: v["detail"] for v in json.loads((example / "r.json").read_text())["verdicts"]}
    assert "1 value differs: $.loss 0.25 != 0.2500001" in details["out/metrics.json"]
    assert 'the rule {match: "out/metrics.json", allclose: {rtol: 5.0e-7, atol: 0.0}} would accept it' \
        in details["out/metrics.json"]
    assert "first differing line 2: 'loss 0.25\\n' != 'loss 0.2500001\\n'" in details["out/log.txt"]
    assert details["out/weights.bin"] == "bytes differ from offset 8"
    assert "$.loss 0.25 != 0.2500001" in result.stdout  # the text report shows the explanation too
    (example / "rules.yaml").write_text('rules:\n  - {match: "out/metrics.json", allclose: {rtol: 5.0e-7, atol: 0.0}}\n')
    accepted = replay(example, keys, "--json", "r2.json", "--rules", "rules.yaml", env={"NOISE": "1e-7"})
    statuses = {v["path"]: v["status"] for v in json.loads((example / "r2.json").read_text())["verdicts"]}
    assert statuses["out/metrics.json"] == "within_tolerance", accepted.stdout


def test_replay_progress_names_inputs_and_state_it_starts_from(example, keys):
    (example / "train.py").write_text("import os\nn = int(open('step.txt').read()) if os.path.exists('step.txt') else 0\n"
                                      "open('step.txt', 'w').write(str(n + 1))\n")
    (example / "step.txt").write_text("4")
    assert run(example, keys, "--state", "step.txt").returncode == 0
    result = replay(example, keys)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 recorded output file(s) to compare, from 1 checked input file(s) and 1 state file(s) restored as they " \
           "were before the run" in result.stderr
    assert "observed 0 input(s)" not in result.stderr
