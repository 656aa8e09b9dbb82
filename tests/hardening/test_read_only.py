"""A read-only project with the manifest written elsewhere: one clear line naming the read-only
directory, exit 2, before the command runs (repro keeps the run's records in the project)."""

from __future__ import annotations

import subprocess
import sys
from contextlib import contextmanager

import pytest

from repro.errors import INVALID
from tests.hardening.cases import cli, make_example


@contextmanager
def read_only(path):
    """`path` as a read-only bind mount of itself (root ignores permission bits: only a read-only
    mount makes writes fail with EROFS)."""
    if subprocess.run(["mount", "--bind", str(path), str(path)], capture_output=True).returncode:
        pytest.skip("bind mounts are not permitted here (not root)")
    try:
        if subprocess.run(["mount", "-o", "remount,ro,bind", str(path)], capture_output=True).returncode:
            pytest.skip("cannot remount read-only here")
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def test_a_read_only_project_is_one_line_naming_it(tmp_path, keys):
    project = make_example(tmp_path / "p")
    elsewhere = tmp_path / "out" / "x.json"
    with read_only(project):
        result = cli("run", "--manifest", str(elsewhere), "--", sys.executable, "-c", "open('ran', 'w')",
                     cwd=project, xdg=keys)
    assert result.returncode == INVALID, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last == f"repro: error: {project} is read-only: repro keeps the run's records in {project}/.repro " \
                   "while the command runs", last
    assert "Traceback" not in result.stderr and not (project / "ran").exists() and not elsewhere.exists()
