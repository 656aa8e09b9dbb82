"""Paths read from a manifest or a config are normalised and confined.

Absolute paths, `..`, NUL bytes and backslashes in a manifest are refused as unsafe (exit 3) before
anything reads them; at replay, an output that would be written through a symlink leaving the
scratch workspace is refused before the command runs; declared paths in repro.yaml must stay in
the project; devices and FIFOs are never read as data, keys, configs or manifests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from repro import config
from repro.evidence import signing
from repro.errors import INTEGRITY, INVALID, UnsafePathError, UsageError
from repro.evidence.manifest import Manifest, check_relpath
from repro.paths import confine, expand
from tests.hardening.cases import (
    UNSAFE_PATHS,
    cli,
    describe,
    dump,
    git,
    is_clean,
    outcome,
    set_at,
    unsafe_path_manifests,
)


def test_every_unsafe_path_in_every_path_field_is_refused_as_unsafe(signed):
    cases = list(unsafe_path_manifests(signed.raw))
    assert len(cases) >= 90
    failures = [f"{c.label}: {describe(e)}" for c in cases
                if not (isinstance(e := outcome(lambda: Manifest.from_bytes(c.data)), UnsafePathError)
                        and is_clean(e, (INTEGRITY,)))]
    assert failures == []


@pytest.mark.parametrize("name", ["..", ".", "../run.stdout.log", "/etc/passwd", "sub/x.log"])
def test_a_log_name_that_is_not_a_plain_file_name_is_unsafe(signed, name):
    doc = set_at(json.loads(signed.raw), ("predicate", "logs", "stdout", "path"), name)
    err = outcome(lambda: Manifest.from_bytes(dump(doc)))
    assert isinstance(err, UnsafePathError) and is_clean(err, (INTEGRITY,)), describe(err)


@pytest.mark.parametrize("path", UNSAFE_PATHS)
def test_check_relpath_refuses(path):
    assert is_clean(outcome(lambda: check_relpath(path)), (INTEGRITY,))


def test_confine_refuses_symlinks_and_loops_leaving_the_root(tmp_path):
    root = tmp_path / "ws"
    (root / "inside").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "escape").symlink_to(outside)
    (root / "abs").symlink_to("/etc")
    (root / "loop").symlink_to(root / "loop")
    (root / "inside" / "up").symlink_to("../..")
    assert confine(root, "inside/file") == root / "inside" / "file"
    for rel in ("escape/x", "abs/passwd", "loop/x", "inside/up/outside", "escape"):
        err = outcome(lambda: confine(root, rel))
        assert isinstance(err, UnsafePathError) and is_clean(err, (INTEGRITY,)), (rel, describe(err))


def test_declared_paths_in_repro_yaml_must_stay_in_the_project(tmp_path):
    root = tmp_path / "p"
    (root / "data").mkdir(parents=True)
    (root / "data" / "x.csv").write_text("1\n")
    bad = {'"/etc/passwd"': "outside the project", '"../outside"': "outside the project",
           '"data/../../outside"': "outside the project", '"da\\0ta"': "NUL", '"data/../../*"': "outside"}
    for spec, message in bad.items():
        (root / "repro.yaml").write_text(f"inputs: [{spec}]\n")
        (tmp_path / "outside").mkdir(exist_ok=True)
        cfg = config.load_config(root)
        err = outcome(lambda: expand(tuple(cfg["inputs"]), root, root, what="input", must_exist=True))
        assert isinstance(err, UsageError) and message in str(err) and is_clean(err, (INVALID,)), (spec, describe(err))


def test_run_refuses_unsafe_declared_paths_and_devices_before_running(tmp_path, xdg):
    root = tmp_path / "p"
    root.mkdir()
    (root / "zero").symlink_to("/dev/zero")
    os.mkfifo(root / "fifo")
    marker = root / "ran"
    command = ("--", sys.executable, "-c", f"open({str(marker)!r}, 'w')")
    cases = {
        "inputs: [/etc/passwd]\n": "outside the project root",
        "outputs: [../elsewhere]\n": "outside the project root",
        'outputs: ["out\\0x"]\n': "NUL byte",
        "inputs: [zero]\n": "not a regular file",
        "inputs: [fifo]\n": "not a regular file",
    }
    for text, message in cases.items():
        (root / "repro.yaml").write_text(text)
        result = cli("run", "--no-sign", *command, cwd=root, xdg=xdg, timeout=30)
        assert result.returncode == INVALID, (text, result.stderr)
        assert message in result.stderr and "Traceback" not in result.stderr, (text, result.stderr)
    (root / "repro.yaml").unlink()
    for target in ("/dev/full", str(root)):
        result = cli("run", "--no-sign", "--manifest", target, *command, cwd=root, xdg=xdg, timeout=30)
        assert result.returncode == INVALID and "manifest path" in result.stderr, result.stderr
    assert not marker.exists()


def test_replay_refuses_an_output_written_through_a_symlink_out_of_the_workspace(tmp_path, xdg):
    """`results -> /elsewhere` is copied into the scratch workspace as a link: rerunning would
    write through it onto the original outputs. Replay must stop before running."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    root = tmp_path / "p"
    root.mkdir()
    (root / "results").symlink_to(outside)
    (root / "write.py").write_text("with open('results/model.txt', 'a') as f:\n    f.write('weights\\n')\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    signing.generate(xdg / "repro" / signing.PRIVATE_KEY_NAME)
    run = cli("run", "-q", "--output", "results/model.txt", "--manifest", "run.json", "--", sys.executable, "write.py",
              cwd=root, xdg=xdg)
    assert run.returncode == 0, run.stderr
    before = (outside / "model.txt").read_bytes()
    replayed = cli("replay", "-q", "run.json", cwd=root, xdg=xdg)
    assert replayed.returncode == INTEGRITY, replayed.stderr
    assert "unsafe output path 'results/model.txt'" in replayed.stderr and "Traceback" not in replayed.stderr
    assert (outside / "model.txt").read_bytes() == before  # the original output was not written again


def test_verify_names_a_sidecar_replaced_by_a_symlink_or_device(signed, tmp_path):
    """Logs beside the manifest are checked by digest: a device or a swapped file fails, cleanly."""
    copy_dir = tmp_path / "m"
    copy_dir.mkdir()
    doc = json.loads(signed.raw)
    (copy_dir / "run.json").write_bytes(signed.raw)
    (copy_dir / doc["predicate"]["logs"]["stdout"]["path"]).symlink_to("/dev/null")
    (copy_dir / doc["predicate"]["logs"]["stderr"]["path"]).write_bytes(b"")
    result = cli("verify", "--root", str(signed.project), str(copy_dir / "run.json"), cwd=tmp_path, xdg=signed.xdg,
                 timeout=30)
    assert result.returncode == INTEGRITY, result.stderr
    assert result.stderr.startswith("repro: error: ") and "Traceback" not in result.stderr


def test_no_path_check_hangs_on_a_fifo_named_in_a_manifest(signed, tmp_path):
    """A recorded input that is now a FIFO is reported, not read."""
    project = tmp_path / "p"
    project.mkdir()
    doc = json.loads(signed.raw)
    (project / "run.json").write_bytes(signed.raw)
    for name in (doc["predicate"]["logs"]["stdout"]["path"], doc["predicate"]["logs"]["stderr"]["path"]):
        (project / name).write_bytes((signed.manifest.parent / name).read_bytes())
    os.mkfifo(project / "data")
    result = subprocess.run([sys.executable, "-m", "repro", "verify", "--root", str(project), "run.json"], cwd=project,
                            env={**os.environ, "XDG_CONFIG_HOME": str(signed.xdg)}, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode in (INVALID, INTEGRITY), result.stderr
    assert result.stderr.startswith("repro: error: ") and "Traceback" not in result.stderr
