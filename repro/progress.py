"""A one-line progress meter on stderr for work that takes long enough to wonder about.

Silent unless stderr is a terminal (or the caller forces it on), and silent for the first
``delay`` seconds, so quick commands and piped or logged output never show carriage returns.
Safe to call from several threads: updates are counted under a lock and the line is redrawn at
most every ``interval`` seconds.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Callable, TextIO


def format_bytes(n: float) -> str:
    """Decimal units, as disks and network rates are sold: 1.5 GB, 850 MB."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1000
    return f"{n:.2f} TB"


class Progress:
    """Counts files and bytes done against a total and draws ``files, bytes, rate``.

    `enabled`: True draws, False never does, None draws only when `stream` is a TTY."""

    def __init__(
        self,
        enabled: bool | None = None,
        *,
        stream: TextIO | None = None,
        label: str = "hashing",
        delay: float = 0.5,
        interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled
        self.label = label
        self.delay = delay
        self.interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._t0 = clock()
        self._hash_t0: float | None = None
        self._last = 0.0
        self._shown = False
        self.scanned = 0
        self.files = 0
        self.bytes = 0
        self.total_files = 0
        self.total_bytes = 0

    def scanning(self, files: int) -> None:
        """Report how many files a directory walk has found so far."""
        if not self.enabled:
            return
        with self._lock:
            self.scanned = files
            self._maybe_draw()

    def start(self, total_files: int, total_bytes: int) -> None:
        """Switch from scanning to hashing `total_files` files of `total_bytes` bytes."""
        with self._lock:
            self.total_files, self.total_bytes = total_files, total_bytes
            self._hash_t0 = self._clock()

    def advance(self, files: int = 0, nbytes: int = 0) -> None:
        """Count work done; may redraw the line."""
        if not self.enabled:
            return
        with self._lock:
            self.files += files
            self.bytes += nbytes
            self._maybe_draw()

    def close(self) -> None:
        """End the line with a summary if anything was drawn; print nothing otherwise."""
        with self._lock:
            if self._shown:
                elapsed = self._clock() - self._t0
                self.stream.write(
                    f"\r{self.label}: {self.files:,} files, {format_bytes(self.bytes)} "
                    f"in {elapsed:.1f} s\x1b[K\n"
                )
                self.stream.flush()
                self._shown = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def line(self) -> str:
        """The text of the current progress line (without terminal control characters)."""
        if self._hash_t0 is None:
            return f"{self.label}: scanning, {self.scanned:,} files found"
        elapsed = max(self._clock() - self._hash_t0, 1e-9)
        return (
            f"{self.label}: {self.files:,}/{self.total_files:,} files, "
            f"{format_bytes(self.bytes)}/{format_bytes(self.total_bytes)}, "
            f"{format_bytes(self.bytes / elapsed)}/s"
        )

    def _maybe_draw(self) -> None:
        now = self._clock()
        if now - self._t0 < self.delay or now - self._last < self.interval:
            return
        self._last = now
        self._shown = True
        self.stream.write("\r" + self.line() + "\x1b[K")
        self.stream.flush()
