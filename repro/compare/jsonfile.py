"""`.json` documents: structure exactly, numbers within the tolerance of their path.

Training scripts write metrics with `json.dump`, which emits NaN and Infinity for non-finite
floats, so those constants are accepted here (unlike in manifests) and compared under the
policy's `equal_nan`. Types, key sets, list lengths, strings, booleans and null must match
exactly; key order and formatting do not matter.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from repro.compare import jsonpath
from repro.compare.format import Side, open_binary, reading
from repro.compare.jsonpath import Part, format_path
from repro.compare.policy import Pair, Tolerance
from repro.compare.rules import PathOverride
from repro.compare.stats import ErrorStats, show_value
from repro.compare.verdict import Verdict

_EXACT_INT = 2**53  # beyond this an int does not survive the trip through float64

# The numbers of a document, (path, recorded, replayed), grouped by the tolerance at their path.
Groups = dict[Tolerance, list[tuple[tuple[Part, ...], float, float]]]


def _type_name(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _as_float(value: int | float) -> float:
    try:
        return float(value)
    except OverflowError:
        return float("inf") if value > 0 else float("-inf")


class JsonFormat:
    """Walks both documents together; the first structural difference decides, otherwise every
    number is checked under the rule's tolerance, with per-path overrides merged in."""

    kind = "JSON"

    def __init__(self, tolerance: Tolerance, paths: tuple[PathOverride, ...] = ()) -> None:
        self.tolerance = tolerance
        self.paths = paths

    @property
    def label(self) -> str:
        n = len(self.paths)
        return self.tolerance.label + (f" + {n} path override{'s' if n != 1 else ''}" if n else "")

    def compare(self, name: str, recorded: Path, replayed: Path) -> Verdict:
        rec, rep = _load(recorded, "recorded"), _load(replayed, "replayed")
        groups: Groups = {}
        problem = self._walk(rec, rep, groups)
        if problem:
            detail, where = problem
            return Verdict(name, "differs", self.label, detail, where=where)
        stats = ErrorStats()
        for tolerance, numbers in groups.items():
            paths = [p for p, _, _ in numbers]
            pair = Pair(np.array([r for _, r, _ in numbers]), np.array([p for _, _, p in numbers]))
            stats.add(pair, tolerance.accepts(pair), lambda i: format_path(paths[i]))
        return stats.verdict(name, self.label)

    def _tolerance_at(self, parts: tuple[Part, ...]) -> Tolerance:
        """The rule's tolerance with the fields of every path override that covers `parts`
        merged over it, least specific first; among equally specific ones the first listed wins."""
        hits = [o for o in self.paths if jsonpath.matches(o.pattern, parts)]
        if not hits:
            return self.tolerance
        fields: dict[str, Any] = {}
        # sorted() is stable, so among equals the first listed comes last and overrides the rest.
        for o in sorted(reversed(hits), key=lambda o: jsonpath.specificity(o.pattern)):
            fields.update(o.fields)
        return self.tolerance.override(fields)

    def _walk(self, rec: Any, rep: Any, groups: Groups) -> tuple[str, str] | None:
        """Depth-first over both documents in recorded order, without recursion (a deep
        document must not exhaust the stack). Returns (detail, where) of the first structural
        difference, after collecting the numbers into `groups` by their effective tolerance."""
        stack: list[tuple[tuple[Part, ...], Any, Any]] = [((), rec, rep)]
        while stack:
            parts, a, b = stack.pop()
            if _is_number(a) and _is_number(b):
                if isinstance(a, int) and isinstance(b, int) and max(abs(a), abs(b)) > _EXACT_INT:
                    if a != b:
                        return f"integer differs at {format_path(parts)}: {a} != {b}", format_path(parts)
                    continue
                tolerance = self._tolerance_at(parts)
                groups.setdefault(tolerance, []).append((parts, _as_float(a), _as_float(b)))
                continue
            ta, tb = _type_name(a), _type_name(b)
            where = format_path(parts)
            if ta != tb:
                return f"type differs at {where}: {ta} != {tb}", where
            if isinstance(a, dict):
                missing = [k for k in a if k not in b]
                if missing:
                    at = format_path(parts + (missing[0],))
                    return f"key {missing[0]!r} missing from the replayed copy at {where}", at
                extra = [k for k in b if k not in a]
                if extra:
                    at = format_path(parts + (extra[0],))
                    return f"unexpected key {extra[0]!r} in the replayed copy at {where}", at
                stack.extend((parts + (k,), a[k], b[k]) for k in reversed(list(a)))
            elif isinstance(a, list):
                if len(a) != len(b):
                    return f"length {len(a)} != {len(b)} at {where}", where
                stack.extend((parts + (i,), a[i], b[i]) for i in reversed(range(len(a))))
            elif a != b:
                return f"value differs at {where}: {show_value(json.dumps(a))} != {show_value(json.dumps(b))}", where
        return None


def _load(path: Path, side: Side) -> Any:
    with open_binary(path, side) as f, reading(side, ValueError, RecursionError):
        return json.load(f)
