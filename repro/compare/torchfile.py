"""PyTorch checkpoints (`torch.save` files: `.pt`, `.pth`, `.bin`; Lightning's `.ckpt`), compared
as what they hold: tensors like arrays, everything else as JSON-like values by path.

A checkpoint is a pickle, and a pickle is code. So a file is only ever loaded with
`torch.load(weights_only=True, map_location="cpu")`, torch's restricted unpickler that builds
tensors, containers and plain values and refuses anything else; a file it refuses (or one that
is not a checkpoint at all) is compared as bytes, and the verdict says why. Without torch the
file is compared as bytes too: torch is the only reader that does this safely.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from repro.compare.arrays import DEFAULT_CHUNK_ELEMENTS, index_text
from repro.compare.bytewise import byte_difference
from repro.compare.format import Side, Unreadable
from repro.compare.jsonfile import JsonFormat, Problem
from repro.compare.jsonpath import Part, format_path
from repro.compare.policy import Tolerance
from repro.compare.rules import IgnoredPath, PathOverride
from repro.compare.safetensors import widen_bf16, widen_e5m2, E4M3_VALUES, Widen, compare_tensor_chunks
from repro.compare.stats import ErrorStats
from repro.compare.verdict import Verdict

_UNSUPPORTED = re.compile(r"Unsupported global: [^\n]*|Unsupported operand [^\n]*")


class Refused(Exception):
    """`torch.load(weights_only=True)` would not load one copy."""

    def __init__(self, side: Side, reason: str) -> None:
        super().__init__(reason)
        self.side = side
        self.reason = reason


class TensorLeaf:
    """A tensor in a loaded checkpoint, kept for the comparison after the walk."""

    type_name = "tensor"

    def __init__(self, tensor: Any) -> None:
        self.tensor = tensor

    @property
    def dtype(self) -> str:
        return str(self.tensor.dtype).removeprefix("torch.")

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.tensor.shape)


def load_checkpoint(path: Path, side: Side) -> Any:
    """The checkpoint's object, loaded with torch's restricted unpickler only."""
    import pickle

    import torch

    def load(mmap: bool) -> Any:
        return torch.load(path, weights_only=True, map_location="cpu", mmap=mmap)

    try:
        try:
            return load(True)  # tensors stay on disk until compared
        except RuntimeError as e:
            if "mmap" not in str(e):
                raise
            return load(False)  # the legacy (non-zip) format cannot be memory-mapped
    except OSError as e:
        raise Unreadable(side, str(e)) from e
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, TypeError, AttributeError,
            KeyError, IndexError, ImportError, MemoryError) as e:
        text = str(e)
        found = _UNSUPPORTED.search(text)
        reason = found.group(0) if found else (text.splitlines()[0] if text else type(e).__name__)
        raise Refused(side, reason) from e


def plain(value: Any, depth: int = 0) -> Any:
    """The loaded object as JSON-like data: dicts (OrderedDict too), lists (tuples, torch.Size),
    strings, numbers, booleans and None, with tensors as `TensorLeaf`. Keys that are neither
    strings nor integers, and values of other types, become their `repr`."""
    import torch

    if depth > 200:
        raise RecursionError("checkpoint nested too deeply")
    if isinstance(value, torch.Tensor):
        return TensorLeaf(value)
    if isinstance(value, np.ndarray):
        return TensorLeaf(torch.from_numpy(value))
    if isinstance(value, dict):
        return {(k if isinstance(k, (str, int)) and not isinstance(k, bool) else repr(k)): plain(v, depth + 1)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v, depth + 1) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((plain(v, depth + 1) for v in value), key=repr)
    if value is None or isinstance(value, (str, int, float, bool, bytes)):
        return value
    return repr(value)  # torch.dtype, torch.device, complex, ...


_WIDEN: dict[str, tuple[str, Widen]] = {
    "bfloat16": ("int16", lambda c: widen_bf16(c.view(np.uint16))),
    "float8_e4m3fn": ("uint8", lambda c: E4M3_VALUES[c]),
    "float8_e5m2": ("uint8", widen_e5m2),
}


def _tensor_chunks(tensor: Any, chunk: int) -> tuple[Iterator[np.ndarray], Widen | None]:
    """The tensor's elements in C order, `chunk` at a time, as numpy (the stored codes, with how
    to widen them, for the float types numpy lacks)."""
    import torch

    flat = tensor.detach().contiguous().reshape(-1)
    dtype = str(tensor.dtype).removeprefix("torch.")
    widen = None
    if dtype in _WIDEN:
        view, widen = _WIDEN[dtype]
        flat = flat.view(getattr(torch, view))
    array = flat.numpy()
    if widen is not None and dtype == "bfloat16":
        array = array.view(np.uint16)
    return (array[i : i + chunk] for i in range(0, array.size, chunk)), widen


class TorchFormat(JsonFormat):
    """Walks the two loaded checkpoints like JSON documents (paths, ignored paths and per-path
    overrides as for `.json`); tensors must match in dtype and shape, and their values are
    compared under the tolerance at their path, a chunk at a time."""

    kind = "a PyTorch checkpoint"

    def __init__(
        self,
        tolerance: Tolerance,
        paths: tuple[PathOverride, ...] = (),
        ignored: tuple[IgnoredPath, ...] = (),
        chunk_elements: int = DEFAULT_CHUNK_ELEMENTS,
    ) -> None:
        super().__init__(tolerance, paths, ignored)
        self.chunk_elements = chunk_elements
        self._tensors: list[tuple[tuple[Part, ...], TensorLeaf, TensorLeaf]] = []

    def compare(self, name: str, recorded: Path, replayed: Path) -> Verdict:
        try:
            import torch  # noqa: F401
        except ImportError:
            return Verdict(name, "differs", "exact", "torch is not importable here, and only torch.load(weights_only=True) "
                           f"reads a checkpoint safely; compared exactly: {byte_difference(recorded, replayed)}")
        try:
            rec = load_checkpoint(recorded, "recorded")
            rep = load_checkpoint(replayed, "replayed")
        except Refused as e:
            return Verdict(name, "differs", "exact",
                           f"the {e.side} copy cannot be loaded with torch.load(weights_only=True) ({e.reason}); a full "
                           f"unpickle would run code from the file, so it is compared exactly: "
                           f"{byte_difference(recorded, replayed)}")
        try:
            rec_doc, rep_doc = plain(rec), plain(rep)
        except RecursionError as e:
            raise Unreadable("recorded", str(e)) from e
        self._tensors = []
        return self.compare_documents(name, rec_doc, rep_doc)

    def _leaf(self, parts: tuple[Part, ...], a: Any, b: Any) -> Problem | None:
        if isinstance(a, TensorLeaf):
            where = format_path(parts)
            if a.dtype != b.dtype:
                return f"dtype {a.dtype} != {b.dtype} in tensor {where}", where
            if a.shape != b.shape:
                return f"shape {a.shape} != {b.shape} in tensor {where}", where
            self._tensors.append((parts, a, b))
            return None
        return super()._leaf(parts, a, b)

    def _finish(self, stats: ErrorStats) -> Problem | None:
        for parts, a, b in self._tensors:
            where = format_path(parts)
            try:
                rec, widen = _tensor_chunks(a.tensor, self.chunk_elements)
                rep, _ = _tensor_chunks(b.tensor, self.chunk_elements)
            except (RuntimeError, TypeError) as e:  # sparse, quantized, meta: no numpy view
                import torch

                if torch.equal(a.tensor, b.tensor):
                    continue
                return f"tensor {where} differs ({str(e).splitlines()[0]}; compared exactly)", where
            compare_tensor_chunks(rec, rep, widen, self._tolerance_at(parts), stats,
                                  lambda i, p=where, s=a.shape: p + index_text(i, s))
        return None
