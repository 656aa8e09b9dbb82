"""One container's configuration, its exit status and its attach streams."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from repro.capture.seeds import DETERMINISM_VARIABLES, THREAD_VARIABLES
from repro.errors import UsageError

if TYPE_CHECKING:
    pass




SITE_MOUNT = "/opt/repro/site"


PROBE_MOUNT = "/opt/repro/probe"


RUN_LABEL = "repro.run-id"


ROLE_LABEL = "repro.role"


STDOUT, STDERR = 1, 2


def parse_gpus(value: str | int | None) -> str | int | None:
    """`--gpus all|N` (or `gpus:` in repro.yaml) -> "all", a positive count, or None."""
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip().lower()
    if text == "all":
        return "all"
    if text.isdigit() and int(text) >= 1:
        return int(text)
    raise UsageError(f"--gpus must be 'all' or a positive number of GPUs, not {value!r}")


def container_environment(image_env: Mapping[str, str], host_env: Mapping[str, str],
                          repro_env: Mapping[str, str]) -> dict[str, str]:
    """The variables repro passes to the container; the engine puts them over the image's ENV.

    The host's own variables stay out (a container is a separate world), except the thread and
    determinism settings the host runner would pass on: the same command gets the same settings
    wherever it runs. repro's variables win, and the injected site goes first on PYTHONPATH,
    before any PYTHONPATH the image sets."""
    env = {k: host_env[k] for k in (*THREAD_VARIABLES, *DETERMINISM_VARIABLES) if k in host_env}
    env.update(repro_env)
    existing = image_env.get("PYTHONPATH")
    env["PYTHONPATH"] = SITE_MOUNT + (":" + existing if existing else "")
    if "PYTHONUNBUFFERED" not in image_env:
        env["PYTHONUNBUFFERED"] = "1"
    return env


def bind(source: Path, target: str, *, read_only: bool) -> dict:
    """A bind mount in the engine's `Mounts` form: unlike `-v`, a missing source is an error and a
    colon in a path is harmless."""
    return {"Type": "bind", "Source": str(source), "Target": target, "ReadOnly": read_only}


def input_mounts(inputs: Sequence[Path], project_root: Path) -> list[dict]:
    """The declared inputs bound read-only over the writable project mount, each at its own path
    (its real file as the source: an input reached through a symlink in the project is mounted
    where the program looks for it), so a run cannot change what it read. Inputs outside the
    project root are not the project's and are left to the project mount's rules."""
    out = []
    for path in inputs:
        target = Path(os.path.abspath(path))
        if project_root not in target.parents:
            continue
        out.append(bind(Path(os.path.realpath(path)), str(target), read_only=True))
    return out


def device_request(gpus: str | int) -> dict:
    """`--gpus all|N` as the engine's DeviceRequest (what `docker run --gpus` sends)."""
    return {"Driver": "", "Count": -1 if gpus == "all" else int(gpus), "DeviceIDs": None,
            "Capabilities": [["gpu"]], "Options": {}}


def container_config(*, image_id: str, argv: Sequence[str], cwd: str, env: Mapping[str, str],
                     mounts: Sequence[dict], user: str, network: str, gpus: str | int | None,
                     labels: Mapping[str, str], entrypoint: Sequence[str] | None = None) -> dict:
    """The body of `POST /containers/create`: the image by ID (so a tag moved since `prepare`
    cannot change what runs), output attached, no TTY, no stdin, never auto-removed (the exit code
    is read after the container stops, then repro removes it)."""
    host_config: dict[str, Any] = {"Mounts": list(mounts), "NetworkMode": network, "AutoRemove": False}
    if gpus is not None:
        host_config["DeviceRequests"] = [device_request(gpus)]
    config: dict[str, Any] = {
        "Image": image_id,
        "Cmd": list(argv),
        "Env": [f"{k}={v}" for k, v in env.items()],
        "WorkingDir": cwd,
        "User": user,
        "Labels": dict(labels),
        "AttachStdin": False,
        "AttachStdout": True,
        "AttachStderr": True,
        "OpenStdin": False,
        "Tty": False,
        "HostConfig": host_config,
    }
    if entrypoint is not None:
        config["Entrypoint"] = list(entrypoint)
    return config


def exit_status(status_code: int, received: Sequence[int], escalated: bool) -> tuple[int, str | None]:
    """Exit code and signal name to record. A command that exits by itself after the forwarded
    signal keeps its own code (as on the host); one repro had to kill reports 128 + the signal the
    user sent (130 for Ctrl-C, 143 for SIGTERM), not the 137 of the SIGKILL."""
    name = signal.Signals(received[-1]).name if received else None
    if received and escalated:
        return 128 + received[-1], name
    return status_code, name


def close_attach(sock: Any) -> None:
    """Close an attach socket, waking a reader blocked on it (close alone does not)."""
    raw = getattr(sock, "_sock", sock)
    try:
        raw.shutdown(socket.SHUT_RDWR)
    except (OSError, AttributeError):
        pass
    try:
        sock.close()
    except OSError:
        pass


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def pump_frames(sock: Any, sinks: Mapping[int, Callable[[bytes], None]]) -> None:
    """Demultiplex the attach stream (8-byte frame headers, no TTY) into the sinks by stream id."""
    from docker.utils.socket import frames_iter

    try:
        for stream, data in frames_iter(sock, False):
            sink = sinks.get(stream)
            if sink is not None and data:
                sink(data)
    except (OSError, ValueError):
        pass  # the socket was closed under us: the container is being torn down
