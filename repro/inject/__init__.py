"""Code that runs inside the user's Python, not repro's.

`site/` holds only `sitecustomize.py` and `_repro_masking.py` (the masking rules, which repro
imports from there too): that directory goes first on the child's PYTHONPATH, so it must not
shadow any module name a user might import. `probe.py` is run as a script by path with
the interpreter that runs the command. Both are standard library only.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def site_dir() -> Path:
    """Directory to put first on PYTHONPATH (installed packages are plain directories)."""
    return Path(str(resources.files("repro.inject") / "site"))


def probe_script() -> Path:
    return Path(str(resources.files("repro.inject") / "probe.py"))


def probe_version() -> str:
    """Digest of the probe scripts: facts cached by other probe code are never reused."""
    from repro.data.digest import digest_bytes

    here = probe_script().parent
    data = (here / "probe.py").read_bytes() + b"\0" + (here / "image_probe.py").read_bytes()
    return digest_bytes(data, "xxh3_128")["xxh3_128"]
