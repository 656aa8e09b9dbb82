"""Small programs with one known source of nondeterminism each, written as real projects."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import repro_cli

THREADS = """\
import numpy as np

x = np.random.default_rng(0).standard_normal(2_000_003)
y = np.random.default_rng(1).standard_normal(2_000_003)
with open("out.txt", "w") as f:
    f.write(repr(float(x @ y)) + "\\n")  # OpenBLAS splits the dot product across its threads
"""

CHUNKED = """\
import os

import numpy as np

x = np.random.default_rng(0).standard_normal(2_000_003)
parts = np.array_split(x, int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1))
with open("out.txt", "w") as f:
    f.write(repr(float(sum(p.sum() for p in parts))) + "\\n")  # one partial sum per thread, as OpenMP code does
"""

HASHSEED = """\
words = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"}
with open("out.txt", "w") as f:
    for w in words:
        f.write(w + "\\n")
"""

TIME_SEED = """\
import random
import time

random.seed(time.time())
with open("out.txt", "w") as f:
    f.write(repr(random.random()) + "\\n")
"""

HELPER_MAIN = """\
from helper import noise

with open("out.txt", "w") as f:
    f.write(repr(noise()) + "\\n")
"""

HELPER = """\
import numpy as np


def noise():
    rng = np.random.default_rng()
    return float(rng.standard_normal())
"""

DETERMINISTIC = """\
import json

total = sum(i * i for i in range(1000))
with open("out.txt", "w") as f:
    json.dump({"total": total, "names": sorted({"b", "a", "c"})}, f)
"""


def project(tmp: Path, files: dict[str, str]) -> Path:
    root = tmp / "proj"
    root.mkdir()
    for name, text in files.items():
        (root / name).write_text(text)
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True, capture_output=True)
    (root / ".gitignore").write_text("out.txt\nrun.json\n*.log\n")
    subprocess.run([*git, "add", "-A"], check=True, capture_output=True)
    subprocess.run([*git, "commit", "-qm", "project"], check=True, capture_output=True)
    return root


def record(root: Path, env: dict, script: str = "main.py", *extra: str) -> Path:
    done = repro_cli("run", "--seed", "7", "--output", "out.txt", "--manifest", "run.json", *extra, "--",
                     sys.executable, script, cwd=root, env=env)
    assert done.returncode == 0, done.stderr
    return root / "run.json"


def thread_dependent(scratch: Path) -> tuple[str, str]:
    """The numpy program when OpenBLAS's threaded dot product rounds differently with 1 and 2
    threads on this machine, else one that chunks its sum by OMP_NUM_THREADS as OpenMP code does
    (a machine with one CPU runs OpenBLAS single-threaded whatever it is told)."""
    import os

    scratch.mkdir(parents=True, exist_ok=True)
    (scratch / "main.py").write_text(THREADS)
    outs = set()
    for n in ("1", "2"):
        env = {**os.environ, "OPENBLAS_NUM_THREADS": n, "OMP_NUM_THREADS": n}
        subprocess.run([sys.executable, "main.py"], cwd=scratch, env=env, check=True, capture_output=True)
        outs.add((scratch / "out.txt").read_text())
    return (THREADS, "numpy's dot product") if len(outs) == 2 else (CHUNKED, "a sum chunked by OMP_NUM_THREADS")
