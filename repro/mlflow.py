"""Attach repro's evidence to an MLflow run: the manifest, its side files and replay verdicts.

Teams already look for a model's history in their tracker, so the signed manifest belongs there
as an artifact, with tags to search by (`repro.run_id`, `repro.signer`, `repro.verdict`) and the
seed and output digests as params. MLflow is optional (`pip install 'repro[mlflow]'`) and
imported only here, when asked for.

The active MLflow run is used when there is one (a training script that already calls
`mlflow.start_run()`); otherwise a new run is started and ended. Nothing is logged that the
manifest does not hold, so masked secrets stay masked.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Union

from repro.errors import UsageError

if TYPE_CHECKING:
    from repro.api import ReplayResult

PathLike = Union[str, "os.PathLike[str]"]
ARTIFACT_DIR = "repro"
MAX_PARAM = 500  # MLflow's limit on a param value is larger; digests and seeds are far shorter


def _mlflow() -> Any:
    try:
        import mlflow
    except ImportError:
        raise UsageError("MLflow is not installed: pip install 'repro[mlflow]'") from None
    return mlflow


def _digest_text(digest: Any) -> str:
    if isinstance(digest, dict) and digest:
        name, value = next(iter(sorted(digest.items())))
        return f"{name}:{value}"[:MAX_PARAM]
    return ""


def _sidecars(manifest_path: Path, predicate: dict) -> Iterator[Path]:
    """The side files a manifest vouches for (logs, saved diff), where they exist beside it."""
    from repro.evidence.manifest import recorded_sidecars

    for name in recorded_sidecars({"predicate": predicate}):
        path = manifest_path.parent / name
        if path.is_file():
            yield path


def _params(predicate: dict) -> dict[str, str]:
    params = {"repro.seed": str(predicate.get("seeds", {}).get("seed", ""))}
    for entry in predicate.get("outputs", [])[:100]:
        params[f"repro.output.{entry.get('path', '')}"[:250]] = _digest_text(entry.get("digest"))
    return {k: v for k, v in params.items() if v}


def _signer(manifest: Any) -> str:
    return manifest.signatures[0].get("keyid", "") if manifest.signatures else "unsigned"


def log_run(
    manifest: PathLike,
    *,
    replay: ReplayResult | None = None,
    replay_report: PathLike | None = None,
    attestation: PathLike | None = None,
    run_id: str | None = None,
    experiment: str | None = None,
    tracking_uri: str | None = None,
) -> str:
    """Log a manifest (and optionally a replay's verdict) to MLflow; return the MLflow run id.

    `run_id` names an existing MLflow run to add to; `experiment` the experiment of a new run.
    `replay` is a `repro.replay(...)` result; `replay_report` a `repro replay --json` file and
    `attestation` a signed verdict file, both logged as artifacts when given."""
    from repro.api import load

    mlflow = _mlflow()
    manifest_path = Path(manifest)
    m = load(manifest_path)
    pred = m.predicate
    if tracking_uri:
        mlflow.set_tracking_uri(tracking_uri)
    if experiment and run_id is None and mlflow.active_run() is None:
        mlflow.set_experiment(experiment)
    active = mlflow.active_run()
    started = False
    if run_id is not None:
        ctx = mlflow.start_run(run_id=run_id)
        started = True
    elif active is None:
        ctx = mlflow.start_run(run_name=f"repro {pred['run_id']}")
        started = True
    else:
        ctx = None
    try:
        run = ctx if ctx is not None else active
        mlflow.log_artifact(str(manifest_path), artifact_path=ARTIFACT_DIR)
        for path in _sidecars(manifest_path, pred):
            mlflow.log_artifact(str(path), artifact_path=ARTIFACT_DIR)
        tags = {"repro.run_id": pred["run_id"], "repro.signer": _signer(m)}
        if replay is not None:
            tags["repro.verdict"] = "REPRODUCED" if replay.reproduced else "NOT REPRODUCED"
            replay_path = replay.replay_manifest
            if replay_path is not None and replay_path.is_file():
                mlflow.log_artifact(str(replay_path), artifact_path=f"{ARTIFACT_DIR}/replay")
                beside = replay_path.with_name(replay_path.name.removesuffix(".json") + ".intoto.jsonl")
                if attestation is None and beside.is_file():
                    attestation = beside
            mlflow.log_dict(replay.to_json(), f"{ARTIFACT_DIR}/replay/report.json")
        for extra in (replay_report, attestation):
            if extra is not None:
                if not Path(extra).is_file():
                    raise UsageError(f"{extra}: no such file to log to MLflow")
                mlflow.log_artifact(str(extra), artifact_path=f"{ARTIFACT_DIR}/replay")
        mlflow.set_tags(tags)
        mlflow.log_params(_params(pred))
        return run.info.run_id
    finally:
        if started:
            mlflow.end_run()
