"""Array comparison in bounded memory, shared by the .npy and .npz formats.

Arrays are read in chunks of a fixed number of elements, from the file or from the .npz
member's decompressing stream, so a pair of 1 GB arrays costs a few chunks of buffers and
temporaries, not copies of the arrays. Headers are parsed with numpy's public readers, which
never unpickle; an object array is refused before any of its data is touched.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Literal

import numpy as np

from repro.compare.format import Side, Unreadable, reading
from repro.compare.policy import Pair, Tolerance
from repro.compare.stats import ErrorStats

DEFAULT_CHUNK_ELEMENTS = 1 << 17  # 512 KiB of float32 per side: temporaries stay in cache
PICKLED = "pickled arrays are not compared"

Errors = tuple[type[BaseException], ...]  # a stream's own exceptions that mean "unreadable"
Order = Literal["C", "F"]  # element order: row-major or column-major (Fortran)
Chunk = tuple[int, np.ndarray, np.ndarray]  # (first flat index, recorded values, replayed values)
ChunkPairs = Iterable[Chunk]


@dataclass(frozen=True)
class ArrayHeader:
    """What an .npy header says about the data that follows it."""

    shape: tuple[int, ...]
    fortran_order: bool
    dtype: np.dtype

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def order(self) -> Order:
        return "F" if self.fortran_order else "C"


def read_header(fp: io.BufferedIOBase, side: Side, errors: Errors = ()) -> ArrayHeader:
    """Parse the .npy header at the stream's position, leaving the stream at the data."""
    with reading(side, ValueError, EOFError, *errors):
        version = np.lib.format.read_magic(fp)
        # Version 3.0 only changes the encoding of field names (utf-8); its layout is 2.0's.
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(fp)
        else:
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(fp)
    return ArrayHeader(tuple(shape), bool(fortran_order), dtype)


def structure_mismatch(recorded: ArrayHeader, replayed: ArrayHeader, what: str = "") -> str | None:
    """Why the two arrays cannot be compared value by value, or None. `what` names the array
    in the message (" in array 'w'")."""
    if recorded.dtype.hasobject or replayed.dtype.hasobject:
        return PICKLED + what
    if recorded.shape != replayed.shape:
        return f"shape {recorded.shape} != {replayed.shape}{what}"
    if recorded.dtype != replayed.dtype:
        return f"dtype {recorded.dtype} != {replayed.dtype}{what}"
    return None


def index_text(flat: int, shape: tuple[int, ...], order: Order = "C") -> str:
    """`[i, j]` for a flat position in an array of `shape` stored in `order`."""
    if not shape:
        return "[()]"
    idx = np.unravel_index(flat, shape, order=order)
    return "[" + ", ".join(str(int(i)) for i in idx) + "]"


def array_chunks(recorded: np.ndarray, replayed: np.ndarray, chunk: int) -> Iterator[Chunk]:
    """Aligned chunks of two same-shape arrays, in C (row-major) order of their elements.

    Contiguous arrays are sliced without copying; other layouts (one side stored in Fortran
    order) go through a buffered iterator that copies one chunk at a time.
    """
    if recorded.flags.c_contiguous and replayed.flags.c_contiguous:
        a, b = recorded.reshape(-1), replayed.reshape(-1)
        for start in range(0, a.size, chunk):
            yield start, a[start : start + chunk], b[start : start + chunk]
        return
    if recorded.size == 0:
        return
    it = np.nditer([recorded, replayed], flags=["external_loop", "buffered"], order="C", buffersize=chunk)
    start = 0
    for a, b in it:
        yield start, a, b
        start += a.size


def stream_chunks(
    fp: io.BufferedIOBase, header: ArrayHeader, chunk: int, side: Side, errors: Errors = ()
) -> Iterator[np.ndarray]:
    """The array data after a header, `chunk` elements at a time in storage order.

    Reads go into one reusable buffer, so each yielded chunk is overwritten by the next: the
    consumer must be done with a chunk before asking for another. Reading rather than
    memory-mapping keeps the resident set at a chunk, where a mapping would keep every page it
    touched resident (a 1 GB pair would show as 2 GB).
    """
    remaining = header.size
    buffer = np.empty(min(chunk, remaining), dtype=header.dtype)
    raw = buffer.reshape(-1).view(np.uint8).data
    itemsize = header.dtype.itemsize
    while remaining > 0:
        n = min(chunk, remaining)
        want, got = n * itemsize, 0
        while got < want:
            with reading(side, *errors):
                read = fp.readinto(raw[got:want])
            if not read:
                missing = remaining - got // itemsize
                raise Unreadable(side, f"array data ends early ({missing} of {header.size} elements missing)")
            got += read
        yield buffer[:n]
        remaining -= n


def load_rest(fp: io.BufferedIOBase, header: ArrayHeader, side: Side, errors: Errors = ()) -> np.ndarray:
    """The whole array after a header, shaped: memory-mapped from a real file, read from any
    other stream. Only needed when the two sides store their elements in different orders."""
    if isinstance(fp, io.BufferedReader):
        with reading(side, *errors):
            return np.memmap(fp, dtype=header.dtype, mode="r", offset=fp.tell(), shape=header.shape, order=header.order)
    want = header.size * header.dtype.itemsize
    with reading(side, *errors):
        data = fp.read(want)
    if len(data) != want:
        raise Unreadable(side, f"array data ends early ({len(data)} of {want} bytes)")
    return np.frombuffer(data, dtype=header.dtype).reshape(header.shape, order=header.order)


def zip_chunks(recorded: Iterable[np.ndarray], replayed: Iterable[np.ndarray]) -> Iterator[Chunk]:
    """Pair two chunk streams of equal chunk sizes, numbering their first elements."""
    start = 0
    for a, b in zip(recorded, replayed):
        yield start, a, b
        start += a.size


def compare_chunks(pairs: ChunkPairs, tolerance: Tolerance, stats: ErrorStats, locate: Callable[[int], str]) -> None:
    """Fold every chunk into `stats`. Floating values go through the tolerance; integers,
    booleans and everything else must be equal (bit for bit for records and strings)."""
    for start, rec, rep in pairs:
        pair = Pair(rec, rep)
        accepted = tolerance.accepts(pair) if pair.inexact else pair.equal()
        stats.add(pair, accepted, lambda i: locate(start + i))  # called before `start` moves on


def compare_arrays(
    recorded: io.BufferedIOBase,
    replayed: io.BufferedIOBase,
    tolerance: Tolerance,
    stats: ErrorStats,
    *,
    chunk: int,
    name: str = "",
    errors: Errors = (),
) -> str | None:
    """Compare two .npy streams positioned at their magic string, folding the values into
    `stats`; returns why their structure differs instead, or None. `name` prefixes locations
    ("w[3, 1]") and messages; `errors` are the stream's own exceptions that mean "unreadable"."""
    rec_header, rep_header = read_header(recorded, "recorded", errors), read_header(replayed, "replayed", errors)
    mismatch = structure_mismatch(rec_header, rep_header, f" in array {name!r}" if name else "")
    if mismatch:
        return mismatch
    shape = rec_header.shape
    pairs: ChunkPairs
    order: Order
    if rec_header.fortran_order == rep_header.fortran_order:
        order = rec_header.order
        pairs = zip_chunks(
            stream_chunks(recorded, rec_header, chunk, "recorded", errors),
            stream_chunks(replayed, rep_header, chunk, "replayed", errors),
        )
    else:
        order = "C"
        rec = load_rest(recorded, rec_header, "recorded", errors)
        rep = load_rest(replayed, rep_header, "replayed", errors)
        pairs = array_chunks(rec, rep, chunk)
    compare_chunks(pairs, tolerance, stats, lambda i: name + index_text(i, shape, order))
    return None


class ArrayFormat:
    """What the array formats share: the rule's tolerance, and how many elements are held at once."""

    def __init__(self, tolerance: Tolerance, chunk_elements: int) -> None:
        self.tolerance = tolerance
        self.chunk_elements = chunk_elements

    @property
    def label(self) -> str:
        return self.tolerance.label
