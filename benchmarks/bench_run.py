"""What `repro run` and `repro replay` cost over the bare command, on the example training.

Side by side in one run, medians of N repetitions, printed as a table with ratios:
  bare      python train.py
  run       repro run -- python train.py            (signed, default observation)
  replay    repro replay run.json                   (signature, input and code checks, rerun, compare)
Usage: python benchmarks/bench_run.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import git_project, timed

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "logreg"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="repro-bench-") as tmp:
        project = Path(tmp) / "logreg"
        shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".repro", "out", "run*"))
        git_project(project)
        env = {**os.environ, "XDG_CONFIG_HOME": str(Path(tmp) / "xdg")}
        repro = [sys.executable, "-m", "repro"]
        subprocess.run([*repro, "keygen"], env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([*repro, "run", "--seed", "1", "--manifest", "run.json", "--", sys.executable, "train.py"],
                       cwd=project, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cases = {
            "bare": [sys.executable, "train.py"],
            "run": [*repro, "run", "--seed", "1", "--manifest", "bench.json", "--", sys.executable, "train.py"],
            "run --no-observe": [*repro, "run", "--seed", "1", "--no-observe", "--manifest", "bench.json", "--",
                                 sys.executable, "train.py"],
            "replay": [*repro, "replay", "run.json", "--manifest", str(Path(tmp) / "replay.json")],
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.repeat):
            for name, argv in cases.items():
                times[name].append(timed(argv, project, env))
    base = statistics.median(times["bare"])
    print(f"example training, median of {args.repeat} (seconds)")
    print(f"{'case':<18}{'median':>10}{'ratio':>10}   {'added':>8}")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"{name:<18}{med:>10.3f}{med / base:>9.2f}x   {med - base:>+8.3f}")


if __name__ == "__main__":
    main()
