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


def _record_outputs(root, run_id, outputs):
    """A run record under .repro/runs/ listing `outputs` ({path: bytes}) as that run wrote them."""
    import json

    from repro.data.digest import digest_bytes

    run = root / ".repro" / "runs" / run_id
    run.mkdir(parents=True)
    arts = [{"path": p, "kind": "file", "size": len(b), "digest": digest_bytes(b, "xxh3_128")} for p, b in outputs.items()]
    (run / "manifest.json").write_text(json.dumps({"predicate": {"outputs": arts}, "signatures": []}))


def test_files_runs_recorded_as_outputs_are_never_code(tmp_path):
    from repro.capture.run_records import outputs_written_by_runs

    git(tmp_path, "init", "-q")
    (tmp_path / ".gitignore").write_text(".repro/\n")
    (tmp_path / "train.ipynb").write_text("{}\n")
    (tmp_path / "results.py").write_text("committed\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "x")
    (tmp_path / "executed.ipynb").write_text('{"cells": 1}\n')
    (tmp_path / "results.py").write_text("rewritten by the run\n")
    _record_outputs(tmp_path, "r1", {"executed.ipynb": b'{"cells": 1}\n', "results.py": b"rewritten by the run\n"})
    before = code.capture(tmp_path, "xxh3_128")
    assert before.facet["untracked_sources"] == ["executed.ipynb"] and before.facet["dirty"]
    c = code.capture(tmp_path, "xxh3_128", run_outputs=outputs_written_by_runs(tmp_path))
    assert c.facet["untracked_sources"] == [] and not c.facet["dirty"] and c.diff == b""
    assert c.facet["run_outputs"] == ["executed.ipynb", "results.py"] and "edited_run_outputs" not in c.facet
    assert code.edited_warning(c.facet) is None


def test_a_run_output_edited_since_is_reported_as_both(tmp_path):
    from repro.capture.run_records import outputs_written_by_runs

    git(tmp_path, "init", "-q")
    (tmp_path / "train.py").write_text("print(1)\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "x")
    (tmp_path / "executed.ipynb").write_text("edited by hand\n")
    _record_outputs(tmp_path, "r1", {"executed.ipynb": b"as the run wrote it\n"})
    c = code.capture(tmp_path, "xxh3_128", run_outputs=outputs_written_by_runs(tmp_path))
    assert c.facet["run_outputs"] == c.facet["edited_run_outputs"] == ["executed.ipynb"]
    assert not c.facet["dirty"]
    assert code.edited_warning(c.facet).startswith("executed.ipynb: written by earlier runs and changed since")


def test_only_records_signed_by_a_trusted_key_count_when_asked(tmp_path):
    import json

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from repro.capture.run_records import outputs_written_by_runs, signed_by
    from repro.evidence import jsonio, signing

    key = Ed25519PrivateKey.generate()
    _record_outputs(tmp_path, "planted", {"train.py": b"x"})
    _record_outputs(tmp_path, "signed", {"executed.ipynb": b"y"})
    signed = tmp_path / ".repro" / "runs" / "signed" / "manifest.json"
    data = json.loads(signed.read_text())
    data["signatures"] = [signing.sign(jsonio.canonical_bytes({"predicate": data["predicate"]}), key)]
    signed.write_text(json.dumps(data))
    assert set(outputs_written_by_runs(tmp_path)) == {"train.py", "executed.ipynb"}
    assert set(outputs_written_by_runs(tmp_path, signed_by([key.public_key()]))) == {"executed.ipynb"}


def test_a_run_reads_outputs_from_the_index_while_it_matches_its_record(tmp_path):
    import json
    import os

    from repro.capture.run_records import outputs_written_by_runs, write_index

    _record_outputs(tmp_path, "r1", {"a.npz": b"a"})
    record = tmp_path / ".repro" / "runs" / "r1" / "manifest.json"
    write_index(record, json.loads(record.read_text())["predicate"]["outputs"])
    index = record.parent / "outputs.json"
    text = index.read_text()
    index.write_text(text.replace('"a.npz"', '"from-index.npz"'))  # proves which one was read
    assert set(outputs_written_by_runs(tmp_path)) == {"from-index.npz"}
    st = record.stat()
    os.utime(record, ns=(st.st_atime_ns, st.st_mtime_ns + 1))  # the record changed: the index is stale
    assert set(outputs_written_by_runs(tmp_path)) == {"a.npz"}
    os.utime(record, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert set(outputs_written_by_runs(tmp_path, lambda body, sigs: True)) == {"a.npz"}  # a check reads the record


def test_a_broken_record_is_left_out(tmp_path):
    from repro.capture.run_records import outputs_written_by_runs

    (tmp_path / ".repro" / "runs" / "bad").mkdir(parents=True)
    (tmp_path / ".repro" / "runs" / "bad" / "manifest.json").write_text("{not json")
    assert outputs_written_by_runs(tmp_path) == {}


def test_git_state_in_a_subdirectory_before_and_after_the_first_commit_and_detached(tmp_path):
    git(tmp_path, "init", "-q", "-b", "main")
    sub = tmp_path / "proj"
    (sub / "pkg").mkdir(parents=True)
    (tmp_path / ".gitignore").write_text("ignored/\n")
    (sub / "pkg" / "a.py").write_text("A = 1\n")
    (sub / "ignored").mkdir()
    (sub / "ignored" / "b.py").write_text("B = 1\n")
    (tmp_path / "outside.py").write_text("C = 1\n")
    unborn = code.git_state(sub)
    assert unborn is not None and unborn.prefix == "proj/"
    assert (unborn.head, unborn.branch, unborn.untracked) == (None, None, ("pkg/a.py",))
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "x")
    (sub / "new.py").write_text("D = 1\n")
    state = code.git_state(sub)
    head = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert (state.head, state.branch, state.untracked) == (head, "main", ("new.py",))
    git(tmp_path, "checkout", "-q", "--detach")
    assert code.git_state(sub).branch is None and code.git_state(sub).head == head
