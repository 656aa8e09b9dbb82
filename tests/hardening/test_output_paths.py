"""Every path repro must write is checked before the command runs, and a refused run leaves
nothing behind: no empty `.repro/runs/<id>/` for a missing key, no directories made for
`--junit /nonexistent/dir/x.xml`, and `/dev/stdout` (or `-` for a file that is not a report)
refused up front, not after the replay."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from repro.errors import INVALID, UsageError
from repro.paths import check_output_target
from tests.hardening.cases import cli, make_example


def test_a_run_refused_for_a_missing_key_leaves_no_run_directory(tmp_path):
    project = make_example(tmp_path / "p")
    result = cli("run", "--", sys.executable, "train.py", cwd=project, xdg=tmp_path / "empty-xdg")
    assert result.returncode == INVALID and "key" in result.stderr, result.stderr
    assert not (project / ".repro" / "runs").exists() or not any((project / ".repro" / "runs").iterdir())
    assert not (project / "out").exists()  # the command never ran


@pytest.mark.parametrize("flag, value, message", [
    ("--junit", "/nonexistent/dir/x.xml", "directory /nonexistent/dir does not exist"),
    ("--json", "/nonexistent/dir/x.json", "directory /nonexistent/dir does not exist"),
    ("--junit", "/dev/stdout", "is not a regular file"),
    ("--json", "/dev/null", "is not a regular file"),
    ("--attest", "-", "cannot go to standard output"),  # `-` is standard output for the reports alone
    ("--junit", "/tmp", "is a directory"),
    ("--manifest", "/dev/stdout", "is not a regular file"),
])
def test_replay_output_paths_are_checked_before_anything_runs(signed, tmp_path, flag, value, message):
    out = tmp_path / "replay.json"
    args = ["replay", "-q", flag, value, *([] if flag == "--manifest" else ["--manifest", str(out)]),
            str(signed.manifest)]
    result = cli(*args, cwd=signed.project, xdg=signed.xdg)
    assert result.returncode == INVALID, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("repro: error: ") and message in lines[0], lines
    assert result.stdout == ""  # no report: the replay never ran
    assert not out.exists() and not Path("/nonexistent").exists()


def test_export_output_path_is_checked_first(signed, tmp_path):
    result = cli("export", "-o", "/nonexistent/dir/e.json", str(signed.manifest), cwd=signed.project, xdg=signed.xdg)
    assert result.returncode == INVALID and "does not exist" in result.stderr, result.stderr


def _file(path: Path) -> Path:
    path.write_text("x")
    return path


@pytest.mark.parametrize("make, create, ok", [
    (lambda d: d / "new.xml", False, True),
    (lambda d: d / "a" / "b" / "new.json", True, True),
    (lambda d: d / "a" / "b" / "new.json", False, False),
    (lambda d: d, False, False),
    (lambda d: _file(d / "f") / "under.xml", True, False),
])
def test_check_output_target_creates_nothing(tmp_path, make, create, ok):
    path = make(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    try:
        check_output_target(path, "report", create_parents=create)
        refused = False
    except UsageError:
        refused = True
    assert refused != ok
    assert sorted(tmp_path.rglob("*")) == before
