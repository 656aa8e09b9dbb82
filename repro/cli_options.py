"""Conventions every `repro` command shares, in one place so a new command gets them by using
these helpers: `-h/--help`, `-q/--quiet`, and output options where `-` means standard output."""

from __future__ import annotations

from typing import Any, Callable

import click

from repro.destination import Destination, destination

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
