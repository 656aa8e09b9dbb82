from __future__ import annotations

from .conftest import Outputs
from .helpers import one_rule

IGNORE = one_rule({"ignore": ["^elapsed:", r"\bpid=\d+$"]})


def test_ignored_lines_are_left_out(outputs: Outputs) -> None:
    outputs.write("run.log", "start pid=12\nloss 0.5\nelapsed: 3.2s\ndone\n", "start pid=99\nloss 0.5\nelapsed: 4.0s\ndone\n")
    v = outputs.compare("run.log", IGNORE)
    assert v.status == "within_tolerance"
    assert v.rule == "text(ignore=2)"
    assert v.detail == "equal after leaving out 2 recorded and 2 replayed lines matching the ignore patterns"


def test_first_differing_line_is_named(outputs: Outputs) -> None:
    outputs.write("run.log", "a\nb\nc\n", "a\nB\nc\n")
    v = outputs.compare("run.log", IGNORE)
    assert (v.status, v.where, v.detail) == ("differs", "line 2", "line 2: 'b\\n' != 'B\\n'")


def test_line_numbers_follow_each_file_when_ignored_counts_differ(outputs: Outputs) -> None:
    outputs.write("run.log", "a\nx\n", "elapsed: 1\nelapsed: 2\na\ny\n")
    v = outputs.compare("run.log", IGNORE)
    assert (v.where, v.detail) == ("line 2", "line 2 (replayed line 4): 'x\\n' != 'y\\n'")


def test_extra_lines_differ(outputs: Outputs) -> None:
    outputs.write("run.log", "a\n", "a\nmore\n")
    v = outputs.compare("run.log", IGNORE)
    assert (v.status, v.where) == ("differs", "replayed line 2")
    assert v.detail == "the recorded copy has no more lines; replayed line 2: 'more\\n'"


def test_missing_lines_differ(outputs: Outputs) -> None:
    outputs.write("run.log", "a\nb\n", "a\nelapsed: 2\n")
    v = outputs.compare("run.log", IGNORE)
    assert (v.status, v.where) == ("differs", "line 2")
    assert v.detail.startswith("the replayed copy has no more lines")


def test_line_endings_count(outputs: Outputs) -> None:
    outputs.write("run.log", "a\r\nb\r\n", "a\nb\n")
    assert outputs.compare("run.log", IGNORE).where == "line 1"
    outputs.write("run.log", "a\nb\n", "a\nb")
    assert outputs.compare("run.log", IGNORE).where == "line 2"


def test_patterns_see_the_line_without_its_ending(outputs: Outputs) -> None:
    outputs.write("run.log", "pid=1\r\nx\n", "pid=2\r\nx\n")
    assert outputs.compare("run.log", IGNORE).status == "within_tolerance"


def test_bytes_that_are_not_utf8_are_compared_not_rejected(outputs: Outputs) -> None:
    outputs.write("run.log", b"ok\n\xff\xfe\nelapsed: 1\n", b"ok\n\xff\xfe\nelapsed: 2\n")
    assert outputs.compare("run.log", IGNORE).status == "within_tolerance"
    outputs.write("run.log", b"ok\n\xff\n", b"ok\n\xfe\n")
    assert outputs.compare("run.log", IGNORE).where == "line 2"


def test_ignore_with_a_tolerance_reads_json_as_numbers_and_logs_as_text(outputs: Outputs) -> None:
    rules = one_rule({"allclose": {"rtol": 1e-3}, "ignore": ["^t="]})
    outputs.write("out.json", "[1.0]", "[1.0001]")
    outputs.write("out.txt", "t=1\nv\n", "t=2\nv\n")
    assert outputs.compare("out.json", rules).rule.startswith("allclose")
    assert outputs.compare("out.txt", rules).rule == "text(ignore=1)"
    assert outputs.compare("out.txt", rules).status == "within_tolerance"


def test_ignore_patterns_never_apply_to_a_binary_file(outputs: Outputs) -> None:
    outputs.write("model.ckpt", b"PK\x03\x04\x00elapsed: 1\n", b"PK\x03\x04\x00elapsed: 2\n")
    v = outputs.compare("model.ckpt", IGNORE)
    assert (v.status, v.rule) == ("differs", "exact")
    assert v.detail == ("ignore patterns apply only to text and the recorded copy is binary (NUL byte at offset 4); "
                        "compared exactly: bytes differ from offset 14")
