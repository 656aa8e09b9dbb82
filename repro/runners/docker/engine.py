"""Translate the Docker SDK's exceptions into one-line repro errors: nothing above this package sees a docker type."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Iterator

from repro.errors import RunnerError

if TYPE_CHECKING:
    pass




def one_line(text: object, limit: int = 300) -> str:
    """Collapse an engine message to one line a user can read."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def explain(error: BaseException) -> str:
    """The useful part of an SDK or transport exception: the engine's own explanation if any."""
    message = getattr(error, "explanation", None) or str(error) or type(error).__name__
    return one_line(message)


@contextmanager
def engine_errors(doing: str) -> Iterator[None]:
    """Translate docker.errors.* and requests exceptions raised inside the block to RunnerError."""
    import docker.errors
    import requests.exceptions

    try:
        yield
    except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
        raise RunnerError(f"{doing}: {explain(e)}") from e


def lookup(call: Callable[[], Any], doing: str) -> Any | None:
    """`call()`, or None when the engine answers 404 (no such image, network, container)."""
    import docker.errors

    try:
        with engine_errors(doing):
            return call()
    except RunnerError as e:
        if isinstance(e.__cause__, docker.errors.NotFound):
            return None
        raise
