"""repro.yaml plus command-line flags -> one typed RunSpec.

The project root is the nearest directory holding `repro.yaml`, else the git top level, else the
working directory. Every path in the manifest is relative to it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from repro.errors import UsageError

if TYPE_CHECKING:
    from repro.sandbox import Sandbox

CONFIG_NAME = "repro.yaml"
MAX_CONFIG_BYTES = 1024 * 1024


def find_project_root(start: Path) -> Path:
    start = start.resolve()
    for d in (start, *start.parents):
        if (d / CONFIG_NAME).is_file():
            return d
    from repro.capture.code import git_toplevel

    top = git_toplevel(start)
    return top.resolve() if top else start


def load_config(root: Path) -> dict[str, Any]:
    """Parse and validate `repro.yaml`; an absent file is an empty config. Parsing is strict and
    bounded (repro.yamlio): a broken or hostile file is one line and exit 2, never a hang."""
    path = root / CONFIG_NAME
    if not os.path.lexists(path):
        return {}
    from repro import yamlio

    raw = yamlio.read_regular(path, limit=MAX_CONFIG_BYTES, what=CONFIG_NAME, error=UsageError)
    data = yamlio.loads(raw, what=CONFIG_NAME)
    if data is None:
        return {}
    _validate_once(root, raw, data)
    return data


def _validate_once(root: Path, raw: bytes, data: Any) -> None:
    """Schema-check repro.yaml, remembering the digest of the last file that passed: importing
    jsonschema costs a quarter of a second, paid again only when the file or the schema changes."""
    import hashlib

    from repro.evidence import validation
    from repro.evidence.jsonio import write_atomic

    key = hashlib.sha256(raw + b"\0" + json.dumps(validation.load("config.schema.json")).encode()).hexdigest()
    marker = root / ".repro" / "cache" / "config-valid"
    try:
        if marker.read_text() == key:
            return
    except OSError:
        pass
    validation.validate(data, "config.schema.json", what=CONFIG_NAME, error=UsageError)
    try:
        write_atomic(marker, key.encode())
    except OSError:
        pass


@dataclass(frozen=True)
class RunSpec:
    root: Path
    cwd: Path
    argv: tuple[str, ...]
    seed: int
    seed_source: str  # "given" | "drawn"
    threads: int | None
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    manifest_path: Path
    run_id: str
    algorithm: str
    sign: bool
    key_path: Path | None
    ignore: tuple[str, ...] = ()
    observe: bool = True
    quiet: bool = False
    image: str | None = None
    dockerfile: str | None = None
    build_context: str | None = None
    network: str | None = None
    gpus: str | None = None
    store: dict = field(default_factory=dict)
    mlflow: bool = False
    state: tuple[str, ...] = ()
    """State files: read, then rewritten by the command (a resumed checkpoint), recorded before
    the run as inputs kept in the store and after it as outputs (docs/replay.md)."""
    sandbox: Sandbox | None = None
    """bwrap around the command (repro.sandbox); None runs it unconfined."""
    input_root: Path | None = None
    """Where the declared inputs are read and fingerprinted when that is not `root`: a sandboxed
    replay binds them into its workspace from the project instead of copying them."""


def new_run_id() -> str:
    import secrets
    import time

    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)


def build_run_spec(
    argv: tuple[str, ...],
    *,
    cwd: Path | None = None,
    seed: int | None = None,
    threads: int | None = None,
    inputs: tuple[str, ...] = (),
    outputs: tuple[str, ...] = (),
    state: tuple[str, ...] = (),
    manifest: Path | None = None,
    sign: bool = True,
    key: Path | None = None,
    digest: str | None = None,
    observe: bool | None = None,
    quiet: bool = False,
    image: str | None = None,
    dockerfile: str | None = None,
    build_context: str | None = None,
    network: str | None = None,
    gpus: str | None = None,
    mlflow: bool | None = None,
) -> RunSpec:
    """Flags win over repro.yaml; repeatable flags replace, not extend, the config list."""
    from repro.capture.seeds import MAX_SEED, draw_seed
    from repro.data.digest import ALGORITHMS, DEFAULT_ALGORITHM

    if not argv:
        raise UsageError("no command given: use `repro run [OPTIONS] -- CMD...`")
    cwd = (cwd or Path.cwd()).resolve()
    root = find_project_root(cwd)
    cfg = load_config(root)
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise UsageError(f"--seed must be between 0 and {MAX_SEED}")
    if threads is not None and threads < 1:
        raise UsageError("--threads must be at least 1")
    algorithm = digest or cfg.get("digest") or DEFAULT_ALGORITHM
    if algorithm not in ALGORITHMS:
        raise UsageError(f"unknown digest algorithm {algorithm!r} (choose from {', '.join(ALGORITHMS)})")
    if image and dockerfile:
        raise UsageError("--image and --dockerfile exclude each other")
    run_id = new_run_id()
    manifest_path = (cwd / manifest) if manifest else root / ".repro" / "runs" / run_id / "manifest.json"
    key_path = key or (Path(os.environ["REPRO_SIGNING_KEY"]) if os.environ.get("REPRO_SIGNING_KEY") else None)
    gpus_value = gpus if gpus is not None else cfg.get("gpus")
    return RunSpec(
        root=root,
        cwd=cwd,
        argv=tuple(argv),
        seed=seed if seed is not None else draw_seed(),
        seed_source="given" if seed is not None else "drawn",
        threads=threads if threads is not None else cfg.get("threads"),
        inputs=tuple(inputs) or tuple(cfg.get("inputs", ())),
        outputs=tuple(outputs) or tuple(cfg.get("outputs", ())),
        state=tuple(state) or tuple(cfg.get("state", ())),
        manifest_path=manifest_path.resolve(),
        run_id=run_id,
        algorithm=algorithm,
        sign=sign,
        key_path=key_path,
        ignore=tuple(cfg.get("ignore", ())),
        observe=observe if observe is not None else cfg.get("observe", True),
        quiet=quiet,
        image=image or (None if dockerfile else cfg.get("image")),
        dockerfile=dockerfile or (None if image else cfg.get("dockerfile")),
        build_context=build_context or cfg.get("build_context"),
        network=network or cfg.get("network"),
        gpus=str(gpus_value) if gpus_value is not None else None,
        store=dict(cfg.get("store", {})),
        mlflow=mlflow if mlflow is not None else bool(cfg.get("mlflow", False)),
    )
