"""What `repro report` does between parsing and printing: check targets, verify, render, write."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable

from repro.errors import UsageError


def _trust_line(report) -> str:
    replays = ", ".join(r.outcome for r in report.replays) or "no replay"
    return f"signature {report.trust.signature}, files {report.trust.files.replace('_', ' ')}, {replays}"


def report_command(manifest: Path, *, replays: tuple[Path, ...], fmt: str, output: Path | None, pdf_path: Path | None,
                   pubkeys: tuple[Path, ...], check_files: bool, root: Path | None, allow_untrusted: bool,
                   say: Callable[[str], None]) -> None:
    from repro.audit import build_report
    from repro.audit.formats import get_format
    from repro.evidence.jsonio import write_atomic
    from repro.paths import check_output_target

    if output is None and pdf_path is None:
        raise UsageError("say where the report goes: -o FILE (- for stdout) and/or --pdf FILE")
    to_stdout = output is not None and os.fspath(output) == "-"
    if output is not None and not to_stdout:
        check_output_target(output, "report", create_parents=False)
    if pdf_path is not None:
        check_output_target(pdf_path, "PDF", create_parents=False)
        from repro.audit.pdf import find_chromium

        if find_chromium() is None:
            raise UsageError("--pdf needs Chromium (apt-get install chromium, or set REPRO_CHROMIUM)")
    audit = build_report(manifest, replays, pubkeys=tuple(pubkeys), root=root, check_files=check_files,
                         allow_untrusted=allow_untrusted)
    if output is not None:
        text = get_format(fmt).render(audit)
        if to_stdout:
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            write_atomic(output, text.encode("utf-8"))
            say(f"wrote {output} ({_trust_line(audit)})")
    if pdf_path is not None:
        from repro.audit.pdf import write_pdf

        html = text if output is not None and fmt == "html" else get_format("html").render(audit)
        write_pdf(html, pdf_path)
        say(f"wrote {pdf_path} ({_trust_line(audit)})")
