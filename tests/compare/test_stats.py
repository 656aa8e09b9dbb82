from __future__ import annotations

import numpy as np

from repro.compare.policy import Allclose, Pair
from repro.compare.stats import ErrorStats


def _add(stats: ErrorStats, recorded: list[float], replayed: list[float], name: str) -> ErrorStats:
    pair = Pair(np.array(recorded), np.array(replayed))
    stats.add(pair, Allclose().accepts(pair), lambda i: f"{name}[{i}]")
    return stats


def test_chunks_fold_into_the_largest_errors_and_the_worst_failure() -> None:
    stats = ErrorStats()
    _add(stats, [1.0, 2.0], [1.0, 2.5], "a")
    _add(stats, [100.0, 0.0], [100.0001, 0.1], "b")
    assert (stats.count, stats.failed) == (4, 2)
    assert stats.max_abs == 0.5 and stats.max_abs_at is not None and stats.max_abs_at.where == "a[1]"
    assert stats.max_rel == np.inf  # 0.1 against a recorded 0
    assert stats.worst is not None and stats.worst.where == "a[1]"


def test_an_earlier_failure_keeps_its_place_on_a_tie() -> None:
    stats = ErrorStats()
    _add(stats, [0.0], [1.0], "first")
    _add(stats, [0.0], [1.0], "second")
    assert stats.worst is not None and stats.worst.where == "first[0]"


def test_a_nan_mismatch_is_the_worst_failure() -> None:
    stats = _add(ErrorStats(), [1.0, 2.0], [5.0, np.nan], "x")
    assert stats.worst is not None and stats.worst.where == "x[1]"
    assert stats.max_abs == 4.0


def test_verdict_of_no_values() -> None:
    v = ErrorStats().verdict("a.json", "exact")
    assert (v.status, v.detail) == ("within_tolerance", "no values to compare; the bytes differ outside them")


def test_float32_values_are_shown_in_their_own_precision() -> None:
    stats = ErrorStats()
    pair = Pair(np.array([0.125], np.float32), np.array([0.1250003], np.float32))
    stats.add(pair, np.array([True]), lambda i: "w[0]")
    v = stats.verdict("w.npy", "allclose")
    assert "(recorded 0.125, replayed 0.1250003)" in v.detail
