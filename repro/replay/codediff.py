"""Which files make the code differ from the recorded run: a refusal a user can act on names
them (the first ten, then how many more)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Iterable

SHOWN = 10
_HEADER = re.compile(rb"^diff --git a/(.*?) b/(.*)$", re.MULTILINE)


def per_file(diff: bytes) -> dict[str, bytes]:
    """A `git diff` split into its files: path -> that file's part of the diff."""
    out: dict[str, bytes] = {}
    marks = list(_HEADER.finditer(diff))
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(diff)
        out[m.group(2).decode("utf-8", "backslashreplace")] = diff[m.start():end]
    return out


def changed_between_diffs(recorded: bytes | None, now: bytes) -> list[str] | None:
    """Files whose uncommitted change differs between the recorded diff and today's; None when
    the recorded diff is not at hand."""
    if recorded is None:
        return None
    before, after = per_file(recorded), per_file(now)
    return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))


def changed_since(root: Path, commit: str) -> list[str] | None:
    """Files that differ between the recorded commit and the working tree; None when git cannot
    tell (the commit is not in this repository)."""
    result = subprocess.run(["git", "-C", str(root), "diff", "--name-only", "--relative", commit, "--"],
                            capture_output=True, text=True)
    if result.returncode != 0:
        return None
    return sorted(line for line in result.stdout.splitlines() if line)


def named(paths: Iterable[str]) -> str:
    """`a.py, b.py` or `f1, ..., f10 and 5 more`."""
    paths = list(paths)
    text = ", ".join(paths[:SHOWN])
    if len(paths) > SHOWN:
        text += f" and {len(paths) - SHOWN} more"
    return text
