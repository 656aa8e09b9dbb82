"""docs/determinism.md names every variable a replay restores and every one it never reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from repro.capture.seeds import DETERMINISM_VARIABLES
from repro.replay.drift import VOLATILE_VARIABLES
from repro.replay.environment import RESTORED_VARIABLES

DOC = (Path(__file__).resolve().parents[2] / "docs" / "determinism.md").read_text()


@pytest.mark.parametrize("name", [*RESTORED_VARIABLES, *DETERMINISM_VARIABLES, *sorted(VOLATILE_VARIABLES)])
def test_the_variable_is_documented(name):
    assert f"`{name}`" in DOC
