"""Describe a container image from inside it: the interpreter and its distributions (probe.py)
plus the OS package list. Printed as one JSON object on stdout.

Standard library only, like probe.py: it runs with whatever Python the image has (3.6 and later).
repro runs it once per image ID and caches the answer, because an image pinned by its ID or
digest cannot change underneath the cache.
"""

import importlib.util
import json
import os
import subprocess
import sys

DPKG_STATUS = "/var/lib/dpkg/status"
DPKG_STATUS_DIR = "/var/lib/dpkg/status.d"  # distroless images: one stanza per file, no dpkg-query
APK_DB = "/lib/apk/db/installed"
DPKG_FORMAT = "${Package}\\t${Version}\\t${Architecture}\\t${db:Status-Abbrev}\\n"
# Second letter of db:Status-Abbrev: the package is installed (W/t: triggers pending or awaited).
INSTALLED_STATES = "iWt"


def _load_probe():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "probe.py")
    spec = importlib.util.spec_from_file_location("_repro_probe", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _package(name, version, arch):
    out = {"name": name, "version": version}
    if arch:
        out["arch"] = arch
    return out


def parse_dpkg_query(text):
    """Lines of `dpkg-query -W -f=DPKG_FORMAT`: installed packages only."""
    packages = []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) < 4 or not parts[0]:
            continue
        name, version, arch, status = parts[:4]
        if len(status) >= 2 and status[1] in INSTALLED_STATES:
            packages.append(_package(name, version, arch))
    return packages


def _stanzas(text):
    fields = {}
    key = None
    for line in text.splitlines():
        if not line.strip():
            if fields:
                yield fields
            fields, key = {}, None
        elif line[0] in " \t":
            continue  # continuation line of a multi-line field (Description, Conffiles)
        elif ":" in line:
            key, _, value = line.partition(":")
            fields[key.strip()] = value.strip()
    if fields:
        yield fields


def parse_dpkg_status(text, require_status=True):
    """The dpkg status database. Files under status.d carry no Status field: every stanza there
    is an installed package (require_status=False)."""
    packages = []
    for f in _stanzas(text):
        if "Package" not in f:
            continue
        if require_status and not f.get("Status", "").endswith(" installed"):
            continue
        packages.append(_package(f["Package"], f.get("Version", ""), f.get("Architecture", "")))
    return packages


def parse_apk_installed(text):
    """Alpine's database: stanzas of one-letter fields (P name, V version, A architecture)."""
    packages = []
    for f in _stanzas(text):
        if "P" in f:
            packages.append(_package(f["P"], f.get("V", ""), f.get("A", "")))
    return packages


def _read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def _dpkg():
    try:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f=" + DPKG_FORMAT],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, universal_newlines=True, timeout=60,
        )
        if out.returncode == 0:
            return {"manager": "dpkg", "source": "dpkg-query", "packages": parse_dpkg_query(out.stdout)}
    except (OSError, subprocess.SubprocessError):
        pass
    packages = []
    if os.path.isfile(DPKG_STATUS):
        packages += parse_dpkg_status(_read(DPKG_STATUS))
    if os.path.isdir(DPKG_STATUS_DIR):
        for name in sorted(os.listdir(DPKG_STATUS_DIR)):
            packages += parse_dpkg_status(_read(os.path.join(DPKG_STATUS_DIR, name)), require_status=False)
    return {"manager": "dpkg", "source": "status file", "packages": packages}


def os_packages():
    """The OS package list, or None for an image without a known package manager."""
    try:
        if os.path.isfile(DPKG_STATUS) or os.path.isdir(DPKG_STATUS_DIR):
            return _dpkg()
        if os.path.isfile(APK_DB):
            return {"manager": "apk", "source": APK_DB, "packages": parse_apk_installed(_read(APK_DB))}
    except OSError:
        pass
    return None


def main():
    info = _load_probe().describe()
    info["os_packages"] = os_packages()
    sys.stdout.write(json.dumps(info, sort_keys=True))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
