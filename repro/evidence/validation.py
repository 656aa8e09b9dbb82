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
    from jsonschema import Draft202012Validator, validators

    # The shipped schemas are checked against the meta-schema by the test suite; doing it on every
    # command would cost a third of a second of start-up for nothing.
    schema = load(name)
    checks = _bulk_checks(schema.get("$defs", {}))
    if not checks:
        return Draft202012Validator(schema)
    original = Draft202012Validator.VALIDATORS["items"]

    def items(validator, subschema, instance, parent):
        """Arrays of file entries can hold hundreds of thousands of items, where jsonschema spends
        ~60 µs each. A plain-Python check that only ever *accepts* items the schema accepts runs
        first; anything it does not accept goes to jsonschema, which stays the authority."""
        check = checks.get(subschema.get("$ref")) if isinstance(subschema, dict) else None
        if check is not None and isinstance(instance, list) and all(check(x) for x in instance):
            return
        yield from original(validator, subschema, instance, parent)

    return validators.extend(Draft202012Validator, {"items": items})(schema)


def _bulk_checks(defs: dict) -> dict[str, Any]:
    """Fast acceptors for the `$defs` that appear in large arrays, built from the schema's own
    patterns so there is one source of truth for what a path or a digest may be."""
    import re

    try:
        relpath = defs["relpath"]
        path_re = re.compile(relpath["pattern"])
        path_max = relpath["maxLength"]
        digest_res = {k: re.compile(v["pattern"]) for k, v in defs["digest"]["properties"].items()}
        link_max = defs["file"]["properties"]["link"]["maxLength"]
    except (KeyError, TypeError, re.error):
        return {}

    def path_ok(p: Any) -> bool:
        return type(p) is str and 0 < len(p) <= path_max and path_re.search(p) is not None

    def digest_ok(d: Any) -> bool:
        if type(d) is not dict or len(d) != 1:
            return False
        ((algorithm, value),) = d.items()
        rx = digest_res.get(algorithm)
        return rx is not None and type(value) is str and rx.search(value) is not None

    file_keys = frozenset(("path", "size", "digest", "executable", "link"))

    def file_ok(e: Any) -> bool:
        return (
            type(e) is dict
            and file_keys.issuperset(e)
            and path_ok(e.get("path"))
            and type(e.get("size")) is int
            and e["size"] >= 0
            and digest_ok(e.get("digest"))
            and type(e.get("executable", False)) is bool
            and (type(e.get("link", "")) is str and len(e.get("link", "")) <= link_max)
        )

    def subject_ok(e: Any) -> bool:
        return type(e) is dict and len(e) == 2 and path_ok(e.get("name")) and digest_ok(e.get("digest"))

    artifact = defs.get("artifact", {}).get("properties", {})
    artifact_keys = frozenset(artifact)
    kinds = frozenset(artifact.get("kind", {}).get("enum", ()))
    flags = tuple(k for k, v in artifact.items() if v == {"type": "boolean"})

    def artifact_ok(e: Any) -> bool:
        return (
            type(e) is dict
            and artifact_keys.issuperset(e)
            and path_ok(e.get("path"))
            and type(e.get("kind")) is str  # a list or dict here is unhashable: never `in` a set
            and e["kind"] in kinds
            and type(e.get("size")) is int
            and e["size"] >= 0
            and digest_ok(e.get("digest"))
            and all(type(e[k]) is bool for k in flags if k in e)
            and (type(e.get("files", [])) is list and all(file_ok(f) for f in e.get("files", [])))
        )

    checks = {"#/$defs/relpath": path_ok, "#/$defs/file": file_ok, "#/$defs/subject": subject_ok}
    sha256 = defs.get("sha256_subject", {}).get("properties", {}).get("digest", {})
    if sha256.get("required") == ["sha256"] and sha256.get("additionalProperties") is False:
        sha256_re = re.compile(sha256["properties"]["sha256"]["pattern"])

        def sha256_subject_ok(e: Any) -> bool:
            """What schema version 2 asks of every subject on top of `subject`: sha256 alone."""
            d = e.get("digest") if type(e) is dict else None
            return (type(d) is dict and len(d) == 1 and type(d.get("sha256")) is str
                    and sha256_re.search(d["sha256"]) is not None)

        checks["#/$defs/sha256_subject"] = sha256_subject_ok
    if kinds and artifact_keys == {"path", "kind", "size", "digest", "files", *flags}:
        checks["#/$defs/artifact"] = artifact_ok
    return checks


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
