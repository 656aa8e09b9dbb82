"""What repro costs on a distributed job, and what fanning replays out on Slurm saves.

  1. overhead: a 2-rank gloo DDP training (tests/e2e/distributed/ddp_train.py) bare and under
     `repro run`, through `torchrun --standalone --nproc_per_node 2` and (with Slurm) through
     `srun -n 2`, interleaved, medians and ratios against the bare launcher;
  2. fan-out: N recorded srun jobs replayed with `repro replay --slurm` (one sbatch job each,
     polled together) against the same N replays one after another (`repro replay`).
Needs torch; part 2 and the srun rows need a Slurm cluster (tests/slurm/provision.sh).
Usage: python benchmarks/bench_distributed.py [--repeat 5] [--replays 4] [--skip-torch]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import git_project, print_ratio_table, timed

REPO = Path(__file__).resolve().parents[1]
TRAIN = REPO / "tests" / "e2e" / "distributed" / "ddp_train.py"
RANKS = """import os, random, time
time.sleep(1)
os.makedirs("out", exist_ok=True)
with open("out/rank%s.txt" % os.environ["SLURM_PROCID"], "w") as f:
    f.write(repr(random.random()) + "\\n")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun() -> str:
    beside = Path(sys.executable).parent / "torchrun"
    return str(beside) if beside.is_file() else shutil.which("torchrun") or "torchrun"


def overhead(project: Path, env: dict, repeat: int, slurm: bool) -> None:
    repro = [sys.executable, "-m", "repro", "run", "-q", "--no-sign", "--seed", "1", "--manifest", "run.json", "--"]
    launchers = {"torchrun": [torchrun(), "--standalone", "--nproc_per_node", "2", "train.py"]}
    if slurm:
        launchers["srun"] = ["srun", "-n", "2", sys.executable, "train.py"]
    for name, argv in launchers.items():
        times: dict[str, list[float]] = {f"bare {name}": [], f"repro run -- {name}": []}
        for _ in range(repeat):
            for case, cmd in ((f"bare {name}", argv), (f"repro run -- {name}", [*repro, *argv])):
                times[case].append(timed(cmd, project, {**env, "DDP_PORT": str(free_port())}))
        print(f"\n2-rank gloo DDP, {name}, median of {repeat}")
        print_ratio_table(times, f"bare {name}", width=28)


def fan_out(project: Path, env: dict, replays: int) -> None:
    manifests = []
    for i in range(replays):
        name = f"job{i}.json"
        subprocess.run([sys.executable, "-m", "repro", "run", "-q", "--seed", str(i), "--manifest", name, "--",
                        "srun", "-n", "2", sys.executable, "ranks.py"], cwd=project, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        manifests.append(name)
    t0 = time.perf_counter()
    for name in manifests:
        subprocess.run([sys.executable, "-m", "repro", "replay", "-q", name], cwd=project, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sequential = time.perf_counter() - t0
    fanned = timed([sys.executable, "-m", "repro", "replay", "-q", "--slurm", *manifests], project, env)
    print(f"\n{replays} replays of a 2-task srun job (each task sleeps 1 s)")
    print(f"{'case':<28}{'seconds':>9}")
    print(f"{'one after another':<28}{sequential:>9.2f}")
    print(f"{'repro replay --slurm':<28}{fanned:>9.2f}  ({sequential / fanned:.2f}x faster)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--replays", type=int, default=4)
    parser.add_argument("--skip-torch", action="store_true")
    args = parser.parse_args()
    slurm = shutil.which("srun") is not None and subprocess.run(["sinfo"], capture_output=True).returncode == 0
    with tempfile.TemporaryDirectory(prefix="bench-distributed-") as tmp:
        project = Path(tmp) / "p"
        project.mkdir()
        shutil.copy(TRAIN, project / "train.py")
        (project / "ranks.py").write_text(RANKS)
        git_project(project, ignore="out/\n*.json\n*.log\n")
        keys = Path(tmp) / "xdg"
        env = {**os.environ, "PYTHONPATH": str(REPO), "XDG_CONFIG_HOME": str(keys)}
        subprocess.run([sys.executable, "-m", "repro", "keygen"], env=env, check=True, stdout=subprocess.DEVNULL)
        if not args.skip_torch:
            overhead(project, env, args.repeat, slurm)
        if slurm:
            fan_out(project, env, args.replays)
        else:
            print("\nno Slurm cluster answers: fan-out not measured (tests/slurm/provision.sh starts one)")


if __name__ == "__main__":
    main()
