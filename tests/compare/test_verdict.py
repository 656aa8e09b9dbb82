from __future__ import annotations

import json
import math

import pytest

from repro.compare import Verdict
from repro.errors import UsageError


def test_to_json_encodes_non_finite_errors_as_strings() -> None:
    v = Verdict("a.npy", "differs", "ulp(4)", "x", max_abs_error=math.inf, max_rel_error=math.nan, where="[0]")
    data = v.to_json()
    assert data["max_abs_error"] == "inf"
    assert data["max_rel_error"] == "nan"
    json.dumps(data, allow_nan=False)  # raises if anything non-finite slipped through


def test_to_json_from_json_round_trip() -> None:
    v = Verdict("m.json", "within_tolerance", "allclose(rtol=1e-05, atol=1e-08)", "d", 1e-7, -math.inf, "$.loss")
    back = Verdict.from_json(json.loads(json.dumps(v.to_json())))
    assert back == v


def test_missing_and_unexpected_helpers() -> None:
    missing, unexpected = Verdict.missing("out/a.npy"), Verdict.unexpected("out/b.npy")
    assert (missing.path, missing.status, missing.ok) == ("out/a.npy", "missing", False)
    assert (unexpected.path, unexpected.status, unexpected.ok) == ("out/b.npy", "unexpected", False)
    assert missing.detail and unexpected.detail


@pytest.mark.parametrize(("status", "ok"), [("identical", True), ("within_tolerance", True), ("differs", False)])
def test_ok_means_reproduced(status: str, ok: bool) -> None:
    assert Verdict("a", status, "exact").ok is ok  # type: ignore[arg-type]


def test_unknown_status_is_refused() -> None:
    with pytest.raises(UsageError, match="status"):
        Verdict("a", "close_enough", "exact")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"path": "a", "status": "identical"}, "rule"),
        ({"path": "a", "status": "identical", "rule": "exact", "colour": 1}, "colour"),
        ({"path": "a", "status": "identical", "rule": "exact", "max_abs_error": "big"}, "max_abs_error"),
        ({"path": "a", "status": "identical", "rule": "exact", "where": 3}, "where"),
    ],
)
def test_from_json_names_the_bad_field(data: dict, field: str) -> None:
    with pytest.raises(UsageError, match=field):
        Verdict.from_json(data)
