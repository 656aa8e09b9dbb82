"""The audit report as a reader's browser shows it: real runs of the example rendered by
`repro report`, loaded in headless Chromium from the file alone."""

from __future__ import annotations

import struct
import subprocess
import time
import zlib
from pathlib import Path

import pytest

from tests.audit.project import IMG_NAME, SCRIPT_NAME, Project

pytestmark = pytest.mark.chromium


def distinct_bytes(png: bytes) -> int:
    """How many byte values the decoded pixel rows hold: a blank page holds a handful."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, data = 8, b""
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        if kind == b"IDAT":
            data += png[pos + 8 : pos + 8 + length]
        pos += 12 + length
    return len(set(zlib.decompress(data)))


def render(p: Project, name: str, *args: str) -> Path:
    out = p.root / name
    result = p.cli("report", *args, "-o", str(out))
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def project(browser, request) -> Project:
    """The shared runs, asked for only once the browser is known to be there (a skip costs nothing)."""
    return request.getfixturevalue("audit_project")


@pytest.fixture(scope="module")
def reports(project: Project) -> dict[str, Path]:
    p = project
    return {
        "both": render(p, "both.html", "run.json", "--replay", str(p.reproduced), "--replay", str(p.not_reproduced)),
        "unsigned": render(p, "unsigned.html", "unsigned.json", "--no-files"),
    }


def test_the_page_loads_alone_and_shows_the_verdicts_and_the_signer(browser, reports, project) -> None:
    page = reports["both"]
    load = browser.open(page.as_uri())
    print(f"\nChromium loaded the example's report ({page.stat().st_size // 1024} KiB) in {load.seconds:.2f} s")
    assert load.errors == []  # no console error, no uncaught exception, no blocked load
    assert load.requests == [page.as_uri()]  # nothing but the file itself
    text = browser.evaluate("document.body.innerText")
    keyid = project.cli("verify", "run.json").stdout.split("signed by ")[1].split(";")[0]
    assert "REPRODUCED" in text and "NOT REPRODUCED" in text and keyid in text
    assert browser.evaluate("document.body.dataset.enhanced") == "yes"  # its script ran under its own policy
    assert browser.evaluate("document.querySelectorAll('svg.hist').length") >= 1
    assert browser.evaluate("document.querySelectorAll('svg.graph .node').length") >= 3


def test_file_names_holding_markup_render_as_text(browser, reports) -> None:
    browser.open(reports["both"].as_uri())
    assert browser.evaluate("document.querySelectorAll('script').length") == 1
    assert browser.evaluate("document.querySelectorAll('img').length") == 0
    text = browser.evaluate("document.body.innerText")
    assert SCRIPT_NAME in text and IMG_NAME in text


def test_the_screenshot_is_not_blank(browser, reports, tmp_path) -> None:
    browser.open(reports["both"].as_uri())
    png = browser.screenshot()
    assert len(png) > 20_000 and distinct_bytes(png) > 64


def test_an_unsigned_run_is_marked_in_red(browser, reports) -> None:
    load = browser.open(reports["unsigned"].as_uri())
    assert load.errors == []
    badge = "document.querySelector('#trust-signature .badge')"
    assert browser.evaluate(f"{badge}.innerText") == "UNSIGNED"
    assert browser.evaluate(f"getComputedStyle({badge}).backgroundColor") == "rgb(207, 34, 46)"


def test_the_checks_catch_a_page_that_errs_and_fetches(browser, tmp_path) -> None:
    """The two checks above are not vacuous: a page that logs an error and loads a remote image
    is caught by both."""
    page = tmp_path / "bad.html"
    page.write_text('<!doctype html><img src="http://192.0.2.1/x.png"><script>console.error("boom")</script>')
    load = browser.open(page.as_uri())
    assert any("boom" in e for e in load.errors)
    assert "http://192.0.2.1/x.png" in load.requests


def test_the_pdf_holds_the_verdict_and_the_signer(project) -> None:
    p = project
    start = time.monotonic()
    result = p.cli("report", "run.json", "--replay", str(p.reproduced), "--pdf", "audit.pdf")
    seconds = time.monotonic() - start
    assert result.returncode == 0, result.stderr
    print(f"\nrepro report --pdf took {seconds:.2f} s")
    text = subprocess.run(["pdftotext", "-layout", str(p.root / "audit.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    keyid = p.cli("verify", "run.json").stdout.split("signed by ")[1].split(";")[0]
    assert "REPRODUCED" in text and keyid[:32] in text.replace("\n", "")
    assert "1. Summary" in text and "7. Results and their verification" in text
