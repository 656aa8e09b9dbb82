"""Rank identity in the injected hook, in a real child interpreter: recorded only where a
launcher's variables are set, with the rendezvous host stripped of credentials, the node's
hardware on local rank 0, and an end record that a killed rank never writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from repro.inject import site_dir
from repro.records import checked


def child(tmp_path: Path, code: str, variables: dict[str, str]) -> tuple[subprocess.CompletedProcess, list[dict]]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("REPRO_", "SLURM", "OMPI_", "PMI_")) and k not in ("RANK", "LOCAL_RANK", "WORLD_SIZE")}
    env.update(PYTHONPATH=str(site_dir()), REPRO_RUN_DIR=str(tmp_path), REPRO_SEED="3", **variables)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=tmp_path)
    events = [json.loads(line) for p in tmp_path.glob("proc-*.jsonl") for line in p.read_text().splitlines()]
    return out, events


def test_no_rank_variables_no_rank_record(tmp_path):
    out, events = child(tmp_path, "pass", {})
    assert out.returncode == 0 and not [e for e in events if e["event"].startswith("rank")]
    assert [p.name for p in tmp_path.glob("proc-*.jsonl")] == [f"proc-{events[0]['pid']}.jsonl"]


def test_a_slurm_task_records_its_identity_hardware_and_end(tmp_path):
    variables = {"SLURM_PROCID": "1", "SLURM_LOCALID": "0", "SLURM_NTASKS": "2", "SLURMD_NODENAME": "node2",
                 "SLURM_JOB_ID": "9", "MASTER_ADDR": "tcp://user:secret@head-node", "MASTER_PORT": "29500"}
    out, events = child(tmp_path, "pass", variables)
    assert out.returncode == 0, out.stderr
    kept, dropped = checked(events)
    assert dropped == 0
    (rank,) = [e for e in kept if e["event"] == "rank"]
    assert rank["variables"]["SLURM_PROCID"] == "1" and rank["master_addr"] == "head-node"
    assert "secret" not in json.dumps(events)
    assert rank["hardware"]["cpu"]["logical_cores"] == os.cpu_count()
    assert [e["error"] for e in kept if e["event"] == "rank_end"] == [None]
    assert all(p.name.startswith("proc-node2-") for p in tmp_path.glob("proc-*.jsonl"))


def test_a_killed_rank_writes_no_end_and_an_uncaught_exception_is_named(tmp_path):
    variables = {"RANK": "1", "LOCAL_RANK": "1", "WORLD_SIZE": "2"}
    killed, events = child(tmp_path, "import os; os.kill(os.getpid(), 9)", variables)
    assert killed.returncode == -9
    assert [e["event"] for e in events if e["event"].startswith("rank")] == ["rank"]
    assert "hardware" not in events[[e["event"] for e in events].index("rank")]  # local rank 1
    for p in tmp_path.glob("proc-*.jsonl"):
        p.unlink()
    _, events = child(tmp_path, "raise KeyError('x')", variables)
    assert [e["error"] for e in events if e["event"] == "rank_end"] == ["KeyError"]
