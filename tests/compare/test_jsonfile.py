from __future__ import annotations

import json

import pytest

from .conftest import Outputs
from .helpers import one_rule

RULE = one_rule({"allclose": {"rtol": 1e-4}})


def _write(outputs: Outputs, recorded: object, replayed: object, name: str = "metrics.json") -> None:
    outputs.write(name, json.dumps(recorded), json.dumps(replayed))


def test_numbers_by_path(outputs: Outputs) -> None:
    _write(
        outputs,
        {"history": [{"loss": 1.0}, {"loss": 0.5}, {"loss": 0.25}], "name": "run"},
        {"history": [{"loss": 1.0}, {"loss": 0.5}, {"loss": 0.25001}], "name": "run"},
    )
    v = outputs.compare("metrics.json", RULE)
    assert v.status == "within_tolerance"
    assert v.where == "$.history[2].loss"
    assert v.max_abs_error == pytest.approx(1e-5)


def test_failure_location_and_values(outputs: Outputs) -> None:
    _write(outputs, {"a": {"b": [1.0, 2.0]}}, {"a": {"b": [1.0, 2.1]}})
    v = outputs.compare("metrics.json", RULE)
    assert (v.status, v.where) == ("differs", "$.a.b[1]")
    assert "worst at $.a.b[1] (recorded 2.0, replayed 2.1)" in v.detail


@pytest.mark.parametrize(
    ("recorded", "replayed", "detail", "where"),
    [
        ({"a": 1}, {"a": "1"}, "type differs at $.a: number != string", "$.a"),
        ({"a": True}, {"a": 1}, "type differs at $.a: boolean != number", "$.a"),
        ({"a": None}, {"a": 0}, "type differs at $.a: null != number", "$.a"),
        ({"a": 1, "b": 2}, {"a": 1}, "key 'b' missing from the replayed copy at $", "$.b"),
        ({"a": 1}, {"a": 1, "c": 2}, "unexpected key 'c' in the replayed copy at $", "$.c"),
        ({"h": [1, 2]}, {"h": [1, 2, 3]}, "length 2 != 3 at $.h", "$.h"),
        ({"s": "x"}, {"s": "y"}, 'value differs at $.s: "x" != "y"', "$.s"),
        ({"t": True}, {"t": False}, "value differs at $.t: true != false", "$.t"),
        ([{"k": {"n": 1}}], [{"k": []}], "type differs at $[0].k: object != array", "$[0].k"),
        ({"big": 2**60}, {"big": 2**60 + 1}, f"integer differs at $.big: {2**60} != {2**60 + 1}", "$.big"),
    ],
)
def test_structure_must_match_exactly(outputs: Outputs, recorded, replayed, detail: str, where: str) -> None:
    _write(outputs, recorded, replayed)
    v = outputs.compare("metrics.json", one_rule({"allclose": {"rtol": 1.0, "atol": 1.0}}))
    assert (v.status, v.detail, v.where) == ("differs", detail, where)


def test_ints_and_floats_are_both_numbers(outputs: Outputs) -> None:
    _write(outputs, {"step": 10, "lr": 1}, {"step": 10.0, "lr": 1.00001})
    assert outputs.compare("metrics.json", RULE).status == "within_tolerance"


def test_formatting_and_key_order_do_not_matter(outputs: Outputs) -> None:
    outputs.write("metrics.json", '{"a": 1.0, "b": [1, 2]}', '{\n  "b": [1, 2],\n  "a": 1.0\n}\n')
    v = outputs.compare("metrics.json", RULE)
    assert (v.status, v.detail) == ("within_tolerance", "all 3 values equal; the bytes differ outside them")


@pytest.mark.parametrize(("equal_nan", "status"), [(False, "differs"), (True, "within_tolerance")])
def test_nan_written_by_json_dump(outputs: Outputs, equal_nan: bool, status: str) -> None:
    _write(outputs, {"loss": float("nan"), "acc": 0.5}, {"loss": float("nan"), "acc": 0.50001})
    v = outputs.compare("metrics.json", one_rule({"allclose": {"rtol": 1e-4, "equal_nan": equal_nan}}))
    assert v.status == status
    if status == "differs":
        assert v.where == "$.loss"


def test_infinity_constants(outputs: Outputs) -> None:
    _write(outputs, {"x": float("inf")}, {"x": float("-inf")})
    v = outputs.compare("metrics.json", RULE)
    assert (v.status, v.where) == ("differs", "$.x")


def test_path_override_merges_over_the_rule(outputs: Outputs) -> None:
    _write(outputs, {"loss": 0.5, "acc": 0.9}, {"loss": 0.5005, "acc": 0.9})
    rules = {"rules": [{"match": "metrics.json", "allclose": {"rtol": 1e-4}, "paths": {"loss": {"atol": 1e-3}}}]}
    v = outputs.compare("metrics.json", rules)
    assert v.status == "within_tolerance"
    assert v.rule == "allclose(rtol=0.0001, atol=1e-08) + 1 path override"
    without = outputs.compare("metrics.json", RULE)
    assert (without.status, without.where) == ("differs", "$.loss")


def test_override_covers_a_subtree_and_the_most_specific_wins(outputs: Outputs) -> None:
    recorded = {"history": [{"loss": 1.0, "acc": 0.5}, {"loss": 1.0, "acc": 0.5}]}
    replayed = {"history": [{"loss": 1.01, "acc": 0.5}, {"loss": 1.01, "acc": 0.5}]}
    _write(outputs, recorded, replayed)
    paths = {"history": {"atol": 0.1}, "history[1].loss": {"atol": 0.0}}
    v = outputs.compare("metrics.json", {"rules": [{"match": "**", "allclose": {"rtol": 0.0}, "paths": paths}]})
    assert (v.status, v.where) == ("differs", "$.history[1].loss")
    assert v.detail.startswith("1 of 4 values")


def test_override_with_wildcards(outputs: Outputs) -> None:
    _write(outputs, {"h": [{"loss": 1.0}, {"loss": 2.0}]}, {"h": [{"loss": 1.01}, {"loss": 2.01}]})
    rules = {"rules": [{"match": "**", "allclose": {"rtol": 0.0}, "paths": {"$.h[*].loss": {"atol": 0.02}}}]}
    assert outputs.compare("metrics.json", rules).status == "within_tolerance"


def test_override_can_turn_on_equal_nan_for_one_path(outputs: Outputs) -> None:
    both = json.dumps({"a": float("nan"), "b": float("nan")})
    outputs.write("metrics.json", both, both + "\n")  # same values, bytes differ
    rules = {"rules": [{"match": "**", "allclose": {}, "paths": {"a": {"equal_nan": True}}}]}
    v = outputs.compare("metrics.json", rules)
    assert (v.status, v.where) == ("differs", "$.b")


@pytest.mark.parametrize("side", ["recorded", "replayed"])
def test_corrupt_json_differs_and_names_the_side(outputs: Outputs, side: str) -> None:
    good, bad = '{"a": 1}', '{"a": 1'
    outputs.write("metrics.json", bad if side == "recorded" else good, good if side == "recorded" else bad)
    v = outputs.compare("metrics.json", RULE)
    assert v.status == "differs"
    assert v.detail.startswith(f"the {side} copy is not readable as JSON")


def test_pathologically_deep_json_is_unreadable_not_a_crash(outputs: Outputs) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    outputs.write("metrics.json", deep, deep + " ")
    v = outputs.compare("metrics.json", RULE)
    assert v.status == "differs"
    assert "not readable as JSON" in v.detail


def test_deep_but_parseable_json_is_walked_without_recursion(outputs: Outputs) -> None:
    depth = 500
    outputs.write("metrics.json", "[" * depth + "1.0" + "]" * depth, "[" * depth + "1.00001" + "]" * depth)
    v = outputs.compare("metrics.json", RULE)
    assert v.status == "within_tolerance"
    assert v.where == "$" + "[0]" * depth


def test_ignored_paths_leave_values_out_whatever_they_are(outputs: Outputs) -> None:
    outputs.write("m.json", '{"eval_runtime": 1.2, "eval_loss": 0.5, "log": [{"t": "a"}]}',
                  '{"eval_runtime": 9.9, "eval_loss": 0.5, "log": [{"t": 3}]}')
    v = outputs.compare("m.json", one_rule({"paths": {"eval_runtime": "ignore", "log[*].t": "ignore"}}))
    assert (v.status, v.rule) == ("within_tolerance", "exact + 2 ignored paths")
    assert v.detail == "all 1 values equal; the bytes differ outside them; 2 values left out at ignored paths"
    assert outputs.compare("m.json", one_rule({"paths": {"eval_runtime": "ignore"}})).where == "$.log[0].t"


def test_compare_false_is_reported_as_skipped(outputs: Outputs) -> None:
    outputs.write("events.out", "a", "b")
    v = outputs.compare("events.out", one_rule({"compare": False}))
    assert (v.status, v.rule, v.ok, v.compared) == ("skipped", "compare: false", True, False)
