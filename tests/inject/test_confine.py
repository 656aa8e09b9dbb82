"""The replay's write guard in the injected hook, in a real child interpreter: refused by repro
where no sandbox confines the replay, noted where a sandbox (bubblewrap) makes the write fail."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from repro.inject import site_dir

WRITES = """
import os, shutil, sys
target = sys.argv[1]
for attempt in (lambda: open(target, "w"), lambda: os.open(target, os.O_WRONLY | os.O_CREAT),
                lambda: shutil.copy("inside.txt", target), lambda: os.remove(target),
                lambda: os.rename("inside.txt", target)):
    try:
        attempt()
        print("allowed")
    except OSError as e:
        print(type(e).__name__, e.errno)
open("inside.txt", "a").write("x")
open(os.path.join(os.environ["SCRATCH"], "t.txt"), "w").write("x")
print("done")
"""


def child(tmp_path: Path, target: Path, by: str, prefix: tuple[str, ...] = (),
          free: tuple[str, ...] | None = None) -> tuple[subprocess.CompletedProcess, list]:
    """Run WRITES in a workspace `ws`, allowed to write `scratch` and `free` (default: all of
    tmp_path but its `protected` directory); returns the output and the refusals recorded."""
    ws = tmp_path / "ws"
    ws.mkdir(exist_ok=True)
    (ws / "inside.txt").write_text("in")
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    run_dir = ws / ".run"
    run_dir.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPRO_")}
    env.update(PYTHONPATH=str(site_dir()), REPRO_RUN_DIR=str(run_dir), REPRO_PROJECT_ROOT=str(ws), SCRATCH=str(scratch),
               REPRO_CONFINE_WRITES=os.pathsep.join((f"!{tmp_path / 'protected'}", str(scratch),
                                                     *(free if free is not None else (str(tmp_path),)))),
               REPRO_CONFINE_BY=by)
    out = subprocess.run([*prefix, sys.executable, "-c", WRITES, str(target)], env=env, cwd=ws, capture_output=True,
                         text=True)
    events = [json.loads(line) for p in run_dir.glob("proc-*.jsonl") for line in p.read_text().splitlines()]
    return out, [e for e in events if e["event"] == "refused"]


def test_writes_outside_the_workspace_are_refused_and_recorded_once(tmp_path):
    elsewhere = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    elsewhere.mkdir()
    (elsewhere / "model.pt").write_text("user's")
    out, refused = child(tmp_path, elsewhere / "model.pt", "repro")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:5] == ["PermissionError 13"] * 5 and "done" in out.stdout
    assert (elsewhere / "model.pt").read_text() == "user's"
    assert [(e["path"], e["reason"]) for e in refused] == [(str(elsewhere / "model.pt"), "refused by repro")]
    shutil.rmtree(elsewhere)


def test_a_protected_directory_is_refused_even_inside_an_allowed_one(tmp_path):
    (tmp_path / "protected").mkdir()
    out, refused = child(tmp_path, tmp_path / "protected" / "out.txt", "repro")
    assert out.stdout.startswith("PermissionError 13"), out.stdout + out.stderr
    assert not (tmp_path / "protected" / "out.txt").exists()
    allowed, _ = child(tmp_path, tmp_path / "other.txt", "repro")
    assert allowed.stdout.startswith("allowed"), allowed.stdout + allowed.stderr


@pytest.mark.bwrap
def test_in_a_sandbox_the_writes_that_fail_with_erofs_are_noted(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    ws = tmp_path / "ws"
    ws.mkdir()
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    sandbox = ("bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--bind", str(ws), str(ws),
               "--bind", str(scratch), str(scratch), "--die-with-parent", "--")
    out, refused = child(tmp_path, elsewhere / "model.pt", "sandbox", sandbox, free=())
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("OSError 30"), out.stdout  # EROFS from the kernel, not repro's PermissionError
    assert not (elsewhere / "model.pt").exists()
    assert {e["path"] for e in refused} == {str(elsewhere / "model.pt")}
    assert refused[0]["reason"] == "failed: Read-only file system"


KEEPS = """
import os
open("ckpt.json").read()
open("ckpt.json", "w").write("after")
open("ckpt.json", "a").write("!")
open("fresh.txt", "w").write("new")
open("written.txt", "w").write("overwritten, never read")
"""


def test_the_hook_keeps_a_read_file_before_its_first_write(tmp_path):
    ws = tmp_path / "ws"
    (ws / ".run").mkdir(parents=True)
    (ws / "ckpt.json").write_text("before")
    (ws / "written.txt").write_text("old")
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPRO_")}
    env.update(PYTHONPATH=str(site_dir()), REPRO_RUN_DIR=str(ws / ".run"), REPRO_PROJECT_ROOT=str(ws))
    out = subprocess.run([sys.executable, "-c", KEEPS], env=env, cwd=ws, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    events = [json.loads(line) for p in (ws / ".run").glob("proc-*.jsonl") for line in p.read_text().splitlines()]
    kept = [e for e in events if e["event"] == "state_before"]
    assert [(e["path"], e["size"]) for e in kept] == [(str(ws / "ckpt.json"), len("before"))]
    assert (ws / ".run" / "state" / kept[0]["copy"]).read_text() == "before"
    assert (ws / "ckpt.json").read_text() == "after!"
