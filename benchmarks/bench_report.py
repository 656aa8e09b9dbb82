"""What `repro report` costs: the example with one replay, and a run of N observed files.

For each, medians of N interleaved repetitions of the whole command (`--no-files` and with the
file check), the page's size, and in-process the time to verify and build the model against the
time to render the HTML and the Markdown, so rendering and verification are told apart.
Usage: python benchmarks/bench_report.py [--repeat 5] [--files 10000]
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

from benchlib import git_project, interleaved

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "logreg"
MANY = "import os\nos.makedirs('gen', exist_ok=True)\nfor i in range({n}):\n" \
       "    open(f'gen/part-{{i:05d}}.txt', 'w').write(f'row {{i}}\\n')\n"
PHASES = """\
import sys, time
from pathlib import Path
from repro.audit import build_report
from repro.audit.formats import get_format
a = time.perf_counter(); r = build_report(Path("run.json"), sys.argv[1:]); b = time.perf_counter()
h = get_format("html").render(r); c = time.perf_counter(); m = get_format("markdown").render(r); d = time.perf_counter()
print(b - a, c - b, d - c, len(h.encode()), len(m.encode()))
"""


def repro(*args: str, cwd: Path, env: dict) -> str:
    return subprocess.run([sys.executable, "-m", "repro", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout


def measure(name: str, project: Path, replays: list[str], repeat: int, env: dict) -> None:
    base = ["report", "run.json", *[x for r in replays for x in ("--replay", r)], "-o", "audit.html"]
    cases = {"report --no-files": [sys.executable, "-m", "repro", *base, "--no-files"],
             "report": [sys.executable, "-m", "repro", *base]}
    times = interleaved(cases, repeat, project, env)
    phases = [list(map(float, subprocess.run([sys.executable, "-c", PHASES, *replays], cwd=project, env=env, check=True,
                                             capture_output=True, text=True).stdout.split())) for _ in range(repeat)]
    verify, html, md, html_size, md_size = (statistics.median(p[i] for p in phases) for i in range(5))
    print(f"\n{name}")
    for case, values in times.items():
        print(f"  {case:<20}{statistics.median(values):>8.3f} s (whole command)")
    print(f"  verify + model      {verify:>8.3f} s   render html {html:.3f} s ({html_size / 1e6:.2f} MB)   "
          f"markdown {md:.3f} s ({md_size / 1e6:.2f} MB)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--files", type=int, default=10_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        env = {**os.environ, "XDG_CONFIG_HOME": str(Path(tmp) / "xdg")}
        repro("keygen", cwd=Path(tmp), env=env)
        example = Path(tmp) / "logreg"
        shutil.copytree(EXAMPLE, example, ignore=shutil.ignore_patterns("out", "run.json", "*.log", ".repro"))
        git_project(example)
        repro("run", "--seed", "7", "--manifest", "run.json", "--", sys.executable, "train.py", cwd=example, env=env)
        out = repro("replay", "run.json", cwd=example, env=env)
        verdict = next(line.split()[1] for line in out.splitlines() if line.startswith("attested"))
        measure("the example, one replay", example, [verdict], args.repeat, env)
        many = Path(tmp) / "many"
        many.mkdir()
        (many / "gen.py").write_text(MANY.format(n=args.files))
        git_project(many)
        t0 = time.perf_counter()
        repro("run", "--manifest", "run.json", "--", sys.executable, "gen.py", cwd=many, env=env)
        print(f"\n(recording the run of {args.files} observed files took {time.perf_counter() - t0:.1f} s)")
        measure(f"a run of {args.files} observed files", many, [], args.repeat, env)


if __name__ == "__main__":
    main()
