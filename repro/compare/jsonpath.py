"""Paths into a JSON document: the `where` of a JSON verdict and the keys of a rule's `paths`.

One syntax serves both, so a location printed in a report can be pasted into the rules file:

    $.history[2].loss        the root is "$"; writing it in a rule is optional
    history[2].loss          dotted keys, [i] list indices
    ["learning rate"].value  a key that is not a plain name, as a JSON string in brackets
    history[*].loss          [*] any index, .* any key

A pattern matches the value at its path and everything below it, so `history` covers every
number inside `history`.
"""

from __future__ import annotations

import enum
import json
import re
from typing import Union


class Wild(enum.Enum):
    """A pattern segment that matches any key (`.*`) or any index (`[*]`)."""

    KEY = "*"
    INDEX = "[*]"


Part = Union[str, int]  # a step in a document: an object key or a list index
Segment = Union[str, int, Wild]  # a step in a pattern

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_BARE_KEY = re.compile(r"[^.\[\]\"]+")
_INDEX = re.compile(r"\[(\d+|\*)\]")


def plain_key(key: str) -> bool:
    """Whether `key` can be written as `.key` in a path."""
    return _PLAIN_KEY.fullmatch(key) is not None


def format_path(parts: tuple[Part, ...]) -> str:
    """"$" followed by `.key`, `["odd key"]` and `[i]` steps."""
    out = ["$"]
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _PLAIN_KEY.fullmatch(part):
            out.append(f".{part}")
        else:
            out.append(f"[{json.dumps(part)}]")
    return "".join(out)


def parse_path(text: str) -> tuple[Segment, ...]:
    """Parse a path pattern; raises ValueError with a short reason."""
    rest = text[1:] if text.startswith("$") else text
    if not rest:
        raise ValueError("empty path")
    segments: list[Segment] = []
    first = True
    while rest:
        if rest.startswith("["):
            if m := _INDEX.match(rest):
                segments.append(Wild.INDEX if m.group(1) == "*" else int(m.group(1)))
                rest = rest[m.end() :]
            else:
                key, rest = _quoted_key(rest)
                segments.append(key)
        else:
            if rest.startswith("."):
                rest = rest[1:]
            elif not first:
                raise ValueError(f"expected '.' or '[' at {rest!r}")
            m = _BARE_KEY.match(rest)
            if not m:
                raise ValueError(f"expected a key at {rest!r}")
            key = m.group(0)
            segments.append(Wild.KEY if key == "*" else key)
            rest = rest[m.end() :]
        first = False
    return tuple(segments)


def _quoted_key(rest: str) -> tuple[str, str]:
    """`["key"]...` -> ("key", "..."), using JSON's own string grammar for the key."""
    decoder = json.JSONDecoder()
    try:
        key, end = decoder.raw_decode(rest, 1)
    except json.JSONDecodeError:
        raise ValueError(f"expected [index], [*] or [\"key\"] at {rest!r}") from None
    if not isinstance(key, str) or not rest[end:].startswith("]"):
        raise ValueError(f"expected [index], [*] or [\"key\"] at {rest!r}")
    return key, rest[end + 1 :]


def matches(pattern: tuple[Segment, ...], parts: tuple[Part, ...]) -> bool:
    """True when `pattern` names `parts` or one of its ancestors."""
    if len(pattern) > len(parts):
        return False
    for seg, part in zip(pattern, parts):
        if seg is Wild.KEY:
            if not isinstance(part, str):
                return False
        elif seg is Wild.INDEX:
            if not isinstance(part, int):
                return False
        elif type(seg) is not type(part) or seg != part:
            return False
    return True


def specificity(pattern: tuple[Segment, ...]) -> tuple[int, int]:
    """Longer patterns, then patterns with fewer wildcards, are more specific."""
    return len(pattern), sum(1 for s in pattern if not isinstance(s, Wild))
