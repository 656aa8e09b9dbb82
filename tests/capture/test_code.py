import subprocess

from repro.capture import code


def git(root, *args):
    subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@e", *args], check=True,
                   capture_output=True)


def test_clean_repository(tmp_path):
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "train.py").write_text("print(1)\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "x")
    git(tmp_path, "remote", "add", "origin", "https://bob:s3cret@example.com/team/proj.git")
    c = code.capture(tmp_path, "xxh3_128")
    assert c.facet["kind"] == "git" and not c.facet["dirty"] and c.facet["diff"] is None and c.diff == b""
    assert c.facet["branch"] == "main" and c.facet["remote"] == "https://example.com/team/proj.git"


def test_dirty_tree_and_untracked_sources_are_in_the_diff_but_outputs_are_not(tmp_path):
    git(tmp_path, "init", "-q")
    (tmp_path / "train.py").write_text("print(1)\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "x")
    (tmp_path / "train.py").write_text("print(2)\n")
    (tmp_path / "helper.py").write_text("X = 1\n")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "gen.py").write_text("generated\n")
    (tmp_path / "metrics.json").write_text("{}")
    c = code.capture(tmp_path, "xxh3_128", exclude=["out"])
    assert c.facet["dirty"] and c.facet["untracked_sources"] == ["helper.py"]
    assert b"print(2)" in c.diff and b"X = 1" in c.diff and b"generated" not in c.diff and b"{}" not in c.diff
    assert c.facet["diff"]["size"] == len(c.diff)


def test_outside_git_a_tree_digest_of_source_files(tmp_path):
    (tmp_path / "train.py").write_text("print(1)\n")
    (tmp_path / "data.bin").write_bytes(b"\0" * 10)
    first = code.capture(tmp_path, "xxh3_128").facet
    assert first["kind"] == "tree" and [f["path"] for f in first["files"]] == ["train.py"]
    (tmp_path / "train.py").write_text("print(2)\n")
    assert code.capture(tmp_path, "xxh3_128").facet["digest"] != first["digest"]
