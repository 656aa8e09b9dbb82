"""Small builders shared by the comparison tests."""

from __future__ import annotations


def one_rule(policy: dict, match: str = "**") -> dict:
    """A rules mapping with one rule applying `policy` to every output it matches."""
    return {"rules": [{"match": match, **policy}]}
