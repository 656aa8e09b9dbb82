"""`repro show`: a manifest summarised for a person."""

from __future__ import annotations

from repro.evidence.manifest import Manifest
from repro.replay.drift import distro_name, libc_name
from repro.report.summary import printable


def _digest(d: dict) -> str:
    algo, value = next(iter(d.items()))
    return f"{algo}:{value[:16]}…"


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _observed(obs: dict | None, full: bool = False) -> list[str]:
    """The observation summary and every seeding call, unseeded ones marked (docs/observe.md)."""
    if obs is None:
        return []
    if not obs["enabled"]:
        return ["observed   off (--no-observe)"]
    imports = obs["imports"]
    lines = [f"observed   {obs['processes']} Python process(es); {len(imports['used_distributions'])} distributions used "
             f"({imports['modules']} modules imported); {len(obs['subprocesses'])} command(s) started"]
    lines += seed_call_lines(obs["seed_calls"], full)
    return lines


def seed_call_lines(calls: list[dict], full: bool) -> list[str]:
    """The program's own seeding calls one by one (a framework's named at the user's line that
    called it); calls made inside libraries with no line of the program on the stack summarised
    per library unless `full`."""
    from repro.observe import GLOBAL_RESEEDS, library_site

    lines = []
    inside: dict[str, list[int]] = {}
    for c in calls:
        values = ", ".join("None" if v is None else str(v) for v in c["values"])
        times = f" ({c['count']} calls)" if c["count"] > 1 else ""
        user = c.get("user_site")
        own = user is not None and not user.startswith(("/", "<")) and (user == c["site"] or c["call"] in GLOBAL_RESEEDS)
        if not full and not own:
            library = library_site(c["site"]).split("/")[0].split(":")[0]
            entry = inside.setdefault(f"{library} {c['call']}", [0, 0])
            entry[0] += 1
            entry[1] += c["count"]
            continue
        where = c["site"] if not user or user == c["site"] else f"{user} (through {library_site(c['site'])})"
        lines.append(f"seed call  {c['call']}({values}) at {where}{times}" + ("  UNSEEDED" if c["unseeded"] else ""))
    for name, (sites, count) in sorted(inside.items()):
        lines.append(f"seed call  {name}: {count} call(s) at {sites} site(s) inside the library (--full lists them)")
    return lines


MAX_LISTED = 20
"""Artifacts listed one by one; more are grouped by directory unless `--full`."""


def _grouped(arts: list[dict]) -> list[str]:
    """Thousands of observed files as at most MAX_LISTED lines: one per directory, and while there
    are more directories than that, the deepest are folded into their parents (a run that read
    100,000 files in 1,000 directories under data/ shows as one line for data/)."""
    groups: dict[str, list] = {}
    for a in arts:
        directory = a["path"].rpartition("/")[0] or "."
        entry = groups.setdefault(directory, [0, 0, {directory}])
        entry[0] += max(1, len(a.get("files", [])))
        entry[1] += a["size"]
    while len(groups) > MAX_LISTED:
        deepest = max(d.count("/") + (d != ".") for d in groups)
        if deepest <= 1:
            break
        folded: dict[str, list] = {}
        for d, (n, size, dirs) in groups.items():
            if d.count("/") + 1 == deepest:
                d = d.rpartition("/")[0]
            entry = folded.setdefault(d, [0, 0, set()])
            entry[0] += n
            entry[1] += size
            entry[2] |= dirs
        groups = folded
    lines = [f"  {d}/  {n} files" + (f" in {len(dirs)} directories" if len(dirs) > 1 else "") + f", {_size(size)}"
             for d, (n, size, dirs) in sorted(groups.items())]
    return lines + ["  (grouped by directory; --full lists every file)"]


def render(manifest: Manifest, *, signature_status: str, full: bool = False) -> str:
    p = manifest.predicate
    cmd = p["command"]
    lines = [
        f"run        {p['run_id']}  (repro {p['repro_version']})",
        f"signature  {signature_status}",
        f"command    {' '.join(cmd['argv'])}",
        f"           in {cmd['cwd']}  exit {cmd['exit_code']}"
        + (f" ({cmd['signal']})" if cmd.get("signal") else "")
        + f"  {cmd['duration_s']:.2f}s  started {cmd['started_at']}",
    ]
    runner = p["runner"]
    if runner["name"] == "docker":
        image = runner.get("image", {})
        lines.append(f"runner     docker  {image.get('pinned', '?')}")
        if image.get("reference") and image.get("reference") != image.get("pinned"):
            lines.append(f"           from {image['reference']}")
        built = runner.get("dockerfile")
        if built:
            lines.append(f"           built from {built['path']} {_digest(built['digest'])}, "
                         f"context {built['context']['path']} {_digest(built['context']['digest'])}")
        lines.append(f"           network {runner.get('network', 'none')}" + (f", gpus {runner['gpus']}" if runner.get("gpus") else "")
                     + (f", user {runner['user']}" if runner.get("user") else ""))
    else:
        lines.append("runner     host")
    code = p["code"]
    if code["kind"] == "git":
        state = "dirty" if code["dirty"] else "clean"
        lines.append(f"code       git {str(code['commit'])[:12]} on {code['branch'] or '(detached)'} ({state})")
        if code.get("remote"):
            lines.append(f"           remote {code['remote']}")
        if code.get("diff"):
            lines.append(f"           diff {code['diff']['path']} ({_size(code['diff']['size'])}, {_digest(code['diff']['digest'])})")
    else:
        lines.append(f"code       tree of {len(code['files'])} files {_digest(code['digest'])}")
    for facet in ("inputs", "outputs"):
        arts = p[facet]
        lines.append(f"{facet:<10} {len(arts)}" + ("" if arts else "  (none declared)"))
        if len(arts) > MAX_LISTED and not full:
            lines += _grouped(arts)
            continue
        for a in arts:
            extra = f", {len(a.get('files', []))} files" if a["kind"] == "directory" else ""
            mark = "  observed" if a.get("observed") else ""
            mark += "  state" if a.get("state") else ""
            name = a["path"] + ("/" if a["kind"] == "directory" else "")
            lines.append(f"  {name}  {_size(a['size'])}{extra}  {_digest(a['digest'])}{mark}")
    deps = p["deps"]
    py = deps.get("python") or {}
    os_info = deps.get("os") or {}
    distro = distro_name(os_info) or os_info.get("system") or "?"
    lines.append(
        f"python     {py.get('implementation', '')} {py.get('version', '?')} at {py.get('executable', '?')}"
        f"  ({len(deps.get('distributions', []))} distributions)"
    )
    lines.append(f"os         {distro}, kernel {os_info.get('release', '?')}, {libc_name(os_info) or ''}".rstrip())
    packages = deps.get("os_packages")
    if packages:
        lines.append(f"           {packages['count']} {packages['manager']} packages {_digest(packages['digest'])}")
    hw = p["hardware"]
    cpu = hw.get("cpu", {})
    lines.append(f"cpu        {cpu.get('model', '?')} ({cpu.get('vendor', '?')}), {cpu.get('logical_cores', '?')} cores, "
                 f"{_size(hw.get('memory_bytes', 0))}")
    lines.append(f"           flags {' '.join(cpu.get('flags', [])) or '-'}")
    for g in hw.get("gpus", []):
        lines.append(f"gpu        {g.get('name')} driver {g.get('driver')} cuda {g.get('cuda')} {g.get('uuid')}")
    s = p["seeds"]
    seeded = ", ".join(f"{x['lib']}={x['value']}" for x in s["seeded"]) or "nothing"
    lines.append(f"seed       {s['seed']} ({s['source']}); seeded {seeded}")
    if s.get("variables"):
        lines.append("           " + " ".join(f"{k}={v}" for k, v in sorted(s["variables"].items())))
    lines.extend(_observed(p.get("observed"), full))
    masked = sum(1 for v in p["environment"].values() if v == "***")
    lines.append(f"env        {len(p['environment'])} variables ({masked} masked)")
    logs = p["logs"]
    lines.append(f"logs       {logs['stdout']['path']} ({_size(logs['stdout']['size'])}), "
                 f"{logs['stderr']['path']} ({_size(logs['stderr']['size'])})")
    if p.get("replay_of"):
        lines.append(f"replay of  {p['replay_of']['run_id']}  {_digest(p['replay_of']['manifest_digest'])}")
    for w in p["warnings"]:
        lines.append(f"warning    {w}")
    # A manifest shown may not be trusted: its strings must not move the cursor or rewrite the
    # signature line above them.
    return "\n".join(printable(line) for line in lines) + "\n"
