"""What `repro doctor` found, as plain data: every replay it ran (the baselines and one per
knob), what each changed against the baseline and against the recorded run, and the evidence the
injected hook gathered inside the run. The text table and the JSON document render this."""

from __future__ import annotations

from dataclasses import dataclass, field

from repro.compare import Verdict

DONE = "done"
FAILED = "failed"  # the replay could not run (refused, crashed): its reason says why
INTERRUPTED = "interrupted"
NOT_TRIED = "not tried"  # the budget was spent, the baseline differed, or the doctor was interrupted first
NOT_APPLICABLE = "not applicable"


@dataclass(frozen=True)
class Trial:
    """One replay the doctor planned: a baseline (knob None) or one knob's variation."""

    label: str
    knob: str | None
    change: str
    status: str
    reason: str | None = None
    vs_recorded: tuple[Verdict, ...] = ()
    vs_baseline: tuple[Verdict, ...] = ()
    exit_code: int | None = None
    exit_code_recorded: int | None = None
    duration_s: float | None = None
    replay_manifest: str | None = None
    fix: str | None = None
    expected: bool = False

    @property
    def ran(self) -> bool:
        return self.status == DONE

    @property
    def changed(self) -> tuple[Verdict, ...]:
        """Outputs that are not bit-identical to the baseline's (a changed exit code counts)."""
        return tuple(v for v in self.vs_baseline if v.compared and v.status != "identical")

    @property
    def reproduces_recorded(self) -> bool:
        compared = [v for v in self.vs_recorded if v.compared]
        return (self.ran and bool(compared) and all(v.status == "identical" for v in compared)
                and self.exit_code == self.exit_code_recorded)

    @property
    def max_abs_error(self) -> float | None:
        return _largest(v.max_abs_error for v in self.changed)

    @property
    def max_rel_error(self) -> float | None:
        return _largest(v.max_rel_error for v in self.changed)


def _largest(values) -> float | None:
    found = [v for v in values if v is not None]
    return max(found) if found else None


@dataclass(frozen=True)
class Evidence:
    """One thing the hook saw the program do that can make a rerun differ, at file:line.
    `certain` is False for a possibility (a set iterated: only strings make its order vary)."""

    kind: str  # unseeded | clock_seed | pid_seed | entropy | set_order | torch
    site: str | None
    detail: str
    certain: bool = True

    def to_json(self) -> dict:
        return {"kind": self.kind, "site": self.site, "detail": self.detail, "certain": self.certain}


DETERMINISTIC = "deterministic"
NONDETERMINISTIC = "nondeterministic"  # the baselines differ from each other
DEPENDS = "depends"  # some knob changes the outputs
DRIFTED = "drifted"  # the baselines agree with each other, not with the recorded run
UNDECIDED = "undecided"  # interrupted or failed before the baselines finished


@dataclass(frozen=True)
class DoctorReport:
    manifest: str
    run_id: str
    sandbox: str
    jobs: int
    budget: int | None
    wall_s: float
    baselines: tuple[Trial, ...]
    trials: tuple[Trial, ...]
    evidence: tuple[Evidence, ...] = ()
    interrupted: str | None = None  # the signal's name
    libraries: dict | None = None
    directory: str | None = None  # where the replays' manifests are kept
    notes: tuple[str, ...] = field(default=())

    @property
    def replays(self) -> int:
        return sum(1 for t in (*self.baselines, *self.trials) if t.status in (DONE, FAILED, INTERRUPTED))

    @property
    def baselines_agree(self) -> bool | None:
        done = [b for b in self.baselines if b.ran]
        if len(done) < 2:
            return None
        return not any(b.changed for b in done)

    @property
    def depends_on(self) -> tuple[Trial, ...]:
        return tuple(t for t in self.trials if t.ran and t.changed and not t.expected)

    @property
    def verdict(self) -> str:
        done = [b for b in self.baselines if b.ran]
        if self.baselines_agree is False:
            return NONDETERMINISTIC
        if self.depends_on:
            return DEPENDS
        if not done:
            return UNDECIDED
        if not any(b.reproduces_recorded for b in done):
            return DRIFTED
        return DETERMINISTIC

    @property
    def exit_code(self) -> int:
        """0 nothing found that breaks bit-identity; 1 something does (or the baselines could not
        tell); 128 + signal when interrupted."""
        import signal

        if self.interrupted:
            return 128 + int(getattr(signal, self.interrupted, signal.SIGINT))
        return 0 if self.verdict == DETERMINISTIC else 1
