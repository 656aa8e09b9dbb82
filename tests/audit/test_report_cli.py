"""`repro report` end to end: the real CLI on real runs and replays of the example."""

from __future__ import annotations

import json
import re

import pytest

from tests.audit.project import IMG_NAME, SCRIPT_NAME, Project


@pytest.fixture
def project(audit_project: Project) -> Project:
    return audit_project


def keyid(p: Project) -> str:
    return json.loads((p.root / "run.json").read_text())["signatures"][0]["keyid"]


def test_signed_run_with_both_replays_renders_every_verdict(project: Project) -> None:
    out = project.root / "audit.html"
    result = project.cli("report", "run.json", "--replay", str(project.reproduced), "--replay",
                         str(project.not_reproduced), "-o", str(out))
    assert result.returncode == 0, result.stderr
    html = out.read_text()
    assert "SIGNED</span>" in html and keyid(project) in html and "FILES MATCH" in html
    assert ">REPRODUCED</span>" in html and ">NOT REPRODUCED</span>" in html
    assert "within_tolerance" in html and 'class="hist"' in html  # the tolerance replay's error histogram
    assert "out/flag.txt" in html and "differs" in html
    assert 'class="graph"' in html
    for n in range(1, 8):
        assert f"<h2>{n}. " in html
    assert not re.search(r"(?:src|href)\s*=\s*[\"']|https?://(?!www\.w3\.org/2000/svg)", html)  # nothing to fetch


def test_a_file_name_holding_a_script_tag_is_text(project: Project) -> None:
    html = project.cli("report", "run.json", "--replay", str(project.reproduced), "-o", "-").stdout
    assert html.count("<script") == 1  # the report's own
    assert "&lt;script&gt;alert(1).txt" in html and "&lt;img src=x onerror=alert(2)&gt;.txt" in html
    assert "<img" not in html
    md = project.cli("report", "run.json", "--format", "markdown", "-o", "-").stdout
    md = re.sub(r"(?ms)^(`{3,})diff$.*?^\1$", "", md)  # the saved diff, in a fence, holds the names as code
    assert SCRIPT_NAME not in md and IMG_NAME not in md and r"\<script\>alert(1).txt" in md


def test_markdown_has_the_sections_and_verdicts_without_the_graph(project: Project) -> None:
    out = project.root / "AUDIT.md"
    result = project.cli("report", "run.json", "--replay", str(project.reproduced), "--replay",
                         str(project.not_reproduced), "--format", "markdown", "-o", str(out))
    assert result.returncode == 0, result.stderr
    md = out.read_text()
    assert "**✅ SIGNED**" in md and keyid(project) in md
    assert "### REPRODUCED:" in md and "### NOT REPRODUCED:" in md
    assert "errors of out/w.npy per decade:" in md
    assert [f"## {n}." in md for n in range(1, 8)] == [True] * 7 and "<svg" not in md
    assert "| output | status | rule |" in md


def test_unsigned_run_is_rendered_marked_unsigned(project: Project) -> None:
    result = project.cli("report", "unsigned.json", "-o", "-")
    assert result.returncode == 0, result.stderr
    assert '<span class="badge bad">UNSIGNED</span>' in result.stdout
    assert "NO REPLAY" in result.stdout


def test_tampered_manifest_is_refused_and_nothing_written(project: Project) -> None:
    doc = json.loads((project.root / "run.json").read_text())
    doc["predicate"]["command"]["exit_code"] = 0 if doc["predicate"]["command"]["exit_code"] else 1
    (project.root / "tampered.json").write_text(json.dumps(doc))
    out = project.root / "tampered.html"
    result = project.cli("report", "tampered.json", "-o", str(out))
    assert result.returncode == 3, result.stdout + result.stderr
    assert "refusing to report" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()
    assert project.cli("report", "tampered.json", "-o", "-").stdout == ""


def test_verdict_about_another_run_is_refused(project: Project) -> None:
    result = project.cli("report", "unsigned.json", "--replay", str(project.reproduced), "-o", "-")
    assert result.returncode == 3 and "the verdict is not about" in result.stderr and result.stdout == ""


def test_changed_output_on_disk_is_shown_in_red(project: Project) -> None:
    flag = project.root / "out" / "flag.txt"
    before = flag.read_text()
    flag.write_text("changed")
    try:
        result = project.cli("report", "run.json", "-o", "-")
    finally:
        flag.write_text(before)
    assert result.returncode == 0, result.stderr
    assert "FILES DIFFER" in result.stdout and "out/flag.txt" in result.stdout


def test_no_destination_is_a_usage_error(project: Project) -> None:
    result = project.cli("report", "run.json")
    assert result.returncode == 2 and "-o FILE" in result.stderr
