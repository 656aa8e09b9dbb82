"""A 2-rank gloo DDP training under torchrun, end to end: one manifest with both ranks, their
node and seeding, and a replay through torchrun with the same nproc that is bit-identical."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import repro_cli
from tests.e2e.distributed import project as ddp_project, torchrun


@pytest.mark.torch
def test_torchrun_job_records_its_ranks_and_replays_bit_identically(tmp_path, keys):
    project = ddp_project(tmp_path / "ddp")
    env = {"XDG_CONFIG_HOME": str(keys)}
    result = repro_cli("run", "--seed", "5", "--manifest", "run.json", "--", torchrun(), "--standalone",
                       "--nproc_per_node", "2", "train.py", cwd=project, env=env)
    assert result.returncode == 0, result.stderr
    pred = json.loads((project / "run.json").read_text())["predicate"]
    dist = pred["distributed"]
    assert dist["launcher"] == "torchrun" and dist["world_size"] == 2 and dist["missing_ranks"] == []
    assert dist["shape"] == {"world_size": 2, "nodes": 1, "tasks_per_node": [2]}
    assert [(r["rank"], r["local_rank"], r["status"]) for r in dist["ranks"]] == [(0, 0, "ended"), (1, 1, "ended")]
    assert all({"lib": "torch", "value": 5} in r["seeded"] for r in dist["ranks"])
    assert dist["ranks"][1]["files"]["outputs"] == ["out/loss-rank1.txt"]
    (node,) = dist["nodes"]
    assert node["ranks"] == [0, 1] and node["hardware"]["cpu"]["flags"] == pred["hardware"]["cpu"]["flags"]
    assert dist["communication"][0]["backend"] == "gloo" and dist["communication"][0]["ranks"] == 2
    assert "MASTER_ADDR" not in json.dumps(dist) or dist["rendezvous"]["master_addr"]

    replay = repro_cli("replay", "run.json", "--json", "r.json", cwd=project, env=env)
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "REPRODUCED: 3 outputs (3 identical)" in replay.stdout
    replayed = json.loads(Path(json.loads((project / "r.json").read_text())["replay_manifest"]).read_text())
    assert replayed["predicate"]["command"]["argv"][1:4] == ["--standalone", "--nproc_per_node", "2"]
    assert replayed["predicate"]["distributed"]["shape"] == dist["shape"]
