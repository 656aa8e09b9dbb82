"""Orchestration of `repro replay`: trust, check, rebuild, rerun, compare, report.

The order matters: nothing runs before the signature, the inputs and the code have been
checked, and the rerun happens in a scratch workspace so neither the user's files nor the
original outputs can be touched. Every path taken from the manifest is confined first.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from repro.replay import sandboxing, workspace
from repro.replay import shape as job_shape
from repro.capture import code as code_facet
from repro.capture.run_records import outputs_written_by_runs, signed_by
from repro.capture.seeds import THREAD_VARIABLES
from repro.compare import RuleSet, Verdict, compare_file, load_rules
from repro.config import RunSpec, find_project_root, load_config, new_run_id
from repro.data.digest import digest_bytes, digest_file
from repro.errors import IntegrityError, ReproError, UsageError
from repro.evidence.manifest import Manifest, check_relpath
from repro.paths import confine
from repro import nondeterminism
from repro.replay import codediff
from repro.replay.logs import compare_logs
from repro.replay.conditions import NONE as NO_CHANGE, Conditions
from repro.replay.result import Change, ReplayReport, SandboxReport, utc_now_seconds
from repro.replay.unexpected import mirror_of, unexpected_verdicts
from repro.secrets import MASK
from repro.data.store import Store
from repro.evidence.verify import check_artifacts, check_sidecar, trusted_keys

Say = Callable[[str], None]


@dataclass(frozen=True)
class ReplayOptions:
    manifest_path: Path
    pubkeys: tuple[Path, ...] = ()
    allow_untrusted: bool = False
    root: Path | None = None
    rules_path: Path | None = None
    checkout: bool = False
    keep_workspace: bool = False
    output_manifest: Path | None = None
    sign: bool = True
    key_path: Path | None = None
    attest: Path | None = None  # also write the signed verdict here
    image: str | None = None  # an image ID already on the engine (loaded from a bundle) instead of the pinned reference
    quiet: bool = False
    sandbox: str | None = None  # auto | bwrap | copy (default: `sandbox:` of repro.yaml, else auto)
    network: bool = False  # let a bwrap-sandboxed replay reach the network the recorded run did not record
    shape: str | None = None  # NODESxTASKS: replay a distributed job at another shape, reported as drift
    conditions: Conditions = NO_CHANGE  # what to change on purpose (repro doctor); nothing by default
    workspace: Path | None = None  # an empty directory to replay in instead of a fresh scratch one


def rules_source(path: Path | None, config: dict) -> dict | None:
    """The rules as written: `--rules FILE` wins over the `verify:` key of repro.yaml. A signed
    verdict names them by digest."""
    if path is None:
        return config.get("verify")
    from repro import yamlio

    data = yamlio.load(path, what=f"rules file {path}")
    if data is not None and not isinstance(data, dict):
        raise UsageError(f"rules file {path} must be a mapping with a `rules:` list")
    return data


def load_rules_file(path: Path | None, config: dict) -> RuleSet:
    return load_rules(rules_source(path, config))


def check_trust(manifest: Manifest, opts: ReplayOptions, say: Say) -> str | None:
    """Refuse unsigned or untrusted manifests unless the user said, by name, that it is unsafe."""
    try:
        return manifest.verify(trusted_keys(opts.pubkeys))
    except ReproError as e:
        if not opts.allow_untrusted:
            raise IntegrityError(f"{e}; refusing to replay (--unsafe-allow-untrusted overrides)") from e
        say(f"warning: replaying an untrusted manifest: {e}")
        return None


def _own_paths(manifest: Manifest, root: Path, extra: tuple[Path, ...]) -> list[str]:
    """Paths that are the run's or the replay's own, never code: inputs, outputs, the manifest's
    directory, the rules file."""
    pred = manifest.predicate
    own = [a["path"] for a in pred["inputs"]] + [a["path"] for a in pred["outputs"]]
    for path in extra:
        try:
            own.append(path.resolve().relative_to(root).as_posix())
        except ValueError:
            pass
    return [p for p in own if p != "."]


def check_code(manifest: Manifest, root: Path, own: tuple[Path, ...], manifest_path: Path | None = None,
               trusted: list | None = None) -> None:
    """Same commit and same diff (or the same tree digest), or refuse: another code is another run.
    Files that runs recorded as outputs are not code; with `trusted` keys only the records they
    signed count, so a planted record cannot hide a changed source file."""
    recorded = manifest.predicate["code"]
    algorithm = manifest.predicate["digest_algorithm"]
    written = outputs_written_by_runs(root, signed_by(trusted) if trusted is not None else None)
    now = code_facet.capture(root, algorithm, exclude=_own_paths(manifest, root, own), run_outputs=written)
    if recorded["kind"] != now.facet["kind"]:
        raise IntegrityError(f"code differs: recorded as {recorded['kind']}, found {now.facet['kind']} at {root}")
    if recorded["kind"] == "tree":
        if now.facet["digest"] != recorded["digest"]:
            before = {f["path"]: f["digest"] for f in recorded["files"]}
            after = {f["path"]: f["digest"] for f in now.facet["files"]}
            changed = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
            raise IntegrityError(f"code differs from the recorded run: {codediff.named(changed)}")
        return
    if now.facet["commit"] != recorded["commit"]:
        changed = codediff.changed_since(root, recorded["commit"]) if recorded.get("commit") else None
        files = f" ({codediff.named(changed)} changed)" if changed else ""
        raise IntegrityError(
            f"code differs: HEAD is {str(now.facet['commit'])[:12]}, the run used {str(recorded['commit'])[:12]}"
            f"{files} (check it out, or replay with --checkout)"
        )
    recorded_diff = (recorded.get("diff") or {}).get("digest")
    now_diff = digest_bytes(now.diff, algorithm) if now.diff else None
    if recorded_diff != now_diff:
        changed = codediff.changed_between_diffs(_recorded_diff_bytes(manifest, manifest_path), now.diff or b"")
        files = f" ({codediff.named(changed)})" if changed else ""
        raise IntegrityError(
            f"code differs: uncommitted changes are not those of the recorded run{files} (replay with --checkout "
            "to rebuild the recorded commit plus its diff)"
        )


def _recorded_diff_bytes(manifest: Manifest, manifest_path: Path | None) -> bytes | None:
    """The diff saved beside the manifest, when it is there and matches its digest."""
    diff = manifest.predicate["code"].get("diff")
    if not diff:
        return b""
    if manifest_path is None:
        return None
    try:
        return check_sidecar(manifest_path, diff).read_bytes()
    except (ReproError, OSError):
        return None


def _saved_diff(manifest: Manifest, manifest_path: Path) -> bytes:
    diff = manifest.predicate["code"].get("diff")
    if not diff:
        return b""
    masked = manifest.predicate["code"].get("secrets_masked")
    if masked:
        raise UsageError(f"the saved diff had {masked} credential-shaped value(s) masked, so --checkout cannot rebuild "
                         "the code that ran: replay from a working tree that holds it")
    return check_sidecar(manifest_path, diff).read_bytes()


def _replay_spec(manifest: Manifest, opts: ReplayOptions, ws_root: Path, root: Path, run_id: str) -> RunSpec:
    pred = manifest.predicate
    cmd = pred["command"]
    runner = pred["runner"]
    image = runner.get("image", {}) if runner["name"] == "docker" else {}
    manifest_path = opts.output_manifest or root / ".repro" / "replays" / run_id / "manifest.json"
    changed = opts.conditions
    return RunSpec(
        root=ws_root,
        cwd=confine(ws_root, cmd["cwd"], what="working directory") if cmd["cwd"] != "." else ws_root,
        argv=tuple(cmd["argv"]),
        seed=pred["seeds"]["seed"] if changed.seed is None else changed.seed,
        seed_source="recorded",
        threads=pred["seeds"]["threads"] if changed.threads is None else changed.threads,
        inputs=tuple(a["path"] for a in pred["inputs"] if not a.get("state")),
        outputs=tuple(a["path"] for a in pred["outputs"] if not a.get("observed") and not a.get("state")),
        state=tuple(dict.fromkeys(str(confine(ws_root, a["path"], what="state file path"))
                                  for facet in ("inputs", "outputs") for a in pred[facet] if a.get("state"))),
        manifest_path=manifest_path.resolve(),
        run_id=run_id,
        algorithm=pred["digest_algorithm"],
        sign=opts.sign,
        key_path=opts.key_path,
        observe=bool(pred.get("observed", {}).get("enabled", True)),
        image=opts.image or image.get("pinned") or None,
        network=runner.get("network"),
        gpus=str(runner["gpus"]) if runner.get("gpus") is not None else None,
        store={"enabled": False},
    )


def not_copied(manifest: Manifest, root: Path) -> set[str]:
    """What the replay workspace leaves out: the recorded outputs and every file any run of this
    project recorded as an output, so the workspace is the project as the recorded run saw it
    (code, inputs, state), not what later runs left behind. The run's own inputs always stay,
    even when an earlier run wrote them (a prepare step's output is the training's input)."""
    from repro.capture.run_records import outputs_written_by_runs

    pred = manifest.predicate
    skip = {f["path"] for a in pred["outputs"] for f in a.get("files", [a])} | {a["path"] for a in pred["outputs"]}
    skip |= set(outputs_written_by_runs(root))
    kept = [a["path"] for a in pred["inputs"]]
    return {p for p in skip if not any(p == k or p.startswith(k.rstrip("/") + "/") for k in kept)}


def confine_outputs(manifest: Manifest, ws_root: Path) -> None:
    """Every place the replayed command will write its outputs must be inside the scratch
    workspace. A symlink copied with the project (`results -> /data/results`) would otherwise
    make the rerun overwrite the original outputs; refuse before anything runs."""
    for art in manifest.predicate["outputs"]:
        for entry in (art, *art.get("files", [])):
            confine(ws_root, entry["path"], what="output path")


def replay_plan(manifest: Manifest) -> str:
    """What the replay will compare, and from what, for its progress line (the counts of what the
    replay itself observes would read as a contradiction of the recorded run's)."""
    pred = manifest.predicate
    n_out = sum(len(a.get("files", [a])) for a in pred["outputs"])
    n_in = sum(len(a.get("files", [a])) for a in pred["inputs"] if not a.get("state"))
    n_state = len(state_entries(manifest))
    plan = f"{n_out} recorded output file(s) to compare" if n_out else "no output files recorded, its stdout is the result"
    plan += f", from {n_in} checked input file(s)" if n_in else ""
    plan += f" and {n_state} state file(s) restored as they were before the run" if n_state else ""
    return plan


def state_entries(manifest: Manifest) -> list[dict]:
    """Every file of the state inputs: the content a replay must restore before it reruns."""
    return [f for a in manifest.predicate["inputs"] if a.get("state") for f in a.get("files", [a])]


def restored_variables(manifest: Manifest) -> dict[str, str]:
    """Determinism variables the run had (thread counts follow `threads`, the seed follows `seed`)."""
    seeds = manifest.predicate["seeds"]
    replaced = ("PYTHONHASHSEED", *(THREAD_VARIABLES if seeds["threads"] is not None else ()))
    return {k: v for k, v in seeds.get("variables", {}).items() if k not in replaced}


def restored_environment(manifest: Manifest, config: dict) -> tuple[dict[str, str], list[str], list[str]]:
    """(variables to set, to unset, masked) for the replay: the determinism variables, the
    documented set known to change outputs, and every name in `env:` of repro.yaml."""
    from repro.replay import environment

    names = [*environment.RESTORED_VARIABLES, *(config.get("env") or ())]
    values, unset, masked = environment.restore(manifest.predicate.get("environment") or {}, names)
    return {**values, **restored_variables(manifest)}, unset, masked


def rule_label(rules: RuleSet, name: str) -> str:
    from repro.compare.files import select_format

    fmt, _ = select_format(name, rules.rule_for(name))
    return fmt.label if fmt is not None else "exact"


def skipped_verdict(name: str, recorded: dict, replayed: dict | None) -> Verdict:
    """An output whose rule says `compare: false`, with what the digests alone tell (free: both
    are recorded), so "not compared" never hides that the output was missing."""
    if replayed is None:
        state = "the replay did not produce it"
    else:
        state = "digests equal" if replayed["digest"] == recorded["digest"] else "digests differ"
    return Verdict.skipped(name, f"recorded, not compared (compare: false); {state}")


def compare_outputs(manifest: Manifest, replay: Manifest, root: Path, ws_root: Path, rules: RuleSet,
                    store: Store, timings: dict[str, float] | None = None) -> list[Verdict]:
    """A verdict for every recorded output file, plus one for every file the replay wrote that the
    run did not record (wherever it is), naming the missing output it mirrors when there is one.
    `timings` receives the seconds each content comparison took (a digest match takes none)."""
    recorded = manifest.predicate
    replayed = {f["path"]: f for a in replay.predicate["outputs"] for f in a.get("files", [a])}
    verdicts: list[Verdict] = []
    names: set[str] = set()
    for art in recorded["outputs"]:
        entries = art.get("files", [art]) if art["kind"] == "directory" else [art]
        names |= {e["path"] for e in entries}
        for entry in entries:
            name = entry["path"]
            new = replayed.get(name)
            if not rules.rule_for(name).compare:
                verdicts.append(skipped_verdict(name, entry, new))
                continue
            label = rule_label(rules, name)
            if new is None:
                verdicts.append(Verdict.missing(name, label))
                continue
            if new["digest"] == entry["digest"]:
                verdicts.append(Verdict(name, "identical", label))
                continue
            original = store.get(entry["digest"])
            if original is None:
                candidate = root / check_relpath(name, what="output path")
                if candidate.is_file() and digest_file(candidate, next(iter(entry["digest"]))) == entry["digest"]:
                    original = candidate
            replayed_path = confine(ws_root, name, what="output path")
            if original is None:
                if rules.rule_for(name).exact:
                    verdicts.append(Verdict(name, "differs", label, "digest differs"))
                else:
                    verdicts.append(Verdict(name, "differs", label, "digest differs; the recorded bytes are neither in "
                                            "the store nor on disk, so no tolerance comparison is possible"))
                continue
            t0 = time.perf_counter()
            verdicts.append(compare_file(name, original, replayed_path, rules))
            if timings is not None:
                timings[name] = time.perf_counter() - t0
    missing = [v.path for v in verdicts if v.status == "missing"]
    extra = unexpected_verdicts(replayed, names, missing)
    extra = [v if rules.rule_for(v.path).compare
             else Verdict.skipped(v.path, "recorded by the replay only, not compared (compare: false)") for v in extra]
    twins = {mirror_of(v.path, missing): v.path for v in extra}
    verdicts = [Verdict(v.path, v.status, v.rule, f"{v.detail} (it wrote {twins[v.path]} instead)")
                if v.status == "missing" and v.path in twins else v for v in verdicts]
    return with_state_hints(verdicts, recorded) + extra


def with_state_hints(verdicts: list[Verdict], recorded: dict) -> list[Verdict]:
    """A differing output that the run read before it wrote it, and that was not recorded as a
    state file, most likely differs because the replay could not start from its old content:
    say so, and name the flag that records it."""
    flagged = set((recorded.get("observed") or {}).get("read_then_written") or ())
    state = {f["path"] for a in recorded["outputs"] if a.get("state") for f in a.get("files", [a])}
    out = []
    for v in verdicts:
        if not v.ok and v.compared and v.path in flagged and v.path not in state:
            hint = (f"the run read {v.path}, then wrote it, and it was not recorded as a state file, so the replay "
                    f"started without its content from before the run: record it with `repro run --state {v.path}` "
                    "(or `state:` in repro.yaml)")
            v = replace(v, detail=f"{v.detail}; {hint}" if v.detail else hint)
        out.append(v)
    return out


REPLAY_DRIFT_FACETS = ("packages", "python", "os", "image", "sandbox", "hardware", "distributed", "threads", "seeds",
                       "environment")
"""What a replay reports as drift: everything around the command, environment variables included,
so "environment drift: none" is printed only where `repro diff` would show none either."""


def replay(opts: ReplayOptions, *, say: Say, load_key: Callable[[], object] | None) -> ReplayReport:
    from repro.replay.drift import drift
    from repro.replay.environment import without
    from repro.run import execute_run, make_runner

    started_at = utc_now_seconds()
    manifest = Manifest.load(opts.manifest_path)
    rules_doc: dict | None = None
    try:
        keyid = check_trust(manifest, opts, say)
        if keyid:
            say(f"signature valid (keyid {keyid[:16]})")
        root = (opts.root or find_project_root(Path.cwd())).resolve()
        config = load_config(root)
        rules_doc = rules_source(opts.rules_path, config)
        rules = load_rules(rules_doc)
        choice = sandboxing.pick(manifest, opts.sandbox, config, opts.image)  # bwrap asked for, unusable: exit 2 now
        bwrap = choice.kind == "bwrap"
        check_artifacts(manifest, root, facets=("inputs",))
        pred = manifest.predicate
        if any(MASK in arg for arg in pred["command"]["argv"]):
            raise UsageError("the recorded command line has masked secrets: it cannot be replayed as recorded")
        if opts.checkout and pred["code"]["kind"] != "git":
            raise UsageError("--checkout needs a manifest recorded in a git repository")
        if opts.checkout and not isinstance(pred["code"].get("commit"), str):
            raise UsageError("--checkout needs a recorded commit, and this run was recorded before the repository's "
                             "first commit: replay from the working tree instead")
        if not opts.checkout:
            own = (opts.manifest_path.resolve().parent, *((opts.rules_path,) if opts.rules_path else ()))
            check_code(manifest, root, own, opts.manifest_path, trusted_keys(opts.pubkeys) if keyid else None)
        reshaped = job_shape.parse_override(opts.shape) if opts.shape else None
        if reshaped is None:
            job_shape.check(pred, pred["command"]["argv"], os.environ)
    except ReproError as e:
        attest_refusal(opts, manifest, rules_doc, e, load_key, say)
        raise
    key = load_key() if (opts.sign and load_key is not None) else None
    env_values, env_unset, env_masked = restored_environment(manifest, config)
    changed = opts.conditions
    env_values = {k: v for k, v in env_values.items() if k not in changed.unset}
    env_unset = [*env_unset, *changed.unset]

    run_id = new_run_id()
    scratch = opts.workspace or workspace.create()
    try:
        if opts.checkout:
            ws_root = workspace.checkout(root, pred["code"]["commit"], _saved_diff(manifest, opts.manifest_path), scratch)
            copied = 0 if bwrap else workspace.copy_inputs(root, ws_root, [a["path"] for a in pred["inputs"]
                                                                      if not a.get("state")])
        else:
            ws_root = scratch
            inputs = {a["path"] for a in pred["inputs"] if not a.get("state")} if bwrap else set()  # bound in place
            copied = workspace.copy_project(root, ws_root, not_copied(manifest, root) | inputs)
        workspace.recreate_listed(ws_root, (pred.get("observed") or {}).get("listed_entries") or {})
        confine_outputs(manifest, ws_root)
        workspace.restore_state(Store.for_project(root), ws_root, state_entries(manifest))
        spec = _replay_spec(manifest, opts, ws_root, root, run_id)
        if reshaped is not None:
            spec = replace(spec, argv=tuple(job_shape.override(spec.argv, reshaped)))
            say(f"replaying at the shape asked for: {reshaped.text()} ({' '.join(spec.argv)})")
        sandbox = SandboxReport(choice.kind, copied, reason=choice.reason)
        if bwrap:
            plan, moved = sandboxing.plan(manifest, choice, root, ws_root, network=opts.network)
            spec = replace(spec, sandbox=plan, input_root=root)
            sandbox = replace(sandbox, root=str(plan.confinement.root), network=plan.confinement.network,
                              inputs_in_place=len(plan.confinement.read_only))
            if moved:
                say(f"warning: {moved}")
        where = f"a bwrap sandbox at {sandbox.root}" if bwrap else "a scratch workspace"
        say(f"replaying {pred['run_id']} in {where}: {replay_plan(manifest)}")
        with without(env_unset):
            outcome = execute_run(
                spec, make_runner(spec), say=say, load_key=(lambda: key) if key is not None else None,
                extra_env={**env_values, **confine_variables(root, sandboxed=sandbox.sandboxed)},
                replay_of={"run_id": pred["run_id"], "manifest_digest": manifest.digest()},
                echo=not opts.quiet, override_env=changed_variables(changed),
            )
        timings: dict[str, float] = {}
        verdicts = compare_outputs(manifest, outcome.manifest, root, ws_root, rules, Store.for_project(root), timings)
        logs = compare_logs(manifest, opts.manifest_path, outcome.manifest, outcome.manifest_path, rules)
    finally:
        if opts.keep_workspace:
            say(f"workspace kept at {scratch}")
        else:
            workspace.remove(scratch)
    verdicts = [*verdicts, *logs.gating, *shape_verdicts(pred, outcome.manifest.predicate, reshaped)]
    exit_recorded = pred["command"]["exit_code"]
    exit_replayed = outcome.result.exit_code
    reproduced = bool(verdicts) and all(v.ok for v in verdicts) and exit_recorded == exit_replayed
    changes = tuple(c for c in drift(pred, outcome.manifest.predicate, facets=REPLAY_DRIFT_FACETS)
                    if c.facet != "sandbox" or c.before is not None)  # an unconfined run: the sandbox line says it
    if reshaped is not None:
        recorded_shape = job_shape.recorded(pred)
        changes = (Change("distributed", "shape (--shape)", recorded_shape.text() if recorded_shape else None,
                          reshaped.text()), *changes)
    refused = outcome.refused_writes
    replay_outside = () if sandbox.sandboxed else tuple(
        o["path"] for o in (outcome.manifest.predicate.get("observed") or {}).get("outside") or ())
    notes = list(outcome.warnings)
    notes += rules.changed_meaning(v.path for v in verdicts)
    notes += [f"{name} was masked in the recorded environment and cannot be restored: the replay runs with "
              "this machine's value" for name in env_masked]
    notes += replay_notes(manifest, refused, replay_outside, sandboxed=sandbox.sandboxed)
    notes += sandboxing.outside_notes(outcome.manifest, sandbox.kind)
    likely = () if reproduced else tuple(
        ("possibly: " if not e.certain else "") + e.detail
        for e in nondeterminism.merged(pred, outcome.manifest.predicate))
    report = ReplayReport(
        manifest=str(opts.manifest_path),
        run_id=pred["run_id"],
        replay_run_id=run_id,
        replay_manifest=str(outcome.manifest_path),
        reproduced=reproduced,
        exit_code_recorded=exit_recorded,
        exit_code_replayed=exit_replayed,
        duration_recorded_s=pred["command"]["duration_s"],
        duration_replayed_s=outcome.result.duration_s,
        verdicts=tuple(verdicts),
        drift=changes,
        warnings=tuple(notes),
        logs=logs.shown,
        sandbox=sandbox,
        refused_writes=refused,
        started_at=started_at,
        compare_s=tuple(timings.items()),
        likely_causes=likely,
    )
    return attest_replay(report, opts, manifest, outcome.manifest, outcome.manifest_path, rules_doc, key, say)


def shape_verdicts(recorded: dict, replayed: dict, reshaped: job_shape.Shape | None) -> list[Verdict]:
    """A distributed job that replayed at another shape than recorded (without --shape), or
    with ranks missing or failed, did not reproduce: never silently a smaller job."""
    before, after = recorded.get("distributed"), replayed.get("distributed")
    if before is None:
        return []
    if after is None:
        return [Verdict("job shape", "differs", "shape", "the replay recorded no ranks: its processes carried no "
                        "launcher's rank variables")]
    out = []
    want, got = job_shape.recorded(recorded), job_shape.recorded(replayed)
    if reshaped is None and want != got:
        out.append(Verdict("job shape", "differs", "shape", f"recorded {want.text() if want else '?'}, replayed "
                           f"{got.text() if got else '?'}"))
    lost = sorted(set(after.get("missing_ranks") or []) | set(after.get("failed_ranks") or []))
    if lost:
        out.append(Verdict("job ranks", "differs", "shape", f"rank(s) {', '.join(map(str, lost))} of the replay "
                           "were missing or did not end normally"))
    return out


def attest_replay(report: ReplayReport, opts: ReplayOptions, manifest: Manifest, replayed: Manifest,
                  replay_path: Path, rules_doc: dict | None, key, say: Say) -> ReplayReport:
    """Sign the verdict and write it beside the replay's manifest (and to --attest), with the full
    JSON report it points to. Without a key (--no-sign) nothing is attested, and the report says so."""
    from dataclasses import replace

    from repro.evidence import jsonio, verdict
    from repro.report.json import JsonFormat

    if key is None:
        return replace(report, warnings=(*report.warnings, "the replay is unsigned (--no-sign): its verdict is not attested"))
    stem = replayed.predicate["logs"]["stdout"]["path"][: -len(".stdout.log")]
    report_path = replay_path.parent / f"{stem}.report.json"
    body = JsonFormat().render(report).encode("utf-8")
    jsonio.write_atomic(report_path, body)
    exit_ok = report.exit_code_recorded == report.exit_code_replayed
    passed = [v.path for v in report.verdicts if v.compared and v.ok] + (["exit code"] if exit_ok else [])
    failed = [v.path for v in report.verdicts if v.compared and not v.ok] + ([] if exit_ok else ["exit code"])
    v = verdict.Verdict(
        manifest, opts.manifest_path.name, verdict.rules_descriptor(rules_doc),
        verdict.PASSED if report.reproduced else verdict.FAILED, report.outcome, tuple(passed), tuple(failed),
        report=body, report_name=report_path.name, subjects=verdict.subjects_for(manifest, replayed),
    )
    targets = [replay_path.parent / f"{stem}{verdict.SUFFIX}", *((opts.attest,) if opts.attest else ())]
    written = verdict.write(v, key, targets)
    return replace(report, attestation=str(written[-1]))


def attest_refusal(opts: ReplayOptions, manifest: Manifest, rules_doc: dict | None, error: ReproError,
                   load_key: Callable[[], object] | None, say: Say) -> None:
    """A refused replay is a FAILED verdict too, attested to --attest with its reason when a key
    is at hand; the refusal itself is what the caller reports."""
    if opts.attest is None or not opts.sign or load_key is None:
        return
    from repro.evidence import verdict

    try:
        key = load_key()
        verdict.write(verdict.refusal_verdict(manifest, opts.manifest_path.name, rules_doc, error), key, [opts.attest])
    except ReproError as e:
        say(f"warning: the refusal is not attested: {e}")
        return
    say(f"refusal attested in {opts.attest}")


def changed_variables(changed: Conditions) -> dict[str, str]:
    """The variables a deliberately changed replay sets over everything else (the hook reads
    REPRO_VARY_LISTING to hand out directory listings in another order)."""
    return {**changed.env, **({"REPRO_VARY_LISTING": changed.listing} if changed.listing else {})}


def confine_variables(recorded_root: Path, *, sandboxed: bool = False) -> dict[str, str]:
    """What the injected hook needs to keep the replay inside its workspace: the temporary
    directory it may also write, and the recorded project it may never write (even when that
    lies in the temporary directory: its outputs are what the replay is compared with). Without
    a sandbox the hook refuses such writes itself; in one it notes those the sandbox failed."""
    import tempfile

    return {"REPRO_CONFINE_WRITES": os.pathsep.join((f"!{recorded_root}", tempfile.gettempdir())),
            "REPRO_CONFINE_BY": "sandbox" if sandboxed else "repro"}


def _listed(paths: list[str] | tuple[str, ...]) -> str:
    return ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")


def replay_notes(manifest: Manifest, refused: tuple[str, ...], written: tuple[str, ...] = (), *,
                 sandboxed: bool = False) -> list[str]:
    """What the report must say about writes outside the project: those the run made (never
    verified), those the replay was refused, and those it made anyway (native code, which
    repro's hook cannot see before it happens)."""
    notes = []
    outside = (manifest.predicate.get("observed") or {}).get("outside") or []
    if outside:
        notes.append(f"the recorded run wrote {len(outside)} file(s) outside the project "
                     f"({_listed([o['path'] for o in outside])}): they are not verified by this replay")
    if refused:
        by = "by the sandbox" if sandboxed else "by repro's hook, as the replay was not sandboxed"
        notes.append(f"writes outside the workspace refused ({by}): {_listed(refused)}")
    if written:
        notes.append(f"the replay wrote {len(written)} file(s) outside its workspace that repro could not stop "
                     f"(native code or another program): {_listed(written)}")
    return notes
