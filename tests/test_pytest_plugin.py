"""The pytest plugin, run by pytest itself (pytester) on a real recorded run of the example."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import repro_cli

pytest_plugins = ["pytester"]

CLOCK = "import os, time; os.makedirs('out', exist_ok=True); open('out/t.txt', 'w').write(repr(time.time()))"


@pytest.fixture
def recorded(example, keys, monkeypatch) -> Path:
    """The example with a reproducible run (good.json) and one that never reproduces (clock.json)."""
    env = {"XDG_CONFIG_HOME": str(keys)}
    assert repro_cli("run", "--manifest", "good.json", "--", sys.executable, "train.py", cwd=example, env=env).returncode == 0
    result = repro_cli("run", "--output", "out/t.txt", "--manifest", "clock.json", "--", sys.executable, "-c", CLOCK,
                       cwd=example, env=env)
    assert result.returncode == 0, result.stderr
    monkeypatch.chdir(example)
    return example


def test_the_plugin_is_registered_by_the_package(pytester):
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(["*--repro-replay=MANIFEST*"])


def test_the_fixture_replays_and_explains(pytester, recorded):
    # the test file lives outside the project: an untracked source file would be a code change
    tests = pytester.path / "test_models.py"
    tests.write_text(
        "def test_good(repro_replay):\n"
        "    result = repro_replay('good.json')\n"
        "    assert result.reproduced, result.explain()\n"
        "\n"
        "def test_clock(repro_replay):\n"
        "    result = repro_replay('clock.json')\n"
        "    assert result.reproduced, result.explain()\n"
    )
    result = pytester.runpytest_subprocess(str(tests), "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*differs*out/t.txt*", "*NOT REPRODUCED*"])


def test_each_manifest_given_becomes_a_test_item(pytester, recorded):
    result = pytester.runpytest_subprocess("--repro-replay", "good.json", "--repro-replay", "clock.json",
                                           "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*clock.json*", "*NOT REPRODUCED*"])


def test_a_refused_replay_fails_its_item_with_the_reason(pytester, recorded):
    (recorded / "data" / "train.csv").write_text("changed\n")
    result = pytester.runpytest_subprocess("--repro-replay", "good.json", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*replay refused (exit 3)*"])


def test_a_missing_manifest_is_a_usage_error(pytester, recorded):
    result = pytester.runpytest_subprocess("--repro-replay", "nope.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*no such manifest: nope.json*"])


def test_unused_the_plugin_loads_nothing_heavy(pytester):
    """Every pytest session of an environment with repro loads the plugin: it must cost nothing."""
    pytester.makepyfile(
        "import sys\n"
        "def test_plain():\n"
        "    assert 'repro.pytest_plugin' in sys.modules\n"
        "    assert not {'numpy', 'jsonschema', 'docker', 'cryptography'} & set(sys.modules)\n"
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:benchmark")
    result.assert_outcomes(passed=1)
