from __future__ import annotations

import re

import pytest
import yaml

from repro.compare.policy import Allclose, AnyOf, Ulp
from repro import globs
from repro.compare.rules import Rule, RuleSet, load_rules
from repro.errors import UsageError

EXAMPLE = """
rules:
  - match: "out/*.npz"
    allclose: {rtol: 1.0e-6, atol: 1.0e-9, equal_nan: false}
  - match: "metrics.json"
    allclose: {rtol: 1.0e-4}
    paths: {"loss": {atol: 1.0e-3}}
  - match: "out/*.npy"
    ulp: 4
  - match: "*.log"
    ignore: ["^elapsed:"]
  - match: "weights/*"
    exact: true
"""


def test_the_documented_example_loads() -> None:
    ruleset = load_rules(yaml.safe_load(EXAMPLE))
    npz, metrics, npy, log, weights = ruleset.rules
    assert npz.tolerance == Allclose(rtol=1e-6, atol=1e-9)
    assert metrics.tolerance == Allclose(rtol=1e-4)
    assert [(o.text, dict(o.fields)) for o in metrics.paths] == [("loss", {"atol": 1e-3})]
    assert npy.tolerance == Ulp(4)
    assert log.tolerance is None and [p.pattern for p in log.ignore] == ["^elapsed:"]
    assert not log.exact
    assert weights.exact
    assert [r.index for r in ruleset.rules] == [0, 1, 2, 3, 4]


def test_first_matching_rule_wins() -> None:
    ruleset = load_rules(
        {"rules": [{"match": "out/special.npy", "exact": True}, {"match": "out/*.npy", "ulp": 2}, {"match": "**", "ulp": 9}]}
    )
    assert ruleset.rule_for("out/special.npy").tolerance is None
    assert ruleset.rule_for("out/other.npy").tolerance == Ulp(2)
    assert ruleset.rule_for("elsewhere.npy").tolerance == Ulp(9)


def test_unmatched_outputs_are_exact() -> None:
    for ruleset in (load_rules(None), load_rules({"rules": None}), load_rules({"rules": [{"match": "a", "ulp": 1}]})):
        rule = ruleset.rule_for("b")
        assert rule.tolerance is None and not rule.ignore and rule.index is None
    assert load_rules(None) == RuleSet()


@pytest.mark.parametrize(
    ("pattern", "path", "hit"),
    [
        ("out/*.npz", "out/a.npz", True),
        ("out/*.npz", "out/sub/a.npz", False),  # * stops at "/": one dialect with --output
        ("out/**/*.npz", "out/sub/a.npz", True),
        ("out/*.npz", "out/.hidden.npz", False),  # nor matches a leading "."
        ("out/*.npz", "other/out/a.npz", False),  # anchored at the project root
        ("*.log", "logs/train.log", False),
        ("**/*.log", "logs/train.log", True),
        ("out/**/*.npy", "out/a.npy", True),  # **/ may match no directory
        ("out/**/*.npy", "out/x/y/a.npy", True),
        ("**", "anything/at/all", True),
        ("out/?.npy", "out/a.npy", True),
        ("out/?.npy", "out/ab.npy", False),
        ("out/[ab].npy", "out/b.npy", True),
        ("out/[!ab].npy", "out/b.npy", False),
        ("out/[!ab].npy", "out/c.npy", True),
        ("out/[.npy", "out/[.npy", True),  # unclosed class is a literal
        ("a+b(1).txt", "a+b(1).txt", True),  # regex metacharacters are literal
        ("Metrics.json", "metrics.json", False),  # case-sensitive
    ],
)
def test_glob(pattern: str, path: str, hit: bool) -> None:
    assert Rule(pattern).matches(path) is hit
    assert globs.matches(pattern, path) is hit  # the rule and the file system read a glob alike


def test_a_rule_written_for_the_old_reading_still_applies_and_is_named_once() -> None:
    rules = load_rules({"rules": [{"match": "out/*.npz", "allclose": {"rtol": 1e-5}}, {"match": "**", "exact": True}]})
    assert rules.rule_for("out/sub/a.npz").index == 0  # the verdicts of existing runs do not flip
    assert rules.rule_for("other/a.txt").index == 1
    notes = rules.changed_meaning(["out/a.npz", "out/sub/a.npz", "out/sub/b.npz"])
    assert notes == ["rules[0].match 'out/*.npz' matches out/sub/a.npz only in the old reading, where `*` crossed "
                     "`/` (or matched a leading `.`); it still applies, but that reading is deprecated: write "
                     "'out/**/*.npz' to say so"]
    respelled = load_rules({"rules": [{"match": "out/**/*.npz", "allclose": {"rtol": 1e-5}}]})
    assert respelled.rule_for("out/sub/a.npz").index == 0 and respelled.changed_meaning(["out/sub/a.npz"]) == []


def test_allclose_shorthands_mean_numpy_defaults() -> None:
    for value in (True, {}):
        assert load_rules({"rules": [{"match": "a", "allclose": value}]}).rules[0].tolerance == Allclose()


def test_yaml_1e_minus_6_string_is_read_as_a_number() -> None:
    data = yaml.safe_load("rules: [{match: a, allclose: {rtol: 1e-6}}]")
    assert data["rules"][0]["allclose"]["rtol"] == "1e-6"  # YAML 1.1 reads it as a string
    assert load_rules(data).rules[0].tolerance == Allclose(rtol=1e-6)


def test_ulp_mapping_form() -> None:
    rule = load_rules({"rules": [{"match": "a", "ulp": {"max": 2, "equal_nan": True}}]}).rules[0]
    assert rule.tolerance == Ulp(2, equal_nan=True)


def test_allclose_and_ulp_in_one_rule_accept_either() -> None:
    rule = load_rules({"rules": [{"match": "a", "allclose": {"rtol": 1e-6}, "ulp": 4}]}).rules[0]
    assert rule.tolerance == AnyOf((Allclose(rtol=1e-6), Ulp(4)))


def test_ignore_accepts_a_single_pattern() -> None:
    rule = load_rules({"rules": [{"match": "*.log", "ignore": "^time"}]}).rules[0]
    assert [p.pattern for p in rule.ignore] == ["^time"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "verify: expected a mapping"),
        ({"rule": []}, "verify.rule: unknown key"),
        ({"rules": {"match": "a"}}, "rules: expected a list"),
        ({"rules": ["a"]}, "rules[0]: expected a mapping"),
        ({"rules": [{"match": "a", "exact": True, "colour": 1}]}, "rules[0].colour: unknown key"),
        ({"rules": [{"exact": True}]}, "rules[0].match: expected a non-empty glob"),
        ({"rules": [{"match": "", "exact": True}]}, "rules[0].match"),
        ({"rules": [{"match": 3, "exact": True}]}, "rules[0].match"),
        ({"rules": [{"match": "a", "exact": True}, {"match": "b"}]}, "rules[1]: no policy"),
        ({"rules": [{"match": "a", "exact": False}]}, "rules[0].exact: expected true"),
        ({"rules": [{"match": "a", "exact": True, "ulp": 1}]}, "rules[0].ulp: cannot be combined with exact"),
        ({"rules": [{"match": "a", "allclose": {"rtol": -1e-6}}]}, "rules[0].allclose.rtol: expected a finite number >= 0"),
        ({"rules": [{"match": "a", "allclose": {"atol": float("nan")}}]}, "rules[0].allclose.atol"),
        ({"rules": [{"match": "a", "allclose": {"atol": float("inf")}}]}, "rules[0].allclose.atol"),
        ({"rules": [{"match": "a", "allclose": {"atol": "abc"}}]}, "rules[0].allclose.atol: expected a number"),
        ({"rules": [{"match": "a", "allclose": {"atol": True}}]}, "rules[0].allclose.atol: expected a number"),
        ({"rules": [{"match": "a", "allclose": {"atol": [1]}}]}, "rules[0].allclose.atol: expected a number"),
        ({"rules": [{"match": "a", "allclose": {"rtoll": 1}}]}, "rules[0].allclose.rtoll: unknown key"),
        ({"rules": [{"match": "a", "allclose": {"equal_nan": "yes"}}]}, "rules[0].allclose.equal_nan: expected true or false"),
        ({"rules": [{"match": "a", "allclose": 1e-6}]}, "rules[0].allclose: expected a mapping"),
        ({"rules": [{"match": "a", "ulp": -1}]}, "rules[0].ulp: expected an integer >= 0"),
        ({"rules": [{"match": "a", "ulp": 1.5}]}, "rules[0].ulp: expected an integer"),
        ({"rules": [{"match": "a", "ulp": True}]}, "rules[0].ulp: expected an integer"),
        ({"rules": [{"match": "a", "ulp": {"equal_nan": True}}]}, "rules[0].ulp.max: required"),
        ({"rules": [{"match": "a", "ulp": {"max": 1, "nan": True}}]}, "rules[0].ulp.nan: unknown key"),
        ({"rules": [{"match": "a", "ignore": ["(unclosed"]}]}, "rules[0].ignore[0]: invalid regular expression"),
        ({"rules": [{"match": "a", "ignore": ["ok", 3]}]}, "rules[0].ignore[1]: expected a regular expression"),
        ({"rules": [{"match": "a", "ignore": []}]}, "rules[0].ignore: expected at least one"),
        ({"rules": [{"match": "a", "ignore": {"x": 1}}]}, "rules[0].ignore: expected a list"),
        ({"rules": [{"match": "a", "ulp": 1, "paths": {"x": {"atol": 1}}}]}, "rules[0].paths: per-path overrides need an allclose"),
        ({"rules": [{"match": "a", "allclose": {}, "paths": ["x"]}]}, "rules[0].paths: expected a mapping"),
        ({"rules": [{"match": "a", "allclose": {}, "paths": {"a..b": {}}}]}, "rules[0].paths['a..b']: invalid path"),
        ({"rules": [{"match": "a", "allclose": {}, "paths": {"x": {"atol": -1}}}]}, "rules[0].paths['x'].atol"),
        ({"rules": [{"match": "a", "allclose": {}, "paths": {"x": {"ulp": 1}}}]}, "rules[0].paths['x'].ulp: unknown key"),
        ({"rules": [{"match": "a", "allclose": {}, "paths": {"x": 1e-3}}]}, "rules[0].paths['x']: expected a mapping"),
    ],
)
def test_invalid_rules_name_the_rule_and_field(data: object, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)) as info:
        load_rules(data)  # type: ignore[arg-type]
    assert "\n" not in str(info.value)


def test_paths_ignore_entries_need_no_tolerance() -> None:
    rules = load_rules({"rules": [{"match": "*.json", "paths": {"eval_runtime": "ignore", "callbacks.*.dirpath": "ignore"}}]})
    rule = rules.rule_for("trainer_state.json")
    assert rule.tolerance is None and not rule.exact
    assert [i.text for i in rule.ignored_paths] == ["eval_runtime", "callbacks.*.dirpath"]


def test_paths_mix_ignore_and_overrides() -> None:
    rule = load_rules({"rules": [{"match": "m.json", "allclose": {}, "paths": {"t": "ignore", "loss": {"atol": 1}}}]}).rules[0]
    assert [o.text for o in rule.paths] == ["loss"] and [i.text for i in rule.ignored_paths] == ["t"]


def test_compare_false_records_without_gating() -> None:
    rule = load_rules({"rules": [{"match": "events/*", "compare": False}]}).rule_for("events/x")
    assert rule.compare is False and not rule.exact


@pytest.mark.parametrize(
    "data, message",
    [
        ({"rules": [{"match": "a", "compare": False, "ulp": 1}]}, "rules[0].ulp: cannot be combined with compare: false"),
        ({"rules": [{"match": "a", "compare": "no"}]}, "rules[0].compare: expected true or false"),
        ({"rules": [{"match": "a", "compare": True}]}, "rules[0]: no policy"),
        ({"rules": [{"match": "a", "paths": {"x": "skip"}}]}, "rules[0].paths['x']: expected a mapping of allclose fields or 'ignore'"),
        ({"rules": [{"match": "a", "paths": {"x": "ignore", "y": {"atol": 1}}}]}, "rules[0].paths: per-path overrides need an allclose"),
    ],
)
def test_new_rule_fields_are_checked(data: dict, message: str) -> None:
    with pytest.raises(UsageError) as e:
        load_rules(data)
    assert str(e.value).startswith(message)
