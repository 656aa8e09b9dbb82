"""What changed between two runs: the drift a replay reports and what `repro diff` prints.

Pure functions over two manifest predicates, one small function per facet. A replay that differs
is only useful when it says *why* it may differ (numpy 1.26 became 2.0, avx512f disappeared,
OMP_NUM_THREADS changed), so every facet names its items one by one rather than saying "deps
changed". Fields that differ on every run by nature (run id, timestamps, durations, log digests,
the shell's PWD) are never compared: they would bury the real drift.

Conventions of a `Change`: `before` is None when the item was added, `after` is None when it was
removed. Keys are dotted for nested fields (`cpu.model`) and bracketed for members of a set
(`cpu.flags[avx512f]`, `seeded[numpy]`, `gpus[0].driver`); files, packages and variables are
keyed by their own name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping

from repro.errors import UsageError
from repro.evidence.manifest import Manifest
from repro.replay.result import Change

FACETS: tuple[str, ...] = (
    "code", "inputs", "outputs", "packages", "python", "os", "image", "sandbox", "hardware", "distributed", "threads",
    "seeds", "environment",
)
"""Every facet, in the order changes are listed."""

ENVIRONMENT_FACETS: tuple[str, ...] = ("packages", "python", "os", "image", "hardware", "threads", "seeds")
"""The facets a replay reports as environment drift: what surrounds the command, not its code,
data or outputs (the replay compares those itself)."""

SHELL_VOLATILE_VARIABLES: frozenset[str] = frozenset({
    "PWD", "OLDPWD", "_", "SHLVL", "COLUMNS", "LINES", "HISTCMD", "RANDOM", "SECONDS", "LINENO", "BASHPID",
    "PPID", "TERM_SESSION_ID", "WINDOWID", "SSH_CLIENT", "SSH_CONNECTION", "SSH_TTY", "SSH_AUTH_SOCK",
    "XDG_SESSION_ID", "OLDPWD", "PS1", "PROMPT_COMMAND",
})
"""Variables a shell or a terminal session changes by itself between two commands (docs/determinism.md)."""

VOLATILE_VARIABLES: frozenset[str] = SHELL_VOLATILE_VARIABLES | {
    "REPRO_RUN_DIR", "REPRO_RUN_ID", "REPRO_PROJECT_ROOT", "REPRO_CONFINE_WRITES", "REPRO_CONFINE_BY",
}
"""Environment variables that differ between any two runs and say nothing about the result: the
shell's own, and those repro sets per run (the run directory, the project root a replay moves)."""

_REPORTED_ELSEWHERE: frozenset[str] = frozenset({"REPRO_SEED"})
"""Environment variables another facet already reports (the seed), listed once, not twice."""

Diffs = Iterator[tuple[str, Any, Any]]


def _get(data: Any, *keys: str) -> Any:
    """`data[k1][k2]...`, or None where any level is missing or not an object: facets are
    free-form in the schema and older or container manifests may lack a field."""
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _field(key: str, before: Any, after: Any) -> Diffs:
    if before != after:
        yield key, before, after


def _members(before: Mapping[str, Any], after: Mapping[str, Any]) -> Diffs:
    """Added, removed and changed members of two keyed collections, in sorted key order."""
    for key in sorted(set(before) | set(after)):
        yield from _field(key, before.get(key), after.get(key))


def _bracketed(name: str, diffs: Diffs) -> Diffs:
    """Members of the set `name`, keyed `name[member]`."""
    return ((f"{name}[{key}]", old, new) for key, old, new in diffs)


def _flags(before: Iterable[str], after: Iterable[str], name: str) -> Diffs:
    """A set compared by membership: an added member is `None -> True`, a removed one `True -> None`."""
    return _bracketed(name, _members({f: True for f in before}, {f: True for f in after}))


def digest_text(digest: Any) -> str | None:
    """`{"xxh3_128": "ab…"}` as `xxh3_128:ab…`: one comparable, printable string per digest."""
    if not isinstance(digest, Mapping) or not digest:
        return None
    algo, value = sorted(digest.items())[0]
    return f"{algo}:{value}"


def _file_state(record: Mapping[str, Any]) -> dict[str, Any]:
    return {"size": record.get("size"), "digest": digest_text(record.get("digest"))}


def _files(artifacts: Any) -> dict[str, dict[str, Any]]:
    """Artifacts flattened to one entry per file: a directory is compared by its files, so a
    report names `out/model.npz`, not `out/`. A directory without a file list stands as itself."""
    out: dict[str, dict[str, Any]] = {}
    for art in artifacts or []:
        files = art.get("files") or []
        if art.get("kind") == "directory" and files:
            for f in files:
                out[f["path"]] = _file_state(f)
        else:
            out[art["path"] + ("/" if art.get("kind") == "directory" else "")] = _file_state(art)
    return out


def _code(before: dict, after: dict) -> Diffs:
    b, a = before.get("code") or {}, after.get("code") or {}
    if b.get("kind") != a.get("kind"):
        yield "kind", b.get("kind"), a.get("kind")
        return
    if b.get("kind") == "git":
        yield from _field("commit", b.get("commit"), a.get("commit"))
        yield from _field("dirty", b.get("dirty"), a.get("dirty"))
        yield from _field("diff", digest_text(_get(b, "diff", "digest")), digest_text(_get(a, "diff", "digest")))
        yield from _flags(b.get("untracked_sources") or [], a.get("untracked_sources") or [], "untracked_sources")
        return
    files = list(_bracketed("files", _members(_files(b.get("files")), _files(a.get("files")))))
    yield from files
    if not files:
        yield from _field("digest", digest_text(b.get("digest")), digest_text(a.get("digest")))


def _inputs(before: dict, after: dict) -> Diffs:
    return _members(_files(before.get("inputs")), _files(after.get("inputs")))


def _outputs(before: dict, after: dict) -> Diffs:
    return _members(_files(before.get("outputs")), _files(after.get("outputs")))


def package_key(name: str) -> str:
    """PEP 503 normalised name: `Scikit_Learn` and `scikit-learn` are one distribution."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _packages(before: dict, after: dict) -> Diffs:
    def versions(pred: dict) -> tuple[dict[str, Any], dict[str, str]]:
        found: dict[str, Any] = {}
        names: dict[str, str] = {}
        for d in _get(pred, "deps", "distributions") or []:
            if isinstance(d, Mapping) and isinstance(d.get("name"), str):
                found[package_key(d["name"])] = d.get("version")
                names[package_key(d["name"])] = d["name"]
        return found, names

    b, b_names = versions(before)
    a, a_names = versions(after)
    for key, old, new in _members(b, a):
        yield a_names[key] if key in a_names else b_names[key], old, new  # a name may be ""


def _python(before: dict, after: dict) -> Diffs:
    b, a = _get(before, "deps", "python") or {}, _get(after, "deps", "python") or {}
    for key in ("implementation", "version", "executable"):
        yield from _field(key, b.get(key), a.get(key))


def distro_name(os_info: Mapping[str, Any]) -> str | None:
    """The distribution as one string, whatever shape the schema allows (an os-release mapping or a string)."""
    distro = os_info.get("distro")
    if isinstance(distro, Mapping):
        return distro.get("PRETTY_NAME") or " ".join(str(distro[k]) for k in ("ID", "VERSION_ID") if distro.get(k)) or None
    return distro


def libc_name(os_info: Mapping[str, Any]) -> str | None:
    """The C library as one string (a {name, version} mapping or a string)."""
    libc = os_info.get("libc")
    if isinstance(libc, Mapping):
        return " ".join(str(libc[k]) for k in ("name", "version") if libc.get(k)) or None
    return libc


def _os(before: dict, after: dict) -> Diffs:
    b, a = _get(before, "deps", "os") or {}, _get(after, "deps", "os") or {}
    yield from _field("distro", distro_name(b), distro_name(a))
    yield from _field("kernel", b.get("release"), a.get("release"))
    yield from _field("libc", libc_name(b), libc_name(a))


def _image(before: dict, after: dict) -> Diffs:
    yield from _field("runner", _get(before, "runner", "name"), _get(after, "runner", "name"))
    for key in ("pinned", "id"):
        yield from _field(f"image.{key}", _get(before, "runner", "image", key), _get(after, "runner", "image", key))


def sandbox_text(pred: dict) -> str | None:
    """How the command was confined, in the words that matter to its result: the kind and
    whether it could reach the network (the bwrap version does not change what a program does)."""
    sandbox = _get(pred, "runner", "sandbox")
    if not isinstance(sandbox, Mapping):
        return None
    return f"{sandbox.get('kind')}, network {'on' if sandbox.get('network') else 'off'}"


def _sandbox(before: dict, after: dict) -> Diffs:
    yield from _field("sandbox", sandbox_text(before), sandbox_text(after))


_GPU_FIELDS = ("name", "driver", "cuda", "memory_mib")


def _hardware(before: dict, after: dict) -> Diffs:
    b, a = before.get("hardware") or {}, after.get("hardware") or {}
    b_cpu, a_cpu = b.get("cpu") or {}, a.get("cpu") or {}
    for key in ("model", "vendor", "architecture"):
        yield from _field(f"cpu.{key}", b_cpu.get(key), a_cpu.get(key))
    yield from _flags(b_cpu.get("flags") or [], a_cpu.get("flags") or [], "cpu.flags")
    yield from _field("cpu.logical_cores", b_cpu.get("logical_cores"), a_cpu.get("logical_cores"))
    yield from _field("memory_bytes", b.get("memory_bytes"), a.get("memory_bytes"))
    b_gpus, a_gpus = b.get("gpus") or [], a.get("gpus") or []
    for i in range(max(len(b_gpus), len(a_gpus))):
        old = b_gpus[i] if i < len(b_gpus) else {}
        new = a_gpus[i] if i < len(a_gpus) else {}
        for key in _GPU_FIELDS:
            yield from _field(f"gpus[{i}].{key}", old.get(key), new.get(key))


def _distributed(before: dict, after: dict) -> Diffs:
    """The job's launcher and shape, and each node's hardware, node by node in rank order (the
    names of a cluster's nodes differ between allocations; the n-th node is the n-th node)."""
    b, a = before.get("distributed") or {}, after.get("distributed") or {}
    if not b and not a:
        return
    yield from _field("launcher", b.get("launcher"), a.get("launcher"))
    b_shape, a_shape = b.get("shape") or {}, a.get("shape") or {}
    for key in ("world_size", "nodes", "tasks_per_node"):
        yield from _field(f"shape.{key}", b_shape.get(key), a_shape.get(key))
    b_nodes, a_nodes = b.get("nodes") or [], a.get("nodes") or []
    for i in range(max(len(b_nodes), len(a_nodes))):
        if i >= len(b_nodes) or i >= len(a_nodes):  # a node on one side only: one line, not its every flag
            yield f"nodes[{i}]", b_nodes[i]["name"] if i < len(b_nodes) else None, \
                a_nodes[i]["name"] if i < len(a_nodes) else None
            continue
        old, new = b_nodes[i].get("hardware") or {}, a_nodes[i].get("hardware") or {}
        for key, x, y in _hardware({"hardware": old}, {"hardware": new}):
            yield f"nodes[{i}].{key}", x, y


def _threads(before: dict, after: dict) -> Diffs:
    yield from _field("threads", _get(before, "seeds", "threads"), _get(after, "seeds", "threads"))
    yield from _members(_get(before, "seeds", "variables") or {}, _get(after, "seeds", "variables") or {})


def _seeded(pred: dict) -> dict[str, Any]:
    return {str(s.get("lib")): s.get("value") for s in _get(pred, "seeds", "seeded") or [] if isinstance(s, Mapping)}


def _seeds(before: dict, after: dict) -> Diffs:
    yield from _field("seed", _get(before, "seeds", "seed"), _get(after, "seeds", "seed"))
    yield from _bracketed("seeded", _members(_seeded(before), _seeded(after)))


def _environment(before: dict, after: dict) -> Diffs:
    """Masked values are all "***", so two masked values compare equal and no secret is shown.
    Seed, thread and determinism variables are left to the `seeds` and `threads` facets."""
    skip = VOLATILE_VARIABLES | _REPORTED_ELSEWHERE
    skip |= set(_get(before, "seeds", "variables") or {}) | set(_get(after, "seeds", "variables") or {})

    def kept(pred: dict) -> dict[str, Any]:
        return {k: v for k, v in (pred.get("environment") or {}).items() if k not in skip}

    return _members(kept(before), kept(after))


_FACET_DIFFS: dict[str, Callable[[dict, dict], Diffs]] = {
    "code": _code,
    "inputs": _inputs,
    "outputs": _outputs,
    "packages": _packages,
    "python": _python,
    "os": _os,
    "image": _image,
    "sandbox": _sandbox,
    "hardware": _hardware,
    "distributed": _distributed,
    "threads": _threads,
    "seeds": _seeds,
    "environment": _environment,
}


def drift(before: dict, after: dict, *, facets: Iterable[str] | None = None) -> list[Change]:
    """Every difference between two manifest predicates, facet by facet in `FACETS` order and in
    a stable order inside each facet; `[]` when nothing that matters differs.

    `facets` limits the comparison (a replay passes `ENVIRONMENT_FACETS`); an unknown name is an
    error rather than a silently empty report.
    """
    wanted = FACETS if facets is None else tuple(facets)
    unknown = sorted(set(wanted) - set(FACETS))
    if unknown:
        raise UsageError(f"unknown drift facet {unknown[0]!r} (known: {', '.join(FACETS)})")
    return [
        Change(facet, key, old, new)
        for facet in FACETS
        if facet in wanted
        for key, old, new in _FACET_DIFFS[facet](before, after)
    ]


@dataclass(frozen=True)
class DiffReport:
    """Two manifests and what differs between them: what `repro diff` renders."""

    before: str
    after: str
    before_run_id: str
    after_run_id: str
    changes: tuple[Change, ...]

    @property
    def identical(self) -> bool:
        return not self.changes


def diff_manifests(before: Manifest, after: Manifest, *, before_name: str, after_name: str) -> DiffReport:
    """Compare two loaded manifests over every facet; names label them in the rendered report."""
    return DiffReport(
        before=before_name,
        after=after_name,
        before_run_id=before.predicate["run_id"],
        after_run_id=after.predicate["run_id"],
        changes=tuple(drift(before.predicate, after.predicate)),
    )
