"""The variables a replay restores from the recorded run, and how it puts them in place.

Restored: the determinism variables repro sets or records (seeds.DETERMINISM_VARIABLES, the
thread counts when `--threads` was given), the variables known to change what a program writes
(`RESTORED_VARIABLES`, justified one by one in docs/determinism.md), and every variable named in
`env:` of repro.yaml. A variable the run did not have is removed for the replay; a masked value
(`***`) cannot be restored and is reported instead. Everything else is the replaying machine's
own and is reported as drift, not changed.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterable, Iterator, Mapping

from repro.secrets import MASK

RESTORED_VARIABLES: tuple[str, ...] = (
    "SOURCE_DATE_EPOCH",  # reproducible-builds timestamp: PDF, zip, tar, matplotlib and sphinx write it
    "TZ",  # local time in names, logs and timestamps written into files
    "LC_ALL",  # overrides every LC_* category: number formatting, sorting, encoding
    "LANG",  # the default locale
    "LANGUAGE",  # message language (gettext)
    "LC_CTYPE",  # character encoding: Python's default text encoding follows it
    "LC_NUMERIC",  # decimal separator of printf-style formatting in C libraries
    "LC_COLLATE",  # sort order of strings (sorted file lists, `sort`)
    "LC_TIME",  # formatted dates (strftime)
    "PYTHONIOENCODING",  # the encoding of the program's stdout and stderr
    "PYTHONUTF8",  # UTF-8 mode: default encoding of open()
    "PYTHONDONTWRITEBYTECODE",  # whether __pycache__ appears among the outputs
)


def restore(recorded_env: Mapping[str, str], names: Iterable[str]) -> tuple[dict[str, str], list[str], list[str]]:
    """(values to set, names to unset, masked names that cannot be restored)."""
    values: dict[str, str] = {}
    unset: list[str] = []
    masked: list[str] = []
    for name in dict.fromkeys(names):
        if name not in recorded_env:
            unset.append(name)
        elif recorded_env[name] == MASK:
            masked.append(name)
        else:
            values[name] = recorded_env[name]
    return values, unset, masked


@contextmanager
def without(names: Iterable[str]) -> Iterator[None]:
    """The replay's own environment without `names` while the command runs (a runner builds the
    child's environment from repro's), put back afterwards."""
    saved = {n: os.environ.pop(n) for n in list(names) if n in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)
