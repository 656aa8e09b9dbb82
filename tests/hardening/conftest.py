"""One signed run of the example, shared by the hardening tests that only read its manifest."""

from __future__ import annotations

import pytest

from tests.hardening.cases import SignedRun, signed_example


@pytest.fixture(scope="session")
def signed(tmp_path_factory) -> SignedRun:
    """The example run once under `repro run`, signed with a fresh key. Read-only for tests:
    a test that changes files copies the manifest elsewhere first."""
    return signed_example(tmp_path_factory.mktemp("signed"))


@pytest.fixture(scope="session")
def docker_image() -> str:
    """The local test image from tests/docker/provision.sh (REPRO_TEST_IMAGE, else its .env).
    Only requested by tests marked `docker`, which the root conftest gates on an engine."""
    import os

    from tests.conftest import REPO

    image = os.environ.get("REPRO_TEST_IMAGE")
    env_file = REPO / "tests" / "docker" / ".env"
    if not image and env_file.is_file():
        for line in env_file.read_text().splitlines():
            key, _, value = line.partition("=")
            if key == "REPRO_TEST_IMAGE":
                image = value.strip()
    if not image:
        reason = "REPRO_TEST_IMAGE is not set: run tests/docker/provision.sh"
        if os.environ.get("REPRO_REQUIRE_DOCKER") == "1":
            pytest.fail(f"REPRO_REQUIRE_DOCKER=1 but {reason}")
        pytest.skip(reason)
    return image
