"""The audit report formats a flag can choose (`repro report --format NAME`).

Adding one is a file with one class (`name`, `suffix`, `render(AuditReport) -> str`) and one
line here; a test checks that every name maps to a format of that name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from repro.errors import UsageError

if TYPE_CHECKING:
    from repro.audit.model import AuditReport


@runtime_checkable
class AuditFormat(Protocol):
    name: str
    suffix: str

    def render(self, report: AuditReport) -> str:
        """The whole report as text, ending with a newline."""
        ...


def _formats() -> dict[str, type[AuditFormat]]:
    from repro.audit.html import HtmlFormat
    from repro.audit.markdown import MarkdownFormat

    return {"html": HtmlFormat, "markdown": MarkdownFormat}


FORMAT_NAMES = ("html", "markdown")


def get_format(name: str) -> AuditFormat:
    formats = _formats()
    try:
        return formats[name]()
    except KeyError:
        raise UsageError(f"unknown report format {name!r} (choose from {', '.join(formats)})") from None
