"""A real bundle made once per module by the real CLI, and a way to write altered copies of it."""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from repro.bundle.index import INDEX, Index
from repro.evidence import signing
from tests.conftest import repro_cli
from tests.examples import make_example


@dataclass(frozen=True)
class Packed:
    bundle: Path
    env: dict  # XDG_CONFIG_HOME holding the trusted key pair
    key: Path
    project: Path
    manifest: Path


def record_and_pack(base: Path, *extra: str, project: Path | None = None, run_args: tuple[str, ...] = ()) -> Packed:
    xdg = base / "xdg"
    env = {"XDG_CONFIG_HOME": str(xdg)}
    assert repro_cli("keygen", env=env).returncode == 0
    project = project or make_example(base / "logreg")
    manifest = project / "run.json"
    run = repro_cli("run", "--manifest", str(manifest), *run_args, "--", "python", "train.py", cwd=project, env=env)
    assert run.returncode == 0, run.stderr
    bundle = base / "run.repro.tar"
    packed = repro_cli("pack", str(manifest), "-o", str(bundle), *extra, cwd=project, env=env)
    assert packed.returncode == 0, packed.stderr
    return Packed(bundle, env, xdg / "repro" / signing.PRIVATE_KEY_NAME, project, manifest)


@pytest.fixture(scope="module")
def packed(tmp_path_factory) -> Packed:
    return record_and_pack(tmp_path_factory.mktemp("packed"))


def read_members(bundle: Path) -> list[tuple[tarfile.TarInfo, bytes | None]]:
    out = []
    with tarfile.open(bundle) as tf:
        for m in tf.getmembers():
            f = tf.extractfile(m) if m.isreg() else None
            out.append((m, f.read() if f else None))
    return out


def write_members(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tf:
        for info, data in members:
            if data is not None:
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
            else:
                tf.addfile(info)
    return path


def resign_index(members: list, key) -> list:
    """The same members with the index re-signed by `key` (and its member list left as it was)."""
    out = []
    for info, data in members:
        if info.name == INDEX:
            index = Index.from_bytes(data)
            data = Index(index.run_id, index.manifest_digest, index.contents, index.members).signed_with(key).to_bytes()
        out.append((info, data))
    return out


def regular(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def special(name: str, kind: bytes, linkname: str = "") -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info, None
