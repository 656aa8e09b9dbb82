"""The audit report as one self-contained HTML page: inline CSS, inline SVG, one small inline
script (sorting and filtering only), no URL of any kind, readable without the script.

Jinja2 renders it with autoescaping on: every manifest string (file names, argv, environment
values) is untrusted text. A Content-Security-Policy allows nothing to load and only the exact
style and script blocks written here to apply, by their sha256, so even a string that escaped
the escaping could neither run nor fetch.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from importlib import resources
from typing import ClassVar

from markupsafe import Markup

from repro.audit import svg
from repro.audit.model import AuditReport, Fact, ReplayResult


@lru_cache(maxsize=None)
def _asset(name: str) -> str:
    return resources.files("repro.audit").joinpath("templates", name).read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("repro.audit", "templates"), autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=False, lstrip_blocks=False,
    )


def _sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def csp(css: str, js: str) -> str:
    return (f"default-src 'none'; style-src {_sha256_source(css)}; script-src {_sha256_source(js)}; "
            "img-src data:; base-uri 'none'; form-action 'none'")


def diff_lines(diff: str) -> list[tuple[str, str]]:
    """Each line of a unified diff with the class that colours it."""
    out = []
    for line in diff.splitlines():
        if line.startswith(("+++", "---", "diff ", "index ")):
            cls = "meta"
        elif line.startswith("@@"):
            cls = "hunk"
        elif line.startswith("+"):
            cls = "add"
        elif line.startswith("-"):
            cls = "del"
        else:
            cls = ""
        out.append((cls, line))
    return out


def replay_facts(rp: ReplayResult) -> tuple[Fact, ...]:
    return (Fact("verdict", f"{rp.outcome} (signed result {rp.result})"), Fact("summary", rp.summary),
            Fact("verified at", rp.time), Fact("signed by", rp.signer, mono=True), Fact("machine", rp.machine))


def render(report: AuditReport) -> str:
    css, js = _asset("report.css"), _asset("report.js")
    template = _environment().get_template("report.html.j2")
    return template.render(
        r=report, css=Markup(css), js=Markup(js), csp=csp(css, js),
        diff_lines=diff_lines(report.diff) if report.diff is not None else [],
        replay_facts=[replay_facts(rp) for rp in report.replays],
        histogram=lambda h, label: svg.histogram(h, label=label), graph=svg.provenance(report.provenance),
    )


class HtmlFormat:
    """`repro report --format html` (the default)."""

    name: ClassVar[str] = "html"
    suffix: ClassVar[str] = ".html"

    def render(self, report: AuditReport) -> str:
        return render(report)
