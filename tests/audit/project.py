"""Real runs and replays of a copy of the example, made once per test session (the audit and
the browser tests share them; the `audit_project` fixture in tests/conftest.py): a signed run whose
outputs include a tolerance-compared array and a file named like an HTML tag, a replay that
reproduces it within tolerance and one that does not, and an unsigned run."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import repro_cli
from tests.examples import make_example

TRAIN = """\
import os
import numpy as np
# Unseeded on purpose: the last bits change from one run to the next, inside the tolerance.
noise = np.random.default_rng().normal(scale=1e-9, size=1000)
os.makedirs("out", exist_ok=True)
np.save("out/w.npy", np.linspace(0.0, 1.0, 1000) + noise)
with open("out/flag.txt", "w") as f:
    f.write(os.environ.get("FLAG", "a"))
for name in ("<script>alert(1).txt", "<img src=x onerror=alert(2)>.txt"):
    with open(os.path.join("out", name), "w") as f:
        f.write("named to inject")
print("trained")
"""
RULES = "rules:\n  - match: out/w.npy\n    allclose: {rtol: 1.0e-6, atol: 1.0e-7}\n"
SCRIPT_NAME = "<script>alert(1).txt"
IMG_NAME = "<img src=x onerror=alert(2)>.txt"


@dataclass(frozen=True)
class Project:
    root: Path
    xdg: Path
    reproduced: Path
    not_reproduced: Path

    def cli(self, *args: str, **kw):
        env = {"XDG_CONFIG_HOME": str(self.xdg), **kw.pop("env", {})}
        return repro_cli(*args, cwd=self.root, env=env, **kw)


def attested(stdout: str) -> Path:
    return Path(re.search(r"^attested\s+(\S+)$", stdout, re.M).group(1))


def make_project(base: Path) -> Project:
    xdg = base / "xdg"
    root = make_example(base / "logreg")
    (root / "train.py").write_text(TRAIN)  # left uncommitted: the run records a dirty tree and its diff
    (root / "rules.yaml").write_text(RULES)
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "add", "rules.yaml"], check=True, capture_output=True)
    subprocess.run([*git, "commit", "-qm", "rules"], check=True, capture_output=True)
    env = {"XDG_CONFIG_HOME": str(xdg)}
    assert repro_cli("keygen", env=env).returncode == 0
    # First the unsigned run, whose outputs the signed run then replaces (the noise differs).
    unsigned = repro_cli("run", "--no-sign", "--seed", "7", "--manifest", "unsigned.json", "--", sys.executable,
                         "train.py", cwd=root, env=env)
    assert unsigned.returncode == 0, unsigned.stderr
    run = repro_cli("run", "--seed", "7", "--manifest", "run.json", "--", sys.executable, "train.py", cwd=root, env=env)
    assert run.returncode == 0, run.stderr
    good = repro_cli("replay", "run.json", "--rules", "rules.yaml", cwd=root, env=env)
    assert good.returncode == 0, good.stdout + good.stderr
    bad = repro_cli("replay", "run.json", "--rules", "rules.yaml", cwd=root, env={**env, "FLAG": "b"})
    assert bad.returncode == 1, bad.stdout + bad.stderr
    return Project(root, xdg, attested(good.stdout), attested(bad.stdout))
