"""`repro replay --slurm MANIFEST...`: each replay as a Slurm job, every verdict collected.

Each manifest is read and its signature checked here first: a manifest that would be refused
is refused without taking a node. The others are submitted with `sbatch`, one job each, with
the resources its recorded shape needs (nodes, tasks, tasks per node; a torchrun job gets its
processes as CPUs of one task), and the job runs `repro replay` on the manifest inside that
allocation, writing its JSON report, its signed verdict and its exit code into a directory of
its own under `.repro/fanout/`. One loop polls `squeue` for all of them; every wait is bounded,
and every way a job can fail on the cluster (no controller, a rejected submission, a node
failure, the time limit, a job that vanished) becomes that replay's verdict, never a hang.

Run from a directory that every node sees (the project, on the cluster's shared file system).
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from repro.errors import ReproError
from repro.evidence.jsonio import write_atomic

REPRODUCED = "REPRODUCED"
REFUSED = "REFUSED"
SLURM_ERROR = "SLURM ERROR"
TIMED_OUT = "TIMED OUT"
SUBMIT_TIMEOUT_S = 30
QUERY_TIMEOUT_S = 15
FAILED_STATES = frozenset(("FAILED", "NODE_FAIL", "TIMEOUT", "CANCELLED", "PREEMPTED", "BOOT_FAIL", "DEADLINE",
                           "OUT_OF_MEMORY", "REVOKED", "SPECIAL_EXIT"))
GONE_GRACE_S = 10.0
"""How long a job may be out of squeue with no exit code written before it counts as lost."""

Run = Callable[..., subprocess.CompletedProcess]
Say = Callable[[str], None]


@dataclass(frozen=True)
class FanoutOptions:
    manifests: tuple[Path, ...]
    root: Path
    pubkeys: tuple[Path, ...] = ()
    allow_untrusted: bool = False
    rules_path: Path | None = None
    sign: bool = True
    key_path: Path | None = None
    sbatch_args: tuple[str, ...] = ()  # after the shape's resources: they override them
    time_limit_min: int | None = None  # per job; default from the recorded duration
    timeout_s: float = 3600.0  # the whole fan-out
    poll_s: float = 1.0


@dataclass
class Replay:
    """One manifest's replay as a job: where it stands, and its verdict once it has one."""

    manifest: Path
    directory: Path
    job_id: str | None = None
    verdict: str | None = None
    detail: str = ""
    attestation: str | None = None
    report: str | None = None
    submitted_at: float = 0.0
    seconds: float | None = None
    gone_since: float | None = None
    resources: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"manifest": str(self.manifest), "job_id": self.job_id, "verdict": self.verdict, "detail": self.detail,
                "attestation": self.attestation, "report": self.report, "seconds": self.seconds,
                "resources": self.resources}


@dataclass(frozen=True)
class FanoutReport:
    replays: tuple[Replay, ...]
    seconds: float

    @property
    def all_reproduced(self) -> bool:
        return bool(self.replays) and all(r.verdict == REPRODUCED for r in self.replays)

    def to_json(self) -> dict:
        return {"all_reproduced": self.all_reproduced, "seconds": round(self.seconds, 3),
                "replays": [r.to_json() for r in self.replays]}


def resources(pred: dict) -> list[str]:
    """sbatch's resource options for the shape a manifest recorded: the whole Slurm job step's
    nodes and tasks, a torchrun job's processes as the CPUs of one task, one task otherwise."""
    from repro.capture.distributed import launcher_of
    from repro.replay.shape import recorded

    shape = recorded(pred)
    dist = pred.get("distributed") or {}
    argv = pred["command"]["argv"]
    launcher = dist.get("launcher") or launcher_of(argv)
    if launcher == "slurm" and shape is not None and "torchrun" in (dist.get("layers") or []):
        agents = int(dist.get("agents") or shape.nodes or 1)  # srun tasks, each a torchrun agent with its ranks
        return ["--nodes", str(shape.nodes), "--ntasks", str(agents), "--cpus-per-task", str(shape.tasks_per_node)]
    if launcher == "slurm" and shape is not None:
        per_node = max(1, -(-shape.world_size // max(1, shape.nodes)))
        return ["--nodes", str(shape.nodes), "--ntasks", str(shape.world_size), "--ntasks-per-node", str(per_node)]
    if launcher == "torchrun" and shape is not None:
        return ["--nodes", str(shape.nodes), "--ntasks", str(shape.nodes), "--cpus-per-task", str(shape.tasks_per_node)]
    return ["--nodes", "1", "--ntasks", "1"]


def time_limit(pred: dict, asked: int | None) -> int:
    """Minutes: what was asked, else ten times the recorded duration and five minutes more."""
    if asked is not None:
        return max(1, asked)
    return int(float(pred["command"].get("duration_s") or 0) * 10 / 60) + 5


def job_script(python: str, manifest: Path, opts: FanoutOptions, directory: Path) -> str:
    """The job: `repro replay` of one manifest inside the allocation, its exit code written last
    (atomically), so a file that is there says the replay finished."""
    args = [python, "-m", "repro", "replay", str(manifest.resolve()), "--root", str(opts.root), "-q",
            "--json", str(directory / "report.json"), "--attest", str(directory / "verdict.intoto.jsonl")]
    for key in opts.pubkeys:
        args += ["--pubkey", str(Path(key).resolve())]
    if opts.rules_path is not None:
        args += ["--rules", str(opts.rules_path.resolve())]
    if opts.allow_untrusted:
        args.append("--unsafe-allow-untrusted")
    if not opts.sign:
        args.append("--no-sign")
    if opts.key_path is not None:
        args += ["--key", str(opts.key_path.resolve())]
    rc = shlex.quote(str(directory / "rc"))
    return ("#!/bin/sh\n"
            f"cd {shlex.quote(str(opts.root))} || exit 2\n"
            f"{shlex.join(args)}\n"
            f"echo $? > {rc}.tmp && mv {rc}.tmp {rc}\n")


def precheck(manifest: Path, opts: FanoutOptions) -> tuple[dict | None, str | None]:
    """(predicate, None), or (None, why the replay is refused) for a manifest that cannot be read
    or whose signature is not trusted: refused here, before it takes a node."""
    from repro.evidence.manifest import Manifest
    from repro.evidence.verify import trusted_keys

    try:
        m = Manifest.load(manifest)
        if not opts.allow_untrusted:
            m.verify(trusted_keys(opts.pubkeys))
    except ReproError as e:
        return None, e.message
    return m.predicate, None


def _last_error(path: Path) -> str:
    try:
        lines = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    errors = [line for line in lines if line.startswith("repro: error:") or "error" in line.lower()]
    return (errors or lines or [""])[-1][:500]


def _finish(r: Replay, now: float) -> None:
    """Read what the job left: its exit code, its report, its verdict file."""
    r.seconds = round(now - r.submitted_at, 3)
    rc_text = (r.directory / "rc").read_text().strip()
    report_path = r.directory / "report.json"
    attest = r.directory / "verdict.intoto.jsonl"
    r.attestation = str(attest) if attest.is_file() else None
    if report_path.is_file():
        try:
            report = json.loads(report_path.read_text())
            r.report = str(report_path)
            r.verdict = str(report.get("outcome") or (REPRODUCED if report.get("reproduced") else "NOT REPRODUCED"))
            r.detail = str(report.get("summary") or "")
            return
        except (OSError, ValueError):
            pass
    r.verdict = REFUSED if rc_text in ("2", "3") else f"FAILED (exit {rc_text})"
    r.detail = _last_error(r.directory / "slurm.out")


def _submit(r: Replay, script: str, extra: list[str], run: Run) -> None:
    write_atomic(r.directory / "job.sh", script.encode())
    argv = ["sbatch", "--parsable", "--job-name", "repro-replay", "--output", str(r.directory / "slurm.out"),
            *extra, str(r.directory / "job.sh")]
    r.submitted_at = time.monotonic()
    try:
        out = run(argv, capture_output=True, text=True, timeout=SUBMIT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        r.verdict, r.detail = SLURM_ERROR, f"sbatch did not answer within {SUBMIT_TIMEOUT_S} s (is slurmctld up?)"
        return
    except OSError as e:
        r.verdict, r.detail = SLURM_ERROR, f"cannot run sbatch: {e.strerror or e}"
        return
    if out.returncode != 0 or not out.stdout.strip():
        reason = (out.stderr.strip().splitlines() or [f"sbatch exited {out.returncode}"])[-1]
        r.verdict, r.detail = SLURM_ERROR, f"submission rejected: {reason}"
        return
    r.job_id = out.stdout.strip().split(";")[0]


def _states(ids: list[str], run: Run) -> dict[str, tuple[str, str]] | None:
    """job id -> (state, reason) of the jobs squeue still knows; None when squeue cannot answer."""
    try:
        out = run(["squeue", "-h", "-j", ",".join(ids), "-o", "%i %T %r"], capture_output=True, text=True,
                  timeout=QUERY_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0 and "Invalid job id" not in out.stderr:
        return None
    states = {}
    for line in out.stdout.splitlines():
        parts = line.split(None, 2)
        if len(parts) >= 2:
            states[parts[0]] = (parts[1], parts[2] if len(parts) > 2 else "")
    return states


def _scancel(ids: list[str], run: Run) -> None:
    if ids:
        try:
            run(["scancel", *ids], capture_output=True, text=True, timeout=QUERY_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired):
            pass


def fan_out(opts: FanoutOptions, *, say: Say, run: Run = subprocess.run, python: str = sys.executable,
            fanout_id: str | None = None) -> FanoutReport:
    """Submit every replay, wait for all of them (bounded), and return one verdict each."""
    from repro.config import new_run_id
    from repro.replay.shape import cluster_nodes, recorded

    started = time.monotonic()
    base = opts.root / ".repro" / "fanout" / (fanout_id or new_run_id())
    replays: list[Replay] = []
    try:
        have_nodes: int | None = cluster_nodes(run)
        no_cluster = None
    except ReproError as e:
        have_nodes, no_cluster = None, e.message
    for i, manifest in enumerate(opts.manifests):
        directory = base / str(i)
        directory.mkdir(parents=True, exist_ok=True)
        r = Replay(manifest, directory)
        replays.append(r)
        pred, refused = precheck(manifest, opts)
        if refused is not None:
            r.verdict, r.detail = REFUSED, refused
            continue
        if no_cluster is not None:
            r.verdict, r.detail = SLURM_ERROR, no_cluster
            continue
        shape = recorded(pred)
        if shape is not None and have_nodes is not None and shape.nodes > have_nodes:
            r.verdict, r.detail = REFUSED, f"the recorded job ran on {shape.nodes} node(s); the cluster has {have_nodes}"
            continue
        r.resources = [*resources(pred), "--time", str(time_limit(pred, opts.time_limit_min)), *opts.sbatch_args]
        _submit(r, job_script(python, manifest, opts, directory), r.resources, run)
        if r.job_id:
            say(f"{manifest}: submitted as Slurm job {r.job_id} ({' '.join(r.resources)})")
    deadline = started + opts.timeout_s
    while True:
        waiting = [r for r in replays if r.verdict is None]
        now = time.monotonic()
        for r in waiting:
            if (r.directory / "rc").is_file():
                _finish(r, now)
        waiting = [r for r in waiting if r.verdict is None]
        if not waiting:
            break
        if now >= deadline:
            _scancel([r.job_id for r in waiting if r.job_id], run)
            for r in waiting:
                r.verdict, r.detail = TIMED_OUT, f"no result within {opts.timeout_s:g} s; job {r.job_id} cancelled"
                r.seconds = round(now - r.submitted_at, 3)
            break
        states = _states([r.job_id for r in waiting if r.job_id], run)
        for r in waiting:
            if states is None:
                continue
            state, reason = states.get(r.job_id or "", ("", ""))
            if state in FAILED_STATES:
                r.verdict = SLURM_ERROR
                r.detail = f"job {r.job_id} {state}" + (f" ({reason})" if reason and reason != "None" else "")
                r.seconds = round(now - r.submitted_at, 3)
            elif not state:  # finished, or lost: its exit code is written last, give it a moment
                r.gone_since = r.gone_since or now
                if now - r.gone_since > GONE_GRACE_S and not (r.directory / "rc").is_file():
                    r.verdict = SLURM_ERROR
                    r.detail = (f"job {r.job_id} ended without a result (node failure, cancelled, or time limit): "
                                f"{_last_error(r.directory / 'slurm.out') or 'no output'}")
                    r.seconds = round(now - r.submitted_at, 3)
        time.sleep(opts.poll_s)
    return FanoutReport(tuple(replays), time.monotonic() - started)


def render(report: FanoutReport) -> str:
    """One table, a line per replay, and the count that decides the exit code."""
    rows = [("MANIFEST", "JOB", "VERDICT", "TIME", "DETAIL")]
    for r in report.replays:
        rows.append((str(r.manifest), r.job_id or "-", r.verdict or "?", f"{r.seconds:.1f}s" if r.seconds else "-",
                     r.detail.replace("\n", " ")))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row[:4], widths)) + "  " + row[4] for row in rows]
    ok = sum(1 for r in report.replays if r.verdict == REPRODUCED)
    attested = [r.attestation for r in report.replays if r.attestation]
    lines.append("")
    if attested:
        lines.append(f"verdicts attested: {len(attested)} (beside each report under {Path(attested[0]).parent.parent})")
    lines.append(f"{'ALL REPRODUCED' if report.all_reproduced else 'NOT ALL REPRODUCED'}: {ok} of "
                 f"{len(report.replays)} replay(s) reproduced in {report.seconds:.1f} s")
    return "\n".join(lines) + "\n"


def json_bytes(report: FanoutReport) -> bytes:
    """The fan-out's `--json` document."""
    return (json.dumps(report.to_json(), indent=2, sort_keys=True) + "\n").encode()


def manifests_or_usage(paths: Sequence[Path], slurm: bool) -> None:
    """`repro replay` takes one manifest; `--slurm` takes one or more."""
    from repro.errors import UsageError

    if not paths:
        raise UsageError("give a manifest to replay")
    if len(paths) > 1 and not slurm:
        raise UsageError(f"{len(paths)} manifests given: replay one at a time, or fan them out with --slurm")
