"""A full disk while the command writes its output: the run ends, it never hangs.

The project lives on a 5 MiB tmpfs and the command prints more than that: the log of its stdout
(or stderr) cannot be written. The output still reaches the terminal, the command runs to its
end, repro ends with exit 2 and one line naming the full file system, and the previous manifest
at the same path is still there and verifies."""

from __future__ import annotations

import pytest

from repro.errors import INVALID
from tests.hardening.cases import log_full_scenario


@pytest.mark.slow
@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_a_log_on_a_full_disk_ends_the_run_with_one_line(tmp_path, stream):
    result = log_full_scenario(tmp_path, stream)
    if result is None:
        pytest.skip("mounting a tmpfs is not permitted here (not root); tests/runners/test_streams.py uses /dev/full")
    assert result.exit_code is not None, "repro hung on a full disk"
    assert result.exit_code == INVALID, result.stderr
    lines = result.stderr.strip().splitlines()
    if stream == "stdout":  # on stderr repro's line comes after the command's own output
        assert len(lines) == 1, lines
    last = lines[-1]
    assert last.startswith("repro: error: cannot write the command's log ") and "is full" in last, last
    assert "Traceback" not in result.stderr
    assert result.echoed > 6_000_000  # base64 of 4.9 MB: the terminal got it all
    assert result.previous_intact and result.previous_verifies
