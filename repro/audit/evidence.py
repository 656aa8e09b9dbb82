"""What the audit report may say about trust, established before anything is rendered.

The manifest's signature is checked against the trusted keys; a signature that names a trusted
key but does not verify is a tampered manifest and is refused (IntegrityError, exit 3), always.
An unsigned manifest is rendered, marked UNSIGNED; one signed by a key that is not trusted is
refused unless the caller allows it, and is then marked UNTRUSTED. Files on disk are checked as
`repro verify` checks them, and the outcome is shown, not hidden: a report about changed files
says so at the top.

A replay is given as its signed verdict (`*.intoto.jsonl`); every signature must verify and the
verdict must be about this manifest, else the report is refused. The full replay report and the
replay's own manifest are read from beside the verdict only when the verdict's signed digest
(report) or the replay manifest's own signature and `replay_of` digest (machine) vouch for them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from repro.errors import IntegrityError, InvalidManifestError, ReproError
from repro.evidence import jsonio, signing, validation, verdict
from repro.evidence.manifest import Manifest
from repro.evidence.verify import check_artifacts, check_sidecar, check_sidecars, check_subjects, trusted_keys

SignatureState = Literal["valid", "unsigned", "untrusted"]
FilesState = Literal["match", "differ", "not_checked"]
MAX_DIFF_SHOWN = 512 * 1024


@dataclass(frozen=True)
class ManifestTrust:
    """What verification established about the manifest itself."""

    signature: SignatureState
    keyid: str | None
    signature_text: str
    files: FilesState
    files_text: str


@dataclass(frozen=True)
class ReplayEvidence:
    """One verified replay verdict, with what was found beside it and could be vouched for."""

    name: str
    checked: verdict.CheckedVerdict
    report: dict[str, Any] | None
    report_note: str | None
    replay_manifest: Manifest | None
    machine_note: str | None


def _signature(manifest: Manifest, trusted: list, allow_untrusted: bool) -> tuple[SignatureState, str | None, str]:
    if not manifest.signatures:
        return "unsigned", None, "UNSIGNED: the manifest carries no signature; nothing vouches for what it says"
    trusted_ids = {signing.key_id(k) for k in trusted}
    try:
        keyid = manifest.verify(trusted)
    except IntegrityError as e:
        hinted = {str(s.get("keyid", "")) for s in manifest.signatures}
        if hinted & trusted_ids or not allow_untrusted:
            raise IntegrityError(f"refusing to report on this manifest: {e.message}") from e
        hints = ", ".join(sorted(h[:16] for h in hinted))
        return "untrusted", None, (f"UNTRUSTED: signed by keyid {hints}, which is not a trusted key here; "
                                   "the signature could not be checked")
    return "valid", keyid, f"signature valid, by trusted key {keyid}"


def _files(manifest: Manifest, manifest_path: Path, root: Path | None, check: bool) -> tuple[FilesState, str]:
    if not check:
        return "not_checked", "files on disk not checked (--no-files)"
    if root is None:
        from repro.config import find_project_root

        root = find_project_root(Path.cwd())
    try:
        n = check_sidecars(manifest, manifest_path) + check_artifacts(manifest, root)
        check_subjects(manifest, root)
    except ReproError as e:
        return "differ", f"files on disk DO NOT MATCH the manifest: {e.message}"
    return "match", f"all {n} recorded files on disk match their digests"


def check_manifest(manifest_path: Path, pubkeys: tuple[Path, ...] = (), *, root: Path | None = None,
                   check_files: bool = True, allow_untrusted: bool = False) -> tuple[Manifest, ManifestTrust]:
    """Load and verify the manifest; refuse a tampered one (IntegrityError)."""
    manifest = Manifest.load(manifest_path)
    trusted = trusted_keys(pubkeys) if manifest.signatures else []
    state, keyid, text = _signature(manifest, trusted, allow_untrusted)
    files, files_text = _files(manifest, manifest_path, root, check_files)
    return manifest, ManifestTrust(state, keyid, text, files, files_text)


def saved_diff(manifest: Manifest, manifest_path: Path) -> tuple[str | None, str | None]:
    """The saved code diff beside the manifest when it matches its recorded digest: (text, note)."""
    diff = manifest.predicate["code"].get("diff")
    if manifest.predicate["code"].get("kind") != "git" or not diff:
        return None, None
    try:
        path = check_sidecar(manifest_path, diff)
    except ReproError as e:
        return None, f"the saved diff is not shown: {e.message}"
    raw = path.read_bytes()
    note = None
    if len(raw) > MAX_DIFF_SHOWN:
        raw, note = raw[:MAX_DIFF_SHOWN], f"the diff is cut at {MAX_DIFF_SHOWN // 1024} KiB of {len(raw) // 1024} KiB"
    return raw.decode("utf-8", errors="replace"), note


def _plain_name(name: object) -> str | None:
    if not isinstance(name, str) or name in ("", ".", "..") or "/" in name or "\\" in name or "\0" in name:
        return None
    return name


def _report_beside(path: Path, checked: verdict.CheckedVerdict) -> tuple[dict | None, str | None]:
    """The replay's JSON report beside the verdict, only if its sha256 is the one the verdict signed."""
    if checked.report is None:
        return None, "the verdict names no replay report"
    name = _plain_name(checked.report.get("uri"))
    signed = (checked.report.get("digest") or {}).get("sha256")
    if name is None or not signed:
        return None, "the verdict's replay report is not named by a plain file name and sha256"
    report_path = path.parent / name
    if not report_path.is_file():
        return None, f"the replay report {name} is not beside the verdict: per-output details not shown"
    raw = jsonio.read_regular(report_path, limit=jsonio.MAX_BYTES, what=str(report_path))
    if hashlib.sha256(raw).hexdigest() != signed:
        return None, f"the replay report {name} does not match the digest the verdict signed: not shown"
    doc = jsonio.loads_strict(raw, what=str(report_path))
    try:
        validation.validate(doc, "replay-report.schema.json", what=str(report_path), error=InvalidManifestError)
    except ReproError as e:
        return None, f"the replay report {name} is not a valid report: {e.message}"
    return doc, None


def _replay_manifest_beside(path: Path, manifest: Manifest, trusted: list) -> tuple[Manifest | None, str | None]:
    """The replay's own manifest (`<stem>.json` beside `<stem>.intoto.jsonl`), for the machine it
    ran on: only when its signature verifies and it names this run's manifest as replayed."""
    if not path.name.endswith(verdict.SUFFIX):
        return None, "machine not known: the replay's manifest is not beside the verdict"
    beside = path.with_name(path.name[: -len(verdict.SUFFIX)] + ".json")
    if not beside.is_file():
        return None, "machine not known: the replay's manifest is not beside the verdict"
    try:
        replayed = Manifest.load(beside)
        if replayed.signatures:
            replayed.verify(trusted)
    except ReproError as e:
        return None, f"machine not shown: the replay's manifest does not verify ({e.message})"
    if (replayed.predicate.get("replay_of") or {}).get("manifest_digest") != manifest.digest():
        return None, "machine not shown: the manifest beside the verdict is not a replay of this run"
    note = None if replayed.signatures else "the replay's manifest is unsigned"
    return replayed, note


def load_replay(path: Path, manifest: Manifest, pubkeys: tuple[Path, ...] = ()) -> ReplayEvidence:
    """Verify one verdict file and that it is about `manifest`; refuse it otherwise."""
    trusted = trusted_keys(pubkeys)
    checked = verdict.read(path, trusted)
    verdict.check_against(checked, manifest, str(path))
    report, report_note = _report_beside(path, checked)
    if report is not None and report.get("run_id") != manifest.predicate["run_id"]:
        report, report_note = None, "the replay report beside the verdict is about another run: not shown"
    replayed, machine_note = _replay_manifest_beside(path, manifest, trusted)
    return ReplayEvidence(path.name, checked, report, report_note, replayed, machine_note)
