"""The report's pieces without a run: formats, escaping, the leak checks and the drawings."""

from __future__ import annotations

import pytest

from repro.audit import formats, svg
from repro.audit.markdown import escape, fenced
from repro.audit.model import GraphNode, Provenance, overlap_warnings
from repro.compare.histogram import HistogramBuilder
from repro.errors import UsageError


@pytest.mark.parametrize("name", formats.FORMAT_NAMES)
def test_every_format_name_maps_to_a_format_of_that_name(name: str) -> None:
    fmt = formats.get_format(name)
    assert isinstance(fmt, formats.AuditFormat) and fmt.name == name


def test_an_unknown_format_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="html, markdown"):
        formats.get_format("docx")


def test_markdown_escaping_leaves_no_tag_link_cell_or_line_break() -> None:
    text = escape("a|b <img src=x> [x](javascript:y) *e* `c` $m$\nnext")
    assert "\n" not in text and "|" not in text.replace("\\|", "")
    assert "<" not in text.replace("\\<", "") and "[" not in text.replace("\\[", "")


def test_a_fence_is_longer_than_any_backtick_run_inside() -> None:
    block = fenced("+x = ````\n```\n", "diff")
    assert block.startswith("`````diff\n") and block.endswith("\n`````")


def _art(path: str, digest: str, size: int = 3) -> dict:
    return {"path": path, "kind": "file", "size": size, "digest": {"xxh3_128": digest}}


def test_leaks_between_inputs_and_outputs_and_between_inputs_are_warned() -> None:
    train = {"path": "train", "kind": "directory", "size": 6, "digest": {"xxh3_128": "t"},
             "files": [_art("train/a.csv", "aa"), _art("train/b.csv", "bb")]}
    test = {"path": "test", "kind": "directory", "size": 6, "digest": {"xxh3_128": "s"},
            "files": [_art("test/a.csv", "aa"), _art("test/empty", "ee", 0)]}
    pred = {"digest_algorithm": "xxh3_128", "inputs": [train, test, _art("e2", "ee", 0)],
            "outputs": [_art("out/copy.csv", "bb")]}
    warnings = overlap_warnings(pred)
    assert any("output out/copy.csv has the same content as input train/b.csv" in w for w in warnings)
    assert any("inputs train and test share a file: train/a.csv and test/a.csv" in w for w in warnings)
    assert len(warnings) == 2  # empty files share a digest and are no leak


def test_drawings_escape_their_text() -> None:
    node = GraphNode("input", "<script>x</script>", "a & b")
    graph = str(svg.provenance(Provenance((node,), GraphNode("command", "python <t>.py"), (node,), (), ())))
    assert "<script>" not in graph and "&lt;script&gt;" in graph and "&amp; b" in graph
    h = HistogramBuilder()
    h.add(__import__("numpy").array([0.0, 1e-9, 2e-9, 1e3]))
    hist = str(svg.histogram(h.build(), label="<w>"))
    assert hist.startswith("<svg") and "&lt;w&gt;" in hist and hist.count("<rect") == 22
