from __future__ import annotations

import numpy as np
import pytest

from repro.compare.histogram import BINS, ErrorHistogram, HistogramBuilder
from repro.compare.policy import Allclose, Pair
from repro.compare.stats import ErrorStats
from repro.compare.verdict import Verdict
from repro.errors import UsageError


def test_errors_fall_in_their_decade_and_the_edges_are_counted_apart() -> None:
    h = HistogramBuilder()
    h.add(np.array([0.0, 1e-20, 1e-18, 5e-7, 1e-6, 99.0, 100.0, np.inf, np.nan]))
    h.add(np.array([2e-7]))  # a second chunk adds to the same bins
    built = h.build()
    assert len(built.counts) == BINS and built.total == 10
    assert built.counts[0] == 2  # 1e-20 (below the first edge) and 1e-18
    assert built.counts[11] == 2 and built.counts[12] == 1 and built.counts[19] == 1  # 1e-7.., 1e-6.., 10..
    assert (built.zero, built.over, built.nan) == (1, 2, 1)


def test_a_tolerance_verdict_carries_its_histogram_through_json() -> None:
    stats = ErrorStats()
    pair = Pair(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0 + 1e-9, 3.0 + 1e-12]))
    stats.add(pair, Allclose().accepts(pair), lambda i: f"x[{i}]")
    v = stats.verdict("a.npy", "allclose")
    assert v.status == "within_tolerance" and v.histogram is not None
    assert (v.histogram.zero, sum(v.histogram.counts)) == (1, 2)
    assert Verdict.from_json(v.to_json()) == v


def test_a_verdict_without_numbers_has_no_histogram() -> None:
    v = ErrorStats().verdict("a.json", "exact")
    assert v.histogram is None and "histogram" not in v.to_json()


@pytest.mark.parametrize("bad", [{"scale": "linear"}, {"scale": "log10", "low_exp": -1, "high_exp": 1, "counts": [1],
                                                       "zero": 0, "over": 0, "nan": 0},
                                 {"scale": "log10", "low_exp": 0, "high_exp": 1, "counts": [-1], "zero": 0, "over": 0,
                                  "nan": 0}])
def test_a_malformed_histogram_is_refused(bad) -> None:
    with pytest.raises(UsageError):
        ErrorHistogram.from_json(bad)
