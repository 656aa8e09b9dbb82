"""The copy of a child's output into its log: a log that cannot be written never stops the copy."""

from __future__ import annotations

import errno
import subprocess
import sys
from pathlib import Path

import pytest

from repro.errors import INVALID, WriteError
from repro.runners.streams import mount_point, raise_log_failures, tee

FULL = Path("/dev/full")  # every write fails with ENOSPC: a real full device, no mock


@pytest.mark.skipif(not FULL.exists(), reason="/dev/full is not available")
def test_a_log_on_a_full_device_keeps_draining_and_reports_enospc(tmp_path):
    payload = 3_000_000
    child = subprocess.Popen([sys.executable, "-c", f"import sys; sys.stdout.buffer.write(b'x' * {payload})"],
                             stdout=subprocess.PIPE)
    echo = open(tmp_path / "echo", "wb")
    t = tee(child.stdout, FULL, echo)
    assert child.wait(timeout=60) == 0  # before the fix the copy died and the child blocked on the pipe
    t.join(timeout=60)
    echo.close()
    assert not t.is_alive()
    assert (tmp_path / "echo").stat().st_size == payload  # the terminal still got everything
    assert t.failure is not None and t.failure.errno == errno.ENOSPC
    with pytest.raises(WriteError) as e:
        raise_log_failures(t)
    assert e.value.exit_code == INVALID and "is full" in str(e.value) and "/dev/full" in str(e.value)


def test_a_log_that_cannot_be_created_still_drains(tmp_path):
    t = tee([b"a" * 10, b"b" * 10], tmp_path / "missing" / "x.log", None)
    t.join(timeout=10)
    assert t.failure is not None and t.failure.errno == errno.ENOENT
    with pytest.raises(WriteError):
        raise_log_failures(t)


def test_a_log_written_in_full_reports_nothing(tmp_path):
    t = tee([b"a" * 10, b"b" * 10], tmp_path / "x.log", None)
    t.join(timeout=10)
    raise_log_failures(t)
    assert (tmp_path / "x.log").read_bytes() == b"a" * 10 + b"b" * 10


def test_mount_point_is_an_ancestor_that_is_a_mount(tmp_path):
    m = mount_point(tmp_path / "a" / "b")
    assert str(tmp_path).startswith(str(m)) and m.is_mount()
