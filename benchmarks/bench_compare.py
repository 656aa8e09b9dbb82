"""Benchmark: compare a 1 GiB float32 .npy (or .safetensors) pair under an allclose rule.

Writes a recorded array and a replayed copy perturbed by ~1e-7 relative noise into a temporary
directory, then times `repro.compare.compare_file` (median of the repeats) against the obvious
alternative: `numpy.allclose(np.load(b), np.load(a))`, or for `--format safetensors` both files
loaded with the safetensors library's own reader (`safetensors.numpy.load_file`) and allclose. Each side runs in its own subprocess so
its peak resident set size is its own. Both read files that were just written, so both run from
a warm page cache: the figures measure the comparison, not the disk.

    python benchmarks/bench_compare.py [--size-gib 1] [--repeat 3] [--dir DIR] [--format npy|safetensors]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RTOL, ATOL = 1e-6, 1e-9
ROWS_PER_WRITE = 256


def peak_rss_bytes() -> int:
    """Peak resident set size of this process. Linux's VmHWM belongs to this process's own
    address space; ru_maxrss (the fallback elsewhere) can carry over the parent's peak through
    fork and exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def _blocks(side: int):
    """Row blocks of a recorded array of standard normals and of its replayed copy times
    (1 + 1e-7 * noise), so that this process stays small whatever the size."""
    rng = np.random.default_rng(2024)
    for start in range(0, side, ROWS_PER_WRITE):
        block = rng.standard_normal((min(ROWS_PER_WRITE, side - start), side), dtype=np.float32)
        noise = rng.standard_normal(block.shape, dtype=np.float32)
        yield block.tobytes(), (block * (1 + np.float32(1e-7) * noise)).tobytes()


def generate(directory: Path, size_gib: float, fmt: str) -> tuple[Path, Path, tuple[int, int]]:
    """The pair, written a block of rows at a time with plain writes."""
    side = int(math.sqrt(size_gib * 2**30 / 4))
    shape = (side, side)
    recorded, replayed = directory / f"recorded.{fmt}", directory / f"replayed.{fmt}"
    with open(recorded, "wb") as a, open(replayed, "wb") as b:
        if fmt == "npy":
            header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)), "fortran_order": False,
                      "shape": shape}
            np.lib.format.write_array_header_1_0(a, header)
            np.lib.format.write_array_header_1_0(b, header)
        else:
            meta = json.dumps({"weights": {"dtype": "F32", "shape": list(shape),
                                           "data_offsets": [0, side * side * 4]}}).encode()
            meta += b" " * (-len(meta) % 8)
            for f in (a, b):
                f.write(len(meta).to_bytes(8, "little") + meta)
        for rec, rep in _blocks(side):
            a.write(rec)
            b.write(rep)
    return recorded, replayed, shape


def worker_repro(recorded: Path, replayed: Path, repeat: int, chunk: int | None) -> dict:
    from repro.compare import compare_file, load_rules

    rules = load_rules({"rules": [{"match": "**", "allclose": {"rtol": RTOL, "atol": ATOL}}]})
    floor = peak_rss_bytes()
    kwargs = {"chunk_elements": chunk} if chunk else {}
    times, verdict = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        verdict = compare_file("out/weights" + recorded.suffix, recorded, replayed, rules, **kwargs)
        times.append(time.perf_counter() - t)
    assert verdict is not None
    return {"times": times, "peak_rss": peak_rss_bytes(), "floor_rss": floor, "ok": verdict.ok, "verdict": verdict.to_json()}


def worker_numpy(recorded: Path, replayed: Path, repeat: int) -> dict:
    floor = peak_rss_bytes()
    times, ok = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        a, b = np.load(recorded), np.load(replayed)
        ok = bool(np.allclose(b, a, rtol=RTOL, atol=ATOL))
        del a, b
        times.append(time.perf_counter() - t)
    return {"times": times, "peak_rss": peak_rss_bytes(), "floor_rss": floor, "ok": ok}


def worker_safetensors(recorded: Path, replayed: Path, repeat: int) -> dict:
    from safetensors.numpy import load_file

    floor = peak_rss_bytes()
    times, ok = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        a, b = load_file(recorded), load_file(replayed)
        ok = all(bool(np.allclose(b[k], a[k], rtol=RTOL, atol=ATOL)) for k in a)
        del a, b
        times.append(time.perf_counter() - t)
    return {"times": times, "peak_rss": peak_rss_bytes(), "floor_rss": floor, "ok": ok}


def run_worker(kind: str, recorded: Path, replayed: Path, repeat: int, chunk: int | None) -> dict:
    cmd = [sys.executable, __file__, "--worker", kind, "--repeat", str(repeat), str(recorded), str(replayed)]
    if chunk:
        cmd += ["--chunk-elements", str(chunk)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def mib(n: int) -> str:
    return f"{n / 2**20:,.0f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gib", type=float, default=1.0, help="size of each array (default 1 GiB)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per method; the median is reported")
    parser.add_argument("--chunk-elements", type=int, default=None, help="override repro's chunk size")
    parser.add_argument("--dir", type=Path, default=None, help="where to write the pair (default: a temp dir)")
    parser.add_argument("--format", choices=("npy", "safetensors"), default="npy", help="file format of the pair")
    parser.add_argument("--worker", choices=("repro", "numpy", "safetensors"), help=argparse.SUPPRESS)
    parser.add_argument("files", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker == "repro":
        print(json.dumps(worker_repro(*args.files, args.repeat, args.chunk_elements)))
        return
    if args.worker == "numpy":
        print(json.dumps(worker_numpy(*args.files, args.repeat)))
        return
    if args.worker == "safetensors":
        print(json.dumps(worker_safetensors(*args.files, args.repeat)))
        return

    with tempfile.TemporaryDirectory(dir=args.dir) as d:
        t = time.perf_counter()
        recorded, replayed, shape = generate(Path(d), args.size_gib, args.format)
        size = recorded.stat().st_size
        print(f"pair: 2 x {args.format} float32 {shape} ({size / 1e9:.2f} GB each), written in {time.perf_counter() - t:.1f}s")
        ours = run_worker("repro", recorded, replayed, args.repeat, args.chunk_elements)
        base = run_worker("numpy" if args.format == "npy" else "safetensors", recorded, replayed, args.repeat, None)

    t_ours, t_base = statistics.median(ours["times"]), statistics.median(base["times"])
    print(f"rule: allclose(rtol={RTOL}, atol={ATOL}); median of {args.repeat}; warm page cache")
    print(f"verdict: {ours['verdict']['status']}: {ours['verdict']['detail']}")
    label = "numpy.allclose" if args.format == "npy" else "safetensors+allclose"
    print(f"{label} agrees: {ours['ok'] == base['ok']}")
    print(
        f"repro compare_file : {t_ours:6.2f}s  {size / 1e9 / t_ours:5.2f} GB/s per side "
        f"({2 * size / 1e9 / t_ours:.2f} GB/s read)  peak RSS {mib(ours['peak_rss'])} "
        f"(interpreter + imports {mib(ours['floor_rss'])})"
    )
    print(
        f"{label:<19}: {t_base:6.2f}s  {size / 1e9 / t_base:5.2f} GB/s per side "
        f"({2 * size / 1e9 / t_base:.2f} GB/s read)  peak RSS {mib(base['peak_rss'])} "
        f"(interpreter + imports {mib(base['floor_rss'])})"
    )
    print(
        f"{'repro / ' + label.split('.')[0].split('+')[0]:<19}: time x{t_ours / t_base:.2f}, peak RSS x{ours['peak_rss'] / base['peak_rss']:.3f}"
    )


if __name__ == "__main__":
    main()
