"""Reports for CI systems: JUnit XML, the one test-report format they all read.

Each output is a test case, so a CI page lists which output stopped reproducing and why; the
command's exit code is one more case, since a crash that leaves old outputs behind must fail too.
The XML is built with ElementTree, which escapes markup; characters XML 1.0 cannot hold at all
(control characters, undecodable bytes in file names) are replaced by visible escapes first.
"""

from __future__ import annotations

import math
import re
import socket
import xml.etree.ElementTree as ET
from typing import ClassVar

from repro.compare.verdict import Verdict
from repro.replay.result import NOTHING_VERIFIED, Refusal, ReplayReport, utc_now_seconds
from repro.report.summary import (
    duration_text,
    error_text,
    exit_code_matches,
    sandbox_line,
    status_label,
    value_text,
    verdict_line,
    visible_escape,
)

SUITE_NAME = "repro replay"
OUTPUT_CLASS = "repro.outputs"
COMMAND_CLASS = "repro.command"
REPLAY_CLASS = "repro.replay"

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text: str) -> str:
    return _NOT_XML.sub(visible_escape, text)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, {k: _xml(v) for k, v in attrs.items()})
    if text is not None:
        el.text = _xml(text)
    return el


def _seconds(value: float) -> str:
    return f"{value:.3f}" if math.isfinite(value) else "0"


def suite_name(manifest: str) -> str:
    """Named after the manifest, so several replays in one pipeline stay apart on a CI page."""
    return f"{SUITE_NAME} {manifest}"


def _suite(manifest: str, started_at: str | None) -> tuple[ET.Element, ET.Element]:
    name = suite_name(manifest)
    root = ET.Element("testsuites", {"name": _xml(name)})
    suite = _sub(root, "testsuite", name=name, timestamp=started_at or utc_now_seconds(), hostname=socket.gethostname())
    return root, suite


def _document(root: ET.Element) -> str:
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _output_case(suite: ET.Element, v: Verdict, seconds: float) -> bool:
    """One test case per output; returns True when it failed."""
    case = _sub(suite, "testcase", classname=OUTPUT_CLASS, name=v.path, time=_seconds(seconds))
    errors = error_text(v)
    if not v.compared:
        _sub(case, "skipped", message=v.detail)
        return False
    if v.ok:
        note = f"{status_label(v.status)} (rule {v.rule or '-'})"
        if errors:
            note += f": {errors}"
        if v.detail:
            note += f"\n{v.detail}"
        _sub(case, "system-out", note)
        return False
    message = f"{status_label(v.status)}: {v.detail}" if v.detail else status_label(v.status)
    body = "\n".join(x for x in (v.detail, errors, f"rule {v.rule}" if v.rule else "") if x)
    _sub(case, "failure", body, message=message, type=v.status)
    return True


class JunitFormat:
    """`repro replay --format junit`."""

    name: ClassVar[str] = "junit"

    def render(self, report: ReplayReport) -> str:
        root, suite = _suite(report.manifest, report.started_at)
        props = _sub(suite, "properties")
        for name, value in (
            ("manifest", report.manifest),
            ("run_id", report.run_id),
            ("replay_run_id", report.replay_run_id),
            ("replay_manifest", report.replay_manifest or ""),
            ("sandbox", sandbox_line(report.sandbox)),
            *((f"refused_write.{i}", path) for i, path in enumerate(report.refused_writes)),
        ):
            _sub(props, "property", name=name, value=value)
        for c in report.drift:
            _sub(props, "property", name=f"drift.{c.facet}.{c.key}",
                 value=f"{value_text(c.before)} -> {value_text(c.after)}")

        failures = 0
        command = _sub(suite, "testcase", classname=COMMAND_CLASS, name="exit code",
                       time=_seconds(report.duration_replayed_s))
        if exit_code_matches(report):
            _sub(command, "system-out", report.exit_note or f"exit code {report.exit_code_replayed}, as recorded")
        else:
            failures += 1
            message = f"exit code {report.exit_code_replayed}, recorded {report.exit_code_recorded}"
            _sub(command, "failure", message, message=message, type="exit_code")
        seconds = dict(report.compare_s)
        for v in report.verdicts:
            failures += int(_output_case(suite, v, seconds.get(v.path, 0.0)))
        nothing = report.outcome == NOTHING_VERIFIED
        if nothing:
            failures += 1
            case = _sub(suite, "testcase", classname=OUTPUT_CLASS, name="outputs", time="0")
            _sub(case, "failure", verdict_line(report), message="nothing verified", type="nothing_verified")

        tests = str(len(report.verdicts) + 1 + int(nothing))
        for el in (root, suite):
            el.set("tests", tests)
            el.set("failures", str(failures))
            el.set("errors", "0")
            el.set("time", _seconds(report.duration_replayed_s))
        suite.set("skipped", str(sum(not v.compared for v in report.verdicts)))
        out = [verdict_line(report)]
        out += [f"drift: {c.facet} {c.key}: {value_text(c.before)} -> {value_text(c.after)}" for c in report.drift]
        out += [f"warning: {w}" for w in report.warnings]
        out.append(f"recorded duration {duration_text(report.duration_recorded_s)}")
        _sub(suite, "system-out", "\n".join(out))
        return _document(root)

    def render_refusal(self, refusal: Refusal) -> str:
        """A refused replay as one test case in error, naming the reason: CI lists it with the
        failures instead of showing an empty test tab."""
        root, suite = _suite(refusal.manifest, refusal.started_at)
        props = _sub(suite, "properties")
        for name, value in (("manifest", refusal.manifest), ("run_id", refusal.run_id or ""),
                            ("exit_code", str(refusal.exit_code))):
            _sub(props, "property", name=name, value=value)
        case = _sub(suite, "testcase", classname=REPLAY_CLASS, name="replay", time="0")
        kind = "integrity" if refusal.exit_code == 3 else "invalid"
        _sub(case, "error", f"repro replay refused (exit {refusal.exit_code}): {refusal.reason}",
             message=refusal.reason, type=kind)
        for el in (root, suite):
            el.set("tests", "1")
            el.set("failures", "0")
            el.set("errors", "1")
            el.set("time", "0")
        suite.set("skipped", "0")
        return _document(root)
