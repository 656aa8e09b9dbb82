"""One error root: every failure a user can cause carries a message written for them and an
exit code that names the outcome. The CLI catches `ReproError` once, prints one line, exits."""

from __future__ import annotations

import re

OK = 0
NOT_REPRODUCED = 1
INVALID = 2
INTEGRITY = 3
INTERNAL = 70  # a bug in repro, never an outcome of the user's run

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class ReproError(Exception):
    """Base of every error repro reports to a user."""

    exit_code: int = INVALID
    command_exit_code: int | None = None
    """Set when repro failed after the wrapped command of `repro run` had exited with this code:
    the CLI then says so, so a 2 or 3 of repro's own is never read as the command's."""

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        # One printable line whatever went into it (a file name or a manifest string may hold a
        # newline or a terminal escape): the CLI prints it as it is.
        message = _CONTROL.sub(lambda m: repr(m.group())[1:-1], message)
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


class WriteError(ReproError, OSError):
    """A file repro must write could not be (full disk, no permission, not a regular file): exit 2.

    Also an OSError, so code that treats a failed write as optional (a cache) keeps catching it."""

    exit_code = INVALID


class SigningKeyError(ReproError):
    """Missing or unusable signing key: exit 2."""

    exit_code = INVALID


class RunnerError(ReproError):
    """The runner could not start the command (missing image, engine unreachable): exit 2."""

    exit_code = INVALID


class Interrupted(ReproError):
    """SIGINT or SIGTERM reached repro while a replay ran: no verdict is claimed and no replay
    manifest is written. Exit 128 + the signal number (130, 143), as a shell reports it."""

    def __init__(self, signal_name: str) -> None:
        import signal

        number = int(getattr(signal, signal_name, signal.SIGINT))
        super().__init__(f"interrupted by {signal_name}: the replay claims no verdict and wrote no replay manifest",
                         exit_code=128 + number)
