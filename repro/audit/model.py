"""The audit report as plain data: what every renderer (HTML, Markdown) shows, built once.

Everything here comes from a manifest that `evidence.check_manifest` verified and from replay
verdicts that `evidence.load_replay` verified; the strings are still untrusted text (file names,
argv, environment values) and the renderers escape them. Sections follow the headings a
reviewer of technical documentation expects: what was run and by whom, software, hardware,
data, training procedure, results and their verification, changes over time.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from repro.audit.evidence import ManifestTrust, ReplayEvidence
from repro.compare.histogram import ErrorHistogram
from repro.compare.verdict import Verdict
from repro.evidence.manifest import Manifest
from repro.replay.drift import distro_name, libc_name
from repro.report.summary import number_text

MAX_LOOSE_FILES = 20
"""Loose (observed) files listed in the artifact table; more are grouped by directory."""
MAX_WARNINGS = 20


@dataclass(frozen=True)
class Fact:
    label: str
    value: str
    mono: bool = False


@dataclass(frozen=True)
class Table:
    """A table of text cells; `collapsed` ones render closed, with `summary` as their title."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    summary: str = ""
    collapsed: bool = False
    mono: tuple[int, ...] = ()
    ident: str = ""


@dataclass(frozen=True)
class OutputResult:
    path: str
    status: str
    rule: str
    detail: str
    max_abs: str
    max_rel: str
    where: str
    histogram: ErrorHistogram | None

    @property
    def ok(self) -> bool:
        return self.status in ("identical", "within_tolerance", "skipped")


@dataclass(frozen=True)
class ReplayResult:
    """One replay: its signed verdict, and the details the replay report beside it holds."""

    name: str
    outcome: str
    result: str
    time: str
    signer: str
    machine: str
    summary: str
    outputs: tuple[OutputResult, ...]
    passed: tuple[str, ...]
    failed: tuple[str, ...]
    drift: tuple[tuple[str, str, str, str], ...]
    warnings: tuple[str, ...]
    notes: tuple[str, ...]

    @property
    def good(self) -> bool:
        return self.outcome == "REPRODUCED"


@dataclass(frozen=True)
class Section:
    ident: str
    number: int
    title: str
    heading: str
    facts: tuple[Fact, ...] = ()
    tables: tuple[Table, ...] = ()
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class GraphNode:
    """A node of the provenance graph: an input, the command, an output or a replay."""

    kind: str
    label: str
    detail: str = ""
    good: bool | None = None


@dataclass(frozen=True)
class Provenance:
    inputs: tuple[GraphNode, ...]
    command: GraphNode
    outputs: tuple[GraphNode, ...]
    replays: tuple[GraphNode, ...]
    edges: tuple[tuple[int, int], ...]
    """(replay index, output index): the replay verified (or failed) that output."""
    more_inputs: int = 0
    more_outputs: int = 0


@dataclass(frozen=True)
class AuditReport:
    run_id: str
    command: str
    trust: ManifestTrust
    replays: tuple[ReplayResult, ...]
    sections: tuple[Section, ...]
    diff: str | None
    diff_note: str | None
    provenance: Provenance
    generated_by: str


def size_text(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def digest_text(d: dict[str, str]) -> str:
    return " ".join(f"{algo}:{value}" for algo, value in d.items())


def _command_text(argv: list[str]) -> str:
    return shlex.join(argv)


# --- 1. summary ---------------------------------------------------------------------------------


def _runner_facts(p: dict) -> list[Fact]:
    runner = p["runner"]
    facts = [Fact("runner", str(runner["name"]))]
    if runner["name"] == "docker":
        image = runner.get("image") or {}
        facts.append(Fact("pinned image", str(image.get("pinned", "?")), mono=True))
        if image.get("reference") and image.get("reference") != image.get("pinned"):
            facts.append(Fact("image as given", str(image["reference"]), mono=True))
        built = runner.get("dockerfile")
        if built:
            facts.append(Fact("built from", f"{built['path']} {digest_text(built['digest'])}", mono=True))
        facts.append(Fact("container network", str(runner.get("network", "none"))))
        if runner.get("gpus"):
            facts.append(Fact("container GPUs", str(runner["gpus"])))
    sandbox = runner.get("sandbox")
    if sandbox:
        net = "network on" if sandbox.get("network") else "network off"
        facts.append(Fact("sandbox", f"{sandbox.get('kind')} {sandbox.get('version') or ''}, {net}".replace(" ,", ",")))
    return facts


def _summary(p: dict, trust: ManifestTrust) -> Section:
    cmd = p["command"]
    exit_text = str(cmd["exit_code"]) + (f" ({cmd['signal']})" if cmd.get("signal") else "")
    facts = [
        Fact("command", _command_text(cmd["argv"]), mono=True),
        Fact("working directory", str(cmd["cwd"]), mono=True),
        Fact("exit code", exit_text),
        Fact("duration", f"{cmd['duration_s']:.2f} s"),
        Fact("run id", str(p["run_id"]), mono=True),
        Fact("started", str(cmd["started_at"])),
        Fact("ended", str(cmd["ended_at"])),
        *_runner_facts(p),
        Fact("signed by", trust.keyid or trust.signature.upper(), mono=bool(trust.keyid)),
        Fact("recorded by", f"repro {p['repro_version']}"),
    ]
    if p.get("replay_of"):
        facts.append(Fact("replay of", f"{p['replay_of']['run_id']} {digest_text(p['replay_of']['manifest_digest'])}",
                          mono=True))
    return Section("summary", 1, "Summary", "What was run, and by whom", tuple(facts), warnings=tuple(p["warnings"]))


# --- 2. code ------------------------------------------------------------------------------------


def _code(p: dict, diff_note: str | None) -> Section:
    code = p["code"]
    if code["kind"] != "git":
        rows = tuple((f["path"], size_text(f["size"]), digest_text(f["digest"])) for f in code["files"])
        return Section("code", 2, "Code", "Software: the code that ran",
                       (Fact("kind", "a tree of files (no git repository)"),
                        Fact("tree digest", digest_text(code["digest"]), mono=True)),
                       (Table(("file", "size", "digest"), rows, f"{len(rows)} files", collapsed=True, mono=(0, 2),
                              ident="code-files"),))
    facts = [
        Fact("commit", str(code["commit"] or "(no commit yet)"), mono=True),
        Fact("branch", str(code["branch"] or "(detached)")),
        Fact("remote", str(code["remote"] or "(none)"), mono=True),
        Fact("working tree", "DIRTY: uncommitted changes, saved as a diff" if code["dirty"] else "clean"),
    ]
    if code.get("subdir"):
        facts.append(Fact("project directory in the repository", str(code["subdir"]), mono=True))
    if code.get("diff"):
        d = code["diff"]
        facts.append(Fact("saved diff", f"{d['path']} ({size_text(d['size'])}, {digest_text(d['digest'])})", mono=True))
    if code.get("secrets_masked"):
        facts.append(Fact("secrets masked in the diff", str(code["secrets_masked"])))
    tables = []
    if code["untracked_sources"]:
        tables.append(Table(("untracked source",), tuple((s,) for s in code["untracked_sources"]),
                            f"{len(code['untracked_sources'])} untracked source file(s)", mono=(0,), ident="untracked"))
    warnings = [f"{n} was recorded as an earlier run's output and edited since" for n in code.get("edited_run_outputs", ())]
    return Section("code", 2, "Code", "Software: the code that ran", tuple(facts), tuple(tables), tuple(warnings),
                   (diff_note,) if diff_note else ())


# --- 3. data ------------------------------------------------------------------------------------


def _files_of(art: dict) -> list[dict]:
    return art.get("files", [art]) if art["kind"] == "directory" else [art]


def _flags(art: dict) -> str:
    return ", ".join(f for f in ("observed", "state") if art.get(f)) or ""


def _artifact_tables(facet: str, arts: list[dict]) -> list[Table]:
    """One summary table of the facet's artifacts, then each directory's files collapsed. Many
    loose (observed) files are grouped by their directory, each group collapsed."""
    tables: list[Table] = []
    dirs = [a for a in arts if a["kind"] == "directory"]
    loose = [a for a in arts if a["kind"] != "directory"]
    rows = [(a["path"] + "/", "directory", f"{len(a.get('files', []))} files, {size_text(a['size'])}",
             digest_text(a["digest"]), _flags(a)) for a in dirs]
    grouped: dict[str, list[dict]] = {}
    if len(loose) > MAX_LOOSE_FILES:
        for a in loose:
            grouped.setdefault(a["path"].rpartition("/")[0] or ".", []).append(a)
        rows += [(f"{d}/ (loose files)", "files", f"{len(g)} files, {size_text(sum(a['size'] for a in g))}", "",
                  "observed" if all(a.get("observed") for a in g) else "") for d, g in sorted(grouped.items())]
    else:
        rows += [(a["path"], a["kind"], size_text(a["size"]), digest_text(a["digest"]), _flags(a)) for a in loose]
    if not rows:
        return [Table(("path",), (), f"no {facet} declared or observed", ident=f"{facet}-none")]
    tables.append(Table(("path", "kind", "size", "digest", "note"), tuple(rows), f"{len(arts)} {facet}",
                        mono=(0, 3), ident=facet))
    for n, a in enumerate(dirs):
        files = tuple((f["path"], size_text(f["size"]), digest_text(f["digest"])) for f in a.get("files", []))
        tables.append(Table(("file", "size", "digest"), files, f"{a['path']}/: {len(files)} files, {size_text(a['size'])}",
                            collapsed=True, mono=(0, 2), ident=f"{facet}-dir-{n}"))
    for n, (d, g) in enumerate(sorted(grouped.items())):
        files = tuple((a["path"], size_text(a["size"]), digest_text(a["digest"])) for a in g)
        tables.append(Table(("file", "size", "digest"), files, f"{d}/: {len(files)} loose files",
                            collapsed=True, mono=(0, 2), ident=f"{facet}-group-{n}"))
    return tables


def _listed(items: list[str]) -> list[str]:
    if len(items) <= MAX_WARNINGS:
        return items
    return items[:MAX_WARNINGS] + [f"... and {len(items) - MAX_WARNINGS} more"]


def overlap_warnings(p: dict) -> list[str]:
    """Leaks a reviewer looks for: an input whose content is also an output, and two declared
    inputs holding the same file (a sample in both the train and the test set). By digest;
    empty files are left out, every empty file has the same digest."""
    algorithm = p["digest_algorithm"]
    inputs = [a for a in p["inputs"] if not a.get("state")]
    seen_in: dict[str, tuple[str, str]] = {}  # digest -> (input artifact, file path)
    shared = []
    for art in inputs:
        for f in _files_of(art):
            d = f["digest"].get(algorithm)
            if not d or not f["size"]:
                continue
            first = seen_in.get(d)
            if first is None:
                seen_in[d] = (art["path"], f["path"])
            elif first[0] != art["path"]:
                shared.append(f"inputs {first[0]} and {art['path']} share a file: {first[1]} and {f['path']} have the "
                              f"same content ({algorithm}:{d})")
    leaked = []
    for art in p["outputs"]:
        for f in _files_of(art):
            d = f["digest"].get(algorithm)
            if d and f["size"] and d in seen_in:
                leaked.append(f"output {f['path']} has the same content as input {seen_in[d][1]} ({algorithm}:{d})")
    return _listed(leaked) + _listed(shared)


def _data(p: dict) -> Section:
    obs = p.get("observed") or {}
    facts = [Fact("digest algorithm", p["digest_algorithm"]),
             Fact("inputs", f"{len(p['inputs'])} ({size_text(sum(a['size'] for a in p['inputs']))})"),
             Fact("outputs", f"{len(p['outputs'])} ({size_text(sum(a['size'] for a in p['outputs']))})")]
    if obs.get("enabled"):
        facts.append(Fact("observed", f"{len(obs['inputs'])} input(s) and {len(obs['outputs'])} output(s) the command "
                                      f"used beyond those declared, in {obs['processes']} Python process(es)"))
    tables = [*_artifact_tables("inputs", p["inputs"]), *_artifact_tables("outputs", p["outputs"])]
    return Section("data", 3, "Data", "Data: inputs and outputs", tuple(facts), tuple(tables), tuple(overlap_warnings(p)))


# --- 4. software --------------------------------------------------------------------------------


def _software(p: dict) -> Section:
    deps = p["deps"]
    py = deps.get("python") or {}
    os_info = deps.get("os") or {}
    obs = p.get("observed") or {}
    used = (obs.get("imports") or {}).get("used_distributions") or []
    facts = [
        Fact("interpreter", f"{py.get('implementation', '')} {py.get('version', '?')}".strip()),
        Fact("executable", str(py.get("executable", "?")), mono=True),
        Fact("operating system", distro_name(os_info) or str(os_info.get("system") or "?")),
        Fact("kernel", f"{os_info.get('system', '')} {os_info.get('release', '?')} {os_info.get('machine', '')}".strip()),
        Fact("C library", libc_name(os_info) or "?"),
        Fact("distributions", f"{len(used)} used by the run, {len(deps.get('distributions', []))} installed"),
    ]
    tables = []
    if used:
        tables.append(Table(("distribution used", "version"), tuple((d["name"], d["version"]) for d in used),
                            f"{len(used)} distributions the run imported", ident="used"))
    installed = deps.get("distributions", [])
    tables.append(Table(("distribution", "version"), tuple((d["name"], d["version"]) for d in installed),
                        f"all {len(installed)} installed distributions", collapsed=True, ident="installed"))
    packages = deps.get("os_packages")
    if packages:
        facts.append(Fact("OS packages", f"{packages['count']} {packages['manager']} packages, "
                                         f"{digest_text(packages['digest'])}", mono=True))
        tables.append(Table(("package", "version", "arch"),
                            tuple((x["name"], x["version"], x.get("arch", "")) for x in packages["packages"]),
                            f"{packages['count']} OS packages of the image", collapsed=True, ident="os-packages"))
    env = p["environment"]
    masked = sum(1 for v in env.values() if v == "***")
    tables.append(Table(("variable", "value"), tuple(sorted(env.items())),
                        f"{len(env)} environment variables ({masked} masked)", collapsed=True, mono=(1,), ident="env"))
    return Section("software", 4, "Software", "Software: interpreter, libraries, operating system", tuple(facts),
                   tuple(tables))


# --- 5. hardware --------------------------------------------------------------------------------


def _hardware(p: dict) -> Section:
    hw = p["hardware"]
    cpu = hw.get("cpu") or {}
    facts = [
        Fact("CPU", f"{cpu.get('model', '?')} ({cpu.get('vendor', '?')}, {cpu.get('architecture', '?')})"),
        Fact("cores", f"{cpu.get('logical_cores', '?')} logical, {cpu.get('physical_cores', '?')} physical, "
                      f"{cpu.get('usable_cores', '?')} usable"),
        Fact("memory", size_text(int(hw.get("memory_bytes") or 0))),
        Fact("ISA flags", " ".join(cpu.get("flags", [])) or "-", mono=True),
        Fact("GPUs", str(len(hw.get("gpus", []))) if hw.get("gpus") else "none"),
    ]
    tables = []
    if hw.get("gpus"):
        keys = ("name", "driver", "cuda", "memory_bytes", "uuid")
        rows = tuple(tuple(size_text(g[k]) if k == "memory_bytes" and isinstance(g.get(k), int) else str(g.get(k, ""))
                           for k in keys) for g in hw["gpus"])
        tables.append(Table(("GPU", "driver", "CUDA", "memory", "uuid"), rows, "GPUs", mono=(4,), ident="gpus"))
    return Section("hardware", 5, "Hardware", "Hardware", tuple(facts), tuple(tables))


# --- 6. seeds and determinism -------------------------------------------------------------------


def _seeds(p: dict) -> Section:
    from repro.report.show import seed_call_lines

    s = p["seeds"]
    seeded = ", ".join(f"{x['lib']}={x['value']}" for x in s["seeded"]) or "nothing"
    facts = [
        Fact("seed", f"{s['seed']} ({s['source']})"),
        Fact("seeded", seeded),
        Fact("PYTHONHASHSEED", str(s.get("pythonhashseed", "-"))),
        Fact("threads", str(s["threads"]) if s.get("threads") is not None else "not pinned"),
    ]
    if s.get("not_seeded"):
        facts.append(Fact("not seeded", ", ".join(str(x.get("lib", x)) if isinstance(x, dict) else str(x)
                                                  for x in s["not_seeded"])))
    tables = []
    if s.get("variables"):
        tables.append(Table(("determinism variable", "value"), tuple(sorted(s["variables"].items())),
                            "determinism variables set for the run", mono=(0, 1), ident="det-vars"))
    obs = p.get("observed") or {}
    calls = seed_call_lines(obs.get("seed_calls") or [], False) if obs.get("enabled") else []
    if calls:
        tables.append(Table(("seed call",), tuple((c.removeprefix("seed call  "),) for c in calls),
                            f"{len(calls)} seeding call(s) observed", mono=(0,), ident="seed-calls"))
    warnings = [str(e) for e in s.get("errors", [])]
    warnings += [c.removeprefix("seed call  ") for c in calls if c.endswith("UNSEEDED")]
    return Section("seeds", 6, "Seeds and determinism", "Training procedure: seeds and determinism", tuple(facts),
                   tuple(tables), tuple(warnings))


# --- 7. results ---------------------------------------------------------------------------------


def _outcome(checked, report: dict | None) -> str:
    if report is not None:
        return str(report["outcome"])
    if checked.passed_verification:
        return "REPRODUCED"
    if any(str(f).startswith("replay refused:") for f in checked.failed):
        return "REFUSED"
    return "NOT REPRODUCED"


def _machine(ev: ReplayEvidence) -> str:
    if ev.replay_manifest is None:
        return ev.machine_note or "not known"
    p = ev.replay_manifest.predicate
    cpu = p["hardware"].get("cpu") or {}
    gpus = p["hardware"].get("gpus") or []
    os_info = p["deps"].get("os") or {}
    parts = [f"{cpu.get('model', '?')}, {cpu.get('logical_cores', '?')} cores"]
    if gpus:
        parts.append(", ".join(str(g.get("name", "?")) for g in gpus))
    parts.append(distro_name(os_info) or str(os_info.get("system") or "?"))
    runner = p["runner"]["name"] + (f" in {p['runner']['sandbox']['kind']}" if p["runner"].get("sandbox") else "")
    parts.append(f"runner {runner}")
    return "; ".join(parts)


def _output_result(v: Verdict) -> OutputResult:
    return OutputResult(v.path, v.status, v.rule, v.detail, number_text(v.max_abs_error), number_text(v.max_rel_error),
                        v.where or "", v.histogram)


def _drift_value(value: Any) -> str:
    if value is None:
        return "(absent)"
    return value if isinstance(value, str) else str(value)


def replay_result(ev: ReplayEvidence) -> ReplayResult:
    c = ev.checked
    report = ev.report
    outputs: tuple[OutputResult, ...] = ()
    drift: tuple[tuple[str, str, str, str], ...] = ()
    warnings: tuple[str, ...] = ()
    summary = f"{c.result}: {len(c.passed)} passed, {len(c.failed)} failed"
    if report is not None:
        outputs = tuple(_output_result(Verdict.from_json(v)) for v in report["verdicts"])
        drift = tuple((str(d["facet"]), str(d["key"]), _drift_value(d["before"]), _drift_value(d["after"]))
                      for d in report["drift"])
        warnings = tuple(str(w) for w in report["warnings"])
        summary = str(report["summary"])
    notes = tuple(n for n in (ev.report_note, ev.machine_note if ev.replay_manifest is not None else None) if n)
    return ReplayResult(ev.name, _outcome(c, report), c.result, c.time_verified, c.keyid, _machine(ev), summary,
                        outputs, c.passed, c.failed, drift, warnings, notes)


def _results(p: dict, replays: tuple[ReplayResult, ...]) -> Section:
    notes = () if replays else ("no replay given (--replay FILE.intoto.jsonl): the outputs are recorded, not yet "
                                "shown to reproduce",)
    subjects = tuple((a["path"], size_text(a["size"]), digest_text(a["digest"])) for a in p["outputs"])
    tables = (Table(("recorded output", "size", "digest"), subjects, "recorded outputs", mono=(0, 2), ident="subjects"),)
    return Section("results", 7, "Results and their verification", "Results, their verification, and changes over time",
                   tables=tables if not replays else (), notes=notes)


# --- 8. provenance ------------------------------------------------------------------------------

MAX_GRAPH_NODES = 8


def provenance(p: dict, replays: tuple[ReplayResult, ...], code_text: str) -> Provenance:
    inputs = [GraphNode("input", a["path"] + ("/" if a["kind"] == "directory" else ""),
                        size_text(a["size"])) for a in p["inputs"]]
    outputs_art = p["outputs"]
    outputs = [GraphNode("output", a["path"] + ("/" if a["kind"] == "directory" else ""), size_text(a["size"]))
               for a in outputs_art]
    runner = p["runner"]
    where = str((runner.get("image") or {}).get("pinned", "")) if runner["name"] == "docker" else "host"
    command = GraphNode("command", _command_text(p["command"]["argv"]), f"{where}; {code_text}")
    replay_nodes = [GraphNode("replay", r.name, f"{r.outcome}, {r.time}", r.good) for r in replays]
    shown_outputs = outputs_art[:MAX_GRAPH_NODES]
    edges = []
    for ri, r in enumerate(replays[:MAX_GRAPH_NODES]):
        decided = {o.path: o.ok for o in r.outputs} or {**{n: True for n in r.passed}, **{n: False for n in r.failed}}
        for oi, a in enumerate(shown_outputs):
            prefix = a["path"] + "/"
            if any(n == a["path"] or n.startswith(prefix) for n in decided):
                edges.append((ri, oi))
    return Provenance(tuple(inputs[:MAX_GRAPH_NODES]), command, tuple(outputs[:MAX_GRAPH_NODES]),
                      tuple(replay_nodes[:MAX_GRAPH_NODES]), tuple(edges),
                      max(0, len(inputs) - MAX_GRAPH_NODES), max(0, len(outputs) - MAX_GRAPH_NODES))


def _code_text(p: dict) -> str:
    code = p["code"]
    if code["kind"] != "git":
        return f"code tree {digest_text(code['digest'])[:28]}"
    commit = str(code["commit"] or "no commit")[:12]
    return f"git {commit}" + (" + diff" if code["dirty"] else "")


def build(manifest: Manifest, trust: ManifestTrust, replays: list[ReplayEvidence], *, diff: str | None = None,
          diff_note: str | None = None) -> AuditReport:
    """The whole report from a verified manifest and its verified replays."""
    from repro import __version__

    p = manifest.predicate
    results = tuple(replay_result(ev) for ev in replays)
    sections = (_summary(p, trust), _code(p, diff_note), _data(p), _software(p), _hardware(p), _seeds(p),
                _results(p, results))
    return AuditReport(
        run_id=str(p["run_id"]), command=_command_text(p["command"]["argv"]), trust=trust, replays=results,
        sections=sections, diff=diff, diff_note=diff_note, provenance=provenance(p, results, _code_text(p)),
        generated_by=f"repro {__version__}",
    )
