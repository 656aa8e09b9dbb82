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

    schema = load(name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _location(path: Any) -> str:
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def validate(instance: Any, name: str, *, what: str, error: type[ReproError]) -> None:
    """Raise `error` for the most relevant schema violation, naming where it is."""
    from jsonschema.exceptions import best_match

    err = best_match(_validator(name).iter_errors(instance))
    if err is not None:
        message = err.message if len(err.message) <= 200 else err.message[:197] + "..."
        raise error(f"{what}: {_location(err.absolute_path)}: {message}")
