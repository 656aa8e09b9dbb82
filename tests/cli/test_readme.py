"""The README's command table lists exactly the commands `repro --help` shows, and the shell
completion it documents works."""

from __future__ import annotations

import os
import re

from click.testing import CliRunner

from repro.cli import cli
from tests.conftest import REPO, repro_cli


def _help_commands() -> set[str]:
    text = CliRunner().invoke(cli, ["--help"], prog_name="repro").output
    listing = text.split("Commands:\n", 1)[1]
    return {m.group(1) for m in re.finditer(r"^  (\S+)", listing, re.MULTILINE)}


def _readme_commands() -> set[str]:
    section = (REPO / "README.md").read_text().split("## Commands\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `repro ([a-z][a-z-]*)", section, re.MULTILINE))


def test_the_readme_table_matches_the_help():
    assert _help_commands() == set(cli.commands)
    assert _readme_commands() == _help_commands()


def test_bash_completion_as_documented():
    readme = (REPO / "README.md").read_text()
    assert '_REPRO_COMPLETE=bash_source repro' in readme
    script = repro_cli(env={"_REPRO_COMPLETE": "bash_source"})
    assert script.returncode == 0 and "_repro_completion()" in script.stdout
    words = repro_cli(env={"_REPRO_COMPLETE": "bash_complete", "COMP_WORDS": "repro ver", "COMP_CWORD": "1"})
    assert words.returncode == 0 and "verify" in words.stdout
    assert os.environ.get("_REPRO_COMPLETE") is None
