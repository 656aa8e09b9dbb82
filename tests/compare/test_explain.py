"""Differences under the exact rule, explained: where they are, both values, and the rule that
would accept a numeric one (checked by comparing again under it)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from repro.compare import compare_file, load_rules
from repro.compare.explain import candidate_tolerance, json_differences, nice_ceiling, yaml_number
from tests.compare.conftest import Outputs


def exact(outputs: Outputs, name: str):
    rec, rep = outputs.paths(name)
    return compare_file(name, rec, rep, load_rules(None))


def test_json_names_the_first_differing_key_paths_with_both_values(outputs: Outputs) -> None:
    outputs.write("m.json", json.dumps({"loss": 0.25, "hist": [1, 2, 3], "name": "a", "gone": 1}),
                  json.dumps({"loss": 0.5, "hist": [1, 2, 4], "name": "b", "new": True}))
    v = exact(outputs, "m.json")
    assert v.status == "differs" and v.rule == "exact"
    assert ': 5 values differ: $.loss 0.25 != 0.5, $.hist[2] 3 != 4, $.name "a" != "b", $.gone 1 != (absent), ' \
           "$.new (absent) != true" in v.detail
    assert "would accept" not in v.detail  # a string differs: no tolerance makes it pass


def test_json_numbers_only_name_the_rule_that_accepts_them(outputs: Outputs) -> None:
    outputs.write("m.json", json.dumps({"loss": 0.25, "acc": 0.9}), json.dumps({"loss": 0.2500001, "acc": 0.9}))
    v = exact(outputs, "m.json")
    assert "1 value differs: $.loss 0.25 != 0.2500001" in v.detail
    assert v.detail.endswith('the rule {match: "m.json", allclose: {rtol: 5.0e-7, atol: 0.0}} would accept it')
    rules = load_rules({"rules": [{"match": "m.json", "allclose": {"rtol": 5.0e-7, "atol": 0.0}}]})
    assert compare_file("m.json", *outputs.paths("m.json"), rules).ok


def test_npz_names_the_array_and_the_max_error(outputs: Outputs) -> None:
    rec, rep = outputs.paths("model.npz")
    np.savez(rec, w=np.ones(3), b=np.zeros(1))
    np.savez(rep, w=np.ones(3) * 1.001, b=np.zeros(1))
    v = exact(outputs, "model.npz")
    assert "worst at w[0] (recorded 1.0, replayed 1.001)" in v.detail and v.where == "w[0]"
    assert v.max_abs_error == pytest.approx(1e-3) and "max abs 0.001" in v.detail
    assert 'the rule {match: "model.npz", allclose: {rtol: 1.0e-3, atol: 0.0}} would accept it' in v.detail


def test_npy_with_a_recorded_zero_gets_an_absolute_tolerance(outputs: Outputs) -> None:
    outputs.save("a.npy", np.zeros(3), np.array([0.0, 3e-9, 0.0]))
    v = exact(outputs, "a.npy")
    assert "allclose: {rtol: 0.0, atol: 5.0e-9}" in v.detail


def test_equal_values_in_other_bytes_say_so(outputs: Outputs) -> None:
    outputs.save("a.npy", np.arange(3.0), np.arange(3.0).astype(">f8"))
    v = exact(outputs, "a.npy")
    assert v.status == "differs" and "dtype" in v.detail, v.detail


def test_equal_values_written_differently_say_so_and_any_tolerance_accepts_them(outputs: Outputs) -> None:
    outputs.write("m.json", '{"a": 1, "b": [2.5]}', '{"a":1,"b":[2.5]}')
    v = exact(outputs, "m.json")
    assert v.detail.startswith("sizes differ (20 != 17 bytes); every value is equal")
    assert v.detail.endswith('the rule {match: "m.json", allclose: {rtol: 0.0, atol: 0.0}} would accept it')


def test_csv_and_text_name_the_first_differing_line(outputs: Outputs) -> None:
    outputs.write("log.txt", "epoch 1\nloss 0.5\nend\n", "epoch 1\nloss 0.6\nend\n")
    assert "first differing line 2: 'loss 0.5\\n' != 'loss 0.6\\n'" in exact(outputs, "log.txt").detail
    outputs.write("t.csv", "x,y\n1,2.0\n3,4.0\n", "x,y\n1,2.0\n3,4.5\n")
    v = exact(outputs, "t.csv")
    assert "row 2, column 'y' (recorded 4.0, replayed 4.5)" in v.detail and "rtol: 2.0e-1" in v.detail
    outputs.write("names.csv", "name\nada\nbob\n", "name\nada\nbea\n")
    assert "row 2, column 'name': 'bob' != 'bea'" in exact(outputs, "names.csv").detail


def test_other_bytes_name_the_first_differing_offset(outputs: Outputs) -> None:
    outputs.write("model.h5", b"\x00\x01\x02\x03", b"\x00\x01\x09\x03")
    v = exact(outputs, "model.h5")
    assert v.detail == "bytes differ from offset 2" and v.where == "byte 2"


@pytest.mark.parametrize("value, expected", [(0.0009999, 1e-3), (1e-3, 1e-3), (1.2e-6, 2e-6), (3e-9, 5e-9),
                                             (0.6, 1.0), (7.0, 10.0), (0.0, 0.0)])
def test_nice_ceiling(value, expected):
    assert nice_ceiling(value) == pytest.approx(expected) and nice_ceiling(value) >= value


def test_yaml_numbers_read_back_as_floats():
    import yaml

    for value in (1e-3, 5e-7, 2.0, 10.0, 0.0):
        assert yaml.safe_load(yaml_number(value)) == value


def test_candidate_tolerance_is_relative_unless_a_zero_makes_it_infinite():
    assert candidate_tolerance(0.5, 0.125).rtol == 0.2
    assert candidate_tolerance(3e-9, float("inf")).atol == 5e-9
    assert candidate_tolerance(float("nan"), float("nan")) is None


def test_json_differences_are_bounded_and_counted():
    found, count = json_differences({"a": list(range(10))}, {"a": list(range(1, 11))}, limit=2)
    assert count == 10 and found == [("$.a[0]", "0", "1"), ("$.a[1]", "1", "2")]
