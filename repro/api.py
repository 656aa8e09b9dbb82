"""The Python API: `repro.run`, `repro.replay`, `repro.verify`, `repro.load`.

The CLI and a Python user share these entry points, so a notebook or a test suite gets the same
checks, the same errors (the classes of `repro.errors`) and the same verdicts as the command line.
Results are frozen dataclasses. Messages a run or a replay prints for a person go to the logger
`repro` (at INFO), never to stdout: a library does not write into its caller's output.

Heavy modules (numpy, jsonschema, docker, cryptography) are imported inside the functions, so
`import repro` stays cheap.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence, Union

if TYPE_CHECKING:
    from repro.compare import Verdict
    from repro.evidence.manifest import Manifest
    from repro.replay.result import Change, ReplayReport

PathLike = Union[str, "os.PathLike[str]"]
Say = Callable[[str], None]

logger = logging.getLogger("repro")


def _log(message: str) -> None:
    logger.info(message)


def _path(value: PathLike | None) -> Path | None:
    return None if value is None else Path(value)


def _paths(values: Sequence[PathLike] | PathLike | None) -> tuple[Path, ...]:
    if values is None:
        return ()
    if isinstance(values, (str, os.PathLike)):
        return (Path(values),)
    return tuple(Path(v) for v in values)


def _strings(values: Sequence[PathLike] | PathLike | None) -> tuple[str, ...]:
    return tuple(str(v) for v in _paths(values))


@dataclass(frozen=True)
class RunResult:
    """What `repro.run` sealed: the manifest (already written), where, and the command's exit code."""

    manifest: Manifest
    manifest_path: Path
    exit_code: int
    warnings: tuple[str, ...]

    @property
    def run_id(self) -> str:
        return self.manifest.predicate["run_id"]

    @property
    def signed(self) -> bool:
        return bool(self.manifest.signatures)

    @property
    def ok(self) -> bool:
        """The command succeeded (exit 0); the manifest is written either way."""
        return self.exit_code == 0


def run(
    command: Sequence[str],
    *,
    seed: int | None = None,
    threads: int | None = None,
    inputs: Sequence[PathLike] | PathLike | None = None,
    outputs: Sequence[PathLike] | PathLike | None = None,
    manifest: PathLike | None = None,
    sign: bool = True,
    key: PathLike | None = None,
    digest: str | None = None,
    observe: bool | None = None,
    image: str | None = None,
    network: str | None = None,
    gpus: str | None = None,
    cwd: PathLike | None = None,
    say: Say | None = None,
) -> RunResult:
    """Run `command` as `repro run` does and return what was sealed.

    `command` is an argv list, never a shell string: `["python", "train.py"]`. Relative paths
    (inputs, outputs, the manifest) are taken from `cwd` (default: the current directory), and
    the project root is found from there as the CLI finds it. A failing command still yields a
    manifest: check `result.exit_code`."""
    from repro import config
    from repro.errors import UsageError
    from repro.evidence import signing
    from repro.run import execute_run, make_runner

    if isinstance(command, (str, bytes)):
        raise UsageError("command must be a list of arguments, e.g. ['python', 'train.py'], not a string")
    spec = config.build_run_spec(
        tuple(str(a) for a in command), cwd=_path(cwd), seed=seed, threads=threads, inputs=_strings(inputs),
        outputs=_strings(outputs), manifest=_path(manifest), sign=sign, key=_path(key), digest=digest,
        observe=observe, quiet=True, image=image, network=network, gpus=gpus,
    )
    outcome = execute_run(spec, make_runner(spec), say=say or _log,
                          load_key=lambda: signing.load_private_key(spec.key_path))
    return RunResult(outcome.manifest, outcome.manifest_path, outcome.result.exit_code, tuple(outcome.warnings))


@dataclass(frozen=True)
class ReplayResult:
    """The verdict of a replay. `reproduced` is what CI gates on; `explain()` is the text report a
    person reads (the failure message of a test)."""

    report: ReplayReport

    @property
    def reproduced(self) -> bool:
        return self.report.reproduced

    @property
    def outputs(self) -> tuple[Verdict, ...]:
        """One verdict per compared output: path, status, rule, detail, errors."""
        return tuple(self.report.verdicts)

    @property
    def drift(self) -> tuple[Change, ...]:
        """What differs between the recorded run's environment and the replay's."""
        return tuple(self.report.drift)

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(self.report.warnings)

    @property
    def replay_manifest(self) -> Path | None:
        return Path(self.report.replay_manifest) if self.report.replay_manifest else None

    def explain(self) -> str:
        from repro.report.formats import get_format

        return get_format("text").render(self.report)

    def to_json(self) -> dict:
        """The replay report as `repro replay --json` writes it."""
        import json

        from repro.report.formats import get_format

        return json.loads(get_format("json").render(self.report))

    def __bool__(self) -> bool:
        return self.reproduced

    def __repr__(self) -> str:
        counts: dict[str, int] = {}
        for verdict in self.report.verdicts:
            counts[verdict.status] = counts.get(verdict.status, 0) + 1
        return f"ReplayResult(reproduced={self.reproduced}, outputs={counts})"


def replay(
    manifest: PathLike,
    *,
    rules: PathLike | None = None,
    pubkeys: Sequence[PathLike] | PathLike | None = None,
    checkout: bool = False,
    root: PathLike | None = None,
    sign: bool = True,
    key: PathLike | None = None,
    output_manifest: PathLike | None = None,
    keep_workspace: bool = False,
    unsafe_allow_untrusted: bool = False,
    say: Say | None = None,
) -> ReplayResult:
    """Replay a recorded run as `repro replay` does.

    A replay that runs and differs returns a result with `reproduced` false; a replay that cannot
    be trusted or run raises (`repro.IntegrityError` for a bad signature or changed inputs,
    `repro.UsageError` for bad options), as the CLI exits 3 or 2."""
    from repro.evidence import signing
    from repro.replay.orchestrate import ReplayOptions
    from repro.replay.orchestrate import replay as do_replay

    key_path = _path(key)
    opts = ReplayOptions(
        manifest_path=Path(manifest), pubkeys=_paths(pubkeys), allow_untrusted=unsafe_allow_untrusted,
        root=_path(root), rules_path=_path(rules), checkout=checkout, keep_workspace=keep_workspace,
        output_manifest=_path(output_manifest), sign=sign, key_path=key_path,
    )
    report = do_replay(opts, say=say or _log, load_key=lambda: signing.load_private_key(key_path))
    return ReplayResult(report)


@dataclass(frozen=True)
class Verification:
    """A manifest that passed `repro.verify`: strict JSON, schema, signature and (unless
    `check_files=False`) every recorded file on disk."""

    manifest: Manifest
    keyid: str | None
    files_checked: int


def verify(
    path: PathLike,
    *,
    pubkeys: Sequence[PathLike] | PathLike | None = None,
    check_files: bool = True,
    root: PathLike | None = None,
) -> Verification:
    """Verify a manifest; raise `repro.IntegrityError` (or `repro.InvalidManifestError`) when it fails."""
    from repro.evidence.verify import verify as do_verify

    result = do_verify(Path(path), _paths(pubkeys), check_files=check_files, root=_path(root))
    return Verification(result.manifest, result.keyid, result.files_checked)


def load(path: PathLike) -> Manifest:
    """Read a manifest strictly (schema checked, signature not): for reading, not for trusting."""
    from repro.evidence.manifest import Manifest

    return Manifest.load(Path(path))
