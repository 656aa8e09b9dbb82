"""What every benchmark script shares: timing a command, and a throw-away git project."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path


def timed(argv: list[str], cwd: Path, env: dict) -> float:
    """Wall time of one command, its output discarded; a failure stops the benchmark."""
    t0 = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def git_project(root: Path, ignore: str = "") -> None:
    """Make `root` a git repository with everything in it committed (and `ignore` as .gitignore)."""
    if ignore:
        (root / ".gitignore").write_text(ignore)
    git = ["git", "-C", str(root), "-c", "user.name=b", "-c", "user.email=b@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "bench"], check=True)
