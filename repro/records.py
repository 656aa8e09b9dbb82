"""The records the command's Python processes write into the run directory, checked before use.

Anything in `$REPRO_RUN_DIR` is input from the program, not from repro: the hook writes it, but so
can the program, a library or anything else running as the same user. So every record of a type
repro reads is checked against a small schema of its own (below) and a record that does not
match is dropped whole, with one warning that counts them: a malformed record must never stop a
run from sealing, nor put into a manifest what repro could not read back.

A record of a type not listed here is passed on unchecked; whoever reads a new type adds its
schema here.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

SAFE_INT = 2**53 - 1  # RFC 8785 numbers are IEEE doubles: what a manifest can hold

Check = Callable[[Any], bool]


def _int(v: Any) -> bool:
    return type(v) is int and -SAFE_INT <= v <= SAFE_INT


def _count(v: Any) -> bool:
    return _int(v) and v >= 0


def _str(v: Any) -> bool:
    return type(v) is str


def _bool(v: Any) -> bool:
    return type(v) is bool


def _optional(check: Check) -> Check:
    return lambda v: v is None or check(v)


def _list_of(check: Check) -> Check:
    return lambda v: type(v) is list and all(check(x) for x in v)


def _json_scalar(v: Any) -> bool:
    """A seed value as the hook describes it: a JSON scalar, or a short list of integers."""
    if v is None or type(v) in (bool, str):
        return True
    if type(v) is float:
        return v == v and v not in (float("inf"), float("-inf"))
    if type(v) is int:
        return True  # a seed call's value may be any integer: observe.json_value keeps big ones as text
    return type(v) is list and len(v) <= 32 and all(type(x) is int for x in v)


_strings = _list_of(_str)


def _files(v: Any) -> bool:
    return type(v) is dict and set(v) <= {"r", "w", "rw", "wr"} and all(_strings(x) for x in v.values())


_SEED_CALL: dict[str, Check] = {"call": _str, "site": _str, "user_site": _optional(_str), "values": _list_of(_json_scalar),
                                "count": _count, "unseeded": _bool}


def _seed_call(v: Any) -> bool:
    return type(v) is dict and all(k in v and check(v[k]) for k, check in _SEED_CALL.items() if k != "user_site") \
        and _optional(_str)(v.get("user_site"))


def _str_map(v: Any) -> bool:
    return type(v) is dict and all(type(k) is str and type(x) is str for k, x in v.items())


def _hardware(v: Any) -> bool:
    """A node's hardware facet as the hook gathers it (repro/inject/site/sitecustomize.py)."""
    if type(v) is not dict or type(v.get("cpu")) is not dict or type(v.get("gpus")) is not list:
        return False
    cpu = v["cpu"]
    return (all(_optional(_str)(cpu.get(k)) for k in ("model", "vendor", "architecture"))
            and _strings(cpu.get("flags", [])) and _optional(_count)(cpu.get("logical_cores"))
            and _optional(_count)(v.get("memory_bytes"))
            and all(type(g) is dict and all(_optional(_str)(x) for x in g.values()) for g in v["gpus"]))


# event -> field -> (required, check)
SCHEMAS: dict[str, dict[str, tuple[bool, Check]]] = {
    "start": {"ppid": (False, _optional(_int)), "argv": (False, _strings), "root": (False, _optional(_str)),
              "observing": (False, _bool), "forked": (False, _bool), "trees": (False, _strings),
              "executable": (False, _optional(_str)), "cwd": (False, _optional(_str)),
              "version": (False, _optional(_str))},
    "observed": {"files": (False, _files), "listed": (False, _strings), "spawned": (False, _list_of(_strings)),
                 "modules": (False, _strings), "sys_path": (False, _strings),
                 "seed_calls": (False, _list_of(_seed_call))},
    "seeded": {"lib": (True, _str), "value": (True, _int)},
    "not_seeded": {"lib": (True, _str), "reason": (False, _str)},
    "error": {"where": (False, _str), "message": (False, _str)},
    "chained": {"path": (True, _str)},
    "refused": {"path": (True, _str), "operation": (False, _str), "reason": (False, _str)},
    "rank": {"variables": (True, _str_map), "host": (True, _str), "master_addr": (False, _str),
             "master_port": (False, _str), "hardware": (False, _hardware)},
    "rank_end": {"error": (False, _optional(_str))},
    "comm": {"library": (True, _str), "backend": (True, _str), "rank": (False, _int), "world_size": (False, _count),
             "torch": (False, _optional(_str)), "gloo": (False, _bool), "nccl": (False, _optional(_str))},
    "state_before": {"path": (True, _str), "copy": (True, lambda v: _str(v) and "/" not in v and v[:1] not in ("", ".")),
                     "size": (False, _count)},
}


def well_formed(record: Any) -> bool:
    """Whether a record matches the schema of its type (any `pid` and `event` are required)."""
    if type(record) is not dict or not _int(record.get("pid")) or not _str(record.get("event")):
        return False
    schema = SCHEMAS.get(record["event"])
    if schema is None:
        return True
    for name, (required, check) in schema.items():
        if name in record:
            if not check(record[name]):
                return False
        elif required:
            return False
    return True


def checked(records: Iterable[Any]) -> tuple[list[dict], int]:
    """The well-formed records, and how many were dropped."""
    kept: list[dict] = []
    dropped = 0
    for r in records:
        if well_formed(r):
            kept.append(r)
        else:
            dropped += 1
    return kept, dropped


def dropped_warning(dropped: int) -> str:
    return (f"{dropped} malformed record(s) in the run directory were dropped: something other than repro's hook "
            "wrote there, or a process was cut off while writing")
