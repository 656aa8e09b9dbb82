"""The one interface every report format implements, so a flag can choose among them.

A format is a small class with a `name` (the flag's value) and a `render` that turns report data
into the text to print or write. Formats never run anything or decide an outcome: the replay
and the diff have done that; a format only shows it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from repro.replay.drift import DiffReport
    from repro.replay.result import ReplayReport


@runtime_checkable
class ReplayFormat(Protocol):
    """Renders the outcome of `repro replay`."""

    name: str

    def render(self, report: ReplayReport) -> str:
        """The whole report as text, ending with a newline."""
        ...


@runtime_checkable
class DiffFormat(Protocol):
    """Renders the outcome of `repro diff`."""

    name: str

    def render(self, report: DiffReport) -> str:
        """The whole report as text, ending with a newline."""
        ...
