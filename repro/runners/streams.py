"""Live output: copy a child's stdout/stderr to the terminal and to a log file as it comes."""

from __future__ import annotations

import os
import threading
from typing import BinaryIO, Iterable


def tee(source: BinaryIO | Iterable[bytes], log_path, echo: BinaryIO | None) -> threading.Thread:
    """Start a thread copying `source` (a pipe, or an iterable of chunks) to `log_path` and `echo`."""

    def pump() -> None:
        sink = echo
        with open(log_path, "wb") as log:
            chunks = iter(lambda: os.read(source.fileno(), 65536), b"") if hasattr(source, "fileno") else source
            for chunk in chunks:
                log.write(chunk)
                if sink is not None:
                    try:
                        sink.write(chunk)
                        sink.flush()
                    except (OSError, ValueError):
                        sink = None

    t = threading.Thread(target=pump, daemon=True)
    t.start()
    return t
