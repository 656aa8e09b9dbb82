"""Distributed runs on a real Slurm cluster (tests/slurm/provision.sh: two slurmd nodes emulated
on one host, node1 and node2): `repro run -- srun ...` seals one manifest for the job step, a
killed task is recorded as a missing rank, replays go through srun at the recorded shape, and a
shape that cannot be had is refused before anything runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.conftest import repro_cli, slurm_nodes
from tests.e2e.distributed import free_port, project

pytestmark = pytest.mark.slurm


def predicate(path: Path) -> dict:
    return json.loads(path.read_text())["predicate"]


def cli(where: Path, keys: Path, *args: str, env: dict | None = None):
    return repro_cli(*args, cwd=where, env={"XDG_CONFIG_HOME": str(keys), **(env or {})}, timeout=180)


def test_srun_job_is_one_manifest_with_its_ranks_nodes_and_seeding_and_replays(tmp_path, keys):
    two = slurm_nodes() >= 2
    nodes = ["-N", "2"] if two else []
    where = project(tmp_path / "p")
    result = cli(where, keys, "run", "--seed", "11", "--manifest", "run.json", "--", "srun", *nodes, "-n", "2",
                 sys.executable, "ranks.py")
    assert result.returncode == 0, result.stderr
    pred = predicate(where / "run.json")
    dist = pred["distributed"]
    assert dist["launcher"] == "slurm" and dist["world_size"] == 2 and dist["slurm"]["job_id"]
    assert [(r["rank"], r["status"], r["seeded"]) for r in dist["ranks"]] == [
        (0, "ended", [{"lib": "random", "value": 11}]), (1, "ended", [{"lib": "random", "value": 11}])]
    assert [r["files"]["outputs"] for r in dist["ranks"]] == [["out/rank0.txt"], ["out/rank1.txt"]]
    assert {o["path"] for o in pred["outputs"]} == {"out/rank0.txt", "out/rank1.txt"}
    if two:  # each emulated node's hardware was gathered by its own local rank 0
        assert [(n["name"], n["ranks"]) for n in dist["nodes"]] == [("node1", [0]), ("node2", [1])]
        assert all(n["hardware"]["cpu"]["flags"] == pred["hardware"]["cpu"]["flags"] for n in dist["nodes"])
        assert dist["shape"] == {"world_size": 2, "nodes": 2, "tasks_per_node": [1, 1]}

    replay = cli(where, keys, "replay", "run.json", "--json", "r.json")
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "REPRODUCED: 2 outputs (2 identical)" in replay.stdout and "a Slurm job's tasks" in replay.stdout
    replayed = predicate(Path(json.loads((where / "r.json").read_text())["replay_manifest"]))
    assert replayed["distributed"]["shape"] == dist["shape"]
    assert replayed["distributed"]["slurm"]["job_id"] != dist["slurm"]["job_id"]


def test_a_killed_task_is_recorded_as_the_failure_and_the_missing_rank(tmp_path, keys):
    where = project(tmp_path / "p")
    dies = f'[ "$SLURM_PROCID" = 1 ] && kill -9 $$; exec {sys.executable} ranks.py'
    result = cli(where, keys, "run", "--manifest", "run.json", "--", "srun", "-n", "2", "bash", "-c", dies)
    assert result.returncode == 137, result.stderr
    assert "distributed job of world size 2: no records from rank(s) 1" in result.stderr
    pred = predicate(where / "run.json")
    assert pred["command"]["exit_code"] == 137
    assert pred["distributed"]["missing_ranks"] == [1] and [r["rank"] for r in pred["distributed"]["ranks"]] == [0]
    assert any("missing_ranks" in w for w in pred["warnings"])


def test_another_world_size_is_refused_before_running_unless_shape_is_asked_for(tmp_path, keys):
    where = project(tmp_path / "p")
    in_allocation = {"SLURM_NTASKS": "2"}  # as inside `sbatch -n 2`: a bare srun runs two tasks
    result = cli(where, keys, "run", "--manifest", "run.json", "--", "srun", sys.executable, "ranks.py",
                 env=in_allocation)
    assert result.returncode == 0, result.stderr
    assert predicate(where / "run.json")["distributed"]["world_size"] == 2

    refused = cli(where, keys, "replay", "run.json")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "this replay would run 1 node(s) x 1 task(s) (world size 1)" in refused.stderr
    assert "--shape" in refused.stderr and "Traceback" not in refused.stderr
    assert not (where / ".repro" / "replays").exists()  # nothing ran

    assert cli(where, keys, "replay", "run.json", env=in_allocation).returncode == 0

    reshaped = cli(where, keys, "replay", "run.json", "--shape", "1x1")
    assert reshaped.returncode == 1, reshaped.stdout + reshaped.stderr  # one rank: out/rank1.txt is missing
    assert "shape (--shape): 1 node(s) x 2 task(s) (world size 2) -> 1 node(s) x 1 task(s) (world size 1)" \
        in reshaped.stdout


@pytest.mark.torch
def test_ddp_training_under_srun_replays_bit_identically(tmp_path, keys):
    where = project(tmp_path / "p")
    env = {"DDP_PORT": str(free_port())}
    result = cli(where, keys, "run", "--seed", "5", "--manifest", "run.json", "--", "srun", "-n", "2",
                 sys.executable, "train.py", env=env)
    assert result.returncode == 0, result.stderr
    dist = predicate(where / "run.json")["distributed"]
    assert [r["rank"] for r in dist["ranks"]] == [0, 1] and dist["communication"][0]["backend"] == "gloo"
    replay = cli(where, keys, "replay", "run.json", env={"DDP_PORT": str(free_port())})
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "REPRODUCED: 3 outputs (3 identical)" in replay.stdout
