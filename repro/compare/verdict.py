"""The outcome of comparing one recorded output with its replayed copy.

A verdict is a record a report can print and a manifest can store, so it is frozen and turns into
plain JSON. Errors are kept as floats for callers that sort or threshold on them; JSON has no
NaN or infinity, so `to_json` writes those as the strings "nan", "inf" and "-inf".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, get_args

from repro.compare.histogram import ErrorHistogram
from repro.errors import UsageError

Status = Literal["identical", "within_tolerance", "differs", "missing", "unexpected", "skipped"]
STATUSES: tuple[str, ...] = get_args(Status)
PASSING: frozenset[str] = frozenset({"identical", "within_tolerance"})
# An output whose rule says `compare: false`: recorded, reported, never deciding the verdict.
NOT_GATING: frozenset[str] = frozenset({"skipped"})


SKIPPED_RULE = "compare: false"


def _error_to_json(value: float | None) -> float | str | None:
    if value is None or math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def _error_from_json(value: Any, field: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, str) and value in ("nan", "inf", "-inf"):
        return float(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise UsageError(f"verdict {field}: expected a number, null, 'nan', 'inf' or '-inf', got {value!r}")


@dataclass(frozen=True)
class Verdict:
    """One output's comparison.

    `where` names the element the errors point at: for a pass, the largest absolute error; for a
    failure, the worst element outside the tolerance (see docs/tolerance.md). `histogram` is
    the distribution of the absolute errors of the values compared, when numbers were.
    """

    path: str
    status: Status
    rule: str
    detail: str = ""
    max_abs_error: float | None = None
    max_rel_error: float | None = None
    where: str | None = None
    histogram: ErrorHistogram | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise UsageError(f"verdict status: {self.status!r} is not one of {', '.join(STATUSES)}")

    @property
    def ok(self) -> bool:
        """True when this output does not stop the replay from reproducing: the replayed copy is
        bit-identical or within tolerance, or the output is not compared (`skipped`)."""
        return self.status in PASSING or self.status in NOT_GATING

    @property
    def compared(self) -> bool:
        """False for an output its rule leaves out of the verdict (`compare: false`)."""
        return self.status not in NOT_GATING

    @classmethod
    def missing(cls, path: str, rule: str = "") -> Verdict:
        """A recorded output the replay did not produce."""
        return cls(path, "missing", rule, "recorded output was not produced by the replay")

    @classmethod
    def unexpected(cls, path: str, rule: str = "") -> Verdict:
        """An output the replay produced that the recorded run did not."""
        return cls(path, "unexpected", rule, "replay produced an output the recorded run did not")

    @classmethod
    def skipped(cls, path: str, detail: str) -> Verdict:
        """An output recorded but not compared, because its rule says `compare: false`."""
        return cls(path, "skipped", SKIPPED_RULE, detail)

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "status": self.status,
            "rule": self.rule,
            "detail": self.detail,
            "max_abs_error": _error_to_json(self.max_abs_error),
            "max_rel_error": _error_to_json(self.max_rel_error),
            "where": self.where,
            **({"histogram": self.histogram.to_json()} if self.histogram is not None else {}),
        }

    @classmethod
    def from_json(cls, data: dict) -> Verdict:
        """Rebuild a verdict stored by `to_json`; a malformed record raises UsageError."""
        if not isinstance(data, dict):
            raise UsageError(f"verdict: expected an object, got {type(data).__name__}")
        unknown = set(data) - {"path", "status", "rule", "detail", "max_abs_error", "max_rel_error", "where", "histogram"}
        if unknown:
            raise UsageError(f"verdict: unknown field {sorted(unknown)[0]!r}")
        for field in ("path", "status", "rule"):
            if not isinstance(data.get(field), str):
                raise UsageError(f"verdict {field}: expected a string")
        if not isinstance(data.get("detail", ""), str):
            raise UsageError("verdict detail: expected a string")
        where = data.get("where")
        if where is not None and not isinstance(where, str):
            raise UsageError("verdict where: expected a string or null")
        return cls(
            path=data["path"],
            status=data["status"],
            rule=data["rule"],
            detail=data.get("detail", ""),
            max_abs_error=_error_from_json(data.get("max_abs_error"), "max_abs_error"),
            max_rel_error=_error_from_json(data.get("max_rel_error"), "max_rel_error"),
            where=where,
            histogram=ErrorHistogram.from_json(data["histogram"]) if data.get("histogram") is not None else None,
        )
