"""`repro hash` through the CLI: sha256 lines match coreutils, directories get a root digest."""

import json
import shutil
import subprocess

import pytest

from tests.conftest import repro_cli


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="sha256sum is not installed")
def test_sha256_lines_match_sha256sum(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"abc" * 1000)
    result = repro_cli("hash", "--digest", "sha256", "a.bin", cwd=tmp_path)
    expected = subprocess.run(["sha256sum", "a.bin"], cwd=tmp_path, capture_output=True, text=True).stdout
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected


def test_directory_json_matches_what_a_manifest_records(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.csv").write_text("1,2\n")
    lines = repro_cli("hash", "data", cwd=tmp_path)
    assert lines.returncode == 0 and lines.stdout.strip().endswith("  data/")
    again = repro_cli("hash", "--json", "data", cwd=tmp_path)
    (artifact,) = json.loads(again.stdout)
    assert artifact["kind"] == "directory" and artifact["files"][0]["path"] == "data/x.csv"
    assert lines.stdout.split()[0] == artifact["digest"]["xxh3_128"]


def test_missing_path_is_a_one_line_error(tmp_path):
    result = repro_cli("hash", "nope", cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.startswith("repro: error:") and len(result.stderr.splitlines()) == 1
