"""`.csv` tables: same header and shape, numeric cells within tolerance, the rest exact.

Both files are streamed row by row; numeric cells are batched so the tolerance runs vectorised
and memory stays bounded however long the table is. Rows are numbered from 1 after the header.
"""

from __future__ import annotations

import csv
from itertools import zip_longest
from pathlib import Path
from typing import IO, Iterator

import numpy as np

from repro.compare.format import Side, open_text, reading
from repro.compare.policy import Pair, Tolerance
from repro.compare.stats import ErrorStats, show_value
from repro.compare.verdict import Verdict

BATCH_CELLS = 1 << 16


def _float(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def _rows(f: IO[str], side: Side) -> Iterator[list[str]]:
    """Rows of a strictly parsed CSV; a malformed file is unreadable, not a difference."""
    reader = csv.reader(f, strict=True)
    while True:
        with reading(side, csv.Error, ValueError):
            row = next(reader, None)
        if row is None:
            return
        yield row


class _Batch:
    """Numeric cells waiting to be checked together, with their (row, column) positions."""

    def __init__(self, header: list[str]) -> None:
        self.header = header
        self.recorded: list[float] = []
        self.replayed: list[float] = []
        self.cells: list[tuple[int, int]] = []

    def where(self, row: int, column: int) -> str:
        name = self.header[column] if column < len(self.header) else f"#{column + 1}"
        return f"row {row}, column {name!r}"

    def add(self, row: int, column: int, recorded: float, replayed: float) -> None:
        self.recorded.append(recorded)
        self.replayed.append(replayed)
        self.cells.append((row, column))

    def flush(self, tolerance: Tolerance, stats: ErrorStats) -> None:
        if not self.cells:
            return
        pair = Pair(np.array(self.recorded), np.array(self.replayed))
        cells = self.cells
        stats.add(pair, tolerance.accepts(pair), lambda i: self.where(*cells[i]))
        self.recorded, self.replayed, self.cells = [], [], []


class CsvFormat:
    """Header and row count must match; a cell that parses as a float on both sides is compared
    under the tolerance, any other cell must be equal as text."""

    kind = "CSV"

    def __init__(self, tolerance: Tolerance) -> None:
        self.tolerance = tolerance

    @property
    def label(self) -> str:
        return self.tolerance.label

    def compare(self, name: str, recorded: Path, replayed: Path) -> Verdict:
        with open_text(recorded, "recorded") as fa, open_text(replayed, "replayed") as fb:
            return self._compare(name, _rows(fa, "recorded"), _rows(fb, "replayed"))

    def _differs(self, name: str, detail: str, where: str | None = None) -> Verdict:
        return Verdict(name, "differs", self.label, detail, where=where)

    def _compare(self, name: str, rec_rows: Iterator[list[str]], rep_rows: Iterator[list[str]]) -> Verdict:
        header, rep_header = next(rec_rows, None), next(rep_rows, None)
        if header is None or rep_header is None:
            empty = "recorded" if header is None else "replayed"
            return self._differs(name, f"the {empty} copy is empty")
        if header != rep_header:
            return self._differs(name, f"header differs: {show_value(header)} != {show_value(rep_header)}", "header")
        stats, batch = ErrorStats(), _Batch(header)
        row_no = 0
        for row_no, (a, b) in enumerate(zip_longest(rec_rows, rep_rows), start=1):
            if a is None or b is None:
                longer = rep_rows if a is None else rec_rows
                extra = 1 + sum(1 for _ in longer)
                n_rec, n_rep = (row_no - 1, row_no - 1 + extra) if a is None else (row_no - 1 + extra, row_no - 1)
                return self._differs(name, f"row count differs: {n_rec} != {n_rep}", f"row {row_no}")
            if len(a) != len(b):
                detail = f"row {row_no} has {len(a)} fields recorded, {len(b)} replayed"
                return self._differs(name, detail, f"row {row_no}")
            for j, (x, y) in enumerate(zip(a, b)):
                fx, fy = _float(x), _float(y)
                if fx is not None and fy is not None:
                    batch.add(row_no, j, fx, fy)
                elif x != y:
                    where = batch.where(row_no, j)
                    return self._differs(name, f"{where}: {show_value(repr(x))} != {show_value(repr(y))}", where)
            if len(batch.cells) >= BATCH_CELLS:
                batch.flush(self.tolerance, stats)
        batch.flush(self.tolerance, stats)
        return stats.verdict(name, self.label)
