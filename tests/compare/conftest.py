"""Fixtures for the comparison tests: a recorded and a replayed tree under tmp_path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from repro.compare import RuleSet, Verdict, compare_file, load_rules


@dataclass
class Outputs:
    """Two copies of each output, `recorded/<name>` and `replayed/<name>`, and a way to compare them."""

    root: Path

    def paths(self, name: str) -> tuple[Path, Path]:
        rec, rep = self.root / "recorded" / name, self.root / "replayed" / name
        rec.parent.mkdir(parents=True, exist_ok=True)
        rep.parent.mkdir(parents=True, exist_ok=True)
        return rec, rep

    def write(self, name: str, recorded: str | bytes, replayed: str | bytes) -> tuple[Path, Path]:
        rec, rep = self.paths(name)
        for path, data in ((rec, recorded), (rep, replayed)):
            if isinstance(data, str):
                path.write_text(data, encoding="utf-8", newline="")
            else:
                path.write_bytes(data)
        return rec, rep

    def save(self, name: str, recorded: np.ndarray, replayed: np.ndarray) -> tuple[Path, Path]:
        rec, rep = self.paths(name)
        np.save(rec, recorded)
        np.save(rep, replayed)
        return rec, rep

    def compare(self, name: str, rules: RuleSet | dict | None = None, **kwargs: int) -> Verdict:
        ruleset = rules if isinstance(rules, RuleSet) else load_rules(rules)
        rec, rep = self.paths(name)
        return compare_file(name, rec, rep, ruleset, **kwargs)


@pytest.fixture
def outputs(tmp_path: Path) -> Outputs:
    return Outputs(tmp_path)

