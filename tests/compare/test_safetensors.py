"""`.safetensors` files compared tensor by tensor, read with numpy only."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from repro.compare.safetensors import E4M3_VALUES

from .conftest import Outputs
from .helpers import one_rule

_CODES = {np.dtype("<f4"): "F32", np.dtype("<f8"): "F64", np.dtype("<f2"): "F16", np.dtype("<i8"): "I64",
          np.dtype("u1"): "U8", np.dtype("?"): "BOOL"}


def write_safetensors(path: Path, tensors: dict[str, np.ndarray], metadata: dict[str, str] | None = None,
                      dtypes: dict[str, str] | None = None) -> None:
    """The format by its specification: u64 header length, JSON header, raw little-endian data."""
    header: dict = {"__metadata__": metadata} if metadata else {}
    data = b""
    for name, array in tensors.items():
        raw = np.ascontiguousarray(array).tobytes()
        code = (dtypes or {}).get(name) or _CODES[array.dtype.newbyteorder("<") if array.dtype.itemsize > 1 else array.dtype]
        header[name] = {"dtype": code, "shape": list(array.shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    blob = json.dumps(header).encode()
    path.write_bytes(len(blob).to_bytes(8, "little") + blob + data)


def pair(outputs: Outputs, recorded: dict, replayed: dict, **kwargs) -> None:
    rec, rep = outputs.paths("model.safetensors")
    write_safetensors(rec, recorded, **kwargs)
    write_safetensors(rep, replayed, **kwargs)


def one_ulp(a: np.ndarray) -> np.ndarray:
    return np.nextafter(a, np.inf, dtype=a.dtype)


W = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
B = np.arange(4, dtype=np.float32)


def test_one_ulp_of_noise_passes_ulp_1_and_fails_exact(outputs: Outputs) -> None:
    noisy = W.copy()
    noisy[2, 1] = one_ulp(noisy[2, 1])
    pair(outputs, {"fc.weight": W, "fc.bias": B}, {"fc.weight": noisy, "fc.bias": B})
    v = outputs.compare("model.safetensors", one_rule({"ulp": 1}))
    assert (v.status, v.rule, v.where) == ("within_tolerance", "ulp(1)", "fc.weight[2, 1]")
    assert outputs.compare("model.safetensors", None).status == "differs"
    strict = outputs.compare("model.safetensors", one_rule({"ulp": 0}))
    assert (strict.status, strict.where) == ("differs", "fc.weight[2, 1]")
    assert strict.detail.startswith("1 of 16 values out of tolerance; worst at fc.weight[2, 1]")


def test_worst_tensor_and_index_are_named(outputs: Outputs) -> None:
    w2, b2 = W.copy(), B.copy()
    w2[0, 3] += 1e-3
    b2[1] += 0.5
    pair(outputs, {"fc.weight": W, "fc.bias": B}, {"fc.weight": w2, "fc.bias": b2})
    v = outputs.compare("model.safetensors", one_rule({"allclose": {"rtol": 0, "atol": 1e-6}}), chunk_elements=5)
    assert (v.status, v.where) == ("differs", "fc.bias[1]")
    assert v.detail.startswith("2 of 16 values out of tolerance; worst at fc.bias[1] (recorded 1.0, replayed 1.5)")


def test_names_shapes_and_dtypes_are_exact(outputs: Outputs) -> None:
    rules = one_rule({"allclose": True})
    pair(outputs, {"a": W}, {"b": W})
    assert outputs.compare("model.safetensors", rules).detail == "tensor 'a' missing from the replayed copy"
    rec, rep = outputs.paths("model.safetensors")
    write_safetensors(rec, {"a": W})
    write_safetensors(rep, {"a": W.reshape(4, 3)})
    assert outputs.compare("model.safetensors", rules).detail == "shape (3, 4) != (4, 3) in tensor 'a'"
    write_safetensors(rep, {"a": W.astype(np.float64)})
    assert outputs.compare("model.safetensors", rules).detail == "dtype F32 != F64 in tensor 'a'"
    write_safetensors(rep, {"a": W, "extra": B})
    assert outputs.compare("model.safetensors", rules).detail == "unexpected tensor 'extra' in the replayed copy"


def test_metadata_must_match_unless_ignored(outputs: Outputs) -> None:
    rec, rep = outputs.paths("model.safetensors")
    write_safetensors(rec, {"a": W}, metadata={"format": "pt", "saved": "monday"})
    write_safetensors(rep, {"a": one_ulp(W)}, metadata={"format": "pt", "saved": "tuesday"})
    v = outputs.compare("model.safetensors", one_rule({"ulp": 1}))
    assert (v.status, v.where) == ("differs", "__metadata__.saved")
    ok = outputs.compare("model.safetensors", one_rule({"ulp": 1, "paths": {"__metadata__.saved": "ignore"}}))
    assert ok.status == "within_tolerance"


def test_ignored_tensors_by_dotted_name(outputs: Outputs) -> None:
    pair(outputs, {"model.w": W, "ema.w": W}, {"model.w": W, "ema.w": W + 1})
    v = outputs.compare("model.safetensors", one_rule({"paths": {"ema": "ignore"}}))
    assert (v.status, v.rule) == ("within_tolerance", "exact")
    assert v.detail.endswith("1 tensor left out at ignored paths")


def test_integers_and_booleans_are_exact_under_any_tolerance(outputs: Outputs) -> None:
    steps = np.array([1, 2, 3], dtype=np.int64)
    pair(outputs, {"step": steps}, {"step": steps + np.array([0, 0, 1])})
    v = outputs.compare("model.safetensors", one_rule({"allclose": {"atol": 10}}))
    assert (v.status, v.where) == ("differs", "step[2]")


def test_bfloat16_ulp_counts_steps_of_bfloat16(outputs: Outputs) -> None:
    codes = np.array([0x3F80, 0x4000, 0xBF80], dtype=np.uint16)  # 1.0, 2.0, -1.0 in bfloat16
    rec, rep = outputs.paths("model.safetensors")
    write_safetensors(rec, {"w": codes}, dtypes={"w": "BF16"})
    write_safetensors(rep, {"w": codes + np.array([0, 1, 0], dtype=np.uint16)}, dtypes={"w": "BF16"})
    v = outputs.compare("model.safetensors", one_rule({"ulp": 1}))
    assert (v.status, v.where) == ("within_tolerance", "w[1]")
    assert v.max_abs_error == pytest.approx(2.0 ** -6)  # one bfloat16 step at 2.0
    assert outputs.compare("model.safetensors", one_rule({"ulp": 0})).status == "differs"


def test_float8_e4m3_values_follow_the_format() -> None:
    assert E4M3_VALUES[0x38] == 1.0 and E4M3_VALUES[0x7E] == 448.0 and E4M3_VALUES[0x01] == 2.0 ** -9
    assert np.isnan(E4M3_VALUES[0x7F]) and E4M3_VALUES[0xB8] == -1.0


@pytest.mark.parametrize("damage", ["short", "header", "offsets"])
def test_a_damaged_file_is_unreadable_not_a_crash(outputs: Outputs, damage: str) -> None:
    rec, rep = outputs.paths("model.safetensors")
    write_safetensors(rec, {"a": W})
    good = rec.read_bytes()
    if damage == "short":
        rep.write_bytes(good[:-4])
    elif damage == "header":
        rep.write_bytes((10).to_bytes(8, "little") + b"{not json}" + good[8:])
    else:
        rep.write_bytes(good.replace(b'"data_offsets": [0, 48]', b'"data_offsets": [0, 99]'))
    v = outputs.compare("model.safetensors", one_rule({"allclose": True}))
    assert v.status == "differs"
    assert v.detail.startswith("the replayed copy is not readable as a .safetensors file: ")


def test_files_written_by_the_safetensors_library(outputs: Outputs) -> None:
    st = pytest.importorskip("safetensors.numpy")
    rec, rep = outputs.paths("model.safetensors")
    st.save_file({"w": W, "b": B}, str(rec), metadata={"format": "np"})
    st.save_file({"w": one_ulp(W), "b": B}, str(rep), metadata={"format": "np"})
    v = outputs.compare("model.safetensors", one_rule({"ulp": 1}))
    assert (v.status, v.max_abs_error is not None) == ("within_tolerance", True)
