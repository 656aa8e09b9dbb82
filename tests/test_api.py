"""The public API: what `import repro` offers, that it stays cheap, and a whole session through it."""

from __future__ import annotations

import doctest
import os
import subprocess
import sys
from pathlib import Path

import pytest

import repro
from tests.conftest import REPO

PUBLIC = {
    "__version__", "run", "replay", "verify", "load", "RunResult", "ReplayResult", "Verification",
    "ReproError", "UsageError", "InvalidManifestError", "IntegrityError", "UnsafePathError", "WriteError",
    "SigningKeyError", "RunnerError",
}


@pytest.fixture
def project(example, keys, monkeypatch) -> Path:
    """The example as the working directory, with `python` meaning this interpreter."""
    monkeypatch.chdir(example)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return example


def test_all_names_exactly_the_public_api():
    assert set(repro.__all__) == PUBLIC
    for name in repro.__all__:
        assert getattr(repro, name) is not None


def test_errors_are_the_error_root_with_their_exit_codes():
    assert issubclass(repro.IntegrityError, repro.ReproError)
    assert issubclass(repro.UnsafePathError, repro.IntegrityError)
    assert (repro.UsageError.exit_code, repro.IntegrityError.exit_code, repro.InvalidManifestError.exit_code) == (2, 3, 2)


def test_import_repro_loads_no_heavy_module():
    code = ("import sys, repro; heavy = ('numpy', 'jsonschema', 'docker', 'cryptography', 'yaml', 'click'); "
            "print(','.join(m for m in heavy if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""


def test_the_api_document_runs_as_written(project):
    """docs/api.md is a doctest: its examples are what a user gets."""
    result = doctest.testfile(str(REPO / "docs" / "api.md"), module_relative=False, verbose=False,
                              optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 10
    assert result.failed == 0


def test_results_are_frozen_and_typed(project):
    run = repro.run(["python", "train.py"], seed=3, manifest="run.json")
    assert isinstance(run, repro.RunResult) and run.ok and run.manifest_path == project / "run.json"
    assert run.run_id == repro.load("run.json").predicate["run_id"]
    with pytest.raises(AttributeError):
        run.exit_code = 1  # type: ignore[misc]
    check = repro.verify("run.json")
    assert isinstance(check, repro.Verification) and check.files_checked >= 3


def test_a_replay_that_differs_is_a_false_result_that_explains_itself(project):
    script = "import os, time; os.makedirs('out', exist_ok=True); open('out/t.txt', 'w').write(repr(time.time()))"
    repro.run(["python", "-c", script], outputs=["out/t.txt"], manifest="clock.json")
    result = repro.replay("clock.json")
    assert not result.reproduced and not result
    assert [(v.path, v.status) for v in result.outputs] == [("out/t.txt", "differs")]
    assert "NOT REPRODUCED" in result.explain()
    assert result.to_json()["reproduced"] is False


def test_a_command_string_is_refused(project):
    with pytest.raises(repro.UsageError, match="list of arguments"):
        repro.run("python train.py")  # type: ignore[arg-type]


def test_a_tampered_manifest_raises_integrity_error(project):
    repro.run(["python", "train.py"], seed=3, manifest="run.json")
    text = (project / "run.json").read_text().replace('"seed": 3', '"seed": 4')
    (project / "run.json").write_text(text)
    with pytest.raises(repro.IntegrityError):
        repro.verify("run.json", check_files=False)
