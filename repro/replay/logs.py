"""The command's own stdout and stderr as results of a replay.

A program whose only result is what it prints (a regression that reports its loss) has no output
file to compare; its stdout is then the result and gates the verdict like an output (exact by
default; a rule may `match: stdout` with `ignore:` patterns for timings). When the run did write
output files, the logs are still compared and shown, but gate only when a rule names them: a
progress bar or a timing line must not fail a replay whose weights are bit-identical.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from repro.compare import RuleSet, Verdict, compare_file
from repro.errors import ReproError
from repro.evidence.manifest import Manifest
from repro.evidence.verify import check_sidecar

STREAMS = ("stdout", "stderr")


@dataclass(frozen=True)
class LogVerdicts:
    gating: tuple[Verdict, ...]
    shown: tuple[Verdict, ...]


def named_by_rule(rules: RuleSet, stream: str) -> bool:
    """A rule of the user's (not the built-in exact default) matches the stream's name."""
    return rules.rule_for(stream).index is not None


def compare_logs(recorded: Manifest, recorded_path: Path, replayed: Manifest, replayed_path: Path,
                 rules: RuleSet) -> LogVerdicts:
    """Compare both streams; which of them gate the verdict follows the module's rule."""
    no_outputs = not recorded.predicate["outputs"]
    gating: list[Verdict] = []
    shown: list[Verdict] = []
    for stream in STREAMS:
        entry = recorded.predicate["logs"][stream]
        named = named_by_rule(rules, stream)
        gates = named or (no_outputs and stream == "stdout" and entry["size"] > 0)
        if not gates and no_outputs:
            continue  # an empty stdout, or stderr unnamed: nothing the run produced to compare
        try:
            before = check_sidecar(recorded_path, entry)
        except ReproError as e:
            verdict = Verdict(stream, "differs", "exact", f"the recorded log cannot be compared: {e}")
        else:
            after = replayed_path.parent / replayed.predicate["logs"][stream]["path"]
            verdict = compare_file(stream, before, after, rules)
        (gating if gates else shown).append(verdict)
    return LogVerdicts(tuple(gating), tuple(shown))
