"""The air-gapped audit end to end, with the real engine: a run recorded in an image pulled by
digest from a registry, packed, and replayed from the bundle alone after the image, the registry
and the original project are gone.

The registry here is the test's own (the Debian `docker-registry` that tests/docker/provision.sh
installs), started on a free port and stopped before the replay, so the shared one the other
Docker tests use stays up. The image is a throwaway child of the shared test image, so removing it
from the engine touches nothing else.
"""

from __future__ import annotations

import io
import json
import secrets
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from repro.evidence.manifest import Manifest
from tests.bundle.conftest import record_and_pack
from tests.e2e.test_docker_cli import engine, images  # noqa: F401  (fixtures)
from tests.conftest import repro_cli
from tests.examples import make_example

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def registry(tmp_path):
    """A registry of this test alone on 127.0.0.1 (which the engine treats as insecure, so no TLS)."""
    if shutil.which("docker-registry") is None:
        pytest.fail("docker-registry is missing: tests/docker/provision.sh installs it")
    port = _free_port()
    config = tmp_path / "registry.yml"
    config.write_text(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {tmp_path / 'registry'}\n"
                      f"http:\n  addr: 127.0.0.1:{port}\n")
    proc = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("the test's docker-registry did not start")
            time.sleep(0.2)
    yield f"127.0.0.1:{port}", proc
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)


def test_a_bundle_replays_with_the_image_registry_and_project_gone(tmp_path, engine, images, registry):  # noqa: F811
    import docker.errors

    address, registry_proc = registry
    repo = f"{address}/repro-test/bundle"
    tag = "audit-" + secrets.token_hex(4)
    dockerfile = f"FROM {images['REPRO_TEST_IMAGE']}\nLABEL repro.test={tag}\n".encode()
    built, _ = engine.images.build(fileobj=io.BytesIO(dockerfile), rm=True)
    built.tag(repo, tag)
    for event in engine.api.push(repo, tag=tag, stream=True, decode=True):
        assert "error" not in event, event
    ref = next(d for d in engine.images.get(built.id).attrs["RepoDigests"] if d.startswith(repo + "@"))
    engine.images.remove(built.id, force=True)  # so the run pulls it by digest from the registry
    try:
        project = make_example(tmp_path / "logreg")
        packed = record_and_pack(tmp_path, project=project, run_args=("--image", ref))
        runner = Manifest.load(packed.manifest).predicate["runner"]
        assert runner["image"]["id"] == built.id and runner["image"]["pinned"] == ref

        registry_proc.kill()
        registry_proc.wait(10)
        engine.images.remove(built.id, force=True)
        with pytest.raises(docker.errors.ImageNotFound):
            engine.images.get(built.id)
        shutil.rmtree(packed.project)

        replayed = repro_cli("replay", str(packed.bundle), "--json", str(tmp_path / "report.json"),
                             cwd=tmp_path, env=packed.env)
        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
        assert "REPRODUCED" in replayed.stdout
        assert engine.images.get(built.id).id == built.id  # loaded from the bundle, not pulled
        report = json.loads((tmp_path / "report.json").read_text())
        assert {v["status"] for v in report["verdicts"]} == {"identical"}
        assert not Path(packed.project).exists()
    finally:
        try:
            engine.images.remove(built.id, force=True)
        except docker.errors.ImageNotFound:
            pass
