"""What must never reach a manifest: secret-looking variable names and credential-shaped values.

The rules live in `repro/inject/site/_repro_masking.py`, standard library only, because the hook
inside the user's Python applies the very same rules to what it records (docs/security.md)."""

from __future__ import annotations

from repro.inject.site import _repro_masking as _rules

MASK: str = _rules.MASK


def is_secret_name(name: str) -> bool:
    return _rules.is_secret_name(name)


def mask_value(text: str) -> str:
    """Mask credential-shaped substrings, secret-named assignments and URL userinfo."""
    return _rules.mask_value(text)


def mask_env(env: dict[str, str]) -> dict[str, str]:
    return _rules.mask_env(env)


def mask_argv(argv: list[str] | tuple[str, ...]) -> list[str]:
    """Mask values of `--password=...`-style options and credential-shaped arguments."""
    return _rules.mask_argv(list(argv))


def strip_url_credentials(url: str) -> str:
    """A git remote without user, password or token."""
    return _rules.strip_url_credentials(url)


def mask_bytes(data: bytes) -> tuple[bytes, int]:
    """Mask credentials in file content (the saved code diff), keeping its lines; returns the
    masked bytes and how many values were masked. Bytes that are not UTF-8 pass through as they are."""
    text, count = _rules.mask_text(data.decode("utf-8", "surrogateescape"), in_file=True)
    return (text.encode("utf-8", "surrogateescape") if count else data), count
