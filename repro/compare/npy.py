"""`.npy` arrays, compared chunk by chunk straight from the files."""

from __future__ import annotations

from pathlib import Path

from repro.compare.arrays import ArrayFormat, compare_arrays
from repro.compare.format import open_binary
from repro.compare.stats import ErrorStats
from repro.compare.verdict import Verdict


class NpyFormat(ArrayFormat):
    """Shape and dtype must match exactly; values are compared under the tolerance a chunk at a
    time, so memory does not grow with the file. Pickled object arrays are refused."""

    kind = "a .npy array"

    def compare(self, name: str, recorded: Path, replayed: Path) -> Verdict:
        stats = ErrorStats()
        with open_binary(recorded, "recorded") as a, open_binary(replayed, "replayed") as b:
            mismatch = compare_arrays(a, b, self.tolerance, stats, chunk=self.chunk_elements)
        if mismatch:
            return Verdict(name, "differs", self.label, mismatch)
        return stats.verdict(name, self.label)
