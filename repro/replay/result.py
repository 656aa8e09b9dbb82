"""The outcome of a replay as plain data: what every report format renders."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repro.compare import Verdict
from repro.errors import ReproError


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
class SandboxReport:
    """What the report says about the sandbox: its kind and, for the copy, why and what it cost."""

    kind: str  # "bwrap" | "copy" | "docker"
    bytes_copied: int
    reason: str | None = None
    root: str | None = None
    network: bool | None = None
    inputs_in_place: int = 0

    @property
    def sandboxed(self) -> bool:
        return self.kind in ("bwrap", "docker")

    def to_json(self) -> dict:
        return {"kind": self.kind, "reason": self.reason, "bytes_copied": self.bytes_copied, "root": self.root,
                "network": self.network, "inputs_in_place": self.inputs_in_place}


NOT_SANDBOXED = SandboxReport("copy", 0, reason="not recorded")


REPRODUCED = "REPRODUCED"
NOT_REPRODUCED = "NOT REPRODUCED"
NOTHING_VERIFIED = "NOTHING VERIFIED"
OUTCOMES = (REPRODUCED, NOT_REPRODUCED, NOTHING_VERIFIED)
"""The three verdicts a finished replay may claim (an interrupted one claims none: docs/replay.md)."""


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
    logs: tuple[Verdict, ...] = ()
    """The command's stdout/stderr compared but not gating (the run had output files and no rule
    names the log): shown, never counted in the verdict."""
    sandbox: SandboxReport = NOT_SANDBOXED
    """Which sandbox the replay ran in (bwrap, a container, or the copying workspace, and why)."""
    refused_writes: tuple[str, ...] = ()
    """Absolute paths outside the workspace the replayed program tried to write and was refused."""
    attestation: str | None = None
    """The signed verdict (`*.intoto.jsonl`) written for this replay, if any."""
    started_at: str | None = None
    """When the replay started (UTC, ISO 8601 to the second): the JUnit suite's timestamp."""
    compare_s: tuple[tuple[str, float], ...] = ()
    """Seconds spent comparing each output, by path: the JUnit cases' times."""
    likely_causes: tuple[str, ...] = ()
    """When the replay differs: nondeterministic code the hook saw in the run or the replay."""

    @property
    def sandboxed(self) -> bool:
        return self.sandbox.sandboxed

    @property
    def outcome(self) -> str:
        """REPRODUCED only when something was compared and everything compared passed; nothing
        compared at all is NOTHING VERIFIED, never success."""
        if self.reproduced:
            return REPRODUCED
        if not self.verdicts and self.exit_code_recorded == self.exit_code_replayed:
            return NOTHING_VERIFIED
        return NOT_REPRODUCED

    @property
    def exit_note(self) -> str | None:
        """Words for a recorded failure that the replay matched: a run that failed the same way
        twice reproduced its failure, which a reader must not mistake for a success."""
        if self.exit_code_recorded != 0 and self.exit_code_recorded == self.exit_code_replayed:
            return (f"the recorded run failed with exit {self.exit_code_recorded}; "
                    "the replay failed the same way")
        return None


REFUSED = "REFUSED"


def utc_now_seconds() -> str:
    """Now in UTC as JUnit's timestamp wants it: ISO 8601 to the second, no zone suffix."""
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


@dataclass(frozen=True)
class Refusal:
    """A replay refused before it claimed a verdict (exit 2 or 3: an untrusted signature, a
    changed input, bad rules). Reported like a verdict, so a CI page shows exactly these failures."""

    manifest: str
    run_id: str | None
    reason: str
    exit_code: int
    started_at: str

    @classmethod
    def from_error(cls, manifest_path: Path, error: ReproError, started_at: str) -> Refusal:
        """The run id when the manifest can be read at all (a refusal may be that it cannot)."""
        from repro.evidence.manifest import Manifest

        try:
            run_id: str | None = Manifest.load(manifest_path).predicate["run_id"]
        except (ReproError, KeyError, TypeError):
            run_id = None
        return cls(str(manifest_path), run_id, error.message, error.exit_code, started_at)
