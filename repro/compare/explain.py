"""Why an output compared under the exact rule differs, in terms a user can act on.

"sizes differ (445 != 444 bytes)" says that something changed, not what. For a format repro can
read, the explanation is where the values first differ, with both values: a JSON key path, a CSV
row and column, an array element with the largest error (what the tolerance report shows). For
other text it is the first differing line, for anything else the first differing byte offset.
When only numbers differ, it names the rule that would accept the difference, after checking
that it does. Explaining costs nothing on the common path: it runs only once the bytes differ.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any, Callable

from repro.compare.bytewise import first_difference
from repro.compare.format import Format, Unreadable, open_binary
from repro.compare.policy import Allclose, Exact, Tolerance
from repro.compare.text import TextFormat, binary_reason
from repro.compare.verdict import Verdict

ReaderFor = Callable[[Tolerance], "Format | None"]
"""The reader of an output's format under a given tolerance (None: repro has none for it)."""


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2 or 5 times a power of ten that is at least `value` (a tolerance a
    person would write)."""
    if value <= 0:
        return 0.0
    exponent = math.floor(math.log10(value))
    for mantissa in (1, 2, 5, 10):
        candidate = float(f"{mantissa}e{exponent}")
        if candidate >= value:
            return candidate
    return float(f"1e{exponent + 1}")


def yaml_number(value: float) -> str:
    """A tolerance as YAML 1.1 reads it as a float (`1.0e-6`, never the string `1e-6`)."""
    if value >= 1 or value == 0:
        return repr(float(value))
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def candidate_tolerance(max_abs: float | None, max_rel: float | None) -> Allclose | None:
    """The allclose rule, relative where it can be (it scales with the values), absolute where a
    recorded zero makes every relative error infinite."""
    if max_rel is not None and math.isfinite(max_rel):
        return Allclose(rtol=nice_ceiling(max_rel), atol=0.0)
    if max_abs is not None and math.isfinite(max_abs):
        return Allclose(rtol=0.0, atol=nice_ceiling(max_abs))
    return None


def rule_text(name: str, tolerance: Allclose) -> str:
    return (f'{{match: "{name}", allclose: {{rtol: {yaml_number(tolerance.rtol)}, '
            f"atol: {yaml_number(tolerance.atol)}}}}}")


def _accepting_rule(name: str, found: Verdict, recorded: Path, replayed: Path, reader_for: ReaderFor) -> str:
    """"; a rule ... would accept it" when one does, checked by comparing again under it."""
    tolerance = candidate_tolerance(found.max_abs_error, found.max_rel_error)
    if found.ok:
        tolerance = Allclose(rtol=0.0, atol=0.0)  # equal values, other bytes: any allclose rule accepts them
    reader = reader_for(tolerance) if tolerance is not None else None
    if reader is None:
        return ""
    try:
        if not reader.compare(name, recorded, replayed).ok:
            return ""
    except (Unreadable, ImportError):
        return ""
    return f"; the rule {rule_text(name, tolerance)} would accept it"


MAX_SHOWN = 5


def json_differences(recorded: Any, replayed: Any, limit: int = MAX_SHOWN) -> tuple[list[tuple[str, str, str]], int]:
    """The first `limit` key paths at which two JSON documents differ, in recorded order, with
    both values shown (a missing key or a changed type is a difference at its path), and how
    many paths differ in all. Iterative: a deep document must not exhaust the stack."""
    from repro.compare.jsonpath import format_path
    from repro.compare.stats import show_value

    def show(value: Any) -> str:
        return "(absent)" if value is _ABSENT else show_value(json.dumps(value))

    found: list[tuple[str, str, str]] = []
    count = 0
    stack: list[tuple[tuple, Any, Any]] = [((), recorded, replayed)]
    while stack:
        parts, a, b = stack.pop()
        if isinstance(a, dict) and isinstance(b, dict):
            keys = list(a) + [k for k in b if k not in a]
            stack.extend((parts + (k,), a.get(k, _ABSENT), b.get(k, _ABSENT)) for k in reversed(keys))
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            stack.extend((parts + (i,), a[i], b[i]) for i in reversed(range(len(a))))
        elif a != b or type(a) is not type(b):
            count += 1
            if len(found) < limit:
                found.append((format_path(parts), show(a), show(b)))
    return found, count


_ABSENT = object()


def _json_detail(recorded: Path, replayed: Path) -> str | None:
    """"N values differ: $.a 1 != 2, ..." for two JSON files, None when either is not JSON."""
    try:
        with open(recorded, "rb") as f:
            a = json.load(f)
        with open(replayed, "rb") as f:
            b = json.load(f)
    except (OSError, ValueError, RecursionError):
        return None
    found, count = json_differences(a, b)
    if not found:
        return None
    shown = ", ".join(f"{path} {x} != {y}" for path, x, y in found)
    more = f" and {count - len(found)} more" if count > len(found) else ""
    return f"{count} value{'s' if count != 1 else ''} differ{'s' if count == 1 else ''}: {shown}{more}"


def first_byte_offset(recorded: Path, replayed: Path) -> int | None:
    with open_binary(recorded, "recorded") as a, open_binary(replayed, "replayed") as b:
        return first_difference(a, b)


def explain(name: str, recorded: Path, replayed: Path, byte_detail: str, reader_for: ReaderFor) -> Verdict:
    """The `differs` verdict of an exact comparison whose bytes differ (`byte_detail` says how),
    explained by the output's own format when repro reads it, else as text, else by offset."""
    reader = reader_for(Exact())
    if reader is not None:
        try:
            found = reader.compare(name, recorded, replayed)
        except (Unreadable, ImportError):  # not of its format after all, or its library is absent here
            found = None
        if found is not None and "compared exactly" not in found.detail:  # else the reader declined the file
            if PurePosixPath(name).suffix.lower() in (".json", ".ipynb"):
                listed = _json_detail(recorded, replayed)
                if listed:
                    found = replace(found, detail=listed)
            if found.ok:
                detail = f"{byte_detail}; every value is equal" + (f" ({found.detail})" if found.detail else "")
            else:
                detail = f"{byte_detail}: {found.detail}"
            detail += _accepting_rule(name, found, recorded, replayed, reader_for)
            return Verdict(name, "differs", "exact", detail, found.max_abs_error, found.max_rel_error, found.where)
    try:
        text = binary_reason(recorded, "recorded") is None and binary_reason(replayed, "replayed") is None
        if text:
            found = TextFormat(()).compare(name, recorded, replayed)
            if not found.ok and found.detail:
                return Verdict(name, "differs", "exact", f"{byte_detail}: first differing {found.detail}",
                               where=found.where)
        offset = first_byte_offset(recorded, replayed)
    except Unreadable:
        return Verdict(name, "differs", "exact", byte_detail)
    where = f"byte {offset}" if offset is not None else None
    if offset is not None and "offset" not in byte_detail:
        byte_detail += f"; first differing byte at offset {offset}"
    return Verdict(name, "differs", "exact", byte_detail, where=where)
