"""The probe that describes a container image from inside it (standard library only)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from repro.inject import image_probe, probe_script

DPKG_QUERY = (
    "adduser\t3.134\tall\tii \n"
    "libc6\t2.36-9+deb12u4\tamd64\tii \n"
    "oldpkg\t1.0\tamd64\trc \n"  # removed, config files left: not installed
    "held\t2.0\tamd64\thi \n"
    "pending\t3.0\tamd64\tiW \n"
    "garbage line\n"
)

DPKG_STATUS = """Package: adduser
Status: install ok installed
Architecture: all
Version: 3.134
Description: add and remove users and groups
 This package includes the 'adduser' command.
 .
 Version: not a field (continuation line)

Package: gone
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0

Package: libc6
Status: install ok installed
Architecture: amd64
Multi-Arch: same
Version: 2.36-9
"""

APK_DB = """C:Q1abc=
P:musl
V:1.2.4-r2
A:x86_64
T:the musl c library

P:busybox
V:1.36.1-r5
A:x86_64
"""


def test_dpkg_query_lines_keep_installed_packages_only():
    assert image_probe.parse_dpkg_query(DPKG_QUERY) == [
        {"name": "adduser", "version": "3.134", "arch": "all"},
        {"name": "libc6", "version": "2.36-9+deb12u4", "arch": "amd64"},
        {"name": "held", "version": "2.0", "arch": "amd64"},
        {"name": "pending", "version": "3.0", "arch": "amd64"},
    ]


def test_dpkg_status_file_skips_continuations_and_removed_packages():
    assert image_probe.parse_dpkg_status(DPKG_STATUS) == [
        {"name": "adduser", "version": "3.134", "arch": "all"},
        {"name": "libc6", "version": "2.36-9", "arch": "amd64"},
    ]


def test_distroless_status_d_stanzas_have_no_status_field():
    stanza = "Package: base-files\nVersion: 12.4\nArchitecture: amd64\n"
    assert image_probe.parse_dpkg_status(stanza) == []
    assert image_probe.parse_dpkg_status(stanza, require_status=False) == [
        {"name": "base-files", "version": "12.4", "arch": "amd64"}]


def test_apk_database():
    assert image_probe.parse_apk_installed(APK_DB) == [
        {"name": "musl", "version": "1.2.4-r2", "arch": "x86_64"},
        {"name": "busybox", "version": "1.36.1-r5", "arch": "x86_64"},
    ]


def test_the_image_probe_sits_beside_the_interpreter_probe():
    assert (probe_script().parent / "image_probe.py").is_file()


@pytest.mark.skipif(not Path("/var/lib/dpkg/status").is_file() or not shutil.which("dpkg-query"),
                    reason="needs a Debian-family machine")
def test_runs_isolated_as_a_script_and_prints_one_json_object():
    script = probe_script().parent / "image_probe.py"
    out = subprocess.run([sys.executable, "-I", str(script)], capture_output=True, text=True, check=True, cwd="/")
    facts = json.loads(out.stdout)
    assert facts["python"]["executable"] and facts["os"]["system"] == "Linux"
    packages = facts["os_packages"]
    assert packages["manager"] == "dpkg" and packages["source"] == "dpkg-query"
    assert any(p["name"] == "dpkg" for p in packages["packages"])
