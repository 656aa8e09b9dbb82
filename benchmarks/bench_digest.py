"""Benchmark data fingerprinting against the read limit and the tools users would pick.

One command, one run, everything measured on the same machine in the same minutes:

    python benchmarks/bench_digest.py [--workdir DIR] [--repeat 5] [--big-gib 2] [--small-files 100000]

It writes a large file and a tree of small files under a fresh temporary directory (inside
--workdir when given), warms the page cache, then times, interleaving the contenders so that
noise from other work on the machine falls on all of them alike:

- the large file: repro (xxh3_128 and sha256) against ``cat >/dev/null`` (the read limit),
  ``sha256sum``, ``md5sum`` and ``b3sum`` (each skipped when missing);
- the small files: repro without a cache, repro filling an empty stat cache, repro with the
  cache warm, against ``find | xargs -0 cat`` and ``find | xargs -0 md5sum``.

repro runs in a subprocess (``python -c`` calling the library) so its peak RSS is its own; the
table shows the library time (measured inside that process) and the whole process time, and the
interpreter start-up is measured on its own. Medians of --repeat runs; the data is removed at
the end unless --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from pathlib import Path
from repro.data.digest import fingerprint
from repro.data.statcache import StatCache
t1 = time.perf_counter()
target, root, algorithm, cache_path = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
cache = StatCache(Path(cache_path)) if cache_path else None
(a,) = fingerprint([Path(target)], Path(root), algorithm, cache=cache, progress=False)
t2 = time.perf_counter()
if cache is not None:
    cache.close()
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork and exec
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"import_s": t1 - t0, "lib_s": t2 - t1, "rss_mb": hwm / 1024,
                  "digest": a.digest, "files": len(a.files) if a.kind == "directory" else 1}))
"""


@dataclass
class Case:
    group: str
    name: str
    argv: list[str] | None = None  # a shell tool
    shell: bool = False
    repro: tuple[str, str, str, str] | None = None  # (target, root, algorithm, cache path or "")
    before: object = None  # called before each run (e.g. empty the cache)
    wall: list[float] = field(default_factory=list)
    lib: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)
    digest: object = None


def run_case(case: Case, env: dict[str, str]) -> None:
    if case.before is not None:
        case.before()  # type: ignore[operator]
    if case.repro is not None:
        argv = [sys.executable, "-c", CHILD, *case.repro]
        t = time.perf_counter()
        out = subprocess.run(argv, capture_output=True, text=True, env=env, check=True)
        case.wall.append(time.perf_counter() - t)
        info = json.loads(out.stdout)
        case.lib.append(info["lib_s"])
        case.rss.append(info["rss_mb"])
        case.digest = info["digest"]
        return
    assert case.argv is not None
    t = time.perf_counter()
    subprocess.run(case.argv if not case.shell else " ".join(case.argv), shell=case.shell, check=True, stdout=subprocess.DEVNULL)
    case.wall.append(time.perf_counter() - t)


def startup(env: dict[str, str], repeat: int) -> tuple[float, float]:
    """Median seconds for `python -c pass` and for importing repro.data.digest."""
    bare, imp = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True, env=env)
        bare.append(time.perf_counter() - t)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import repro.data.digest, repro.data.statcache"], check=True, env=env)
        imp.append(time.perf_counter() - t)
    return statistics.median(bare), statistics.median(imp)


def make_big(path: Path, size: int) -> None:
    block = 64 << 20
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(block, left)
            f.write(os.urandom(n))
            left -= n


def make_small(top: Path, count: int, lo: int, hi: int, seed: int = 1) -> int:
    """`count` files of lo..hi bytes in directories of 1,000; returns the total size."""
    rng = random.Random(seed)
    pool = os.urandom(64 << 20)
    total = 0
    for i in range(count):
        d = top / f"d{i // 1000:04d}"
        if i % 1000 == 0:
            d.mkdir(parents=True)
        size = rng.randint(lo, hi)
        off = rng.randrange(0, len(pool) - size)
        with open(d / f"f{i:06d}.bin", "wb") as f:
            f.write(pool[off : off + size])
        total += size
    return total


def warm(path: Path) -> None:
    subprocess.run(f"find '{path}' -type f -print0 | xargs -0 cat >/dev/null", shell=True, check=True)


def fmt_row(cols: list[str], widths: list[int]) -> str:
    return "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cols, widths)))


def report(cases: list[Case], sizes: dict[str, int], repro_ref: dict[str, str]) -> list[list[str]]:
    rows = [["case", "contender", "median s", "min s", "library med s", "library min s", "GB/s", "peak RSS MB", "time / repro"]]
    by_name = {(c.group, c.name): c for c in cases}
    for c in cases:
        med = statistics.median(c.wall)
        ref = by_name[(c.group, repro_ref[c.group])]
        ratio = med / statistics.median(ref.wall)
        rows.append(
            [
                c.group,
                c.name,
                f"{med:.3f}",
                f"{min(c.wall):.3f}",
                f"{statistics.median(c.lib):.3f}" if c.lib else "",
                f"{min(c.lib):.3f}" if c.lib else "",
                f"{sizes[c.group] / med / 1e9:.2f}",
                f"{max(c.rss):.0f}" if c.rss else "",
                f"{ratio:.2f}x",
            ]
        )
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", type=Path, default=None, help="where the temporary data goes (default: the system temp dir)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--big-gib", type=float, default=2.0)
    ap.add_argument("--small-files", type=int, default=100_000)
    ap.add_argument("--keep", action="store_true", help="do not delete the generated data")
    args = ap.parse_args()

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH", "")]))}
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="repro-bench-", dir=args.workdir))
    try:
        big = work / "big.bin"
        big_size = int(args.big_gib * (1 << 30))
        small = work / "small"
        t = time.perf_counter()
        make_big(big, big_size)
        small_size = make_small(small, args.small_files, 1024, 64 * 1024)
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the start")
        print(f"data: {big_size / 1e9:.2f} GB file, {args.small_files:,} files of 1-64 KiB ({small_size / 1e9:.2f} GB) "
              f"written in {time.perf_counter() - t:.1f} s under {work}", flush=True)
        time.sleep(0.05)  # the stat cache only trusts files older than its clock reading
        warm(work)

        cache_first = work / "cache-first.sqlite"
        cache_warm = work / "cache-warm.sqlite"

        def empty_first_cache() -> None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{cache_first}{suffix}").unlink(missing_ok=True)

        root = str(work)
        big_group = f"{big_size / (1 << 30):g} GiB file"
        small_group = f"{args.small_files // 1000}k small files"
        cases = [
            Case(big_group, "repro xxh3_128", repro=(str(big), root, "xxh3_128", "")),
            Case(big_group, "repro sha256", repro=(str(big), root, "sha256", "")),
            Case(big_group, "cat >/dev/null", argv=["cat", str(big)]),
            Case(big_group, "sha256sum", argv=["sha256sum", str(big)]),
            Case(big_group, "md5sum", argv=["md5sum", str(big)]),
            Case(big_group, "b3sum", argv=["b3sum", str(big)]),
            Case(small_group, "repro, no cache", repro=(str(small), root, "xxh3_128", "")),
            Case(small_group, "repro, filling cache", repro=(str(small), root, "xxh3_128", str(cache_first)), before=empty_first_cache),
            Case(small_group, "repro, cache warm", repro=(str(small), root, "xxh3_128", str(cache_warm))),
            Case(small_group, "find|xargs cat", argv=["find", f"'{small}'", "-type f -print0 | xargs -0 cat >/dev/null"], shell=True),
            Case(small_group, "find|xargs md5sum", argv=["find", f"'{small}'", "-type f -print0 | xargs -0 md5sum >/dev/null"], shell=True),
        ]
        missing = [c for c in cases if c.argv and not shutil.which(c.argv[0])]
        for c in missing:
            print(f"skipped: {c.name} (not on PATH)")
        cases = [c for c in cases if c not in missing]

        # fill the warm cache once, outside the timings
        run_case(Case(small_group, "fill", repro=(str(small), root, "xxh3_128", str(cache_warm))), env)
        bare, imported = startup(env, args.repeat)
        for rep in range(args.repeat):
            for c in cases:
                run_case(c, env)
            print(f"repetition {rep + 1}/{args.repeat} done", flush=True)

        rows = report(cases, {big_group: big_size, small_group: small_size},
                      {big_group: "repro xxh3_128", small_group: "repro, no cache"})
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        print()
        for r in rows:
            print(fmt_row(r, widths))
        print(f"\nload average {os.getloadavg()[0]:.2f} at the end (other work on the machine inflates the medians; "
              "the minimums are the least disturbed runs)")
        print(f"interpreter start-up: python -c pass {bare:.3f} s; + import repro.data.digest {imported:.3f} s "
              "(both included in 'median s' of repro rows, not in 'library s')")

        def pick(name: str, group: str, stat: object, lib: bool = False) -> float:
            c = next(c for c in cases if c.name == name and c.group == group)
            return stat(c.lib if lib else c.wall)  # type: ignore[operator, no-any-return]

        names = {c.name for c in cases}
        print("\ntargets (median runs / least disturbed runs):")
        for stat in (statistics.median, min):
            checks = []
            repro_lib = pick("repro xxh3_128", big_group, stat, True)
            repro_wall = pick("repro xxh3_128", big_group, stat)
            if "cat >/dev/null" in names:
                cat = pick("cat >/dev/null", big_group, stat)
                checks.append(("large file >= 1.0x cat throughput, library", cat / repro_lib, 1.0))
                checks.append(("large file >= 1.0x cat throughput, whole process", cat / repro_wall, 1.0))
            if "md5sum" in names:
                md5 = pick("md5sum", big_group, stat)
                checks.append(("large file >= 10x md5sum, library", md5 / repro_lib, 10.0))
                checks.append(("large file >= 10x md5sum, whole process", md5 / repro_wall, 10.0))
            label = "median" if stat is statistics.median else "min"
            for text, value, need in checks:
                print(f"  [{label}] {text}: {value:.2f}x  {'ok' if value >= need else 'MISSED'}")
            warm_lib = pick("repro, cache warm", small_group, stat, True)
            warm_wall = pick("repro, cache warm", small_group, stat)
            print(f"  [{label}] cached re-fingerprint <= 1 s: library {warm_lib:.3f} s {'ok' if warm_lib <= 1 else 'MISSED'}, "
                  f"whole process {warm_wall:.3f} s {'ok' if warm_wall <= 1 else 'MISSED'}")
        rss = max(max(c.rss) for c in cases if c.rss)
        print(f"  peak RSS <= 150 MB: {rss:.0f} MB (largest of all repro runs) {'ok' if rss <= 150 else 'MISSED'}")
        digests = {json.dumps(c.digest) for c in cases if c.group == small_group and c.digest}
        if len(digests) != 1:
            print("ERROR: the repro runs disagree on the tree digest", digests)
            return 1
        return 0
    finally:
        if args.keep:
            print(f"data kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
