from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from repro.compare import compare_file, load_rules
from repro.compare.files import NUMERIC_FORMATS, select_format
from repro.compare.format import Format
from repro.compare.rules import Rule
from repro.compare.text import TextFormat

from .conftest import Outputs
from .helpers import one_rule


@pytest.mark.parametrize("suffix", sorted(NUMERIC_FORMATS))
def test_every_numeric_suffix_maps_to_a_format(suffix: str) -> None:
    rule = load_rules(one_rule({"allclose": True})).rules[0]
    fmt, why = select_format(f"out/x{suffix}", rule)
    assert isinstance(fmt, Format)
    assert why == ""
    assert fmt.label == "allclose(rtol=1e-05, atol=1e-08)"


def test_suffix_is_read_from_the_output_name_case_insensitively() -> None:
    rule = load_rules(one_rule({"ulp": 1})).rules[0]
    fmt, _ = select_format("OUT/X.NPY", rule)
    assert fmt is not None and fmt.kind == "a .npy array"


def test_ignore_selects_text_for_other_suffixes() -> None:
    rule = load_rules(one_rule({"ignore": ["x"]})).rules[0]
    assert isinstance(select_format("a.log", rule)[0], TextFormat)
    assert isinstance(select_format("a.npy", rule)[0], TextFormat)


def test_exact_rule_selects_no_format() -> None:
    assert select_format("a.npy", Rule(match="**")) == (None, "")


def test_identical_bytes_are_never_parsed(outputs: Outputs) -> None:
    outputs.write("out/a.npy", b"not an array", b"not an array")
    v = outputs.compare("out/a.npy", one_rule({"allclose": True}))
    assert (v.status, v.rule, v.detail) == ("identical", "allclose(rtol=1e-05, atol=1e-08)", "")


def test_unmatched_output_is_exact(outputs: Outputs) -> None:
    outputs.save("a.npy", np.zeros(3), np.array([0.0, 0.0, 1e-300]))
    v = outputs.compare("a.npy", one_rule({"ulp": 1000}, match="other/*"))
    assert (v.status, v.rule) == ("differs", "exact")
    assert v.detail.startswith("bytes differ from offset ")


def test_exact_reports_size_difference(outputs: Outputs) -> None:
    outputs.write("w.bin", b"\x00abc", b"\x00abcd")
    v = outputs.compare("w.bin", None)
    assert (v.status, v.rule, v.detail) == ("differs", "exact", "sizes differ (4 != 5 bytes); first differing byte at offset 4")


def test_tolerance_on_an_unknown_format_falls_back_to_exact_and_says_why(outputs: Outputs) -> None:
    outputs.write("model.h5", b"\x00\x01", b"\x00\x02")
    v = outputs.compare("model.h5", one_rule({"allclose": True}))
    assert (v.status, v.rule) == ("differs", "exact")
    assert v.detail == (
        "allclose(rtol=1e-05, atol=1e-08) has no reader for '.h5' files (only .npy, .npz, .json, .ipynb, .csv, "
        ".safetensors, .pt, .pth, .bin, .ckpt); compared exactly: bytes differ from offset 1"
    )


def test_tolerance_on_a_file_without_suffix(outputs: Outputs) -> None:
    outputs.write("out/LICENSE", "a", "b")
    assert "files without a suffix" in outputs.compare("out/LICENSE", one_rule({"ulp": 1})).detail


def test_exact_rule_on_an_identical_file(outputs: Outputs) -> None:
    outputs.write("weights/w.bin", b"same", b"same")
    v = outputs.compare("weights/w.bin", one_rule({"exact": True}, match="weights/*"))
    assert (v.status, v.rule) == ("identical", "exact")


@pytest.mark.parametrize("side", ["recorded", "replayed"])
def test_a_missing_copy_is_a_difference_not_an_exception(tmp_path: Path, side: str) -> None:
    present = tmp_path / "present.json"
    present.write_text("{}")
    absent = tmp_path / "absent.json"
    rec, rep = (absent, present) if side == "recorded" else (present, absent)
    v = compare_file("m.json", rec, rep, load_rules(one_rule({"allclose": True})))
    assert v.status == "differs"
    assert v.detail.startswith(f"cannot read the {side} copy")


def test_a_directory_instead_of_a_file_is_a_difference(tmp_path: Path) -> None:
    f = tmp_path / "f.npy"
    np.save(f, np.zeros(1))
    v = compare_file("f.npy", f, tmp_path, load_rules(None))
    assert v.status == "differs" and "replayed" in v.detail


def test_chunk_size_must_be_positive(outputs: Outputs) -> None:
    outputs.save("a.npy", np.zeros(1), np.ones(1))
    with pytest.raises(ValueError):
        outputs.compare("a.npy", None, chunk_elements=0)


def test_verdict_path_is_the_output_name(outputs: Outputs) -> None:
    outputs.write("out/deep/m.csv", "a\n1\n", "a\n1.0\n")
    assert outputs.compare("out/deep/m.csv", one_rule({"allclose": True})).path == "out/deep/m.csv"
