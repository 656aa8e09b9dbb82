"""What the offline bundle costs: pack and unpack against plain tar of the same files, side by side.

On a project with 2 GiB of declared input data (random bytes: nothing compresses or dedups), medians
of N interleaved repetitions:
  pack           repro pack run.json -o run.repro.tar   (reads each input once, checks its digest)
  tar cf         tar cf of the same project tree          (the reference: one read, one write)
  tar cf+sync    the same, then the archive fsync'ed       (pack fsyncs the bundle before renaming it)
  unpack         repro unpack run.repro.tar -C DIR         (checks the signed index and every digest)
  tar xf         tar xf of the tar cf archive
  replay         repro replay run.json                     (the normal replay, from the project)
  replay bundle  repro replay run.repro.tar                (air-gapped: from the bundle alone)
and the bundle's size against the sum of its parts (the project tree plus the stored outputs).
Throughput is GiB of input data per second of wall time. Peak memory of pack/unpack is printed too
(the issue's bound: under 150 MB for any size, since members are streamed).
Usage: python benchmarks/bench_bundle.py [--repeat 3] [--gib 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import git_project

TRAIN = """\
import hashlib
h = hashlib.sha256()
with open("data/big.bin", "rb") as f:
    h.update(f.read(1 << 20))
import os
os.makedirs("out", exist_ok=True)
open("out/result.txt", "w").write(h.hexdigest() + "\\n")
"""


GENERATE = """\
import os, sys
chunk = os.urandom(64 << 20)
with open(sys.argv[1], "wb") as f:
    for i in range(int(sys.argv[2])):
        f.write(chunk[i:] + chunk[:i])  # distinct chunks: nothing dedups
"""


def project(root: Path, gib: float) -> None:
    """The data is written by a child, so this process stays small: the commands are forked from it
    and a fork's peak resident size starts from its parent's."""
    (root / "data").mkdir(parents=True)
    subprocess.run([sys.executable, "-c", GENERATE, str(root / "data" / "big.bin"), str(int(gib * 16))], check=True)
    (root / "train.py").write_text(TRAIN)
    (root / "repro.yaml").write_text("inputs:\n  - data/\noutputs:\n  - out/\n")
    git_project(root, ignore="data/\nout/\n.repro/\n*.json\n*.log\n*.tar\n")


def timed_peak(argv: list[str], cwd: Path, env: dict) -> tuple[float, float]:
    """Wall seconds and peak resident MiB of one command (its own rusage, from wait4)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--gib", type=float, default=2.0)
    args = ap.parse_args()
    repro = [sys.executable, "-m", "repro"]
    with tempfile.TemporaryDirectory(prefix="repro-bench-bundle-") as tmp:
        base = Path(tmp)
        env = dict(os.environ, XDG_CONFIG_HOME=str(base / "xdg"))
        subprocess.run([*repro, "keygen"], env=env, check=True, stdout=subprocess.DEVNULL)
        root = base / "proj"
        project(root, args.gib)
        subprocess.run([*repro, "run", "--manifest", "run.json", "--", sys.executable, "train.py"], cwd=root,
                       env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        bundle, plain = base / "run.repro.tar", base / "plain.tar"
        times: dict[str, list[float]] = {k: [] for k in
                                         ("pack", "tar cf", "tar cf+sync", "unpack", "tar xf", "replay",
                                              "replay bundle")}
        peaks: dict[str, float] = {}
        for _ in range(args.repeat):
            for path in (bundle, plain):
                path.unlink(missing_ok=True)
            for target in (base / "unpacked", base / "untarred"):
                shutil.rmtree(target, ignore_errors=True)
                target.mkdir()
            steps = {
                "pack": ([*repro, "pack", "run.json", "-o", str(bundle)], root),
                "tar cf": (["tar", "cf", str(plain), "--exclude=.repro", "."], root),
                "tar cf+sync": (["sh", "-c", 'rm -f "$1" && tar cf "$1" --exclude=.repro . && sync "$1"', "sh",
                                 str(plain)], root),
                "unpack": ([*repro, "unpack", str(bundle), "-C", str(base / "unpacked")], base),
                "tar xf": (["tar", "xf", str(plain), "-C", str(base / "untarred")], base),
                "replay": ([*repro, "replay", "run.json"], root),
                "replay bundle": ([*repro, "replay", str(bundle)], base),
            }
            for name, (argv, cwd) in steps.items():
                wall, peak = timed_peak(argv, cwd, env)
                times[name].append(wall)
                peaks[name] = max(peaks.get(name, 0.0), peak)
        parts = sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and p.suffix != ".tar")
        print(f"bundle benchmark: {args.gib:g} GiB of inputs, median of {args.repeat}")
        print(f"{'case':<16}{'median s':>10}{'GiB/s':>8}{'ratio':>9}{'peak MiB':>10}")
        for name, ref in (("pack", "tar cf+sync"), ("tar cf", "tar cf"), ("tar cf+sync", "tar cf"), ("unpack", "tar xf"), ("tar xf", "tar xf"),
                          ("replay", "replay"), ("replay bundle", "replay")):
            med = statistics.median(times[name])
            print(f"{name:<16}{med:>10.2f}{args.gib / med:>8.2f}{med / statistics.median(times[ref]):>8.2f}x"
                  f"{peaks[name]:>10.0f}")
        print(f"bundle size {bundle.stat().st_size / 2**30:.3f} GiB, sum of its parts "
              f"{parts / 2**30:.3f} GiB (the project tree with its run records), "
              f"ratio {bundle.stat().st_size / parts:.3f}")


if __name__ == "__main__":
    main()
