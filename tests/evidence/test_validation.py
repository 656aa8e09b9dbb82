"""The JSON Schemas ship as package data and are themselves valid 2020-12 schemas."""

from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from repro.evidence import validation
from repro.errors import UsageError

SCHEMAS = sorted(p.name for p in resources.files("repro.schemas").iterdir() if p.name.endswith(".schema.json"))


def test_every_schema_ships():
    assert {"manifest.schema.json", "config.schema.json", "replay-report.schema.json"} <= set(SCHEMAS)


@pytest.mark.parametrize("name", SCHEMAS)
def test_schema_is_valid_against_the_meta_schema(name):
    Draft202012Validator.check_schema(validation.load(name))


def test_validate_names_the_field():
    with pytest.raises(UsageError, match=r"repro.yaml: \$\.threads: 'x' is not of type 'integer'"):
        validation.validate({"threads": "x"}, "config.schema.json", what="repro.yaml", error=UsageError)


def _plain_validator(ref: str):
    schema = validation.load("manifest.schema.json")
    return Draft202012Validator({"$ref": ref, "$defs": schema["$defs"]})


_values = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-5, max_value=2**60), st.floats(allow_nan=False),
    st.text(max_size=8), st.sampled_from(["a/b.csv", "../x", "/abs", "ok.npz", "a\\b", "C:/x", "x" * 5000]),
)
_digests = st.one_of(
    _values,
    st.dictionaries(st.sampled_from(["xxh3_128", "sha256", "md5"]),
                    st.one_of(st.sampled_from(["0" * 32, "f" * 64, "0" * 31, "G" * 32]), _values), max_size=2),
)
_files = st.fixed_dictionaries(
    {"path": _values, "size": _values, "digest": _digests},
    optional={"executable": _values, "link": _values, "extra": _values, "name": _values},
)
_entries = st.one_of(
    _values,
    _files,
    st.fixed_dictionaries(
        {"path": _values, "size": _values, "digest": _digests,
         "kind": st.one_of(st.sampled_from(["file", "directory", "dir"]), _values)},
        optional={"files": st.one_of(_values, st.lists(_files, max_size=3)), "observed": _values,
                  "stored": _values, "extra": _values},
    ),
)


@settings(max_examples=400, deadline=None)
@given(_entries)
def test_bulk_checks_never_accept_what_the_schema_rejects(entry):
    checks = validation._bulk_checks(validation.load("manifest.schema.json")["$defs"])
    for ref, check in checks.items():
        if check(entry):
            assert _plain_validator(ref).is_valid(entry), (ref, entry)


def test_bulk_checks_accept_real_entries():
    checks = validation._bulk_checks(validation.load("manifest.schema.json")["$defs"])
    entry = {"path": "data/x.csv", "size": 3, "digest": {"xxh3_128": "0" * 32}, "executable": False}
    assert checks["#/$defs/file"](entry) and checks["#/$defs/subject"]({"name": "x", "digest": {"sha256": "a" * 64}})
    directory = {"path": "data", "kind": "directory", "size": 3, "digest": {"xxh3_128": "1" * 32}, "files": [entry],
                 "observed": True}
    assert checks["#/$defs/artifact"](directory)
