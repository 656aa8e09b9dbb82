"""The audit report as GitHub-flavoured Markdown, for a pull request or a wiki: the same sections
as the HTML page, without the drawings.

Every value printed goes through the environment's `finalize`, which escapes it for Markdown
(a backslash before each character that could start emphasis, code, a link, an HTML tag, math or a
table cell, line breaks flattened), so a
file name cannot open a link, an emphasis, an HTML tag or a new table cell. Only `Raw` values
(the diff's fenced block, HTML-escaped text inside `<details>`) are written as they are.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from typing import Any, ClassVar

from repro.audit.html import replay_facts
from repro.audit.model import AuditReport
from repro.compare.histogram import ErrorHistogram

_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&$])")
_BREAKS = re.compile(r"[\r\n\t\v\f\u2028\u2029]+")


class Raw(str):
    """Text already safe where the template puts it."""


def escape(value: Any) -> str:
    if isinstance(value, Raw):
        return value
    return _SPECIAL.sub(r"\\\1", _BREAKS.sub(" ", "" if value is None else str(value)))


def html_text(value: Any) -> Raw:
    """For text inside an HTML element of the Markdown (a `<summary>`)."""
    return Raw(html.escape(_BREAKS.sub(" ", str(value)), quote=True))


def fenced(text: str, lang: str = "") -> Raw:
    """A fenced code block that no backtick run in `text` can close early."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return Raw(f"{fence}{lang}\n{text.rstrip()}\n{fence}")


def histogram_text(h: ErrorHistogram) -> str:
    parts = [f"0: {h.zero}"] if h.zero else []
    parts += [f"1e{h.low_exp + i}: {c}" for i, c in enumerate(h.counts) if c]
    if h.over:
        parts.append(f"≥1e{h.high_exp}: {h.over}")
    if h.nan:
        parts.append(f"NaN: {h.nan}")
    return "; ".join(parts) or "no values"


@lru_cache(maxsize=None)
def _environment():
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("repro.audit", "templates"), autoescape=False,
                             finalize=escape, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["h"] = html_text
    env.filters["raw"] = Raw  # a macro's output: its values were escaped as the macro printed them
    return env


def render(report: AuditReport) -> str:
    text = _environment().get_template("report.md.j2").render(
        r=report, diff=fenced(report.diff, "diff") if report.diff is not None else None,
        replay_facts=[replay_facts(rp) for rp in report.replays], histogram_text=histogram_text,
    )
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


class MarkdownFormat:
    """`repro report --format markdown`."""

    name: ClassVar[str] = "markdown"
    suffix: ClassVar[str] = ".md"

    def render(self, report: AuditReport) -> str:
        return render(report)
