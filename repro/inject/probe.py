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


def _top_level_names(dist):
    """The importable top-level names a distribution provides, found as importlib.metadata's
    packages_distributions (3.10+) finds them: top_level.txt, else the first part of each path
    in RECORD. Read as text here: parsing RECORD into path objects costs several times more."""
    declared = dist.read_text("top_level.txt")
    if declared:
        return set(line.strip() for line in declared.splitlines() if line.strip())
    names = set()
    for line in (dist.read_text("RECORD") or "").splitlines():
        path = line.rsplit(",", 2)[0].strip('"')
        head, sep, _ = path.partition("/")
        if sep:
            names.add(head)
        elif path.endswith(".py"):
            names.add(path[:-3])
        elif path.endswith((".so", ".pyd")):
            names.add(path.split(".", 1)[0])
    return set(n for n in names if n and "." not in n and n != "__pycache__")


def _distributions():
    """Installed distributions, and which of them provide each top-level module name (what maps
    the modules a run imported to the distributions it used)."""
    try:
        from importlib import metadata
    except ImportError:
        return [], {}
    seen = {}
    packages = {}
    for dist in metadata.distributions():
        try:
            name = dist.metadata["Name"]
            version = dist.version
        except Exception:
            continue
        if not name or name.lower() in seen:
            continue
        seen[name.lower()] = {"name": name, "version": version}
        try:
            for module in _top_level_names(dist):
                packages.setdefault(module, []).append(name)
        except Exception:
            continue
    return sorted(seen.values(), key=lambda d: d["name"].lower()), {k: sorted(v) for k, v in sorted(packages.items())}


def describe():
    """The facts as a dict: the image probe, run inside a container, extends them."""
    libc_name, libc_version = platform.libc_ver()
    distributions, packages = _distributions()
    return {
        "python": {
            "implementation": platform.python_implementation(),
            "version": platform.python_version(),
            "executable": sys.executable,
            "prefix": sys.prefix,
            "base_prefix": getattr(sys, "base_prefix", sys.prefix),
        },
        "distributions": distributions,
        "packages": packages,
        "os": {
            "system": platform.system(),
            "release": platform.release(),
            "machine": platform.machine(),
            "libc": {"name": libc_name, "version": libc_version},
            "distro": _os_release(),
        },
    }


def main():
    facts = describe()
    # Where distributions were found: the caller stamps these directories to know when the
    # facts go stale (an install or removal changes the directory that holds the .dist-info).
    facts["search_path"] = list(sys.path)
    sys.stdout.write(json.dumps(facts, sort_keys=True))
    sys.stdout.flush()


if __name__ == "__main__":
    os.environ.pop("PYTHONHASHSEED", None)
    main()
