"""Run the command on this machine inside bubblewrap (repro.sandbox): the host runner's world,
with everything outside the workspace read-only, the inputs read-only in place, and no network.

Paths repro hands the command (its working directory, the run directory, the project root) are
given as the command sees them inside; the logs and the observation files land in the workspace,
where repro reads them from outside.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path
from typing import Callable

from repro.runners.base import ExecResult, ExecSpec
from repro.runners.host import HostRunner, child_environment, run_process
from repro.sandbox.bwrap import PRIVATE_TMP, Confinement, bwrap_argv, needed_under_tmp, under
from repro.sandbox.probe import Bwrap


class SandboxRunner(HostRunner):
    name = "host"

    def __init__(self, bwrap: Bwrap, confinement: Confinement) -> None:
        self.bwrap = bwrap
        self.confinement = confinement

    def describe(self) -> dict:
        return {"name": "host", "sandbox": {"kind": "bwrap", **self.bwrap.describe(), **self.confinement.describe()}}

    def _inside(self, value: str) -> str:
        ws = str(self.confinement.workspace)
        if value == ws or value.startswith(ws + "/"):
            return str(self.confinement.root) + value[len(ws):]
        return value

    def inside_variables(self, repro_env: dict[str, str]) -> dict[str, str]:
        """repro's variables as the command must see them: paths in the workspace moved to where
        it is mounted, and a temporary directory that is writable in there."""
        env = {k: self._inside(v) for k, v in repro_env.items()}
        tmpdir = os.environ.get("TMPDIR")
        if tmpdir and not under(Path(tmpdir), PRIVATE_TMP) and not under(Path(tmpdir), self.confinement.workspace):
            env["TMPDIR"] = str(PRIVATE_TMP)
        return env

    def command_env(self, repro_env: dict[str, str]) -> dict[str, str]:
        return {**os.environ, **self.inside_variables(repro_env)}

    def execute(self, spec: ExecSpec) -> ExecResult:
        conf = self.confinement
        visible = needed_under_tmp([Path(sys.prefix), Path(sys.base_prefix), spec.inject_dir, *_program(spec.argv)])
        conf = replace(conf, visible=tuple(p for p in visible if not under(p, conf.workspace)))
        env = child_environment(dict(os.environ), replace(spec, repro_env=self.inside_variables(spec.repro_env)))
        read_fd, write_fd = os.pipe()
        open_fds = [read_fd, write_fd]

        def started(proc: subprocess.Popen) -> Callable[[], int]:
            os.close(write_fd)  # bwrap holds it now: EOF comes when bwrap is done with it
            open_fds.remove(write_fd)
            return _command_group(proc, read_fd)

        argv = bwrap_argv(self.bwrap, conf, spec.argv, conf.inside(spec.cwd), info_fd=write_fd)
        try:
            return run_process(argv, spec, env=env, cwd=Path("/"), pass_fds=(write_fd,), started=started)
        finally:
            for fd in open_fds:
                os.close(fd)


def _program(argv: tuple[str, ...]) -> list[Path]:
    """The program's own file when argv[0] is a path (a venv's python under /tmp, say)."""
    if argv and os.sep in argv[0]:
        return [Path(argv[0]).absolute().parent]
    return []


def _command_group(proc: subprocess.Popen, read_fd: int) -> Callable[[], int]:
    """bwrap reports its command's pid on the info pipe; the command leads its own session, so
    that is the process group a forwarded signal goes to. Until the pid is known (or if bwrap
    never says), the signal goes to bwrap's group, which takes the command down with it."""
    found: dict[str, int] = {}

    def read() -> None:
        data = b""
        while chunk := os.read(read_fd, 4096):
            data += chunk
            try:
                found["pid"] = int(json.loads(data)["child-pid"])
                return
            except (ValueError, KeyError, TypeError):
                continue

    threading.Thread(target=read, daemon=True).start()
    return lambda: found.get("pid", proc.pid)
