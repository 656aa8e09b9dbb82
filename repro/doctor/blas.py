"""Which BLAS and which numpy CPU dispatch the run's interpreter loads: the BLAS knob may only
ask for what the loaded library honours (OPENBLAS_CORETYPE means nothing to MKL), and numpy's
dispatch knob names the features numpy would dispatch to on this CPU.

Asked of the command's own interpreter in a short subprocess that imports numpy: threadpoolctl
answers when it is installed there; otherwise the shared libraries mapped into the probe
(/proc/self/maps) name the BLAS."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

PROBE = r"""
import json, sys
out = {"numpy": None, "blas": [], "method": None}
try:
    import numpy
    out["numpy"] = numpy.__version__
    try:
        from numpy._core import _multiarray_umath as m
    except ImportError:
        from numpy.core import _multiarray_umath as m
    features = getattr(m, "__cpu_features__", {})
    out["dispatch"] = [f for f in getattr(m, "__cpu_dispatch__", []) if features.get(f)]
    numpy.ones((2, 2)) @ numpy.ones((2, 2))
except Exception:
    pass
try:
    import threadpoolctl
    out["blas"] = [{"api": i.get("internal_api"), "version": i.get("version"), "architecture": i.get("architecture"),
                    "threads": i.get("num_threads"), "path": i.get("filepath")}
                   for i in threadpoolctl.threadpool_info() if i.get("user_api") == "blas"]
    out["method"] = "threadpoolctl"
except Exception:
    names = {"openblas": "openblas", "mkl_rt": "mkl", "libmkl_core": "mkl", "blis": "blis", "flexiblas": "flexiblas",
             "accelerate": "accelerate"}
    seen = {}
    try:
        for line in open("/proc/self/maps"):
            path = line.split()[-1] if "/" in line else ""
            base = path.rsplit("/", 1)[-1].lower()
            for key, api in names.items():
                if key in base and api not in seen:
                    seen[api] = path
    except OSError:
        pass
    out["blas"] = [{"api": api, "version": None, "architecture": None, "threads": None, "path": path}
                   for api, path in seen.items()]
    out["method"] = "loaded libraries"
print(json.dumps(out))
"""


@dataclass(frozen=True)
class Blas:
    api: str  # openblas | mkl | blis | flexiblas | accelerate
    version: str | None = None
    architecture: str | None = None  # the kernel OpenBLAS picked (DYNAMIC_ARCH builds)
    threads: int | None = None


@dataclass(frozen=True)
class Libraries:
    """What the probe found: numpy's version and the CPU features it dispatches to on this
    machine (beyond its baseline), and each BLAS loaded."""

    numpy: str | None = None
    dispatch: tuple[str, ...] = ()
    blas: tuple[Blas, ...] = ()
    method: str | None = None
    error: str | None = None

    @property
    def apis(self) -> set[str]:
        return {b.api for b in self.blas}

    def to_json(self) -> dict:
        return {"numpy": self.numpy, "dispatch": list(self.dispatch), "method": self.method, "error": self.error,
                "blas": [{"api": b.api, "version": b.version, "architecture": b.architecture, "threads": b.threads}
                         for b in self.blas]}


def interpreter(recorded: dict) -> str:
    """The interpreter the run used when it is still there, else this one."""
    exe = ((recorded.get("deps") or {}).get("python") or {}).get("executable")
    return exe if isinstance(exe, str) and Path(exe).is_file() else sys.executable


def probe(python: str, timeout: float = 60.0) -> Libraries:
    try:
        done = subprocess.run([python, "-c", PROBE], capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
        data = json.loads(done.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as e:
        return Libraries(error=f"the probe of {python} failed ({type(e).__name__})")
    blas = tuple(Blas(str(b.get("api")), b.get("version"), b.get("architecture"),
                      b.get("threads") if isinstance(b.get("threads"), int) else None)
                 for b in data.get("blas") or () if b.get("api"))
    return Libraries(data.get("numpy"), tuple(str(f) for f in data.get("dispatch") or ()), blas, data.get("method"))
