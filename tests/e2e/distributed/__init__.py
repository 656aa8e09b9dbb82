"""Projects for the distributed end-to-end tests: a tiny gloo DDP training and a per-rank writer."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
RANKS = """import os, random
rank = os.environ["SLURM_PROCID"]
os.makedirs("out", exist_ok=True)
with open(f"out/rank{rank}.txt", "w") as f:
    f.write(f"{random.random()!r} {os.environ.get('SLURMD_NODENAME')}\\n")
"""


def torchrun() -> str:
    beside = Path(sys.executable).parent / "torchrun"
    return str(beside) if beside.is_file() else shutil.which("torchrun") or "torchrun"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def project(dest: Path) -> Path:
    """A git project holding train.py (DDP) and ranks.py (each rank writes its own file)."""
    dest.mkdir()
    shutil.copy(HERE / "ddp_train.py", dest / "train.py")
    (dest / "ranks.py").write_text(RANKS)
    (dest / ".gitignore").write_text("out/\n*.json\n*.log\n")
    git = ["git", "-C", str(dest), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "distributed"], check=True)
    return dest
