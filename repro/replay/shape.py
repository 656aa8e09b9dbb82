"""Replay at the recorded shape: the same world size, nodes and tasks per node, through the
recorded launcher (docs/distributed.md).

Before anything runs, the recorded command line is read as its launcher would read it here
(`srun`'s options and the allocation's variables, torchrun's `--nnodes` and `--nproc-per-node`)
and compared with the shape the manifest recorded; a replay that cannot get that shape is refused
(exit 2) with what is missing. `--shape NODESxTASKS` asks for another shape on purpose: the
launcher's options are rewritten to it and the replay reports the difference as drift.

Parsing and rewriting are pure; `cluster_nodes` asks Slurm, with a bounded wait.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

from repro.capture.distributed import launcher_of
from repro.errors import UsageError

_SRUN_VALUED = frozenset("-A -b -c -C -d -D -e -G -i -J -L -m -n -N -o -p -q -t -w -x -W".split())
"""srun's short options that take a value as the next word: the program starts after them."""
_SRUN_LONG_VALUED = frozenset(("--account", "--cpus-per-task", "--constraint", "--chdir", "--error", "--gpus",
                               "--input", "--job-name", "--licenses", "--distribution", "--ntasks", "--nodes",
                               "--output", "--partition", "--qos", "--time", "--nodelist", "--exclude",
                               "--ntasks-per-node", "--mem", "--mem-per-cpu", "--export", "--mpi", "--gres"))
_TORCHRUN_NPROC = ("--nproc_per_node", "--nproc-per-node")
SLURM_TIMEOUT_S = 10


@dataclass(frozen=True)
class Shape:
    """A job's shape: `nodes` x `tasks_per_node` ranks, `world_size` in all."""

    nodes: int
    tasks_per_node: int
    world_size: int

    def text(self) -> str:
        return f"{self.nodes} node(s) x {self.tasks_per_node} task(s) (world size {self.world_size})"


def parse_override(text: str) -> Shape:
    """`--shape NODESxTASKS`, e.g. `1x2`: the shape a replay asks for instead of the recorded one."""
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text or "")
    if not m or int(m.group(1)) < 1 or int(m.group(2)) < 1:
        raise UsageError(f"--shape {text!r}: give NODESxTASKS_PER_NODE, for example 1x2")
    nodes, tasks = int(m.group(1)), int(m.group(2))
    return Shape(nodes, tasks, nodes * tasks)


def _options(argv: Sequence[str], valued: Callable[[str], bool]) -> tuple[dict[str, str], int]:
    """A launcher's options (`--name` / `-x` -> value; flags -> "") and where its program starts."""
    found: dict[str, str] = {}
    i = 1
    while i < len(argv):
        word = argv[i]
        if word == "--":
            return found, i + 1
        if not word.startswith("-") or word == "-":
            return found, i
        if word.startswith("--") and "=" in word:
            name, _, value = word.partition("=")
            found[name] = value
        elif valued(word) and i + 1 < len(argv):
            found[word] = argv[i + 1]
            i += 1
        elif not word.startswith("--") and len(word) > 2 and valued(word[:2]):
            found[word[:2]] = word[2:]
        else:
            found[word] = ""
        i += 1
    return found, len(argv)


def _srun_valued(word: str) -> bool:
    return word in _SRUN_VALUED or word in _SRUN_LONG_VALUED


def _torchrun_valued(word: str) -> bool:
    return word.startswith("--") and word not in ("--standalone", "--no-python", "--no_python", "--module",
                                                   "--run-path", "--run_path", "-m")


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.strip().isdigit() else None


def _nproc(value: str | None, env: Mapping[str, str]) -> int | None:
    """torchrun's --nproc-per-node as it resolves it: a number, or `cpu`/`auto` (this machine's
    CPUs without GPUs), or `gpu` (its GPUs)."""
    if value is None:
        return 1
    if value.isdigit():
        return int(value)
    if value in ("cpu", "auto", "gpu"):
        return os.cpu_count() or 1  # no GPU is visible to repro here; a GPU host resolves `gpu`/`auto` itself
    return None


def _torchrun_start(argv: Sequence[str]) -> int:
    """Where torchrun's own options start: after `torchrun`, or after `python -m torch.distributed.run`."""
    return 1 if not os.path.basename(argv[0]).startswith("python") else list(argv).index("-m") + 2


def torchrun_shape(argv: Sequence[str], env: Mapping[str, str]) -> tuple[Shape | None, int]:
    start = _torchrun_start(argv)
    opts, program = _options(argv[start - 1:], _torchrun_valued)
    program += start - 1
    get = lambda *names: next((opts[n] for n in names if n in opts), None)  # noqa: E731
    nnodes_text = get("--nnodes") or env.get("PET_NNODES") or "1"
    nodes = _int(nnodes_text.split(":")[-1])
    nproc = _nproc(get(*_TORCHRUN_NPROC) or env.get("PET_NPROC_PER_NODE"), env)
    if nodes is None or nproc is None:
        return None, program
    return Shape(nodes, nproc, nodes * nproc), program


def srun_shape(argv: Sequence[str], env: Mapping[str, str]) -> tuple[Shape, int]:
    """What `srun` would launch here: `-n`, `-N`, `--ntasks-per-node`, else the allocation's
    variables (inside `sbatch -n 4`, a bare `srun` runs 4 tasks), else one task on one node."""
    opts, program = _options(argv, _srun_valued)
    get = lambda *names: next((opts[n] for n in names if n in opts), None)  # noqa: E731
    ntasks = _int(get("-n", "--ntasks")) or _int(env.get("SLURM_NTASKS")) or _int(env.get("SLURM_NPROCS"))
    nodes_text = get("-N", "--nodes") or env.get("SLURM_JOB_NUM_NODES") or env.get("SLURM_NNODES")
    nodes = _int((nodes_text or "").split("-")[-1])
    per_node = _int(get("--ntasks-per-node")) or _int(env.get("SLURM_NTASKS_PER_NODE"))
    if ntasks is None:
        ntasks = (per_node or 1) * (nodes or 1)
    if nodes is None:
        nodes = 1 if per_node is None else max(1, -(-ntasks // per_node))
    nodes = min(nodes, ntasks)
    return Shape(nodes, per_node or -(-ntasks // nodes), ntasks), program


def requested(argv: Sequence[str], env: Mapping[str, str]) -> tuple[str | None, Shape | None]:
    """(launcher, the shape of ranks the command line would start here), composed through a
    torchrun inside srun; (None, None) for a command line that names no launcher."""
    launcher = launcher_of(argv)
    if launcher == "slurm":
        outer, program = srun_shape(argv, env)
        inner_argv = list(argv[program:])
        if launcher_of(inner_argv) == "torchrun":
            inner, _ = torchrun_shape(inner_argv, env)
            if inner is None:
                return launcher, None
            return launcher, Shape(outer.nodes, inner.tasks_per_node * -(-outer.world_size // outer.nodes),
                                   outer.world_size * inner.tasks_per_node)
        return launcher, outer
    if launcher == "torchrun":
        return launcher, torchrun_shape(list(argv), env)[0]
    return launcher, None


def recorded(pred: Mapping) -> Shape | None:
    """The shape a manifest recorded: its world size, nodes and the most tasks on one node."""
    shape = (pred.get("distributed") or {}).get("shape")
    if not shape:
        return None
    per = shape.get("tasks_per_node") or [0]
    return Shape(int(shape.get("nodes") or 0), max(per), int(shape.get("world_size") or 0))


def cluster_nodes(run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> int:
    """How many nodes Slurm answers with that can run jobs; a UsageError naming why not."""
    try:
        out = run(["sinfo", "-h", "-N", "-o", "%N %T"], capture_output=True, text=True, timeout=SLURM_TIMEOUT_S)
    except subprocess.TimeoutExpired as e:
        raise UsageError(f"Slurm did not answer within {SLURM_TIMEOUT_S} s (sinfo)") from e
    except OSError as e:
        raise UsageError(f"cannot run sinfo: {e.strerror or e}") from e
    if out.returncode != 0:
        reason = (out.stderr.strip().splitlines() or ["sinfo failed"])[-1]
        raise UsageError(f"no Slurm controller answers: {reason}")
    usable = {line.split()[0] for line in out.stdout.splitlines()
              if len(line.split()) == 2 and not re.match(r"(down|drain|fail)", line.split()[1])}
    return len(usable)


def check(pred: Mapping, argv: Sequence[str], env: Mapping[str, str], *,
          which: Callable[[str], str | None] = shutil.which,
          nodes: Callable[[], int] = cluster_nodes) -> None:
    """Refuse (UsageError, exit 2) a replay that cannot run at the recorded shape here."""
    want = recorded(pred)
    launcher = (pred.get("distributed") or {}).get("launcher") or launcher_of(argv)
    if want is None and launcher is None:
        return
    hint = "; replay with --shape NODESxTASKS to run at another shape, reported as drift"
    if launcher == "slurm" or launcher_of(argv) == "slurm":
        if which("srun") is None:
            raise UsageError(f"the recorded job ran under Slurm ({want.text() if want else 'srun'}) and there is no "
                             f"srun here: replay it on a Slurm cluster{hint}")
        have = nodes()
        if want is not None and have < want.nodes:
            raise UsageError(f"the recorded job ran on {want.nodes} node(s); this Slurm cluster has {have} usable "
                             f"node(s){hint}")
    got_launcher, got = requested(argv, env)
    if want is None or got is None:
        return
    if got.world_size != want.world_size or got.nodes != want.nodes:
        where = ""
        given = _options(argv, _srun_valued)[0] if got_launcher == "slurm" else {}
        if got_launcher == "slurm" and not {"-n", "--ntasks", "-N", "--nodes"} & set(given):
            where = " (srun takes its task count from the allocation: replay inside one of that shape, as " \
                    "`repro replay --slurm` does)"
        raise UsageError(f"the recorded job ran {want.text()}; this replay would run {got.text()}{where}{hint}")
    if got_launcher == "torchrun" and got.nodes > 1 and "SLURM_JOB_ID" not in env:
        raise UsageError(f"the recorded torchrun job spanned {got.nodes} nodes: its rendezvous needs them all; "
                         f"replay it where they are (inside the allocation){hint}")


def _strip(argv: list[str], start: int, end: int, names: frozenset[str], valued: Callable[[str], bool]) -> list[str]:
    out = argv[:start]
    i = start
    while i < end:
        word = argv[i]
        name = word.partition("=")[0] if word.startswith("--") else word[:2]
        if name in names:
            i += 2 if (word == name and valued(word)) else 1
            continue
        out.append(word)
        i += 1
    return out + argv[end:]


def override(argv: Sequence[str], shape: Shape) -> list[str]:
    """The command line rewritten to `shape`: srun's -N/-n/--ntasks-per-node, or torchrun's
    --nnodes/--nproc-per-node (a torchrun inside srun gets one task per node and the tasks as
    its processes). A command line without a launcher is refused: there is nothing to reshape."""
    args = list(argv)
    launcher = launcher_of(args)
    if launcher == "slurm":
        _, program = srun_shape(args, {})
        inner = args[program:]
        if launcher_of(inner) == "torchrun":
            head = _strip(args[:program], 1, program, frozenset(("-N", "--nodes", "-n", "--ntasks",
                                                                 "--ntasks-per-node")), _srun_valued)
            return [head[0], "--nodes", str(shape.nodes), "--ntasks-per-node", "1", *head[1:],
                    *override(inner, Shape(shape.nodes, shape.tasks_per_node, shape.world_size))]
        head = _strip(args[:program], 1, program, frozenset(("-N", "--nodes", "-n", "--ntasks", "--ntasks-per-node")),
                      _srun_valued)
        return [head[0], "--nodes", str(shape.nodes), "--ntasks-per-node", str(shape.tasks_per_node),
                "--ntasks", str(shape.world_size), *head[1:], *inner]
    if launcher == "torchrun":
        start = _torchrun_start(args)
        _, program = torchrun_shape(args, {})
        head = _strip(args[:program], start, program, frozenset(("--nnodes", *_TORCHRUN_NPROC)), _torchrun_valued)
        return [*head[:start], "--nnodes", str(shape.nodes), "--nproc-per-node", str(shape.tasks_per_node),
                *head[start:], *args[program:]]
    raise UsageError("--shape: the recorded command starts no launcher (srun, torchrun) whose shape can be changed")
