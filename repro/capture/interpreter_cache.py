"""What the probe said about a host interpreter, kept until something it depends on changes.

The probe (its interpreter's start-up plus a walk over every installed distribution) is the
largest fixed cost of a short `repro run`: about a third of a second with a few hundred
distributions. Its answer depends on the interpreter binary, the directories on its search path
(installing, upgrading or removing a distribution adds or removes a `.dist-info` directory there,
which changes the directory's mtime), the OS release files, the kernel, and the probe code itself.
Each of those is stamped when the answer is cached; a later run re-stats them (a few `stat` calls)
and probes again as soon as one differs. A cache that cannot be read or written only costs a probe.

What is trusted here is no more than what the probe itself would be: the files live under the
project's `.repro/cache/`, like the image facts.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

CACHE_FORMAT = "repro-interpreter-facts-1"
OS_FILES = ("/etc/os-release", "/usr/lib/os-release")


def _stamp(path: str) -> list[int] | None:
    """What changes when a file or directory is replaced or its entries change; None when absent."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def _venv_config(interpreter: str) -> str:
    return os.path.join(os.path.dirname(os.path.dirname(interpreter)), "pyvenv.cfg")


def stamps(interpreter: str, search_path: list[str]) -> dict[str, Any]:
    """The stamps of everything the probe's answer depends on, as one comparable value."""
    uname = os.uname()
    paths = [interpreter, os.path.realpath(interpreter), _venv_config(interpreter), *OS_FILES, *search_path]
    return {
        "kernel": [uname.sysname, uname.release, uname.machine],
        "files": [[p, _stamp(p)] for p in paths],
    }


class InterpreterFactsCache:
    """One JSON file per interpreter path, written atomically."""

    def __init__(self, directory: Path, version: str | None = None) -> None:
        self.directory = directory
        self._version = version

    @property
    def version(self) -> str:
        if self._version is None:
            from repro.inject import probe_version

            self._version = probe_version()
        return self._version

    def path(self, interpreter: str) -> Path:
        return self.directory / (hashlib.sha256(interpreter.encode("utf-8", "surrogateescape")).hexdigest()[:32] + ".json")

    def get(self, interpreter: str) -> dict | None:
        """The cached facts when every stamp still matches, else None."""
        try:
            data = json.loads(self.path(interpreter).read_bytes())
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT or data.get("probe") != self.version:
            return None
        facts, search_path = data.get("facts"), data.get("search_path")
        if data.get("interpreter") != interpreter or not isinstance(facts, dict) or "python" not in facts:
            return None
        if not isinstance(search_path, list) or not all(isinstance(p, str) for p in search_path):
            return None
        return facts if data.get("stamps") == stamps(interpreter, search_path) else None

    def put(self, interpreter: str, facts: dict, search_path: list[str], started_ns: int) -> None:
        """Cache what a probe that started at `started_ns` (time.time_ns) said — unless something
        it depends on changed since shortly before: that answer may already be stale, and the
        next run probes again. The second of slack covers coarse file system timestamps."""
        from repro.evidence.jsonio import write_atomic

        stamped = stamps(interpreter, search_path)
        if any(st is not None and st[3] >= started_ns - 1_000_000_000 for _, st in stamped["files"]):
            return
        data = {"format": CACHE_FORMAT, "probe": self.version, "interpreter": interpreter,
                "search_path": search_path, "stamps": stamped, "facts": facts}
        try:
            write_atomic(self.path(interpreter), json.dumps(data, sort_keys=True).encode())
        except OSError:
            pass
