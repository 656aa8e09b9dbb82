"""Declared paths confined to the project root, refused before the command runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from repro.errors import UsageError
from repro.compare.rules import Rule
from repro.paths import expand, refuse_outside

ROOT = Path("/proj")


@pytest.mark.parametrize("spec", ["out/model.pt", "out/", "./a/../b", "/proj/x", "out/**/*.pt", "*.json"])
def test_paths_inside_the_root_pass(spec):
    refuse_outside([spec], ROOT / "sub", ROOT, what="output")


@pytest.mark.parametrize("spec", ["/data/model.pt", "../../elsewhere/x", "/proj-other/x", "/data/*.pt", "../../*"])
def test_paths_outside_the_root_are_refused_saying_what_to_do(spec):
    with pytest.raises(UsageError) as e:
        refuse_outside([spec], ROOT / "sub", ROOT, what="output")
    assert f"output {spec} is outside the project root /proj" in e.value.message
    assert "write it inside the project" in e.value.message and e.value.exit_code == 2


def test_expanded_globs_use_the_dialect_of_rules(tmp_path):
    for name in ("out/a.npz", "out/sub/b.npz", "out/.hidden.npz"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    names = lambda spec: [p.relative_to(tmp_path).as_posix() for p in expand([spec], tmp_path, tmp_path, what="output",
                                                                              must_exist=False)]
    assert names("out/*.npz") == ["out/a.npz"]
    assert names("out/**/*.npz") == ["out/a.npz", "out/sub/b.npz"]
    assert names("out/.*.npz") == ["out/.hidden.npz"]
    for spec in ("out/*.npz", "out/**/*.npz"):
        assert all(Rule(spec).matches(n) for n in names(spec))
