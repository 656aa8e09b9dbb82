"""The audit page printed to PDF by headless Chromium (`--print-to-pdf`), when one is installed.

The HTML is written to a private temporary directory with a fresh browser profile, printed
there, and the PDF moved into place atomically; the page loads nothing (its policy forbids it),
so printing needs no network. No Chromium is a clear error, not a silent skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from repro.errors import UsageError, WriteError

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_S = 120


def find_chromium() -> str | None:
    """$REPRO_CHROMIUM, else the first Chromium on PATH."""
    given = os.environ.get("REPRO_CHROMIUM")
    if given:
        return shutil.which(given)
    return next((found for name in CANDIDATES if (found := shutil.which(name))), None)


def chromium_argv(binary: str, profile: Path) -> list[str]:
    """Headless flags that work as root in a container: no sandbox (Chromium refuses root with
    one), no /dev/shm reliance, a profile of its own, nothing phoned home."""
    return [binary, "--headless", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
            f"--user-data-dir={profile}", "--no-first-run", "--disable-extensions", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--metrics-recording-only", "--mute-audio"]


def write_pdf(html: str, target: Path) -> None:
    binary = find_chromium()
    if binary is None:
        raise UsageError("--pdf needs Chromium (apt-get install chromium, or set REPRO_CHROMIUM)")
    parent = Path(os.path.abspath(target)).parent
    with tempfile.TemporaryDirectory(prefix="repro-pdf-") as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(html, encoding="utf-8")
        printed = Path(tmp) / "report.pdf"
        argv = [*chromium_argv(binary, Path(tmp) / "profile"), "--no-pdf-header-footer",
                f"--print-to-pdf={printed}", page.as_uri()]
        try:
            result = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired as e:
            raise UsageError(f"Chromium did not print the PDF within {TIMEOUT_S} s") from e
        if result.returncode != 0 or not printed.is_file() or printed.stat().st_size == 0:
            last = (result.stderr.strip().splitlines() or ["no message"])[-1]
            raise UsageError(f"Chromium could not print the PDF (exit {result.returncode}): {last}")
        staged = Path(tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)[1])
        try:
            shutil.copyfile(printed, staged)
            with open(staged, "rb") as f:
                os.fsync(f.fileno())
            os.chmod(staged, 0o644)
            os.replace(staged, target)
        except OSError as e:
            staged.unlink(missing_ok=True)
            raise WriteError(f"cannot write {target}: {e.strerror or e}") from e
