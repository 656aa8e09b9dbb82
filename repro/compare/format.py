"""The one interface every file format implements, and how a format reports an unreadable file.

A format is built for one rule (it holds the tolerance or ignore patterns it needs) and compares
two files whose bytes are already known to differ. A file it cannot parse is not an error of
repro's: the format raises `Unreadable`, which `compare_file` turns into a `differs` verdict that
says which copy was bad. Third-party exceptions are translated where the format calls the
library, through `reading()`, and go no further.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator, Literal, Protocol, runtime_checkable

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
    try:
        yield
    except Unreadable:
        raise
    except (OSError, *errors) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise Unreadable(side, reason) from e


def open_side(path: Path, side: Side, text: bool = False) -> IO[Any]:
    """Open one copy for reading. Text mode reads UTF-8, keeps line endings as they are, and
    carries bytes that are not UTF-8 through as surrogate escapes, so they compare exactly
    instead of making the file unreadable."""
    with reading(side):
        if text:
            return open(path, encoding="utf-8", errors="surrogateescape", newline="")
        return open(path, "rb")


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
