"""Evidence of nondeterministic code, from what the injected hook saw inside the run.

The hook notes, at the place in the program's own code where it happens: a generator created
without a seed (shared with the warnings of `repro run`), a seed derived from the clock or the
process id, a read of OS entropy (os.urandom, secrets, random.SystemRandom, /dev/urandom), a set
iterated in an order-preserving way (a possibility only: the order follows PYTHONHASHSEED when
the elements are strings), and torch's determinism switches as they were when the program ended.
`section` turns the records into the manifest's `observed.nondeterminism`; `evidence` reads a
manifest back into the list `repro doctor` and the replay report show as likely causes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

MAX_ITEMS = 50


@dataclass(frozen=True)
class Evidence:
    """One thing the program did that can make a rerun differ, at file:line. `certain` is False
    for a possibility (a set iterated: only strings make its order vary between runs)."""

    kind: str  # unseeded | clock_seed | pid_seed | entropy | set_order | torch
    site: str | None
    detail: str
    certain: bool = True

    def to_json(self) -> dict:
        return {"kind": self.kind, "site": self.site, "detail": self.detail, "certain": self.certain}


def _relative(site: object, root: str | None) -> str:
    text = str(site)
    if root and text.startswith(root.rstrip("/") + "/"):
        return text[len(root.rstrip("/")) + 1:]
    return text


def _in_project(site: str) -> bool:
    return not site.startswith(("/", "<"))


def section(events: Iterable[dict], root: str) -> dict:
    """`observed.nondeterminism` of the manifest, from the hook's records (each item once)."""
    events = list(events)
    roots = {ev.get("pid"): ev.get("root") or root for ev in events if ev.get("event") == "start"}
    derived: dict[tuple[str, str], str] = {}
    entropy: dict[tuple[str, str], int] = {}
    orders: dict[str, None] = {}
    torch: dict | None = None
    for ev in events:
        base = roots.get(ev.get("pid")) or root
        if ev.get("event") == "torch_flags" and isinstance(ev.get("flags"), dict):
            torch = torch or dict(ev["flags"])
            continue
        if ev.get("event") != "observed":
            continue
        for call in ev.get("seed_calls") or ():
            if call.get("derived") in ("clock", "pid"):
                site = _relative(call.get("user_site") or call.get("site"), base)
                derived.setdefault((str(call.get("call")), site), call["derived"])
        for read in ev.get("entropy") or ():
            key = (str(read.get("call")), _relative(read.get("site"), base))
            entropy[key] = entropy.get(key, 0) + int(read.get("count") or 1)
        for item in ev.get("set_order") or ():
            orders.setdefault(_relative(item.get("site"), base))
    return {
        "derived_seeds": [{"call": c, "site": s, "from": d} for (c, s), d in list(derived.items())[:MAX_ITEMS]
                          if _in_project(s)],
        "entropy": [{"call": c, "site": s, "count": n} for (c, s), n in list(entropy.items())[:MAX_ITEMS]
                    if _in_project(s)],
        "set_order": [s for s in list(orders)[:MAX_ITEMS] if _in_project(s)],
        "torch": torch,
    }


_TORCH_RISKS = (
    ("deterministic_algorithms", False, "torch.use_deterministic_algorithms was off"),
    ("cudnn_benchmark", True, "torch.backends.cudnn.benchmark was on (cuDNN picks its kernels by timing)"),
    ("tf32_matmul", True, "TF32 matmul was allowed (torch.backends.cuda.matmul.allow_tf32)"),
)


def evidence(predicate: dict) -> list[Evidence]:
    """The likely causes a manifest records: unseeded generators of the program's own code,
    seeds from the clock or the pid, entropy reads, set iterations, torch's switches."""
    observed = predicate.get("observed") or {}
    out: list[Evidence] = []
    for c in observed.get("seed_calls") or ():
        if c.get("unseeded") and c.get("user_site") == c.get("site") and _in_project(str(c.get("site"))):
            out.append(Evidence("unseeded", c["site"], f"{c['site']}: {c['call']} without a seed draws it from the "
                                                       "operating system"))
    found = observed.get("nondeterminism") or {}
    for d in found.get("derived_seeds") or ():
        what = "the clock" if d["from"] == "clock" else "the process id"
        out.append(Evidence(f"{d['from']}_seed", d["site"], f"{d['site']}: {d['call']} is seeded from {what}"))
    for e in found.get("entropy") or ():
        out.append(Evidence("entropy", e["site"], f"{e['site']}: reads OS entropy ({e['call']})"))
    for site in found.get("set_order") or ():
        out.append(Evidence("set_order", site, f"{site}: iterates a set; if it holds strings, the order follows "
                                               "PYTHONHASHSEED", certain=False))
    flags = found.get("torch")
    if isinstance(flags, dict):
        risky = [text for name, bad, text in _TORCH_RISKS if flags.get(name) is bad]
        if flags.get("cuda_initialized") is not True:
            risky = [t for t in risky if "cudnn" not in t and "TF32" not in t]  # switches of the GPU only
        if risky:
            out.append(Evidence("torch", None, "torch at the end of the run: " + "; ".join(risky),
                                certain=False))
    return out


def merged(*predicates: dict) -> list[Evidence]:
    """The evidence of several manifests (the recorded run and its replays), each item once."""
    seen: dict[tuple[str, str | None, str], Evidence] = {}
    for pred in predicates:
        for e in evidence(pred):
            seen.setdefault((e.kind, e.site, e.detail), e)
    return list(seen.values())
