"""Seeds and determinism settings: what the child is given, and what it really seeded."""

from __future__ import annotations

import secrets
from typing import Iterable, Mapping

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
DETERMINISM_VARIABLES = (
    "CUBLAS_WORKSPACE_CONFIG",
    "MKL_CBWR",
    "NVIDIA_TF32_OVERRIDE",
    "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE",
    "TF_DETERMINISTIC_OPS",
    "TF_CUDNN_DETERMINISTIC",
    "CUDA_LAUNCH_BLOCKING",
    "XLA_FLAGS",
    "PYTHONHASHSEED",
    "OPENBLAS_CORETYPE",
    "KMP_DETERMINISTIC_REDUCTION",
)
MAX_SEED = 2**32 - 1


def draw_seed() -> int:
    return secrets.randbits(32)


def child_variables(seed: int, threads: int | None) -> dict[str, str]:
    """The variables repro sets for the child: PYTHONHASHSEED is read at interpreter start, so it
    must be in the environment, not set from inside."""
    env = {"REPRO_SEED": str(seed), "PYTHONHASHSEED": str(seed)}
    if threads is not None:
        for name in THREAD_VARIABLES:
            env[name] = str(threads)
    return env


def capture(
    seed: int,
    source: str,
    threads: int | None,
    child_env: Mapping[str, str],
    events: Iterable[dict],
) -> dict:
    """`events` are the JSON lines the injected sitecustomize wrote; `seeded` lists what was really
    seeded (library, value, processes), not only what was asked."""
    seeded: dict[tuple[str, int], set[int]] = {}
    not_seeded: dict[str, str] = {}
    errors: list[dict] = []
    for ev in events:
        kind = ev.get("event")
        if kind == "seeded":
            seeded.setdefault((str(ev.get("lib")), int(ev.get("value", 0))), set()).add(int(ev.get("pid", 0)))
        elif kind == "not_seeded":
            not_seeded[str(ev.get("lib"))] = str(ev.get("reason", ""))
        elif kind == "error":
            errors.append({"where": str(ev.get("where")), "message": str(ev.get("message"))})
    return {
        "seed": seed,
        "source": source,
        "pythonhashseed": child_env.get("PYTHONHASHSEED"),
        "seeded": [
            {"lib": lib, "value": value, "processes": len(pids)} for (lib, value), pids in sorted(seeded.items())
        ],
        "not_seeded": [{"lib": k, "reason": v} for k, v in sorted(not_seeded.items())],
        "errors": errors,
        "threads": threads,
        "variables": {k: child_env[k] for k in (*THREAD_VARIABLES, *DETERMINISM_VARIABLES) if k in child_env},
    }
