"""What every benchmark script shares: timing a command, and a throw-away git project."""

from __future__ import annotations

import statistics
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


def interleaved(cases: dict[str, list[str]], repeat: int, cwd: Path, env: dict) -> dict[str, list[float]]:
    """Each case once per round, `repeat` rounds: noise from other work falls on all alike."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeat):
        for name, argv in cases.items():
            times[name].append(timed(argv, cwd, env))
    return times


def ratio_row(name: str, median: float, base: float, width: int = 24) -> str:
    return f"{name:<{width}}{median:>9.3f}{median / base:>8.2f}x{median - base:>+10.3f}"


def print_ratio_table(times: dict[str, list[float]], base_case: str, width: int = 24) -> float:
    """Medians, ratios and added seconds against `base_case`; returns the base median."""
    base = statistics.median(times[base_case])
    print(f"{'case':<{width}}{'median':>9}{'ratio':>9}{'added':>10}")
    for name, values in times.items():
        print(ratio_row(name, statistics.median(values), base, width))
    return base
