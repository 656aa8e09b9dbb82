"""Dependencies of the interpreter that runs the command — not repro's own.

The probe script runs with that interpreter and reports its version, every installed
distribution and the OS it sees; this module chooses the interpreter and parses the answer.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Mapping

from repro.capture.interpreter_cache import InterpreterFactsCache
from repro.inject import probe_script

_PYTHON_NAME = re.compile(r"^(python|pypy)(\d+(\.\d+)?)?$")


def is_python(argv0: str) -> bool:
    return bool(_PYTHON_NAME.match(Path(argv0).name))


def interpreter_for(argv: tuple[str, ...] | list[str], path_env: str | None) -> tuple[str | None, bool]:
    """The interpreter that will run `argv`: argv[0] when it is a Python, else the `python3` the
    command would find on PATH (marked assumed). Returns (executable or None, assumed)."""
    if argv and is_python(argv[0]):
        return shutil.which(argv[0], path=path_env), False
    return shutil.which("python3", path=path_env), True


def python_flags(argv: tuple[str, ...] | list[str]) -> list[str]:
    """Interpreter options that disable the injected sitecustomize (-I, -S, -E hides PYTHONPATH)."""
    found = []
    for arg in argv[1:]:
        if not arg.startswith("-") or arg in ("-c", "-m") or arg.startswith("--"):
            break
        for letter in "ISE":
            if letter in arg[1:]:
                found.append("-" + letter)
    return sorted(set(found))


def parse_probe(text: str) -> dict:
    data = json.loads(text)
    if not isinstance(data, dict) or "python" not in data:
        raise ValueError("probe output has no python section")
    return data


def probe_command(interpreter: str) -> list[str]:
    return [interpreter, "-I", str(probe_script())]


def capture_host(argv: tuple[str, ...] | list[str], environ: Mapping[str, str], cwd: Path,
                 cache: InterpreterFactsCache | None = None) -> dict:
    """Run the probe with the command's interpreter on the host (or take its cached answer)."""
    interpreter, assumed = interpreter_for(argv, environ.get("PATH", os.defpath))
    if interpreter is None:
        return {"python": None, "distributions": [], "os": None, "note": "no Python interpreter found for the command"}
    data = cache.get(interpreter) if cache is not None else None
    if data is None:
        started = time.time_ns()
        try:
            out = subprocess.run(
                probe_command(interpreter), capture_output=True, text=True, timeout=60, cwd=cwd,
                env={k: v for k, v in environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")},
            )
            data = parse_probe(out.stdout)
        except (OSError, subprocess.SubprocessError, ValueError) as e:
            return {"python": None, "distributions": [], "os": None, "note": f"probe of {interpreter} failed: {e}"}
        search_path = data.pop("search_path", None)
        if cache is not None and isinstance(search_path, list) and all(isinstance(p, str) for p in search_path):
            cache.put(interpreter, data, search_path, started)
    data["interpreter_assumed"] = assumed
    return data
