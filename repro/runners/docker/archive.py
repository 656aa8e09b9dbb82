"""Move an image in and out of the engine as a file: `docker save` of the image ID, `docker load`.

Saving by ID (never by a name) exports exactly the content the manifest pinned; loading checks
that the engine now holds an image with that very ID, so a bundle cannot bring in another one.
Both directions stream: the engine's export is written chunk by chunk, the load reads the file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import BinaryIO, Callable

from repro.errors import IntegrityError, RunnerError
from repro.runners.docker.engine import engine_errors, lookup, one_line

CHUNK = 1 << 20
LOADED_ID = re.compile(r"Loaded image ID: (sha256:[0-9a-f]{64})")


def _client():
    try:
        import docker
    except ImportError as e:
        raise RunnerError("saving or loading an image needs the Docker SDK for Python (pip install docker)") from e
    with engine_errors("cannot reach the Docker engine (is it running? DOCKER_HOST selects another)"):
        client = docker.from_env()
        client.api.version()
    return client


def save_image(image_id: str, out: BinaryIO, *, on_chunk: Callable[[bytes], None] | None = None) -> int:
    """Write the engine's export of `image_id` to `out`; returns the number of bytes written."""
    client = _client()
    try:
        if lookup(lambda: client.api.inspect_image(image_id), f"cannot inspect image {image_id}") is None:
            raise RunnerError(f"image {image_id} is not on this engine: pack where the run was recorded, "
                              "or pass --no-image")
        written = 0
        with engine_errors(f"cannot save image {image_id}"):
            for chunk in client.api.get_image(image_id, chunk_size=CHUNK):
                out.write(chunk)
                written += len(chunk)
                if on_chunk is not None:
                    on_chunk(chunk)
        return written
    finally:
        client.close()


def load_image(archive: Path, expected_id: str) -> str:
    """`docker load` the export at `archive` and check that the engine now has `expected_id`."""
    client = _client()
    try:
        loaded: list[str] = []
        with engine_errors(f"cannot load image from {archive.name}"), open(archive, "rb") as f:
            for event in client.api.load_image(f):
                if isinstance(event, dict) and event.get("error"):
                    raise RunnerError(f"cannot load image from {archive.name}: {one_line(event['error'])}")
                text = event.get("stream", "") if isinstance(event, dict) else ""
                loaded += LOADED_ID.findall(text)
        if loaded and expected_id not in loaded:
            raise IntegrityError(f"the bundle's image is {loaded[0]}, not the pinned {expected_id}")
        attrs = lookup(lambda: client.api.inspect_image(expected_id), f"cannot inspect image {expected_id}")
        if attrs is None or attrs.get("Id") != expected_id:
            raise IntegrityError(f"the loaded image is not the pinned one: the engine has no image {expected_id}")
        return attrs["Id"]
    finally:
        client.close()


def image_present(image_id: str) -> bool:
    client = _client()
    try:
        return lookup(lambda: client.api.inspect_image(image_id), f"cannot inspect image {image_id}") is not None
    finally:
        client.close()
