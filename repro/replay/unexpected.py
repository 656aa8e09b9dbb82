"""Outputs the replay wrote that the recorded run did not, and what they most likely are.

A program that picks a name from what it finds (Lightning's `lightning_logs/version_N`, a
`run-3/` counter) writes the same file under a sibling directory when the workspace differs from
what the run saw. Reporting "3 missing, 3 unexpected" hides that; naming the pair does not.
"""

from __future__ import annotations

from typing import Iterable

from repro.compare import Verdict


def mirror_of(path: str, missing: Iterable[str]) -> str | None:
    """The missing path that `path` mirrors: the same relative tail under a sibling directory
    (exactly one directory component differs), or None."""
    parts = path.split("/")
    for other in missing:
        theirs = other.split("/")
        if len(theirs) != len(parts) or len(parts) < 2:
            continue
        differ = [i for i, (a, b) in enumerate(zip(parts, theirs)) if a != b]
        if len(differ) == 1 and differ[0] < len(parts) - 1:
            return other
    return None


def unexpected_verdicts(written: Iterable[str], recorded: set[str], missing: list[str]) -> list[Verdict]:
    """One `unexpected` verdict for every file the replay wrote outside the recorded set, with a
    detail naming the missing output it mirrors when there is one."""
    out = []
    for path in sorted(set(written) - recorded):
        twin = mirror_of(path, missing)
        if twin is None:
            out.append(Verdict.unexpected(path))
            continue
        i = next(i for i, (a, b) in enumerate(zip(path.split("/"), twin.split("/"))) if a != b)
        base = "/".join(path.split("/")[:i])
        tail_new = "/".join(path.split("/")[i:])
        tail_old = "/".join(twin.split("/")[i:])
        where = f"{base}/" if base else ""
        detail = (f"written to {where}{tail_new} where the run wrote {tail_old}: the program chose another name "
                  "(it may name its directory after what it finds in the workspace)")
        out.append(Verdict(path, "unexpected", "", detail))
    return out
