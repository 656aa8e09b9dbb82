"""Comparison rules: which tolerance applies to which output.

The rules come from the `verify:` key of repro.yaml (or a standalone rules file) and are checked
completely when loaded, so a typo fails before a long replay starts rather than after it. Every
error names the rule by its index and the field: `rules[2].allclose.rtol: ...`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from repro import globs
from repro.compare import jsonpath
from repro.compare.policy import Allclose, AnyOf, Tolerance, Ulp
from repro.errors import UsageError

RULE_KEYS = ("match", "exact", "allclose", "ulp", "ignore", "paths", "compare")
IGNORE = "ignore"  # the value of a `paths` entry that leaves the value at that path out
ALLCLOSE_KEYS = ("rtol", "atol", "equal_nan")
ULP_KEYS = ("max", "equal_nan")


@dataclass(frozen=True)
class PathOverride:
    """Allclose fields for the numbers at (and below) one path of a JSON output."""

    text: str
    pattern: tuple[jsonpath.Segment, ...]
    fields: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class IgnoredPath:
    """A path of a JSON output or a checkpoint whose value (and everything below it) is left out
    of the comparison: `paths: {"eval_runtime": ignore}`."""

    text: str
    pattern: tuple[jsonpath.Segment, ...]


@dataclass(frozen=True)
class Rule:
    """One entry of the rules list. `tolerance` is None for an exact rule and for a rule that
    only ignores lines of text or values at paths. `compare` False records the output without
    letting it decide the verdict."""

    match: str
    index: int | None = None  # position in the rules list; None for the built-in exact default
    tolerance: Tolerance | None = None
    ignore: tuple[re.Pattern[str], ...] = ()
    paths: tuple[PathOverride, ...] = ()
    ignored_paths: tuple[IgnoredPath, ...] = ()
    compare: bool = True
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_regex", re.compile(globs.regex(self.match)))

    def matches(self, path: str) -> bool:
        """Whether this rule's glob matches the output path (POSIX, relative to the root), in
        repro's one glob dialect (`repro.globs`: `*` stops at `/`, `**` crosses directories)."""
        return self._regex.match(path) is not None

    def matched_before(self, path: str) -> bool:
        """Whether the old fnmatch reading of `match` (where `*` crossed `/`) matched `path`."""
        return globs.legacy_regex(self.match).fullmatch(path) is not None

    @property
    def exact(self) -> bool:
        """True when the bytes alone decide: no tolerance and nothing to ignore."""
        return self.tolerance is None and not self.ignore and not self.ignored_paths and self.compare


DEFAULT_RULE = Rule(match="**")


@dataclass(frozen=True)
class RuleSet:
    """Rules in order; the first whose `match` glob matches an output's path applies, and an
    output no rule matches is compared exactly."""

    rules: tuple[Rule, ...] = ()

    def rule_for(self, path: str) -> Rule:
        """The first rule that matches `path`, in repro's glob dialect or, for rules written
        before it, in the old fnmatch reading (where `*` crossed `/`): a rule that stopped
        applying would silently flip the verdicts of runs already gated on it. `changed_meaning`
        names every rule kept that way."""
        for rule in self.rules:
            if rule.matches(path) or rule.matched_before(path):
                return rule
        return DEFAULT_RULE

    def changed_meaning(self, paths: Iterable[str]) -> list[str]:
        """One warning per rule that decides some of `paths` only by the old reading of its
        `match`, with the `**` spelling that says the same in the one dialect."""
        notes: dict[int, str] = {}
        for path in paths:
            rule = self.rule_for(path)
            if rule is DEFAULT_RULE or rule.index in notes or rule.matches(path):
                continue
            notes[rule.index] = globs.changed_meaning(rule.match, path, what=f"rules[{rule.index}].match")
        return [notes[i] for i in sorted(notes)]


def load_rules(data: dict | None) -> RuleSet:
    """Validate the rules mapping (`{"rules": [...]}`) and build the RuleSet.

    Raises UsageError with one line naming the rule index and field for unknown keys, wrong types,
    negative or non-finite tolerances, a rule without a policy, or an invalid regex or path.
    """
    if data is None:
        return RuleSet()
    if not isinstance(data, Mapping):
        raise UsageError(f"verify: expected a mapping with a 'rules' list, got {_kind(data)}")
    unknown = sorted(set(data) - {"rules"}, key=str)
    if unknown:
        raise UsageError(f"verify.{unknown[0]}: unknown key (expected 'rules')")
    raw = data.get("rules")
    if raw is None:
        return RuleSet()
    if not isinstance(raw, list):
        raise UsageError(f"rules: expected a list, got {_kind(raw)}")
    return RuleSet(tuple(_rule(i, entry) for i, entry in enumerate(raw)))


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _rule(index: int, entry: object) -> Rule:
    where = f"rules[{index}]"
    if not isinstance(entry, Mapping):
        raise UsageError(f"{where}: expected a mapping, got {_kind(entry)}")
    for key in entry:
        if key not in RULE_KEYS:
            raise UsageError(f"{where}.{key}: unknown key (expected one of {', '.join(RULE_KEYS)})")
    match = entry.get("match")
    if not isinstance(match, str) or not match:
        raise UsageError(f"{where}.match: expected a non-empty glob string, got {match!r}")

    if "compare" in entry:
        if _bool(f"{where}.compare", entry["compare"]) is False:
            others = [k for k in ("exact", "allclose", "ulp", "ignore", "paths") if k in entry]
            if others:
                raise UsageError(f"{where}.{others[0]}: cannot be combined with compare: false (the output is not compared)")
            return Rule(match, index, compare=False)

    policies: list[Tolerance] = []
    if "exact" in entry:
        if entry["exact"] is not True:
            raise UsageError(f"{where}.exact: expected true, got {entry['exact']!r}")
        others = [k for k in ("allclose", "ulp", "ignore", "paths") if k in entry]
        if others:
            raise UsageError(f"{where}.{others[0]}: cannot be combined with exact")
    if "allclose" in entry:
        policies.append(_allclose(f"{where}.allclose", entry["allclose"]))
    if "ulp" in entry:
        policies.append(_ulp(f"{where}.ulp", entry["ulp"]))
    ignore = _ignore(f"{where}.ignore", entry["ignore"]) if "ignore" in entry else ()
    paths, ignored_paths = _paths(f"{where}.paths", entry["paths"]) if "paths" in entry else ((), ())
    if paths and "allclose" not in entry:
        raise UsageError(f"{where}.paths: per-path overrides need an allclose policy in the same rule")
    if not policies and "ignore" not in entry and "exact" not in entry and not ignored_paths:
        raise UsageError(f"{where}: no policy (give one of exact, allclose, ulp, ignore, paths, compare)")

    tolerance: Tolerance | None
    if not policies:
        tolerance = None
    elif len(policies) == 1:
        tolerance = policies[0]
    else:
        tolerance = AnyOf(tuple(policies))
    return Rule(match, index, tolerance, ignore, paths, ignored_paths)


def _number(where: str, value: object) -> float:
    """A finite non-negative number. A string that spells a float is accepted because YAML 1.1
    reads `1e-6` (no dot) as a string, a trap nobody means to set."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise UsageError(f"{where}: expected a number, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UsageError(f"{where}: expected a number, got {_kind(value)}")
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise UsageError(f"{where}: expected a finite number >= 0, got {value!r}")
    return value


def _bool(where: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise UsageError(f"{where}: expected true or false, got {value!r}")
    return value


def _allclose_fields(where: str, data: object) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise UsageError(f"{where}: expected a mapping of {', '.join(ALLCLOSE_KEYS)}, got {_kind(data)}")
    fields: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("rtol", "atol"):
            fields[key] = _number(f"{where}.{key}", value)
        elif key == "equal_nan":
            fields[key] = _bool(f"{where}.{key}", value)
        else:
            raise UsageError(f"{where}.{key}: unknown key (expected one of {', '.join(ALLCLOSE_KEYS)})")
    return fields


def _allclose(where: str, data: object) -> Allclose:
    """`allclose: {rtol, atol, equal_nan}`; `allclose: true` or `{}` means numpy's defaults."""
    if data is True:
        return Allclose()
    return Allclose(**_allclose_fields(where, data))


def _ulp(where: str, data: object) -> Ulp:
    """`ulp: 4`, or `ulp: {max: 4, equal_nan: true}`."""
    if isinstance(data, Mapping):
        for key in data:
            if key not in ULP_KEYS:
                raise UsageError(f"{where}.{key}: unknown key (expected one of {', '.join(ULP_KEYS)})")
        if "max" not in data:
            raise UsageError(f"{where}.max: required (the largest accepted distance in ulp)")
        equal_nan = _bool(f"{where}.equal_nan", data["equal_nan"]) if "equal_nan" in data else False
        return Ulp(_count(f"{where}.max", data["max"]), equal_nan)
    return Ulp(_count(where, data))


def _count(where: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UsageError(f"{where}: expected an integer >= 0, got {value!r}")
    return value


def _ignore(where: str, data: object) -> tuple[re.Pattern[str], ...]:
    items = [data] if isinstance(data, str) else data
    if not isinstance(items, list):
        raise UsageError(f"{where}: expected a list of regular expressions, got {_kind(data)}")
    if not items:
        raise UsageError(f"{where}: expected at least one regular expression")
    patterns = []
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise UsageError(f"{where}[{i}]: expected a regular expression string, got {_kind(item)}")
        try:
            patterns.append(re.compile(item))
        except re.error as e:
            raise UsageError(f"{where}[{i}]: invalid regular expression {item!r}: {e}") from e
    return tuple(patterns)


def _paths(where: str, data: object) -> tuple[tuple[PathOverride, ...], tuple[IgnoredPath, ...]]:
    """The overrides (path -> allclose fields) and the ignored paths (path -> `ignore`)."""
    if not isinstance(data, Mapping):
        raise UsageError(f"{where}: expected a mapping of JSON path to allclose fields or 'ignore', got {_kind(data)}")
    out = []
    ignored = []
    for text, fields in data.items():
        if not isinstance(text, str):
            raise UsageError(f"{where}: path keys must be strings, got {text!r}")
        try:
            pattern = jsonpath.parse_path(text)
        except ValueError as e:
            raise UsageError(f"{where}[{text!r}]: invalid path: {e}") from e
        if fields == IGNORE:
            ignored.append(IgnoredPath(text, pattern))
            continue
        if isinstance(fields, str):
            raise UsageError(f"{where}[{text!r}]: expected a mapping of allclose fields or 'ignore', got {fields!r}")
        parsed = _allclose_fields(f"{where}[{text!r}]", fields)
        out.append(PathOverride(text, pattern, tuple(parsed.items())))
    return tuple(out), tuple(ignored)
