"""Conventions every `repro` command shares, in one place so a new command gets them by using
these helpers: `-h/--help`, `-q/--quiet`, and output options where `-` means standard output."""

from __future__ import annotations

from typing import Any, Callable

import sys

import click

from repro.destination import Destination, destination
from repro.errors import INTERNAL, INVALID, OK, Interrupted, ReproError

CONTEXT_SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"]}
"""The group's context settings; subcommands inherit them (click copies `help_option_names`
from the parent context)."""

QUIET_HELP = "Print nothing but errors and the documents asked for."


def quiet_option(help: str = QUIET_HELP) -> Callable:
    """`-q/--quiet`: the flag every command has; `help` says what it leaves out for this one."""
    return click.option("-q", "--quiet", "quiet", is_flag=True, help=help)


def say_to_stderr(quiet: bool) -> Callable[[str], None]:
    """repro's own messages: `repro: ...` on standard error, none at all under `--quiet`."""

    def say(message: str) -> None:
        if not quiet:
            click.echo(f"repro: {message}", err=True)

    return say


class OutputDestination(click.ParamType):
    """An output option's value, checked as it is parsed (before any work): a writable file path,
    or `-` for standard output where `allow_stdout`. The callback receives a `Destination`."""

    def __init__(self, what: str, *, allow_stdout: bool = True) -> None:
        self.what = what
        self.allow_stdout = allow_stdout
        self.name = "PATH|-" if allow_stdout else "PATH"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Destination:
        if isinstance(value, Destination):
            return value
        return destination(value, self.what, allow_stdout=self.allow_stdout)


class ReproGroup(click.Group):
    """The `repro` group: errors are caught here, once, for every command, so the exit code is
    the one that names the outcome (3 for an integrity failure) however the CLI is invoked, from
    the console script or from click's test runner, and the user reads one line, no traceback."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        state: dict = {}  # the group's callback notes --verbose here, so an error knows how to be shown
        extra.setdefault("obj", state)
        state = extra["obj"]
        try:
            super().main(args, prog_name or "repro", complete_var, standalone_mode=False, **extra)
        except click.exceptions.Abort:
            click.echo("repro: aborted", err=True)
            sys.exit(130)
        except click.ClickException as e:
            e.show()
            sys.exit(INVALID)
        except click.exceptions.Exit as e:
            sys.exit(e.exit_code)
        except Interrupted as e:
            click.echo(f"repro: {e.message}", err=True)
            sys.exit(e.exit_code)
        except ReproError as e:
            if state.get("verbose"):
                raise
            after = "" if e.command_exit_code is None else (
                f" (after the command ran and exited {e.command_exit_code}; exit {e.exit_code} is repro's)")
            click.echo(f"repro: error: {e.message}{after}", err=True)
            sys.exit(e.exit_code)
        except KeyboardInterrupt:
            click.echo("repro: interrupted", err=True)
            sys.exit(130)
        except BrokenPipeError:
            sys.exit(OK)
        except Exception as e:  # a bug in repro: one line for the user, the traceback on request
            if state.get("verbose"):
                raise
            click.echo(f"repro: internal error: {type(e).__name__}: {e} (rerun with --verbose for the traceback)",
                       err=True)
            sys.exit(INTERNAL)
        sys.exit(OK)
