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
    done, found = doctor(root, env, "--vary", "threads,hashseed,seed,tz,listing")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "deterministic under every variation tried" in done.stdout
    assert found["verdict"] == "deterministic" and found["depends_on"] == [] and found["baselines_agree"] is True
    assert [t["knob"] for t in found["trials"]] == ["threads", "hashseed", "seed", "tz", "listing"]
    assert all(t["status"] == "done" and t["changed"] == [] and t["reproduces_recorded"] for t in found["trials"])
    check_schema(found)


def test_a_reduction_that_depends_on_the_thread_count_is_named(tmp_path, env):
    source, what = projects.thread_dependent(tmp_path / "probe")
    root = projects.project(tmp_path, {"main.py": source})
    projects.record(root, env)
    done, found = doctor(root, env, "--vary", "threads,hashseed,seed")
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
    done, found = doctor(root, env, "--vary", "threads,hashseed,seed")
    assert done.returncode == 1, done.stdout + done.stderr
    assert found["depends_on"] == ["hashseed"]
    assert found["baselines_agree"] is True
    assert "sorted(" in done.stdout


def test_a_seed_from_the_clock_makes_the_run_nondeterministic_by_itself(tmp_path, env):
    root = projects.project(tmp_path, {"main.py": projects.TIME_SEED})
    projects.record(root, env)
    done, found = doctor(root, env, "--vary", "threads,hashseed")
    assert done.returncode == 1, done.stdout + done.stderr
    assert found["verdict"] == "nondeterministic" and found["baselines_agree"] is False
    assert "NONDETERMINISTIC: two replays with nothing changed differ from each other" in done.stdout
    assert all(t["status"] == "not tried" for t in found["trials"])  # stops varying knobs unless asked
    assert found["replays"] == 2
    check_schema(found)


def test_an_unknown_knob_is_a_usage_error(tmp_path, env):
    root = projects.project(tmp_path, {"main.py": projects.DETERMINISTIC})
    projects.record(root, env)
    done, _ = doctor(root, env, "--vary", "threads,moon")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "repro: error: --vary: unknown knob 'moon' (known: threads, hashseed, seed, blas, isa, cwd, listing, tz, "
        "locale, env:NAME=VALUE)"]
