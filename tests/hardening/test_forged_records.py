"""Records forged by the command: whatever a process writes into `$REPRO_RUN_DIR`, the run seals,
and its manifest reads back (`show`, `verify`).

The nine shapes the issue found each crashed `repro run` with exit 70 and left no manifest; a
seed value beyond 2**53 made an unsigned manifest `show` refused. The property tests cover the
family: any JSON value in any field of any record type is dropped or used, never a crash, and
what is used can be signed and read back."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repro import observe, records
from repro.capture import seeds
from repro.evidence import jsonio
from repro.evidence.manifest import Manifest
from tests.conftest import examples
from tests.hardening.cases import cli, make_example

ISSUE_SHAPES = [
    {"event": "seeded", "lib": "random", "value": "abc"},
    {"event": "seeded", "lib": "random", "value": [1]},
    {"event": "observed", "files": [1, 2]},
    {"event": "observed", "files": {"r": [[1]]}},
    {"event": "observed", "listed": 5},
    {"event": "observed", "modules": [[1]]},
    {"event": "observed", "seed_calls": [{"call": "random.seed", "site": "x:1", "values": [1], "count": "many",
                                          "unseeded": False}]},
    {"event": "observed", "seed_calls": [{"call": "random.seed", "site": "x:1", "values": 5, "count": 1,
                                          "unseeded": False}]},
    {"event": "start", "argv": 5},
]
HUGE = {"event": "seeded", "lib": "numpy", "value": 99999999999999999999999}

FORGER = """
import json, os
shapes = json.loads(open("shapes.json").read())
with open(os.path.join(os.environ["REPRO_RUN_DIR"], "proc-999999.jsonl"), "w") as f:
    for s in shapes:
        f.write(json.dumps(dict(s, pid=999999)) + "\\n")
    f.write("not json at all\\n")
"""


def _run_forger(tmp_path: Path, keys: Path, shapes: list[dict], *extra: str):
    project = make_example(tmp_path / "p")
    (project / "forge.py").write_text(FORGER)
    (project / "shapes.json").write_text(json.dumps(shapes))
    result = cli("run", "--manifest", "run.json", *extra, "--", sys.executable, "forge.py", cwd=project, xdg=keys)
    return project, result


def test_the_nine_shapes_are_dropped_with_one_warning_and_the_run_seals(tmp_path, keys):
    project, result = _run_forger(tmp_path, keys, ISSUE_SHAPES)
    assert result.returncode == 0, result.stderr
    assert "10 malformed record(s) in the run directory were dropped" in result.stderr  # nine, and the line
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    for command in (("verify", "run.json"), ("show", "run.json")):
        shown = cli(*command, cwd=project, xdg=keys)
        assert shown.returncode == 0, shown.stderr
    warnings = json.loads((project / "run.json").read_text())["predicate"]["warnings"]
    assert any("10 malformed record(s)" in w for w in warnings)


def test_a_seed_beyond_what_a_manifest_holds_is_dropped_signed_or_not(tmp_path, keys):
    for n, flags in enumerate(((), ("--no-sign",))):
        project, result = _run_forger(tmp_path / str(n), keys, [HUGE], *flags)
        assert result.returncode == 0, result.stderr
        shown = cli("show", "run.json", cwd=project, xdg=keys)
        assert shown.returncode == 0, shown.stderr
        seeded = json.loads((project / "run.json").read_text())["predicate"]["seeds"]["seeded"]
        assert all(abs(s["value"]) < 2**53 for s in seeded)


# --- the family, in-process ------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
GOOD = {
    "start": {"event": "start", "pid": 5, "ppid": 1, "argv": ["x"], "root": "/p", "observing": True,
              "forked": False, "trees": ["/usr/lib"]},
    "observed": {"event": "observed", "pid": 5, "files": {"r": ["/p/a"], "w": ["/p/b"]}, "listed": ["/p"],
                 "spawned": [["true"]], "modules": ["json"], "sys_path": ["/p"],
                 "seed_calls": [{"call": "random.seed", "site": "/p/t.py:1", "user_site": "/p/t.py:1", "values": [3],
                                 "count": 1, "unseeded": False}]},
    "seeded": {"event": "seeded", "pid": 5, "lib": "random", "value": 7},
    "not_seeded": {"event": "not_seeded", "pid": 5, "lib": "jax", "reason": "no global generator"},
    "error": {"event": "error", "pid": 5, "where": "observe", "message": "x"},
    "chained": {"event": "chained", "pid": 5, "path": "/x/sitecustomize.py"},
}
FIELDS = [(kind, name) for kind, rec in GOOD.items() for name in rec]
SEED_CALL_FIELDS = list(GOOD["observed"]["seed_calls"][0])


def consume(events: list) -> None:
    """What `repro run` does with the records: check, analyse, capture seeds, then the parts of the
    predicate they make must be signable (canonical JSON) and hold only what a manifest can."""
    kept, _ = records.checked(events)
    found = observe.analyse(kept, Path("/p"), seed=7)
    seeded = seeds.capture(7, "given", None, {}, kept)
    for part in (found.section, seeded, list(found.warnings)):
        jsonio.loads_strict(jsonio.canonical_bytes(part))


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(FIELDS), value=JSON)
def test_any_value_in_any_field_of_any_record_is_dropped_or_used(field, value):
    kind, name = field
    consume([*GOOD.values(), {**GOOD[kind], name: value}])


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(SEED_CALL_FIELDS), value=JSON)
def test_any_value_in_a_seed_call_is_dropped_or_used(field, value):
    call = {**GOOD["observed"]["seed_calls"][0], field: value}
    consume([*GOOD.values(), {**GOOD["observed"], "seed_calls": [call]}])


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=JSON)
def test_any_json_value_as_a_record_is_dropped_or_used(record):
    consume([*GOOD.values(), record])


def test_every_well_formed_shape_is_kept_and_every_wrong_type_dropped():
    assert records.checked(list(GOOD.values())) == (list(GOOD.values()), 0)
    for kind, name in FIELDS:
        if name in ("event",):
            continue
        for wrong in (object(), {"x": 1}) if name != "pid" else ("1", True, 2**60):
            rec = {**GOOD[kind], name: wrong}
            assert not records.well_formed(rec), (kind, name, wrong)


def test_a_manifest_is_read_back_before_it_is_written(tmp_path):
    """The round trip in Manifest.save: what the strict reader would refuse is never written."""
    import pytest

    from repro.errors import InvalidManifestError

    good = json.loads((Path(__file__).parents[2] / "schemas" / "manifest.schema.json").read_text())
    assert good  # the schema ships
    m = Manifest({"_type": "x"}, ())
    with pytest.raises(InvalidManifestError):
        m.save(tmp_path / "m.json")
    assert not (tmp_path / "m.json").exists()
