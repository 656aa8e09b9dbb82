"""Text outputs (logs) compared line by line after leaving out lines that are expected to vary.

Lines keep their line endings, so a changed ending or a missing final newline still counts as a
difference; the ignore patterns see each line without its ending, so `$` anchors as expected.
Patterns apply only to text: a copy that holds a NUL byte is a binary file (a checkpoint, an
archive) whose "lines" mean nothing, so the pair is compared exactly and the verdict says why.
Stray bytes that are not UTF-8 in a log do not make it binary; they compare exactly.
"""

from __future__ import annotations

import re
from itertools import zip_longest
from pathlib import Path
from typing import IO, Iterator

from repro.compare.bytewise import byte_difference
from repro.compare.format import Side, open_binary, open_text, reading
from repro.compare.stats import show_value
from repro.compare.verdict import Verdict
from repro.data.digest import CHUNK

Line = tuple[int, str]  # (1-based line number in its file, the line with its ending)


class TextFormat:
    """Every line that no ignore pattern matches must be equal, in order."""

    kind = "text"

    def __init__(self, ignore: tuple[re.Pattern[str], ...]) -> None:
        self.ignore = ignore

    @property
    def label(self) -> str:
        return f"text(ignore={len(self.ignore)})"

    def _kept(self, f: IO[str], side: Side, ignored: dict[str, int]) -> Iterator[Line]:
        """The lines no pattern matches; counts the others in `ignored[side]`."""
        lines = enumerate(f, start=1)
        while True:
            with reading(side):
                item = next(lines, None)
            if item is None:
                return
            if any(p.search(item[1].rstrip("\r\n")) for p in self.ignore):
                ignored[side] += 1
            else:
                yield item

    def compare(self, name: str, recorded: Path, replayed: Path) -> Verdict:
        for side, path in (("recorded", recorded), ("replayed", replayed)):
            why = binary_reason(path, side)  # type: ignore[arg-type]
            if why:
                detail = (f"ignore patterns apply only to text and the {side} copy is binary ({why}); compared "
                          f"exactly: {byte_difference(recorded, replayed)}")
                return Verdict(name, "differs", "exact", detail)
        ignored = {"recorded": 0, "replayed": 0}
        with open_text(recorded, "recorded") as fa, open_text(replayed, "replayed") as fb:
            pairs = zip_longest(self._kept(fa, "recorded", ignored), self._kept(fb, "replayed", ignored))
            for a, b in pairs:
                if a is None or b is None:
                    return self._ends_early(name, a, b)
                if a[1] != b[1]:
                    where = f"line {a[0]}"
                    at = where if a[0] == b[0] else f"{where} (replayed line {b[0]})"
                    detail = f"{at}: {show_value(repr(a[1]))} != {show_value(repr(b[1]))}"
                    return Verdict(name, "differs", self.label, detail, where=where)
        detail = (
            f"equal after leaving out {ignored['recorded']} recorded and "
            f"{ignored['replayed']} replayed lines matching the ignore patterns"
        )
        return Verdict(name, "within_tolerance", self.label, detail)

    def _ends_early(self, name: str, a: Line | None, b: Line | None) -> Verdict:
        if a is None:
            assert b is not None
            detail = f"the recorded copy has no more lines; replayed line {b[0]}: {show_value(repr(b[1]))}"
            where = f"replayed line {b[0]}"
        else:
            detail = f"the replayed copy has no more lines; recorded line {a[0]}: {show_value(repr(a[1]))}"
            where = f"line {a[0]}"
        return Verdict(name, "differs", self.label, detail, where=where)


def binary_reason(path: Path, side: Side) -> str | None:
    """Why the file is binary (its first NUL byte, which text never holds: git's test too), or
    None. Streamed, so a large log costs one chunk of memory."""
    offset = 0
    with open_binary(path, side) as f:
        while True:
            with reading(side):
                chunk = f.read(CHUNK)
            if not chunk:
                return None
            nul = chunk.find(0)
            if nul >= 0:
                return f"NUL byte at offset {offset + nul}"
            offset += len(chunk)
