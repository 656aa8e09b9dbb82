"""The `distributed` section from the records of a job's ranks: pure functions on records."""

from __future__ import annotations

import re
from pathlib import Path

from repro.capture import distributed
from repro.capture.hardware import NUMERIC_FLAGS
from repro.records import checked

ROOT = Path("/project")
HARDWARE = {"cpu": {"model": "EPYC", "vendor": "AuthenticAMD", "flags": ["avx2"], "architecture": "x86_64",
                    "logical_cores": 2}, "memory_bytes": 1 << 30, "gpus": []}


def slurm_rank(pid: int, rank: int, node: str, local: int, *, ntasks: int = 4, nnodes: int = 2, ended: bool = True,
               hardware: bool = True) -> list[dict]:
    variables = {"SLURM_JOB_ID": "12", "SLURM_STEP_ID": "0", "SLURM_PROCID": str(rank), "SLURM_LOCALID": str(local),
                 "SLURM_NODEID": "0", "SLURM_NNODES": str(nnodes), "SLURM_NTASKS": str(ntasks),
                 "SLURMD_NODENAME": node}
    events = [{"event": "start", "pid": pid, "ppid": 1, "root": str(ROOT), "observing": True},
              {"event": "rank", "pid": pid, "host": "h", "variables": variables,
               **({"hardware": HARDWARE} if hardware and local == 0 else {})},
              {"event": "seeded", "pid": pid, "lib": "torch", "value": 7},
              {"event": "observed", "pid": pid, "files": {"w": [f"/project/out/rank{rank}.txt"]}}]
    if ended:
        events.append({"event": "rank_end", "pid": pid, "error": None})
    return events


def always_a_file(rel: str) -> bool:
    return True


def section(events: list[dict], argv=("srun", "-N", "2", "python", "train.py")) -> dict:
    kept, dropped = checked(events)
    assert dropped == 0
    return distributed.section(kept, argv, ROOT, is_file=always_a_file)


def test_no_rank_variables_no_section():
    assert distributed.section([{"event": "start", "pid": 3, "ppid": 1}], ["python", "t.py"], ROOT) is None


def test_two_nodes_two_ranks_each_with_per_rank_seeding_and_files():
    events = [e for pid, rank, node, local in ((10, 0, "node1", 0), (11, 1, "node1", 1), (20, 2, "node2", 0),
                                               (21, 3, "node2", 1)) for e in slurm_rank(pid, rank, node, local)]
    dist = section(events)
    assert dist["launcher"] == "slurm" and dist["layers"] == ["slurm"] and dist["world_size"] == 4
    assert dist["shape"] == {"world_size": 4, "nodes": 2, "tasks_per_node": [2, 2]}
    assert [(n["name"], n["ranks"], n["hardware"] is not None) for n in dist["nodes"]] == [
        ("node1", [0, 1], True), ("node2", [2, 3], True)]
    assert [r["seeded"] for r in dist["ranks"]] == [[{"lib": "torch", "value": 7}]] * 4
    assert dist["ranks"][3]["files"]["outputs"] == ["out/rank3.txt"]
    assert dist["missing_ranks"] == [] and dist["failed_ranks"] == [] and distributed.warnings(dist) == []
    assert dist["slurm"] == {"job_id": "12", "step_id": "0"}


def test_a_rank_that_never_reported_is_named_missing_and_warned():
    events = [e for pid, rank, node, local in ((10, 0, "node1", 0), (11, 1, "node1", 1), (20, 2, "node2", 0))
              for e in slurm_rank(pid, rank, node, local)]
    dist = section(events)
    assert dist["world_size"] == 4 and dist["missing_ranks"] == [3] and dist["shape"]["tasks_per_node"] == [2, 1]
    (warning,) = distributed.warnings(dist)
    assert "world size 4: no records from rank(s) 3" in warning


def test_a_rank_that_did_not_end_is_failed():
    events = slurm_rank(10, 0, "n", 0, ntasks=2, nnodes=1) + slurm_rank(11, 1, "n", 1, ntasks=2, nnodes=1, ended=False)
    dist = section(events)
    assert dist["failed_ranks"] == [1] and dist["ranks"][1]["status"] == "failed"
    assert "did not end normally" in distributed.warnings(dist)[0]


def test_torchrun_inside_srun_ranks_are_torch_ranks_and_the_agent_is_counted():
    agent = slurm_rank(5, 0, "n", 0, ntasks=1, nnodes=1)
    ranks = []
    for pid, rank in ((6, 0), (7, 1)):
        events = slurm_rank(pid, 0, "n", 0, ntasks=1, nnodes=1)
        events[1]["variables"].update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2", LOCAL_WORLD_SIZE="2",
                                      TORCHELASTIC_RUN_ID="abc")
        ranks += events
    for e in ranks:
        if e["event"] == "start":
            e["ppid"] = 5
    dist = section(agent + ranks, argv=("srun", "-n", "1", "torchrun", "--nproc_per_node", "2", "t.py"))
    assert dist["launcher"] == "slurm" and dist["layers"] == ["slurm", "torchrun"]
    assert [r["rank"] for r in dist["ranks"]] == [0, 1] and dist["agents"] == 1 and dist["world_size"] == 2
    assert dist["torchrun"] == {"run_id": "abc"}


def test_launcher_of_command_lines():
    assert distributed.launcher_of(["/usr/bin/srun", "-n", "2", "python"]) == "slurm"
    assert distributed.launcher_of(["torchrun", "--standalone"]) == "torchrun"
    assert distributed.launcher_of(["python3", "-m", "torch.distributed.run", "t.py"]) == "torchrun"
    assert distributed.launcher_of(["mpirun", "-np", "2"]) == "mpi"
    assert distributed.launcher_of(["python", "t.py"]) is None


def test_malformed_rank_records_are_dropped():
    kept, dropped = checked([{"event": "rank", "pid": 1, "host": "h", "variables": {"RANK": 0}},
                             {"event": "rank", "pid": 1, "host": "h", "variables": {}, "hardware": {"cpu": 1}}])
    assert kept == [] and dropped == 2


def test_the_hook_keeps_the_same_numeric_flags_as_the_hardware_facet():
    text = (Path(distributed.__file__).parents[1] / "inject" / "site" / "sitecustomize.py").read_text()
    block = re.search(r"_NUMERIC_FLAGS = \((.*?)\)\n", text, re.S).group(1)
    assert tuple(re.findall(r'"([^"]+)"', block)) == NUMERIC_FLAGS
