"""The JSON Schemas shipped with repro, loaded through importlib.resources and checked with
jsonschema; validation errors become one-line repro errors naming the field."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from repro.errors import ReproError


@lru_cache(maxsize=None)
def load(name: str) -> dict:
    return json.loads((resources.files("repro.schemas") / name).read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def _validator(name: str):
    from jsonschema import Draft202012Validator

    # The shipped schemas are checked against the meta-schema by the test suite; doing it on every
    # command would cost a third of a second of start-up for nothing.
    return Draft202012Validator(load(name))


def _location(path: Any) -> str:
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def validate(instance: Any, name: str, *, what: str, error: type[ReproError]) -> None:
    """Raise `error` for the most relevant schema violation, naming where it is."""
    from jsonschema.exceptions import best_match

    validator = _validator(name)
    if validator.is_valid(instance):  # the common case, and about twice as fast as collecting errors
        return
    err = best_match(validator.iter_errors(instance))
    if err is not None:
        message = err.message if len(err.message) <= 200 else err.message[:197] + "..."
        raise error(f"{what}: {_location(err.absolute_path)}: {message}")


def prewarm(*names: str) -> None:
    """Import jsonschema and build validators ahead of need, e.g. in a thread while the wrapped
    command runs: the import costs more than the command in short runs."""
    try:
        for name in names:
            _validator(name)
    except Exception:  # the real validation reports any problem where it happens
        pass
