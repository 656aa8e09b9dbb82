"""Conditions a replay runs under that differ on purpose from the recorded run's.

A plain replay restores what the run recorded: its seed, thread counts, hash seed and the
variables known to change outputs. `repro doctor` asks for replays that change one of those at a
time, to find which of them the outputs depend on; this record says what to change, and the
replay applies it after everything it restores, so the change is the only one.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Conditions:
    """What a replay changes. `env` is set last, over the restored and determinism variables
    (PYTHONHASHSEED included); `unset` removes variables from the command's environment;
    `seed` and `threads` replace the recorded ones (threads sets every thread-count variable);
    `listing` asks the injected hook to hand out directory listings in another order."""

    env: dict[str, str] = field(default_factory=dict)
    unset: tuple[str, ...] = ()
    seed: int | None = None
    threads: int | None = None
    listing: str | None = None  # "reverse"

    @property
    def empty(self) -> bool:
        return not (self.env or self.unset or self.seed is not None or self.threads is not None or self.listing)

    def to_json(self) -> dict:
        return {"env": dict(self.env), "unset": list(self.unset), "seed": self.seed, "threads": self.threads,
                "listing": self.listing}

    @classmethod
    def from_json(cls, data: dict) -> "Conditions":
        return cls(env={str(k): str(v) for k, v in (data.get("env") or {}).items()},
                   unset=tuple(str(n) for n in data.get("unset") or ()), seed=data.get("seed"),
                   threads=data.get("threads"), listing=data.get("listing"))


NONE = Conditions()
