"""The Docker runner, split by concern: engine errors, pinning and build, image facts, the container, the runner."""

from repro.runners.docker.runner import DockerRunner

__all__ = ["DockerRunner"]
