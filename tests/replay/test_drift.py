"""`repro.replay.drift`: pure comparisons of two manifest predicates, built here as plain dicts."""

from __future__ import annotations

import pytest

from repro.replay.drift import ENVIRONMENT_FACETS, FACETS, drift
from repro.errors import UsageError
from repro.replay.result import Change


def _file(path: str, digest: str, size: int = 10) -> dict:
    return {"path": path, "size": size, "digest": {"xxh3_128": digest * 32}, "executable": False}


def predicate() -> dict:
    """A predicate shaped like the ones `repro run` writes, with only what drift reads and what it skips."""
    return {
        "schema_version": 1,
        "run_id": "20260101T000000Z-aaaaaa",
        "runner": {"name": "host"},
        "command": {"argv": ["python", "train.py"], "cwd": ".", "started_at": "2026-01-01T00:00:00Z",
                    "ended_at": "2026-01-01T00:00:01Z", "duration_s": 1.0, "exit_code": 0, "signal": None},
        "code": {"kind": "git", "commit": "a" * 40, "branch": "main", "remote": None, "dirty": False, "diff": None,
                 "untracked_sources": []},
        "inputs": [{"path": "data", "kind": "directory", "size": 20, "digest": {"xxh3_128": "d" * 32},
                    "files": [_file("data/a.csv", "1"), _file("data/b.csv", "2")]}],
        "outputs": [{"path": "out/model.npz", "kind": "file", "size": 10, "digest": {"xxh3_128": "3" * 32}}],
        "deps": {
            "python": {"implementation": "CPython", "version": "3.11.7", "executable": "/usr/bin/python3"},
            "distributions": [{"name": "numpy", "version": "1.26.4"}, {"name": "Scikit_Learn", "version": "1.4.0"}],
            "os": {"distro": {"PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)"}, "release": "6.1.0",
                   "libc": {"name": "glibc", "version": "2.36"}, "system": "Linux", "machine": "x86_64"},
        },
        "hardware": {
            "cpu": {"model": "AMD EPYC", "vendor": "AuthenticAMD", "flags": ["avx", "avx2", "avx512f", "fma"],
                    "architecture": "x86_64", "logical_cores": 8, "physical_cores": 4, "usable_cores": 8},
            "memory_bytes": 2**34,
            "gpus": [],
        },
        "seeds": {"seed": 7, "source": "given", "pythonhashseed": "7",
                  "seeded": [{"lib": "numpy", "value": 7, "processes": 1}, {"lib": "random", "value": 7, "processes": 1}],
                  "not_seeded": [], "errors": [], "threads": None, "variables": {"PYTHONHASHSEED": "7"}},
        "environment": {"HOME": "/root", "PWD": "/tmp/a", "OLDPWD": "/tmp", "_": "/usr/bin/repro",
                        "REPRO_RUN_ID": "20260101T000000Z-aaaaaa", "REPRO_RUN_DIR": "/tmp/a/.repro/tmp/x",
                        "REPRO_SEED": "7", "PYTHONHASHSEED": "7", "HF_TOKEN": "***", "LANG": "C.UTF-8"},
        "logs": {"stdout": {"path": "run.stdout.log", "size": 1, "digest": {"xxh3_128": "4" * 32}},
                 "stderr": {"path": "run.stderr.log", "size": 0, "digest": {"xxh3_128": "5" * 32}}},
        "warnings": [],
    }


def test_identical_predicates_have_no_drift():
    assert drift(predicate(), predicate()) == []


def test_volatile_fields_are_ignored():
    after = predicate()
    after["run_id"] = "20260202T000000Z-bbbbbb"
    after["command"].update(started_at="2026-02-02T00:00:00Z", ended_at="2026-02-02T00:00:09Z", duration_s=9.0)
    after["logs"]["stdout"] = {"path": "other.stdout.log", "size": 99, "digest": {"xxh3_128": "9" * 32}}
    after["seeds"]["source"] = "recorded"
    after["environment"].update(PWD="/scratch", OLDPWD="/", _="/bin/sh", REPRO_RUN_ID="other", REPRO_RUN_DIR="/scratch/x")
    assert drift(predicate(), after) == []


def test_package_version_change_is_named_with_both_versions():
    after = predicate()
    after["deps"]["distributions"][0]["version"] = "2.0.0"
    assert drift(predicate(), after) == [Change("packages", "numpy", "1.26.4", "2.0.0")]


def test_package_names_compare_case_and_separator_insensitively():
    after = predicate()
    after["deps"]["distributions"][1]["name"] = "scikit-learn"
    assert drift(predicate(), after) == []


def test_added_and_removed_packages():
    after = predicate()
    after["deps"]["distributions"] = [{"name": "numpy", "version": "1.26.4"}, {"name": "torch", "version": "2.3.0"}]
    assert drift(predicate(), after) == [
        Change("packages", "Scikit_Learn", "1.4.0", None),
        Change("packages", "torch", None, "2.3.0"),
    ]


def test_isa_flag_added_and_removed():
    after = predicate()
    after["hardware"]["cpu"]["flags"] = ["avx", "avx2", "fma", "sse4_2"]
    assert drift(predicate(), after) == [
        Change("hardware", "cpu.flags[avx512f]", True, None),
        Change("hardware", "cpu.flags[sse4_2]", None, True),
    ]


def test_hardware_cores_memory_and_gpus():
    after = predicate()
    after["hardware"]["cpu"]["logical_cores"] = 16
    after["hardware"]["gpus"] = [{"name": "NVIDIA H100", "driver": "550.54", "cuda": "12.4", "uuid": "GPU-1"}]
    changes = drift(predicate(), after)
    assert Change("hardware", "cpu.logical_cores", 8, 16) in changes
    assert Change("hardware", "gpus[0].name", None, "NVIDIA H100") in changes
    assert Change("hardware", "gpus[0].driver", None, "550.54") in changes
    assert not any("uuid" in c.key for c in changes)  # a GPU's identity is not drift, its model is


def test_environment_variable_added_removed_changed():
    after = predicate()
    after["environment"]["LANG"] = "en_US.UTF-8"
    after["environment"]["OMP_PROC_BIND"] = "true"
    del after["environment"]["HOME"]
    assert drift(predicate(), after) == [
        Change("environment", "HOME", "/root", None),
        Change("environment", "LANG", "C.UTF-8", "en_US.UTF-8"),
        Change("environment", "OMP_PROC_BIND", None, "true"),
    ]


def test_masked_values_compare_equal_and_never_show_a_secret():
    after = predicate()
    after["environment"]["HF_TOKEN"] = "***"
    assert drift(predicate(), after) == []
    after["environment"]["NEW_SECRET"] = "***"
    assert drift(predicate(), after) == [Change("environment", "NEW_SECRET", None, "***")]


def test_seed_change_names_seed_what_was_seeded_and_pythonhashseed_once():
    after = predicate()
    after["seeds"].update(seed=8, pythonhashseed="8", variables={"PYTHONHASHSEED": "8"},
                          seeded=[{"lib": "numpy", "value": 8, "processes": 1}])
    after["environment"].update(PYTHONHASHSEED="8", REPRO_SEED="8")
    assert drift(predicate(), after) == [
        Change("threads", "PYTHONHASHSEED", "7", "8"),
        Change("seeds", "seed", 7, 8),
        Change("seeds", "seeded[numpy]", 7, 8),
        Change("seeds", "seeded[random]", 7, None),
    ]


def test_thread_variables():
    after = predicate()
    after["seeds"]["threads"] = 1
    after["seeds"]["variables"]["OMP_NUM_THREADS"] = "1"
    after["environment"]["OMP_NUM_THREADS"] = "1"
    assert drift(predicate(), after) == [Change("threads", "threads", None, 1), Change("threads", "OMP_NUM_THREADS", None, "1")]


def test_python_os_and_image():
    after = predicate()
    after["deps"]["python"]["version"] = "3.12.1"
    after["deps"]["os"]["libc"]["version"] = "2.39"
    after["deps"]["os"]["release"] = "6.8.0"
    after["runner"] = {"name": "docker", "image": {"pinned": "python@sha256:" + "e" * 64, "id": "sha256:" + "f" * 64}}
    assert drift(predicate(), after) == [
        Change("python", "version", "3.11.7", "3.12.1"),
        Change("os", "kernel", "6.1.0", "6.8.0"),
        Change("os", "libc", "glibc 2.36", "glibc 2.39"),
        Change("image", "runner", "host", "docker"),
        Change("image", "image.pinned", None, "python@sha256:" + "e" * 64),
        Change("image", "image.id", None, "sha256:" + "f" * 64),
    ]


def test_inputs_and_outputs_are_compared_per_file():
    after = predicate()
    after["inputs"][0]["files"][1] = _file("data/b.csv", "7", size=12)
    after["inputs"][0]["files"].append(_file("data/c.csv", "8"))
    after["outputs"] = []
    changes = drift(predicate(), after)
    assert changes == [
        Change("inputs", "data/b.csv", {"size": 10, "digest": "xxh3_128:" + "2" * 32},
               {"size": 12, "digest": "xxh3_128:" + "7" * 32}),
        Change("inputs", "data/c.csv", None, {"size": 10, "digest": "xxh3_128:" + "8" * 32}),
        Change("outputs", "out/model.npz", {"size": 10, "digest": "xxh3_128:" + "3" * 32}, None),
    ]


def test_code_commit_dirty_and_diff():
    after = predicate()
    after["code"].update(commit="b" * 40, dirty=True,
                         diff={"path": "run.diff", "size": 5, "digest": {"sha256": "c" * 64}},
                         untracked_sources=["extra.py"])
    assert drift(predicate(), after) == [
        Change("code", "commit", "a" * 40, "b" * 40),
        Change("code", "dirty", False, True),
        Change("code", "diff", None, "sha256:" + "c" * 64),
        Change("code", "untracked_sources[extra.py]", None, True),
    ]


def test_code_tree_names_the_changed_file():
    before, after = predicate(), predicate()
    before["code"] = {"kind": "tree", "digest": {"xxh3_128": "a" * 32}, "files": [_file("train.py", "1")]}
    after["code"] = {"kind": "tree", "digest": {"xxh3_128": "b" * 32}, "files": [_file("train.py", "2")]}
    assert [(c.facet, c.key) for c in drift(before, after)] == [("code", "files[train.py]")]


def test_facets_filter_keeps_environment_facets_in_stable_order():
    after = predicate()
    after["deps"]["distributions"][0]["version"] = "2.0.0"
    after["outputs"][0]["digest"] = {"xxh3_128": "9" * 32}
    after["environment"]["LANG"] = "POSIX"
    after["seeds"]["seed"] = 9
    assert [c.facet for c in drift(predicate(), after)] == ["outputs", "packages", "seeds", "environment"]
    assert [c.facet for c in drift(predicate(), after, facets=ENVIRONMENT_FACETS)] == ["packages", "seeds"]
    assert set(ENVIRONMENT_FACETS) <= set(FACETS)


def test_unknown_facet_is_refused():
    with pytest.raises(UsageError, match="unknown drift facet"):
        drift(predicate(), predicate(), facets=["weather"])


def test_missing_optional_facets_do_not_crash():
    before, after = predicate(), predicate()
    after["deps"] = {"python": None, "distributions": [], "os": None}
    after["hardware"] = {}
    changes = drift(before, after)
    assert Change("python", "version", "3.11.7", None) in changes
    assert Change("packages", "numpy", "1.26.4", None) in changes
    assert Change("hardware", "cpu.model", "AMD EPYC", None) in changes
