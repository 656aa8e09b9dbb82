"""State files at replay: which entries are restored, and the hint on a differing file that was
read, then written, but not recorded as state."""

from __future__ import annotations

from repro.compare import Verdict
from repro.replay.orchestrate import with_state_hints


def recorded(state: bool) -> dict:
    entry = {"path": "ckpt.pt", "kind": "file", "size": 1, "digest": {"sha256": "0" * 64}}
    return {"outputs": [{**entry, **({"state": True} if state else {})}],
            "observed": {"read_then_written": ["ckpt.pt"]}}


def test_a_differing_read_then_written_output_names_the_flag():
    (v,) = with_state_hints([Verdict("ckpt.pt", "differs", "exact", "digest differs")], recorded(False))
    assert v.detail.startswith("digest differs; the run read ckpt.pt, then wrote it")
    assert "repro run --state ckpt.pt" in v.detail


def test_no_hint_for_a_recorded_state_file_a_passing_output_or_another_file():
    verdicts = [Verdict("ckpt.pt", "differs", "exact", "digest differs")]
    assert with_state_hints(verdicts, recorded(True)) == verdicts
    same = [Verdict("ckpt.pt", "identical", "exact"), Verdict("other.pt", "differs", "exact", "x")]
    assert with_state_hints(same, recorded(False)) == same
