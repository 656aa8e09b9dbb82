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
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import git_project, interleaved, print_ratio_table

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
        times = interleaved(cases, args.repeat, project, env)
    print(f"example training, median of {args.repeat} (seconds)")
    print_ratio_table(times, "bare", width=18)


if __name__ == "__main__":
    main()
