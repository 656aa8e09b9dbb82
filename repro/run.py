"""Orchestration of `repro run`: capture before, execute, capture after, seal.

Everything that can fail because of the user's input fails before the command starts: config,
missing inputs, the signing key, the runner (an image that cannot be resolved).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Mapping

from repro import __version__, observe
from repro import run_dir as run_dirs
from repro.evidence import subjects, validation
from repro.capture import code as code_facet
from repro.capture import distributed
from repro.capture.run_records import MANIFEST_NAME, RUNS_DIR, outputs_written_by_runs, write_index
from repro.capture import env as env_facet
from repro.capture import seeds as seeds_facet
from repro.capture.deps import is_python, python_flags
from repro.config import RunSpec
from repro.data.digest import DEFAULT_IGNORE, Artifact, digest_file, fingerprint, tree_root_digest
from repro.errors import Interrupted, ReproError, UsageError, WriteError
from repro.inject import site_dir
from repro.evidence.jsonio import load_file, write_atomic
from repro.evidence.manifest import SCHEMA_VERSION, Manifest, build_statement, check_paths, recorded_sidecars
from repro import globs
from repro.paths import check_output_target, expand, project_relative, refuse_outside
from repro.runners.base import ExecResult, ExecSpec, Runner
from repro.secrets import mask_argv
from repro.data.statcache import StatCache
from repro.data.store import Store

Say = Callable[[str], None]


@dataclass(frozen=True)
class RunOutcome:
    manifest: Manifest
    manifest_path: Path
    result: ExecResult
    warnings: tuple[str, ...]
    refused_writes: tuple[str, ...] = ()
    """Paths outside the workspace the command tried to write and could not (a replay's guard)."""


def make_runner(spec: RunSpec) -> Runner:
    if spec.image or spec.dockerfile:
        from repro.runners.docker import DockerRunner

        return DockerRunner.from_spec(spec)
    if spec.sandbox is not None:
        from repro.runners.sandbox import SandboxRunner

        return SandboxRunner(spec.sandbox.bwrap, spec.sandbox.confinement)
    from repro.runners.host import HostRunner

    return HostRunner()


def state_dir(root: Path) -> Path:
    """`.repro/` under the project root, with a `.gitignore` so git never shows repro's own files."""
    path = root / ".repro"
    try:
        path.mkdir(parents=True, exist_ok=True)
        ignore = path / ".gitignore"
        if not ignore.exists():
            write_atomic(ignore, b"*\n")
    except OSError as e:
        import errno

        where = root if e.errno == errno.EROFS or not path.is_dir() else path
        reason = "is read-only" if e.errno == errno.EROFS else f"cannot be written ({e.strerror or e})"
        raise WriteError(f"{where} {reason}: repro keeps the run's records in {path} while the command runs") from e
    return path


def sidecar_names(manifest_path: Path, run_id: str | None = None) -> dict[str, str]:
    """`<stem>.stdout.log`, `<stem>.stderr.log`, `<stem>.code.diff` beside the manifest. Given the
    run id, names that files already hold become `<stem>.<run-id>.stdout.log`, ...: a previous
    manifest at the same path vouches for those files until the new one replaces it, so
    overwriting them first would leave it unverifiable after a crash or a full disk."""
    stem = manifest_path.name[: -len(".json")] if manifest_path.name.endswith(".json") else manifest_path.name
    names = {"stdout": f"{stem}.stdout.log", "stderr": f"{stem}.stderr.log", "diff": f"{stem}.code.diff"}
    if run_id is not None and any(os.path.lexists(manifest_path.parent / n) for n in names.values()):
        names = {k: f"{stem}.{run_id}.{v[len(stem) + 1:]}" for k, v in names.items()}
    return names


def check_manifest_target(path: Path) -> None:
    """Fail before the command runs, not after, when the manifest cannot be written there."""
    check_output_target(path, "manifest", create_parents=True)


def _place(source: Path, target: Path) -> None:
    """Move a log beside the manifest (a copy when that is another file system)."""
    try:
        shutil.move(str(source), str(target))
    except OSError as e:
        raise WriteError(f"cannot write {target}: {e.strerror or e}") from e


def _superseded(manifest_path: Path, names: dict[str, str]) -> list[Path]:
    """Files beside the manifest about to be replaced that only it refers to."""
    if not manifest_path.is_file():
        return []
    try:
        previous = load_file(manifest_path)
        check_paths(previous)  # only plain names beside the manifest are ever removed
    except ReproError:
        return []
    return [manifest_path.parent / name for name in recorded_sidecars(previous) if name not in names.values()]


def _remove(paths: list[Path]) -> None:
    for path in paths:
        try:
            path.unlink()
        except OSError:
            pass


def read_events(run_dir: Path) -> tuple[list[dict], int]:
    """Merge the JSON lines every Python process of the run wrote, keeping the well-formed records
    (repro/records.py); returns them and how many lines were dropped (a torn last line is one)."""
    from repro import records

    events: list = []
    dropped = 0
    for path in sorted(run_dir.glob("proc-*.jsonl")):
        try:
            data = path.read_bytes()
        except OSError:
            dropped += 1
            continue
        for line in data.splitlines():
            try:  # not the manifest's strict reader: a seed may be a big integer, a path not UTF-8
                events.append(json.loads(line))
            except ValueError:
                dropped += 1
    kept, malformed = records.checked(events)
    return kept, dropped + malformed


def _sidecar(path: Path, algorithm: str) -> dict:
    return {"path": path.name, "size": path.stat().st_size, "digest": digest_file(path, algorithm)}


def _fingerprint(paths: list[Path], spec: RunSpec, cache: StatCache | None = None, root: Path | None = None
                 ) -> list[Artifact]:
    if not paths:
        return []
    return fingerprint(paths, root or spec.root, spec.algorithm, ignore=(*DEFAULT_IGNORE, *spec.ignore), cache=cache,
                       progress=False if spec.quiet else None)


def _encodable(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _printable(name: str) -> str:
    """A file name that is not UTF-8, shown with its odd bytes escaped."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def refuse_unnamable(artifacts: list[Artifact]) -> None:
    """A file name that is not UTF-8 cannot go into a canonical manifest: an input with one is
    refused before anything runs, rather than failing at the end when the manifest is sealed."""
    for art in artifacts:
        for f in art.file_entries():
            if not _encodable(f.path):
                raise UsageError(f"input file name {_printable(f.path)!r} is not UTF-8: rename it, or leave it out with "
                                 "`ignore:` in repro.yaml")


def drop_unnamable(artifacts: list[Artifact], algorithm: str, warnings: list[str]) -> list[Artifact]:
    """Outputs whose names are not UTF-8 are left out of the manifest, with a warning each."""
    out = []
    for art in artifacts:
        bad = [f for f in art.file_entries() if not _encodable(f.path)]
        for f in bad:
            warnings.append(f"output file {_printable(f.path)!r} is not recorded: its name is not UTF-8")
        if not bad:
            out.append(art)
        elif art.kind == "directory":
            files = tuple(f for f in art.files if _encodable(f.path))
            out.append(replace(art, files=files, size=sum(f.size for f in files),
                               digest=tree_root_digest(files, algorithm)))
    return out


def _changed_inputs(before: list[Artifact], after: list[Artifact]) -> list[str]:
    now = {a.path: a.digest for a in after}
    return [a.path for a in before if now.get(a.path) != a.digest]


def _store_outputs(outputs: list[Artifact], spec: RunSpec, warnings: list[str]) -> dict[str, bool]:
    """Keep the output bytes so a later replay can compare within tolerance; returns path -> stored."""
    store = Store.for_project(spec.root, spec.store)
    stored: dict[str, bool] = {}
    for art in outputs:
        ok = True
        for f in art.file_entries():
            ok = store.put(spec.root / f.path, f.digest, f.size) and ok
        stored[art.path] = ok
        if not ok:
            warnings.append(f"output {art.path} is not in the store (larger than its limit, changed while copied, "
                            "or the store could not be written): "
                            "replay can compare it only exactly unless the file is left as it is")
    return stored


def _keep_state(state: list[Artifact], spec: RunSpec, warnings: list[str]) -> dict[str, bool]:
    """Keep the bytes of each state file as they are before the command rewrites them: a replay
    starts from them (docs/replay.md, "State files"); returns path -> kept."""
    store = Store.for_project(spec.root, spec.store)
    kept: dict[str, bool] = {}
    for art in state:
        ok = True
        for f in art.file_entries():
            ok = store.put(spec.root / f.path, f.digest, f.size) and ok
        kept[art.path] = ok
        if not ok:
            warnings.append(f"state file {art.path} could not be kept in the store (larger than its limit, or the "
                            "store could not be written): a replay cannot restore its content from before the run")
    return kept


@dataclass(frozen=True)
class _Observed:
    section: dict
    inputs: list[Artifact]
    outputs: list[Artifact]
    paths: frozenset[str]
    warnings: tuple[str, ...]
    state: tuple[dict, ...] = ()
    """Input entries of the read-then-written files recorded as state files (content before)."""


def _observed_state(kept: Mapping[str, str], run_dir: Path, spec: RunSpec, say: Say,
                    warnings: list[str]) -> list[dict]:
    """Record each read-then-written file whose content before the run the hook kept as a state
    file: that content digested and kept in the store, so a replay can start from it."""
    store = Store.for_project(spec.root, spec.store) if spec.store.get("enabled", True) else None
    entries = []
    for rel, name in sorted(kept.items()):
        copy = run_dir / "state" / name
        try:
            size = copy.stat().st_size
            digest = digest_file(copy, spec.algorithm)
        except OSError:
            continue
        stored = store is not None and store.put(copy, digest, size)
        entries.append({"path": rel, "kind": "file", "size": size, "digest": digest, "observed": True, "state": True,
                        "stored": stored})
        if stored:
            say(f"{rel} was read, then written: recorded as a state file (its content before the run is kept)")
        else:
            warnings.append(f"{rel} was read, then written by the run: its content before the run could not be kept "
                            "in the store, so a replay cannot start from it")
    return entries


def _observe(spec: RunSpec, events: list[dict], probed: dict, *, declared: list[str], before: observe.Snapshot | None,
             after: observe.Snapshot | None, disabled: list[str], say: Say, run_dir: Path,
             replaying: bool = False) -> _Observed:
    """What the program was seen to read, write and seed (docs/observe.md); observed files are
    fingerprinted like declared ones and marked `observed`."""
    packages = probed.pop("packages", None)
    if not spec.observe:
        return _Observed(observe.disabled_section(), [], [], frozenset(), ())
    found = observe.analyse(
        events, spec.root, declared=declared, before=before, after=after, packages=packages,
        distributions=probed.get("distributions", ()), disabled_flags=disabled, ignore=spec.ignore, seed=spec.seed,
        temp_dirs=(tempfile.gettempdir(),),
    )
    if not replaying:
        say(f"observed {len(found.inputs)} input(s) and {len(found.outputs)} output(s) "
            f"in {found.section['processes']} Python process(es)")
    unnamable: list[str] = []
    inputs = drop_unnamable(_fingerprint([spec.root / p for p in found.inputs if _encodable(p)], spec),
                            spec.algorithm, unnamable)
    outputs = drop_unnamable(_fingerprint([spec.root / p for p in found.outputs if _encodable(p)], spec),
                             spec.algorithm, unnamable)
    warnings = [*found.warnings, *unnamable]
    outside = outside_files(found.outside, spec.algorithm)
    if outside:
        found.section["outside"] = outside
        if not replaying:  # a replay reports its own outside writes (repro.replay.orchestrate)
            warnings.append(observe.outside_warning([o["path"] for o in outside], spec.root))
    refused = found.section.get("refused_writes") or []
    if refused and not replaying:
        shown = ", ".join(refused[:5]) + (f" and {len(refused) - 5} more" if len(refused) > 5 else "")
        warnings.append(f"the sandbox refused {len(refused)} write(s) outside the project: {shown}")
    state = [e for e in _observed_state(found.kept_before, run_dir, spec, say, warnings) if _encodable(e["path"])]
    return _Observed(_encodable_only(found.section), inputs, outputs, frozenset((*found.inputs, *found.outputs)),
                     tuple(warnings), tuple(state))


def outside_files(paths: tuple[str, ...], algorithm: str) -> list[dict]:
    """Path, size and digest of each file written outside the project that is still there (a
    file the program removed again was scratch)."""
    out = []
    for path in paths:
        try:
            st = os.stat(path)
            if not stat.S_ISREG(st.st_mode):
                continue
            out.append({"path": path, "size": st.st_size, "digest": digest_file(Path(path), algorithm)})
        except OSError:
            continue
    return out


def _encodable_only(value: object) -> object:
    """The observed section without names that are not UTF-8 (they cannot be signed)."""
    if isinstance(value, dict):
        return {k: _encodable_only(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encodable_only(v) for v in value if not isinstance(v, str) or _encodable(v)]
    if isinstance(value, str) and not _encodable(value):
        return _printable(value)
    return value


class _WorldFacts:
    """The interpreter probe and the hardware facts, read in a thread while the command runs:
    they cost tens of milliseconds each and do not depend on what the command does."""

    def __init__(self, runner: Runner, spec: RunSpec) -> None:
        self._hardware: dict = {}
        self._probed: dict = {}
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._gather, args=(runner, spec), daemon=True)
        self._thread.start()

    def _gather(self, runner: Runner, spec: RunSpec) -> None:
        try:
            self._hardware = runner.hardware()
            self._probed = runner.probe(spec.argv, spec.root)
        except BaseException as e:  # re-raised in the main thread by result()
            self._failure = e

    def result(self) -> tuple[dict, dict]:
        self._thread.join()
        if self._failure is not None:
            raise self._failure
        return self._hardware, self._probed


def _place_sidecars(spec: RunSpec, run_dir: Path, names: dict[str, str], code: code_facet.CodeCapture,
                    placed: list[Path]) -> dict:
    """Move the logs beside the manifest and write the code diff there; every file put in place is
    appended to `placed` so a failure before sealing can take it back."""
    manifest_dir = spec.manifest_path.parent
    try:
        manifest_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise WriteError(f"cannot create the manifest's directory {manifest_dir}: {e.strerror or e}") from e
    logs = {}
    for stream in ("stdout", "stderr"):
        target = manifest_dir / names[stream]
        placed.append(target)
        _place(run_dir / f"{stream}.log", target)
        logs[stream] = _sidecar(target, spec.algorithm)
    if code.diff:
        diff_path = manifest_dir / names["diff"]
        placed.append(diff_path)
        write_atomic(diff_path, code.diff)
        code.facet["diff"] = _sidecar(diff_path, spec.algorithm)
    return logs


def _command_facet(spec: RunSpec, result: ExecResult) -> dict:
    return {
        "argv": mask_argv(spec.argv),
        "cwd": project_relative(spec.cwd, spec.root),
        "project_root": str(spec.root),
        "started_at": result.started_at,
        "ended_at": result.ended_at,
        "duration_s": result.duration_s,
        "exit_code": result.exit_code,
        "signal": result.signal,
    }


def _seal(manifest_path: Path, predicate: dict, outputs: list[Artifact], key, names: dict[str, str],
          root: Path) -> tuple[Manifest, bytes]:
    """Build the statement (the logs stand in as subjects when there is no output: in-toto wants
    one), sign it, write it atomically, and only then drop the files of the manifest it replaced.
    Returns the manifest and the bytes written."""
    logs = predicate["logs"]
    files: list = subjects.output_files(outputs, root)
    if not files:
        files = [(subjects.Named(logs[s]["path"], manifest_path.parent / logs[s]["path"], logs[s]["size"], follow=True), None)
                 for s in ("stdout", "stderr")]
    manifest = Manifest(build_statement(predicate, subjects.sha256_subjects(files, predicate["digest_algorithm"])))
    if key is not None:
        manifest = manifest.signed_with(key)
    superseded = _superseded(manifest_path, names)
    raw = manifest.save(manifest_path)
    _remove(superseded)
    return manifest, raw


def keep_run_record(root: Path, run_id: str, manifest_path: Path, raw: bytes, outputs: list) -> list[str]:
    """A manifest written elsewhere (`--manifest run.json`) is also kept under `.repro/runs/`, so
    later runs and replays know which files this run wrote: they are its outputs, never code,
    and never part of the workspace a replay of another run starts from. Returns a warning when
    the record cannot be written; the run itself stands. `raw` is the manifest's bytes as written
    (and read back) at `manifest_path`: the copy needs no second check. The record's outputs are
    indexed beside it (repro.capture.run_records)."""
    record = root / RUNS_DIR / run_id / MANIFEST_NAME
    try:
        if manifest_path.resolve() != record.resolve():
            record.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(record, raw)
        write_index(record, outputs)
    except (OSError, WriteError) as e:
        return [f"could not keep the run record {RUNS_DIR / run_id / MANIFEST_NAME} ({e}): later runs "
                "may take this run's outputs for code"]
    return []


def execute_run(
    spec: RunSpec,
    runner: Runner,
    *,
    say: Say,
    load_key: Callable[[], object] | None,
    extra_env: dict[str, str] | None = None,
    replay_of: dict | None = None,
    echo: bool = True,
    override_env: dict[str, str] | None = None,
) -> RunOutcome:
    """`extra_env` are recorded determinism variables a replay restores; `replay_of` points a
    replay's manifest at the original (and makes a SIGINT/SIGTERM end it as `Interrupted`, with
    nothing sealed); `echo` False keeps the command's output off the terminal (`replay -q`);
    `override_env` is set over everything, the seed's PYTHONHASHSEED included (a replay that
    changes one condition on purpose: repro doctor)."""
    warnings: list[str] = []
    threading.Thread(target=validation.prewarm, args=("manifest.schema.json",), daemon=True).start()
    in_root = spec.input_root or spec.root
    in_cwd = spec.cwd if spec.input_root is None else in_root
    refuse_outside(spec.inputs, in_cwd, in_root, what="input")
    refuse_outside(spec.outputs, spec.cwd, spec.root, what="output")
    refuse_outside(spec.state, spec.cwd, spec.root, what="state file")
    state_paths = expand(spec.state, spec.cwd, spec.root, what="state file", must_exist=False)
    state_rels = {project_relative(p, spec.root) for p in state_paths}
    input_paths = [p for p in expand(spec.inputs, in_cwd, in_root, what="input", must_exist=True)
                   if project_relative(p, in_root) not in state_rels]  # a state file is recorded as such
    check_manifest_target(spec.manifest_path)
    key = load_key() if (spec.sign and load_key is not None) else None
    runner.prepare()

    manifest_dir = spec.manifest_path.parent
    own_paths = [project_relative(p, in_root) for p in input_paths]
    own_paths += [project_relative(spec.cwd / s, spec.root) for s in (*spec.outputs, *spec.state)
                  if not globs.is_glob(s)]
    try:
        own_paths.append(project_relative(manifest_dir, spec.root))
    except ReproError:
        pass
    code = code_facet.capture(spec.root, spec.algorithm, exclude=[p for p in own_paths if p != "."],
                              run_outputs=outputs_written_by_runs(spec.root))
    if edited := code_facet.edited_warning(code.facet):
        warnings.append(edited)
    warnings += globs.ignore_notes(spec.ignore)
    say(f"fingerprinting {len(input_paths)} input path(s)")
    cache = StatCache.for_root(spec.root)
    in_cache = cache if spec.input_root is None else StatCache.for_root(in_root)
    inputs_before = _fingerprint(input_paths, spec, in_cache, in_root)
    refuse_unnamable(inputs_before)
    state_before = _fingerprint(state_paths, spec, cache)
    refuse_unnamable(state_before)
    state_kept = _keep_state(state_before, spec, warnings) if spec.store.get("enabled", True) else {}

    state_dir(spec.root)
    run_dir = run_dirs.create(spec.root, spec.run_id)
    repro_env = {**(extra_env or {}), **seeds_facet.child_variables(spec.seed, spec.threads), **(override_env or {})}
    repro_env["REPRO_RUN_DIR"] = str(run_dir)
    repro_env["REPRO_RUN_ID"] = spec.run_id
    repro_env.update(observe.child_variables(spec.observe, spec.root))
    if spec.sandbox is not None and "REPRO_CONFINE_WRITES" not in repro_env:
        # writes outside the project fail in the sandbox: noted, so none is taken for a file the run wrote
        repro_env.update(REPRO_CONFINE_WRITES=tempfile.gettempdir(), REPRO_CONFINE_BY="sandbox")

    disabled = python_flags(spec.argv)
    if disabled:
        warnings.append(f"python runs with {' '.join(disabled)}: repro's hook cannot run inside it "
                        "(no seeding; only the snapshot diff observes it)")

    facts = _WorldFacts(runner, spec)
    untouched = [p for p in own_paths if p != "."]  # declared: fingerprinted already, left out of the snapshot
    before = observe.take_snapshot(spec.root, skip=untouched, ignore=spec.ignore) if spec.observe else None

    exec_spec = ExecSpec(
        argv=spec.argv, cwd=spec.cwd, project_root=spec.root, repro_env=repro_env, inject_dir=site_dir(),
        stdout_log=run_dir / "stdout.log", stderr_log=run_dir / "stderr.log", echo=echo, inputs=tuple(input_paths),
    )
    say(f"running {' '.join(mask_argv(spec.argv))} ({runner.name}, seed {spec.seed})")
    placed: list[Path] = []  # files put beside the manifest, removed again unless it is sealed
    result: ExecResult | None = None
    try:
        result = runner.execute(exec_spec)
        if replay_of is not None and result.signal in ("SIGINT", "SIGTERM"):
            raise Interrupted(result.signal)
        after = observe.take_snapshot(spec.root, skip=untouched, ignore=spec.ignore) if before is not None else None
        hardware, probed = facts.result()

        inputs_after = _fingerprint(input_paths, spec, in_cache, in_root)
        for path in _changed_inputs(inputs_before, inputs_after):
            warnings.append(f"input {path} changed during the run")
        output_paths = expand(spec.outputs, spec.cwd, spec.root, what="output", must_exist=False)
        found = {project_relative(p, spec.root) for p in output_paths}
        for s in spec.outputs if replay_of is None else ():  # a replay reports a missing output itself
            if not globs.is_glob(s) and project_relative(spec.cwd / s, spec.root) not in found:
                warnings.append(f"declared output {s} was not written")
        state_after_paths = expand(spec.state, spec.cwd, spec.root, what="state file", must_exist=False)
        state_found = {project_relative(p, spec.root) for p in state_after_paths}
        output_paths = [p for p in output_paths if project_relative(p, spec.root) not in state_found | state_rels]
        outputs = drop_unnamable(_fingerprint(output_paths, spec, cache), spec.algorithm, warnings)
        state_after = drop_unnamable(_fingerprint(state_after_paths, spec, cache), spec.algorithm, warnings)
        state_out = {a.path for a in state_after}
        outputs += state_after
        events, dropped = read_events(run_dir)
        if dropped:
            from repro.records import dropped_warning

            warnings.append(dropped_warning(dropped))
        observed = _observe(spec, events, probed, declared=[*own_paths, *found, *state_found], before=before,
                            after=after, disabled=disabled, say=say, run_dir=run_dir,
                            replaying=replay_of is not None)
        warnings.extend(observed.warnings)
        job = distributed.section(events, spec.argv, spec.root, ignore=spec.ignore)
        warnings.extend(distributed.warnings(job))
        outputs += observed.outputs
        stored = _store_outputs(outputs, spec, warnings) if spec.store.get("enabled", True) else {}
        observed_state = {e["path"] for e in observed.state}

        starts = [e for e in events if e.get("event") == "start"]
        if spec.argv and is_python(spec.argv[0]) and not starts and not disabled:
            warnings.append("the injected sitecustomize did not run in the command's Python: seeds were not set")
        seeds = seeds_facet.capture(spec.seed, spec.seed_source, spec.threads, runner.command_env(repro_env), events)

        names = sidecar_names(spec.manifest_path, spec.run_id)
        logs = _place_sidecars(spec, run_dir, names, code, placed)
        predicate = {
            "schema_version": SCHEMA_VERSION,
            "run_id": spec.run_id,
            "repro_version": __version__,
            "unsigned": key is None,
            "digest_algorithm": spec.algorithm,
            "runner": runner.describe(),
            "command": _command_facet(spec, result),
            "code": code.facet,
            "inputs": [a.to_json() for a in inputs_before]
            + [{**a.to_json(), "state": True, **({"stored": state_kept[a.path]} if a.path in state_kept else {})}
               for a in state_before]
            + [{**a.to_json(), "observed": True} for a in observed.inputs] + list(observed.state),
            "outputs": [{**a.to_json(), **({"stored": stored[a.path]} if a.path in stored else {}),
                         **({"observed": True} if a.path in observed.paths else {}),
                         **({"state": True} if a.path in state_out | observed_state else {})} for a in outputs],
            "deps": probed or {"python": None, "distributions": [], "os": None, "note": "probe did not finish"},
            "hardware": hardware,
            "seeds": seeds,
            "environment": env_facet.capture(runner.command_env(repro_env)),
            "logs": logs,
            "observed": observed.section,
            "warnings": warnings,
        }
        if job is not None:
            predicate["distributed"] = job
        if replay_of is not None:
            predicate["replay_of"] = replay_of
        manifest, raw = _seal(spec.manifest_path, predicate, outputs, key, names, spec.root)
        if replay_of is None:
            warnings += keep_run_record(spec.root, spec.run_id, spec.manifest_path, raw,
                                        predicate["outputs"])
        placed.clear()  # sealed: the files beside the manifest are its own now
    except ReproError as e:
        if result is not None and replay_of is None:
            e.command_exit_code = result.exit_code
        raise
    finally:
        _remove(placed)  # not sealed: take back what was put beside the manifest
        cache.close()
        if in_cache is not cache:
            in_cache.close()
        shutil.rmtree(run_dir, ignore_errors=True)
    for w in warnings:
        say(f"warning: {w}")
    return RunOutcome(manifest, spec.manifest_path, result, tuple(warnings), tuple(observe.refused_writes(events)))
