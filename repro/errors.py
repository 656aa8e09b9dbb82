"""One error root: every failure a user can cause carries a message written for them and an
exit code that names the outcome. The CLI catches `ReproError` once, prints one line, exits."""

from __future__ import annotations

OK = 0
NOT_REPRODUCED = 1
INVALID = 2
INTEGRITY = 3
INTERNAL = 70  # a bug in repro, never an outcome of the user's run


class ReproError(Exception):
    """Base of every error repro reports to a user."""

    exit_code: int = INVALID

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class UsageError(ReproError):
    """Bad flags, bad config, missing files the user named: exit 2."""

    exit_code = INVALID


class InvalidManifestError(ReproError):
    """A manifest that cannot be parsed or does not match the schema: exit 2."""

    exit_code = INVALID


class IntegrityError(ReproError):
    """A signature that fails, an untrusted key, a recorded file that changed: exit 3."""

    exit_code = INTEGRITY


class UnsafePathError(IntegrityError):
    """A path read from a manifest or config that would leave its root."""


class SigningKeyError(ReproError):
    """Missing or unusable signing key: exit 2."""

    exit_code = INVALID


class RunnerError(ReproError):
    """The runner could not start the command (missing image, engine unreachable): exit 2."""

    exit_code = INVALID
