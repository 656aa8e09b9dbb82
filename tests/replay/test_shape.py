"""Replay at the recorded shape: what a launcher's command line would start here, the refusal
when that is not the recorded shape, and the `--shape` rewrite. Pure, no cluster needed."""

from __future__ import annotations

import pytest

from repro.errors import UsageError
from repro.replay import shape
from repro.replay.shape import Shape


def pred(world: int, nodes: int, per: list[int], launcher: str = "slurm") -> dict:
    return {"distributed": {"launcher": launcher, "shape": {"world_size": world, "nodes": nodes, "tasks_per_node": per}}}


@pytest.mark.parametrize("argv, env, want", [
    (["srun", "-n", "2", "python", "t.py"], {}, Shape(1, 2, 2)),
    (["srun", "-N", "2", "--ntasks-per-node", "2", "python", "-n", "9"], {}, Shape(2, 2, 4)),
    (["srun", "--nodes=2", "-n2", "python"], {}, Shape(2, 1, 2)),
    (["srun", "python", "t.py"], {"SLURM_NTASKS": "4", "SLURM_JOB_NUM_NODES": "2"}, Shape(2, 2, 4)),
    (["srun", "python", "t.py"], {}, Shape(1, 1, 1)),
    (["srun", "-n", "1", "-c", "2", "torchrun", "--standalone", "--nproc_per_node", "2", "t.py"], {}, Shape(1, 2, 2)),
    (["torchrun", "--standalone", "--nproc-per-node=3", "t.py"], {}, Shape(1, 3, 3)),
    (["python3", "-m", "torch.distributed.run", "--nnodes", "1:2", "--nproc_per_node", "2", "t.py"], {},
     Shape(2, 2, 4)),
])
def test_requested_shapes(argv, env, want):
    assert shape.requested(argv, env)[1] == want


def test_another_world_size_is_refused_with_the_way_out():
    with pytest.raises(UsageError, match=r"ran 1 node\(s\) x 2 task\(s\) \(world size 2\); this replay would run "
                                         r"1 node\(s\) x 1 task\(s\) \(world size 1\).*allocation.*--shape"):
        shape.check(pred(2, 1, [2]), ["srun", "python", "t.py"], {}, which=lambda n: "/usr/bin/srun", nodes=lambda: 2)
    shape.check(pred(2, 1, [2]), ["srun", "python", "t.py"], {"SLURM_NTASKS": "2"}, which=lambda n: "/x",
                nodes=lambda: 2)


def test_slurm_without_srun_or_with_fewer_nodes_is_refused():
    with pytest.raises(UsageError, match="ran under Slurm .* there is no srun here"):
        shape.check(pred(2, 2, [1, 1]), ["srun", "-N", "2", "-n", "2", "p"], {}, which=lambda n: None, nodes=lambda: 2)
    with pytest.raises(UsageError, match=r"ran on 2 node\(s\); this Slurm cluster has 1 usable node"):
        shape.check(pred(2, 2, [1, 1]), ["srun", "-N", "2", "-n", "2", "p"], {}, which=lambda n: "/x", nodes=lambda: 1)


def test_a_run_without_a_launcher_has_no_shape_to_check():
    shape.check({}, ["python", "t.py"], {}, which=lambda n: None, nodes=lambda: 0)


def test_override_rewrites_the_launchers_options():
    assert shape.override(["srun", "-N", "2", "-n", "4", "-c", "1", "python", "-n", "x"], Shape(1, 2, 2)) == [
        "srun", "--nodes", "1", "--ntasks-per-node", "2", "--ntasks", "2", "-c", "1", "python", "-n", "x"]
    assert shape.override(["torchrun", "--standalone", "--nproc_per_node", "2", "t.py", "--nnodes", "5"],
                          Shape(1, 1, 1)) == ["torchrun", "--nnodes", "1", "--nproc-per-node", "1", "--standalone",
                                              "t.py", "--nnodes", "5"]
    with pytest.raises(UsageError, match="no launcher"):
        shape.override(["python", "t.py"], Shape(1, 1, 1))


@pytest.mark.parametrize("text", ["2", "0x1", "ax2", ""])
def test_bad_override_text(text):
    with pytest.raises(UsageError, match="NODESxTASKS"):
        shape.parse_override(text)
