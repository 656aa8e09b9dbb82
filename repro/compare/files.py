"""Compare one recorded output file with its replayed copy under the rules.

The order of work is what keeps this fast and safe: find the rule, check the bytes (identical
files, the common case, are never parsed), and only then hand the pair to the reader for its
format. Whatever a corrupt copy makes a reader raise ends here as a `differs` verdict naming the
bad copy; only a bug in repro itself escapes as an exception.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Callable

from repro.compare.arrays import DEFAULT_CHUNK_ELEMENTS
from repro.compare.bytewise import byte_difference
from repro.compare.csvfile import CsvFormat
from repro.compare.explain import explain
from repro.compare.format import Format, Unreadable
from repro.compare.jsonfile import JsonFormat
from repro.compare.npy import NpyFormat
from repro.compare.npz import NpzFormat
from repro.compare.policy import Exact, Tolerance
from repro.compare.rules import Rule, RuleSet
from repro.compare.safetensors import SafetensorsFormat
from repro.compare.text import TextFormat
from repro.compare.torchfile import TorchFormat
from repro.compare.verdict import Verdict

EXACT = "exact"

# Formats that read numbers out of a file, by suffix: each is built from the rule's tolerance,
# the rule (for JSON path overrides and ignored paths) and the number of array elements to hold
# at once.
NUMERIC_FORMATS: dict[str, Callable[[Tolerance, Rule, int], Format]] = {
    ".npy": lambda tolerance, rule, chunk: NpyFormat(tolerance, chunk),
    ".npz": lambda tolerance, rule, chunk: NpzFormat(tolerance, chunk),
    ".json": lambda tolerance, rule, chunk: JsonFormat(tolerance, rule.paths, rule.ignored_paths),
    ".ipynb": lambda tolerance, rule, chunk: JsonFormat(tolerance, rule.paths, rule.ignored_paths),  # a notebook is JSON
    ".csv": lambda tolerance, rule, chunk: CsvFormat(tolerance),
    ".safetensors": lambda tolerance, rule, chunk: SafetensorsFormat(tolerance, chunk, rule.ignored_paths),
    **{s: (lambda tolerance, rule, chunk: TorchFormat(tolerance, rule.paths, rule.ignored_paths, chunk))
       for s in (".pt", ".pth", ".bin", ".ckpt")},
}
# The formats whose values have paths a rule can ignore (`paths: {"eval_runtime": ignore}`).
PATH_FORMATS = frozenset({".json", ".ipynb", ".safetensors", ".pt", ".pth", ".bin", ".ckpt"})


def select_format(name: str, rule: Rule, chunk_elements: int = DEFAULT_CHUNK_ELEMENTS) -> tuple[Format | None, str]:
    """The format that compares `name` under `rule`, or (None, why) when the bytes decide.

    A tolerance applies to the numeric formats, and ignored paths to the formats with paths (a
    rule with only ignored paths compares the other values exactly); ignore patterns apply to
    any other file read as text. Anything else is compared exactly, and `why` says so when a
    tolerance was asked for.
    """
    suffix = PurePosixPath(name).suffix.lower()
    if rule.tolerance is not None and suffix in NUMERIC_FORMATS:
        return NUMERIC_FORMATS[suffix](rule.tolerance, rule, chunk_elements), ""
    if rule.ignored_paths and suffix in PATH_FORMATS:
        return NUMERIC_FORMATS[suffix](Exact(), rule, chunk_elements), ""
    if rule.ignore:
        return TextFormat(rule.ignore), ""
    if rule.ignored_paths:
        kinds = ", ".join(sorted(PATH_FORMATS))
        what = f"'{suffix}' files" if suffix else "files without a suffix"
        return None, f"ignored paths apply to {kinds} files, not to {what}; compared exactly: "
    if rule.tolerance is not None:
        kinds = ", ".join(NUMERIC_FORMATS)
        what = f"'{suffix}' files" if suffix else "files without a suffix"
        return None, f"{rule.tolerance.label} has no reader for {what} (only {kinds}); compared exactly: "
    return None, ""


def _reader_for(name: str, rule: Rule, chunk_elements: int) -> Callable[[Tolerance], Format | None]:
    """The reader of `name`'s format under a tolerance, for explaining an exact difference."""
    maker = NUMERIC_FORMATS.get(PurePosixPath(name).suffix.lower())

    def reader(tolerance: Tolerance) -> Format | None:
        return maker(tolerance, rule, chunk_elements) if maker is not None else None

    return reader


def compare_file(
    name: str,
    recorded: Path,
    replayed: Path,
    rules: RuleSet,
    *,
    chunk_elements: int = DEFAULT_CHUNK_ELEMENTS,
) -> Verdict:
    """Compare the recorded copy of output `name` (POSIX path relative to the project root)
    with its replayed copy. `chunk_elements` bounds how many array elements are held at once."""
    if chunk_elements < 1:
        raise ValueError("chunk_elements must be at least 1")
    rule = rules.rule_for(name)
    if not rule.compare:
        return Verdict.skipped(name, "recorded, not compared (compare: false)")
    fmt, why = select_format(name, rule, chunk_elements)
    label = fmt.label if fmt is not None else EXACT
    try:
        difference = byte_difference(recorded, replayed)
    except Unreadable as e:
        return Verdict(name, "differs", label, f"cannot read the {e.side} copy: {e.reason}")
    if difference is None:
        return Verdict(name, "identical", label)
    if fmt is None:
        return explain(name, recorded, replayed, why + difference, _reader_for(name, rule, chunk_elements))
    try:
        return fmt.compare(name, recorded, replayed)
    except Unreadable as e:
        return Verdict(name, "differs", label, f"the {e.side} copy is not readable as {fmt.kind}: {e.reason}")
