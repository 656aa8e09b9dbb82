"""Is bubblewrap usable here? Found on PATH, then asked once to build the namespaces a sandbox
needs; the answer is cached per bwrap binary (its path, size and mtime: a new version is a new
file) and kernel, so the next replay pays a `stat`, not a process start."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

PROBE_TIMEOUT_S = 10
CACHE_NAME = "bwrap-probe.json"


@dataclass(frozen=True)
class Bwrap:
    """A bwrap binary and what it was seen to do here."""

    path: str
    version: str | None
    usable: bool
    user_namespace: bool  # run with --unshare-user (else the binary is setuid and drops privileges itself)
    reason: str | None = None  # why it is not usable

    def describe(self) -> dict:
        return {"version": self.version, "user_namespace": self.user_namespace}


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "repro"


def probe_argv(bwrap: str, *, user_namespace: bool, command: list[str]) -> list[str]:
    """The namespaces and mounts every sandbox needs, around a command that does nothing."""
    user = ["--unshare-user", "--uid", str(os.getuid()), "--gid", str(os.getgid())] if user_namespace else []
    return [bwrap, *user, "--cap-drop", "ALL", "--unshare-net", "--die-with-parent", "--ro-bind", "/", "/",
            "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--", *command]


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0].removeprefix("bwrap: ") if lines else "no message"


def _try(argv: list[str]) -> str | None:
    """None when it worked, else the first line bwrap printed."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as e:
        return str(e)
    return None if done.returncode == 0 else _first_line(done.stderr)


def _version(bwrap: str) -> str | None:
    try:
        out = subprocess.run([bwrap, "--version"], capture_output=True, text=True, timeout=PROBE_TIMEOUT_S).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = out.split()
    return parts[-1] if parts else None


def measure(bwrap: str) -> Bwrap:
    """Start bwrap for real: with a user namespace first (unprivileged bwrap needs one; as root
    it also empties the capability bounding set), then without (a setuid bwrap on a kernel with
    user namespaces off)."""
    noop = [shutil.which("true") or sys.executable, *([] if shutil.which("true") else ["-c", "pass"])]
    version = _version(bwrap)
    first = _try(probe_argv(bwrap, user_namespace=True, command=noop))
    if first is None:
        return Bwrap(bwrap, version, True, True)
    second = _try(probe_argv(bwrap, user_namespace=False, command=noop))
    if second is None:
        return Bwrap(bwrap, version, True, False)
    return Bwrap(bwrap, version, False, False, f"bwrap cannot create namespaces here ({first})")


def _cache_key(path: str) -> str:
    st = os.stat(path)
    return f"{os.path.realpath(path)}:{st.st_size}:{st.st_mtime_ns}:{os.getuid()}:{os.uname().release}"


def find() -> Bwrap:
    """The bwrap on PATH and whether it works, from the cache when this binary was probed already."""
    path = shutil.which("bwrap")
    if path is None:
        return Bwrap("bwrap", None, False, False, "bwrap is not installed (the bubblewrap package)")
    key = _cache_key(path)
    cache = cache_dir() / CACHE_NAME
    try:
        cached = json.loads(cache.read_text())
        if cached.get("key") == key:
            return Bwrap(**cached["bwrap"])
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        pass
    found = measure(path)
    try:
        from repro.evidence.jsonio import write_atomic

        cache.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(cache, json.dumps({"key": key, "bwrap": asdict(found)}).encode())
    except OSError:
        pass  # an unwritable cache only costs the probe again next time
    return found
