"""Warnings about seeds that are true: only the program's own generators, once per call site,
and the constant reseeds (a framework's included) that `--seed` cannot reach."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from tests.conftest import repro_cli


def warnings_of(project: Path, xdg: Path, source: str, *extra: str) -> list[str]:
    (project / "train.py").write_text(source)
    result = repro_cli("run", "--seed", "7", "--no-sign", "--manifest", "m.json", *extra, "--", sys.executable,
                       "train.py", cwd=project, env={"XDG_CONFIG_HOME": str(xdg)})
    assert result.returncode == 0, result.stderr
    return [line for line in result.stderr.splitlines() if line.startswith("repro: warning:")
            and ("random" in line or "seed" in line)]


@pytest.mark.skipif(importlib.util.find_spec("sklearn") is None, reason="scikit-learn is not installed")
def test_library_imports_and_seeded_constructions_give_no_warning(example, xdg):
    source = "import numpy as np\nimport sklearn.ensemble\nr = np.random.RandomState(5)\n" \
             "g = np.random.default_rng(3)\nfrom sklearn.utils import check_random_state\n" \
             "for i in range(50):\n    check_random_state(i)\n"
    assert warnings_of(example, xdg, source) == []


def test_an_unseeded_generator_in_the_project_warns_once_with_its_line(example, xdg):
    source = "import numpy as np\nfor _ in range(3):\n    g = np.random.default_rng()\nr = np.random.RandomState()\n"
    found = warnings_of(example, xdg, source)
    assert len(found) == 2, found
    assert "numpy.random.default_rng at train.py:3 (3 calls)" in found[0]
    assert "numpy.random.SeedSequence at train.py:4" in found[1]


def test_a_constant_reseed_says_seed_does_not_reach_it(example, xdg):
    source = "import random\nimport numpy as np\nnp.random.seed(1111)\nrandom.seed(7)\n"
    assert warnings_of(example, xdg, source) == [
        "repro: warning: train.py:3 seeds numpy.random.seed(1111): --seed does not reach this generator"]


@pytest.mark.skipif(importlib.util.find_spec("lightning_fabric") is None, reason="lightning is not installed")
def test_a_framework_that_seeds_itself_is_named_at_the_users_call_site(example, xdg):
    source = "import json\nfrom lightning_fabric.utilities.seed import seed_everything\n\n\nseed_everything(7)\n"
    (found,) = [w for w in warnings_of(example, xdg, source, "--seed", "1") if "--seed does not reach" in w]
    assert found.startswith("repro: warning: train.py:5 seeds random.seed(7), numpy.random.seed(7)")
    assert "through lightning_fabric/utilities/seed.py" in found
    shown = repro_cli("show", "m.json", cwd=example, env={"XDG_CONFIG_HOME": str(xdg)}).stdout
    assert "random.seed(7) at train.py:5 (through lightning_fabric/utilities/seed.py:" in shown
