"""The replay (and, on request, the run) sandbox: bubblewrap where it works, else the copy.

`choose` turns `--sandbox auto|bwrap|copy` into a decision before anything runs: `bwrap` asked
for and not usable is a usage error (exit 2); `auto` falls back to the copying workspace and says
why, so the report can say what the replay was and was not confined by.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from repro.errors import UsageError
from repro.sandbox.bwrap import Confinement
from repro.sandbox.probe import Bwrap, find

if TYPE_CHECKING:
    from repro.config import RunSpec

MODES = ("auto", "bwrap", "copy")


@dataclass(frozen=True)
class Sandbox:
    """A usable bwrap and what it is to confine: what a run spec carries to the runner."""

    bwrap: Bwrap
    confinement: Confinement


@dataclass(frozen=True)
class Choice:
    kind: str  # "bwrap" | "copy"
    bwrap: Bwrap | None = None
    reason: str | None = None  # why the copy, when it is one


def choose(mode: str) -> Choice:
    if mode not in MODES:
        raise UsageError(f"unknown sandbox {mode!r} (choose from {', '.join(MODES)})")
    if mode == "copy":
        return Choice("copy", reason="--sandbox copy was asked for")
    found = find()
    if found.usable:
        return Choice("bwrap", found)
    if mode == "bwrap":
        raise UsageError(f"--sandbox bwrap: {found.reason}")
    return Choice("copy", reason=found.reason)


def sandboxed_run(spec: RunSpec) -> RunSpec:
    """`repro run --sandbox`: the same sandbox around the recorded run, the project itself the
    writable workspace at its own path, the network off unless `--network` names one. bwrap
    unusable is a usage error before anything runs, never a silent unconfined run."""
    if spec.image or spec.dockerfile:
        raise UsageError("--sandbox confines a run on this machine; a container run is confined by its container")
    found = find()
    if not found.usable:
        raise UsageError(f"--sandbox: {found.reason}")
    network = spec.network not in (None, "none")
    return replace(spec, sandbox=Sandbox(found, Confinement(workspace=spec.root, root=spec.root, network=network)))
