"""What `repro report` does between parsing and printing: check targets, verify, render, write."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from repro.destination import Destination
from repro.errors import UsageError


def _trust_line(report) -> str:
    replays = ", ".join(r.outcome for r in report.replays) or "no replay"
    return f"signature {report.trust.signature}, files {report.trust.files.replace('_', ' ')}, {replays}"


def report_command(manifest: Path, *, replays: tuple[Path, ...], fmt: str, output: Destination | None,
                   pdf_path: Destination | None,
                   pubkeys: tuple[Path, ...], check_files: bool, root: Path | None, allow_untrusted: bool,
                   say: Callable[[str], None]) -> None:
    """`output` and `pdf_path` were checked as the options were parsed (repro.destination)."""
    from repro.audit import build_report
    from repro.audit.formats import get_format

    if output is None and pdf_path is None:
        raise UsageError("say where the report goes: -o FILE (- for stdout) and/or --pdf FILE")
    if pdf_path is not None:
        from repro.audit.pdf import find_chromium

        if find_chromium() is None:
            raise UsageError("--pdf needs Chromium (apt-get install chromium, or set REPRO_CHROMIUM)")
    audit = build_report(manifest, replays, pubkeys=tuple(pubkeys), root=root, check_files=check_files,
                         allow_untrusted=allow_untrusted)
    if output is not None:
        text = get_format(fmt).render(audit)
        output.write(text.encode("utf-8"))
        if not output.to_stdout:
            say(f"wrote {output} ({_trust_line(audit)})")
    if pdf_path is not None:
        from repro.audit.pdf import write_pdf

        html = text if output is not None and fmt == "html" else get_format("html").render(audit)
        write_pdf(html, pdf_path.path)
        say(f"wrote {pdf_path} ({_trust_line(audit)})")
