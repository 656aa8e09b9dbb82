"""The pure half of observation: merging process records, the input/output rules, the snapshot
diff, seed calls and the module -> distribution map."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import jsonschema
import pytest

from repro import observe
from repro.observe import ProcessLog, Snapshot

ROOT = Path("/proj")
TREES = ["/usr/lib/python3.11", "/usr/lib/python3/dist-packages"]


def proc(pid=1, files=None, root="/proj", **kw) -> ProcessLog:
    return ProcessLog(pid=pid, ppid=0, root=root, observing=True, trees=list(TREES), files=dict(files or {}), **kw)


def snap(*paths: str) -> Snapshot:
    return Snapshot({p: (1, 1, 1, 1, True) for p in paths})


def classify(processes, **kw):
    kw.setdefault("is_file", lambda rel: True)
    return observe.classify(processes, ROOT, **kw)


@pytest.mark.parametrize("old,new,merged", [
    (None, "r", "r"), ("r", "r", "r"), ("r", "w", "rw"), ("r", "wr", "rw"), ("r", "rw", "rw"),
    ("w", "r", "wr"), ("w", "w", "w"), ("w", "rw", "wr"), ("rw", "r", "rw"), ("wr", "w", "wr"),
])
def test_access_kinds_keep_what_came_first(old, new, merged):
    assert observe.merge_kind(old, new) == merged


def test_records_of_one_process_merge_in_the_order_written():
    events = [
        {"event": "start", "pid": 5, "ppid": 1, "argv": ["t.py"], "root": "/proj", "observing": True, "trees": TREES},
        {"event": "observed", "pid": 5, "files": {"r": ["/proj/a"], "w": ["/proj/b"]}},
        {"event": "observed", "pid": 5, "files": {"w": ["/proj/a"], "r": ["/proj/b"]}, "modules": ["numpy"]},
        {"event": "observed", "pid": 6, "files": {"r": ["/proj/c"]}},
    ]
    logs = observe.merge_processes(events)
    assert [p.pid for p in logs] == [5, 6]
    assert logs[0].files == {"/proj/a": "rw", "/proj/b": "wr"} and logs[0].modules == {"numpy"}
    assert logs[0].trees == TREES and logs[1].ppid is None


def test_a_file_read_and_not_written_is_an_input_and_a_written_one_an_output():
    found = classify([proc(files={"/proj/data/x.csv": "r", "/proj/out/model.npz": "w"})])
    assert found.inputs == ("data/x.csv",) and found.outputs == ("out/model.npz",)
    assert found.read_then_written == ()


def test_a_file_read_then_written_is_an_output_and_flagged():
    found = classify([proc(files={"/proj/cfg.json": "rw"})], diff=observe.SnapshotDiff(frozenset(), frozenset({"cfg.json"}), frozenset()))
    assert found.outputs == ("cfg.json",) and found.inputs == () and found.read_then_written == ("cfg.json",)


def test_a_file_written_first_then_read_is_only_an_output():
    found = classify([proc(files={"/proj/tmp.bin": "wr"})])
    assert found.outputs == ("tmp.bin",) and found.inputs == () and found.read_then_written == ()


def test_a_file_one_process_creates_and_another_reads_is_not_an_input():
    diff = observe.SnapshotDiff(frozenset({"shard.npy"}), frozenset(), frozenset())
    found = classify([proc(1, {"/proj/shard.npy": "w"}), proc(2, {"/proj/shard.npy": "r"})], diff=diff)
    assert found.outputs == ("shard.npy",) and found.inputs == () and found.read_then_written == ()


def test_an_existing_file_one_process_reads_and_another_rewrites_is_flagged():
    found = classify([proc(1, {"/proj/state.json": "r"}), proc(2, {"/proj/state.json": "w"})])
    assert found.read_then_written == ("state.json",)


def test_interpreter_trees_repro_state_git_pycache_and_code_are_never_inputs():
    venv = ProcessLog(1, 0, root="/proj", trees=[*TREES, "/proj/.venv"], files={
        "/usr/lib/python3.11/json/__init__.py": "r",
        "/proj/.venv/lib/python3.11/site-packages/numpy/core.py": "r",
        "/proj/.repro/tmp/x/proc-1.jsonl": "w",
        "/proj/.git/HEAD": "r",
        "/proj/pkg/__pycache__/m.cpython-311.pyc": "w",
        "/proj/train.py": "r",
        "/etc/hosts": "r",
        "/proj/data/ok.csv": "r",
    })
    found = classify([venv])
    assert found.inputs == ("data/ok.csv",) and found.outputs == ()


def test_paths_under_a_declared_artifact_are_left_to_it():
    found = classify([proc(files={"/proj/data/a.csv": "r", "/proj/data2.csv": "r", "/proj/out/m.npz": "w"})],
                     declared=["data", "out"])
    assert found.inputs == ("data2.csv",) and found.outputs == () and found.covered_by_declared == 2


def test_ignored_names_and_non_regular_files_are_left_out():
    after = Snapshot({"logs/run.log": (1, 1, 1, 1, True), "fifo": (0, 1, 1, 1, False)})
    found = classify([proc(files={"/proj/logs/run.log": "w", "/proj/fifo": "r", "/proj/gone.tmp": "w"})],
                     ignore=["logs"], after=after, is_file=lambda rel: False)
    assert found.inputs == () and found.outputs == ()


def test_a_path_no_manifest_can_hold_is_reported_not_recorded():
    found = classify([proc(files={"/proj/a\\b.csv": "r", "/proj/c:d.csv": "r", "/proj/\udcff.bin": "r", "/proj/ok": "r"})])
    assert found.inputs == ("ok",) and len(found.unrecordable) == 3


def test_a_child_that_sees_the_project_elsewhere_is_mapped_to_the_same_paths():
    found = classify([proc(files={"/workspace/data/x.csv": "r"}, root="/workspace")])
    assert found.inputs == ("data/x.csv",)


def test_outputs_only_the_snapshot_saw_are_named():
    diff = observe.SnapshotDiff(frozenset({"out/native.bin"}), frozenset({"out/model.npz"}), frozenset())
    found = classify([proc(files={"/proj/out/model.npz": "w"})], diff=diff)
    assert found.outputs == ("out/model.npz", "out/native.bin") and found.seen_only_by_snapshot == ("out/native.bin",)


def test_snapshot_diff_finds_created_modified_and_deleted_files(tmp_path):
    (tmp_path / "keep.txt").write_text("a")
    (tmp_path / "change.txt").write_text("a")
    (tmp_path / "gone.txt").write_text("a")
    before = observe.take_snapshot(tmp_path)
    (tmp_path / "change.txt").write_text("bb")
    (tmp_path / "gone.txt").unlink()
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "new.txt").write_text("c")
    diff = observe.diff_snapshots(before, observe.take_snapshot(tmp_path))
    assert diff.created == {"sub/new.txt"} and diff.modified == {"change.txt"} and diff.deleted == {"gone.txt"}


def test_a_rewrite_that_restores_size_and_mtime_is_still_found(tmp_path):
    f = tmp_path / "w.bin"
    f.write_bytes(b"aaaa")
    st = f.stat()
    before = observe.take_snapshot(tmp_path)
    f.write_bytes(b"bbbb")
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert observe.diff_snapshots(before, observe.take_snapshot(tmp_path)).modified == {"w.bin"}


def test_snapshot_leaves_out_state_declared_paths_venvs_ignored_names_and_symlink_targets(tmp_path):
    for rel in (".git/HEAD", ".repro/x", "pkg/__pycache__/m.pyc", "data/big.bin", "env/pyvenv.cfg", "env/lib/x.py",
                "conda/conda-meta/h.json", "conda/lib/y.py", "scratch/tmp.bin", "src/m.py", "outside/t.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "outside", target_is_directory=True)
    (tmp_path / "flink").symlink_to(tmp_path / "src" / "m.py")
    s = observe.take_snapshot(tmp_path, skip=["data/"], ignore=["scr*"])
    assert set(s.entries) == {"src/m.py", "outside/t.txt", "link", "flink"}
    assert s.entries["flink"][4] is True and s.entries["link"][4] is False


def test_imported_modules_map_to_the_distributions_that_provide_them():
    packages = {"yaml": ["PyYAML"], "numpy": ["numpy"], "_distutils_hack": ["setuptools"]}
    dists = [{"name": "PyYAML", "version": "6.0"}, {"name": "numpy", "version": "2.0"}, {"name": "click", "version": "8"}]
    used = observe.used_distributions(["yaml", "numpy", "json", "mylocal"], packages, dists)
    assert used == [{"name": "numpy", "version": "2.0"}, {"name": "PyYAML", "version": "6.0"}]


def test_the_probes_module_map_agrees_with_importlib_metadata():
    from importlib import metadata

    from repro.inject import probe

    _, packages = probe._distributions()
    expected = {k: sorted(set(v)) for k, v in metadata.packages_distributions().items()}
    assert {k: v for k, v in packages.items() if k in expected} == expected


def test_seed_calls_merge_across_processes_with_sites_relative_to_the_root():
    calls = [{"call": "random.seed", "site": "/proj/train.py:4", "values": [1], "count": 1, "unseeded": False}]
    logs = [proc(1, seed_calls=calls), proc(2, seed_calls=[{**calls[0], "values": [2], "count": 3}]),
            proc(3, seed_calls=[{"call": "numpy.random.default_rng", "site": "/lib/x.py:9", "values": [None],
                                 "count": 1, "unseeded": True}])]
    merged = observe.seed_calls(logs, ROOT)
    assert merged[0] == {"call": "random.seed", "site": "train.py:4", "user_site": None, "values": [1, 2], "count": 4,
                         "unseeded": False, "processes": 2}
    assert observe.unseeded_warnings(merged) == []  # a library's own generator is the library's business
    own = [{"call": "numpy.random.default_rng", "site": "/proj/train.py:9", "user_site": "/proj/train.py:9",
            "values": [None], "count": 2, "unseeded": True}]
    (warning,) = observe.unseeded_warnings(observe.seed_calls([proc(4, seed_calls=own)], ROOT))
    assert "numpy.random.default_rng at train.py:9 (2 calls)" in warning


def test_a_constant_reseed_is_named_at_the_users_line_even_through_a_framework():
    calls = [{"call": "torch.manual_seed", "site": "/usr/lib/python3/site-packages/fw/seed.py:65",
              "user_site": "/proj/train.py:41", "values": [42], "count": 1, "unseeded": False},
             {"call": "random.seed", "site": "/proj/train.py:7", "user_site": "/proj/train.py:7", "values": [5],
              "count": 1, "unseeded": False}]
    merged = observe.seed_calls([proc(1, seed_calls=calls)], ROOT)
    assert observe.constant_seed_warnings(merged, seed=5) == [
        "train.py:41 seeds torch.manual_seed(42) through fw/seed.py: --seed does not reach this generator"]


@pytest.mark.parametrize("value,expected", [
    (2**64, str(2**64)), (-(2**60), str(-(2**60))), (7, 7), (float("nan"), "nan"), (1.5, 1.5), ([1, 2**70], [1, str(2**70)]),
    (None, None), ("abc", "abc"),
])
def test_seed_values_become_canonical_json(value, expected):
    assert observe.json_value(value) == expected


def test_subprocess_arguments_are_masked_and_counted():
    logs = [proc(spawned=[["curl", "--token", "abc"], ["curl", "--token", "abc"], ["python3", "-I", "x.py"]])]
    spawned = observe.subprocesses(logs)
    assert spawned[0] == {"argv": ["curl", "--token", "***"], "count": 2}
    assert any("-I" in w for w in observe._hidden_pythons(spawned))


def test_listings_by_the_import_system_are_not_the_programs():
    logs = [proc(listed={"/proj", "/proj/data", "/proj/src", "/usr/lib/python3.11"}, sys_path={"/proj", "/proj/src"})]
    assert observe.listed_directories(logs, ROOT) == ["data"]


def test_the_observed_section_matches_the_manifest_schema():
    from importlib import resources

    schema = json.loads((resources.files("repro.schemas") / "manifest.schema.json").read_text())
    validator = jsonschema.Draft202012Validator({"$ref": "#/$defs/observed", "$defs": schema["$defs"]})
    events = [
        {"event": "start", "pid": 2, "ppid": 1, "root": "/proj", "observing": True, "trees": TREES},
        {"event": "observed", "pid": 2, "files": {"r": ["/proj/a.csv"], "rw": ["/proj/s.json"]},
         "spawned": [["sh", "-c", "true"]], "listed": ["/proj/data"], "modules": ["numpy"],
         "seed_calls": [{"call": "random.seed", "site": "/proj/t.py:3", "values": [2**80], "count": 1, "unseeded": False}]},
        {"event": "error", "pid": 2, "where": "observe", "message": "boom"},
        {"event": "chained", "pid": 2, "path": "/etc/python3/sitecustomize.py"},
    ]
    before, after = snap("a.csv", "s.json"), Snapshot({"a.csv": (1, 1, 1, 1, True), "s.json": (2, 2, 1, 2, True)})
    found = observe.analyse(events, ROOT, before=before, after=after, packages={"numpy": ["numpy"]},
                            distributions=[{"name": "numpy", "version": "2"}], disabled_flags=["-I"])
    validator.validate(found.section)
    validator.validate(observe.disabled_section())
    assert found.inputs == ("a.csv",) and found.outputs == ("s.json",)
    assert found.section["injection"]["errors"] == [{"where": "observe", "message": "boom"}]
    assert found.section["injection"]["chained"] == ["/etc/python3/sitecustomize.py"]
    assert any("s.json was read, then written" in w for w in found.warnings)


def test_the_injected_code_stays_importable_by_older_pythons():
    """The sitecustomize runs in whatever Python a container has: no 3.10+ syntax in it."""
    import ast

    from repro.inject import site_dir

    source = (site_dir() / "sitecustomize.py").read_text()
    ast.parse(source, feature_version=(3, 8))
    assert sys.version_info >= (3, 8)


def test_outside_writes_leave_out_reads_the_project_temp_interpreter_and_devices():
    files = {"/data/model.pt": "w", "/data/ckpt.pt": "rw", "/data/read.csv": "r", "/proj/out/a.txt": "w",
             "/scratch/tmp1": "w", "/dev/null": "w", "/dev/shm/x": "w", "/proc/self/fd/1": "w",
             "/usr/lib/python3.11/__pycache__/x.pyc": "w"}
    outside = observe.outside_writes([proc(1, files), proc(2, {"/data/model.pt": "w", "/home/u/log": "wr"})],
                                     ROOT, temp_dirs=["/scratch"])
    assert outside == ["/data/model.pt", "/data/ckpt.pt", "/home/u/log"]


def test_outside_writes_of_a_container_process_are_not_this_machines_paths():
    assert observe.outside_writes([proc(1, {"/data/model.pt": "w"}, root="/workspace")], ROOT) == []


def test_outside_warning_names_the_files_and_what_to_do():
    text = observe.outside_warning([f"/data/{i}" for i in range(7)], ROOT)
    assert "wrote 7 file(s) outside the project root /proj: /data/0, /data/1" in text and "and 2 more" in text
    assert "write them under the project root" in text


def test_refused_writes_are_listed_once_in_order():
    events = [{"event": "refused", "path": "/b", "pid": 1}, {"event": "observed", "pid": 1},
              {"event": "refused", "path": "/a", "pid": 2}, {"event": "refused", "path": "/b", "pid": 2}]
    assert observe.refused_writes(events) == ["/b", "/a"]
    section = observe.analyse(events, ROOT).section
    assert section["refused_writes"] == ["/b", "/a"]


def test_kept_before_maps_the_hooks_copies_of_read_then_written_files_only():
    processes = [proc(1, {"/proj/ckpt.pt": "rw"}), proc(2, {"/proj/other.pt": "rw"}, root="/workspace")]
    events = [{"event": "state_before", "pid": 1, "path": "/proj/ckpt.pt", "copy": "1-1"},
              {"event": "state_before", "pid": 1, "path": "/proj/ckpt.pt", "copy": "1-2"},
              {"event": "state_before", "pid": 2, "path": "/workspace/other.pt", "copy": "2-1"},
              {"event": "state_before", "pid": 1, "path": "/proj/log.txt", "copy": "1-3"},
              {"event": "state_before", "pid": 1, "path": "/proj/evil", "copy": "../../etc/passwd"}]
    kept = observe.kept_before(events, processes, ROOT, ["ckpt.pt", "other.pt", "evil"])
    assert kept == {"ckpt.pt": "1-1", "other.pt": "2-1"}


def test_a_kept_read_then_written_file_gets_no_warning_and_others_name_the_flag():
    events = [{"event": "start", "pid": 1, "ppid": 0, "root": "/proj", "observing": True},
              {"event": "observed", "pid": 1, "files": {"rw": ["/proj/a.json", "/proj/b.json"]}},
              {"event": "state_before", "pid": 1, "path": "/proj/a.json", "copy": "1-1"}]
    found = observe.analyse(events, ROOT, is_file=lambda rel: True)
    assert found.kept_before == {"a.json": "1-1"}
    assert [w for w in found.warnings if "read, then written" in w] == [
        "b.json was read, then written by the run: its content before the run is not recorded, so a replay cannot "
        "start from it; record it as a state file with --state b.json (or `state:` in repro.yaml)"]


def test_entries_before_names_what_each_listed_directory_held_before_the_run() -> None:
    from repro.observe import Snapshot, entries_before

    stat = (1, 0, 0, 0, True)
    before = Snapshot({"logs/version_0/metrics.csv": stat, "logs/version_1/ckpt/a.ckpt": stat, "logs/notes.txt": stat,
                       "train.py": stat, "data/x.csv": stat})
    assert entries_before(["logs", "."], before) == {
        ".": ["data/", "logs/", "train.py"],
        "logs": ["notes.txt", "version_0/", "version_1/"],
    }
    assert entries_before(["empty"], before) == {}
