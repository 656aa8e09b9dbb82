"""Compare recorded outputs with replayed ones: bit-identical, within tolerance, or different.

Pure functions over files and data; replay orchestration and reporting live elsewhere. See
docs/tolerance.md for the rules file and what each verdict means.
"""

from repro.compare.files import compare_file
from repro.compare.rules import RuleSet, load_rules
from repro.compare.verdict import Status, Verdict

__all__ = ["Status", "Verdict", "RuleSet", "load_rules", "compare_file"]
