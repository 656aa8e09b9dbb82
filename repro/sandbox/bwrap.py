"""The bwrap command line for one sandbox, as a pure function of what it must confine.

The world inside: the host's file system read-only, a fresh `/dev` (plus the GPU devices, which
training needs) and `/proc`, a private `/tmp`, the workspace writable at the project root the
command expects, each input bound read-only at its own path inside it, no network unless asked,
no capabilities, the caller's uid, and a process that dies with repro.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

from repro.sandbox.probe import Bwrap

PRIVATE_TMP = Path("/tmp")
DEVICE_GLOBS = ("/dev/nvidia*", "/dev/dri")
"""Devices the fresh `/dev` would hide from a training program: NVIDIA GPUs and DRM render nodes."""


@dataclass(frozen=True)
class Mount:
    source: Path  # on the host
    target: Path  # inside the sandbox


@dataclass(frozen=True)
class Confinement:
    """What one sandbox confines. `workspace` is the host directory the command may write;
    inside it appears at `root` (the recorded project root for a replay, itself for a run)."""

    workspace: Path
    root: Path
    read_only: tuple[Mount, ...] = ()
    network: bool = False
    visible: tuple[Path, ...] = ()
    """Host paths under the private /tmp that the command still needs read-only (an interpreter or
    the injected hook living there)."""
    devices: tuple[Path, ...] = field(default_factory=lambda: tuple(present_devices()))

    def inside(self, host_path: Path) -> Path:
        """Where a host path under the workspace appears inside; other paths are unchanged."""
        try:
            return self.root / host_path.relative_to(self.workspace)
        except ValueError:
            return host_path

    def describe(self) -> dict:
        return {"network": self.network, "read_only_inputs": len(self.read_only)}


def present_devices() -> list[Path]:
    return [Path(p) for pattern in DEVICE_GLOBS for p in sorted(glob.glob(pattern))]


def under(path: Path, parent: Path) -> bool:
    return path == parent or parent in path.parents


def needed_under_tmp(paths: list[Path]) -> tuple[Path, ...]:
    """The paths (interpreter prefix, hook directory, ...) the private /tmp would hide."""
    out: list[Path] = []
    for path in paths:
        real = Path(os.path.realpath(path))
        if under(real, PRIVATE_TMP) and real != PRIVATE_TMP and real not in out and os.path.exists(real):
            out.append(real)
    return tuple(out)


def bwrap_argv(bwrap: Bwrap, conf: Confinement, argv: list[str] | tuple[str, ...], cwd: Path, *,
               info_fd: int | None = None) -> list[str]:
    """The whole command line: bwrap, its options in the order it applies them, `--`, the command.
    Mounts are applied in order, so the workspace goes over the read-only root and the inputs over
    the workspace. `--new-session` puts the command in its own session: a program in the sandbox
    cannot push keystrokes into the terminal (TIOCSTI), and repro signals its process group."""
    args = [bwrap.path]
    if bwrap.user_namespace:
        args += ["--unshare-user", "--uid", str(os.getuid()), "--gid", str(os.getgid())]
    args += ["--cap-drop", "ALL", "--die-with-parent", "--new-session"]
    if not conf.network:
        args.append("--unshare-net")
    args += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for device in conf.devices:
        args += ["--dev-bind", str(device), str(device)]
    args += ["--tmpfs", str(PRIVATE_TMP)]
    for path in conf.visible:
        args += ["--ro-bind", str(path), str(path)]
    args += ["--bind", str(conf.workspace), str(conf.root)]
    for mount in conf.read_only:
        args += ["--ro-bind", str(mount.source), str(mount.target)]
    args += ["--chdir", str(cwd)]
    if info_fd is not None:
        args += ["--info-fd", str(info_fd)]
    return [*args, "--", *argv]
