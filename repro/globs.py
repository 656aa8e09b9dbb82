"""One glob dialect for every pattern a user writes: `--input`, `--output`, `--state`, the
`match` of a tolerance rule, and `ignore` patterns.

The dialect is the shell's with globstar (and wcmatch's `glob` with GLOBSTAR, which implements
it): `*`, `?` and `[...]` match within one path component and never a `/`; `**` as a whole
component matches any number of directories, none included (`out/**/*.npz` matches `out/a.npz`
and `out/x/y/a.npz`); none of them matches a name's leading `.` unless the pattern spells it
(`out/*` does not match `out/.cache`, as it does not on the command line). Matching is
case-sensitive and anchored at the project root. So `--output 'out/*.npz'` and a rule
`match: out/*.npz` name the same files.

Until this module, rules used fnmatch (where `*` crossed `/`) and the file system used the
standard library's glob: `legacy_regex` keeps the rules' old reading, so a rule written for it
still applies where only that reading matches (a verdict gated on it must not flip), and is named
with the `**` spelling that says the same in this dialect (`changed_meaning`).
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from typing import Iterable

from wcmatch import glob as _wcglob

FLAGS = _wcglob.GLOBSTAR | _wcglob.FORCEUNIX
GLOB_CHARS = frozenset("*?[")


def is_glob(pattern: str) -> bool:
    return bool(GLOB_CHARS & set(pattern))


def regex(pattern: str) -> str:
    """The pattern as a regular expression over a whole POSIX path (anchored both ends)."""
    include, _ = _wcglob.translate(pattern, flags=FLAGS)
    return include[0]


def compile_any(patterns: Iterable[str]) -> re.Pattern[str] | None:
    """One compiled regex for several patterns (None when there are none): a path matches when
    any pattern matches the whole of it. One regex, so a walk of 100,000 files stays fast."""
    parts = [regex(p) for p in patterns]
    if not parts:
        return None
    return re.compile("|".join(f"(?:{p})" for p in parts))


def matches(pattern: str, path: str) -> bool:
    """Whether `pattern` matches the POSIX `path` (relative to the project root)."""
    return _wcglob.globmatch(path, pattern, flags=FLAGS)


def expand(pattern: str, cwd: str) -> list[str]:
    """Existing paths matching `pattern`, relative to `cwd` (or absolute, as the pattern is),
    sorted. Symbolic links to directories are not followed by `**`."""
    if os.path.isabs(pattern):
        return sorted(_wcglob.glob(pattern, flags=FLAGS))
    return sorted(os.path.join(cwd, m) for m in _wcglob.glob(pattern, flags=FLAGS, root_dir=cwd))


@lru_cache(maxsize=1024)
def legacy_regex(pattern: str) -> re.Pattern[str]:
    """The old reading of a rule's `match`: fnmatch on the POSIX path, where `*` and `?` also
    match `/` and a leading `.`, plus `**/` matching no directory at all. Only for naming rules
    whose meaning changed."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern[i] == "*":
            while i < n and pattern[i] == "*":
                i += 1
            out.append(".*")
        elif pattern[i] == "?":
            out.append(".")
            i += 1
        elif pattern[i] == "[" and (close := _class_end(pattern, i)) > 0:
            body = pattern[i + 1 : close]
            if body.startswith("!"):
                body = "^" + body[1:]
            elif body.startswith("^"):
                body = "\\" + body
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = close + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out), re.DOTALL)


def _class_end(pattern: str, start: int) -> int:
    """Index of the `]` closing the class opened at `start`, or -1 (then `[` is literal)."""
    j = start + 1
    if j < len(pattern) and pattern[j] == "!":
        j += 1
    if j < len(pattern) and pattern[j] == "]":
        j += 1
    return pattern.find("]", j)


def _spellings(pattern: str) -> list[str]:
    parts = pattern.split("/")
    candidates = ["/".join("**" if p == "*" else p for p in parts)]
    if parts[-1] != "**":
        candidates.append("/".join([*parts[:-1], "**", parts[-1]]))
    return [c for c in candidates if c != pattern]


def respelled(pattern: str, path: str | None = None) -> str | None:
    """A spelling in this dialect that crosses directories where the old reading of `pattern`
    did: a lone `*` component becomes `**`, else `**/` goes before the last component. Given a
    `path`, the spelling must match it; None when none does."""
    return next((c for c in _spellings(pattern) if path is None or matches(c, path)), None)


def changed_meaning(pattern: str, path: str, *, what: str) -> str:
    """The warning for a rule that matches `path` only in the old reading of its pattern."""
    spelling = respelled(pattern, path)
    fix = f"write {spelling!r} to say so" if spelling else "use ** to match across directories"
    return (f"{what} {pattern!r} matches {path} only in the old reading, where `*` crossed `/` (or matched a "
            f"leading `.`); it still applies, but that reading is deprecated: {fix}")


def crossing_patterns(patterns: Iterable[str]) -> list[str]:
    """Patterns with a `/` and a `*` or `?` that is not part of `**`: under the old fnmatch
    reading of ignore patterns these matched across directories, and now do not."""
    return [p for p in patterns if "/" in p and re.search(r"(?<!\*)[*?](?!\*)", p)]


def ignore_notes(patterns: Iterable[str]) -> list[str]:
    """A warning for each ignore pattern whose meaning changed with the dialect (see above)."""
    return [f"ignore pattern {p!r}: `*` no longer crosses `/`; write {respelled(p)!r} if it should reach into "
            "subdirectories" for p in crossing_patterns(patterns)]
