"""The hook's evidence of nondeterministic code, from a real program run under it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from repro import nondeterminism
from repro.inject import site_dir

PROGRAM = """\
import os, random, secrets, time
random.seed(time.time())
random.seed(os.getpid())
token = secrets.token_hex(4)
with open("/dev/urandom", "rb") as f:
    f.read(2)
words = {"a", "b"}
joined = ",".join(words)
ordered = ",".join(sorted(words))
print(os.listdir("d"))
"""


def run(tmp_path: Path, **env: str) -> tuple[list[dict], str]:
    (tmp_path / "main.py").write_text(PROGRAM)
    (tmp_path / "d").mkdir()
    for name in "abc":
        (tmp_path / "d" / name).touch()
    run_dir = tmp_path / "records"
    run_dir.mkdir()
    done = subprocess.run([sys.executable, "main.py"], cwd=tmp_path, capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(site_dir()), "REPRO_RUN_DIR": str(run_dir),
                               "REPRO_PROJECT_ROOT": str(tmp_path), "REPRO_SEED": "3", **env})
    events = [json.loads(line) for p in run_dir.glob("proc-*.jsonl") for line in p.read_text().splitlines()]
    return events, done.stdout


def test_clock_and_pid_seeds_entropy_and_set_iteration_are_named_at_their_lines(tmp_path):
    events, _ = run(tmp_path)
    found = nondeterminism.section(events, str(tmp_path))
    assert found["derived_seeds"] == [{"call": "random.seed", "site": "main.py:2", "from": "clock"},
                                      {"call": "random.seed", "site": "main.py:3", "from": "pid"}]
    assert [(e["call"], e["site"]) for e in found["entropy"]] == [("secrets", "main.py:4"),
                                                                ("open(/dev/urandom)", "main.py:5")]
    assert found["set_order"] == ["main.py:8"]  # not the sorted one on line 9
    assert found["torch"] is None


def test_listings_come_in_reverse_when_a_replay_asks():
    import tempfile

    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        _, plain = run(Path(a))
        _, reversed_ = run(Path(b), REPRO_VARY_LISTING="reverse")
    assert eval(reversed_) == eval(plain)[::-1]


@pytest.mark.torch
def test_torchs_switches_are_recorded_as_they_were_at_exit(tmp_path):
    (tmp_path / "main.py").write_text("import torch\ntorch.use_deterministic_algorithms(True)\n")
    run_dir = tmp_path / "records"
    run_dir.mkdir()
    subprocess.run([sys.executable, "main.py"], cwd=tmp_path, check=True, capture_output=True,
                   env={**os.environ, "PYTHONPATH": str(site_dir()), "REPRO_RUN_DIR": str(run_dir),
                        "REPRO_PROJECT_ROOT": str(tmp_path), "REPRO_SEED": "3"})
    events = [json.loads(line) for p in run_dir.glob("proc-*.jsonl") for line in p.read_text().splitlines()]
    flags = nondeterminism.section(events, str(tmp_path))["torch"]
    assert flags["deterministic_algorithms"] is True and flags["cudnn_benchmark"] is False
    assert isinstance(flags["float32_matmul_precision"], str)
    assert nondeterminism.evidence({"observed": {"nondeterminism": {"torch": {**flags, "deterministic_algorithms": False}}}})[0].detail == (
        "torch at the end of the run: torch.use_deterministic_algorithms was off")
