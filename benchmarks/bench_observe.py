"""What observation (docs/observe.md) costs: with and without, in one run on the same machine.

    python benchmarks/bench_observe.py [--files 100000] [--repeat 7] [--repro-repeat 3] [--workdir DIR]

Two programs, each timed with the contenders interleaved so that noise from other work on the
machine falls on all of them alike, after one warm-up round (page cache, .pyc files):

1. a loop that opens and reads --files small files (100 per directory):
   - ``python loop.py`` bare; with the injected sitecustomize and REPRO_OBSERVE=0 (seeding only);
     with REPRO_OBSERVE=1 (audit hook, flush at exit): the hook's own cost on the process,
     and the loop time the script measures inside itself;
   - ``repro run --no-observe`` against ``repro run``, the data declared with ``--input``
     (the same manifest content: what observation adds end to end) and not declared (observation
     then discovers every file and repro fingerprints and records each one);
2. the example training (examples/logreg): bare, ``repro run --no-observe``, ``repro run``.

Medians of --repeat runs (--repro-repeat for the `repro run` cases of the file loop, which are
long); the ratios compare observation on against off.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchlib import git_project

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "logreg"
PER_DIR = 100

LOOP = """\
import sys, time
t0 = time.perf_counter()
n = 0
for d in range({dirs}):
    for i in range({per_dir}):
        with open("data/%05d/%03d.txt" % (d, i)) as f:
            n += len(f.read())
print("loop_s %.6f" % (time.perf_counter() - t0))
"""


def make_files(root: Path, count: int) -> None:
    dirs = max(1, count // PER_DIR)
    for d in range(dirs):
        sub = root / "data" / f"{d:05d}"
        sub.mkdir(parents=True)
        for i in range(PER_DIR):
            (sub / f"{i:03d}.txt").write_text(f"{d} {i}\n")
    (root / "loop.py").write_text(LOOP.format(dirs=dirs, per_dir=PER_DIR))


@dataclass
class Times:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # user + system of the command and its children
    loop: list[float] = field(default_factory=list)  # what the file loop measured inside itself


def run_once(argv: list[str], cwd: Path, env: dict[str, str], into: Times, scratch: Path) -> None:
    """One run; `scratch` (where manifests go) is emptied after it, so that no run finds the
    previous run's manifest at its path."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    shutil.rmtree(scratch)
    scratch.mkdir()
    into.wall.append(wall)
    into.cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    into.loop.extend(float(line.split()[1]) for line in out.stdout.splitlines() if line.startswith("loop_s "))


def measure(cases: dict[str, tuple[list[str], dict[str, str]]], cwd: Path, repeat: int, scratch: Path) -> dict[str, Times]:
    for argv, env in cases.values():
        run_once(argv, cwd, env, Times(), scratch)
    times = {name: Times() for name in cases}
    for _ in range(repeat):
        for name, (argv, env) in cases.items():
            run_once(argv, cwd, env, times[name], scratch)
    return times


def table(title: str, times: dict[str, Times], pairs: list[tuple[str, str]]) -> None:
    med = statistics.median
    print(f"\n{title}")
    print(f"  {'case':<46}{'wall s':>9}{'cpu s':>9}{'loop s':>9}")
    for name, t in times.items():
        loop = f"{med(t.loop):>9.3f}" if t.loop else f"{'':>9}"
        print(f"  {name:<46}{med(t.wall):>9.3f}{med(t.cpu):>9.3f}{loop}")
    for off, on in pairs:
        a, b = times[off], times[on]
        line = f"  {on} / {off}: {med(b.wall) / med(a.wall):.3f}x wall, {med(b.cpu) / med(a.cpu):.3f}x cpu"
        if a.loop and b.loop:
            line += f", {med(b.loop) / med(a.loop):.3f}x loop"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--repro-repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, help="where to create the files (default: the system temp dir)")
    parser.add_argument("--parts", default="process,repro,example",
                        help="comma-separated: process (the loop alone), repro (the loop under repro run), example")
    args = parser.parse_args()
    parts = set(args.parts.split(","))

    from repro.inject import site_dir

    python = sys.executable
    repro = [python, "-m", "repro"]
    with tempfile.TemporaryDirectory(prefix="repro-bench-observe-", dir=args.workdir) as tmp:
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("REPRO_")}
        base_env["XDG_CONFIG_HOME"] = str(Path(tmp) / "xdg")
        subprocess.run([*repro, "keygen"], env=base_env, check=True, stdout=subprocess.DEVNULL)

        loop_root = Path(tmp) / "loop"
        loop_root.mkdir()
        make_files(loop_root, args.files)
        git_project(loop_root, ignore="data/\n")
        run_dir = Path(tmp) / "records"
        run_dir.mkdir()
        hooked = {**base_env, "PYTHONPATH": str(site_dir()), "REPRO_RUN_DIR": str(run_dir), "REPRO_SEED": "1",
                  "REPRO_PROJECT_ROOT": str(loop_root)}
        scratch = Path(tmp) / "manifests"
        scratch.mkdir()
        run = [*repro, "run", "-q", "--seed", "1", "--manifest", str(scratch / "m.json")]
        process_cases = {
            "python loop.py": ([python, "loop.py"], base_env),
            "python loop.py, injected, REPRO_OBSERVE=0": ([python, "loop.py"], {**hooked, "REPRO_OBSERVE": "0"}),
            "python loop.py, injected, REPRO_OBSERVE=1": ([python, "loop.py"], {**hooked, "REPRO_OBSERVE": "1"}),
        }
        if "process" in parts:
            table(f"{args.files} small files opened and read: the process alone, median of {args.repeat}",
                  measure(process_cases, loop_root, args.repeat, scratch),
                  [("python loop.py, injected, REPRO_OBSERVE=0", "python loop.py, injected, REPRO_OBSERVE=1"),
                   ("python loop.py", "python loop.py, injected, REPRO_OBSERVE=1")])
        repro_cases = {
            "repro run --no-observe --input data":
                ([*run, "--no-observe", "--input", "data", "--", python, "loop.py"], base_env),
            "repro run --input data": ([*run, "--input", "data", "--", python, "loop.py"], base_env),
            "repro run --no-observe": ([*run, "--no-observe", "--", python, "loop.py"], base_env),
            "repro run (every file observed as an input)": ([*run, "--", python, "loop.py"], base_env),
        }
        if "repro" in parts:
            table(f"{args.files} small files under repro run, median of {args.repro_repeat}",
                  measure(repro_cases, loop_root, args.repro_repeat, scratch),
                  [("repro run --no-observe --input data", "repro run --input data"),
                   ("repro run --no-observe", "repro run (every file observed as an input)")])

        example = Path(tmp) / "logreg"
        shutil.copytree(EXAMPLE, example, ignore=shutil.ignore_patterns(".repro", "out", "run*"))
        git_project(example)
        example_cases = {
            "python train.py": ([python, "train.py"], base_env),
            "repro run --no-observe": ([*run, "--no-observe", "--", python, "train.py"], base_env),
            "repro run": ([*run, "--", python, "train.py"], base_env),
        }
        if "example" in parts:
            table(f"example training (examples/logreg), median of {args.repeat}",
                  measure(example_cases, example, args.repeat, scratch), [("repro run --no-observe", "repro run")])

if __name__ == "__main__":
    main()
