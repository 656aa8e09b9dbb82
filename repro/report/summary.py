"""What every format says the same way: counts per status, the one-line verdict, values and
errors as short text. Kept in one place so the terminal, the JSON and the JUnit report can never
disagree about what a replay found."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from repro.compare.verdict import STATUSES, Verdict
from repro.replay.result import ReplayReport, SandboxReport

LOG_NAMES = ("stdout", "stderr")
"""The names under which the command's own logs are compared (rules may `match:` them)."""

_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def status_label(status: str) -> str:
    """`within_tolerance` as `within tolerance`: statuses read as words in prose."""
    return status.replace("_", " ")


def counts(report: ReplayReport) -> dict[str, int]:
    """How many outputs ended in each status, every status present (zero included)."""
    out = dict.fromkeys(STATUSES, 0)
    for v in report.verdicts:
        out[v.status] += 1
    return out


def exit_code_matches(report: ReplayReport) -> bool:
    return report.exit_code_replayed == report.exit_code_recorded


def verdict_line(report: ReplayReport) -> str:
    """`REPRODUCED: 5 outputs (4 identical, 1 within tolerance)`, `NOT REPRODUCED: ...` with a
    changed exit code named first, since it explains everything after it, or `NOTHING VERIFIED:
    ...` when nothing was compared."""
    parts = []
    if not exit_code_matches(report):
        parts.append(f"exit code {report.exit_code_replayed} (recorded {report.exit_code_recorded})")
    n = len(report.verdicts)
    if n == 0 and exit_code_matches(report):
        parts.append("the run recorded no output files and printed nothing to compare")
    else:
        outputs = f"{n} output{'' if n == 1 else 's'}"
        if n == 1 and report.verdicts[0].path in LOG_NAMES:
            outputs = f"the command's {report.verdicts[0].path}"
        found = [f"{c} {status_label(s)}" for s, c in counts(report).items() if c]
        if found:
            outputs += f" ({', '.join(found)})"
        parts.append(outputs)
    note = exit_note(report)
    if note:
        parts.append(note)
    return f"{report.outcome}: {'; '.join(parts)}"


def exit_note(report: ReplayReport) -> str | None:
    return report.exit_note


def visible_escape(match: re.Match[str]) -> str:
    """One unprintable character as the escape Python would write for it (`\\x1b`, `\\udcff`)."""
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """Control characters (and undecodable bytes kept as surrogates) as visible escapes, so a
    strange file name cannot rewrite the terminal or break the encoder."""
    return _UNPRINTABLE.sub(visible_escape, text)


def number_text(value: float | None) -> str:
    if value is None:
        return "-"
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.3g}"


def duration_text(seconds: float) -> str:
    return f"{seconds:.2f}s" if math.isfinite(seconds) else "?"


def error_text(verdict: Verdict) -> str:
    """`max abs error 1.2e-07, max rel error 3.4e-07 at w[3]`, or "" when no error was measured."""
    parts = []
    if verdict.max_abs_error is not None:
        parts.append(f"max abs error {number_text(verdict.max_abs_error)}")
    if verdict.max_rel_error is not None:
        parts.append(f"max rel error {number_text(verdict.max_rel_error)}")
    text = ", ".join(parts)
    if text and verdict.where:
        text += f" at {verdict.where}"
    return printable(text)


def short_digest(digest: str) -> str:
    """`xxh3_128:0123456789abcdef…`: enough of a digest to tell two apart at a glance."""
    algo, _, value = digest.partition(":")
    return f"{algo}:{value[:16]}…" if len(value) > 16 else digest


def size_text(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def value_text(value: Any) -> str:
    """One side of a drift change as short text: absent, a file state, a flag, a version..."""
    if value is None:
        return "(absent)"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, Mapping) and set(value) == {"size", "digest"}:
        parts = [short_digest(value["digest"]) if value["digest"] else "no digest"]
        if isinstance(value["size"], int):
            parts.append(size_text(value["size"]))
        return printable(" ".join(parts))
    if isinstance(value, str):
        return printable(value)
    return printable(json.dumps(value, sort_keys=True, ensure_ascii=False))


def finite(value: float | None) -> float | None:
    """JSON has no NaN or infinity: such a number becomes null."""
    return value if value is None or math.isfinite(value) else None


def sandbox_line(sandbox: SandboxReport) -> str:
    """One line on what confined the replay: bwrap (where, network, inputs read in place), a
    container, or the copying workspace with why and what it cost."""
    copied = f"{size_text(sandbox.bytes_copied)} copied into the workspace"
    if sandbox.kind == "bwrap":
        return (f"bwrap at {sandbox.root}, network {'on' if sandbox.network else 'off'}, "
                f"{sandbox.inputs_in_place} input path(s) read in place, {copied}")
    if sandbox.kind == "docker":
        return f"docker container, inputs mounted read-only, {copied}"
    return f"none ({sandbox.reason}): {copied}; writes outside it were guarded at the Python level only"
