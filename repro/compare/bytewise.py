"""Byte-for-byte identity: the fast path before any format is parsed.

Files are streamed in 1 MiB chunks and the comparison stops at the first difference, so two
large outputs that differ cost one chunk each, and two identical ones cost one read each with
constant memory.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
import numpy as np

from repro.compare.format import open_binary, reading
from repro.data.digest import CHUNK


def first_difference(
    a: io.BufferedIOBase, b: io.BufferedIOBase, errors: tuple[type[BaseException], ...] = ()
) -> int | None:
    """Offset of the first byte at which the recorded stream `a` and the replayed stream `b`
    differ (a stream that ends early differs where it ends), or None when they are identical.
    Read errors, OSError and `errors`, become `Unreadable` for the side that raised them."""
    offset = 0
    while True:
        with reading("recorded", *errors):
            x = a.read(CHUNK)
        with reading("replayed", *errors):
            y = b.read(CHUNK)
        if x != y:
            n = min(len(x), len(y))
            unequal = np.flatnonzero(np.frombuffer(x, np.uint8, n) != np.frombuffer(y, np.uint8, n))
            return offset + (int(unequal[0]) if unequal.size else n)
        if not x:
            return None
        offset += len(x)


def byte_difference(recorded: Path, replayed: Path) -> str | None:
    """None when the files are byte-identical, else a short description of how they differ."""
    with open_binary(recorded, "recorded") as a, open_binary(replayed, "replayed") as b:
        size_a, size_b = os.fstat(a.fileno()).st_size, os.fstat(b.fileno()).st_size
        if size_a != size_b:
            return f"sizes differ ({size_a} != {size_b} bytes)"
        offset = first_difference(a, b)
    return None if offset is None else f"bytes differ from offset {offset}"
