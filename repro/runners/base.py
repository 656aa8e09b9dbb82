"""The one small interface every runner implements.

A runner owns everything about *where* the command runs: how the environment is built, how the
injected ``sitecustomize`` reaches the child, how signals are forwarded, and what the world the
command sees looks like (interpreter, OS, hardware). The orchestration in ``repro.run`` knows
nothing else about it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class ExecSpec:
    """What to run and with which variables. `repro_env` holds only the variables repro sets
    (seed, thread and determinism settings, observer settings); each runner decides the base
    environment and how to put `inject_dir` first on PYTHONPATH."""

    argv: tuple[str, ...]
    cwd: Path
    project_root: Path
    repro_env: dict[str, str]
    inject_dir: Path
    stdout_log: Path
    stderr_log: Path
    echo: bool = True
    inputs: tuple[Path, ...] = ()
    """The declared inputs (host paths): a runner that can mounts them read-only."""


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    started_at: str  # RFC 3339, UTC
    ended_at: str
    duration_s: float
    signal: str | None = None  # "SIGINT" / "SIGTERM" when repro forwarded one
    extra: dict = field(default_factory=dict)


@runtime_checkable
class Runner(Protocol):
    name: str

    def prepare(self) -> None:
        """Resolve everything that can fail before the command starts (an image, an engine).
        Raises `RunnerError` with a one-line message."""

    def describe(self) -> dict:
        """The `runner` facet of the manifest: name plus what pins the execution world."""

    def probe(self, argv: tuple[str, ...], project_root: Path) -> dict:
        """Facts of the world the command runs in: the interpreter that runs it (version,
        executable, installed distributions), OS, kernel, libc — as the `deps` facet."""

    def hardware(self) -> dict:
        """The hardware the command sees, as the `hardware` facet."""

    def command_env(self, repro_env: dict[str, str]) -> dict[str, str]:
        """The whole environment the command sees (before masking): the host's for the host
        runner, the image's ENV under what repro passes for a container."""

    def execute(self, spec: ExecSpec) -> ExecResult:
        """Run the command, stream its output live and into the two log files, forward
        SIGINT/SIGTERM, and return its exit code. Never raises for a non-zero exit."""
