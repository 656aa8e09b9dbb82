"""The run's records under `.repro/tmp/<run-id>/`: masked at the source, private, never left behind.

Every Python process of the run writes its command line and the commands it starts there, so
the hook masks them with repro's own rules before they reach the disk; the directory is 0700 and
the files 0600; and the directory of a run killed with `kill -9` is removed by the next run."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time

from tests.hardening.cases import cli, cli_env, make_example, pid_alive, wait_for

# The program reads its own run's records while the run is going on, as anyone on the machine might.
SNOOP = """
import json, os, stat, subprocess, sys
subprocess.run(["true", "--password", "PW-SUBPROCESS-1"])
subprocess.run([sys.executable, "-c", "pass", "--token=SECRET-CHILD-2", "--db-pass", "PW-CHILD-3"])
run_dir = os.environ["REPRO_RUN_DIR"]
files = {n: open(os.path.join(run_dir, n)).read() for n in os.listdir(run_dir) if n.startswith("proc-")}
modes = {n: stat.S_IMODE(os.stat(os.path.join(run_dir, n)).st_mode) for n in files}
json.dump({"dir": stat.S_IMODE(os.stat(run_dir).st_mode), "modes": modes, "text": "".join(files.values())},
          open("snoop.json", "w"))
"""


def test_records_hold_no_secret_and_are_private_while_the_run_goes_on(tmp_path, keys):
    project = make_example(tmp_path / "p")
    (project / "snoop.py").write_text(SNOOP)
    run = cli("run", "-q", "--manifest", "run.json", "--", sys.executable, "snoop.py", "--api-token=SECRET-ARGV-4",
              cwd=project, xdg=keys)
    assert run.returncode == 0, run.stderr
    seen = json.loads((project / "snoop.json").read_text())
    assert seen["dir"] == 0o700
    assert seen["modes"] and set(seen["modes"].values()) == {0o600}
    text = seen["text"]
    assert text.count('"argv"') >= 2  # the records of both Python processes were there to read
    for secret in ("PW-SUBPROCESS-1", "SECRET-CHILD-2", "PW-CHILD-3", "SECRET-ARGV-4"):
        assert secret not in text, secret
    manifest = (project / "run.json").read_text()
    assert "PW-SUBPROCESS-1" not in manifest and "SECRET-ARGV-4" not in manifest


def test_the_next_run_removes_the_directory_of_a_run_killed_with_kill_9(tmp_path, keys):
    project = make_example(tmp_path / "p")
    (project / "sleeper.py").write_text("import time\nopen('started', 'w').write('1')\ntime.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-m", "repro", "run", "-q", "--manifest", "a.json", "--",
                             sys.executable, "sleeper.py", "--token=KILLED-SECRET"], cwd=project, env=cli_env(keys),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert wait_for(project / "started")
    tmp = project / ".repro" / "tmp"
    (killed,) = list(tmp.iterdir())
    assert stat.S_IMODE(killed.stat().st_mode) == 0o700
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(pid_alive(int(p.name[5:-6])) for p in killed.glob("proc-*.jsonl")):
        time.sleep(0.05)  # the command dies with repro (PR_SET_PDEATHSIG)
    assert killed.is_dir()  # a kill -9 cannot clean up
    assert "KILLED-SECRET" not in "".join(p.read_text() for p in killed.glob("proc-*.jsonl"))
    live = tmp / "someone-else"  # a run still going on (this test's own process owns it)
    live.mkdir()
    from repro.run_dir import OWNER, _started

    (live / OWNER).write_text(f"{os.getpid()} {_started(os.getpid())}\n")
    again = cli("run", "-q", "--manifest", "b.json", "--", "true", cwd=project, xdg=keys)
    assert again.returncode == 0, again.stderr
    assert not killed.exists()
    assert live.is_dir()
