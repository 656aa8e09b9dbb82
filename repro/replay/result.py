"""The outcome of a replay as plain data: what every report format renders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from repro.compare import Verdict


@dataclass(frozen=True)
class Change:
    """One difference between two manifests: `facet` groups it (code, inputs, outputs, packages,
    python, os, image, hardware, threads, seeds, environment), `key` names the item."""

    facet: str
    key: str
    before: Any
    after: Any

    def to_json(self) -> dict:
        return {"facet": self.facet, "key": self.key, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class ReplayReport:
    manifest: str
    run_id: str
    replay_run_id: str
    replay_manifest: str | None
    reproduced: bool
    exit_code_recorded: int
    exit_code_replayed: int
    duration_recorded_s: float
    duration_replayed_s: float
    verdicts: tuple[Verdict, ...]
    drift: tuple[Change, ...] = ()
    warnings: tuple[str, ...] = field(default=())
