"""Error statistics gathered chunk by chunk, and the verdict they amount to.

Every numeric format (arrays, JSON numbers, CSV cells) feeds `ErrorStats` with pairs of values,
the accepted mask its tolerance computed, and a function that names an element's location. The
statistics keep only a few scalars, so the memory they need does not grow with the file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from repro.compare.histogram import HistogramBuilder
from repro.compare.policy import Pair
from repro.compare.verdict import Verdict

Locate = Callable[[int], str]  # chunk-local flat index -> "w[3, 1]", "$.loss", "row 7, column 'acc'"


def show_value(value: object) -> str:
    """A value as a person wants to read it: shortest round-trip digits in its own precision
    (a float32 0.1250003 is not shown as 0.12500029802322388)."""
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def show_error(value: float) -> str:
    return f"{value:.2g}"


@dataclass(frozen=True)
class Sample:
    """One located pair of values worth naming in a verdict, already formatted."""

    where: str
    recorded: str
    replayed: str


def _sample(pair: Pair, index: int, locate: Locate) -> Sample:
    rec = pair.recorded.reshape(-1)[index]
    rep = pair.replayed.reshape(-1)[index]
    return Sample(locate(index), show_value(rec), show_value(rep))


class ErrorStats:
    """Running count, failures, largest absolute and relative error, and the worst failure."""

    def __init__(self) -> None:
        self.count = 0
        self.failed = 0
        self.max_abs: float | None = None
        self.max_abs_at: Sample | None = None
        self.max_rel: float | None = None
        self.worst: Sample | None = None
        self._worst_key = -math.inf
        self.histogram = HistogramBuilder()

    def add(self, pair: Pair, accepted: np.ndarray, locate: Locate) -> None:
        """Fold in one chunk. `accepted` is the element-wise decision for `pair`."""
        n = pair.recorded.size
        if n == 0:
            return
        self.count += n
        diff = pair.abs_diff if pair.numeric else None
        if diff is not None:
            self._add_errors(pair, diff, locate)
        if accepted.all():
            return
        failing = np.flatnonzero(~accepted.reshape(-1))
        self.failed += failing.size
        if diff is None:
            key, index = 0.0, int(failing[0])
        else:
            bad = diff.reshape(-1)[failing].astype(np.float64)
            bad[np.isnan(bad)] = math.inf  # a NaN mismatch is as bad as it gets
            k = int(np.argmax(bad))
            key, index = float(bad[k]), int(failing[k])
        if key > self._worst_key:
            self._worst_key = key
            self.worst = _sample(pair, index, locate)

    def _add_errors(self, pair: Pair, diff: np.ndarray, locate: Locate) -> None:
        flat = diff.reshape(-1)
        top = np.fmax.reduce(flat)  # fmax skips NaN: a NaN pair has no size of error
        self.histogram.add(flat, float(top))
        if not np.isnan(top) and (self.max_abs is None or top > self.max_abs):
            self.max_abs = float(top)
            self.max_abs_at = _sample(pair, int(np.argmax(flat == top)), locate)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            rel = np.fmax.reduce(flat / pair.abs_recorded.reshape(-1))
        if not np.isnan(rel) and (self.max_rel is None or rel > self.max_rel):
            self.max_rel = float(rel)

    def verdict(self, name: str, label: str) -> Verdict:
        """The verdict for a file whose bytes differ but whose structure matched, with the
        distribution of its errors when any numbers were compared."""
        verdict = self._verdict(name, label)
        histogram = self.histogram.build()
        return replace(verdict, histogram=histogram) if histogram.total else verdict

    def _verdict(self, name: str, label: str) -> Verdict:
        max_rel = self.max_rel
        if max_rel is None and self.max_abs == 0.0:
            max_rel = 0.0  # every difference was 0/0: the values are equal
        errors = self._errors_text(max_rel)
        if self.failed:
            worst = self.worst
            assert worst is not None
            shown = f"worst at {worst.where} (recorded {worst.recorded}, replayed {worst.replayed})"
            detail = f"{self.failed} of {self.count} values out of tolerance; {shown}"
            return Verdict(name, "differs", label, f"{detail}; {errors}" if errors else detail,
                           self.max_abs, max_rel, worst.where)
        if self.count == 0:
            return Verdict(name, "within_tolerance", label, "no values to compare; the bytes differ outside them")
        if not self.max_abs:
            return Verdict(name, "within_tolerance", label,
                           f"all {self.count} values equal; the bytes differ outside them", self.max_abs, max_rel)
        at = self.max_abs_at
        assert at is not None
        detail = f"max abs {show_error(self.max_abs)} at {at.where} (recorded {at.recorded}, replayed {at.replayed})"
        if max_rel is not None:
            detail += f", max rel {show_error(max_rel)}"
        return Verdict(name, "within_tolerance", label, detail, self.max_abs, max_rel, at.where)

    def _errors_text(self, max_rel: float | None) -> str:
        parts = []
        if self.max_abs is not None:
            parts.append(f"max abs {show_error(self.max_abs)}")
        if max_rel is not None:
            parts.append(f"max rel {show_error(max_rel)}")
        return ", ".join(parts)
