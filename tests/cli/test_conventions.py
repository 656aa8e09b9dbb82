"""The conventions every command keeps, checked on whatever commands the group has: a command
added later is held to them without editing this file."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from repro import __version__
from repro.cli import cli
from tests.conftest import repro_cli

COMMANDS = sorted(cli.commands)


def _option(command: click.Command, name: str) -> click.Option | None:
    return next((p for p in command.params if isinstance(p, click.Option) and name in p.opts), None)


@pytest.mark.parametrize("name", COMMANDS)
@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_every_command_has_short_and_long_help(name, flag):
    result = CliRunner().invoke(cli, [name, flag], prog_name="repro")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: repro {name} ")
    assert "-h, --help" in result.output


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_quiet(name):
    option = _option(cli.commands[name], "-q")
    assert option is not None and "--quiet" in option.opts and option.is_flag, f"repro {name} lacks -q/--quiet"
    assert option.help, f"repro {name} -q says nothing about what it leaves out"


def test_group_help_version_and_verbose():
    runner = CliRunner()
    for flag in ("-h", "--help"):
        assert runner.invoke(cli, [flag], prog_name="repro").output.startswith("Usage: repro ")
    for flag in ("-V", "--version"):
        result = runner.invoke(cli, [flag], prog_name="repro")
        assert result.exit_code == 0 and result.output == f"repro, version {__version__}\n"
    verbose = _option(cli, "-v")
    assert verbose is not None and "--verbose" in verbose.opts


def test_short_verbose_shows_the_traceback(tmp_path):
    quiet = repro_cli("verify", str(tmp_path / "missing.json"))
    assert quiet.returncode == 2 and "Traceback" not in quiet.stderr
    assert quiet.stderr.strip() == f"repro: error: {tmp_path / 'missing.json'}: no such file"
    loud = repro_cli("-v", "verify", str(tmp_path / "missing.json"))
    assert loud.returncode != 0 and "Traceback" in loud.stderr


def test_the_test_runner_sees_the_documented_exit_codes(tmp_path):
    """Errors are handled by the group itself, so click's runner gets 2 and 3, not 1."""
    (tmp_path / "run.json").write_text("{}")
    result = CliRunner().invoke(cli, ["verify", str(tmp_path / "missing.json")])
    assert result.exit_code == 2 and result.output == f"repro: error: {tmp_path / 'missing.json'}: no such file\n"
    assert CliRunner().invoke(cli, ["verify", str(tmp_path / "run.json")]).exit_code == 2
