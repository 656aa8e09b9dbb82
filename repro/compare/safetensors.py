"""`.safetensors` files, read directly: an 8-byte little-endian header length, a JSON header
naming every tensor's dtype, shape and byte range, then the raw little-endian buffers.

Nothing here imports torch or the safetensors package: numpy reads the buffers, tensor by
tensor and a chunk at a time, so a pair of 1 GB files costs a few chunks of memory. Tensor
names, shapes and dtypes must match exactly; values are compared under the rule. bfloat16 and
float8 have no numpy dtype: their bit patterns are widened exactly to float32 for `allclose`,
and `ulp` counts steps of the stored type on the bit patterns themselves.
"""

from __future__ import annotations

import io
import json
import math
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from repro.compare.arrays import ArrayFormat, ArrayHeader, index_text, stream_chunks
from repro.compare.format import Side, Unreadable, open_binary, reading
from repro.compare.jsonpath import matches
from repro.compare.policy import Pair, Tolerance
from repro.compare.rules import IgnoredPath
from repro.compare.stats import ErrorStats, show_value
from repro.compare.verdict import Verdict

MAX_HEADER = 100_000_000  # the safetensors format's own limit on the JSON header
METADATA = "__metadata__"


def _e4m3_table() -> np.ndarray:
    """float32 value of each float8 E4M3FN code: bias 7, no infinities, S.1111.111 is NaN."""
    codes = np.arange(256, dtype=np.uint32)
    sign = np.where(codes & 0x80, -1.0, 1.0)
    exponent, mantissa = (codes >> 3) & 0xF, codes & 0x7
    normal = (1.0 + mantissa / 8.0) * np.exp2(exponent.astype(np.float64) - 7.0)
    subnormal = (mantissa / 8.0) * np.exp2(-6.0)
    values = sign * np.where(exponent == 0, subnormal, normal)
    values[(exponent == 0xF) & (mantissa == 0x7)] = np.nan
    return values.astype(np.float32)


E4M3_VALUES = _e4m3_table()

Widen = Callable[[np.ndarray], np.ndarray]  # stored codes -> exactly equal wider floats


def widen_bf16(codes: np.ndarray) -> np.ndarray:
    return (codes.astype(np.uint32) << 16).view(np.float32)


def widen_e5m2(codes: np.ndarray) -> np.ndarray:
    return (codes.astype(np.uint16) << 8).view(np.float16)  # float8 E5M2 is float16's top byte


# safetensors dtype -> (how the bytes are stored, how to widen codes to floats, or None)
DTYPES: dict[str, tuple[np.dtype, Widen | None]] = {
    "F64": (np.dtype("<f8"), None),
    "F32": (np.dtype("<f4"), None),
    "F16": (np.dtype("<f2"), None),
    "BF16": (np.dtype("<u2"), widen_bf16),
    "F8_E4M3": (np.dtype("u1"), lambda c: E4M3_VALUES[c]),
    "F8_E5M2": (np.dtype("u1"), widen_e5m2),
    "C64": (np.dtype("<c8"), None),
    "I64": (np.dtype("<i8"), None),
    "I32": (np.dtype("<i4"), None),
    "I16": (np.dtype("<i2"), None),
    "I8": (np.dtype("i1"), None),
    "U64": (np.dtype("<u8"), None),
    "U32": (np.dtype("<u4"), None),
    "U16": (np.dtype("<u2"), None),
    "U8": (np.dtype("u1"), None),
    "BOOL": (np.dtype("?"), None),
}


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: str
    shape: tuple[int, ...]
    begin: int  # byte offsets into the data section
    end: int

    @property
    def storage(self) -> np.dtype:
        return DTYPES[self.dtype][0]


@dataclass(frozen=True)
class SafetensorsHeader:
    tensors: dict[str, TensorInfo]
    metadata: dict[str, str]
    data_start: int  # file offset of the data section


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r} in the header")
        out[key] = value
    return out


def read_header(fp: io.BufferedReader, side: Side) -> SafetensorsHeader:
    """Parse and check the header: every tensor's byte range lies inside the file and holds
    exactly its shape's worth of elements."""
    size = os.fstat(fp.fileno()).st_size
    with reading(side):
        prefix = fp.read(8)
    if len(prefix) < 8:
        raise Unreadable(side, "shorter than the 8-byte header length")
    length = int.from_bytes(prefix, "little")
    if length > MAX_HEADER or 8 + length > size:
        raise Unreadable(side, f"header length {length} does not fit a {size}-byte file")
    with reading(side, ValueError, RecursionError):
        raw = json.loads(fp.read(length).decode("utf-8"), object_pairs_hook=_no_duplicates)
    if not isinstance(raw, dict):
        raise Unreadable(side, "the header is not a JSON object")
    data_len = size - 8 - length
    metadata = raw.pop(METADATA, None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise Unreadable(side, f"{METADATA} is not a mapping of strings")
    tensors = {name: _tensor(name, info, data_len, side) for name, info in raw.items()}
    return SafetensorsHeader(tensors, metadata, 8 + length)


def _tensor(name: str, info: Any, data_len: int, side: Side) -> TensorInfo:
    def bad(why: str) -> Unreadable:
        return Unreadable(side, f"tensor {name!r}: {why}")

    if not isinstance(info, dict):
        raise bad("its header entry is not an object")
    dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if dtype not in DTYPES:
        raise bad(f"unknown dtype {dtype!r}")
    if not isinstance(shape, list) or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
        raise bad(f"bad shape {shape!r}")
    if (not isinstance(offsets, list) or len(offsets) != 2
            or not all(isinstance(n, int) and not isinstance(n, bool) for n in offsets)):
        raise bad(f"bad data_offsets {offsets!r}")
    begin, end = offsets
    want = math.prod(shape) * DTYPES[dtype][0].itemsize
    if not 0 <= begin <= end <= data_len or end - begin != want:
        raise bad(f"data_offsets {offsets} do not hold {want} bytes inside the {data_len}-byte data section")
    return TensorInfo(name, dtype, tuple(shape), begin, end)


def name_parts(name: str) -> tuple[str, ...]:
    """A tensor name as path parts, so `paths: {"optimizer.*": ignore}` selects by its dots."""
    return tuple(name.split("."))


def _chunks(fp: io.BufferedReader, start: int, info: TensorInfo, chunk: int, side: Side) -> Iterator[np.ndarray]:
    with reading(side):
        fp.seek(start + info.begin)
    return stream_chunks(fp, ArrayHeader(info.shape, False, info.storage), chunk, side)


def compare_tensor_chunks(
    rec: Iterator[np.ndarray],
    rep: Iterator[np.ndarray],
    widen: Widen | None,
    tolerance: Tolerance,
    stats: ErrorStats,
    locate: Callable[[int], str],
) -> None:
    """Fold the aligned chunks of one tensor into `stats`: floats under the tolerance (widened
    from their stored codes where numpy has no dtype for them), anything else exactly."""
    start = 0
    for a, b in zip(rec, rep):
        pair = Pair(widen(a), widen(b), codes=(a, b)) if widen is not None else Pair(a, b)
        accepted = tolerance.accepts(pair) if pair.inexact else pair.equal()
        stats.add(pair, accepted, lambda i: locate(start + i))
        start += a.size


class SafetensorsFormat(ArrayFormat):
    """Tensor names, dtypes and shapes exact, then every tensor under the tolerance; the verdict
    names the worst tensor and index. `__metadata__` strings must be equal."""

    kind = "a .safetensors file"

    def __init__(self, tolerance: Tolerance, chunk_elements: int, ignored: tuple[IgnoredPath, ...] = ()) -> None:
        super().__init__(tolerance, chunk_elements)
        self.ignored = ignored

    def _is_ignored(self, parts: tuple[str, ...]) -> bool:
        return any(matches(i.pattern, parts) for i in self.ignored)

    def compare(self, name: str, recorded: Path, replayed: Path) -> Verdict:
        with open_binary(recorded, "recorded") as a, open_binary(replayed, "replayed") as b:
            rec, rep = read_header(a, "recorded"), read_header(b, "replayed")
            problem = self._structure(rec, rep)
            if problem:
                detail, where = problem
                return Verdict(name, "differs", self.label, detail, where=where)
            stats = ErrorStats()
            left_out = 0
            for info in sorted(rec.tensors.values(), key=lambda t: t.begin):
                if self._is_ignored(name_parts(info.name)):
                    left_out += 1
                    continue
                other = rep.tensors[info.name]
                compare_tensor_chunks(
                    _chunks(a, rec.data_start, info, self.chunk_elements, "recorded"),
                    _chunks(b, rep.data_start, other, self.chunk_elements, "replayed"),
                    DTYPES[info.dtype][1], self.tolerance, stats,
                    lambda i, t=info: t.name + index_text(i, t.shape),
                )
        verdict = stats.verdict(name, self.label)
        if left_out:
            note = f"{left_out} tensor{'s' if left_out != 1 else ''} left out at ignored paths"
            return replace(verdict, detail=f"{verdict.detail}; {note}")
        return verdict

    def _structure(self, rec: SafetensorsHeader, rep: SafetensorsHeader) -> tuple[str, str] | None:
        """(detail, where) of the first difference in names, dtypes, shapes or metadata."""
        kept = [t for t in rec.tensors if not self._is_ignored(name_parts(t))]
        missing = [t for t in kept if t not in rep.tensors]
        if missing:
            return f"tensor {missing[0]!r} missing from the replayed copy", missing[0]
        extra = [t for t in rep.tensors if t not in rec.tensors and not self._is_ignored(name_parts(t))]
        if extra:
            return f"unexpected tensor {extra[0]!r} in the replayed copy", extra[0]
        for t in kept:
            a, b = rec.tensors[t], rep.tensors[t]
            if a.dtype != b.dtype:
                return f"dtype {a.dtype} != {b.dtype} in tensor {t!r}", t
            if a.shape != b.shape:
                return f"shape {a.shape} != {b.shape} in tensor {t!r}", t
        meta = (METADATA,)
        if not self._is_ignored(meta):
            for key in sorted(rec.metadata.keys() | rep.metadata.keys()):
                if self._is_ignored((*meta, key)):
                    continue
                x, y = rec.metadata.get(key), rep.metadata.get(key)
                if x != y:
                    where = f"{METADATA}.{key}"
                    return f"metadata differs at {where}: {show_value(repr(x))} != {show_value(repr(y))}", where
        return None
