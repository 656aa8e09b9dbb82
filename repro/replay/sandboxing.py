"""Which sandbox a replay runs in, and what it confines: the piece of replay that decides
between bubblewrap and the copying workspace, builds the bwrap mounts from the manifest, and
writes the report's one line about it."""

from __future__ import annotations

import os
from pathlib import Path

from repro.errors import UsageError
from repro.evidence.manifest import Manifest, check_relpath
from repro.sandbox import Choice, Sandbox, choose
from repro.sandbox.bwrap import PRIVATE_TMP, Confinement, Mount, under


def recorded_sandbox(manifest: Manifest) -> dict | None:
    return (manifest.predicate.get("runner") or {}).get("sandbox")


def is_container(manifest: Manifest, image: str | None) -> bool:
    return manifest.predicate["runner"]["name"] == "docker" or image is not None


def is_slurm_job(manifest: Manifest) -> bool:
    from repro.capture.distributed import launcher_of

    pred = manifest.predicate
    dist = pred.get("distributed") or {}
    return dist.get("launcher") == "slurm" or launcher_of(pred["command"]["argv"]) == "slurm"


def pick(manifest: Manifest, mode: str | None, config: dict, image: str | None) -> Choice:
    """`--sandbox`, else `sandbox:` of repro.yaml, else auto. A container run is confined by its
    container (inputs mounted read-only), so bwrap does not apply to it."""
    mode = mode or config.get("sandbox") or "auto"
    if is_slurm_job(manifest):
        if mode == "bwrap":
            raise UsageError("--sandbox bwrap: the recorded job ran under Slurm, whose tasks slurmd starts outside any "
                             "sandbox this process could make; it replays in the copying workspace")
        return Choice("copy", reason="a Slurm job's tasks are started by slurmd, outside any sandbox of this process: "
                                     "the copying workspace and repro's write guard confine them")
    if is_container(manifest, image):
        if mode == "bwrap":
            raise UsageError("--sandbox bwrap: the recorded run ran in a container, which replays in one")
        return Choice("docker", reason=None)
    return choose(mode)


def inside_root(manifest: Manifest, root: Path) -> tuple[Path, str | None]:
    """Where the workspace appears in the sandbox: the recorded project root, so the program sees
    the absolute paths it saw, when that is a plain absolute path that can be mounted over here;
    else this project's root, with a note saying why."""
    recorded = manifest.predicate["command"].get("project_root")
    if not recorded:
        return root, None
    path = Path(recorded)
    plain = path.is_absolute() and os.path.normpath(recorded) == recorded and "\0" not in recorded
    if plain and path != Path("/") and (path.is_dir() or under(path, PRIVATE_TMP)):
        return path, None
    return root, (f"the recorded project root {recorded} cannot be mounted here; the replay runs at {root}, so "
                  "absolute paths the program records may differ")


def plan(manifest: Manifest, choice: Choice, root: Path, ws_root: Path, *, network: bool) -> tuple[Sandbox, str | None]:
    """bwrap over the workspace at the recorded root, with every recorded input (declared and
    observed, digests checked already) bound read-only from the project at its own place. A state
    file is not: its content before the run is restored into the workspace, for the program to
    rewrite."""
    assert choice.bwrap is not None
    at, note = inside_root(manifest, root)
    mounts = tuple(Mount(root / check_relpath(a["path"], what="input path"), at / a["path"])
                   for a in manifest.predicate["inputs"] if not a.get("state"))  # state: restored, writable
    allowed = network or bool((recorded_sandbox(manifest) or {}).get("network"))
    return Sandbox(choice.bwrap, Confinement(workspace=ws_root, root=at, read_only=mounts, network=allowed)), note


def outside_notes(replayed: Manifest, kind: str) -> list[str]:
    """Files outside the workspace the replayed program was seen to write (the hook records them
    in `observed.outside`): in bwrap those writes failed or went to its private /tmp; the report
    names them so a program that depends on them is explained."""
    outside = [o["path"] for o in (replayed.predicate.get("observed") or {}).get("outside") or []]
    if kind != "bwrap" or not outside:
        return []
    shown = ", ".join(outside[:5]) + (f" and {len(outside) - 5} more" if len(outside) > 5 else "")
    return [f"the replayed program tried to write {len(outside)} file(s) outside the workspace, which the sandbox "
            f"kept from the host: {shown}"]
