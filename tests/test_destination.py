"""Output destinations: `-` is standard output, a path is checked before anything runs."""

from __future__ import annotations

import pytest

from repro.destination import destination, stdout_taken
from repro.errors import UsageError


def test_dash_is_standard_output():
    d = destination("-", "JSON report")
    assert d.to_stdout and str(d) == "standard output"


def test_a_writable_file_path_is_kept(tmp_path):
    d = destination(tmp_path / "r.json", "JSON report")
    d.write(b"{}\n")
    assert (tmp_path / "r.json").read_bytes() == b"{}\n"


@pytest.mark.parametrize("make, message", [
    (lambda p: p, "is a directory"),
    (lambda p: p / "missing" / "r.json", "does not exist"),
    (lambda p: (p / "file").write_text("x") and p / "file" / "r.json", "is not a directory"),
])
def test_unwritable_targets_are_one_line_usage_errors(tmp_path, make, message):
    with pytest.raises(UsageError, match=message):
        destination(make(tmp_path), "JSON report")
    assert not (tmp_path / "missing").exists()  # nothing created


def test_stdout_only_where_allowed_and_only_once():
    with pytest.raises(UsageError, match="cannot go to standard output"):
        destination("-", "verdict", allow_stdout=False)
    a, b = destination("-", "JSON report"), destination("-", "JUnit report")
    assert stdout_taken((a, None)) is True and stdout_taken((None,)) is False
    with pytest.raises(UsageError, match="only one document"):
        stdout_taken((a, b))
