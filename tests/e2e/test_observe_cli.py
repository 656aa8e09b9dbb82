"""Observation end to end: `repro run` on real scripts with no --input/--output, in a subprocess."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from repro.evidence.manifest import Manifest
from tests.conftest import repro_cli


def project(tmp_path: Path, script: str, files: dict[str, str] | None = None) -> Path:
    """A fresh git repository holding `train.py` and data files, committed."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "train.py").write_text(textwrap.dedent(script))
    for rel, text in (files or {}).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    return root


def run(root: Path, keys: Path, *flags: str, argv: tuple[str, ...] = (sys.executable, "train.py"), env=None):
    result = repro_cli("run", "--seed", "3", "--manifest", "run.json", *flags, "--", *argv, cwd=root,
                       env={"XDG_CONFIG_HOME": str(keys), **(env or {})})
    assert result.returncode == 0, result.stderr
    return result, Manifest.load(root / "run.json").predicate


def artifacts(pred: dict, facet: str) -> dict[str, bool]:
    return {a["path"]: a.get("observed", False) for a in pred[facet]}


TRAIN = """
    import json
    import multiprocessing as mp
    import os

    import numpy as np


    def worker(path):
        with open(path) as f:
            return f.read()


    if __name__ == "__main__":
        x = np.loadtxt("data/features.csv", delimiter=",")
        with open("data/labels.txt") as f:
            y = [int(v) for v in f.read().split()]
        with mp.get_context("fork").Pool(1) as pool:
            vocab = pool.map(worker, ["data/vocab.txt"])[0]
        os.makedirs("out", exist_ok=True)
        np.save("out/model.npy", x.sum(axis=0))
        with open("out/metrics.json", "w") as f:
            json.dump({"n": len(y), "vocab": len(vocab)}, f)
"""
DATA = {"data/features.csv": "1,2\n3,4\n", "data/labels.txt": "0 1\n", "data/vocab.txt": "a b c\n", "notes.md": "unread\n"}


def test_inputs_and_outputs_are_found_without_being_declared(tmp_path, keys):
    root = project(tmp_path, TRAIN, DATA)
    result, pred = run(root, keys)
    assert artifacts(pred, "inputs") == {"data/features.csv": True, "data/labels.txt": True, "data/vocab.txt": True}
    assert artifacts(pred, "outputs") == {"out/metrics.json": True, "out/model.npy": True}
    obs = pred["observed"]
    assert obs["enabled"] and obs["processes"] == 2 and obs["read_then_written"] == []
    assert {"name": "numpy", "version": np_version()} in obs["imports"]["used_distributions"]
    assert not any(d["name"].lower() == "click" for d in obs["imports"]["used_distributions"])
    assert "observed 3 input(s) and 2 output(s)" in result.stderr
    verified = repro_cli("verify", "run.json", cwd=root, env={"XDG_CONFIG_HOME": str(keys)})
    assert verified.returncode == 0 and verified.stdout.startswith("OK"), verified.stderr
    shown = repro_cli("show", "run.json", cwd=root, env={"XDG_CONFIG_HOME": str(keys)})
    assert "data/vocab.txt" in shown.stdout and "observed   2 Python process(es)" in shown.stdout


def np_version() -> str:
    import numpy

    return numpy.__version__


def test_declared_paths_win_and_observed_ones_are_added(tmp_path, keys):
    root = project(tmp_path, TRAIN, DATA)
    _, pred = run(root, keys, "--input", "data/labels.txt", "--output", "out/")
    assert artifacts(pred, "inputs") == {"data/labels.txt": False, "data/features.csv": True, "data/vocab.txt": True}
    assert artifacts(pred, "outputs") == {"out": False}
    assert pred["observed"]["covered_by_declared"] == 3


def test_files_written_by_native_code_or_a_shell_are_found_by_the_snapshot(tmp_path, keys):
    root = project(tmp_path, """
        import ctypes
        import os
        import subprocess

        os.makedirs("out", exist_ok=True)
        subprocess.run(["sh", "-c", "echo shell > out/shell.txt"], check=True)
        libc = ctypes.CDLL(None)
        libc.fopen.restype = ctypes.c_void_p
        libc.fputs.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
        libc.fclose.argtypes = [ctypes.c_void_p]
        f = libc.fopen(b"out/native.bin", b"w")
        libc.fputs(b"written by C", f)
        libc.fclose(f)
        with open("out/python.txt", "w") as fh:
            fh.write("hooked")
    """)
    _, pred = run(root, keys)
    assert artifacts(pred, "outputs") == {"out/native.bin": True, "out/python.txt": True, "out/shell.txt": True}
    snapshot = pred["observed"]["snapshot"]
    assert snapshot["seen_only_by_snapshot"] == ["out/native.bin", "out/shell.txt"] and snapshot["created"] == 3
    assert pred["observed"]["subprocesses"] == [{"argv": ["sh", "-c", "echo shell > out/shell.txt"], "count": 1}]


def test_an_unseeded_generator_is_a_warning_naming_file_and_line(tmp_path, keys):
    root = project(tmp_path, """
        import numpy as np

        rng = np.random.default_rng()
        np.random.seed(1234)
        print(rng.random() > 2)
    """)
    result, pred = run(root, keys)
    message = "unseeded random generator: numpy.random.default_rng at train.py:4"
    assert f"repro: warning: {message}" in result.stderr
    assert any(w.startswith(message) for w in pred["warnings"])
    calls = {(c["call"], c["site"]): (c["values"], c["unseeded"]) for c in pred["observed"]["seed_calls"]}
    assert calls == {("numpy.random.default_rng", "train.py:4"): ([None], True),
                     ("numpy.random.seed", "train.py:5"): ([1234], False)}
    assert {"lib": "numpy", "value": 3, "processes": 1} in pred["seeds"]["seeded"]  # repro's own, not a call


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed in this environment")
def test_a_torch_seed_is_recorded(tmp_path, keys):
    root = project(tmp_path, """
        import torch

        torch.manual_seed(2024)
        print(torch.rand(1))
    """)
    _, pred = run(root, keys)
    calls = [(c["call"], c["site"], c["values"]) for c in pred["observed"]["seed_calls"]]
    assert ("torch.manual_seed", "train.py:4", [2024]) in calls
    assert {"lib": "torch", "value": 3, "processes": 1} in pred["seeds"]["seeded"]


def test_a_shadowed_sitecustomize_still_runs(tmp_path, keys):
    root = project(tmp_path, """
        import builtins
        print("chained" if getattr(builtins, "USER_SITE_RAN", False) else "lost")
    """)
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "sitecustomize.py").write_text("import builtins\nbuiltins.USER_SITE_RAN = True\n")
    result, pred = run(root, keys, env={"PYTHONPATH": str(theirs)})
    assert result.stdout.strip() == "chained"
    assert pred["observed"]["injection"]["chained"] == [str(theirs / "sitecustomize.py")]
    assert {"lib": "random", "value": 3, "processes": 1} in pred["seeds"]["seeded"]


def test_no_observe_turns_it_all_off(tmp_path, keys):
    root = project(tmp_path, TRAIN.replace("np.save(", "np.random.default_rng()\n        np.save("), DATA)
    result, pred = run(root, keys, "--no-observe")
    assert pred["observed"] == {"enabled": False}
    assert pred["inputs"] == [] and pred["outputs"] == [] and pred["warnings"] == []
    assert "observed" not in result.stderr
    assert "observed   off" in repro_cli("show", "run.json", cwd=root, env={"XDG_CONFIG_HOME": str(keys)}).stdout


def test_isolated_python_is_reported_and_only_the_snapshot_sees_it(tmp_path, keys):
    root = project(tmp_path, """
        with open("result.txt", "w") as f:
            f.write("ok")
    """)
    result, pred = run(root, keys, argv=(sys.executable, "-I", "train.py"))
    assert "python runs with -I" in result.stderr
    obs = pred["observed"]
    assert obs["injection"]["disabled_by"] == ["-I"] and obs["injection"]["python_processes"] == 0
    assert artifacts(pred, "outputs") == {"result.txt": True} and obs["snapshot"]["seen_only_by_snapshot"] == ["result.txt"]


def test_a_file_read_then_rewritten_is_flagged(tmp_path, keys):
    root = project(tmp_path, """
        with open("state.json") as f:
            n = int(f.read())
        with open("state.json", "w") as f:
            f.write(str(n + 1))
    """, {"state.json": "1"})
    result, pred = run(root, keys)
    assert artifacts(pred, "outputs") == {"state.json": True}
    assert pred["observed"]["read_then_written"] == ["state.json"]
    # the hook kept its content before the write, so it is recorded as a state file (docs/replay.md)
    assert [(a["path"], a["state"], a["size"]) for a in pred["inputs"]] == [("state.json", True, 1)]
    assert "state.json was read, then written: recorded as a state file" in result.stderr
