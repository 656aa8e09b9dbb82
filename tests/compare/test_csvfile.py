from __future__ import annotations

import pytest

from repro.compare import csvfile

from .conftest import Outputs
from .helpers import one_rule

RULE = one_rule({"allclose": {"rtol": 1e-4}})


def test_numeric_cells_within_tolerance(outputs: Outputs) -> None:
    outputs.write("m.csv", "step,acc,tag\n1,0.5,a\n2,0.6,b\n", "step,acc,tag\n1,0.5,a\n2,0.60001,b\n")
    v = outputs.compare("m.csv", RULE)
    assert (v.status, v.where) == ("within_tolerance", "row 2, column 'acc'")
    assert v.max_abs_error == pytest.approx(1e-5)


def test_numeric_cell_out_of_tolerance(outputs: Outputs) -> None:
    outputs.write("m.csv", "step,acc\n1,0.5\n2,0.6\n", "step,acc\n1,0.5\n2,0.61\n")
    v = outputs.compare("m.csv", RULE)
    assert (v.status, v.where) == ("differs", "row 2, column 'acc'")
    assert "(recorded 0.6, replayed 0.61)" in v.detail


def test_text_cells_must_be_equal(outputs: Outputs) -> None:
    outputs.write("m.csv", "step,tag\n1,a\n", "step,tag\n1,b\n")
    v = outputs.compare("m.csv", RULE)
    assert (v.status, v.detail, v.where) == ("differs", "row 1, column 'tag': 'a' != 'b'", "row 1, column 'tag'")


def test_number_against_text_is_exact(outputs: Outputs) -> None:
    outputs.write("m.csv", "x\n1.0\n", "x\nn/a\n")
    assert outputs.compare("m.csv", RULE).detail == "row 1, column 'x': '1.0' != 'n/a'"


def test_header_must_match(outputs: Outputs) -> None:
    outputs.write("m.csv", "a,b\n1,2\n", "a,c\n1,2\n")
    v = outputs.compare("m.csv", RULE)
    assert (v.status, v.detail) == ("differs", "header differs: ['a', 'b'] != ['a', 'c']")


@pytest.mark.parametrize(
    ("recorded", "replayed", "detail"),
    [
        ("a\n1\n2\n", "a\n1\n", "row count differs: 2 != 1"),
        ("a\n1\n", "a\n1\n2\n3\n", "row count differs: 1 != 3"),
    ],
)
def test_row_count_must_match(outputs: Outputs, recorded: str, replayed: str, detail: str) -> None:
    outputs.write("m.csv", recorded, replayed)
    v = outputs.compare("m.csv", RULE)
    assert (v.status, v.detail) == ("differs", detail)


def test_ragged_rows(outputs: Outputs) -> None:
    outputs.write("m.csv", "a,b\n1,2\n", "a,b\n1,2,3\n")
    v = outputs.compare("m.csv", RULE)
    assert (v.status, v.detail) == ("differs", "row 1 has 2 fields recorded, 3 replayed")


def test_extra_column_is_named_by_position(outputs: Outputs) -> None:
    outputs.write("m.csv", "a\n1,x\n", "a\n1,y\n")
    assert outputs.compare("m.csv", RULE).where == "row 1, column '#2'"


def test_empty_copy(outputs: Outputs) -> None:
    outputs.write("m.csv", "a\n1\n", "")
    assert outputs.compare("m.csv", RULE).detail == "the replayed copy is empty"


@pytest.mark.parametrize(("equal_nan", "status"), [(False, "differs"), (True, "within_tolerance")])
def test_nan_cells(outputs: Outputs, equal_nan: bool, status: str) -> None:
    outputs.write("m.csv", "a,b\nnan,1\n", "a,b\nnan,1.0\n")
    assert outputs.compare("m.csv", one_rule({"allclose": {"equal_nan": equal_nan}})).status == status


def test_quoted_fields_and_crlf(outputs: Outputs) -> None:
    outputs.write("m.csv", 'name,v\r\n"a, b",1\r\n', 'name,v\r\n"a, b",1.00000001\r\n')
    assert outputs.compare("m.csv", RULE).status == "within_tolerance"


def test_batches_keep_the_worst_cell(outputs: Outputs, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csvfile, "BATCH_CELLS", 3)
    rows = [f"{i},{i * 0.5}" for i in range(1, 11)]
    changed = list(rows)
    changed[3] = "4,2.0005"  # row 4: an error of 5e-4
    changed[8] = "9,4.55"  # row 9: an error of 0.05, the worst
    outputs.write("m.csv", "i,x\n" + "\n".join(rows) + "\n", "i,x\n" + "\n".join(changed) + "\n")
    v = outputs.compare("m.csv", RULE)
    assert (v.status, v.where) == ("differs", "row 9, column 'x'")
    assert v.detail.startswith("2 of 20 values out of tolerance")


@pytest.mark.parametrize("side", ["recorded", "replayed"])
def test_malformed_csv_differs_and_names_the_side(outputs: Outputs, side: str) -> None:
    good, bad = "a,b\n1,2\n", 'a,b\n1,"2\n'
    outputs.write("m.csv", bad if side == "recorded" else good, good if side == "recorded" else bad)
    v = outputs.compare("m.csv", RULE)
    assert v.status == "differs"
    assert v.detail.startswith(f"the {side} copy is not readable as CSV")


def test_bytes_that_are_not_utf8_compare_exactly(outputs: Outputs) -> None:
    outputs.write("m.csv", b"a,b\n\xff,1\n", b"a,b\n\xfe,1\n")
    v = outputs.compare("m.csv", RULE)
    assert (v.status, v.where) == ("differs", "row 1, column 'a'")
