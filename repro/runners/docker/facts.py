"""What the manifest says about an image: probed inside it once per image ID and cached, and what the engine grants."""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

if TYPE_CHECKING:
    pass




CACHE_FORMAT = 1


def image_environment(image_env: Sequence[str] | None) -> dict[str, str]:
    """`["PATH=/usr/bin", ...]` (an image's Config.Env) as a dict."""
    out: dict[str, str] = {}
    for item in image_env or ():
        key, sep, value = item.partition("=")
        if sep:
            out[key] = value
    return out


def os_packages_facet(raw: dict | None, algorithm: str) -> dict | None:
    """The OS package list the image probe found, sorted, with a digest over its canonical JSON so
    two images compare in one step and a difference is named by the list."""
    if not raw or not isinstance(raw.get("packages"), list):
        return None
    from repro.data.digest import digest_bytes
    from repro.evidence.jsonio import canonical_bytes

    packages = sorted(raw["packages"], key=lambda p: (p.get("name", ""), p.get("arch", ""), p.get("version", "")))
    return {
        "manager": raw.get("manager"),
        "digest": digest_bytes(canonical_bytes(packages), algorithm),
        "count": len(packages),
        "packages": packages,
    }


def deps_facet(probed: dict, *, assumed: bool, kernel: str | None, algorithm: str) -> dict:
    """The `deps` facet from what the image probe printed. The kernel is the engine host's, not
    the image's: it is taken from the engine on every run, never from the cache."""
    out = {k: v for k, v in probed.items() if k != "os_packages"}
    out["interpreter_assumed"] = assumed
    if isinstance(out.get("os"), dict) and kernel:
        out["os"] = {**out["os"], "release": kernel}
    out["os_packages"] = os_packages_facet(probed.get("os_packages"), algorithm)
    return out


def container_hardware(host: dict, engine: Mapping[str, Any], gpus: str | int | None, *, local: bool) -> dict:
    """The machine as the container sees it. A container shares the engine host's kernel, so the
    CPU model and the ISA flags are the host's /proc/cpuinfo when the engine is local. Cores and
    memory are what the engine grants: repro sets no CPU or memory limit, so the engine host's.
    GPUs: none unless requested; `--gpus N` gives the first N."""
    if local:
        cpu = dict(host.get("cpu", {}))
    else:
        cpu = {"model": None, "vendor": None, "flags": [], "architecture": engine.get("Architecture")}
    if engine.get("NCPU"):
        cpu["logical_cores"] = engine["NCPU"]
        cpu["usable_cores"] = engine["NCPU"]
    visible = list(host.get("gpus", [])) if local else []
    out = {
        "cpu": cpu,
        "memory_bytes": engine.get("MemTotal") or host.get("memory_bytes"),
        "gpus": [] if gpus is None else visible if gpus == "all" else visible[: int(gpus)],
        "container_limits": {"cpus": None, "memory_bytes": None},
    }
    if not local:
        out["note"] = "the engine is not on this machine: CPU model, flags and GPUs are not known"
    return out


class ImageFactsCache:
    """What the image probe printed, one JSON file per image ID, one entry per interpreter name.

    An image ID is the digest of the image's content, so facts probed inside it cannot go stale;
    the kernel and the hardware, which belong to the machine, are never cached. The files are
    written atomically, and one that cannot be read is ignored and probed again."""

    def __init__(self, directory: Path, version: str | None = None) -> None:
        self.directory = directory
        if version is not None:
            self.version = version

    @cached_property
    def version(self) -> str:
        from repro.inject import probe_version

        return probe_version()

    def path(self, image_id: str) -> Path:
        return self.directory / f"{image_id.split(':', 1)[-1]}.json"

    def _load(self, image_id: str) -> dict:
        try:
            data = json.loads(self.path(image_id).read_bytes())
        except (OSError, ValueError):
            return {}
        ok = isinstance(data, dict) and data.get("format") == CACHE_FORMAT and data.get("probe") == self.version
        if not ok or data.get("image_id") != image_id or not isinstance(data.get("interpreters"), dict):
            return {}
        return data

    def get(self, image_id: str, interpreter: str) -> dict | None:
        facts = self._load(image_id).get("interpreters", {}).get(interpreter)
        return facts if isinstance(facts, dict) and "python" in facts else None

    def put(self, image_id: str, interpreter: str, facts: dict) -> None:
        from repro.evidence.jsonio import write_atomic

        data = self._load(image_id) or {"format": CACHE_FORMAT, "probe": self.version, "image_id": image_id,
                                        "interpreters": {}}
        data["interpreters"][interpreter] = facts
        try:
            write_atomic(self.path(image_id), json.dumps(data, sort_keys=True).encode())
        except OSError:
            pass  # a cache that cannot be written only costs the next run a probe
