"""repro: fingerprint a training run into a signed manifest, and replay it to prove it reproduces.

    import repro
    run = repro.run(["python", "train.py"], seed=7, outputs=["out/"], manifest="run.json")
    result = repro.replay("run.json")
    assert result.reproduced, result.explain()

See docs/api.md. Importing repro is cheap: numpy, jsonschema, docker and cryptography are loaded
only by the calls that need them.
"""

__version__ = "0.1.0"

import sys
import types

from repro.api import ReplayResult, RunResult, Verification, load, replay, run, verify
from repro.errors import (
    IntegrityError,
    InvalidManifestError,
    ReproError,
    RunnerError,
    SigningKeyError,
    UnsafePathError,
    UsageError,
    WriteError,
)

__all__ = [
    "__version__",
    "run",
    "replay",
    "verify",
    "load",
    "RunResult",
    "ReplayResult",
    "Verification",
    "ReproError",
    "UsageError",
    "InvalidManifestError",
    "IntegrityError",
    "UnsafePathError",
    "WriteError",
    "SigningKeyError",
    "RunnerError",
]


class _Package(types.ModuleType):
    """`repro.run` and `repro.replay` are the API's functions and also the names of the modules
    that implement them (`repro/run.py`, `repro/replay/`). Importing a submodule binds it as an
    attribute of its package, which would replace the function the first time the CLI or a test
    imports `repro.run`. The package keeps its functions; the modules stay importable by name
    (`from repro.replay.drift import ...`, `sys.modules["repro.run"]`)."""

    def __setattr__(self, name: str, value: object) -> None:
        if name in _SHADOWED and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


_SHADOWED = frozenset({"run", "replay"})
sys.modules[__name__].__class__ = _Package
