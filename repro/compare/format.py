"""The one interface every file format implements, and how a format reports an unreadable file.

A format is built for one rule (it holds the tolerance or ignore patterns it needs) and compares
two files whose bytes are already known to differ. A file it cannot parse is not an error of
repro's: the format raises `Unreadable`, which `compare_file` turns into a `differs` verdict that
says which copy was bad. Third-party exceptions are translated where the format calls the
library, through `reading()`, and go no further.
"""

from __future__ import annotations

import io
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Literal, Protocol, TextIO, runtime_checkable

from repro.compare.verdict import Verdict

Side = Literal["recorded", "replayed"]


class Unreadable(Exception):
    """One copy of an output could not be read or parsed as its format."""

    def __init__(self, side: Side, reason: str) -> None:
        super().__init__(f"{side} copy: {reason}")
        self.side = side
        self.reason = reason


@contextmanager
def reading(side: Side, *errors: type[BaseException]) -> Iterator[None]:
    """Turn OSError and the given library errors raised inside the block into `Unreadable`."""
    caught: tuple[type[BaseException], ...] = (OSError, *errors)
    try:
        yield
    except Unreadable:
        raise
    except caught as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise Unreadable(side, reason) from e


def open_binary(path: Path, side: Side) -> io.BufferedReader:
    """Open one copy for reading bytes."""
    with reading(side):
        return open(path, "rb")


def open_text(path: Path, side: Side) -> TextIO:
    """Open one copy as UTF-8 text, line endings kept as they are. Bytes that are not UTF-8 are
    carried through as surrogate escapes, so they compare exactly instead of making the file
    unreadable."""
    with reading(side):
        return open(path, encoding="utf-8", errors="surrogateescape", newline="")


@runtime_checkable
class Format(Protocol):
    """A file format whose contents can be compared with a tolerance."""

    @property
    def kind(self) -> str:
        """What the file should be, for messages: "a .npy array", "JSON"."""

    @property
    def label(self) -> str:
        """The label of the policy this format applies, for the verdict's `rule`."""

    def compare(self, name: str, recorded: Path, replayed: Path) -> Verdict:
        """Compare two copies whose bytes differ. Raises `Unreadable` for a copy that cannot be
        parsed; never anything else for bad input."""
