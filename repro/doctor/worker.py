"""One replay of `repro doctor`, in a process of its own: replays change the process's
environment and signal handlers while they run, so the doctor runs several at once only as
separate processes. Reads the job (JSON) named by its first argument, writes the result (JSON)
to its second, atomically; exits 0 whenever a result was written."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def job_options(job: dict):
    from repro.replay.conditions import Conditions
    from repro.replay.orchestrate import ReplayOptions

    return ReplayOptions(
        manifest_path=Path(job["manifest"]), pubkeys=tuple(Path(p) for p in job.get("pubkeys") or ()),
        allow_untrusted=bool(job.get("allow_untrusted")), root=Path(job["root"]),
        rules_path=Path(job["rules"]) if job.get("rules") else None, keep_workspace=True,
        output_manifest=Path(job["output_manifest"]), sign=False, quiet=True, sandbox=job.get("sandbox"),
        conditions=Conditions.from_json(job.get("conditions") or {}), workspace=Path(job["workspace"]),
    )


def run_job(job: dict) -> dict:
    from repro.errors import Interrupted, ReproError
    from repro.evidence.manifest import Manifest
    from repro.replay.orchestrate import replay

    said: list[str] = []
    try:
        report = replay(job_options(job), say=said.append, load_key=None)
    except Interrupted as e:
        return {"status": "interrupted", "reason": e.message, "exit_code": e.exit_code}
    except KeyboardInterrupt:
        return {"status": "interrupted", "reason": "interrupted by SIGINT", "exit_code": 130}
    except ReproError as e:
        return {"status": "failed", "reason": e.message, "exit_code": e.exit_code}
    except Exception as e:  # a bug in repro: the doctor reports it as this replay's failure
        return {"status": "failed", "reason": f"internal error: {type(e).__name__}: {e}", "exit_code": 70}
    logs = {}
    if report.replay_manifest:
        path = Path(report.replay_manifest)
        replayed = Manifest.load(path)
        logs = {s: str(path.parent / replayed.predicate["logs"][s]["path"]) for s in ("stdout", "stderr")}
    return {
        "status": "done",
        "verdicts": [v.to_json() for v in report.verdicts],
        "exit_code": report.exit_code_replayed,
        "exit_code_recorded": report.exit_code_recorded,
        "duration_s": report.duration_replayed_s,
        "replay_manifest": report.replay_manifest,
        "logs": logs,
        "warnings": list(report.warnings),
    }


def main(argv: list[str]) -> int:
    import signal

    from repro.evidence.jsonio import write_atomic

    signal.signal(signal.SIGTERM, signal.default_int_handler)  # ends the replay like a Ctrl-C: workspace removed
    job = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    result = run_job(job)
    write_atomic(Path(argv[1]), json.dumps(result).encode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
