"""The fan-out's bounded waits and Slurm failures as verdicts, with a stand-in for the Slurm
commands (the real cluster runs in tests/e2e/test_slurm_cli.py): a job stuck in the queue is
cancelled at the deadline, a node failure and a missing controller are per-replay verdicts."""

from __future__ import annotations

import subprocess
from pathlib import Path

from repro.replay import slurm
from repro.replay.slurm import FanoutOptions


class FakeSlurm:
    def __init__(self, state: str = "RUNNING", sinfo_rc: int = 0) -> None:
        self.state = state
        self.sinfo_rc = sinfo_rc
        self.calls: list[list[str]] = []

    def __call__(self, argv, **kwargs):
        self.calls.append(list(argv))
        out = {"sinfo": "node1 idle\n", "sbatch": "41\n", "squeue": f"41 {self.state} None\n", "scancel": ""}[argv[0]]
        rc = self.sinfo_rc if argv[0] == "sinfo" else 0
        return subprocess.CompletedProcess(argv, rc, out if rc == 0 else "", "" if rc == 0 else "Unable to contact")


def unsigned_manifest(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setattr(slurm, "precheck", lambda m, o: ({"command": {"argv": ["python", "t.py"], "duration_s": 1}},
                                                         None))
    return tmp_path / "run.json"


def test_a_job_that_never_finishes_is_cancelled_at_the_deadline(tmp_path, monkeypatch):
    fake = FakeSlurm()
    opts = FanoutOptions((unsigned_manifest(tmp_path, monkeypatch),), tmp_path, timeout_s=0.3, poll_s=0.05)
    report = slurm.fan_out(opts, say=lambda m: None, run=fake, fanout_id="t")
    (r,) = report.replays
    assert r.verdict == slurm.TIMED_OUT and "job 41 cancelled" in r.detail
    assert ["scancel", "41"] in fake.calls and not report.all_reproduced
    assert (tmp_path / ".repro" / "fanout" / "t" / "0" / "job.sh").read_text().startswith("#!/bin/sh\n")


def test_a_node_failure_is_the_replays_verdict(tmp_path, monkeypatch):
    opts = FanoutOptions((unsigned_manifest(tmp_path, monkeypatch),), tmp_path, timeout_s=5, poll_s=0.05)
    (r,) = slurm.fan_out(opts, say=lambda m: None, run=FakeSlurm("NODE_FAIL"), fanout_id="t").replays
    assert r.verdict == slurm.SLURM_ERROR and r.detail == "job 41 NODE_FAIL"


def test_no_controller_is_a_verdict_for_every_replay_not_a_hang(tmp_path, monkeypatch):
    opts = FanoutOptions((unsigned_manifest(tmp_path, monkeypatch),) * 2, tmp_path, timeout_s=5, poll_s=0.05)
    report = slurm.fan_out(opts, say=lambda m: None, run=FakeSlurm(sinfo_rc=1), fanout_id="t")
    assert [r.verdict for r in report.replays] == [slurm.SLURM_ERROR] * 2
    assert "no Slurm controller answers: Unable to contact" in report.replays[0].detail
    assert "NOT ALL REPRODUCED: 0 of 2" in slurm.render(report)


def test_resources_follow_the_recorded_shape():
    def pred(launcher, world, nodes, per, layers=None, argv=("srun",)):
        return {"command": {"argv": list(argv)}, "distributed": {
            "launcher": launcher, "layers": layers or [launcher],
            "shape": {"world_size": world, "nodes": nodes, "tasks_per_node": per}}}

    assert slurm.resources(pred("slurm", 4, 2, [2, 2])) == ["--nodes", "2", "--ntasks", "4", "--ntasks-per-node", "2"]
    assert slurm.resources(pred("torchrun", 2, 1, [2], argv=("torchrun",))) == [
        "--nodes", "1", "--ntasks", "1", "--cpus-per-task", "2"]
    assert slurm.resources({"command": {"argv": ["python"]}}) == ["--nodes", "1", "--ntasks", "1"]


def test_several_manifests_without_slurm_is_a_usage_error(tmp_path):
    from tests.conftest import repro_cli

    result = repro_cli("replay", "a.json", "b.json", cwd=tmp_path)
    assert result.returncode == 2 and "fan them out with --slurm" in result.stderr and "Traceback" not in result.stderr
    assert repro_cli("replay", cwd=tmp_path).returncode == 2
