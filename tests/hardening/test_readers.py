"""Every reader is total over the schema's value space: a manifest the schema accepts (re-signed
with a trusted key, so the signature holds) is shown, diffed, exported, verified and replayed, or
refused with one clean error — never exit 70. And `verify` checks that a directory's root digest
is the digest of its recorded file list."""

from __future__ import annotations

import json
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repro.evidence import jsonio, signing
from repro.errors import INTEGRITY, IntegrityError
from repro.evidence.manifest import Manifest
from repro.evidence.verify import verify
from tests.conftest import examples
from tests.hardening.cases import cli, consume_manifest, describe, is_clean, outcome


def resigned(signed, change) -> bytes:
    """The signed example's manifest changed by `change(doc)` and signed again with its key."""
    doc = json.loads(signed.raw)
    change(doc["predicate"])
    statement = {k: v for k, v in doc.items() if k != "signatures"}
    m = Manifest(statement).signed_with(signing.load_private_key(signed.private_key))
    return jsonio.pretty_bytes(m.to_json())


def copy_project(signed, tmp_path):
    project = tmp_path / "p"
    shutil.copytree(signed.project, project, symlinks=True)
    return project


def directory(pred: dict) -> dict:
    return next(a for a in pred["inputs"] if a["kind"] == "directory")


UNHASHABLE = st.one_of(st.lists(st.text(max_size=4), max_size=3), st.dictionaries(st.text(max_size=4),
                                                                                    st.integers(), max_size=2))


@settings(max_examples=examples(50), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=UNHASHABLE, facet=st.sampled_from(["inputs", "outputs"]))
def test_a_list_or_dict_as_an_artifact_kind_is_refused_cleanly(signed, value, facet):
    data = json.loads(signed.raw)
    data["predicate"][facet][0]["kind"] = value
    err = consume_manifest(jsonio.pretty_bytes(data), signed.trusted(), Manifest.from_bytes(signed.raw))
    assert is_clean(err), describe(err)


@pytest.mark.parametrize("field, value", [("distro", "Debian GNU/Linux 12"), ("libc", "glibc 2.36"),
                                          ("distro", None), ("libc", None)])
def test_os_facts_as_the_schema_allows_them_are_shown_and_diffed(signed, tmp_path, field, value):
    def change(pred):
        pred["deps"]["os"][field] = value
    path = tmp_path / "m.json"
    path.write_bytes(resigned(signed, change))
    for args in (("show", str(path)), ("diff", str(signed.manifest), str(path)), ("verify", "--no-files", str(path))):
        result = cli(*args, cwd=signed.project, xdg=signed.xdg)
        assert result.returncode in (0, 1) and "internal error" not in result.stderr, (args, result.stderr)
    if value is not None:
        assert value in cli("show", str(path), cwd=signed.project, xdg=signed.xdg).stdout


@pytest.mark.parametrize("name", ["", " ", "-", "_"])
def test_diff_with_a_distribution_of_any_name(signed, tmp_path, name):
    def change(pred):
        pred["deps"]["distributions"].append({"name": name, "version": "1"})
    path = tmp_path / "m.json"
    path.write_bytes(resigned(signed, change))
    for a, b in ((signed.manifest, path), (path, signed.manifest)):
        result = cli("diff", str(a), str(b), cwd=signed.project, xdg=signed.xdg)
        assert result.returncode == 1 and "internal error" not in result.stderr, result.stderr


def test_a_directory_without_its_file_list_whose_digest_changed_is_exit_3(signed, tmp_path):
    project = copy_project(signed, tmp_path)
    path = project / "run.json"

    def change(pred):
        directory(pred).pop("files")
    path.write_bytes(resigned(signed, change))
    d = directory(json.loads(path.read_text())["predicate"])
    victim = next(p for p in (project / d["path"]).rglob("*") if p.is_file())
    victim.write_bytes(victim.read_bytes() + b"changed")
    result = cli("verify", str(path), cwd=project, xdg=signed.xdg)
    assert result.returncode == INTEGRITY and "does not match its recorded digest" in result.stderr, result.stderr


@settings(max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(index=st.integers(0, 1000), field=st.sampled_from(["digest", "size", "path", "executable", "drop", "add"]))
def test_a_file_list_that_disagrees_with_its_root_digest_fails_verify(signed, tmp_path_factory, index, field):
    project = signed.project
    algorithm = json.loads(signed.raw)["predicate"]["digest_algorithm"]

    def change(pred):
        files = directory(pred)["files"]
        f = files[index % len(files)]
        if field == "digest":
            f["digest"] = {algorithm: "0" * len(f["digest"][algorithm])}
        elif field == "size":
            f["size"] += 1  # the root digest covers paths, digests and modes, not sizes: still caught below
        elif field == "path":
            f["path"] = f["path"] + ".moved"
        elif field == "executable":
            f["executable"] = not f["executable"]
        elif field == "drop":
            files.remove(f)
        else:
            files.append({**f, "path": f["path"] + ".extra"})
    path = tmp_path_factory.mktemp("m") / "m.json"
    path.write_bytes(resigned(signed, change))
    shutil.copy(signed.project / "run.stdout.log", path.parent)
    shutil.copy(signed.project / "run.stderr.log", path.parent)
    for name in ("run.code.diff",):
        if (signed.project / name).exists():
            shutil.copy(signed.project / name, path.parent)
    err = outcome(lambda: verify(path, [signed.public_key], root=project))
    assert isinstance(err, IntegrityError), describe(err)
    if field != "size":
        assert "root digest is not the digest of its recorded file list" in str(err)
    if field in ("digest", "path", "executable", "drop", "add"):
        no_files = outcome(lambda: verify(path, [signed.public_key], check_files=False))
        assert isinstance(no_files, IntegrityError), describe(no_files)


def test_the_issues_bogus_sha256_is_reported_not_counted_as_matching(signed, tmp_path):
    path = tmp_path / "m.json"

    def change(pred):
        f = directory(pred)["files"][0]
        algorithm = next(iter(f["digest"]))
        f["digest"] = {algorithm: "f" * len(f["digest"][algorithm])}
    path.write_bytes(resigned(signed, change))
    for name in ("run.stdout.log", "run.stderr.log", "run.code.diff"):
        if (signed.project / name).exists():
            shutil.copy(signed.project / name, tmp_path)
    result = cli("verify", str(path), cwd=signed.project, xdg=signed.xdg)
    assert result.returncode == INTEGRITY, result.stdout + result.stderr
    assert "recorded files match" not in result.stdout
    assert result.stderr.strip().endswith("its root digest is not the digest of its recorded file list")
