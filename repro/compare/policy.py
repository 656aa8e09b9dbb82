"""Tolerance policies: when is a replayed floating-point value close enough to the recorded one?

Every policy implements one small protocol, `Tolerance`: given a `Pair` (a chunk of recorded and
replayed values of one floating dtype), say element by element which replayed values are accepted.
Policies compose (`AnyOf`) instead of a chain of if/elif over rule kinds, and the file formats
never need to know which policy they were handed.

The recorded value is always the reference: relative error is measured against it, exactly as
`numpy.isclose(a=replayed, b=recorded)` does.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, Mapping, Protocol, runtime_checkable

import numpy as np

_INT_OF_SIZE = {1: np.int8, 2: np.int16, 4: np.int32, 8: np.int64}


class Pair:
    """A chunk of recorded and replayed values with the same shape and dtype.

    Derived arrays (the absolute difference) are computed once and shared by the policy that
    decides and the statistics that report, so a chunk is not walked twice for the same thing.
    """

    def __init__(
        self, recorded: np.ndarray, replayed: np.ndarray, codes: tuple[np.ndarray, np.ndarray] | None = None
    ) -> None:
        self.recorded = recorded
        self.replayed = replayed
        # The stored bit patterns of a float type numpy has no dtype for (bfloat16, float8), whose
        # values were widened exactly: `Ulp` counts steps of the stored type on them.
        self.codes = codes

    @property
    def dtype(self) -> np.dtype:
        return self.recorded.dtype

    @property
    def inexact(self) -> bool:
        """Floating or complex: the values a tolerance applies to."""
        return self.dtype.kind in "fc"

    @property
    def numeric(self) -> bool:
        """Values with a meaningful absolute difference (integers and booleans included)."""
        return self.dtype.kind in "fcbiu"

    @cached_property
    def abs_diff(self) -> np.ndarray:
        """|replayed - recorded|, in the pair's own precision for floats (as numpy.isclose computes
        it) and in float64 for integers, where a difference in the integer type could wrap."""
        if self.inexact:
            with np.errstate(invalid="ignore", over="ignore"):
                return np.abs(self.replayed - self.recorded)
        return np.abs(self.replayed.astype(np.float64) - self.recorded.astype(np.float64))

    @cached_property
    def abs_recorded(self) -> np.ndarray:
        """|recorded|: the scale of relative tolerance and of relative error (float64 for
        integers, like `abs_diff`)."""
        return np.abs(self.recorded if self.inexact else self.recorded.astype(np.float64))

    def equal(self) -> np.ndarray:
        """Element-wise exact equality; bit-for-bit for dtypes without arithmetic (records,
        strings, dates), where `==` is either undefined or not what "exact" should mean."""
        if self.numeric:
            return self.replayed == self.recorded
        width = self.dtype.itemsize
        if width == 0:
            return np.ones(self.recorded.shape, dtype=bool)
        rec = np.ascontiguousarray(self.recorded).reshape(-1).view(np.uint8).reshape(-1, width)
        rep = np.ascontiguousarray(self.replayed).reshape(-1).view(np.uint8).reshape(-1, width)
        return (rec == rep).all(axis=1).reshape(self.recorded.shape)


@runtime_checkable
class Tolerance(Protocol):
    """A rule for accepting replayed floating-point values that are not bit-identical."""

    @property
    def label(self) -> str:
        """A short human label, shown in verdicts: "allclose(rtol=1e-06, atol=1e-09)"."""

    def accepts(self, pair: Pair) -> np.ndarray:
        """Boolean array, same shape as the pair: True where the replayed value is accepted.
        Only called with floating or complex pairs."""

    def override(self, fields: Mapping[str, Any]) -> Tolerance:
        """This policy with allclose fields (`rtol`, `atol`, `equal_nan`) replaced, for the
        per-path overrides of a JSON rule. A policy without those fields returns itself."""


@dataclass(frozen=True)
class Allclose:
    """`|replayed - recorded| <= atol + rtol * |recorded|`, numpy's defaults and semantics
    (infinities must match exactly; NaN only matches NaN when `equal_nan`)."""

    rtol: float = 1e-5
    atol: float = 1e-8
    equal_nan: bool = False

    @property
    def label(self) -> str:
        nan = ", equal_nan=True" if self.equal_nan else ""
        return f"allclose(rtol={self.rtol!r}, atol={self.atol!r}{nan})"

    def accepts(self, pair: Pair) -> np.ndarray:
        rec, rep = pair.recorded, pair.replayed
        with np.errstate(invalid="ignore", over="ignore"):
            ok = (pair.abs_diff <= self.atol + self.rtol * pair.abs_recorded) & np.isfinite(rec)
            ok |= rep == rec
        if self.equal_nan:
            ok |= np.isnan(rec) & np.isnan(rep)
        return ok

    def override(self, fields: Mapping[str, Any]) -> Allclose:
        return replace(self, **{k: v for k, v in fields.items() if k in ("rtol", "atol", "equal_nan")})


def _ordered(values: np.ndarray) -> np.ndarray:
    """Map floats to int64 so that adjacent floats are adjacent integers: the sign-magnitude bit
    pattern becomes two's complement, which also makes +0 and -0 the same integer."""
    native = values.astype(values.dtype.newbyteorder("="), copy=False)
    bits = native.view(_INT_OF_SIZE[native.dtype.itemsize]).astype(np.int64, copy=False)
    magnitude_mask = np.int64((1 << (8 * native.dtype.itemsize - 1)) - 1)
    magnitude = bits & magnitude_mask
    return np.where(bits < 0, -magnitude, magnitude)


def ulp_distance(recorded: np.ndarray, replayed: np.ndarray) -> np.ndarray:
    """Number of representable floats between the two values (uint64), element-wise.

    Computed on the integer representation, so it is exact across the sign boundary (the
    distance from the smallest positive subnormal to the smallest negative one is 2) and +0/-0
    are 0 apart. NaN positions hold meaningless numbers; callers mask them.
    """
    a, b = _ordered(np.asarray(recorded)), _ordered(np.asarray(replayed))
    ua, ub = a.view(np.uint64), b.view(np.uint64)
    # The true distance fits in uint64; unsigned subtraction in the right order gives it exactly.
    return np.where(a >= b, ua - ub, ub - ua)


@dataclass(frozen=True)
class Ulp:
    """At most `max_ulps` representable floats apart. Infinities only match the same infinity,
    NaN only matches NaN when `equal_nan`. Complex values are held to the bound in their real and
    imaginary parts separately. Floats wider than 64 bits compare exactly."""

    max_ulps: int
    equal_nan: bool = False

    @property
    def label(self) -> str:
        nan = ", equal_nan=True" if self.equal_nan else ""
        return f"ulp({self.max_ulps}{nan})"

    def accepts(self, pair: Pair) -> np.ndarray:
        rec, rep = pair.recorded, pair.replayed
        if rec.dtype.kind == "c":
            return self.accepts(Pair(rec.real, rep.real)) & self.accepts(Pair(rec.imag, rep.imag))
        if rec.dtype.itemsize not in _INT_OF_SIZE:
            ok = rep == rec
        else:
            a, b = pair.codes if pair.codes is not None else (rec, rep)
            with np.errstate(invalid="ignore"):
                ok = ulp_distance(a, b) <= np.uint64(self.max_ulps)
            ok &= np.isinf(rec) == np.isinf(rep)
            ok &= ~(np.isnan(rec) | np.isnan(rep))
        if self.equal_nan:
            ok |= np.isnan(rec) & np.isnan(rep)
        return ok

    def override(self, fields: Mapping[str, Any]) -> Ulp:
        return self


@dataclass(frozen=True)
class Exact:
    """Equal values only (NaN never matches, +0 matches -0): the tolerance of a rule that only
    leaves values at some paths out, for the numbers it still compares."""

    @property
    def label(self) -> str:
        return "exact"

    def accepts(self, pair: Pair) -> np.ndarray:
        return pair.replayed == pair.recorded

    def override(self, fields: Mapping[str, Any]) -> Exact:
        return self


@dataclass(frozen=True)
class AnyOf:
    """Accept a value that any member policy accepts (e.g. allclose, or within 4 ulp near zero)."""

    policies: tuple[Tolerance, ...]

    @property
    def label(self) -> str:
        return " | ".join(p.label for p in self.policies)

    def accepts(self, pair: Pair) -> np.ndarray:
        ok = self.policies[0].accepts(pair)
        for policy in self.policies[1:]:
            ok |= policy.accepts(pair)
        return ok

    def override(self, fields: Mapping[str, Any]) -> AnyOf:
        return AnyOf(tuple(p.override(fields) for p in self.policies))
