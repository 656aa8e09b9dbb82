"""`.json` documents: structure exactly, numbers within the tolerance of their path.

Training scripts write metrics with `json.dump`, which emits NaN and Infinity for non-finite
floats, so those constants are accepted here (unlike in manifests) and compared under the
policy's `equal_nan`. Types, key sets, list lengths, strings, booleans and null must match
exactly; key order and formatting do not matter. Values at a rule's ignored paths are left out.

The walker is shared with the checkpoint formats, whose documents hold tensors among the
JSON-like values: a subclass handles what is not JSON through `_leaf`.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from repro.compare import jsonpath
from repro.compare.format import Side, open_binary, reading
from repro.compare.jsonpath import Part, format_path
from repro.compare.policy import Pair, Tolerance
from repro.compare.rules import IgnoredPath, PathOverride
from repro.compare.stats import ErrorStats, show_value
from repro.compare.verdict import Verdict

_EXACT_INT = 2**53  # beyond this an int does not survive the trip through float64

# The numbers of a document, (path, recorded, replayed), grouped by the tolerance at their path.
Groups = dict[Tolerance, list[tuple[tuple[Part, ...], float, float]]]
Problem = tuple[str, str]  # (detail, where) of the first structural difference


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
    if _is_number(value):
        return "number"
    return getattr(value, "type_name", type(value).__name__)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _as_float(value: int | float) -> float:
    try:
        return float(value)
    except OverflowError:
        return float("inf") if value > 0 else float("-inf")


def _absolute(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("/") and "\n" not in value


def relocated(a: Any, b: Any) -> bool:
    """Two absolute paths that end alike under different directories: what a program records
    when it stores where it ran (Lightning's `ModelCheckpoint.dirpath`) and the replay ran in a
    copy of the project elsewhere."""
    if not (_absolute(a) and _absolute(b)) or a == b:
        return False
    tail_a, tail_b = posixpath.basename(a.rstrip("/")), posixpath.basename(b.rstrip("/"))
    return bool(tail_a) and tail_a == tail_b


def rule_path(parts: tuple[Part, ...]) -> str:
    """A path for a rule that covers `parts` whatever the odd keys are: a key that is not a plain
    name (Lightning names a callback's state `ModelCheckpoint{'monitor': ...}`) becomes `*`."""
    out: list[str] = []
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        else:
            out.append("." + (part if jsonpath.plain_key(part) else "*"))
    return "".join(out).lstrip(".") or "$"


def relocation_detail(found: list[tuple[tuple[Part, ...], str, str]]) -> str:
    """The detail for documents that differ only in absolute paths, naming each and the rule
    that accepts them."""
    shown = "; ".join(f"{format_path(p)}: {show_value(repr(a))} != {show_value(repr(b))}" for p, a, b in found[:4])
    more = f" (and {len(found) - 4} more)" if len(found) > 4 else ""
    rules = ", ".join(dict.fromkeys(f'"{rule_path(p)}": ignore' for p, _, _ in found))
    return (f"only absolute paths differ, as when the replay runs in a copy of the project at another path: "
            f"{shown}{more}; accept them with paths: {{{rules}}} (a sandboxed replay at the recorded path keeps them equal)")


class JsonFormat:
    """Walks both documents together; the first structural difference decides, otherwise every
    number is checked under the rule's tolerance, with per-path overrides merged in. Values at
    an ignored path are left out, whatever they are on either side."""

    kind = "JSON"

    def __init__(
        self, tolerance: Tolerance, paths: tuple[PathOverride, ...] = (), ignored: tuple[IgnoredPath, ...] = ()
    ) -> None:
        self.tolerance = tolerance
        self.paths = paths
        self.ignored = ignored

    @property
    def label(self) -> str:
        return self.tolerance.label + _count_label(len(self.paths), "path override") + _count_label(
            len(self.ignored), "ignored path")

    def compare(self, name: str, recorded: Path, replayed: Path) -> Verdict:
        rec, rep = _load(recorded, "recorded"), _load(replayed, "replayed")
        return self.compare_documents(name, rec, rep)

    def compare_documents(self, name: str, rec: Any, rep: Any) -> Verdict:
        """The verdict for two parsed documents."""
        groups: Groups = {}
        walk = _Walk()
        problem = self._walk(rec, rep, groups, walk)
        if problem:
            detail, where = problem
            return Verdict(name, "differs", self.label, detail, where=where)
        if walk.relocated:
            return Verdict(name, "differs", self.label, relocation_detail(walk.relocated),
                           where=format_path(walk.relocated[0][0]))
        stats = ErrorStats()
        for tolerance, numbers in groups.items():
            paths = [p for p, _, _ in numbers]
            pair = Pair(np.array([r for _, r, _ in numbers]), np.array([p for _, _, p in numbers]))
            stats.add(pair, tolerance.accepts(pair), lambda i: format_path(paths[i]))
        problem = self._finish(stats)
        if problem:
            detail, where = problem
            return Verdict(name, "differs", self.label, detail, where=where)
        verdict = stats.verdict(name, self.label)
        if walk.left_out:
            n = walk.left_out
            note = f"{n} value{'s' if n != 1 else ''} left out at ignored paths"
            return replace(verdict, detail=f"{verdict.detail}; {note}")
        return verdict

    def _leaf(self, parts: tuple[Part, ...], a: Any, b: Any) -> Problem | None:
        """Compare two values of the same type that are neither containers nor numbers. The
        checkpoint formats override this to collect tensors."""
        if a != b:
            where = format_path(parts)
            return f"value differs at {where}: {_show(a)} != {_show(b)}", where
        return None

    def _finish(self, stats: ErrorStats) -> Problem | None:
        """Compare what `_leaf` collected, folding values into `stats`; a structural difference
        found there is returned."""
        return None

    def _is_ignored(self, parts: tuple[Part, ...]) -> bool:
        return any(jsonpath.matches(i.pattern, parts) for i in self.ignored)

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

    def _walk(self, rec: Any, rep: Any, groups: Groups, walk: _Walk) -> Problem | None:
        """Depth-first over both documents in recorded order, without recursion (a deep
        document must not exhaust the stack). Returns (detail, where) of the first structural
        difference, after collecting the numbers into `groups` by their effective tolerance.
        Absolute paths that differ only in where the run happened are collected in `walk`."""
        stack: list[tuple[tuple[Part, ...], Any, Any]] = [((), rec, rep)]
        while stack:
            parts, a, b = stack.pop()
            if self.ignored and self._is_ignored(parts):
                walk.left_out += 1
                continue
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
                extra = [k for k in b if k not in a]
                if len(missing) == len(extra) == 1 and relocated(missing[0], extra[0]):
                    # A key that is an absolute path (Lightning's best_k_models): compare its
                    # value under the recorded key, and the other keys as usual.
                    walk.relocated.append((parts, missing[0], extra[0]))
                    b = {**b, missing[0]: b[extra[0]]}
                    missing, extra = [], []
                if missing:
                    at = format_path(parts + (missing[0],))
                    return f"key {missing[0]!r} missing from the replayed copy at {where}", at
                if extra:
                    at = format_path(parts + (extra[0],))
                    return f"unexpected key {extra[0]!r} in the replayed copy at {where}", at
                stack.extend((parts + (k,), a[k], b[k]) for k in reversed(list(a)))
            elif isinstance(a, list):
                if len(a) != len(b):
                    return f"length {len(a)} != {len(b)} at {where}", where
                stack.extend((parts + (i,), a[i], b[i]) for i in reversed(range(len(a))))
            elif relocated(a, b):
                walk.relocated.append((parts, a, b))
            else:
                problem = self._leaf(parts, a, b)
                if problem:
                    return problem
        return None


class _Walk:
    """What one walk found besides numbers: values left out, and relocated absolute paths."""

    def __init__(self) -> None:
        self.left_out = 0
        self.relocated: list[tuple[tuple[Part, ...], str, str]] = []


def _count_label(n: int, what: str) -> str:
    return f" + {n} {what}{'s' if n != 1 else ''}" if n else ""


def _show(value: Any) -> str:
    try:
        return show_value(json.dumps(value))
    except (TypeError, ValueError):
        return show_value(repr(value))


def _load(path: Path, side: Side) -> Any:
    with open_binary(path, side) as f, reading(side, ValueError, RecursionError):
        return json.load(f)
