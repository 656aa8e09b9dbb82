"""What the program really did, from the records the injected sitecustomize wrote in each of its
Python processes and from a stat snapshot of the project tree taken before and after the run.

The rules (docs/observe.md): an **input** is a regular file under the project root that a process
read before writing it, that the run did not create, outside the interpreter's own trees and
outside `.repro/`, `.git/` and `__pycache__`; Python source is code, recorded by the code facet.
An **output** is a file the run created or modified: opened for writing by a hooked process, or
found changed by the snapshot diff (native code and non-Python programs bypass the hook). A file
that existed, was read, then written is an output flagged read-then-written: its content before
the run is not recorded. Paths under a declared input or output are left to the declared one.

Everything here is a pure function of data, except `take_snapshot`, which reads the tree.
"""

from __future__ import annotations

import math
import os
import re
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping

from repro.data.digest import IgnoreRules

EXCLUDED_NAMES = frozenset((".git", ".repro", "__pycache__"))
CODE_SUFFIXES = (".py", ".pyc", ".pyo")
ENVIRONMENT_MARKERS = frozenset(("pyvenv.cfg", "conda-meta"))
MAX_LISTED = 1000
MAX_SUBPROCESSES = 1000
MAX_SEED_CALLS = 1000
MAX_SEED_VALUES = 10
MAX_DELETED = 100
MAX_OUTSIDE = 1000
SYSTEM_TREES = ("/dev/", "/proc/", "/sys/")
"""Devices and kernel interfaces (/dev/null, /dev/shm, /proc/self/...): written, but never files."""
SAFE_INT = 2**53 - 1  # RFC 8785 numbers are IEEE doubles: larger integers are kept as text

# What a manifest path may hold (schemas/manifest.schema.json "relpath").
_RECORDABLE = re.compile(r"^(?![A-Za-z]:)(?!.*(^|/)\.\.(/|$))[^\x00\\]{1,4096}$")


@dataclass(frozen=True)
class Snapshot:
    """rel path -> (size, mtime_ns, inode, ctime_ns, is a regular file, following a symlink)."""

    entries: dict[str, tuple[int, int, int, int, bool]]
    seconds: float = 0.0


@dataclass(frozen=True)
class SnapshotDiff:
    created: frozenset[str]
    modified: frozenset[str]
    deleted: frozenset[str]


@dataclass
class ProcessLog:
    """Everything one Python process of the run reported, its file chunks merged in order."""

    pid: int
    ppid: int | None = None
    argv: list[str] = field(default_factory=list)
    root: str | None = None
    observing: bool = False
    forked: bool = False
    trees: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # absolute path -> r | w | rw | wr
    listed: set[str] = field(default_factory=set)
    spawned: list[list[str]] = field(default_factory=list)
    modules: set[str] = field(default_factory=set)
    sys_path: set[str] = field(default_factory=set)
    seed_calls: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class Observation:
    """What `repro run` adds to the manifest: paths to fingerprint as observed artifacts, the
    predicate's `observed` section, and warnings for the user."""

    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    section: dict
    warnings: tuple[str, ...]
    outside: tuple[str, ...] = ()
    """Absolute paths written outside the project (`outside_writes`), for the caller to digest."""
    kept_before: Mapping[str, str] = field(default_factory=dict)
    """Read-then-written files whose content before the first write the hook kept: project path
    -> the copy's name in the run directory's `state/`. They are recorded as state files."""


def child_variables(enabled: bool, root: Path) -> dict[str, str]:
    """REPRO_PROJECT_ROOT is the root as the child sees it: a container runner rewrites it,
    like REPRO_RUN_DIR, to where it mounts the project."""
    return {"REPRO_OBSERVE": "1" if enabled else "0", "REPRO_PROJECT_ROOT": str(root)}


def _ignored_path(rel: str, rules: IgnoreRules) -> bool:
    """Whether a project path or any directory above it is ignored (name or path, as a walk does)."""
    parts = rel.split("/")
    return any(rules(name, "/".join(parts[: i + 1])) for i, name in enumerate(parts))


def take_snapshot(root: Path, *, skip: Iterable[str] = (), ignore: Iterable[str] = ()) -> Snapshot:
    """stat every file under `root` without following symlinks. Left out: `.git`, `.repro`,
    `__pycache__`, names matching `ignore`, the project-relative `skip` paths (declared artifacts,
    already fingerprinted) and Python environments (a directory holding `pyvenv.cfg` or
    `conda-meta`): the interpreter's files are not the run's."""
    t0 = time.perf_counter()
    skipped = frozenset(s.rstrip("/") for s in skip)
    patterns = tuple(ignore)
    rules = IgnoreRules(patterns)
    entries: dict[str, tuple[int, int, int, int, bool]] = {}
    stack = [("", str(root))]
    while stack:
        prefix, directory = stack.pop()
        try:
            with os.scandir(directory) as it:
                listing = list(it)
        except OSError:
            continue
        if prefix and any(e.name in ENVIRONMENT_MARKERS for e in listing):
            continue
        for entry in listing:
            name = entry.name
            rel = prefix + name
            if name in EXCLUDED_NAMES or rel in skipped or (patterns and rules(name, rel)):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append((rel + "/", entry.path))
                    continue
                st = entry.stat(follow_symlinks=False)
                regular = stat.S_ISREG(st.st_mode) or (stat.S_ISLNK(st.st_mode) and entry.is_file())
            except OSError:
                continue
            entries[rel] = (st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns, regular)
    return Snapshot(entries, time.perf_counter() - t0)


def diff_snapshots(before: Snapshot, after: Snapshot) -> SnapshotDiff:
    """Created, modified (size, mtime, inode or ctime differ: a rewrite that restores the mtime
    still moves ctime) and deleted files."""
    b, a = before.entries, after.entries
    created = frozenset(p for p in a if p not in b)
    deleted = frozenset(p for p in b if p not in a)
    modified = frozenset(p for p, st in a.items() if p in b and b[p][:4] != st[:4])
    return SnapshotDiff(created, modified, deleted)


def merge_kind(old: str | None, new: str) -> str:
    """Combine two access kinds of one file in time order: what came first stays first."""
    if old is None or old == new:
        return new
    first = old[0]
    if len(old) == 2 or (new[0] == first and len(new) == 1):
        return old
    return first + ("w" if first == "r" else "r")


def merge_processes(events: Iterable[dict]) -> list[ProcessLog]:
    """Group the records by process; a process's file chunks are merged in the order written."""
    logs: dict[int, ProcessLog] = {}
    for ev in events:
        try:
            pid = int(ev.get("pid", 0))
        except (TypeError, ValueError):
            continue
        log = logs.get(pid)
        if log is None:
            log = logs[pid] = ProcessLog(pid)
        kind = ev.get("event")
        if kind == "start":
            log.ppid = ev.get("ppid")
            log.argv = [str(a) for a in ev.get("argv") or []]
            log.root = ev.get("root") or log.root
            log.observing = bool(ev.get("observing"))
            log.forked = bool(ev.get("forked"))
            log.trees = [str(t) for t in ev.get("trees") or []]
        elif kind == "observed":
            files = log.files
            for access in ("r", "w", "rw", "wr"):
                for path in (ev.get("files") or {}).get(access, ()):
                    old = files.get(path)
                    files[path] = access if old is None else merge_kind(old, access)
            log.listed.update(ev.get("listed") or ())
            log.spawned.extend(a for a in ev.get("spawned") or () if isinstance(a, list))
            log.modules.update(ev.get("modules") or ())
            log.sys_path.update(ev.get("sys_path") or ())
            log.seed_calls.extend(c for c in ev.get("seed_calls") or () if isinstance(c, dict))
    return [logs[pid] for pid in sorted(logs)]


def recordable(rel: str) -> bool:
    """A path a manifest can hold: the schema's relpath, valid UTF-8 (no undecodable bytes)."""
    if not _RECORDABLE.match(rel):
        return False
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class _Places:
    """Maps a process's absolute paths to project-relative ones and applies the exclusions."""

    def __init__(self, root: Path, trees: Iterable[str], ignore: tuple[str, ...]) -> None:
        self.root = str(root).rstrip("/") + "/"
        self.trees = tuple(sorted({t.rstrip("/") + "/" for t in trees if t}))
        self.ignore = ignore
        self.rules = IgnoreRules(ignore)

    def relative(self, path: str, child_root: str | None) -> str | None:
        base = (child_root.rstrip("/") + "/") if child_root else self.root
        if not path.startswith(base) or (self.trees and path.startswith(self.trees)):
            return None
        rel = path[len(base):]
        parts = rel.split("/")
        if not rel or EXCLUDED_NAMES.intersection(parts):
            return None
        if self.ignore and _ignored_path(rel, self.rules):
            return None
        return rel


def _under(rel: str, declared: tuple[str, ...]) -> bool:
    return any(rel == d or rel.startswith(d + "/") for d in declared)


@dataclass(frozen=True)
class Classified:
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    read_then_written: tuple[str, ...]
    seen_only_by_snapshot: tuple[str, ...]
    covered_by_declared: int
    unrecordable: tuple[str, ...]


def classify(
    processes: list[ProcessLog],
    root: Path,
    *,
    declared: Iterable[str] = (),
    diff: SnapshotDiff | None = None,
    after: Snapshot | None = None,
    ignore: Iterable[str] = (),
    is_file: Callable[[str], bool] | None = None,
) -> Classified:
    """Apply the input/output rules to what every process read and wrote, plus the snapshot diff.
    `is_file(rel)` answers for paths the snapshot did not cover (default: a stat under `root`)."""
    def regular(rel: str) -> bool:
        if after is not None and rel in after.entries:
            return after.entries[rel][4]
        return is_file(rel) if is_file is not None else (root / rel).is_file()

    places = _Places(root, (t for p in processes for t in p.trees), tuple(ignore))
    declared_paths = tuple(d.rstrip("/") for d in declared if d and d != ".")
    read: set[str] = set()
    hooked_writes: set[str] = set()
    for proc in processes:
        for path, kind in proc.files.items():
            rel = places.relative(path, proc.root)
            if rel is None:
                continue
            if kind in ("r", "rw") and not rel.endswith(CODE_SUFFIXES):
                read.add(rel)
            if kind != "r":
                hooked_writes.add(rel)
    snapshot_writes: set[str] = set()
    if diff is not None:
        changed = diff.created | diff.modified
        snapshot_writes = {p for p in changed if places.relative(places.root + p, None) is not None}
    written = hooked_writes | snapshot_writes
    created = diff.created if diff is not None else frozenset()
    inputs, outputs, flagged, unhooked, unrecordable = [], [], [], [], []
    covered = 0
    for rel in sorted(read | written):
        if declared_paths and _under(rel, declared_paths):
            covered += 1
            continue
        if not regular(rel):
            continue
        if not recordable(rel):
            unrecordable.append(rel)
            continue
        if rel in written:
            outputs.append(rel)
            if rel in read and rel not in created:
                flagged.append(rel)
            if rel not in hooked_writes:
                unhooked.append(rel)
        else:
            inputs.append(rel)
    return Classified(tuple(inputs), tuple(outputs), tuple(flagged), tuple(unhooked), covered, tuple(unrecordable))


def outside_writes(processes: list[ProcessLog], root: Path, temp_dirs: Iterable[str] = ()) -> list[str]:
    """Absolute paths the program opened for writing outside the project root, the temporary
    directory, the interpreter's trees and the system's device trees: files a replay cannot
    verify, named so the user is not silently told "0 outputs". Only processes that saw the
    project at `root` count (a container's paths are not this machine's)."""
    base = str(root).rstrip("/") + "/"
    skipped = tuple(sorted({*(t.rstrip("/") + "/" for t in temp_dirs if t), *SYSTEM_TREES}))
    out: dict[str, None] = {}
    for proc in processes:
        if proc.root is not None and proc.root.rstrip("/") + "/" != base:
            continue
        trees = tuple(t.rstrip("/") + "/" for t in proc.trees if t)
        for path, kind in proc.files.items():
            if kind == "r" or path.startswith(base) or path.startswith(skipped) or (trees and path.startswith(trees)):
                continue
            out.setdefault(path)
    return list(out)[:MAX_OUTSIDE]


def outside_warning(paths: list[str], root: Path) -> str:
    """The warning for files written outside the project, with what the user can do about it."""
    shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
    return (f"the run wrote {len(paths)} file(s) outside the project root {root}: {shown}; they are recorded in "
            "`observed.outside` but a replay cannot verify them: write them under the project root, or run from "
            "a directory that holds them (a repro.yaml there makes it the root)")


def used_distributions(
    modules: Iterable[str], packages: Mapping[str, list[str]], distributions: Iterable[Mapping]
) -> list[dict]:
    """Imported top-level modules -> the installed distributions that provide them. `packages`
    (module -> distribution names) comes from the command's own interpreter (the probe)."""
    versions = {str(d.get("name", "")).lower(): d for d in distributions}
    used: dict[str, dict] = {}
    for module in modules:
        for name in packages.get(module, ()):
            dist = versions.get(name.lower(), {"name": name, "version": None})
            used[str(dist.get("name", name)).lower()] = {"name": dist.get("name", name), "version": dist.get("version")}
    return [used[k] for k in sorted(used)]


def json_value(value: object) -> object:
    """A seed value as the canonical manifest JSON can hold it."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value if -SAFE_INT <= value <= SAFE_INT else str(value)
    if isinstance(value, float):  # a whole float beyond 2**53 is written as an integer the reader refuses
        return value if math.isfinite(value) and abs(value) <= SAFE_INT else str(value)
    if isinstance(value, list):
        return [json_value(v) for v in value]
    return str(value)


def _site(site: object, root: str | None) -> str:
    text = str(site)
    if root and text.startswith(root.rstrip("/") + "/"):
        return text[len(root.rstrip("/")) + 1:]
    return text


def seed_calls(processes: list[ProcessLog], root: Path) -> list[dict]:
    """Every seeding call the program made, one entry per (function, call site, user's call site)
    with the distinct values seen (at most ten), how many calls and in how many processes.
    `user_site` is the innermost line of the program's own code on the stack (None when no frame
    of the project was there: an import-time call inside a library)."""
    merged: dict[tuple[str, str, str | None], dict] = {}
    for proc in processes:
        base = proc.root or str(root)
        for call in proc.seed_calls:
            user = call.get("user_site")
            user = _site(user, base) if isinstance(user, str) else None
            key = (str(call.get("call")), _site(call.get("site"), base), user)
            entry = merged.setdefault(key, {"call": key[0], "site": key[1], "user_site": user, "values": [],
                                            "count": 0, "unseeded": False, "pids": set()})
            for v in call.get("values") or [None]:
                v = json_value(v)
                if len(entry["values"]) < MAX_SEED_VALUES and v not in entry["values"]:
                    entry["values"].append(v)
            entry["count"] += int(call.get("count") or 1)
            entry["unseeded"] = entry["unseeded"] or bool(call.get("unseeded"))
            entry["pids"].add(proc.pid)
    out = []
    for key in list(merged)[:MAX_SEED_CALLS]:
        entry = merged[key]
        out.append({**{k: v for k, v in entry.items() if k != "pids"}, "processes": len(entry["pids"])})
    return out


def _in_project(site: str) -> bool:
    """A call site made relative to the project root (and not a frozen or generated module)."""
    return not site.startswith(("/", "<"))


def unseeded_warnings(calls: list[dict]) -> list[str]:
    """Generators created without a seed by the program's own code, once per call site: a
    library's internal generators (scipy's at import, scikit-learn's check_random_state) are the
    library's business and would bury the one warning that matters."""
    return [
        f"unseeded random generator: {c['call']} at {c['site']}"
        + (f" ({c['count']} calls)" if c["count"] > 1 else "")
        + " draws its seed from the operating system, so results can differ between runs"
        for c in calls if c["unseeded"] and c.get("user_site") == c["site"] and _in_project(c["site"])
    ]


GLOBAL_RESEEDS = frozenset({
    "random.seed", "numpy.random.seed", "torch.manual_seed", "torch.cuda.manual_seed", "torch.cuda.manual_seed_all",
    "tensorflow.random.set_seed",
})
"""Calls that reseed a global generator: after one with a constant, `--seed` no longer reaches it.
(Creating a generator with an explicit seed, `default_rng(42)`, is a seeded construction.)"""


def _follows_seed(value: object, seed: int | None) -> bool:
    return seed is not None and isinstance(value, int) and value in (seed, seed % 2**32)


def constant_seed_warnings(calls: list[dict], seed: int | None) -> list[str]:
    """The program (or a framework it calls) reseeds a generator with a value that is not the
    run's seed, so `--seed` has no effect on it: one warning per call site of the user's code,
    naming the library's own call site when a framework did the seeding."""
    by_site: dict[str, list[dict]] = {}
    for c in calls:
        user = c.get("user_site")
        if c["unseeded"] or c["call"] not in GLOBAL_RESEEDS or not user or not _in_project(user):
            continue
        values = [v for v in c["values"] if v is not None]
        if not values or all(_follows_seed(v, seed) for v in values):
            continue
        by_site.setdefault(user, []).append(c)
    out = []
    for user, group in by_site.items():
        calls = ", ".join(f"{c['call']}({', '.join(str(v) for v in c['values'] if not _follows_seed(v, seed))})"
                          for c in group)
        libraries = sorted({library_site(c["site"]).rpartition(":")[0] for c in group if c["site"] != user})
        through = f" through {', '.join(libraries)}" if libraries else ""
        them = "this generator" if len(group) == 1 else "these generators"
        out.append(f"{user} seeds {calls}{through}: --seed does not reach {them}")
    return out


def library_site(site: str) -> str:
    """A call site inside an installed package, shortened to the package's own path."""
    for marker in ("/site-packages/", "/dist-packages/"):
        if marker in site:
            return site.rsplit(marker, 1)[1]
    return site


def subprocesses(processes: list[ProcessLog]) -> list[dict]:
    """Commands the program started (secrets in arguments masked), each once, in first-seen order."""
    from repro.secrets import mask_argv

    seen: dict[tuple[str, ...], int] = {}
    for proc in processes:
        for argv in proc.spawned:
            key = tuple(mask_argv([str(a) for a in argv]))
            seen[key] = seen.get(key, 0) + 1
    return [{"argv": list(k), "count": n} for k, n in list(seen.items())[:MAX_SUBPROCESSES]]


def _hidden_pythons(spawned: list[dict]) -> list[str]:
    from repro.capture.deps import is_python, python_flags

    out = []
    for s in spawned:
        argv = s["argv"]
        if argv and is_python(argv[0]) and python_flags(argv):
            out.append(f"a subprocess ran {' '.join(argv[:3])} with {' '.join(python_flags(argv))}: "
                       "repro cannot observe or seed inside it")
    return out


def listed_directories(processes: list[ProcessLog], root: Path, ignore: Iterable[str] = ()) -> list[str]:
    """Project directories the program listed, leaving out the import system's listings of
    sys.path entries."""
    out: set[str] = set()
    places = _Places(root, (t for p in processes for t in p.trees), tuple(ignore))
    for proc in processes:
        for path in proc.listed - proc.sys_path:
            if path.rstrip("/") + "/" == (proc.root or str(root)).rstrip("/") + "/":
                out.add(".")
                continue
            rel = places.relative(path, proc.root)
            if rel is not None and recordable(rel):
                out.add(rel)
    return sorted(out)[:MAX_LISTED]


def entries_before(listed: Iterable[str], before: Snapshot, exclude: Iterable[str] = ()) -> dict[str, list[str]]:
    """The names each listed directory held before the run (a trailing `/` marks a directory),
    read off the snapshot taken before the command started. A replay recreates them as empty
    placeholders, so a program that picks the next free name (`lightning_logs/version_N`) picks
    the one the recorded run picked. Directories without files are not in the snapshot and so
    are not recreated."""
    wanted = {d: set() for d in listed}
    skipped = tuple(e.rstrip("/") for e in exclude)
    for rel in before.entries:
        if any(rel == s or rel.startswith(s + "/") for s in skipped):
            continue
        parts = rel.split("/")
        for depth in range(len(parts)):
            parent = "/".join(parts[:depth]) or "."
            names = wanted.get(parent)
            if names is not None and len(names) < MAX_LISTED:
                names.add(parts[depth] + ("/" if depth < len(parts) - 1 else ""))
    return {d: sorted(names) for d, names in sorted(wanted.items()) if names}


def analyse(
    events: list[dict],
    root: Path,
    *,
    declared: Iterable[str] = (),
    before: Snapshot | None = None,
    after: Snapshot | None = None,
    packages: Mapping[str, list[str]] | None = None,
    distributions: Iterable[Mapping] = (),
    disabled_flags: Iterable[str] = (),
    ignore: Iterable[str] = (),
    is_file: Callable[[str], bool] | None = None,
    seed: int | None = None,
    temp_dirs: Iterable[str] = (),
) -> Observation:
    """Everything `repro run` records about what the program did, from its processes' records
    and the two snapshots."""
    processes = merge_processes(events)
    diff = diff_snapshots(before, after) if before is not None and after is not None else None
    found = classify(processes, root, declared=declared, diff=diff, after=after, ignore=ignore, is_file=is_file)
    calls = seed_calls(processes, root)
    spawned = subprocesses(processes)
    modules = sorted({m for p in processes for m in p.modules})
    listed = listed_directories(processes, root, ignore)
    started = [p for p in processes if p.ppid is not None]
    section: dict = {
        "enabled": True,
        "processes": len(started),
        "inputs": list(found.inputs),
        "outputs": list(found.outputs),
        "read_then_written": list(found.read_then_written),
        "covered_by_declared": found.covered_by_declared,
        "listed": listed,
        "listed_entries": entries_before(listed, before) if before is not None else {},
        "snapshot": None if diff is None else {
            "files": len(after.entries) if after is not None else 0,
            "created": len(diff.created),
            "modified": len(diff.modified),
            "deleted": sorted(p for p in diff.deleted if recordable(p))[:MAX_DELETED],
            "seconds": round((before.seconds if before else 0.0) + (after.seconds if after else 0.0), 6),
            "seen_only_by_snapshot": list(found.seen_only_by_snapshot),
        },
        "imports": {
            "modules": len(modules),
            "used_distributions": used_distributions(modules, packages or {}, distributions),
            "mapped": packages is not None,
        },
        "seed_calls": calls,
        "subprocesses": spawned,
        "injection": {
            "python_processes": len(started),
            "observing": sum(1 for p in started if p.observing),
            "disabled_by": sorted(set(disabled_flags)),
            "chained": sorted({str(e.get("path")) for e in events if e.get("event") == "chained"}),
            "errors": [{"where": str(e.get("where")), "message": str(e.get("message"))}
                       for e in events if e.get("event") == "error"],
        },
    }
    from repro import nondeterminism

    section["nondeterminism"] = nondeterminism.section(events, str(root))
    warnings = unseeded_warnings(calls) + constant_seed_warnings(calls, seed)
    refused = refused_writes(events)
    if refused:
        section["refused_writes"] = refused
    kept = kept_before(events, processes, root, found.read_then_written)
    warnings += [f"{p} was read, then written by the run: its content before the run is not recorded, so a replay "
                 f"cannot start from it; record it as a state file with --state {p} (or `state:` in repro.yaml)"
                 for p in found.read_then_written if p not in kept]
    warnings += _hidden_pythons(spawned)
    if found.unrecordable:
        warnings.append(f"{len(found.unrecordable)} observed path(s) cannot be named in a manifest "
                        f"(for example {found.unrecordable[0]!r}) and were left out")
    failed = set(refused)  # refused writes did not happen
    outside = [p for p in outside_writes(processes, root, temp_dirs) if p not in failed]
    return Observation(found.inputs, found.outputs, section, tuple(warnings), tuple(outside), kept)


def kept_before(events: Iterable[dict], processes: list[ProcessLog], root: Path,
                read_then_written: Iterable[str]) -> dict[str, str]:
    """project path -> the hook's copy of its content before the run, for each read-then-written
    file the hook kept (the first copy, when several processes kept one)."""
    wanted = set(read_then_written)
    roots = {p.pid: p.root for p in processes}
    places = _Places(root, (), ())
    out: dict[str, str] = {}
    for ev in events:
        if ev.get("event") != "state_before" or not isinstance(ev.get("path"), str):
            continue
        copy = ev.get("copy")
        rel = places.relative(ev["path"], roots.get(ev.get("pid")))
        if rel in wanted and rel not in out and isinstance(copy, str) and "/" not in copy and copy[:1] != ".":
            out[rel] = copy
    return out


def refused_writes(events: Iterable[dict]) -> list[str]:
    """Paths outside the workspace a replayed program tried to write and could not: refused by
    repro's hook (PermissionError) or by a sandbox (the OSError it raised, e.g. EROFS)."""
    out: dict[str, None] = {}
    for ev in events:
        if ev.get("event") == "refused" and isinstance(ev.get("path"), str):
            out.setdefault(ev["path"])
    return list(out)[:MAX_OUTSIDE]


def disabled_section() -> dict:
    """The `observed` section of a run with --no-observe."""
    return {"enabled": False}
