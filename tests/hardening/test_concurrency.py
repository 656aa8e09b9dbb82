"""Concurrency: eight `repro run` at once in one project lose nothing and corrupt nothing.

They share the project's stat cache (SQLite, WAL), its content-addressed output store (one file
is identical across the runs, so they race to store the same entry) and `.repro/`; each must
still produce its own complete, verifiable manifest.
"""

from __future__ import annotations

from tests.hardening.cases import concurrency_scenario


def test_eight_runs_at_once_give_eight_valid_manifests_and_consistent_state(tmp_path):
    result = concurrency_scenario(tmp_path, n=8)
    assert result.exit_codes == [0] * 8, result.problems
    assert result.manifests == 8 and result.verified == 8, result.problems
    assert result.problems == []
    assert result.cache_ok and result.store_ok
    assert result.store_entries == 9  # eight distinct models and the one file every run wrote alike
    assert result.leftovers == []
