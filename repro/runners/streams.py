"""Live output: copy a child's stdout/stderr to the terminal and to a log file as it comes.

A log that cannot be written (a full disk, a file size limit) must never stop the copy: the
child blocks on a pipe nobody drains, and the run hangs for ever. So the copy goes on to the
terminal, the log is given up at its first failed write, and the failure is reported once the
command has ended (`raise_log_failures`), naming the file system."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path
from typing import BinaryIO, Iterable

from repro.errors import WriteError


class Tee(threading.Thread):
    """A thread copying `source` (a pipe, or an iterable of chunks) to `log_path` and `echo`.
    `failure` holds the OSError that made it give up the log, if one did."""

    def __init__(self, source: BinaryIO | Iterable[bytes], log_path, echo: BinaryIO | None) -> None:
        super().__init__(daemon=True)
        self.source = source
        self.log_path = Path(log_path)
        self.echo = echo
        self.failure: OSError | None = None

    def run(self) -> None:
        sink = self.echo
        log = self._open()
        source = self.source
        chunks = iter(lambda: os.read(source.fileno(), 65536), b"") if hasattr(source, "fileno") else source
        try:
            for chunk in chunks:
                if log is not None:
                    try:
                        log.write(chunk)
                    except OSError as e:
                        self.failure = e
                        log = self._close(log)
                if sink is not None:
                    try:
                        sink.write(chunk)
                        sink.flush()
                    except (OSError, ValueError):
                        sink = None
        finally:
            if log is not None:
                self._close(log)

    def _open(self):
        try:
            return open(self.log_path, "wb")
        except OSError as e:
            self.failure = e
            return None

    def _close(self, log) -> None:
        try:
            log.close()  # flushes what is buffered: that can fail too
        except OSError as e:
            self.failure = self.failure or e
        return None


def tee(source: BinaryIO | Iterable[bytes], log_path, echo: BinaryIO | None) -> Tee:
    """Start a `Tee`; join it, then pass it to `raise_log_failures`."""
    t = Tee(source, log_path, echo)
    t.start()
    return t


def mount_point(path: Path) -> Path:
    """The mount point of the file system that holds `path`."""
    path = Path(os.path.abspath(path))
    while not os.path.ismount(path) and path != path.parent:
        path = path.parent
    return path


def raise_log_failures(*tees: Tee) -> None:
    """After the command ended: one error for a log that could not be written."""
    for t in tees:
        e = t.failure
        if e is None:
            continue
        where = mount_point(t.log_path.parent)
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            reason = f"the file system at {where} is full"
        elif e.errno == errno.EFBIG:
            reason = "the file size limit was reached"
        elif e.errno == errno.EROFS:
            reason = f"the file system at {where} is read-only"
        else:
            reason = e.strerror or str(e)
        raise WriteError(f"cannot write the command's log {t.log_path}: {reason}; the command ran to its end, "
                         "no manifest was written") from e


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
