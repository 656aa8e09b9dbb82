"""repro against its peers, DVC and ReproZip: same files, same machine, one run.

    python benchmarks/bench_peers.py [--repeat 3] [--warmup 1] [--small] [--workdir DIR] [--keep]

Each peer is installed by the benchmark into a virtual environment of its own under the work
directory (``pip install dvc`` / ``pip install reprozip``; --dvc-spec and --reprozip-spec pin a
version); a peer whose install fails has its rows printed as skipped and the rest still run. The
repro under test is the one the running interpreter imports (``python -m repro``).

The data is written once and page-cached: a 2 GiB random file and 100,000 small files (100 per
directory, the files of bench_observe.py). DVC gets a copy of its own (``dvc add`` moves a file
into its cache and writes a new one in its place, which would void repro's stat cache). Then,
the contenders interleaved in each of --repeat repetitions so that other work on the machine falls
on all of them alike:

- the large file and the small files: ``repro hash`` with its stat cache warm and with
  ``--no-cache``, against ``dvc add`` (a first add: the .dvc file, DVC's cache and its state
  database are removed before each) and ``dvc status`` (the unchanged re-check right after it);
- the example training (examples/logreg, in a git project): ``repro run`` against ``dvc repro -f``
  of a one-stage dvc.yaml running the same command, and ``reprozip trace`` of it;
- the loop that opens and reads the 100,000 files: ``repro run`` (the files not declared, so every
  one is observed) against ``reprozip trace``.

The run cases get --warmup untimed rounds first (the stat cache repro's runs use is filled before
either). The table has medians and minimums, the ratio to the
bare command, and each peer's median over the repro row it is set against.
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
import venv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench_digest import make_big, warm
from bench_observe import make_files
from benchlib import git_project

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "logreg"


@dataclass
class Peer:
    """A tool installed into its own environment; `skipped` says why it could not be used."""

    name: str
    spec: str
    env_dir: Path
    installer: subprocess.Popen | None = None
    log: Path | None = None
    version: str = ""
    skipped: str = ""

    def bin(self, tool: str) -> str:
        return str(self.env_dir / "bin" / tool)


@dataclass
class Case:
    group: str
    name: str
    argv: list[str]
    cwd: Path
    peer: Peer | None = None
    versus: str = ""  # the repro row of the same group a peer is set against
    before: Callable[[], None] | None = None  # reset before each run (untimed)
    warmup: bool = False
    wall: list[float] = field(default_factory=list)
    failed: str = ""


def start_install(peer: Peer) -> None:
    """Create the environment and start pip in the background (it overlaps the data writing)."""
    try:
        venv.create(peer.env_dir, with_pip=True, clear=True)
    except Exception as e:  # noqa: BLE001 - any failure makes the peer a skipped one, with the reason
        peer.skipped = f"venv creation failed: {e}"
        return
    peer.log = peer.env_dir.with_suffix(".log")
    with open(peer.log, "w") as log:
        peer.installer = subprocess.Popen([peer.bin("python"), "-m", "pip", "install", "-q", peer.spec],
                                          stdout=log, stderr=subprocess.STDOUT)


def finish_install(peer: Peer, tool: str, env: dict[str, str]) -> None:
    if peer.installer is None:
        return
    t = time.perf_counter()
    rc = peer.installer.wait()
    if rc != 0:
        assert peer.log is not None
        lines = [ln for ln in peer.log.read_text(errors="replace").splitlines() if "ERROR" in ln or "error" in ln]
        peer.skipped = f"pip install {peer.spec} failed ({rc}): {(lines or ['no message'])[-1].strip()[:200]}"
        return
    out = subprocess.run([peer.bin(tool), "--version"], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        peer.skipped = f"{tool} --version failed: {(out.stderr or out.stdout).strip()[-200:]}"
        return
    peer.version = (out.stdout.strip() or out.stderr.strip()).splitlines()[-1]
    print(f"{peer.name}: {peer.version} (install finished {time.perf_counter() - t:.1f} s after the data)", flush=True)


def run_case(case: Case, env: dict[str, str], timed: bool = True) -> None:
    """One run; a failure marks the case failed (its reason printed in the table) instead of
    stopping the other contenders."""
    if case.failed or (case.peer is not None and case.peer.skipped):
        return
    if case.before is not None:
        case.before()
    t = time.perf_counter()
    out = subprocess.run(case.argv, cwd=case.cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t
    if out.returncode != 0:
        lines = out.stderr.strip().splitlines() or ["no message"]
        last = next((ln for ln in reversed(lines) if "rror" in ln), lines[-1]).strip()
        case.failed = f"exit {out.returncode}: {last[:200]}"
        print(f"{case.group} / {case.name} failed, left out: {case.failed}", flush=True)
        return
    if timed:
        case.wall.append(wall)


def report(cases: list[Case]) -> list[list[str]]:
    rows = [["case", "contender", "median s", "min s", "x bare", "peer / repro"]]
    by_name = {(c.group, c.name): c for c in cases}
    for c in cases:
        reason = c.peer.skipped if c.peer is not None and c.peer.skipped else c.failed
        if reason or not c.wall:
            rows.append([c.group, c.name, f"skipped: {reason or 'no run'}", "", "", ""])
            continue
        med = statistics.median(c.wall)
        bare = next((b for b in cases if b.group == c.group and b.name.startswith("bare") and b.wall), None)
        ref = by_name.get((c.group, c.versus))
        versus = ""
        if ref is not None and ref.wall:
            versus = f"{med / statistics.median(ref.wall):.2f}x {ref.name}"
        rows.append([c.group, c.name, f"{med:.3f}", f"{min(c.wall):.3f}",
                     f"{med / statistics.median(bare.wall):.2f}x" if bare is not None else "", versus])
    return rows


def print_table(rows: list[list[str]]) -> None:
    # a "skipped: ..." cell spans the columns after it, so it does not set their widths
    widths = [max(len(r[i]) for r in rows if not (i >= 2 and r[2].startswith("skipped"))) for i in range(len(rows[0]))]
    for r in rows:
        if r[2].startswith("skipped"):
            print("  ".join([r[0].ljust(widths[0]), r[1].ljust(widths[1]), r[2]]))
            continue
        print("  ".join(c.ljust(w) if i in (0, 1, 5) else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip())


def emptied(*paths: Path) -> Callable[[], None]:
    """A `before` hook removing files and directories (what a first add or a fresh run must not find)."""

    def clear() -> None:
        for p in paths:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink(missing_ok=True)

    return clear


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--big-gib", type=float, default=None, help="size of the large file (default 2, 0.1 with --small)")
    ap.add_argument("--files", type=int, default=None, help="number of small files (default 100000, 5000 with --small)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed rounds of the run cases first (0 at full size saves minutes)")
    ap.add_argument("--small", action="store_true", help="a quick check: 0.1 GiB and 5,000 files")
    ap.add_argument("--workdir", type=Path, default=None, help="where the environments and data go (default: the system temp dir)")
    ap.add_argument("--keep", action="store_true", help="do not delete the work directory")
    ap.add_argument("--dvc-spec", default="dvc", help="what pip installs for DVC (e.g. dvc==3.67.1)")
    ap.add_argument("--reprozip-spec", default="reprozip", help="what pip installs for ReproZip")
    args = ap.parse_args()
    big_gib = args.big_gib if args.big_gib is not None else (0.1 if args.small else 2.0)
    files = args.files if args.files is not None else (5_000 if args.small else 100_000)

    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="repro-bench-peers-", dir=args.workdir))
    python = sys.executable
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REPRO_", "VIRTUAL_ENV"))}
    env.update({"XDG_CONFIG_HOME": str(work / "xdg"), "DVC_NO_ANALYTICS": "1"})
    repro = [python, "-m", "repro"]
    dvc = Peer("DVC", args.dvc_spec, work / "envs" / "dvc")
    rz = Peer("ReproZip", args.reprozip_spec, work / "envs" / "reprozip")
    try:
        (work / "envs").mkdir()
        for peer in (dvc, rz):
            start_install(peer)

        # the data: one project for repro (and the traced loop), a copy for DVC
        t = time.perf_counter()
        proj = work / "repro-project"
        proj.mkdir()
        make_big(proj / "big.bin", int(big_gib * (1 << 30)))
        make_files(proj, files)  # data/NNNNN/NNN.txt, 100 per directory, and loop.py reading them all
        git_project(proj, ignore="data/\nbig.bin\n")
        dproj = work / "dvc-project"
        dproj.mkdir()
        subprocess.run(["cp", "-a", "--reflink=auto", str(proj / "big.bin"), str(proj / "data"), str(dproj)], check=True)
        git_project(dproj, ignore="data/\nbig.bin\n")  # DVC refuses to add what git tracks
        example = work / "logreg"
        shutil.copytree(EXAMPLE, example, ignore=shutil.ignore_patterns(".repro", "out", "run*", ".dvc*"))
        git_project(example)
        dexample = work / "logreg-dvc"
        shutil.copytree(example, dexample, ignore=shutil.ignore_patterns(".git"))
        (dexample / "dvc.yaml").write_text(
            "stages:\n  train:\n"
            f"    cmd: {python} train.py\n"
            "    deps:\n      - train.py\n      - data/train.csv\n"
            "    outs:\n      - out\n")
        git_project(dexample)
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the start")
        print(f"data: {big_gib:g} GiB file and {files:,} small files, written (and copied for DVC) in "
              f"{time.perf_counter() - t:.1f} s under {work}", flush=True)
        subprocess.run([*repro, "keygen"], env=env, check=True, stdout=subprocess.DEVNULL)

        finish_install(dvc, "dvc", env)
        finish_install(rz, "reprozip", env)
        site = work / "dvc-site-cache"  # DVC's state database (its stat cache), where a first add can remove it
        if not dvc.skipped:
            for where in (dproj, dexample):
                init = [[dvc.bin("dvc"), "init", "-q"], [dvc.bin("dvc"), "config", "core.analytics", "false"],
                        [dvc.bin("dvc"), "config", "core.site_cache_dir", str(site if where == dproj else work / "dvc-site-example")]]
                for argv in init:
                    out = subprocess.run(argv, cwd=where, env=env, capture_output=True, text=True)
                    if out.returncode != 0:
                        dvc.skipped = f"{' '.join(argv[1:3])} failed: {(out.stderr or out.stdout).strip()[-200:]}"
                        break

        time.sleep(0.05)  # the stat cache only trusts files older than its clock reading
        warm(work / "repro-project")
        warm(dproj)
        # repro's stat cache, filled once outside the timings
        subprocess.run([*repro, "hash", "-q", "big.bin", "data"], cwd=proj, env=env, check=True, stdout=subprocess.DEVNULL)

        big_group = f"{big_gib:g} GiB file"
        small_group = f"{files // 1000 if files >= 1000 else files}{'k' if files >= 1000 else ''} small files"
        scratch = work / "manifests"
        scratch.mkdir()
        manifest = str(scratch / "m.json")
        fresh_manifest = emptied(scratch / "m.json")  # no run finds the previous run's manifest at its path
        rz_dir = work / "reprozip-traces"
        rz_dir.mkdir()
        d = dvc.bin("dvc")
        cases: list[Case] = []
        for group, target in ((big_group, "big.bin"), (small_group, "data")):
            cases += [
                Case(group, "repro hash (stat cache warm)", [*repro, "hash", "-q", target], proj),
                Case(group, "repro hash --no-cache", [*repro, "hash", "-q", "--no-cache", target], proj),
                Case(group, "dvc add (first add)", [d, "add", target], dproj, dvc, "repro hash --no-cache",
                     before=emptied(dproj / f"{target}.dvc", dproj / ".dvc" / "cache", site)),
                Case(group, "dvc status (unchanged)", [d, "status", "-q", f"{target}.dvc"], dproj, dvc,
                     "repro hash (stat cache warm)"),
            ]
        run = [*repro, "run", "-q", "--seed", "1", "--manifest", manifest, "--"]
        trace = [rz.bin("reprozip"), "trace", "--overwrite", "-d"]
        example_group = "example training"
        loop_group = f"{small_group} opened"
        cases += [
            Case(example_group, "bare: python train.py", [python, "train.py"], example, warmup=True),
            Case(example_group, "repro run", [*run, python, "train.py"], example, before=fresh_manifest, warmup=True),
            Case(example_group, "dvc repro -f", [d, "repro", "-q", "-f"], dexample, dvc, "repro run", warmup=True),
            Case(example_group, "reprozip trace", [*trace, str(rz_dir / "example"), python, "train.py"], example, rz,
                 "repro run", warmup=True),
            Case(loop_group, "bare: python loop.py", [python, "loop.py"], proj, warmup=True),
            Case(loop_group, "repro run (files not declared)", [*run, python, "loop.py"], proj, before=fresh_manifest,
                 warmup=True),
            Case(loop_group, "reprozip trace", [*trace, str(rz_dir / "loop"), python, "loop.py"], proj, rz,
                 "repro run (files not declared)", warmup=True),
        ]
        for peer in (dvc, rz):
            if peer.skipped:
                print(f"{peer.name} skipped: {peer.skipped}", flush=True)

        for _ in range(args.warmup):
            for c in cases:
                if c.warmup:
                    run_case(c, env, timed=False)
        for rep in range(args.repeat):
            for c in cases:
                run_case(c, env)
            print(f"repetition {rep + 1}/{args.repeat} done (load average {os.getloadavg()[0]:.2f})", flush=True)

        print(f"\nmedians of {args.repeat}; x bare: over the bare command; peer / repro: the peer's median over "
              "the repro row named")
        print_table(report(cases))
        where = subprocess.run([python, "-c", "import os, repro; print(os.path.dirname(repro.__file__))"],
                               env=env, cwd=work, capture_output=True, text=True).stdout.strip()
        print(f"\nversions: repro from {where}, python {sys.version.split()[0]}; "
              + "; ".join(f"{p.name} {p.version or 'not installed'}" for p in (dvc, rz)))
        print(f"load average {os.getloadavg()[0]:.2f} at the end (other work on the machine inflates the medians; "
              "the minimums are the least disturbed runs)")
        return 1 if any(c.failed for c in cases if c.peer is None) else 0
    finally:
        for peer in (dvc, rz):
            if peer.installer is not None and peer.installer.poll() is None:
                peer.installer.kill()
                peer.installer.wait()
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
