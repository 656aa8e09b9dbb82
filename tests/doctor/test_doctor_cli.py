"""`repro doctor` end to end: real programs, each with one known cause of nondeterminism, recorded
with `repro run` and diagnosed by the real CLI; the doctor must name exactly that cause."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import repro_cli
from tests.doctor import projects


def doctor(root: Path, env: dict, *args: str):
    done = repro_cli("doctor", "run.json", "--json", "doctor.json", *args, cwd=root, env=env)
    found = json.loads((root / "doctor.json").read_text()) if (root / "doctor.json").exists() else None
    return done, found


def check_schema(found: dict) -> None:
    from repro.evidence.validation import validate

    from repro.errors import UsageError

    validate(found, "doctor.schema.json", what="doctor report", error=UsageError)


@pytest.fixture
def env(keys) -> dict:
    return {"XDG_CONFIG_HOME": str(keys)}


def test_a_deterministic_program_is_deterministic_under_every_variation(tmp_path, env):
    root = projects.project(tmp_path, {"main.py": projects.DETERMINISTIC})
    projects.record(root, env)
    done, found = doctor(root, env, "--vary", "threads,hashseed,seed,listing")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "deterministic under every variation tried" in done.stdout
    assert found["verdict"] == "deterministic" and found["depends_on"] == [] and found["baselines_agree"] is True
    assert [t["knob"] for t in found["trials"]] == ["threads", "hashseed", "seed", "listing"]
    assert all(t["status"] == "done" and t["changed"] == [] and t["reproduces_recorded"] for t in found["trials"])
    check_schema(found)


def test_a_reduction_that_depends_on_the_thread_count_is_named(tmp_path, env):
    source, what = projects.thread_dependent(tmp_path / "probe")
    root = projects.project(tmp_path, {"main.py": source})
    projects.record(root, env)
    done, found = doctor(root, env, "--vary", "threads,hashseed")
    assert done.returncode == 1, done.stdout + done.stderr
    assert found["depends_on"] == ["threads"], (what, found)
    (threads,) = [t for t in found["trials"] if t["knob"] == "threads"]
    assert threads["changed"] == ["out.txt"] and threads["reproduces_recorded"] is False
    assert "NOT BIT-IDENTICAL when these change: threads" in done.stdout
    assert "repro run --threads" in done.stdout  # the fix
    check_schema(found)


def test_output_in_the_order_of_a_set_of_strings_depends_on_the_hash_seed(tmp_path, env):
    root = projects.project(tmp_path, {"main.py": projects.HASHSEED})
    projects.record(root, env)
    done, found = doctor(root, env, "--vary", "hashseed,seed")
    assert done.returncode == 1, done.stdout + done.stderr
    assert found["depends_on"] == ["hashseed"]
    assert found["baselines_agree"] is True
    assert "sorted(" in done.stdout and "(sets iterated at main.py:3)" in done.stdout
    assert [(e["kind"], e["site"], e["certain"]) for e in found["evidence"]] == [("set_order", "main.py:3", False)]


def test_a_seed_from_the_clock_makes_the_run_nondeterministic_by_itself_and_is_named_at_its_line(tmp_path, env):
    root = projects.project(tmp_path, {"main.py": projects.TIME_SEED})
    projects.record(root, env)
    done, found = doctor(root, env, "--vary", "threads,hashseed")
    assert done.returncode == 1, done.stdout + done.stderr
    assert found["verdict"] == "nondeterministic" and found["baselines_agree"] is False
    assert "NONDETERMINISTIC: two replays with nothing changed differ from each other" in done.stdout
    assert all(t["status"] == "not tried" for t in found["trials"])  # stops varying knobs unless asked
    assert found["replays"] == 2
    assert {(e["kind"], e["site"]) for e in found["evidence"]} == {("clock_seed", "main.py:4")}
    assert "main.py:4: random.seed is seeded from the clock" in done.stdout
    assert "fix: seed from the run's seed" in done.stdout
    check_schema(found)


def test_an_unknown_knob_is_a_usage_error(tmp_path, env):
    done, _ = doctor(tmp_path, env, "--vary", "threads,moon")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "repro: error: --vary: unknown knob 'moon' (known: threads, hashseed, seed, blas, isa, cwd, listing, tz, "
        "locale, env:NAME=VALUE)"]


def test_an_unseeded_generator_in_a_helper_module_is_named_at_its_line(tmp_path, env):
    root = projects.project(tmp_path, {"main.py": projects.HELPER_MAIN, "helper.py": projects.HELPER})
    projects.record(root, env)
    done, found = doctor(root, env, "--vary", "threads")
    assert done.returncode == 1, done.stdout + done.stderr
    assert found["verdict"] == "nondeterministic"
    assert [(e["kind"], e["site"]) for e in found["evidence"]] == [("unseeded", "helper.py:5")]
    check_schema(found)
    # a plain replay that differs shows the same evidence as its likely causes
    done = repro_cli("replay", "run.json", "--json", "replay.json", cwd=root, env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "likely causes" in done.stdout and "helper.py:5: numpy.random.default_rng without a seed" in done.stdout
    assert json.loads((root / "replay.json").read_text())["likely_causes"] == [
        "helper.py:5: numpy.random.default_rng without a seed draws it from the operating system"]


def test_a_budget_of_two_runs_the_baselines_only_and_says_what_was_not_tried(tmp_path, env):
    root = projects.project(tmp_path, {"main.py": projects.DETERMINISTIC})
    projects.record(root, env)
    done, found = doctor(root, env, "--vary", "threads,hashseed", "--budget", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert found["replays"] == 2 and found["budget"] == 2
    assert [(t["knob"], t["status"], t["reason"]) for t in found["trials"]] == [
        ("threads", "not tried", "the budget of 2 replays is spent"),
        ("hashseed", "not tried", "the budget of 2 replays is spent")]
    assert "no variation tried; the baseline replays agree (2 knob(s) not tried)" in done.stdout


def test_an_interrupted_doctor_prints_what_it_found_so_far(tmp_path, env):
    import os
    import signal
    import subprocess
    import sys

    root = projects.project(tmp_path, {"main.py": projects.FLAG_THEN_SLOW_TZ})
    projects.record(root, env)
    proc = subprocess.Popen([sys.executable, "-m", "repro", "doctor", "run.json", "--vary", "env:MYFLAG=on,tz",
                             "--jobs", "1", "--json", "doctor.json"], cwd=root, env={**os.environ, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    for line in proc.stderr:  # the knob after env:MYFLAG is the replay that sleeps
        seen.append(line)
        if line.startswith("repro: env:MYFLAG:"):
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, "".join(seen) + err
    assert "interrupted by SIGINT" in err
    found = json.loads((root / "doctor.json").read_text())
    (flag, tz) = found["trials"]
    assert (flag["knob"], flag["status"], flag["changed"]) == ("env:MYFLAG", "done", ["out.txt"])
    # the signal comes as the last replay starts: stopped while it ran, or before it began
    assert tz["knob"] == "tz" and tz["status"] in ("interrupted", "not tried"), tz
    assert (f"INTERRUPTED (SIGINT) after {found['replays']} replay(s): NOT BIT-IDENTICAL when these change: "
            "env:MYFLAG") in out
    assert found["interrupted"] == "SIGINT"
    check_schema(found)


def test_a_program_that_depends_on_the_listing_order_is_named(tmp_path, env):
    root = projects.project(tmp_path, {"main.py": projects.LISTING, "data/a.txt": "", "data/b.txt": "",
                                       "data/c.txt": ""})
    projects.record(root, env)
    done, found = doctor(root, env, "--vary", "listing")
    assert done.returncode == 1, done.stdout + done.stderr
    assert found["depends_on"] == ["listing"]
