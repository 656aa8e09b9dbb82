"""The replay sandbox end to end: real bwrap around the real CLI on an example project.

The recorded run is harmless; at replay the same code is told (through a variable the replay
does not restore) to try what a hostile or careless program would, and every attempt must fail
inside the sandbox while the user's files stay byte-identical.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from repro.evidence.manifest import Manifest
from tests.conftest import repro_cli

pytestmark = pytest.mark.bwrap

PROGRAM = """\
import json, os, socket, sys, time
os.makedirs("out", exist_ok=True)
seen = sorted(os.listdir("out"))
report = {"cwd": os.getcwd(), "seen": seen}
for target in json.loads(os.environ.get("ATTACK", "[]")):
    try:
        with open(target, "w") as f:
            f.write("overwritten by the replay")
        report[target] = "written"
    except OSError as e:
        report[target] = e.strerror
port = os.environ.get("CONNECT_PORT")
if port:
    try:
        socket.create_connection(("127.0.0.1", int(port)), timeout=5).close()
        report["connect"] = "connected"
    except OSError as e:
        report["connect"] = e.strerror or type(e).__name__
time.sleep(float(os.environ.get("HOLD_S", "0")))
print("REPORT " + json.dumps(report, sort_keys=True))
with open("out/where.json", "w") as f:
    json.dump({"cwd": os.getcwd(), "seen": seen}, f)
"""


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def outside():
    """A directory outside the project and outside /tmp (which the sandbox replaces with a
    private one), holding files the replay must not touch."""
    path = Path(tempfile.mkdtemp(prefix="repro-sandbox-test-", dir="/var/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def project(example: Path, *links: tuple[str, Path]) -> Path:
    (example / "probe.py").write_text(PROGRAM)
    for name, target in links:
        (example / name).symlink_to(target)
    git = ["git", "-C", str(example), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "add", "-A"], check=True, capture_output=True)
    subprocess.run([*git, "commit", "-qm", "probe"], check=True, capture_output=True)
    return example


def record(example: Path, keys: Path, *args: str) -> None:
    result = repro_cli("run", "--seed", "3", "--manifest", "run.json", *args, "--", sys.executable, "probe.py",
                       cwd=example, env={"XDG_CONFIG_HOME": str(keys)})
    assert result.returncode == 0, result.stderr


def replay(example: Path, keys: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return repro_cli("replay", "run.json", "--json", "report.json", *args, cwd=example,
                     env={"XDG_CONFIG_HOME": str(keys), **(env or {})})


def program_report(result: subprocess.CompletedProcess) -> dict:
    lines = [line for line in result.stdout.splitlines() if line.startswith("REPORT ")]
    assert lines, result.stdout + result.stderr
    return json.loads(lines[-1][len("REPORT "):])


def test_writes_outside_the_workspace_fail_and_the_users_files_stay_identical(example, keys, outside, tmp_path):
    victim = outside / "victim.txt"
    victim.write_text("the user's own file\n")
    linked = outside / "linked.txt"
    linked.write_text("reached through a symlink\n")
    home = outside / "home"
    home.mkdir()
    (home / ".profile").write_text("the user's profile\n")
    host_tmp = tmp_path / "host-tmp.txt"
    host_tmp.write_text("a file in the host's /tmp\n")
    project(example, ("escape", linked))
    record(example, keys)
    protected = [victim, linked, home / ".profile", host_tmp, example / "data" / "train.csv"]
    before = {p: digest(p) for p in protected}

    attack = [str(victim), str(home / ".profile"), "escape", "data/train.csv", str(host_tmp)]
    result = replay(example, keys, env={"ATTACK": json.dumps(attack), "HOME": str(home)})
    seen = program_report(result)

    assert seen[str(victim)] == "Read-only file system"
    assert seen[str(home / ".profile")] == "Read-only file system"
    assert seen["escape"] == "Read-only file system"
    assert seen["data/train.csv"] == "Read-only file system"
    assert seen[str(host_tmp)] == "written"  # into the sandbox's private /tmp, gone with it
    assert {p: digest(p) for p in protected} == before
    report = json.loads((example / "report.json").read_text())
    assert report["sandbox"]["kind"] == "bwrap" and report["sandboxed"] is True
    assert report["sandbox"]["inputs_in_place"] == 1
    assert "sandbox     bwrap at " in result.stdout


def test_inputs_are_read_in_place_not_copied(example, keys):
    project(example)
    record(example, keys)
    data_bytes = sum(p.stat().st_size for p in (example / "data").rglob("*") if p.is_file())
    result = replay(example, keys)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((example / "report.json").read_text())
    copied = report["sandbox"]["bytes_copied"]
    code_bytes = sum(p.stat().st_size for p in example.iterdir() if p.is_file())
    assert copied <= code_bytes < copied + data_bytes  # the code was copied, the data was not


def test_network_is_off_unless_asked_for(example, keys):
    project(example)
    record(example, keys)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    def serve() -> None:
        with contextlib.suppress(OSError):  # the listener is closed when the test ends
            while True:
                listener.accept()[0].close()

    threading.Thread(target=serve, daemon=True).start()
    try:
        offline = program_report(replay(example, keys, env={"CONNECT_PORT": str(port)}))
        online = program_report(replay(example, keys, "--network", env={"CONNECT_PORT": str(port)}))
    finally:
        listener.close()
    assert offline["connect"] != "connected"
    assert online["connect"] == "connected"
    report = json.loads((example / "report.json").read_text())
    assert report["sandbox"]["network"] is True


def test_the_program_sees_the_recorded_project_root(example, keys):
    project(example)
    record(example, keys)
    result = replay(example, keys)
    assert result.returncode == 0, result.stdout + result.stderr
    assert program_report(result)["cwd"] == str(example.resolve())
    report = json.loads((example / "report.json").read_text())
    assert {v["path"]: v["status"] for v in report["verdicts"]}["out/where.json"] == "identical"
    copied = replay(example, keys, "--sandbox", "copy")
    assert program_report(copied)["cwd"] != str(example.resolve())
    assert copied.returncode == 1  # out/where.json holds the scratch path: a copy cannot reproduce it


def test_two_replays_at_once_both_reproduce_without_seeing_each_other(example, keys):
    project(example)
    record(example, keys)
    env = {**os.environ, "XDG_CONFIG_HOME": str(keys), "HOLD_S": "2"}
    procs = [subprocess.Popen([sys.executable, "-m", "repro", "replay", "run.json", "--json", f"r{i}.json"],
                              cwd=example, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    for proc, (stdout, stderr) in zip(procs, outs):
        assert proc.returncode == 0, stdout + stderr
        assert "REPRODUCED" in stdout
    for i in range(2):
        report = json.loads((example / f"r{i}.json").read_text())
        assert report["sandbox"]["kind"] == "bwrap"
    assert json.loads((example / "out" / "where.json").read_text())["seen"] == []


def _path_without_bwrap(tmp_path: Path) -> str:
    """PATH with every directory holding bwrap replaced by a copy of its links minus bwrap."""
    dirs = []
    for i, d in enumerate(os.environ.get("PATH", "").split(os.pathsep)):
        if d and os.path.exists(os.path.join(d, "bwrap")):
            shadow = tmp_path / f"path{i}"
            shadow.mkdir()
            for name in os.listdir(d):
                if name != "bwrap":
                    (shadow / name).symlink_to(os.path.join(d, name))
            d = str(shadow)
        dirs.append(d)
    return os.pathsep.join(dirs)


def test_copy_on_request_and_auto_without_bwrap_take_the_fallback_and_say_so(example, keys, tmp_path):
    project(example)
    record(example, keys)
    asked = replay(example, keys, "--sandbox", "copy")
    assert "sandbox     none (--sandbox copy was asked for)" in asked.stdout
    assert "guarded at the Python level only" in asked.stdout

    no_bwrap = {"PATH": _path_without_bwrap(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    auto = replay(example, keys, env=no_bwrap)
    assert "sandbox     none (bwrap is not installed" in auto.stdout, auto.stdout + auto.stderr
    report = json.loads((example / "report.json").read_text())
    assert report["sandbox"]["kind"] == "copy" and report["sandboxed"] is False
    assert report["sandbox"]["bytes_copied"] >= (example / "data" / "train.csv").stat().st_size

    replays = example / ".repro" / "replays"
    count = len(list(replays.iterdir()))
    explicit = replay(example, keys, "--sandbox", "bwrap", env=no_bwrap)
    assert explicit.returncode == 2
    assert explicit.stderr.strip().splitlines()[-1] == ("repro: error: --sandbox bwrap: bwrap is not installed "
                                                        "(the bubblewrap package)")
    assert "Traceback" not in explicit.stderr
    assert len(list(replays.iterdir())) == count  # nothing ran


def test_sandboxed_run_records_it_and_a_replay_without_it_is_drift(example, keys, outside):
    victim = outside / "victim.txt"
    victim.write_text("keep me\n")
    project(example)
    result = repro_cli("run", "--sandbox", "--seed", "3", "--manifest", "run.json", "--", sys.executable,
                       "probe.py", cwd=example, env={"XDG_CONFIG_HOME": str(keys), "ATTACK": json.dumps([str(victim)])})
    assert result.returncode == 0, result.stderr
    assert program_report(result)[str(victim)] == "Read-only file system"
    assert victim.read_text() == "keep me\n"
    runner = Manifest.load(example / "run.json").predicate["runner"]
    assert runner["sandbox"]["kind"] == "bwrap" and runner["sandbox"]["network"] is False
    same = replay(example, keys)
    assert same.returncode == 0, same.stdout + same.stderr
    assert not [c for c in json.loads((example / "report.json").read_text())["drift"] if c["facet"] == "sandbox"]
    replay(example, keys, "--sandbox", "copy")
    drift = json.loads((example / "report.json").read_text())["drift"]
    assert {"facet": "sandbox", "key": "sandbox", "before": "bwrap, network off", "after": None} in drift


GRACEFUL = """\
import os, signal, sys, time
os.makedirs("out", exist_ok=True)
def stop(signum, frame):
    with open("out/stopped.txt", "w") as f:
        f.write(signal.Signals(signum).name)
    sys.exit(128 + signum)
signal.signal(signal.SIGTERM, stop)
print("ready", flush=True)
time.sleep(60)
"""


def test_a_signal_reaches_the_sandboxed_command_itself(example, keys):
    """SIGTERM goes to the command's own session below bwrap, so its handler runs (a checkpoint
    written on the way out) instead of bwrap dying and taking it down unannounced."""
    (example / "graceful.py").write_text(GRACEFUL)
    proc = subprocess.Popen(
        [sys.executable, "-m", "repro", "run", "--sandbox", "--manifest", "term.json", "--", sys.executable,
         "graceful.py"],
        cwd=example, env={**os.environ, "XDG_CONFIG_HOME": str(keys)}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, out + err
    assert (example / "out" / "stopped.txt").read_text() == "SIGTERM"
    cmd = Manifest.load(example / "term.json").predicate["command"]
    assert cmd["signal"] == "SIGTERM" and cmd["exit_code"] == 143
