"""Private copies of the example projects for tests and the hardening report."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _ignored(example: Path):
    """What the example's own .gitignore leaves out (a quick start's run.json, logs, outputs),
    so a copy is the example as committed, whatever was run in it before."""
    patterns = ["__pycache__"]
    gitignore = example / ".gitignore"
    if gitignore.is_file():
        patterns += [line.strip().strip("/") for line in gitignore.read_text().splitlines()
                     if line.strip() and not line.startswith("#")]
    return shutil.ignore_patterns(*patterns)


def make_example(dest: Path, name: str = "logreg") -> Path:
    """A copy of examples/<name> at `dest`, made a git repository with one commit."""
    source = EXAMPLES / name
    shutil.copytree(source, dest, ignore=_ignored(source))
    git = ["git", "-C", str(dest), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True, capture_output=True)
    subprocess.run([*git, "add", "-A"], check=True, capture_output=True)
    subprocess.run([*git, "commit", "-qm", "example"], check=True, capture_output=True)
    return dest
