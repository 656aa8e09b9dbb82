"""The MLflow integration against a real tracking store (SQLite, and the file store), read back
through MLflow's own client."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

import repro
from tests.conftest import repro_cli

try:
    import mlflow
    from mlflow.tracking import MlflowClient
except ImportError:  # pragma: no cover - depends on the environment
    if os.environ.get("REPRO_REQUIRE_MLFLOW") == "1":
        raise
    pytest.skip("mlflow is not installed: pip install 'repro[mlflow]'", allow_module_level=True)

import repro.mlflow as repro_mlflow  # noqa: E402


@pytest.fixture(params=["sqlite", "file"])
def tracking(request, tmp_path, monkeypatch) -> str:
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}" if request.param == "sqlite" else (tmp_path / "mlruns").as_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.create_experiment("repro-test", artifact_location=(tmp_path / "artifacts").as_uri())
    mlflow.set_experiment("repro-test")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "repro-test")
    yield uri
    while mlflow.active_run() is not None:
        mlflow.end_run()


@pytest.fixture
def project(example, keys, monkeypatch) -> Path:
    monkeypatch.chdir(example)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return example


def _artifact(client: MlflowClient, run_id: str, path: str, dest: Path) -> bytes:
    return Path(client.download_artifacts(run_id, path, str(dest))).read_bytes()


def test_a_run_and_its_replay_land_in_mlflow(tracking, project, tmp_path):
    run = repro.run(["python", "train.py"], seed=11, manifest="run.json")
    mlflow_run = repro_mlflow.log_run("run.json")
    client = MlflowClient()
    data = client.get_run(mlflow_run).data
    assert data.tags["repro.run_id"] == run.run_id
    assert data.tags["repro.signer"] == run.manifest.signatures[0]["keyid"]
    assert data.params["repro.seed"] == "11"
    assert _artifact(client, mlflow_run, "repro/run.json", tmp_path / "a") == (project / "run.json").read_bytes()
    names = {a.path for a in client.list_artifacts(mlflow_run, "repro")}
    assert {"repro/run.json", "repro/run.stdout.log", "repro/run.stderr.log"} <= names

    result = repro.replay("run.json")
    repro_mlflow.log_run("run.json", replay=result, run_id=mlflow_run)
    data = client.get_run(mlflow_run).data
    assert data.tags["repro.verdict"] == "REPRODUCED"
    report = json.loads(_artifact(client, mlflow_run, "repro/replay/report.json", tmp_path / "b"))
    assert report["reproduced"] is True and report["run_id"] == run.run_id
    replayed = {a.path for a in client.list_artifacts(mlflow_run, "repro/replay")}
    assert f"repro/replay/{result.replay_manifest.name}" in replayed


def test_the_active_mlflow_run_is_used(tracking, project):
    repro.run(["python", "train.py"], seed=2, manifest="run.json")
    with mlflow.start_run() as active:
        assert repro_mlflow.log_run("run.json") == active.info.run_id
    assert MlflowClient().get_run(active.info.run_id).data.tags["repro.run_id"]


def test_repro_run_mlflow_flag_logs_the_manifest(tracking, project):
    result = repro_cli("run", "--mlflow", "--seed", "5", "--manifest", "cli.json", "--", sys.executable, "train.py",
                       cwd=project)
    assert result.returncode == 0, result.stderr
    assert "logged to MLflow run" in result.stderr
    manifest = repro.load(project / "cli.json")
    runs = MlflowClient().search_runs([mlflow.get_experiment_by_name("repro-test").experiment_id],
                                      filter_string=f"tags.`repro.run_id` = '{manifest.predicate['run_id']}'")
    assert len(runs) == 1 and runs[0].data.params["repro.seed"] == "5"


def test_repro_replay_mlflow_flag_tags_the_verdict(tracking, project):
    assert repro_cli("run", "--manifest", "run.json", "--", sys.executable, "train.py", cwd=project).returncode == 0
    result = repro_cli("replay", "--mlflow", "run.json", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    run_id = repro.load(project / "run.json").predicate["run_id"]
    runs = MlflowClient().search_runs([mlflow.get_experiment_by_name("repro-test").experiment_id],
                                      filter_string=f"tags.`repro.run_id` = '{run_id}'")
    assert [r.data.tags["repro.verdict"] for r in runs] == ["REPRODUCED"]


def test_without_mlflow_installed_the_error_is_one_line(project, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)
    with pytest.raises(repro.UsageError, match=r"pip install 'repro\[mlflow\]'"):
        repro_mlflow.log_run("nothing.json")


def test_mlflow_true_in_repro_yaml_logs_every_run(tracking, project):
    with open(project / "repro.yaml", "a") as f:
        f.write("mlflow: true\n")
    result = repro_cli("run", "--manifest", "cfg.json", "--", sys.executable, "train.py", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "logged to MLflow run" in result.stderr
