"""Describe the interpreter that runs this script: printed as one JSON object on stdout.

Standard library only: it runs in whatever Python the command uses (a venv, a container image).
"""

import json
import os
import platform
import sys


def _os_release():
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        try:
            with open(path, encoding="utf-8") as f:
                out = {}
                for line in f:
                    line = line.strip()
                    if "=" in line and not line.startswith("#"):
                        k, v = line.split("=", 1)
                        out[k] = v.strip().strip('"')
                return {k: out[k] for k in ("ID", "VERSION_ID", "PRETTY_NAME") if k in out}
        except OSError:
            continue
    return {}


def _distributions():
    try:
        from importlib import metadata
    except ImportError:
        return []
    seen = {}
    for dist in metadata.distributions():
        try:
            name = dist.metadata["Name"]
            version = dist.version
        except Exception:
            continue
        if name and name.lower() not in seen:
            seen[name.lower()] = {"name": name, "version": version}
    return sorted(seen.values(), key=lambda d: d["name"].lower())


def main():
    libc_name, libc_version = platform.libc_ver()
    info = {
        "python": {
            "implementation": platform.python_implementation(),
            "version": platform.python_version(),
            "executable": sys.executable,
            "prefix": sys.prefix,
            "base_prefix": getattr(sys, "base_prefix", sys.prefix),
        },
        "distributions": _distributions(),
        "os": {
            "system": platform.system(),
            "release": platform.release(),
            "machine": platform.machine(),
            "libc": {"name": libc_name, "version": libc_version},
            "distro": _os_release(),
        },
    }
    sys.stdout.write(json.dumps(info, sort_keys=True))
    sys.stdout.flush()


if __name__ == "__main__":
    os.environ.pop("PYTHONHASHSEED", None)
    main()
