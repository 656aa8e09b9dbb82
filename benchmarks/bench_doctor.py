"""What `repro doctor` costs: its wall time on the example training against one `repro replay` of
the same manifest, with one replay at a time and with two (`--jobs 2`).

The doctor runs two baseline replays and one per knob (all knobs: 11 replays on a machine where
bwrap, OpenBLAS and numpy's dispatch are there), so with --jobs 1 it should cost about 11 replays
plus its own start-up and probes; --jobs 2 should bring that towards half on two free cores.
Medians of N interleaved rounds. Usage: python benchmarks/bench_doctor.py [--repeat 3]
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

from benchlib import git_project, interleaved, print_ratio_table

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "logreg"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-doctor-") as tmp:
        root = Path(tmp) / "logreg"
        shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("out", "run.json", "__pycache__", ".repro"))
        git_project(root, "out/\nrun.json\n*.log\n")
        env = {**os.environ, "XDG_CONFIG_HOME": str(Path(tmp) / "xdg")}
        repro = [sys.executable, "-m", "repro"]
        subprocess.run([*repro, "keygen"], cwd=root, env=env, check=True, capture_output=True)
        subprocess.run([*repro, "run", "--seed", "7", "--manifest", "run.json", "--", sys.executable, "train.py"],
                       cwd=root, env=env, check=True, capture_output=True)
        cases = {
            "replay": [*repro, "replay", "run.json", "-q"],
            "doctor --jobs 1": [*repro, "doctor", "run.json", "-q", "--jobs", "1"],
            "doctor --jobs 2": [*repro, "doctor", "run.json", "-q", "--jobs", "2"],
        }
        times = interleaved_allowing_findings(cases, args.repeat, root, env)
        print(f"examples/logreg, {os.cpu_count()} CPUs, medians of {args.repeat} rounds")
        base = print_ratio_table(times, "replay")
        one, two = (statistics.median(times[k]) for k in ("doctor --jobs 1", "doctor --jobs 2"))
        print(f"--jobs 2 against --jobs 1: {two / one:.2f}x; per replay of the doctor: {one / 11:.3f} s "
              f"(one replay alone {base:.3f} s)")


def interleaved_allowing_findings(cases: dict[str, list[str]], repeat: int, cwd: Path, env: dict) -> dict:
    """The doctor exits 1 when it finds a knob the outputs follow (the example follows the BLAS
    kernel): a finding, not a failure of the benchmark."""
    wrapped = {name: ["sh", "-c", '"$@"; test $? -le 1', "sh", *argv] for name, argv in cases.items()}
    return interleaved(wrapped, repeat, cwd, env)


if __name__ == "__main__":
    main()
