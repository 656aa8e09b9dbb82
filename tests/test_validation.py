"""The JSON Schemas ship as package data and are themselves valid 2020-12 schemas."""

from importlib import resources

import pytest
from jsonschema import Draft202012Validator

from repro import validation
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
