"""What the replay sandbox costs: bwrap against the copying workspace, side by side in one run.

Three measurements, medians of N repetitions, printed as tables with ratios:
  1. a project with 2 GiB of declared input data (random bytes, so nothing is sparse):
       run            repro run -- python train.py
       replay bwrap   repro replay run.json --sandbox bwrap   (inputs read in place)
       replay copy    repro replay run.json --sandbox copy    (the project copied, data included)
  2. sandbox start-up: `python -c pass` bare, and inside the same bwrap sandbox a replay builds;
  3. a project with 100,000 small declared input files: replay bwrap against replay copy.
Usage: python benchmarks/bench_sandbox.py [--repeat 5] [--gib 2] [--files 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import git_project, interleaved, print_ratio_table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from repro.sandbox.bwrap import Confinement, bwrap_argv  # noqa: E402
from repro.sandbox.probe import find  # noqa: E402

TRAIN = """\
import hashlib, os
h = hashlib.sha256()
for root, _, names in sorted(os.walk("data")):
    for name in sorted(names)[:50]:
        with open(os.path.join(root, name), "rb") as f:
            h.update(f.read(1 << 20))
os.makedirs("out", exist_ok=True)
open("out/result.txt", "w").write(h.hexdigest() + "\\n")
"""


def big_project(root: Path, gib: float) -> None:
    (root / "data").mkdir(parents=True)
    chunk = os.urandom(64 << 20)
    with open(root / "data" / "big.bin", "wb") as f:
        for i in range(int(gib * 16)):
            f.write(chunk[i:] + chunk[:i])  # distinct chunks, no dedup anywhere
    (root / "train.py").write_text(TRAIN)
    (root / "repro.yaml").write_text("inputs:\n  - data/\noutputs:\n  - out/\n")
    git_project(root, ignore="data/\nout/\n.repro/\n*.json\n*.log\n")


def many_files_project(root: Path, files: int) -> None:
    per_dir = 1000
    for d in range((files + per_dir - 1) // per_dir):
        sub = root / "data" / f"d{d:04d}"
        sub.mkdir(parents=True)
        for i in range(min(per_dir, files - d * per_dir)):
            (sub / f"f{i:04d}.txt").write_bytes(f"{d},{i}\n".encode() * 8)
    (root / "train.py").write_text(TRAIN)
    (root / "repro.yaml").write_text("inputs:\n  - data/\noutputs:\n  - out/\n")
    git_project(root, ignore="data/\nout/\n.repro/\n*.json\n*.log\n")


def record(project: Path, env: dict, repro: list[str]) -> None:
    subprocess.run([*repro, "run", "--seed", "1", "--manifest", "run.json", "--", sys.executable, "train.py"],
                   cwd=project, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def replay_cases(tmp: Path, repro: list[str]) -> dict[str, list[str]]:
    return {f"replay {kind}": [*repro, "replay", "run.json", "--sandbox", kind, "--json", str(tmp / f"{kind}.json"),
                               "--manifest", str(tmp / f"replay-{kind}.json")] for kind in ("bwrap", "copy")}


def copied(tmp: Path, kind: str) -> str:
    report = json.loads((tmp / f"{kind}.json").read_text())
    assert report["reproduced"], report["summary"]
    return f"{report['sandbox']['bytes_copied'] / 2**20:.1f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--gib", type=float, default=2.0)
    parser.add_argument("--files", type=int, default=100_000)
    args = parser.parse_args()
    bwrap = find()
    if not bwrap.usable:
        sys.exit(f"bench_sandbox: {bwrap.reason}")
    repro = [sys.executable, "-m", "repro"]
    with tempfile.TemporaryDirectory(prefix="repro-bench-", dir="/var/tmp") as tmp_name:
        tmp = Path(tmp_name)
        env = {**os.environ, "XDG_CONFIG_HOME": str(tmp / "xdg")}
        subprocess.run([*repro, "keygen"], env=env, check=True, stdout=subprocess.DEVNULL)

        big = tmp / "big"
        big_project(big, args.gib)
        record(big, env, repro)
        cases = {"run": [*repro, "run", "--seed", "1", "--manifest", str(tmp / "bench.json"), "--", sys.executable,
                         "train.py"], **replay_cases(tmp, repro)}
        times = interleaved(cases, args.repeat, big, env)
        print(f"1. {args.gib:g} GiB of declared inputs, median of {args.repeat} (seconds)")
        print_ratio_table(times, "run", width=18)
        print(f"   copied into the workspace: bwrap {copied(tmp, 'bwrap')}, copy {copied(tmp, 'copy')}")
        (big / "data" / "big.bin").unlink()

        conf = Confinement(workspace=big, root=big)
        bare = [sys.executable, "-c", "pass"]
        startup = {"python -c pass": bare, "bwrap python -c pass": bwrap_argv(bwrap, conf, bare, big)}
        times = interleaved(startup, args.repeat * 4, big, env)
        print(f"\n2. sandbox start-up, median of {args.repeat * 4} (seconds)")
        print_ratio_table(times, "python -c pass", width=22)

        many = tmp / "many"
        many_files_project(many, args.files)
        record(many, env, repro)
        times = interleaved(replay_cases(tmp, repro), args.repeat, many, env)
        print(f"\n3. {args.files:,} small declared input files, median of {args.repeat} (seconds)")
        print_ratio_table(times, "replay copy", width=18)
        print(f"   copied into the workspace: bwrap {copied(tmp, 'bwrap')}, copy {copied(tmp, 'copy')}")


if __name__ == "__main__":
    main()
