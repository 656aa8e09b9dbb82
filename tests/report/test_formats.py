"""Report formats: every flag choice maps to a format, and each format shows every output faithfully."""

from __future__ import annotations

import json
import re
import socket
import xml.etree.ElementTree as ET

import pytest
from jsonschema import Draft202012Validator

from repro.evidence import validation
from repro.compare import Verdict
from repro.replay.drift import DiffReport
from repro.errors import UsageError
from repro.replay.result import Change, Refusal, ReplayReport
from repro.report.formats import DIFF_FORMATS, FORMATS, get_diff_format, get_format
from repro.report.interface import DiffFormat, ReplayFormat
from repro.report.json import REPLAY_SCHEMA


def make_report(*, reproduced: bool = False, exit_code: int = 0, verdicts: tuple[Verdict, ...] | None = None) -> ReplayReport:
    if verdicts is None:
        verdicts = (
            Verdict("out/metrics.json", "identical", "exact"),
            Verdict("out/model.npz", "within_tolerance", "numeric", "2 of 10 elements differ", 1.5e-7, 3e-7, "w[3]"),
            Verdict("out/preds <&>.csv", "differs", "csv", "column 'p' row 4: 0.5 vs 0.7", 0.2, float("inf"), "p[4]"),
            Verdict.missing("out/extra.npy", "exact"),
            Verdict.unexpected("out/new.txt"),
        )
    return ReplayReport(
        manifest="run.json", run_id="20260101T000000Z-aaaaaa", replay_run_id="20260102T000000Z-bbbbbb",
        replay_manifest=".repro/replays/x/manifest.json", reproduced=reproduced, exit_code_recorded=0,
        exit_code_replayed=exit_code, duration_recorded_s=1.25, duration_replayed_s=float("nan"), verdicts=verdicts,
        drift=(Change("packages", "numpy", "1.26.4", "2.0.0"), Change("hardware", "cpu.flags[avx512f]", True, None)),
        warnings=("OMP_NUM_THREADS was not set: BLAS may pick a different thread count",),
    )


PASSING = make_report(reproduced=True, verdicts=(
    Verdict("out/a.npz", "identical", "exact"),
    Verdict("out/b.npz", "identical", "exact"),
    Verdict("out/c.npz", "within_tolerance", "numeric", "", 1e-8, 1e-7, "w[0]"),
))


@pytest.mark.parametrize("choice", sorted(FORMATS))
def test_every_format_choice_maps_to_a_format_of_that_name(choice):
    fmt = get_format(choice)
    assert isinstance(fmt, FORMATS[choice]) and isinstance(fmt, ReplayFormat)
    assert fmt.name == choice
    assert fmt.render(make_report()).endswith("\n")


@pytest.mark.parametrize("choice", sorted(DIFF_FORMATS))
def test_every_diff_format_choice_maps_to_a_format_of_that_name(choice):
    fmt = get_diff_format(choice)
    assert isinstance(fmt, DIFF_FORMATS[choice]) and isinstance(fmt, DiffFormat)
    assert fmt.name == choice


def test_the_replay_formats_are_text_json_junit():
    assert set(FORMATS) == {"text", "json", "junit"}


def test_unknown_format_is_a_usage_error():
    with pytest.raises(UsageError, match="choose from text, json, junit"):
        get_format("html5")
    with pytest.raises(UsageError):
        get_diff_format("junit")


def test_text_lists_every_output_drift_and_ends_with_the_verdict():
    report = make_report()
    text = get_format("text").render(report)
    for v in report.verdicts:
        assert v.path in text
    assert "numpy: 1.26.4 -> 2.0.0" in text and "cpu.flags[avx512f]: true -> (absent)" in text
    assert "1.5e-07" in text and "w[3]" in text
    assert "warning: OMP_NUM_THREADS" in text
    assert text.rstrip().splitlines()[-1] == (
        "NOT REPRODUCED: 5 outputs (1 identical, 1 within tolerance, 1 differs, 1 missing, 1 unexpected)")
    assert "\x1b[" not in text  # no colours


def test_text_verdict_line_when_reproduced():
    text = get_format("text").render(PASSING)
    assert text.rstrip().splitlines()[-1] == "REPRODUCED: 3 outputs (2 identical, 1 within tolerance)"


def test_text_verdict_names_a_changed_exit_code_first():
    text = get_format("text").render(make_report(exit_code=1, verdicts=(Verdict("out/a", "identical", "exact"),)))
    assert text.rstrip().splitlines()[-1] == "NOT REPRODUCED: exit code 1 (recorded 0); 1 output (1 identical)"


def test_text_escapes_control_characters_in_paths():
    text = get_format("text").render(make_report(verdicts=(Verdict("out/\x1b[31mred", "differs", "exact"),)))
    assert "\x1b" not in text and "out/\\x1b[31mred" in text


def test_json_validates_against_the_shipped_schema_and_round_trips():
    schema = validation.load(REPLAY_SCHEMA)
    Draft202012Validator.check_schema(schema)
    for report in (make_report(), PASSING, make_report(verdicts=())):
        text = get_format("json").render(report)
        doc = json.loads(text, parse_constant=pytest.fail)  # NaN / Infinity would call parse_constant
        Draft202012Validator(schema).validate(doc)
        assert json.loads(json.dumps(doc)) == doc
    doc = json.loads(get_format("json").render(make_report()))
    assert doc["reproduced"] is False and doc["run_id"] == "20260101T000000Z-aaaaaa"
    assert doc["counts"] == {"total": 5, "identical": 1, "within_tolerance": 1, "differs": 1, "missing": 1, "unexpected": 1,
                             "skipped": 0}
    assert [v["path"] for v in doc["verdicts"]] == [v.path for v in make_report().verdicts]
    assert doc["verdicts"][2]["max_rel_error"] is None  # infinity: null, never a bare Infinity
    assert doc["duration_s"] == {"recorded": 1.25, "replayed": None}
    assert doc["exit_code"] == {"recorded": 0, "replayed": 0}
    assert doc["drift"][0] == {"facet": "packages", "key": "numpy", "before": "1.26.4", "after": "2.0.0"}


def test_json_is_stable():
    assert get_format("json").render(make_report()) == get_format("json").render(make_report())


def _junit(report: ReplayReport) -> ET.Element:
    return ET.fromstring(get_format("junit").render(report).encode("utf-8"))


def test_junit_has_one_case_per_output_plus_the_exit_code():
    report = make_report()
    root = _junit(report)
    suites = root.findall("testsuite")
    assert len(suites) == 1 and suites[0].get("name") == "repro replay run.json"  # named after the manifest
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", suites[0].get("timestamp"))
    assert suites[0].get("hostname") == socket.gethostname()
    assert all(c.get("time") is not None for c in suites[0].iter("testcase"))
    outputs = suites[0].findall("testcase[@classname='repro.outputs']")
    assert [c.get("name") for c in outputs] == [v.path for v in report.verdicts]  # '<&>' escaped and read back
    assert len(suites[0].findall("testcase[@classname='repro.command']")) == 1
    assert suites[0].get("tests") == str(len(report.verdicts) + 1)


def test_junit_failures_count_matches_failing_outputs():
    root = _junit(make_report())
    suite = root.find("testsuite")
    failures = suite.findall("testcase/failure")
    assert suite.get("failures") == root.get("failures") == str(len(failures)) == "3"
    assert sorted(f.get("type") for f in failures) == ["differs", "missing", "unexpected"]
    differs = next(f for f in failures if f.get("type") == "differs")
    assert "column 'p' row 4" in differs.get("message") and "max abs error 0.2" in differs.text


def test_junit_within_tolerance_passes_and_notes_the_error():
    suite = _junit(PASSING).find("testsuite")
    assert suite.get("failures") == "0"
    case = suite.find("testcase[@name='out/c.npz']")
    assert case.find("failure") is None
    assert "max abs error 1e-08" in case.find("system-out").text


def test_junit_changed_exit_code_fails_its_case():
    suite = _junit(make_report(exit_code=2, verdicts=())).find("testsuite")
    failure = suite.find("testcase[@classname='repro.command']/failure")
    assert failure is not None and "recorded 0" in failure.get("message")
    assert suite.get("tests") == "1" and suite.get("failures") == "1"


def test_junit_carries_drift_as_properties():
    props = {p.get("name"): p.get("value") for p in _junit(make_report()).iter("property")}
    assert props["drift.packages.numpy"] == "1.26.4 -> 2.0.0"
    assert props["run_id"] == "20260101T000000Z-aaaaaa"


def test_junit_survives_characters_xml_cannot_hold():
    root = _junit(make_report(verdicts=(Verdict("out/\x01odd", "differs", "exact", "bad \x00 byte"),)))
    assert root.find("testsuite/testcase[@classname='repro.outputs']").get("name") == "out/\\x01odd"


DIFF = DiffReport("a.json", "b.json", "run-a", "run-b", (
    Change("outputs", "out/model.npz", {"size": 530, "digest": "xxh3_128:" + "1" * 32},
           {"size": 530, "digest": "xxh3_128:" + "2" * 32}),
    Change("packages", "numpy", "1.26.4", "2.0.0"),
    Change("packages", "torch", None, "2.3.0"),
))


def test_text_diff_groups_by_facet_with_minus_and_plus_lines():
    text = get_diff_format("text").render(DIFF)
    lines = text.splitlines()
    assert lines[0].startswith("--- a.json") and lines[1].startswith("+++ b.json")
    assert "[packages]" in lines and "- numpy: 1.26.4" in lines and "+ numpy: 2.0.0" in lines
    assert "+ torch: 2.3.0" in lines and "- torch" not in text
    assert "- out/model.npz: xxh3_128:1111111111111111… 530 B" in lines
    assert lines[-1] == "3 differences in 2 facets"


def test_text_diff_says_no_differences():
    text = get_diff_format("text").render(DiffReport("a.json", "a.json", "r", "r", ()))
    assert text == "no differences between a.json and a.json\n"


def test_json_diff_parses():
    doc = json.loads(get_diff_format("json").render(DIFF))
    assert doc["identical"] is False and doc["before"] == {"manifest": "a.json", "run_id": "run-a"}
    assert doc["changes"][1] == {"facet": "packages", "key": "numpy", "before": "1.26.4", "after": "2.0.0"}


def test_an_output_not_compared_is_skipped_in_every_format():
    report = make_report(reproduced=True, verdicts=(
        Verdict("out/a.npz", "identical", "exact"),
        Verdict.skipped("lightning_logs/events.out", "recorded, not compared (compare: false); digests differ"),
    ))
    doc = json.loads(get_format("json").render(report))
    Draft202012Validator(validation.load(REPLAY_SCHEMA)).validate(doc)
    assert doc["counts"]["skipped"] == 1 and doc["verdicts"][1]["status"] == "skipped"
    assert doc["summary"] == "REPRODUCED: 2 outputs (1 identical, 1 skipped)"
    suite = _junit(report).find("testsuite")
    assert suite.get("skipped") == "1" and suite.get("failures") == "0"
    case = [c for c in suite.findall("testcase") if c.get("name") == "lightning_logs/events.out"][0]
    assert case.find("skipped").get("message").startswith("recorded, not compared")
    assert "skipped" in get_format("text").render(report)


def test_a_refusal_is_a_junit_error_case_and_a_schema_valid_json_report():
    refusal = Refusal("run.json", "20260101T000000Z-aaaaaa", "data/train.csv does not match its recorded digest", 3,
                      "2026-01-02T00:00:00")
    root = ET.fromstring(get_format("junit").render_refusal(refusal).encode("utf-8"))
    suite = root.find("testsuite")
    assert suite.get("name") == "repro replay run.json" and suite.get("errors") == "1" and suite.get("tests") == "1"
    assert suite.get("timestamp") == "2026-01-02T00:00:00" and suite.get("hostname")
    error = suite.find("testcase/error")
    assert error.get("message") == refusal.reason and error.get("type") == "integrity"
    doc = json.loads(get_format("json").render_refusal(refusal))
    Draft202012Validator(validation.load(REPLAY_SCHEMA)).validate(doc)
    assert doc["outcome"] == "REFUSED" and doc["refusal"] == {"exit_code": 3, "reason": refusal.reason}
