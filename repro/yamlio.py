"""Strict, bounded YAML for `repro.yaml` and rules files.

PyYAML's `safe_load` is safe from code execution but not from everything a hostile or broken file
can do: it keeps the last of two equal keys (so `digest: sha256` can be silently undone further
down), it recurses on deep nesting, and aliases can make a few lines expand into millions of
values or into a structure that contains itself, which the schema check and any error message
then walk. Here every one of those is a one-line UsageError.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from repro.errors import UsageError
from repro.evidence.jsonio import read_regular

MAX_BYTES = 1024 * 1024
MAX_VALUES = 100_000


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys in a mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:
                continue  # unhashable: the base class raises its own error for it
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


def _children(value: Any) -> list:
    if isinstance(value, dict):
        return [*value.keys(), *value.values()]
    if isinstance(value, list):
        return value
    return []


def _check_expansion(value: Any, what: str) -> None:
    """Count the values as a reader would see them, aliases expanded, without expanding them:
    sizes are memoised per object and capped. Iterative, since chained aliases can nest deeper
    than the text does."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        item, finished = stack.pop()
        if not isinstance(item, (dict, list)):
            continue
        key = id(item)
        if finished:
            on_path.discard(key)
            total = 1 + sum(sizes.get(id(c), 1) for c in _children(item))
            if total > MAX_VALUES:
                raise UsageError(f"{what} expands to more than {MAX_VALUES} values (YAML aliases)")
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise UsageError(f"{what} contains a YAML alias that refers to itself")
        on_path.add(key)
        stack.append((item, True))
        stack.extend((c, False) for c in _children(item))


def load(path: Path, *, what: str, limit: int = MAX_BYTES) -> Any:
    """Parse one YAML document from a regular file of at most `limit` bytes; None when empty."""
    raw = read_regular(path, limit=limit, what=what, error=UsageError)
    return loads(raw, what=what)


def loads(raw: bytes, *, what: str) -> Any:
    """Parse YAML bytes strictly (UTF-8, one document, no duplicate keys, bounded depth and
    expansion); every failure is a UsageError of one line naming `what`."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UsageError(f"{what} is not UTF-8 (byte {e.start})") from e
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = f": {' '.join(str(e.problem).split())[:200]}" if e.problem else ""
        raise UsageError(f"{what} is not valid YAML{where}{problem}") from e
    except yaml.YAMLError as e:
        raise UsageError(f"{what} is not valid YAML") from e
    except (ValueError, TypeError, OverflowError) as e:  # a tagged or implicit value that does not convert
        raise UsageError(f"{what} is not valid YAML: {' '.join(str(e).split())[:200]}") from e
    except RecursionError as e:
        raise UsageError(f"{what} is nested too deeply") from e
    _check_expansion(data, what)
    return data
