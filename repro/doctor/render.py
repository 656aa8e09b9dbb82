"""The doctor's report for a person (a table, then what the outputs depend on and how to fix it)
and for programs (JSON described by schemas/doctor.schema.json)."""

from __future__ import annotations

import json
from typing import Any

from repro.compare import Verdict
from repro.doctor.result import (DEPENDS, DETERMINISTIC, DONE, DRIFTED, NONDETERMINISTIC, UNDECIDED, DoctorReport,
                                 Trial)
from repro.report.summary import finite, number_text, printable

SCHEMA_VERSION = 1
_HEADER = ("KNOB", "CHANGE", "OUTPUTS CHANGED", "MAX ABS", "MAX REL", "VS RECORDED")


def _changed_text(trial: Trial) -> str:
    if not trial.ran:
        return trial.status
    changed = trial.changed
    if not changed:
        return "none"
    total = len([v for v in trial.vs_baseline if v.compared])
    names = ", ".join(v.path for v in changed[:3]) + (f" +{len(changed) - 3}" if len(changed) > 3 else "")
    return f"{len(changed)}/{total}: {names}"


def _recorded_text(trial: Trial) -> str:
    if not trial.ran:
        return "-"
    return "identical" if trial.reproduces_recorded else "differs"


def _row(trial: Trial) -> tuple[str, ...]:
    return (trial.knob or trial.label, trial.change, _changed_text(trial), number_text(trial.max_abs_error),
            number_text(trial.max_rel_error), _recorded_text(trial))


def _table(rows: list[tuple[str, ...]], details: list[str]) -> list[str]:
    widths = [max(len(printable(r[i])) for r in rows) for i in range(len(rows[0]))]
    out = []
    for row, detail in zip(rows, details):
        out.append("  ".join(printable(c).ljust(w) for c, w in zip(row, widths)).rstrip())
        if detail:
            out.append(" " * (widths[0] + 2) + printable(detail))
    return out


def headline(report: DoctorReport) -> str:
    verdict = report.verdict
    tried = [t for t in report.trials if t.ran]
    if report.interrupted:
        prefix = f"INTERRUPTED ({report.interrupted}) after {report.replays} replay(s): "
    else:
        prefix = ""
    if verdict == NONDETERMINISTIC:
        return prefix + "NONDETERMINISTIC: two replays with nothing changed differ from each other"
    if verdict == DEPENDS:
        return prefix + "NOT BIT-IDENTICAL when these change: " + ", ".join(t.knob or t.label for t in report.depends_on)
    if verdict == UNDECIDED:
        return prefix + "UNDECIDED: no baseline replay finished"
    if verdict == DRIFTED:
        return (prefix + "DRIFTED: the replays agree with each other but not with the recorded run (this machine "
                "or its packages differ: see `repro replay`)")
    untried = [t for t in report.trials if t.status in ("not tried", "interrupted")]
    if not tried:
        return prefix + "no variation tried; the baseline replays agree" + (
            f" ({len(untried)} knob(s) not tried)" if untried else "")
    if untried:
        return prefix + f"deterministic under the {len(tried)} variation(s) tried; {len(untried)} not tried"
    return prefix + "deterministic under every variation tried"


class TextFormat:
    name = "text"

    def render(self, report: DoctorReport) -> str:
        lines = [f"doctor of   {printable(report.manifest)}  (run {report.run_id})",
                 f"replays     {report.replays} in {report.wall_s:.1f}s, {report.jobs} at a time, "
                 f"{report.sandbox} sandbox" + (f", budget {report.budget}" if report.budget else ""), ""]
        agree = report.baselines_agree
        done = [b for b in report.baselines if b.ran]
        recorded = "identical to the recorded run" if all(b.reproduces_recorded for b in done) and done \
            else "NOT identical to the recorded run"
        if agree is None:
            base = f"{len(done)} baseline replay(s) finished" + (f", {recorded}" if done else "")
        elif agree:
            base = f"the {len(done)} baseline replays are identical to each other, {recorded}"
        else:
            base = "the baseline replays DIFFER from each other: the run is nondeterministic by itself"
        lines.append(f"baseline    {base}")
        for b in report.baselines:
            if b.ran and b.changed:
                lines += [f"  {printable(v.path)}: {v.status}" + _errors(v) for v in b.changed]
            elif not b.ran:
                lines.append(f"  {b.label}: {b.status}: {printable(b.reason or '')}")
        lines.append("")
        rows = [_HEADER] + [_row(t) for t in report.trials]
        details = [""] + [_detail(t) for t in report.trials]
        if report.trials:
            lines += _table(rows, details)
            lines.append("")
        if report.depends_on:
            lines.append("fixes")
            for t in report.depends_on:
                lines.append(f"  {t.knob}: {printable(t.fix or '')}")
            lines.append("")
        expected = [t for t in report.trials if t.ran and t.expected]
        for t in expected:
            lines.append(f"{t.knob}: " + ("the outputs follow it, as expected (the manifest records it)" if t.changed
                                           else "the outputs do not follow it: the program seeds its own generators "
                                                "or draws no random numbers"))
        if report.evidence:
            lines.append("evidence from inside the run")
            for e in report.evidence:
                lines.append(f"  {'' if e.certain else 'possibly: '}{printable(e.detail)}")
            lines.append("")
        lines += [f"note: {printable(n)}" for n in report.notes]
        lines.append(headline(report))
        return "\n".join(lines) + "\n"


def _errors(v: Verdict) -> str:
    if v.max_abs_error is None:
        return f" ({v.detail})" if v.detail and v.status != "differs" else ""
    return f" (max abs {number_text(v.max_abs_error)}, max rel {number_text(v.max_rel_error)} at {v.where})"


def _detail(t: Trial) -> str:
    if t.status != DONE:
        return t.reason or ""
    return ""


def _verdict(v: Verdict) -> dict[str, Any]:
    return {"path": v.path, "status": v.status, "max_abs_error": finite(v.max_abs_error),
            "max_rel_error": finite(v.max_rel_error), "where": v.where, "detail": v.detail}


def _trial(t: Trial) -> dict[str, Any]:
    return {
        "label": t.label, "knob": t.knob, "change": t.change, "status": t.status, "reason": t.reason,
        "expected": t.expected, "fix": t.fix, "changed": [v.path for v in t.changed],
        "max_abs_error": finite(t.max_abs_error), "max_rel_error": finite(t.max_rel_error),
        "reproduces_recorded": t.reproduces_recorded if t.ran else None,
        "exit_code": t.exit_code, "duration_s": finite(t.duration_s), "replay_manifest": t.replay_manifest,
        "vs_baseline": [_verdict(v) for v in t.vs_baseline], "vs_recorded": [_verdict(v) for v in t.vs_recorded],
    }


def document(report: DoctorReport) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "manifest": report.manifest,
        "run_id": report.run_id,
        "verdict": report.verdict,
        "summary": headline(report),
        "depends_on": [t.knob for t in report.depends_on],
        "baselines_agree": report.baselines_agree,
        "interrupted": report.interrupted,
        "replays": report.replays,
        "jobs": report.jobs,
        "budget": report.budget,
        "wall_s": finite(report.wall_s),
        "sandbox": report.sandbox,
        "directory": report.directory,
        "libraries": report.libraries,
        "baselines": [_trial(t) for t in report.baselines],
        "trials": [_trial(t) for t in report.trials],
        "evidence": [e.to_json() for e in report.evidence],
        "notes": list(report.notes),
    }


class JsonFormat:
    name = "json"

    def render(self, report: DoctorReport) -> str:
        return json.dumps(document(report), indent=2, ensure_ascii=True, allow_nan=False) + "\n"


FORMATS = {f.name: f for f in (TextFormat(), JsonFormat())}
