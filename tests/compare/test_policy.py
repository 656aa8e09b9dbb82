from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from repro.compare.policy import Allclose, AnyOf, Pair, Tolerance, Ulp, ulp_distance


def accepts(policy: Tolerance, recorded: list | np.ndarray, replayed: list | np.ndarray, dtype: type = np.float64) -> list[bool]:
    return policy.accepts(Pair(np.asarray(recorded, dtype), np.asarray(replayed, dtype))).tolist()


def test_every_policy_implements_the_protocol() -> None:
    for policy in (Allclose(), Ulp(1), AnyOf((Allclose(), Ulp(1)))):
        assert isinstance(policy, Tolerance)


def test_allclose_measures_against_the_recorded_value() -> None:
    policy = Allclose(rtol=0.1, atol=0.0)
    # |111 - 100| = 11 > 0.1 * 100, but 11 <= 0.1 * 111: only the recorded value sets the scale.
    assert accepts(policy, [100.0], [111.0]) == [False]
    assert accepts(policy, [111.0], [100.0]) == [True]


def test_allclose_defaults_are_numpys() -> None:
    assert Allclose() == Allclose(rtol=1e-5, atol=1e-8, equal_nan=False)
    assert Allclose().label == "allclose(rtol=1e-05, atol=1e-08)"
    assert Allclose(equal_nan=True).label.endswith("equal_nan=True)")


def test_allclose_infinities_must_match_exactly() -> None:
    inf = np.inf
    assert accepts(Allclose(rtol=1.0, atol=1.0), [inf, inf, -inf, inf, 1e308], [inf, -inf, -inf, 1e308, inf]) == [
        True, False, True, False, False,
    ]


@pytest.mark.parametrize("policy_cls", [lambda nan: Allclose(equal_nan=nan), lambda nan: Ulp(4, equal_nan=nan)])
def test_nan_only_matches_nan_and_only_when_asked(policy_cls) -> None:
    nan = np.nan
    recorded, replayed = [nan, nan, 1.0], [nan, 1.0, nan]
    assert accepts(policy_cls(False), recorded, replayed) == [False, False, False]
    assert accepts(policy_cls(True), recorded, replayed) == [True, False, False]


# Values exact in float32 (powers of two), so the same numbers reach both dtypes.
finite_or_special = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.0**-27, 2.0**-149]),
)
noises = st.sampled_from([0.0, 2.0**-30, -(2.0**-20), 2.0**-13, 1.0])


@settings(max_examples=200, deadline=None)
@given(
    data=st.data(),
    dtype=st.sampled_from([np.float32, np.float64]),
    rtol=st.sampled_from([0.0, 1e-7, 1e-5, 1e-3, 0.5]),
    atol=st.sampled_from([0.0, 1e-12, 1e-8, 1e-3]),
    equal_nan=st.booleans(),
)
def test_allclose_is_numpy_isclose_with_recorded_as_b(data, dtype, rtol, atol, equal_nan) -> None:
    shape = data.draw(hnp.array_shapes(max_dims=2, max_side=8))
    recorded = data.draw(hnp.arrays(dtype, shape, elements=finite_or_special))
    noise = data.draw(hnp.arrays(dtype, shape, elements=noises))
    with np.errstate(all="ignore"):
        replayed = data.draw(st.sampled_from([recorded + noise, recorded * (1 + noise), noise]))
    ours = Allclose(rtol, atol, equal_nan).accepts(Pair(recorded, replayed))
    with np.errstate(all="ignore"):
        expected = np.isclose(replayed, recorded, rtol=rtol, atol=atol, equal_nan=equal_nan)
    np.testing.assert_array_equal(ours, expected)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_ulp_distance_of_neighbours_is_one(dtype) -> None:
    x = np.array([0.0, 1.0, -1.0, 3.5, np.finfo(dtype).tiny, -np.finfo(dtype).max / 2], dtype=dtype)
    up = np.nextafter(x, dtype(np.inf))
    assert ulp_distance(x, up).tolist() == [1] * len(x)
    assert ulp_distance(x, x).tolist() == [0] * len(x)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_ulp_distance_across_zero(dtype) -> None:
    tiny = np.nextafter(dtype(0), dtype(1))  # smallest positive subnormal
    values = np.array([tiny, -tiny, 0.0, -0.0, 2 * tiny], dtype=dtype)
    others = np.array([-tiny, tiny, -0.0, 0.0, -tiny], dtype=dtype)
    assert ulp_distance(values, others).tolist() == [2, 2, 0, 0, 3]


def test_ulp_distance_spans_the_whole_float64_range_without_overflow() -> None:
    big = np.finfo(np.float64).max
    d = ulp_distance(np.array([-big]), np.array([big]))
    assert d.dtype == np.uint64
    assert int(d[0]) == 2 * int(np.array(big).view(np.int64))


@settings(max_examples=200, deadline=None)
@given(
    dtype=st.sampled_from([np.float16, np.float32, np.float64]),
    pairs=st.lists(st.tuples(st.floats(allow_nan=False), st.floats(allow_nan=False)), min_size=1, max_size=20),
)
def test_ulp_distance_is_symmetric_and_zero_only_for_equal_values(dtype, pairs) -> None:
    with np.errstate(over="ignore"):
        a = np.array([p[0] for p in pairs], dtype=dtype)
        b = np.array([p[1] for p in pairs], dtype=dtype)
    d = ulp_distance(a, b)
    np.testing.assert_array_equal(d, ulp_distance(b, a))
    np.testing.assert_array_equal(d == 0, a == b)


def test_ulp_policy_bounds_the_distance() -> None:
    x = np.float32(1.0)
    steps = [x]
    for _ in range(5):
        steps.append(np.nextafter(steps[-1], np.float32(2)))
    replayed = np.array(steps, dtype=np.float32)
    recorded = np.full_like(replayed, x)
    assert accepts(Ulp(4), recorded, replayed, np.float32) == [True] * 5 + [False]
    assert Ulp(4).label == "ulp(4)"


def test_ulp_infinity_is_not_next_to_the_largest_float() -> None:
    big = np.finfo(np.float32).max
    assert accepts(Ulp(10), [big, np.inf, -np.inf], [np.inf, np.inf, np.inf], np.float32) == [False, True, False]


def test_ulp_plus_and_minus_zero_are_equal() -> None:
    assert accepts(Ulp(0), [0.0, -0.0], [-0.0, 0.0]) == [True, True]


def test_ulp_on_big_endian_data() -> None:
    recorded = np.array([1.0, 2.0], dtype=">f8")
    replayed = np.nextafter(recorded, 3).astype(">f8")
    assert Ulp(1).accepts(Pair(recorded, replayed)).tolist() == [True, True]
    assert Ulp(0).accepts(Pair(recorded, replayed)).tolist() == [False, False]


def test_ulp_on_complex_bounds_both_parts() -> None:
    one_up = np.nextafter(1.0, 2.0)
    recorded = np.array([1 + 1j, 1 + 1j])
    replayed = np.array([complex(one_up, 1.0), complex(1.0, one_up + 1e-9)])
    assert Ulp(1).accepts(Pair(recorded, replayed)).tolist() == [True, False]


def test_ulp_on_extended_precision_is_exact() -> None:
    recorded = np.array([1.0, 1.0], dtype=np.longdouble)
    replayed = np.array([1.0, np.nextafter(np.longdouble(1), np.longdouble(2))], dtype=np.longdouble)
    expected = [True, bool(replayed[1] == recorded[1])]
    assert Ulp(100).accepts(Pair(recorded, replayed)).tolist() == expected


def test_any_of_accepts_what_either_member_accepts() -> None:
    # Near zero, relative tolerance is useless and atol=0 rejects; a few ulp still accept.
    tiny = np.nextafter(0.0, 1.0)
    policy = AnyOf((Allclose(rtol=1e-6, atol=0.0), Ulp(2)))
    assert accepts(policy, [0.0, 1.0, 0.0], [tiny, 1.0000005, 1e-3]) == [True, True, False]
    assert policy.label == "allclose(rtol=1e-06, atol=0.0) | ulp(2)"


def test_override_replaces_allclose_fields_only() -> None:
    policy = AnyOf((Allclose(rtol=1e-4), Ulp(3)))
    changed = policy.override({"atol": 0.5, "equal_nan": True})
    assert changed == AnyOf((Allclose(rtol=1e-4, atol=0.5, equal_nan=True), Ulp(3)))
    assert Ulp(3).override({"atol": 1.0}) == Ulp(3)


def test_pair_equal_is_bitwise_for_records() -> None:
    dtype = np.dtype([("name", "U3"), ("v", "<f4")])
    recorded = np.array([("a", 1.0), ("b", np.nan)], dtype=dtype)
    replayed = np.array([("a", 1.0), ("b", np.nan)], dtype=dtype)
    replayed_changed = np.array([("a", 1.0), ("c", np.nan)], dtype=dtype)
    assert Pair(recorded, replayed).equal().tolist() == [True, True]
    assert Pair(recorded, replayed_changed).equal().tolist() == [True, False]


def test_pair_abs_diff_of_integers_does_not_wrap() -> None:
    pair = Pair(np.array([-128], dtype=np.int8), np.array([127], dtype=np.int8))
    assert pair.abs_diff.tolist() == [255.0]
