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


class _TextSink:
    """Bytes in, text out: for a `sys.stdout` that has no binary buffer (a notebook's, pytest's
    capture, doctest's), so the command's output still reaches the caller. Decoding is
    incremental, so a UTF-8 sequence split across two chunks is not broken."""

    def __init__(self, stream) -> None:
        import codecs

        self._stream = stream
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def write(self, data: bytes) -> None:
        self._stream.write(self._decoder.decode(data))

    def flush(self) -> None:
        self._stream.flush()


def binary_sink(stream) -> BinaryIO | _TextSink:
    """Where to echo a child's bytes for `stream` (sys.stdout or sys.stderr as it is now)."""
    buffer = getattr(stream, "buffer", None)
    return buffer if buffer is not None else _TextSink(stream)
