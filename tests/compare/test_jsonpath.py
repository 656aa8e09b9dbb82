from __future__ import annotations

import pytest

from repro.compare.jsonpath import Wild, format_path, matches, parse_path, specificity


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("loss", ("loss",)),
        ("$.loss", ("loss",)),
        ("history[2].loss", ("history", 2, "loss")),
        ("$[0][1]", (0, 1)),
        ('["learning rate"].value', ("learning rate", "value")),
        ('a["x.y"]', ("a", "x.y")),
        ('a["*"]', ("a", "*")),
        ("history[*].loss", ("history", Wild.INDEX, "loss")),
        ("metrics.*.mean", ("metrics", Wild.KEY, "mean")),
        ("train-acc", ("train-acc",)),
    ],
)
def test_parse(text: str, segments: tuple) -> None:
    assert parse_path(text) == segments


@pytest.mark.parametrize("text", ["", "$", "a..b", "a.", "a[x]", "a[-1]", "a[", '["unterminated]', "a]b", '[1]["k"x]'])
def test_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_path(text)


@pytest.mark.parametrize(
    "parts",
    [(), ("loss",), ("history", 2, "loss"), ("learning rate",), ("a.b", 0), ("*",), ("", 3), ("1st",), ('q"uote',)],
)
def test_formatted_paths_parse_back(parts: tuple) -> None:
    text = format_path(parts)
    assert text.startswith("$")
    if parts:
        assert parse_path(text) == parts


def test_format_uses_dots_and_brackets() -> None:
    assert format_path(("history", 2, "loss")) == "$.history[2].loss"
    assert format_path(("learning rate",)) == '$["learning rate"]'


def test_a_pattern_covers_its_subtree() -> None:
    pattern = parse_path("history")
    assert matches(pattern, ("history", 3, "loss"))
    assert not matches(pattern, ("historyx",))
    assert not matches(parse_path("history[0].loss"), ("history",))


def test_wildcards_match_only_their_kind() -> None:
    assert matches(parse_path("a[*]"), ("a", 5))
    assert not matches(parse_path("a[*]"), ("a", "5"))
    assert matches(parse_path("a.*"), ("a", "k"))
    assert not matches(parse_path("a.*"), ("a", 0))


def test_index_is_not_a_key() -> None:
    assert not matches(parse_path('a["0"]'), ("a", 0))
    assert matches(parse_path('a["0"]'), ("a", "0"))


def test_specificity_prefers_longer_then_concrete() -> None:
    assert specificity(parse_path("a.b")) > specificity(parse_path("a"))
    assert specificity(parse_path("a[1]")) > specificity(parse_path("a[*]"))
