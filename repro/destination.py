"""Where a document a command writes goes: a file, written atomically, or standard output (`-`).

Every `--json`, `--junit`, `--attest` and `-o` option takes one, and it is checked when the
option is parsed, before any work starts: a replay of an hour must not fail at its last step
because the report's directory is missing. When a document goes to standard output it is the only
thing there; the command's own text and repro's messages go to standard error, so
`repro verify run.json --json - | jq` reads clean JSON.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterable, Iterator

from repro.errors import UsageError, WriteError

STDOUT = "-"

_reserved: list[IO[str]] = []  # the real standard output while `reserved_stdout` holds it


@dataclass(frozen=True)
class Destination:
    """A checked place to write one document. `path` None is standard output."""

    what: str
    path: Path | None

    @property
    def to_stdout(self) -> bool:
        return self.path is None

    def __str__(self) -> str:
        return "standard output" if self.path is None else os.fspath(self.path)

    def write(self, data: bytes) -> None:
        """Write the whole document: atomically to a file, or to standard output in one go."""
        if self.path is not None:
            from repro.evidence.jsonio import write_atomic

            write_atomic(self.path, data)
            return
        out = _reserved[-1] if _reserved else sys.stdout
        try:
            out.flush()
            out.buffer.write(data)
            out.buffer.flush()
        except BrokenPipeError:
            raise
        except OSError as e:
            raise WriteError(f"cannot write the {self.what} to standard output: {e.strerror or e}") from e


def destination(value: str | os.PathLike[str], what: str, *, allow_stdout: bool = True) -> Destination:
    """`-` for standard output, else a file path that can be written now: not a directory, not
    some other kind of file, in a directory that exists and is writable (it is not created: a
    typo in a directory name is an error, not a new tree). `allow_stdout` False: a file only
    (a signed verdict, a bundle written beside its scratch copy)."""
    text = os.fspath(value)
    if text == STDOUT:
        if not allow_stdout:
            raise UsageError(f"the {what} cannot go to standard output ('-'): give a file path")
        return Destination(what, None)
    if not text:
        raise UsageError(f"{what} path is empty (give a file, or - for standard output)")
    from repro.paths import check_output_target  # imported here: `repro -h` must not load the digest code

    check_output_target(Path(text), what, create_parents=False)
    return Destination(what, Path(text))


def stdout_taken(destinations: Iterable[Destination | None]) -> bool:
    """Whether one of `destinations` is standard output; two documents cannot share it."""
    on_stdout = [d for d in destinations if d is not None and d.to_stdout]
    if len(on_stdout) > 1:
        raise UsageError(f"only one document can go to standard output ('-'): {on_stdout[0].what} and "
                         f"{on_stdout[1].what} both ask for it")
    return bool(on_stdout)


@contextmanager
def reserved_stdout(taken: bool) -> Iterator[None]:
    """While a document is to go to standard output, everything else written there (the text
    report, the replayed command's echoed output) goes to standard error instead; only
    `Destination.write` reaches the real standard output."""
    if not taken:
        yield
        return
    saved = sys.stdout
    _reserved.append(saved)
    sys.stdout = sys.stderr
    try:
        yield
    finally:
        sys.stdout = saved
        _reserved.pop()
