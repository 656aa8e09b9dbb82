"""The pytest plugin: a `repro_replay` fixture and `pytest --repro-replay MANIFEST...`.

Registered through the `pytest11` entry point, so it loads in every pytest session of an
environment where repro is installed: it must cost nothing unless used. It only imports
`repro.api` (cheap) at load time and adds options; replays happen in the tests that ask for them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from repro.api import ReplayResult, replay
from repro.errors import ReproError


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("repro", "replay repro manifests as tests")
    group.addoption("--repro-replay", action="append", default=[], metavar="MANIFEST",
                    help="Replay this manifest as a test item (repeatable; shell globs expand as usual).")
    group.addoption("--repro-rules", default=None, metavar="PATH",
                    help="Tolerance rules for the replays (default: `verify:` in repro.yaml).")
    group.addoption("--repro-pubkey", action="append", default=[], metavar="PATH",
                    help="Trusted public key for the replays (repeatable; default: your own).")


def _options(config: pytest.Config) -> dict:
    return {"rules": config.getoption("repro_rules"), "pubkeys": config.getoption("repro_pubkey") or None}


@pytest.fixture
def repro_replay(request: pytest.FixtureRequest) -> Callable[..., ReplayResult]:
    """Replay a manifest from a test: `repro_replay("run.json", rules="verify.yaml")`.

    Keyword arguments are those of `repro.replay`; `--repro-rules` and `--repro-pubkey` given on
    the command line are the defaults."""
    defaults = _options(request.config)

    def do(manifest: str | Path, **kwargs) -> ReplayResult:
        merged = {k: v for k, v in defaults.items() if v is not None}
        merged.update(kwargs)
        return replay(manifest, **merged)

    return do


class ReplayFailed(Exception):
    """A manifest that did not reproduce; its message is the replay's text report."""


class ManifestItem(pytest.Item):
    """One `--repro-replay` manifest as a test: passes when the replay reproduces."""

    def __init__(self, *, manifest: Path, **kwargs) -> None:
        super().__init__(**kwargs)
        self.manifest = manifest

    def runtest(self) -> None:
        try:
            result = replay(self.manifest, **{k: v for k, v in _options(self.config).items() if v is not None})
        except ReproError as e:
            raise ReplayFailed(f"replay refused (exit {e.exit_code}): {e.message}") from None
        if not result.reproduced:
            raise ReplayFailed(result.explain())

    def repr_failure(self, excinfo, style=None):  # noqa: ANN001 - pytest's signature
        if isinstance(excinfo.value, ReplayFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.manifest, None, f"repro replay {self.manifest}"


class ManifestCollector(pytest.Collector):
    def __init__(self, *, manifests: list[Path], **kwargs) -> None:
        super().__init__(**kwargs)
        self.manifests = manifests

    def collect(self):
        for manifest in self.manifests:
            yield ManifestItem.from_parent(self, name=str(manifest), manifest=manifest)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    paths = [Path(p) for p in config.getoption("repro_replay")]
    if not paths:
        return
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise pytest.UsageError(f"--repro-replay: no such manifest: {', '.join(missing)}")
    collector = ManifestCollector.from_parent(session, name="repro-replay", manifests=paths)
    items.extend(collector.collect())
