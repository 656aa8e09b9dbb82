"""Reports for programs: stable, indented JSON described by the schemas in `schemas/` (replay report,
verify result, diff result).

Keys come in a fixed order and numbers are always finite (NaN and infinity become null), so a CI
job can parse the report with any JSON library and diff two reports line by line.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar

from repro.compare.verdict import Verdict
from repro.replay.drift import DiffReport
from repro.replay.result import REFUSED, Refusal, ReplayReport
from repro.report.summary import counts, finite, verdict_line

if TYPE_CHECKING:
    from repro.evidence.verify import VerifyReport

SCHEMA_VERSION = 1
REPLAY_SCHEMA = "replay-report.schema.json"


def _dumps(doc: dict[str, Any]) -> str:
    """ASCII-only so an odd file name can never make the report unwritable."""
    return json.dumps(doc, indent=2, ensure_ascii=True, allow_nan=False) + "\n"


def _verdict(v: Verdict) -> dict[str, Any]:
    return {
        "path": v.path,
        "status": v.status,
        "rule": v.rule,
        "detail": v.detail,
        "max_abs_error": finite(v.max_abs_error),
        "max_rel_error": finite(v.max_rel_error),
        "where": v.where,
        **({"histogram": v.histogram.to_json()} if v.histogram is not None else {}),
    }


def replay_document(report: ReplayReport) -> dict[str, Any]:
    """The report as plain JSON data, in the shape the schema describes."""
    per_status = counts(report)
    return {
        "schema_version": SCHEMA_VERSION,
        "manifest": report.manifest,
        "run_id": report.run_id,
        "replay_run_id": report.replay_run_id,
        "replay_manifest": report.replay_manifest,
        "reproduced": report.reproduced,
        "summary": verdict_line(report),
        "exit_code": {"recorded": report.exit_code_recorded, "replayed": report.exit_code_replayed},
        "duration_s": {"recorded": finite(report.duration_recorded_s), "replayed": finite(report.duration_replayed_s)},
        "counts": {"total": len(report.verdicts), **per_status},
        "verdicts": [_verdict(v) for v in report.verdicts],
        "drift": [c.to_json() for c in report.drift],
        "warnings": list(report.warnings),
        "outcome": report.outcome,
        "exit_note": report.exit_note,
        "logs": [_verdict(v) for v in report.logs],
        "sandboxed": report.sandboxed,
        "sandbox": report.sandbox.to_json(),
        "refused_writes": list(report.refused_writes),
        "started_at": report.started_at,
        "likely_causes": list(report.likely_causes),
    }


def refusal_document(refusal: Refusal) -> dict[str, Any]:
    """A refused replay in the replay report's schema: outcome REFUSED, the reason, the exit code."""
    return {
        "schema_version": SCHEMA_VERSION,
        "manifest": refusal.manifest,
        "run_id": refusal.run_id,
        "reproduced": False,
        "outcome": REFUSED,
        "summary": f"REFUSED: {refusal.reason}",
        "refusal": {"exit_code": refusal.exit_code, "reason": refusal.reason},
        "started_at": refusal.started_at,
    }


class JsonFormat:
    """`repro replay --format json`."""

    name: ClassVar[str] = "json"

    def render(self, report: ReplayReport) -> str:
        return _dumps(replay_document(report))

    def render_refusal(self, refusal: Refusal) -> str:
        return _dumps(refusal_document(refusal))


class JsonDiffFormat:
    """`repro diff --json`."""

    name: ClassVar[str] = "json"

    def render(self, report: DiffReport) -> str:
        return _dumps({
            "schema_version": SCHEMA_VERSION,
            "before": {"manifest": report.before, "run_id": report.before_run_id},
            "after": {"manifest": report.after, "run_id": report.after_run_id},
            "identical": report.identical,
            "changes": [c.to_json() for c in report.changes],
        })


VERIFY_SCHEMA = "verify-result.schema.json"
DIFF_SCHEMA = "diff-result.schema.json"


def verify_document(report: VerifyReport) -> dict[str, Any]:
    """`repro verify --json`: what was checked, by which key, with what result; described by
    `schemas/verify-result.schema.json`. The manifest digest is the sha256 of its signed payload
    (what a verdict's `inputAttestations` names), so re-indenting the file does not change it."""
    from repro.evidence.verdict import payload_digest

    m = report.manifest
    v: Any = report.verdict
    if report.error is not None:
        exit_code = report.error.exit_code
    else:
        exit_code = report.exit_code or 0
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": report.kind,
        "path": str(report.path),
        "verified": report.ok,
        "exit_code": exit_code,
        "error": None if report.error is None else report.error.message,
        "run_id": None if m is None else m.predicate["run_id"],
        "manifest_digest": report.about if m is None else payload_digest(m),
        "signed": bool(m.signatures) if m is not None else (True if report.keyid else None),
        "keyid": report.keyid,
        "files_checked": report.files_checked,
        "checks": [{"name": c.name, "status": c.status, "detail": c.detail, "files": c.files} for c in report.checks],
        "verdict": None if v is None else {
            "result": v.result, "resource_uri": v.resource_uri, "time_verified": v.time_verified,
            "manifest": v.manifest_name, "passed": list(v.passed), "failed": list(v.failed),
        },
    }


def verify_json(report: VerifyReport) -> str:
    return _dumps(verify_document(report))
