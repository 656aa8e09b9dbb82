"""Reports for a person at a terminal: one row per output, then the drift, then one verdict line.

Plain text with no colours, so it reads the same in a terminal, a CI log and a pasted issue; long
details go on their own line under the row so the table stays narrow.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import groupby
from typing import ClassVar

from repro.replay.drift import DiffReport
from repro.replay.result import Change, ReplayReport
from repro.report.summary import (duration_text, number_text, printable, sandbox_line, status_label, value_text,
                                  verdict_line)

_HEADER = ("STATUS", "PATH", "RULE", "MAX ABS", "MAX REL", "WHERE")


def _table(rows: list[tuple[str, ...]], details: list[str]) -> list[str]:
    """Columns as wide as their widest cell; a row's detail, if any, on the next line under PATH."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    indent = " " * (widths[0] + 2)
    lines = []
    for i, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        detail = details[i]
        if detail:
            lines.append(indent + detail)
    return lines


def _drift_lines(changes: Iterable[Change]) -> list[str]:
    changes = list(changes)
    width = max((len(c.facet) for c in changes), default=0)
    return [
        f"  {c.facet.ljust(width)}  {printable(c.key)}: {value_text(c.before)} -> {value_text(c.after)}"
        for c in changes
    ]


class TextFormat:
    """`repro replay --format text` (the default)."""

    name: ClassVar[str] = "text"

    def render(self, report: ReplayReport) -> str:
        lines = [
            f"replay of   {printable(report.manifest)}",
            f"recorded    run {report.run_id}  exit {report.exit_code_recorded}  {duration_text(report.duration_recorded_s)}",
            f"replayed    run {report.replay_run_id}  exit {report.exit_code_replayed}  "
            f"{duration_text(report.duration_replayed_s)}"
            + (f"  manifest {printable(report.replay_manifest)}" if report.replay_manifest else ""),
            f"sandbox     {printable(sandbox_line(report.sandbox))}",
            *([f"attested    {printable(report.attestation)}"] if report.attestation else []),
            "",
        ]
        if report.verdicts:
            rows = [_HEADER] + [
                (
                    status_label(v.status),
                    printable(v.path),
                    printable(v.rule) or "-",
                    number_text(v.max_abs_error),
                    number_text(v.max_rel_error),
                    printable(v.where) if v.where else "-",
                )
                for v in report.verdicts
            ]
            lines += _table(rows, [""] + [printable(v.detail) for v in report.verdicts])
        else:
            lines.append("nothing compared: the run recorded no output files and its stdout was empty")
        for v in report.logs:
            lines.append(f"{v.path} (shown, not gating: no rule names it): {status_label(v.status)}"
                         + (f": {printable(v.detail)}" if v.detail and not v.ok else ""))
        if report.exit_note:
            lines.append(report.exit_note)
        lines.append("")
        if report.drift:
            n = len(report.drift)
            lines.append(f"environment drift: {n} change{'' if n == 1 else 's'}")
            lines += _drift_lines(report.drift)
        else:
            lines.append("environment drift: none")
        lines += [f"warning: {printable(w)}" for w in report.warnings]
        if report.likely_causes:
            lines.append("likely causes (seen inside the run; `repro doctor` tests them one by one):")
            lines += [f"  {printable(c)}" for c in report.likely_causes]
        lines += ["", verdict_line(report)]
        return "\n".join(lines) + "\n"


class TextDiffFormat:
    """`repro diff` (the default): changes grouped by facet, `-` the first manifest, `+` the second."""

    name: ClassVar[str] = "text"

    def render(self, report: DiffReport) -> str:
        if report.identical:
            return f"no differences between {printable(report.before)} and {printable(report.after)}\n"
        lines = [
            f"--- {printable(report.before)}  (run {report.before_run_id})",
            f"+++ {printable(report.after)}  (run {report.after_run_id})",
        ]
        for facet, group in groupby(report.changes, key=lambda c: c.facet):
            lines.append(f"[{facet}]")
            for c in group:
                key = printable(c.key)
                if c.before is not None:
                    lines.append(f"- {key}: {value_text(c.before)}")
                if c.after is not None:
                    lines.append(f"+ {key}: {value_text(c.after)}")
        n, facets = len(report.changes), len({c.facet for c in report.changes})
        lines.append(f"{n} difference{'' if n == 1 else 's'} in {facets} facet{'' if facets == 1 else 's'}")
        return "\n".join(lines) + "\n"
