"""The run's scratch directory, `.repro/tmp/<run-id>/`: where the hook inside the command's
Python processes writes its records and the runner its logs until the manifest is sealed.

It holds the command lines and files of a running program, so it is private: mode 0700 (a
container runs as the same uid, so nobody else needs in). A run that ended normally removes its
own; one killed with `kill -9` cannot, so each run removes the directories of runs whose process
is gone. An `owner` file names the process (pid and start time, against pid reuse)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from repro.errors import WriteError

OWNER = "owner"
ORPHAN_AGE_S = 3600  # a directory without an owner file (still being made, or older) is left this long


def _started(pid: int) -> float | None:
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except (psutil.Error, OSError):
        return None


def create(root: Path, run_id: str) -> Path:
    """Make the run's directory, 0700, with its owner file; first remove those of dead runs."""
    tmp = root / ".repro" / "tmp"
    remove_dead(tmp)
    run_dir = tmp / run_id
    try:
        run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(run_dir, 0o700)
        (run_dir / OWNER).write_text(f"{os.getpid()} {_started(os.getpid())}\n")
    except OSError as e:
        raise WriteError(f"cannot create the run's directory {run_dir}: {e.strerror or e}") from e
    return run_dir


def _alive(owner: str) -> bool:
    try:
        pid_text, started_text = owner.split()
        pid = int(pid_text)
    except ValueError:
        return False
    started = _started(pid)
    return started is not None and str(started) == started_text


def remove_dead(tmp: Path) -> list[Path]:
    """Remove the run directories under `tmp` whose run is no longer alive; returns them."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(tmp))
    except OSError:
        return removed
    for entry in entries:
        if not entry.is_dir(follow_symlinks=False):
            continue
        path = Path(entry.path)
        try:
            owner = (path / OWNER).read_text()
        except OSError:
            try:
                if time.time() - entry.stat(follow_symlinks=False).st_mtime < ORPHAN_AGE_S:
                    continue
            except OSError:
                continue
            owner = ""
        if owner and _alive(owner):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed
