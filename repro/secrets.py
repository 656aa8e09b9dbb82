"""What must never reach a manifest: secret-looking variable names and credential-shaped values."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

MASK = "***"

_SECRET_NAME = re.compile(
    r"(TOKEN|SECRET|PASSW(OR)?D|PASSPHRASE|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL|AUTH|SESSION|COOKIE|"
    r"SIGNING_?KEY|_PWD$|^PWD_|DSN$|CONN(ECTION)?_?STR)",
    re.IGNORECASE,
)
_NOT_SECRET = frozenset({"PWD", "OLDPWD", "REPRO_SIGNING_KEY"})

_SECRET_VALUE = re.compile(
    r"(AKIA|ASIA)[0-9A-Z]{16}"  # AWS access key id
    r"|gh[pousr]_[A-Za-z0-9]{36,}"  # GitHub tokens
    r"|github_pat_[A-Za-z0-9_]{20,}"
    r"|glpat-[A-Za-z0-9_\-]{20,}"  # GitLab
    r"|xox[abposr]-[A-Za-z0-9\-]{10,}"  # Slack
    r"|sk-[A-Za-z0-9_\-]{20,}"  # OpenAI-style keys
    r"|hf_[A-Za-z0-9]{30,}"  # Hugging Face
    r"|AIza[0-9A-Za-z_\-]{35}"  # Google API key
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}"  # JWT
)
_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^/@\s]+)@")
_SECRET_VALUE_BYTES = re.compile(_SECRET_VALUE.pattern.encode("ascii"))
# In files (a code diff) only a user:password pair is masked: `ssh://git@host` is not a secret.
_URL_PASSWORD_BYTES = re.compile(rb"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)[^/@\s:]+:[^/@\s]+@")


def is_secret_name(name: str) -> bool:
    return name not in _NOT_SECRET and bool(_SECRET_NAME.search(name))


def mask_value(text: str) -> str:
    """Mask credential-shaped substrings and credentials embedded in URLs."""
    text = _URL_USERINFO.sub(lambda m: m.group("scheme") + MASK + "@", text)
    return _SECRET_VALUE.sub(MASK, text)


def mask_env(env: dict[str, str]) -> dict[str, str]:
    return {k: (MASK if is_secret_name(k) else mask_value(v)) for k, v in sorted(env.items())}


def mask_argv(argv: list[str] | tuple[str, ...]) -> list[str]:
    """Mask values of `--password=...`-style options and credential-shaped arguments."""
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append(MASK)
            hide_next = False
            continue
        if arg.startswith("-") and "=" in arg:
            name, _, _ = arg.partition("=")
            if is_secret_name(name.lstrip("-").replace("-", "_")):
                out.append(name + "=" + MASK)
                continue
        elif arg.startswith("--") and is_secret_name(arg[2:].replace("-", "_")):
            out.append(arg)
            hide_next = True
            continue
        out.append(mask_value(arg))
    return out


def strip_url_credentials(url: str) -> str:
    """A git remote without user, password or token."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return mask_value(url)
    if parts.scheme and parts.netloc and "@" in parts.netloc:
        host = parts.netloc.rsplit("@", 1)[1]
        return mask_value(urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment)))
    return mask_value(url)


def mask_bytes(data: bytes) -> tuple[bytes, int]:
    """Mask credential-shaped values and URL passwords in file content (the saved code diff);
    returns the masked bytes and how many values were masked."""
    data, urls = _URL_PASSWORD_BYTES.subn(lambda m: m.group("scheme") + MASK.encode() + b"@", data)
    data, values = _SECRET_VALUE_BYTES.subn(MASK.encode(), data)
    return data, urls + values
