"""The signed replay verdict: what a replay proved, in a form that leaves repro.

A replay writes a JSON Lines file of DSSE envelopes (`*.intoto.jsonl`), signed with the
replayer's key, holding two in-toto Statements about the run's outputs:

- a SLSA Verification Summary (`https://slsa.dev/verification_summary/v1`): who verified, when,
  which manifest (`inputAttestations`: sha256 of its signed payload, the RFC 8785 bytes without
  `signatures`, so re-indenting the file changes nothing), under which rules (`policy`: their
  digest) and with which result (PASSED only for REPRODUCED);
- an in-toto test result (`https://in-toto.io/attestation/test-result/v0.1`): which outputs
  passed and failed, the rules, and the full JSON report with its digest.

A refused replay (bad signature, changed inputs or code) is attested FAILED, with the reason.
Reading one back (`repro verify FILE.intoto.jsonl`) checks every signature first and only then
looks at what the statements say.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from repro import __version__
from repro.errors import IntegrityError, InvalidManifestError, ReproError
from repro.evidence import dsse, jsonio, signing
from repro.evidence.manifest import STATEMENT_TYPE, Manifest

VSA_TYPE = "https://slsa.dev/verification_summary/v1"
TEST_RESULT_TYPE = "https://in-toto.io/attestation/test-result/v0.1"
VERIFIER_ID = "urn:repro:verifier:replay"
"""Names repro's replay as the verifier (docs/interop.md); the version is repro's own."""
RULES_URI = "urn:repro:rules"
SUFFIX = ".intoto.jsonl"
MAX_LINES = 16
PASSED, FAILED = "PASSED", "FAILED"


def payload_digest(manifest: Manifest) -> dict[str, str]:
    """sha256 of the manifest's signed payload: what its signatures cover, whatever its layout."""
    return {"sha256": hashlib.sha256(manifest.body()).hexdigest()}


def rules_descriptor(rules: Any) -> dict:
    """The tolerance rules as a resource descriptor: their RFC 8785 bytes, named by digest and
    carried inline, so an auditor can read the exact rules a verdict was reached under."""
    body = jsonio.canonical_bytes({"rules": list((rules or {}).get("rules") or [])})
    import base64

    return {"name": "tolerance rules", "uri": RULES_URI, "digest": {"sha256": hashlib.sha256(body).hexdigest()},
            "content": base64.b64encode(body).decode("ascii"), "mediaType": "application/json"}


def now_utc() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Verdict:
    """What one replay found, ready to attest: `result` PASSED/FAILED, the output names that
    passed and failed, `reason` for a refusal, `report` the full JSON report (bytes and name)."""

    manifest: Manifest
    manifest_name: str
    rules: dict
    result: str
    outcome: str
    passed: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    reason: str | None = None
    report: bytes | None = None
    report_name: str | None = None
    subjects: tuple[dict, ...] = ()
    time_verified: str = ""


def subjects_for(manifest: Manifest, replay: Manifest | None) -> tuple[dict, ...]:
    """The outputs with their sha256: the original's subjects (schema version 2), else the
    replay's own (a version 1 manifest named its outputs in the run's digest algorithm)."""
    if manifest.predicate["schema_version"] >= 2 or replay is None:
        return tuple(manifest.statement["subject"])
    return tuple(replay.statement["subject"])


def statements(v: Verdict) -> list[dict]:
    """The two in-toto Statements of a verdict."""
    vsa = {
        "verifier": {"id": VERIFIER_ID, "version": {"repro": __version__}},
        "timeVerified": v.time_verified or now_utc(),
        "resourceUri": f"urn:repro:run:{v.manifest.predicate['run_id']}",
        "policy": {"uri": v.rules["uri"], "digest": v.rules["digest"]},
        "inputAttestations": [{"uri": v.manifest_name, "digest": payload_digest(v.manifest)}],
        "verificationResult": v.result,
        "slsaVersion": "1.0",
    }
    configuration = [v.rules]
    if v.report is not None:
        configuration.append({"name": "replay report", "uri": v.report_name or "report.json",
                              "digest": {"sha256": hashlib.sha256(v.report).hexdigest()}, "mediaType": "application/json"})
    failed = list(v.failed) if v.reason is None else [f"replay refused: {v.reason}"]
    test = {
        "result": v.result,
        "configuration": configuration,
        "passedTests": list(v.passed),
        "warnedTests": [],
        "failedTests": failed,
    }
    if v.report_name:
        test["url"] = v.report_name
    subject = [dict(s) for s in v.subjects]
    return [
        {"_type": STATEMENT_TYPE, "subject": subject, "predicateType": VSA_TYPE, "predicate": vsa},
        {"_type": STATEMENT_TYPE, "subject": subject, "predicateType": TEST_RESULT_TYPE, "predicate": test},
    ]


def sign_bundle(v: Verdict, key) -> bytes:
    """One DSSE envelope per line, each over the RFC 8785 bytes of its Statement."""
    lines = []
    for statement in statements(v):
        body = jsonio.canonical_bytes(statement)
        env = dsse.envelope(body, [signing.sign(body, key)])
        lines.append(json.dumps(env, separators=(",", ":"), ensure_ascii=True))
    return ("\n".join(lines) + "\n").encode("ascii")


def write(v: Verdict, key, paths: list[Path]) -> list[Path]:
    """Sign once, write atomically to every path (beside the replay manifest, and --attest)."""
    data = sign_bundle(v, key)
    written = []
    for path in dict.fromkeys(p.resolve() for p in paths):
        jsonio.write_atomic(path, data)
        written.append(path)
    return written


def beside(manifest_path: Path) -> Path:
    """`<dir>/manifest.json` -> `<dir>/manifest.intoto.jsonl`."""
    name = manifest_path.name
    stem = name[: -len(".json")] if name.endswith(".json") else name
    return manifest_path.with_name(stem + SUFFIX)


def is_verdict_file(path: Path) -> bool:
    return path.name.endswith(".jsonl")


# --- reading one back ------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckedVerdict:
    """A verdict file whose every signature verified, and what it says."""

    keyid: str
    result: str
    resource_uri: str
    time_verified: str
    manifest_name: str
    manifest_digest: dict[str, str]
    policy_digest: dict[str, str]
    subjects: tuple[dict, ...]
    passed: tuple[str, ...]
    failed: tuple[str, ...]
    report: dict | None

    @property
    def passed_verification(self) -> bool:
        return self.result == PASSED


def _statements(path: Path, trusted: list) -> tuple[str, dict[str, dict]]:
    raw = jsonio.read_regular(path, limit=jsonio.MAX_BYTES, what=str(path))
    lines = [line for line in raw.split(b"\n") if line.strip()]
    if not lines:
        raise InvalidManifestError(f"{path} is empty")
    if len(lines) > MAX_LINES:
        raise InvalidManifestError(f"{path} has more than {MAX_LINES} envelopes")
    keyids = set()
    found: dict[str, dict] = {}
    for n, line in enumerate(lines, 1):
        what = f"{path} line {n}"
        env = jsonio.loads_strict(line, what=what)
        if not dsse.is_envelope(env):
            raise InvalidManifestError(f"{what} is not a DSSE envelope")
        body, statement, sigs = dsse.open_envelope(env, what=what)
        try:
            keyids.add(signing.verify(body, sigs, trusted))
        except IntegrityError as e:
            raise IntegrityError(f"{what}: {e}") from e
        if not isinstance(statement, dict) or statement.get("_type") != STATEMENT_TYPE:
            raise InvalidManifestError(f"{what} is not an in-toto Statement v1")
        kind = statement.get("predicateType")
        if kind in found:
            raise InvalidManifestError(f"{what}: a second {kind} statement")
        found[str(kind)] = statement
    if len(keyids) != 1:
        raise IntegrityError(f"{path}: its statements are signed by different keys")
    return keyids.pop(), found


def read(path: Path, trusted: list) -> CheckedVerdict:
    """Verify every envelope of a verdict file against `trusted` keys, then read what it says."""
    keyid, found = _statements(path, trusted)
    vsa = found.get(VSA_TYPE)
    if vsa is None:
        raise InvalidManifestError(f"{path} holds no {VSA_TYPE} statement")
    try:
        p = vsa["predicate"]
        inputs = p["inputAttestations"][0]
        test = (found.get(TEST_RESULT_TYPE) or {}).get("predicate") or {}
        report = next((c for c in test.get("configuration", []) if c.get("name") == "replay report"), None)
        result = p["verificationResult"]
        if result not in (PASSED, FAILED):
            raise InvalidManifestError(f"{path}: verificationResult {result!r} is neither PASSED nor FAILED")
        return CheckedVerdict(
            keyid=keyid, result=result, resource_uri=str(p["resourceUri"]), time_verified=str(p["timeVerified"]),
            manifest_name=str(inputs.get("uri", "")), manifest_digest=dict(inputs["digest"]),
            policy_digest=dict(p["policy"]["digest"]), subjects=tuple(vsa["subject"]),
            passed=tuple(test.get("passedTests", ())), failed=tuple(test.get("failedTests", ())), report=report,
        )
    except (KeyError, IndexError, TypeError, AttributeError) as e:
        raise InvalidManifestError(f"{path}: the verification summary lacks {e}") from e


def check_against(v: CheckedVerdict, manifest: Manifest, name: str) -> None:
    """The verdict is about this manifest: same signed payload."""
    if payload_digest(manifest) != v.manifest_digest:
        raise IntegrityError(f"the verdict is not about {name}: it names a manifest with sha256 "
                             f"{v.manifest_digest.get('sha256', '?')[:16]}…, {name} is "
                             f"{payload_digest(manifest)['sha256'][:16]}…")


def describe(path: Path, v: CheckedVerdict) -> str:
    """What `repro verify` prints for an authentic verdict."""
    lines = [
        f"OK: {path} signed by {v.keyid}",
        f"verdict    {v.result} ({v.resource_uri})",
        f"manifest   {v.manifest_name} (signed payload sha256 {v.manifest_digest.get('sha256', '?')})",
        f"verified   {v.time_verified} under rules sha256 {v.policy_digest.get('sha256', '?')}",
    ]
    if v.report is not None:
        lines.append(f"report     {v.report.get('uri')} (sha256 {v.report.get('digest', {}).get('sha256', '?')})")
    lines.append(f"outputs    {len(v.passed)} passed, {len(v.failed)} failed")
    lines += [f"  passed  {n}" for n in v.passed]
    lines += [f"  FAILED  {n}" for n in v.failed]
    lines += [f"  subject {s.get('name')}  " + " ".join(f"{k}:{d}" for k, d in (s.get("digest") or {}).items())
              for s in v.subjects]
    return "\n".join(lines)


def refusal_verdict(manifest: Manifest, manifest_name: str, rules: Any, error: ReproError) -> Verdict:
    return Verdict(manifest, manifest_name, rules_descriptor(rules), FAILED, "REFUSED", reason=error.message,
                   subjects=subjects_for(manifest, None))
