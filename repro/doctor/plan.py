"""The doctor's plan: the two baseline replays, then one replay per applicable knob, cut to the
budget. Pure: from the manifest, the knobs asked and what was probed, to the list of replays."""

from __future__ import annotations

from dataclasses import dataclass

from repro.doctor import knobs
from repro.doctor.result import NOT_APPLICABLE, NOT_TRIED, Trial
from repro.replay.conditions import NONE, Conditions

BASELINES = 2


@dataclass(frozen=True)
class Job:
    """One replay to run: what it is called, what it changes, in which sandbox."""

    label: str
    knob: str | None
    change: str
    conditions: Conditions
    fix: str | None = None
    expected: bool = False
    sandbox: str | None = None


@dataclass(frozen=True)
class Plan:
    baselines: tuple[Job, ...]
    variations: tuple[Job, ...]
    skipped: tuple[Trial, ...]  # knobs that do not apply, and those beyond the budget


def context(manifest_predicate: dict, sandbox: str, libraries, locales: tuple[str, ...]) -> knobs.Context:
    seeds = manifest_predicate["seeds"]
    return knobs.Context(
        seed=int(seeds["seed"]), pythonhashseed=seeds.get("pythonhashseed"), threads=seeds.get("threads"),
        variables=dict(seeds.get("variables") or {}), environment=dict(manifest_predicate.get("environment") or {}),
        cpus=knobs.cpu_count(), sandbox=sandbox, libraries=libraries, locales=locales,
    )


def make(asked: knobs.Asked, ctx: knobs.Context, budget: int | None) -> Plan:
    n_base = BASELINES if budget is None else min(BASELINES, budget)
    baselines = tuple(Job(f"baseline {i + 1}", None, "nothing changed", NONE) for i in range(n_base))
    left = None if budget is None else max(0, budget - n_base)
    jobs: list[Job] = []
    skipped: list[Trial] = []
    for name, found in knobs.variations(asked, ctx):
        if isinstance(found, str):
            skipped.append(Trial(name, name, "-", NOT_APPLICABLE, reason=found))
            continue
        job = Job(name, name, found.change, found.conditions, found.fix, found.expected, found.sandbox)
        if left is not None and len(jobs) >= left:
            skipped.append(Trial(name, name, found.change, NOT_TRIED, reason=f"the budget of {budget} replays is spent",
                                 fix=found.fix, expected=found.expected))
            continue
        jobs.append(job)
    return Plan(baselines, tuple(jobs), tuple(skipped))
