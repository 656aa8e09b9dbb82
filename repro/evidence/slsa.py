"""`repro export --format slsa`: the run as SLSA Provenance v1, signed in a DSSE envelope.

Policy engines that key on `https://slsa.dev/provenance/v1` read repro's run there: what was
asked (`externalParameters`), what repro set (`internalParameters`), what it ran on
(`resolvedDependencies`: the commit, the saved diff, the inputs, the pinned image, the Python
distributions) and what it left besides the outputs (`byproducts`: logs, OS package list).
Every digest here is sha256 (the commit is `gitCommit`): files recorded with the run's faster
digest are read again, and must still match what the run recorded.
"""

from __future__ import annotations

import re
from pathlib import Path

from repro import __version__
from repro.data.digest import digest_file
from repro.errors import IntegrityError, UsageError
from repro.evidence import dsse, jsonio, signing, subjects
from repro.evidence.manifest import STATEMENT_TYPE, Manifest
from repro.evidence.verify import check_artifacts, check_sidecar

PROVENANCE_TYPE = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "urn:repro:build-type:run:v1"
"""A run wrapped by `repro run` (docs/interop.md describes its parameters)."""
BUILDER_PREFIX = "urn:repro:builder:"


def _purl_name(name: str) -> str:
    """PEP 503 normalised, as the pypi purl type asks."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _sidecar_sha256(manifest_path: Path, entry: dict) -> dict:
    path = check_sidecar(manifest_path, entry)
    return {"name": entry["path"], "digest": digest_file(path, "sha256")}


def _inputs(manifest: Manifest, root: Path) -> list[dict]:
    pred = manifest.predicate
    if not pred["inputs"]:
        return []
    check_artifacts(manifest, root, facets=("inputs",))  # what is read again is what the run read
    files = [(subjects.Named(f["path"], root / f["path"], f["size"], f.get("link"), follow=a["kind"] == "file"),
              None if pred["digest_algorithm"] != "sha256" else _Entry(f["digest"]))
             for a in pred["inputs"] for f in a.get("files", [a])]
    return [{"name": s["name"], "digest": s["digest"], "annotations": {"role": "input"}}
            for s in subjects.sha256_subjects(files, pred["digest_algorithm"])]


class _Entry:
    """The recorded digest of a file, for sha256_subjects to reuse."""

    def __init__(self, digest: dict) -> None:
        self.digest = digest


def _code(pred: dict, manifest_path: Path) -> list[dict]:
    code = pred["code"]
    if code["kind"] != "git":
        # a tree's root digest: sha256 when the run used it, else named by its own algorithm
        algorithm, value = next(iter(code["digest"].items()))
        if algorithm == "sha256":
            return [{"name": "code", "digest": {"sha256": value}, "annotations": {"role": "code tree"}}]
        return [{"name": "code", "annotations": {"role": "code tree", algorithm: value}}]
    out = []
    if code.get("commit"):
        ref = {"digest": {"gitCommit": code["commit"]}, "annotations": {"role": "code"}}
        if code.get("remote"):
            ref["uri"] = f"git+{code['remote']}@{code['commit']}"
        else:
            ref["name"] = "code"
        out.append(ref)
    if code.get("diff"):
        out.append({**_sidecar_sha256(manifest_path, code["diff"]), "annotations": {"role": "uncommitted changes"}})
    return out


def _image(runner: dict) -> list[dict]:
    if runner["name"] != "docker":
        return []
    image = runner["image"]
    pinned = image["pinned"]
    digest = pinned.rsplit("@sha256:", 1)[1] if "@sha256:" in pinned else image["id"].split(":", 1)[1]
    return [{"uri": f"oci://{pinned}", "digest": {"sha256": digest}, "annotations": {"role": "image", "id": image["id"]}}]


def _distributions(deps: dict) -> list[dict]:
    return [{"uri": f"pkg:pypi/{_purl_name(d['name'])}@{d['version']}", "annotations": {"role": "python distribution"}}
            for d in deps.get("distributions") or [] if d.get("version")]


def _require_sha256_subjects(manifest: Manifest) -> None:
    if manifest.predicate["schema_version"] < 2:
        raise UsageError("this manifest predates sha256 subjects (schema version 1): record the run again to "
                         "export SLSA provenance")


def provenance(manifest: Manifest, manifest_path: Path, root: Path) -> dict:
    """The SLSA Provenance v1 Statement for a run: its subjects are the run's sha256 subjects."""
    _require_sha256_subjects(manifest)
    pred = manifest.predicate
    cmd, seeds, runner = pred["command"], pred["seeds"], pred["runner"]
    external = {"argv": cmd["argv"], "cwd": cmd["cwd"], "seed": seeds["seed"], "threads": seeds["threads"],
                "runner": runner["name"]}
    if runner["name"] == "docker":
        external["image"] = runner["image"]["reference"] or runner["image"]["pinned"]
    internal = {"determinism_variables": dict(seeds.get("variables") or {}), "digest_algorithm": pred["digest_algorithm"],
                "repro_version": pred["repro_version"]}
    dependencies = [*_code(pred, manifest_path), *_inputs(manifest, root), *_image(runner),
                    *_distributions(pred["deps"])]
    byproducts = [{**_sidecar_sha256(manifest_path, pred["logs"][s]), "annotations": {"role": f"{s} log"}}
                  for s in ("stdout", "stderr")]
    os_packages = (pred["deps"] or {}).get("os_packages")
    if os_packages:
        byproducts.append({"name": "os packages", "digest": dict(os_packages["digest"]),
                           "annotations": {"role": "os package list", "manager": os_packages["manager"],
                                           "count": os_packages["count"]}})
    predicate = {
        "buildDefinition": {"buildType": BUILD_TYPE, "externalParameters": external, "internalParameters": internal,
                            "resolvedDependencies": dependencies},
        "runDetails": {
            "builder": {"id": f"{BUILDER_PREFIX}{runner['name']}", "version": {"repro": __version__}},
            "metadata": {"invocationId": pred["run_id"], "startedOn": _seconds(cmd["started_at"]),
                         "finishedOn": _seconds(cmd["ended_at"])},
            "byproducts": byproducts,
        },
    }
    return {"_type": STATEMENT_TYPE, "subject": [dict(s) for s in manifest.statement["subject"]],
            "predicateType": PROVENANCE_TYPE, "predicate": predicate}


def _seconds(t: str) -> str:
    """RFC 3339 with at most nanoseconds, as protobuf's Timestamp reads it."""
    if "." not in t:
        return t
    whole, frac = t[:-1].split(".", 1)
    return f"{whole}.{frac[:9]}Z"


def signed_envelope(manifest: Manifest, manifest_path: Path, root: Path, key) -> dict:
    """The provenance in a DSSE envelope signed with `key` (the run's signer, normally)."""
    _require_sha256_subjects(manifest)
    try:
        manifest.verify([key.public_key()])
    except IntegrityError as e:
        raise IntegrityError(f"{e}: SLSA provenance is signed by the key that signed the run (pass it with --key)") from e
    body = jsonio.canonical_bytes(provenance(manifest, manifest_path, root))
    return dsse.envelope(body, [signing.sign(body, key)])
