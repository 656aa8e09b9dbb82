"""The cached probe answer: reused while nothing it depends on changed, probed again as soon as
a distribution is installed, never kept when something changed while the probe ran."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from repro.capture import deps
from repro.capture.interpreter_cache import InterpreterFactsCache
from tests.conftest import repro_cli
from tests.examples import make_example


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A real virtual environment (no pip: it only needs a site-packages to install into)."""
    root = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    return root


def site_packages(venv: Path) -> Path:
    return next((venv / "lib").glob("python*/site-packages"))


def install_fake(venv: Path, name: str, version: str) -> None:
    """What an installer leaves behind that importlib.metadata reads: a .dist-info directory."""
    info = site_packages(venv) / f"{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "top_level.txt").write_text(name + "\n")


def probe(venv: Path, cache: InterpreterFactsCache, cwd: Path) -> dict:
    return deps.capture_host([str(venv / "bin" / "python"), "train.py"], os.environ, cwd, cache)


def names(facts: dict) -> dict[str, str]:
    return {d["name"]: d["version"] for d in facts["distributions"]}


def test_the_answer_is_reused_until_a_distribution_is_installed(venv, tmp_path):
    cache = InterpreterFactsCache(tmp_path / "cache")
    time.sleep(1.1)  # the venv was just made: an answer is only kept once its directories are older
    first = probe(venv, cache, tmp_path)
    assert "search_path" not in first
    cached = cache.path(str(venv / "bin" / "python"))
    assert cached.is_file()
    stamp = cached.stat().st_mtime_ns
    assert probe(venv, cache, tmp_path) == first
    assert cached.stat().st_mtime_ns == stamp  # answered from the cache, not probed again

    install_fake(venv, "fakepkg", "1.0")
    after = probe(venv, cache, tmp_path)
    assert names(after).get("fakepkg") == "1.0" and "fakepkg" not in names(first)
    assert after["packages"]["fakepkg"] == ["fakepkg"]


def test_an_answer_whose_directories_just_changed_is_not_kept(venv, tmp_path):
    cache = InterpreterFactsCache(tmp_path / "cache")
    install_fake(venv, "justnow", "2.0")  # as if installed while the probe ran
    assert names(probe(venv, cache, tmp_path))["justnow"] == "2.0"
    assert not cache.path(str(venv / "bin" / "python")).exists()


def test_a_damaged_or_foreign_cache_file_is_probed_again(venv, tmp_path):
    cache = InterpreterFactsCache(tmp_path / "cache")
    time.sleep(1.1)
    good = probe(venv, cache, tmp_path)
    path = cache.path(str(venv / "bin" / "python"))
    for damaged in (b"{not json", b"[]", json.dumps({"format": "other"}).encode()):
        path.write_bytes(damaged)
        assert probe(venv, cache, tmp_path) == good
    data = json.loads(path.read_bytes())
    data["probe"] = "0" * 32  # written by other probe code
    data["facts"]["python"]["version"] = "0.0.0"
    path.write_text(json.dumps(data))
    assert probe(venv, cache, tmp_path)["python"]["version"] == good["python"]["version"]


def test_a_run_from_the_cache_records_the_same_dependencies(tmp_path):
    project = make_example(tmp_path / "logreg")
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    assert repro_cli("keygen", env=env).returncode == 0
    manifests = []
    for name in ("a.json", "b.json"):
        result = repro_cli("run", "--no-sign", "--manifest", name, "--", sys.executable, "-c", "pass",
                           cwd=project, env=env)
        assert result.returncode == 0, result.stderr
        manifests.append(json.loads((project / name).read_text()))
    deps_a, deps_b = (m["predicate"]["deps"] for m in manifests)
    assert deps_a == deps_b and deps_a["distributions"]
    assert list((project / ".repro" / "cache" / "interpreters").glob("*.json"))
