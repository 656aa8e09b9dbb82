"""The machine the command sees: CPU and the ISA flags that change float results, memory, GPUs."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess

NUMERIC_FLAGS = ("sse2", "sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512dq", "avx512bw",
                 "avx512vl", "avx512_bf16", "avx512_fp16", "avx512_vnni", "amx_bf16", "amx_tile", "neon", "asimd",
                 "sve", "sve2", "fp16", "asimdhp")


def parse_cpuinfo(text: str) -> dict:
    """Pure: model, vendor and the numerics-relevant flags from /proc/cpuinfo text."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if fields:
                break
            continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip().lower(), value.strip())
    flags = set((fields.get("flags") or fields.get("features") or "").split())
    return {
        "model": fields.get("model name") or fields.get("cpu model") or fields.get("hardware") or platform.processor() or None,
        "vendor": fields.get("vendor_id") or fields.get("cpu implementer") or None,
        "flags": sorted(f for f in NUMERIC_FLAGS if f in flags),
    }


def parse_nvidia_smi(text: str) -> list[dict]:
    gpus = []
    for line in text.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 5:
            continue
        name, driver, memory, uuid, cc = parts[:5]
        gpus.append({"name": name, "driver": driver, "memory_mib": int(memory) if memory.isdigit() else None,
                     "uuid": uuid, "compute_capability": cc})
    return gpus


def _gpus() -> list[dict]:
    smi = shutil.which("nvidia-smi")
    if not smi:
        return []
    try:
        out = subprocess.run(
            [smi, "--query-gpu=name,driver_version,memory.total,uuid,compute_cap", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = parse_nvidia_smi(out)
    try:
        header = subprocess.run([smi], capture_output=True, text=True, timeout=10).stdout
        cuda = next((seg.split(":")[1].strip().split()[0] for seg in header.split("|") if "CUDA Version" in seg), None)
    except (OSError, subprocess.SubprocessError, IndexError):
        cuda = None
    for g in gpus:
        g["cuda"] = cuda
    return gpus


def capture() -> dict:
    import psutil

    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            cpu = parse_cpuinfo(f.read())
    except OSError:
        cpu = {"model": platform.processor() or None, "vendor": None, "flags": []}
    cpu["architecture"] = platform.machine()
    cpu["logical_cores"] = psutil.cpu_count(logical=True)
    cpu["physical_cores"] = psutil.cpu_count(logical=False)
    try:
        cpu["usable_cores"] = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpu["usable_cores"] = cpu["logical_cores"]
    return {"cpu": cpu, "memory_bytes": psutil.virtual_memory().total, "gpus": _gpus()}
