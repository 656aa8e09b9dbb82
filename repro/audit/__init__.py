"""`repro report`: one page a reviewer reads, rendered from a verified run and its verified replays.

`build_report` verifies first (`evidence`), then builds plain data (`model`); the formats
(`html`, `markdown`) only show it, and `pdf` prints the HTML page through headless Chromium.
"""

from __future__ import annotations

from pathlib import Path

from repro.audit.evidence import check_manifest, load_replay, saved_diff
from repro.audit.model import AuditReport, build


def build_report(manifest_path: Path, replays: tuple[Path, ...] | list[Path] = (), *, pubkeys: tuple[Path, ...] = (),
                 root: Path | None = None, check_files: bool = True, allow_untrusted: bool = False) -> AuditReport:
    """Verify the manifest and every replay verdict, then build the report. A tampered manifest,
    a verdict that does not verify or is about another manifest, raise IntegrityError."""
    manifest, trust = check_manifest(manifest_path, tuple(pubkeys), root=root, check_files=check_files,
                                     allow_untrusted=allow_untrusted)
    evidence = [load_replay(Path(p), manifest, tuple(pubkeys)) for p in replays]
    diff, diff_note = saved_diff(manifest, manifest_path)
    return build(manifest, trust, evidence, diff=diff, diff_note=diff_note)


__all__ = ["AuditReport", "build_report"]
