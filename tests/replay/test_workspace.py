"""The replay workspace: the project as the recorded run saw it."""

from __future__ import annotations

from pathlib import Path

import pytest

from repro.errors import ReproError
from repro.replay import workspace


def test_listed_entries_come_back_as_empty_placeholders_and_existing_paths_stay(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "notes.txt").write_text("kept")
    made = workspace.recreate_listed(tmp_path, {"logs": ["notes.txt", "version_0/", "version_1/"], ".": ["cfg"]})
    assert made == 3
    assert (tmp_path / "logs" / "version_0").is_dir() and (tmp_path / "logs" / "version_1").is_dir()
    assert (tmp_path / "logs" / "notes.txt").read_text() == "kept"
    assert (tmp_path / "cfg").is_file() and (tmp_path / "cfg").stat().st_size == 0


@pytest.mark.parametrize("listed", [{"..": ["x"]}, {"logs": ["../../escape"]}, {"/etc": ["x"]}])
def test_a_listed_entry_from_the_manifest_never_leaves_the_workspace(tmp_path: Path, listed: dict) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    with pytest.raises(ReproError):
        workspace.recreate_listed(ws, listed)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ws"]


def test_directories_emptied_by_leaving_out_outputs_are_not_copied(tmp_path: Path) -> None:
    src, dest = tmp_path / "src", tmp_path / "dest"
    (src / "logs" / "version_2" / "checkpoints").mkdir(parents=True)
    (src / "logs" / "version_2" / "checkpoints" / "a.ckpt").write_bytes(b"x")
    (src / "logs" / "version_2" / "metrics.csv").write_text("m")
    (src / "empty_on_purpose").mkdir()
    (src / "train.py").write_text("pass")
    dest.mkdir()
    workspace.copy_project(src, dest, {"logs/version_2/checkpoints/a.ckpt", "logs/version_2/metrics.csv"})
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*")) == ["empty_on_purpose", "train.py"]
