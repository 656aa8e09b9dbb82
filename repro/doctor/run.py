"""Orchestration of `repro doctor`: check the manifest once, run the baselines, then the knobs'
variations in parallel (at most `jobs` replays at a time, at most `budget` in all), and compare
each against the recorded outputs (the replay's own verdicts) and against the first baseline.

Every replay is a real `repro replay` run by repro.doctor.worker in a process of its own, with
the changed conditions applied on top of what the replay restores. A SIGINT or SIGTERM stops the
replays under way (their workspaces removed) and the report says what was found until then.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from repro.compare import RuleSet, Verdict, compare_file
from repro.doctor import knobs, plan as planning
from repro.doctor.result import DONE, FAILED, INTERRUPTED, NOT_TRIED, DoctorReport, Trial
from repro.errors import UsageError

Say = Callable[[str], None]
STOP_WAIT_S = 20.0


@dataclass(frozen=True)
class DoctorOptions:
    manifest_path: Path
    vary: str | None = None  # --vary: comma-separated knobs (default: all)
    jobs: int | None = None  # replays at once (default: the CPUs, at most 4)
    budget: int | None = None  # replays in all, baselines included
    keep_going: bool = False  # vary the knobs even when the baselines differ
    pubkeys: tuple[Path, ...] = ()
    allow_untrusted: bool = False
    root: Path | None = None
    rules_path: Path | None = None
    sandbox: str | None = None


class _Stop(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


@dataclass
class _Running:
    job: planning.Job
    proc: subprocess.Popen
    workspace: Path
    result_path: Path
    started: float


def _trap(signum, _frame):
    raise _Stop(signal.Signals(signum).name)


class _Replays:
    """At most `jobs` worker processes at once; each job's scratch workspace is made here and
    removed once the doctor has compared it (the first baseline's is kept until the end)."""

    def __init__(self, opts: DoctorOptions, root: Path, directory: Path, jobs: int) -> None:
        self.opts = opts
        self.root = root
        self.directory = directory
        self.jobs = jobs
        self.running: list[_Running] = []
        self.started = 0

    def _job_document(self, job: planning.Job, slug: str, workspace: Path) -> dict:
        return {
            "manifest": str(self.opts.manifest_path.resolve()), "pubkeys": [str(p.resolve()) for p in self.opts.pubkeys],
            "allow_untrusted": self.opts.allow_untrusted, "root": str(self.root),
            "rules": str(self.opts.rules_path.resolve()) if self.opts.rules_path else None,
            "sandbox": job.sandbox or self.opts.sandbox, "conditions": job.conditions.to_json(),
            "workspace": str(workspace), "output_manifest": str(self.directory / slug / "manifest.json"),
        }

    def start(self, job: planning.Job) -> None:
        from repro.evidence.jsonio import write_atomic
        from repro.replay import workspace
        from repro.runners.host import _own_group_dying_with_parent

        self.started += 1
        slug = f"{self.started:02d}-" + "".join(c if c.isalnum() else "-" for c in job.label)
        (self.directory / slug).mkdir(parents=True, exist_ok=True)
        ws = workspace.create()
        job_path = self.directory / slug / "job.json"
        write_atomic(job_path, json.dumps(self._job_document(job, slug, ws), indent=2).encode("utf-8"))
        result_path = self.directory / slug / "result.json"
        with open(self.directory / slug / "worker.log", "wb") as log:
            proc = subprocess.Popen([sys.executable, "-m", "repro.doctor.worker", str(job_path), str(result_path)],
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    preexec_fn=_own_group_dying_with_parent)
        self.running.append(_Running(job, proc, ws, result_path, time.monotonic()))

    def wait_one(self) -> tuple[_Running, dict]:
        while True:
            for r in self.running:
                if r.proc.poll() is not None:
                    self.running.remove(r)
                    return r, _read_result(r)
            time.sleep(0.02)

    def stop(self) -> list[tuple[_Running, dict]]:
        """End every replay under way (SIGTERM: the replay forwards it to the command and removes its
        workspace), waiting for each; returns them with the results they still wrote."""
        from repro.replay import workspace

        for r in self.running:
            try:
                os.killpg(r.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + STOP_WAIT_S
        out = []
        for r in self.running:
            try:
                r.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(r.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                r.proc.wait()
            workspace.remove(r.workspace)
            out.append((r, _read_result(r)))
        self.running = []
        return out


def _read_result(r: _Running) -> dict:
    try:
        return json.loads(r.result_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"status": FAILED, "reason": f"the replay ended with exit {r.proc.returncode} and wrote no result "
                                            f"(see {r.result_path.parent / 'worker.log'})"}


def _output_path(name: str, ws: Path, logs: dict) -> Path:
    from repro.paths import confine

    if name in logs:
        return Path(logs[name])
    return confine(ws, name, what="output path")


def against_baseline(base: tuple[Path, dict, dict], other: tuple[Path, dict, dict], rules: RuleSet) -> tuple[Verdict, ...]:
    """Each compared output of `other` against the same output of the baseline, with the errors the
    comparison finds (the user's rules apply: an output they leave out is left out here too)."""
    base_ws, base_result, base_logs = base
    ws, result, logs = other
    base_status = {v["path"]: v["status"] for v in base_result.get("verdicts", ())}
    out = []
    for v in result.get("verdicts", ()):
        name = v["path"]
        if v["status"] == "skipped":
            out.append(Verdict.from_json(v))
            continue
        if v["status"] == "missing" or base_status.get(name) == "missing":
            gone = "this replay" if v["status"] == "missing" else "the baseline"
            out.append(Verdict(name, "missing", v["rule"], f"{gone} did not write it"))
            continue
        if v["status"] == "unexpected" and name not in base_status:
            out.append(Verdict(name, "unexpected", v["rule"], "the baseline did not write it"))
            continue
        out.append(compare_file(name, _output_path(name, base_ws, base_logs), _output_path(name, ws, logs), rules))
    names = {v["path"] for v in result.get("verdicts", ())}
    out += [Verdict(n, "missing", "", "this replay did not write it") for n, s in base_status.items()
            if n not in names and s not in ("missing", "skipped")]
    if result.get("exit_code") != base_result.get("exit_code"):
        out.append(Verdict("exit code", "differs", "exact", f"{result.get('exit_code')} (baseline "
                                                            f"{base_result.get('exit_code')})"))
    return tuple(out)


def _trial(job: planning.Job, result: dict) -> Trial:
    status = result.get("status")
    if status != DONE:
        return Trial(job.label, job.knob, job.change, INTERRUPTED if status == INTERRUPTED else FAILED,
                     reason=result.get("reason"), fix=job.fix, expected=job.expected)
    return Trial(job.label, job.knob, job.change, DONE,
                 vs_recorded=tuple(Verdict.from_json(v) for v in result.get("verdicts", ())),
                 exit_code=result.get("exit_code"), exit_code_recorded=result.get("exit_code_recorded"),
                 duration_s=result.get("duration_s"), replay_manifest=result.get("replay_manifest"), fix=job.fix,
                 expected=job.expected)


def default_jobs() -> int:
    return max(1, min(4, knobs.cpu_count()))


def doctor(opts: DoctorOptions, *, say: Say) -> DoctorReport:
    from repro.bundle import is_bundle
    from repro.config import find_project_root, load_config, new_run_id
    from repro.evidence.manifest import Manifest
    from repro.replay import sandboxing, workspace
    from repro.replay.orchestrate import ReplayOptions, check_trust, load_rules_file

    if opts.jobs is not None and opts.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if opts.budget is not None and opts.budget < 1:
        raise UsageError("--budget must be at least 1 (a replay)")
    if is_bundle(opts.manifest_path):
        raise UsageError(f"{opts.manifest_path} is a bundle: unpack it (`repro unpack`) and run the doctor on its manifest")
    asked = knobs.parse(opts.vary)
    t0 = time.monotonic()
    manifest = Manifest.load(opts.manifest_path)
    keyid = check_trust(manifest, ReplayOptions(opts.manifest_path, opts.pubkeys, opts.allow_untrusted), say)
    if keyid:
        say(f"signature valid (keyid {keyid[:16]})")
    root = (opts.root or find_project_root(Path.cwd())).resolve()
    config = load_config(root)
    rules = load_rules_file(opts.rules_path, config)
    sandbox = sandboxing.pick(manifest, opts.sandbox, config, None).kind
    pred = manifest.predicate
    libraries = None
    if {"blas", "isa"} & set(asked.names) and sandbox != "docker":
        from repro.doctor import blas

        libraries = blas.probe(blas.interpreter(pred))
    locales = knobs.available_locales() if "locale" in asked.names else ()
    plan = planning.make(asked, planning.context(pred, sandbox, libraries, locales), opts.budget)
    jobs = opts.jobs or default_jobs()
    directory = root / ".repro" / "doctor" / new_run_id()
    directory.mkdir(parents=True, exist_ok=True)
    say(f"doctor of {pred['run_id']}: {len(plan.baselines)} baseline replay(s), then {len(plan.variations)} "
        f"variation(s), {jobs} at a time ({sandbox} sandbox); replays kept in {directory}")

    pool = _Replays(opts, root, directory, jobs)
    done: dict[str, Trial] = {}
    interrupted: str | None = None
    base: tuple[Path, dict, dict] | None = None
    keep: list[Path] = []
    previous = {s: signal.signal(s, _trap) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        def run_all(jobs_: tuple[planning.Job, ...], on_done: Callable[[_Running, dict], None]) -> None:
            queue = list(jobs_)
            while queue or pool.running:
                while queue and len(pool.running) < pool.jobs:
                    pool.start(queue.pop(0))
                r, result = pool.wait_one()
                on_done(r, result)

        def baseline_done(r: _Running, result: dict) -> None:
            nonlocal base
            trial = _trial(r.job, result)
            entry = (r.workspace, result, result.get("logs") or {})
            if trial.ran and base is None:
                base = entry
                keep.append(r.workspace)
            elif trial.ran:
                trial = replace(trial, vs_baseline=against_baseline(base, entry, rules))
                workspace.remove(r.workspace)
            else:
                workspace.remove(r.workspace)
            done[r.job.label] = trial
            say(f"{r.job.label}: {_progress(trial)}")

        run_all(plan.baselines, baseline_done)
        # the second baseline is compared with the first whichever finished first
        firsts = [done[j.label] for j in plan.baselines]
        stop_reason = None
        if base is None:
            stop_reason = "no baseline replay finished"
        elif any(t.ran and t.changed for t in firsts) and not opts.keep_going:
            stop_reason = "the baseline replays differ from each other (--keep-going varies the knobs anyway)"

        def variation_done(r: _Running, result: dict) -> None:
            trial = _trial(r.job, result)
            if trial.ran and base is not None:
                trial = replace(trial, vs_baseline=against_baseline(
                    base, (r.workspace, result, result.get("logs") or {}), rules))
            workspace.remove(r.workspace)
            done[r.job.label] = trial
            say(f"{r.job.label}: {_progress(trial)}")

        if stop_reason is None:
            run_all(plan.variations, variation_done)
        else:
            for job in plan.variations:
                done[job.label] = Trial(job.label, job.knob, job.change, NOT_TRIED, reason=stop_reason, fix=job.fix,
                                        expected=job.expected)
    except _Stop as e:
        interrupted = e.name
        say(f"interrupted by {e.name}: stopping the replays under way")
        for r, result in pool.stop():
            done[r.job.label] = Trial(r.job.label, r.job.knob, r.job.change, INTERRUPTED,
                                      reason=f"stopped by {e.name}", fix=r.job.fix, expected=r.job.expected)
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        for ws in keep:
            workspace.remove(ws)
    def final(job: planning.Job) -> Trial:
        return done.get(job.label) or Trial(job.label, job.knob, job.change, NOT_TRIED,
                                            reason=f"the doctor was interrupted by {interrupted} before it ran",
                                            fix=job.fix, expected=job.expected)

    baselines = tuple(final(j) for j in plan.baselines)
    trials = tuple(final(j) for j in plan.variations) + plan.skipped
    return DoctorReport(
        manifest=str(opts.manifest_path), run_id=pred["run_id"], sandbox=sandbox, jobs=jobs, budget=opts.budget,
        wall_s=round(time.monotonic() - t0, 3), baselines=baselines, trials=trials, interrupted=interrupted,
        libraries=libraries.to_json() if libraries is not None else None, directory=str(directory),
    )


def _progress(trial: Trial) -> str:
    if not trial.ran:
        return f"{trial.status}: {trial.reason}"
    changed = trial.changed
    against = ("changes " + ", ".join(v.path for v in changed)) if changed else "no change"
    if trial.knob is None and not trial.vs_baseline:
        against = "first baseline"
    recorded = "reproduces the recorded run" if trial.reproduces_recorded else "differs from the recorded run"
    return f"{against}; {recorded} ({trial.duration_s:.2f}s)"
