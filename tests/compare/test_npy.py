from __future__ import annotations

import io
import pickle
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from repro.compare import compare_file, load_rules

from .conftest import Outputs
from .helpers import one_rule

ALLCLOSE = one_rule({"allclose": {"rtol": 1e-6, "atol": 1e-9}})


def test_within_tolerance_reports_max_error_and_where(outputs: Outputs) -> None:
    recorded = np.arange(12, dtype=np.float32).reshape(3, 4) + 1
    replayed = recorded.copy()
    replayed[2, 1] = np.nextafter(replayed[2, 1], np.float32(100))
    outputs.save("w.npy", recorded, replayed)
    v = outputs.compare("w.npy", ALLCLOSE)
    assert v.status == "within_tolerance"
    assert v.rule == "allclose(rtol=1e-06, atol=1e-09)"
    assert v.where == "[2, 1]"
    assert v.max_abs_error == pytest.approx(float(replayed[2, 1] - recorded[2, 1]))
    assert v.max_rel_error == pytest.approx(v.max_abs_error / 10.0)
    assert "at [2, 1] (recorded 10.0, replayed 10.000001)" in v.detail


def test_differs_points_at_the_worst_failure_not_the_largest_error(outputs: Outputs) -> None:
    recorded = np.array([1000.0, 0.0, 5.0])
    replayed = np.array([1000.005, 1e-4, 5.0])  # 0.005 passes on 1000 (rtol); 1e-4 fails on 0
    outputs.save("a.npy", recorded, replayed)
    v = outputs.compare("a.npy", one_rule({"allclose": {"rtol": 1e-5, "atol": 1e-8}}))
    assert v.status == "differs"
    assert v.where == "[1]"
    assert v.max_abs_error == pytest.approx(0.005)
    assert v.detail.startswith("1 of 3 values out of tolerance; worst at [1] (recorded 0.0, replayed 0.0001)")


def test_shape_mismatch(outputs: Outputs) -> None:
    outputs.save("a.npy", np.zeros((3, 4)), np.zeros((4, 3)))
    v = outputs.compare("a.npy", ALLCLOSE)
    assert (v.status, v.detail) == ("differs", "shape (3, 4) != (4, 3)")


def test_dtype_mismatch(outputs: Outputs) -> None:
    outputs.save("a.npy", np.zeros(3, np.float32), np.zeros(3, np.float64))
    v = outputs.compare("a.npy", ALLCLOSE)
    assert (v.status, v.detail) == ("differs", "dtype float32 != float64")


@pytest.mark.parametrize("dtype", [np.int64, np.uint8, np.bool_])
def test_integers_and_booleans_compare_exactly_under_a_tolerance(outputs: Outputs, dtype) -> None:
    recorded = np.array([1, 0, 1, 1], dtype=dtype)
    replayed = np.array([1, 0, 0, 1], dtype=dtype)
    outputs.save("a.npy", recorded, replayed)
    v = outputs.compare("a.npy", one_rule({"allclose": {"rtol": 10.0, "atol": 10.0}}))
    assert v.status == "differs"
    assert v.where == "[2]"
    assert v.max_abs_error == 1.0


def test_nan_differs_without_equal_nan(outputs: Outputs) -> None:
    outputs.save("a.npy", np.array([1.0, np.nan]), np.array([1.0 + 1e-12, np.nan]))
    v = outputs.compare("a.npy", ALLCLOSE)
    assert v.status == "differs"
    assert v.where == "[1]"
    assert "recorded nan, replayed nan" in v.detail


def test_nan_matches_with_equal_nan(outputs: Outputs) -> None:
    outputs.save("a.npy", np.array([1.0, np.nan]), np.array([1.0 + 1e-12, np.nan]))
    v = outputs.compare("a.npy", one_rule({"allclose": {"equal_nan": True}}))
    assert v.status == "within_tolerance"
    assert v.where == "[0]"


@pytest.mark.parametrize("equal_nan", [False, True])
def test_nan_against_a_number_always_differs(outputs: Outputs, equal_nan: bool) -> None:
    outputs.save("a.npy", np.array([np.nan, 2.0]), np.array([1.0, np.nan]))
    v = outputs.compare("a.npy", one_rule({"allclose": {"equal_nan": equal_nan}}))
    assert v.status == "differs"
    assert v.max_abs_error is None  # NaN has no size of error
    assert v.where == "[0]"


def test_ulp_rule_on_float16(outputs: Outputs) -> None:
    recorded = np.array([1.0, -0.0, 2.0], dtype=np.float16)
    replayed = np.array([np.nextafter(np.float16(1), np.float16(2)), 0.0, 2.0], dtype=np.float16)
    outputs.save("h.npy", recorded, replayed)
    assert outputs.compare("h.npy", one_rule({"ulp": 1})).status == "within_tolerance"
    assert outputs.compare("h.npy", one_rule({"ulp": 0})).status == "differs"


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7, 64, 1 << 18])
def test_chunking_does_not_change_the_verdict(outputs: Outputs, chunk: int) -> None:
    rng = np.random.default_rng(1)
    recorded = rng.standard_normal((5, 7)).astype(np.float32)
    replayed = recorded * (1 + 1e-7 * rng.standard_normal((5, 7)).astype(np.float32))
    replayed[3, 6] += 1e-3  # the one failure, at flat index 27: inside a chunk for most sizes
    replayed[4, 0] = recorded[4, 0] + 5e-4  # a smaller failure right after a boundary for chunk 7
    outputs.save("a.npy", recorded, replayed.astype(np.float32))
    v = outputs.compare("a.npy", one_rule({"allclose": {"rtol": 1e-5, "atol": 1e-6}}), chunk_elements=chunk)
    assert v.status == "differs"
    assert v.where == "[3, 6]"
    assert v.detail.startswith("2 of 35 values out of tolerance")


def test_fortran_order_on_both_sides(outputs: Outputs) -> None:
    recorded = np.asfortranarray(np.arange(6, dtype=np.float64).reshape(2, 3))
    replayed = recorded.copy(order="F")
    replayed[1, 0] += 1
    outputs.save("f.npy", recorded, replayed)
    v = outputs.compare("f.npy", ALLCLOSE, chunk_elements=2)
    assert (v.status, v.where) == ("differs", "[1, 0]")


def test_mixed_storage_orders_compare_by_value(outputs: Outputs) -> None:
    values = np.arange(12, dtype=np.float64).reshape(3, 4)
    replayed = values.copy()
    replayed[2, 1] += 1e-12
    outputs.save("m.npy", values, np.asfortranarray(replayed))
    v = outputs.compare("m.npy", ALLCLOSE, chunk_elements=5)
    assert (v.status, v.where) == ("within_tolerance", "[2, 1]")


class Boom:
    """Unpickling this would write a file: proof that nothing was unpickled."""

    marker: Path

    def __reduce__(self):
        return (Path.write_text, (self.marker, "unpickled"))


def test_pickled_object_arrays_are_never_loaded(outputs: Outputs, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    boom = Boom()
    boom.marker = marker
    rec, rep = outputs.paths("o.npy")
    for path, extra in ((rec, 1), (rep, 2)):
        np.save(path, np.array([boom, extra], dtype=object), allow_pickle=True)
    v = outputs.compare("o.npy", ALLCLOSE)
    assert (v.status, v.detail) == ("differs", "pickled arrays are not compared")
    assert not marker.exists()
    pickle.dumps(boom)  # the payload is a real one


def test_values_equal_but_bytes_differ(outputs: Outputs) -> None:
    values = np.arange(4, dtype=np.float32)
    rec, rep = outputs.paths("v.npy")
    np.save(rec, values)
    with open(rep, "wb") as f:
        np.lib.format.write_array(f, values, version=(2, 0))  # another header, same data
    v = outputs.compare("v.npy", ALLCLOSE)
    assert v.status == "within_tolerance"
    assert v.detail == "all 4 values equal; the bytes differ outside them"
    assert v.max_abs_error == 0.0


def test_negative_zero_is_within_tolerance_not_identical(outputs: Outputs) -> None:
    outputs.save("z.npy", np.array([0.0]), np.array([-0.0]))
    v = outputs.compare("z.npy", one_rule({"ulp": 0}))
    assert (v.status, v.max_abs_error, v.max_rel_error) == ("within_tolerance", 0.0, 0.0)


@pytest.mark.parametrize("shape", [(), (0,), (0, 3)])
def test_scalar_and_empty_arrays(outputs: Outputs, shape: tuple) -> None:
    rec, rep = outputs.paths("s.npy")
    np.save(rec, np.ones(shape))
    with open(rep, "wb") as f:
        np.lib.format.write_array(f, np.ones(shape) * (1 + 1e-9), version=(2, 0))
    v = outputs.compare("s.npy", ALLCLOSE)
    assert v.status == "within_tolerance"
    if shape == ():
        assert v.where == "[()]"


def test_structured_arrays_compare_exactly(outputs: Outputs) -> None:
    dtype = np.dtype([("id", "<i4"), ("name", "U4")])
    outputs.save("r.npy", np.array([(1, "a"), (2, "b")], dtype), np.array([(1, "a"), (2, "c")], dtype))
    v = outputs.compare("r.npy", ALLCLOSE)
    assert (v.status, v.where) == ("differs", "[1]")
    assert v.max_abs_error is None


def _npy_bytes(values: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, values)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("corrupt", "reason"),
    [
        (lambda good: good[:-3], "array data ends early"),
        (lambda good: b"not an npy file at all" + good, "magic"),
        (lambda good: good[:60], ""),
        (lambda good: b"", ""),
    ],
)
@pytest.mark.parametrize("side", ["recorded", "replayed"])
def test_corrupt_copy_differs_and_names_the_side(outputs: Outputs, corrupt, reason: str, side: str) -> None:
    good = _npy_bytes(np.arange(10, dtype=np.float64))
    bad = corrupt(good)
    outputs.write("c.npy", bad if side == "recorded" else good, good if side == "recorded" else bad)
    v = outputs.compare("c.npy", ALLCLOSE)
    assert v.status == "differs"
    assert v.detail.startswith(f"the {side} copy is not readable as a .npy array")
    assert reason in v.detail


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    recorded=hnp.arrays(np.float64, hnp.array_shapes(max_dims=3, max_side=6), elements=st.floats(-1e6, 1e6)),
    noise=st.sampled_from([0.0, 1e-12, 1e-7, 1e-3]),
    chunk=st.integers(1, 50),
)
def test_verdict_agrees_with_numpy_allclose(recorded: np.ndarray, noise: float, chunk: int) -> None:
    replayed = recorded + noise * np.arange(recorded.size).reshape(recorded.shape) % 3
    with tempfile.TemporaryDirectory() as d:
        rec, rep = Path(d) / "a.npy", Path(d) / "b.npy"
        np.save(rec, recorded)
        np.save(rep, replayed)
        v = compare_file("a.npy", rec, rep, load_rules(one_rule({"allclose": True})), chunk_elements=chunk)
    assert v.ok == bool(np.allclose(replayed, recorded))
    assert (v.status == "identical") == (recorded.tobytes() == replayed.tobytes())
    if v.status != "identical" and recorded.size:
        assert v.max_abs_error == pytest.approx(float(np.max(np.abs(replayed - recorded))))
