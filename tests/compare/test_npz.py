from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from .conftest import Outputs
from .helpers import one_rule

ALLCLOSE = one_rule({"allclose": {"rtol": 1e-6, "atol": 1e-9}})


def _savez(outputs: Outputs, name: str, recorded: dict, replayed: dict, compressed: bool = False) -> None:
    rec, rep = outputs.paths(name)
    save = np.savez_compressed if compressed else np.savez
    save(rec, **recorded)
    save(rep, **replayed)


@pytest.mark.parametrize("compressed", [False, True])
def test_worst_array_is_reported_with_its_name(outputs: Outputs, compressed: bool) -> None:
    w = np.ones((4, 3), dtype=np.float32)
    b = np.ones(5)
    w2, b2 = w.copy(), b.copy()
    w2[3, 1] = np.nextafter(np.float32(1), np.float32(2))
    b2[2] = 1 + 1e-12
    _savez(outputs, "m.npz", {"w": w, "b": b}, {"w": w2, "b": b2}, compressed)
    v = outputs.compare("m.npz", ALLCLOSE, chunk_elements=4)
    assert v.status == "within_tolerance"
    assert v.where == "w[3, 1]"
    assert v.max_abs_error == pytest.approx(float(np.finfo(np.float32).eps))


def test_failure_names_the_array_and_index(outputs: Outputs) -> None:
    _savez(outputs, "m.npz", {"a": np.zeros(3), "b": np.zeros((2, 2))}, {"a": np.zeros(3), "b": np.array([[0, 0], [1, 0.0]])})
    v = outputs.compare("m.npz", ALLCLOSE)
    assert (v.status, v.where) == ("differs", "b[1, 0]")
    assert v.detail.startswith("1 of 7 values out of tolerance; worst at b[1, 0]")


def test_missing_array(outputs: Outputs) -> None:
    _savez(outputs, "m.npz", {"a": np.zeros(3), "b": np.zeros(3)}, {"a": np.zeros(3)})
    v = outputs.compare("m.npz", ALLCLOSE)
    assert (v.status, v.detail, v.where) == ("differs", "array 'b' missing from the replayed copy", "b")


def test_extra_array(outputs: Outputs) -> None:
    _savez(outputs, "m.npz", {"a": np.zeros(3)}, {"a": np.zeros(3), "c": np.zeros(1)})
    v = outputs.compare("m.npz", ALLCLOSE)
    assert (v.status, v.detail) == ("differs", "unexpected array 'c' in the replayed copy")


def test_shape_mismatch_names_the_array(outputs: Outputs) -> None:
    _savez(outputs, "m.npz", {"w": np.zeros((3, 4))}, {"w": np.zeros((4, 3))})
    v = outputs.compare("m.npz", ALLCLOSE)
    assert (v.status, v.detail, v.where) == ("differs", "shape (3, 4) != (4, 3) in array 'w'", "w")


def test_dtype_mismatch_names_the_array(outputs: Outputs) -> None:
    _savez(outputs, "m.npz", {"w": np.zeros(2, np.float32)}, {"w": np.zeros(2, np.float16)})
    assert outputs.compare("m.npz", ALLCLOSE).detail == "dtype float32 != float16 in array 'w'"


def test_mixed_storage_orders(outputs: Outputs) -> None:
    values = np.arange(6.0).reshape(2, 3)
    changed = values.copy()
    changed[0, 2] += 1
    _savez(outputs, "m.npz", {"w": values}, {"w": np.asfortranarray(changed)})
    v = outputs.compare("m.npz", ALLCLOSE, chunk_elements=2)
    assert (v.status, v.where) == ("differs", "w[0, 2]")


def test_object_arrays_are_refused(outputs: Outputs) -> None:
    rec, rep = outputs.paths("m.npz")
    np.savez(rec, o=np.array([{"a": 1}], dtype=object))
    np.savez(rep, o=np.array([{"a": 2}], dtype=object))
    v = outputs.compare("m.npz", ALLCLOSE)
    assert (v.status, v.detail) == ("differs", "pickled arrays are not compared in array 'o'")


def test_member_that_is_not_an_array_is_compared_as_bytes(outputs: Outputs) -> None:
    rec, rep = outputs.paths("m.npz")
    for path, note in ((rec, b"first"), (rep, b"other")):
        with zipfile.ZipFile(path, "w") as z:
            buf = io.BytesIO()
            np.save(buf, np.zeros(2))
            z.writestr("a.npy", buf.getvalue())
            z.writestr("notes.txt", note)
    v = outputs.compare("m.npz", ALLCLOSE)
    assert (v.status, v.where) == ("differs", "notes.txt")
    assert "not an array" in v.detail and "offset 0" in v.detail


def _good_npz() -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, w=np.arange(1000.0))
    return buf.getvalue()


def _flip_inside_member(data: bytes) -> bytes:
    body = bytearray(data)
    body[len(body) // 2] ^= 0xFF  # inside the deflated data: a CRC or inflate error
    return bytes(body)


@pytest.mark.parametrize("corrupt", [lambda d: b"PK\x03\x04 not really", lambda d: d[: len(d) // 2], _flip_inside_member])
@pytest.mark.parametrize("side", ["recorded", "replayed"])
def test_corrupt_archive_differs_and_names_the_side(outputs: Outputs, corrupt, side: str) -> None:
    good = _good_npz()
    bad = corrupt(good)
    outputs.write("m.npz", bad if side == "recorded" else good, good if side == "recorded" else bad)
    v = outputs.compare("m.npz", ALLCLOSE)
    assert v.status == "differs"
    assert v.detail.startswith(f"the {side} copy is not readable as an .npz archive")
