"""The conditions `repro doctor` varies, one at a time: each knob is plain data — its name, what
it changes in the replay, and the fix to suggest when the outputs follow it.

A knob that cannot be varied here (no BLAS loaded, no numpy, a container run) says why instead of
a variation: it is reported as not applicable, never silently dropped.
"""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass, field
from typing import Callable

from repro.capture.seeds import THREAD_VARIABLES
from repro.doctor.blas import Libraries
from repro.errors import UsageError
from repro.replay.conditions import Conditions


@dataclass(frozen=True)
class Context:
    """What the knobs need to know about the recorded run and this machine."""

    seed: int
    pythonhashseed: str | None
    threads: int | None  # `--threads` of the recorded run
    variables: dict[str, str]  # determinism variables the run had
    environment: dict[str, str]  # the recorded environment (secrets masked)
    cpus: int
    sandbox: str  # bwrap | copy | docker
    libraries: Libraries | None = None
    locales: tuple[str, ...] = ()


@dataclass(frozen=True)
class Variation:
    """One replay with one condition changed: `change` says what, for the table; `fix` is what
    to do when the outputs follow it; an `expected` dependence (on the run's own seed) is
    reported but never counted as a cause."""

    knob: str
    change: str
    conditions: Conditions
    fix: str
    expected: bool = False
    sandbox: str | None = None  # run this replay in another sandbox kind (the working directory knob)


@dataclass(frozen=True)
class Knob:
    name: str
    summary: str
    vary: Callable[[Context], "Variation | str"]  # a variation, or why the knob does not apply here


def _thread_count(ctx: Context) -> int:
    """The thread count the baseline replays run with."""
    if ctx.threads is not None:
        return ctx.threads
    for name in THREAD_VARIABLES:
        value = ctx.variables.get(name) or ctx.environment.get(name)
        if value and value.isdigit():
            return int(value)
    return ctx.cpus


def _threads(ctx: Context) -> Variation | str:
    now = _thread_count(ctx)
    other = 1 if now > 1 else max(2, ctx.cpus)
    return Variation(
        "threads", f"{'/'.join(n.split('_')[0] for n in THREAD_VARIABLES[:3])} threads {other} (baseline {now})",
        Conditions(threads=other),
        f"pin the thread count when recording (`repro run --threads {now}`), so every replay uses {now} threads "
        "whatever the machine; or sum in a fixed order")


def _hashseed(ctx: Context) -> Variation | str:
    recorded = ctx.pythonhashseed
    other = str((int(recorded) + 1) % 2**32) if recorded and recorded.isdigit() else "1"
    return Variation(
        "hashseed", f"PYTHONHASHSEED={other} (recorded {recorded or 'unset'})", Conditions(env={"PYTHONHASHSEED": other}),
        "iterate sets (and dicts built from them) of strings in sorted order (`sorted(...)`) before they reach an "
        "output: their order follows PYTHONHASHSEED, which repro pins but a plain `python` run draws anew")


def _seed(ctx: Context) -> Variation | str:
    other = (ctx.seed + 1) % 2**32
    keep = {"PYTHONHASHSEED": ctx.pythonhashseed} if ctx.pythonhashseed is not None else {}
    return Variation(
        "seed", f"run seed {other} (recorded {ctx.seed}; PYTHONHASHSEED kept)", Conditions(seed=other, env=keep),
        "none needed: the outputs follow the run's seed, which the manifest records and every replay reuses",
        expected=True)


_GENERIC_CORE = {"x86_64": "Prescott", "amd64": "Prescott", "aarch64": "ARMV8", "arm64": "ARMV8"}


def _blas(ctx: Context) -> Variation | str:
    if ctx.sandbox == "docker":
        return "the run is in a container: its BLAS is not probed"
    libs = ctx.libraries
    if libs is None or not libs.blas:
        return (f"no BLAS found ({libs.error})" if libs is not None and libs.error
                else "no BLAS is loaded by the run's numpy (or numpy is not installed)")
    apis = libs.apis
    if "openblas" in apis:
        arch = next((b.architecture for b in libs.blas if b.api == "openblas" and b.architecture), None)
        core = _GENERIC_CORE.get(platform.machine().lower())
        if core is None:
            return f"no generic OpenBLAS kernel is known for {platform.machine()}"
        if arch and arch.lower() == core.lower():
            core = "Sandybridge" if core == "Prescott" else "NEOVERSEN1"
        pin = arch or "the kernel of the recording machine"
        return Variation(
            "blas", f"OPENBLAS_CORETYPE={core} (OpenBLAS picked {arch or 'its own kernel'})",
            Conditions(env={"OPENBLAS_CORETYPE": core}),
            f"the results follow OpenBLAS's CPU kernel: set OPENBLAS_CORETYPE={pin} when recording (repro records it "
            "and every replay restores it), or compare within a tolerance (docs/tolerance.md)")
    if "mkl" in apis:
        return Variation(
            "blas", "MKL_ENABLE_INSTRUCTIONS=SSE4_2 (MKL's kernels for an older CPU)",
            Conditions(env={"MKL_ENABLE_INSTRUCTIONS": "SSE4_2"}),
            "the results follow MKL's CPU kernel: set MKL_CBWR=COMPATIBLE (or AVX2) when recording, so MKL computes "
            "the same on every CPU (repro records it and every replay restores it)")
    return f"the loaded BLAS ({', '.join(sorted(apis))}) has no kernel switch repro knows"


def _isa(ctx: Context) -> Variation | str:
    if ctx.sandbox == "docker":
        return "the run is in a container: its numpy is not probed"
    libs = ctx.libraries
    if libs is None or libs.numpy is None:
        return "numpy is not installed for the run's interpreter"
    if not libs.dispatch:
        return "numpy dispatches to no CPU feature beyond its baseline on this machine"
    features = " ".join(libs.dispatch)
    return Variation(
        "isa", f"NPY_DISABLE_CPU_FEATURES=\"{features}\" (numpy's baseline kernels only)",
        Conditions(env={"NPY_DISABLE_CPU_FEATURES": features}),
        "numpy's results follow the SIMD kernels of the CPU: replay on the same CPU family, or compare within a "
        "tolerance (docs/tolerance.md)")


def _cwd(ctx: Context) -> Variation | str:
    if ctx.sandbox == "copy":
        return ("each replay already runs at a fresh scratch path (no bwrap here), so the baseline covers the "
                "working directory")
    if ctx.sandbox == "docker":
        return "the run is in a container: it replays at the recorded path"
    return Variation(
        "cwd", "project at a scratch path instead of the recorded one", Conditions(),
        "keep absolute paths out of the outputs: write paths relative to the project", sandbox="copy")


def _listing(ctx: Context) -> Variation | str:
    return Variation(
        "listing", "directory listings in reverse order (os.listdir, os.scandir, glob)", Conditions(listing="reverse"),
        "sort directory listings before use (`sorted(os.listdir(d))`, `sorted(glob(...))`): their order is the file "
        "system's")


def _tz(ctx: Context) -> Variation | str:
    recorded = ctx.environment.get("TZ")
    other = "Asia/Kathmandu" if recorded != "Asia/Kathmandu" else "America/St_Johns"
    return Variation(
        "tz", f"TZ={other} (recorded {recorded or 'unset'})", Conditions(env={"TZ": other}),
        "write times in UTC (`datetime.now(timezone.utc)`) or keep timestamps out of the outputs")


def available_locales() -> tuple[str, ...]:
    try:
        done = subprocess.run(["locale", "-a"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ()
    return tuple(line.strip() for line in done.stdout.splitlines() if line.strip())


_LOCALE_PREFERENCE = ("de_DE.utf8", "fr_FR.utf8", "en_US.utf8", "C.utf8", "C")


def _locale(ctx: Context) -> Variation | str:
    recorded = ctx.environment.get("LC_ALL") or ctx.environment.get("LANG")
    have = {name.lower().replace("-", ""): name for name in ctx.locales}
    now = (recorded or "").lower().replace("-", "")
    for wanted in _LOCALE_PREFERENCE:
        name = have.get(wanted.lower())
        if name is not None and wanted.lower() != now:
            return Variation(
                "locale", f"LC_ALL={name} (recorded {recorded or 'unset'})", Conditions(env={"LC_ALL": name}),
                "do not format numbers or sort strings by the locale (`locale.setlocale`, `%n`, `strcoll`), or name "
                "LC_ALL in `env:` of repro.yaml")
    return "no other locale is installed on this machine (`locale -a`)"


KNOBS: dict[str, Knob] = {k.name: k for k in (
    Knob("threads", "thread count of OpenMP, MKL and OpenBLAS: 1 against N", _threads),
    Knob("hashseed", "PYTHONHASHSEED, the order of sets and dicts of strings", _hashseed),
    Knob("seed", "the run's seed (PYTHONHASHSEED kept): outputs are expected to follow it", _seed),
    Knob("blas", "the BLAS kernel: OPENBLAS_CORETYPE or MKL_ENABLE_INSTRUCTIONS, as the loaded BLAS honours", _blas),
    Knob("isa", "numpy's CPU dispatch: NPY_DISABLE_CPU_FEATURES", _isa),
    Knob("cwd", "the working directory's path", _cwd),
    Knob("listing", "the order of directory listings", _listing),
    Knob("tz", "the time zone (TZ)", _tz),
    Knob("locale", "the locale (LC_ALL)", _locale),
)}
DEFAULT = tuple(KNOBS)


@dataclass(frozen=True)
class Asked:
    """The knobs asked for, in order, with the user's own `env:NAME=VALUE` variations."""

    names: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = field(default=())


def parse(spec: str | None) -> Asked:
    """`threads,hashseed,env:TZ=UTC` -> the knobs; an unknown name is a usage error."""
    if spec is None or spec.strip() in ("", "all"):
        return Asked(DEFAULT)
    names: list[str] = []
    env: list[tuple[str, str]] = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        if part == "all":
            names += [n for n in DEFAULT if n not in names]
        elif part.startswith("env:"):
            name, eq, value = part[4:].partition("=")
            if not name or not eq or "\0" in part or not name.replace("_", "a").isalnum():
                raise UsageError(f"--vary {part}: write env:NAME=VALUE (for example env:TZ=UTC)")
            env.append((name, value))
        elif part in KNOBS:
            if part not in names:
                names.append(part)
        else:
            raise UsageError(f"--vary: unknown knob {part!r} (known: {', '.join(DEFAULT)}, env:NAME=VALUE)")
    return Asked(tuple(names), tuple(env))


def env_variation(name: str, value: str, recorded: dict[str, str]) -> Variation:
    return Variation(
        f"env:{name}", f"{name}={value} (recorded {recorded.get(name, 'unset')})", Conditions(env={name: value}),
        f"the outputs follow {name}: name it in `env:` of repro.yaml so the run records it and every replay restores it")


def variations(asked: Asked, ctx: Context) -> list[tuple[str, "Variation | str"]]:
    """(knob, variation or the reason it does not apply), in the order asked."""
    out: list[tuple[str, Variation | str]] = [(name, KNOBS[name].vary(ctx)) for name in asked.names]
    out += [(f"env:{n}", env_variation(n, v, ctx.environment)) for n, v in asked.env]
    return out


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
