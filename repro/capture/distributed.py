"""The `distributed` section of a manifest: one job across ranks and nodes, from the records the
injected hook wrote in every rank (docs/distributed.md).

A process started by a launcher (torchrun, Slurm's srun, MPI) carries the launcher's variables;
the hook records them once per process, with its host, and on each node's local rank 0 the
node's hardware. Here those records become the job as a whole: who launched it, its world size
and shape, each node with its ranks and hardware, each rank with its seeding and files, the
communication library in use, and the ranks that never reported (missing) or did not end
normally (failed). A job whose records are incomplete is never shown as a smaller job.

Everything here is a pure function of the records and the command line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping

from repro import observe

MAX_RANKS = 4096
MAX_FILES_PER_RANK = 100

LAYERS = ("slurm", "mpi", "torchrun")
"""Launch layers from outermost to innermost: torchrun inside srun is a Slurm job of torch ranks."""

_RANK: dict[str, tuple[str, ...]] = {
    "torchrun": ("RANK",),
    "mpi": ("OMPI_COMM_WORLD_RANK", "PMI_RANK"),
    "slurm": ("SLURM_PROCID",),
}
_SIZE: dict[str, tuple[str, ...]] = {
    "torchrun": ("WORLD_SIZE",),
    "mpi": ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE"),
    "slurm": ("SLURM_NTASKS",),
}
_LOCAL: dict[str, tuple[str, ...]] = {
    "torchrun": ("LOCAL_RANK",),
    "mpi": ("OMPI_COMM_WORLD_LOCAL_RANK",),
    "slurm": ("SLURM_LOCALID",),
}
_LAUNCHERS = {"srun": "slurm", "sbatch": "slurm", "salloc": "slurm", "torchrun": "torchrun", "mpirun": "mpi",
              "mpiexec": "mpi", "orterun": "mpi"}


@dataclass(frozen=True)
class RankProcess:
    """One process that carried a launcher's rank variables."""

    pid: int
    host: str
    variables: Mapping[str, str]
    hardware: dict | None = None
    master_addr: str | None = None
    master_port: str | None = None

    def number(self, layer: str, table: Mapping[str, tuple[str, ...]]) -> int | None:
        for name in table[layer]:
            value = self.variables.get(name)
            if value is not None and value.strip().isdigit():
                return int(value)
        return None

    def layers(self) -> tuple[str, ...]:
        return tuple(layer for layer in LAYERS if self.number(layer, _RANK) is not None)

    @property
    def node(self) -> str:
        """The node as the cluster names it (an emulated Slurm node shares its host's name)."""
        return self.variables.get("SLURMD_NODENAME") or self.host


@dataclass
class _Rank:
    rank: int
    process: RankProcess
    pids: set[int] = field(default_factory=set)


def launcher_of(argv: Iterable[str]) -> str | None:
    """The launcher a command line starts with: `srun ...`, `torchrun ...`, `python -m
    torch.distributed.run ...`, `mpirun ...`; None when it names none."""
    args = list(argv)
    if not args:
        return None
    name = os.path.basename(args[0])
    if name in _LAUNCHERS:
        return _LAUNCHERS[name]
    if name.startswith("python") and "-m" in args:
        module = args[args.index("-m") + 1] if args.index("-m") + 1 < len(args) else ""
        if module in ("torch.distributed.run", "torch.distributed.launch"):
            return "torchrun"
    return None


def rank_processes(events: Iterable[dict]) -> list[RankProcess]:
    """Every `rank` record, as the process it describes (records are checked when read)."""
    out = []
    for ev in events:
        if ev.get("event") != "rank":
            continue
        out.append(RankProcess(int(ev["pid"]), str(ev["host"]), dict(ev.get("variables") or {}), ev.get("hardware"),
                               ev.get("master_addr"), ev.get("master_port")))
    return out


def _descendants(pids: set[int], processes: list[observe.ProcessLog]) -> set[int]:
    """The pids and every process started below them (forked DataLoader workers, spawned helpers)."""
    found = set(pids)
    changed = True
    while changed:
        changed = False
        for proc in processes:
            if proc.pid not in found and proc.ppid in found:
                found.add(proc.pid)
                changed = True
    return found


def _rank_files(pids: set[int], processes: list[observe.ProcessLog], root: Path, ignore: tuple[str, ...],
                is_file: Callable[[str], bool] | None) -> dict:
    mine = [p for p in processes if p.pid in pids]
    found = observe.classify(mine, root, ignore=ignore, is_file=is_file)
    return {"inputs": list(found.inputs[:MAX_FILES_PER_RANK]), "outputs": list(found.outputs[:MAX_FILES_PER_RANK])}


def _seeded(pids: set[int], events: Iterable[dict]) -> list[dict]:
    seen: dict[tuple[str, int], None] = {}
    for ev in events:
        if ev.get("event") == "seeded" and ev.get("pid") in pids:
            seen.setdefault((str(ev.get("lib")), int(ev.get("value", 0))))
    return [{"lib": lib, "value": value} for lib, value in seen]


def _seed_calls(pids: set[int], processes: list[observe.ProcessLog]) -> list[dict]:
    """The seeding calls each rank's own code made (what a rank-dependent seed looks like)."""
    calls: dict[tuple[str, str], list] = {}
    for proc in processes:
        if proc.pid not in pids:
            continue
        for call in proc.seed_calls:
            site = str(call.get("user_site") or call.get("site"))
            base = (proc.root or "").rstrip("/") + "/"
            key = (str(call.get("call")), site[len(base):] if proc.root and site.startswith(base) else site)
            values = calls.setdefault(key, [])
            for v in call.get("values") or []:
                v = observe.json_value(v)
                if v not in values and len(values) < observe.MAX_SEED_VALUES:
                    values.append(v)
    return [{"call": c, "site": s, "values": v} for (c, s), v in calls.items()][:100]


def _ended(events: Iterable[dict]) -> dict[int, str | None]:
    """pid -> the error a rank ended with (None: a clean exit), for every rank that said it ended."""
    out: dict[int, str | None] = {}
    for ev in events:
        if ev.get("event") == "rank_end":
            out[int(ev["pid"])] = ev.get("error")
    return out


def _communication(events: Iterable[dict], rank_of: Mapping[int, int]) -> list[dict]:
    found: dict[tuple, set[int]] = {}
    for ev in events:
        if ev.get("event") != "comm":
            continue
        key = (ev.get("library"), ev.get("backend"), ev.get("torch"), ev.get("gloo"), ev.get("nccl"))
        found.setdefault(key, set()).add(rank_of.get(int(ev["pid"]), -1))
    return [{"library": k[0], "backend": k[1], "torch": k[2], "gloo": k[3], "nccl": k[4], "ranks": len(v)}
            for k, v in found.items()]


def section(events: list[dict], argv: Iterable[str], root: Path, *, ignore: Iterable[str] = (),
            is_file: Callable[[str], bool] | None = None) -> dict | None:
    """The `distributed` section, or None when no process of the run carried rank variables."""
    procs = rank_processes(events)
    if not procs:
        return None
    layers = [layer for layer in LAYERS if any(layer in p.layers() for p in procs)]
    if not layers:
        return None
    inner = layers[-1]
    processes = observe.merge_processes(events)
    ranks: dict[int, _Rank] = {}
    agents = 0
    for proc in procs:
        number = proc.number(inner, _RANK)
        if number is None:  # a launcher's own agent (torchrun's, inside an srun task)
            agents += 1
            continue
        entry = ranks.get(number)
        if entry is None:
            ranks[number] = _Rank(number, proc, {proc.pid})
        else:  # a second interpreter of the same rank (multiprocessing spawn): the rank's, not another rank
            entry.pids.add(proc.pid)
            if proc.pid < entry.process.pid:
                entry.process = proc
    sizes = [s for p in procs if (s := p.number(inner, _SIZE)) is not None]
    world = max([*sizes, *(r + 1 for r in ranks)]) if (sizes or ranks) else 0
    ended = _ended(events)
    rank_of = {pid: r.rank for r in ranks.values() for pid in r.pids}
    entries = []
    failed = []
    for number in sorted(ranks)[:MAX_RANKS]:
        r = ranks[number]
        pids = _descendants(r.pids, processes)
        primary = r.process.pid
        if primary not in ended:
            status, error = "failed", "did not end normally (killed, or cut off)"
        elif ended[primary] is not None:
            status, error = "failed", str(ended[primary])
        else:
            status, error = "ended", None
        if status == "failed":
            failed.append(number)
        entries.append({
            "rank": number,
            "local_rank": r.process.number(inner, _LOCAL),
            "node": r.process.node,
            "pid": primary,
            "processes": len(pids),
            "status": status,
            **({"error": error} if error else {}),
            "seeded": _seeded(pids, events),
            "seed_calls": _seed_calls(pids, processes),
            "files": _rank_files(pids, processes, root, tuple(ignore), is_file),
        })
    nodes: dict[str, dict] = {}
    for proc in sorted(procs, key=lambda p: p.pid):
        node = nodes.setdefault(proc.node, {"name": proc.node, "host": proc.host, "ranks": [], "hardware": None})
        if proc.hardware is not None and node["hardware"] is None:
            node["hardware"] = proc.hardware
    for e in entries:
        nodes[e["node"]]["ranks"].append(e["rank"])
    node_list = sorted(nodes.values(), key=lambda n: (min(n["ranks"]) if n["ranks"] else MAX_RANKS, n["name"]))
    expected_nodes = max([len(node_list), *(n for p in procs if (n := _int(p.variables.get("SLURM_NNODES"))) is not None),
                          *(w // lw for p in procs if inner == "torchrun"
                            and (w := _int(p.variables.get("WORLD_SIZE"))) and (lw := _int(p.variables.get("LOCAL_WORLD_SIZE"))))])
    out: dict = {
        "launcher": launcher_of(argv) or layers[0],
        "layers": layers,
        "world_size": world,
        "shape": {"world_size": world, "nodes": expected_nodes,
                  "tasks_per_node": [len(n["ranks"]) for n in node_list]},
        "nodes": node_list,
        "ranks": entries,
        "missing_ranks": [n for n in range(min(world, MAX_RANKS)) if n not in ranks],
        "failed_ranks": failed,
        "agents": agents,
        "communication": _communication(events, rank_of),
    }
    slurm = next((p.variables for p in procs if "SLURM_JOB_ID" in p.variables), None)
    if slurm is not None:
        out["slurm"] = {"job_id": slurm["SLURM_JOB_ID"], "step_id": slurm.get("SLURM_STEP_ID")}
    elastic = next((p.variables for p in procs if "TORCHELASTIC_RUN_ID" in p.variables), None)
    if elastic is not None:
        out["torchrun"] = {"run_id": elastic["TORCHELASTIC_RUN_ID"]}
    rendezvous = next((p for p in procs if p.master_addr), None)
    if rendezvous is not None:
        out["rendezvous"] = {"master_addr": rendezvous.master_addr, "master_port": rendezvous.master_port}
    return out


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.strip().isdigit() else None


def _ranks(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:10])
    return shown + (f" and {len(numbers) - 10} more" if len(numbers) > 10 else "")


def warnings(dist: dict | None) -> list[str]:
    """What the user must hear about an incomplete job: it is never silently a smaller one."""
    if not dist:
        return []
    out = []
    missing = dist.get("missing_ranks") or []
    if missing:
        out.append(f"distributed job of world size {dist['world_size']}: no records from rank(s) {_ranks(missing)} "
                   "(they never started under repro's hook, or their records did not reach the run directory: "
                   "on several nodes the project must be on a file system they share); the manifest names them "
                   "in distributed.missing_ranks")
    failed = dist.get("failed_ranks") or []
    if failed:
        errors = {e["rank"]: e.get("error") for e in dist.get("ranks") or []}
        detail = "; ".join(f"rank {n}: {errors.get(n)}" for n in failed[:5])
        out.append(f"{len(failed)} rank(s) of the distributed job did not end normally ({detail})")
    return out


def shape_text(shape: Mapping) -> str:
    """`2 nodes x 2 tasks (world size 4)` for messages and reports."""
    per = shape.get("tasks_per_node") or []
    tasks = str(per[0]) if per and len(set(per)) == 1 else "+".join(str(t) for t in per) or "?"
    return f"{shape.get('nodes')} node(s) x {tasks} task(s) (world size {shape.get('world_size')})"
