"""Crashes and signals: nothing is lost or half-written.

`kill -9` of repro at any moment leaves the previous manifest or a complete new one, and a
consistent stat cache and store; SIGINT and SIGTERM are forwarded to the command (and stop its
container), recorded in the manifest, and give exit 130 / 143; a full disk while the manifest is
written is one line, exit 2, with the previous manifest and its logs untouched.
"""

from __future__ import annotations

import errno
import os
import signal

import pytest

from repro.evidence import jsonio, signing
from repro.errors import INVALID, WriteError
from repro.evidence.manifest import Manifest
from tests.hardening.cases import describe, disk_full_scenario, is_clean, kill9_scenario, outcome, signal_scenario

KILLS = 6


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_is_forwarded_recorded_and_gives_its_exit_code(tmp_path, signum, code):
    result = signal_scenario(tmp_path, signum)
    assert result.exit_code == code, result.stderr
    assert result.manifest_signal == signal.Signals(signum).name and result.manifest_exit_code == code
    assert result.verifies, result.stderr
    assert not result.child_left_running
    assert result.stderr.strip().splitlines()[-1].startswith(f"repro: the command exited {code}; signed manifest ")


@pytest.mark.docker
def test_ctrl_c_stops_the_container_and_is_recorded(tmp_path, docker_image):
    import docker

    result = signal_scenario(tmp_path, signal.SIGINT, image=docker_image)
    assert result.exit_code == 130 and result.manifest_signal == "SIGINT", result.stderr
    assert result.verifies
    run_id = Manifest.load(tmp_path / "p" / "run.json").predicate["run_id"]
    client = docker.from_env()
    try:
        assert client.containers.list(all=True, filters={"label": f"repro.run-id={run_id}"}) == []
    finally:
        client.close()


def test_kill_9_at_any_moment_loses_nothing(tmp_path):
    outcomes, still_works = kill9_scenario(tmp_path, KILLS)
    for o in outcomes:
        assert o.manifest_state in ("previous", "new"), o
        assert o.cache_ok and o.store_ok, o
        assert not [t for t in o.leftover_temporaries if t.endswith("run.json.tmp") or "/run.json." in t], o
    assert still_works


@pytest.mark.parametrize("how", ["rlimit", "tmpfs"])
def test_a_full_disk_while_writing_the_manifest_keeps_the_previous_one(tmp_path, how):
    result = disk_full_scenario(tmp_path, how)
    if result is None:
        pytest.skip("mounting a tmpfs is not permitted here; the rlimit case covers a write that fails")
    assert result.exit_code == INVALID, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("repro: error: cannot write ") and "run.json" in lines[0], lines
    assert "previous file" in lines[0]
    assert result.previous_intact and result.previous_verifies
    assert result.leftovers == []


def test_write_atomic_under_enospc_is_one_error_and_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "m.json"
    jsonio.write_atomic(target, b"old")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(jsonio.os, "fsync", full)
    err = outcome(lambda: jsonio.write_atomic(target, b"new" * 1000))
    assert isinstance(err, WriteError) and isinstance(err, OSError) and is_clean(err, (INVALID,)), describe(err)
    assert "No space left on device" in str(err)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]


def test_keygen_under_enospc_leaves_no_half_key(tmp_path, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(jsonio.os, "fsync", full)
    key = tmp_path / "k" / "signing-key.pem"
    err = outcome(lambda: signing.generate(key))
    assert is_clean(err, (INVALID,)), describe(err)
    assert [p.name for p in key.parent.iterdir()] == []


def test_a_manifest_target_that_is_not_a_regular_file_is_refused(tmp_path):
    for target in (tmp_path, tmp_path / "fifo"):
        if target.name == "fifo":
            os.mkfifo(target)
        err = outcome(lambda: jsonio.write_atomic(target, b"x"))
        assert isinstance(err, WriteError) and is_clean(err, (INVALID,)), describe(err)
