"""The report formats a flag can choose: `repro replay --format NAME` and `repro diff [--json]`.

Adding a format is adding a file with one class and one line here; a test checks that every name
maps to a format of that name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from repro.errors import UsageError
from repro.report.interface import DiffFormat, ReplayFormat
from repro.report.json import JsonDiffFormat, JsonFormat
from repro.report.junit import JunitFormat
from repro.report.text import TextDiffFormat, TextFormat

if TYPE_CHECKING:
    from repro.replay.result import Refusal

FORMATS: dict[str, type[ReplayFormat]] = {"text": TextFormat, "json": JsonFormat, "junit": JunitFormat}
DIFF_FORMATS: dict[str, type[DiffFormat]] = {"text": TextDiffFormat, "json": JsonDiffFormat}
REFUSAL_FORMATS: dict[str, type[JsonFormat] | type[JunitFormat]] = {"json": JsonFormat, "junit": JunitFormat}
"""The file reports a refused replay still writes (the text goes out as the one-line error)."""


def render_refusal(name: str, refusal: Refusal) -> str:
    """A refused replay in the report format called `name` (json or junit)."""
    return REFUSAL_FORMATS[name]().render_refusal(refusal)


def get_format(name: str) -> ReplayFormat:
    """The replay format called `name`; an unknown name is a usage error naming the choices."""
    try:
        return FORMATS[name]()
    except KeyError:
        raise UsageError(f"unknown report format {name!r} (choose from {', '.join(FORMATS)})") from None


def get_diff_format(name: str) -> DiffFormat:
    """The diff format called `name`; an unknown name is a usage error naming the choices."""
    try:
        return DIFF_FORMATS[name]()
    except KeyError:
        raise UsageError(f"unknown diff format {name!r} (choose from {', '.join(DIFF_FORMATS)})") from None
