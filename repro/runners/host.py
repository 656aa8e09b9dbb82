"""Run the command on this machine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from repro.capture import deps, hardware
from repro.capture.interpreter_cache import InterpreterFactsCache
from repro.errors import RunnerError
from repro.runners.base import ExecResult, ExecSpec
from repro.runners.streams import binary_sink, raise_log_failures, tee

FORWARDED = (signal.SIGINT, signal.SIGTERM)


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _own_group_dying_with_parent() -> None:
    """Runs in the child between fork and exec. Its own process group means a Ctrl-C reaches
    repro once and is forwarded once; PR_SET_PDEATHSIG means a `kill -9` of repro does not
    leave the command running unobserved."""
    os.setpgrp()
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def child_environment(base: dict[str, str], spec: ExecSpec) -> dict[str, str]:
    env = dict(base)
    env.update(spec.repro_env)
    existing = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(spec.inject_dir) + (os.pathsep + existing if existing else "")
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


class HostRunner:
    name = "host"

    def prepare(self) -> None:
        return None

    def describe(self) -> dict:
        return {"name": "host"}

    def probe(self, argv: tuple[str, ...], project_root: Path) -> dict:
        cache = InterpreterFactsCache(project_root / ".repro" / "cache" / "interpreters")
        return deps.capture_host(argv, os.environ, project_root, cache)

    def hardware(self) -> dict:
        return hardware.capture()

    def command_env(self, repro_env: dict[str, str]) -> dict[str, str]:
        return {**os.environ, **repro_env}

    def execute(self, spec: ExecSpec) -> ExecResult:
        return run_process(list(spec.argv), spec, env=child_environment(dict(os.environ), spec), cwd=spec.cwd)


def run_process(argv: list[str], spec: ExecSpec, *, env: dict[str, str], cwd: Path, pass_fds: tuple[int, ...] = (),
                started: Callable[[subprocess.Popen], Callable[[], int]] | None = None) -> ExecResult:
    """Start `argv`, tee its output, forward SIGINT/SIGTERM, wait. `started(proc)` may return
    where signals go (a process group id, asked for at each signal) when that is not the
    process started (a sandbox's command runs in its own session below bwrap)."""
    started_at = utc_now()
    t0 = time.monotonic()
    # Own process group: a Ctrl-C reaches repro once and is forwarded once, to the whole group.
    group = {"preexec_fn": _own_group_dying_with_parent}
    try:
        proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=pass_fds, **group
        )
    except FileNotFoundError as e:
        raise RunnerError(f"command not found: {argv[0]}") from e
    except PermissionError as e:
        raise RunnerError(f"command is not executable: {argv[0]}") from e
    target = started(proc) if started is not None else (lambda: proc.pid)
    received: list[int] = []

    def forward(signum, _frame):
        received.append(signum)
        try:
            os.killpg(target(), signum)
        except ProcessLookupError:
            pass

    previous = {s: signal.signal(s, forward) for s in FORWARDED}
    try:
        out = tee(proc.stdout, spec.stdout_log, binary_sink(sys.stdout) if spec.echo else None)
        err = tee(proc.stderr, spec.stderr_log, binary_sink(sys.stderr) if spec.echo else None)
        code = proc.wait()
        out.join()
        err.join()
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
    raise_log_failures(out, err)
    duration = time.monotonic() - t0
    exit_code = 128 - code if code < 0 else code
    sig = signal.Signals(received[-1]).name if received else (signal.Signals(-code).name if code < 0 else None)
    return ExecResult(exit_code, started_at, utc_now(), round(duration, 6), sig)
