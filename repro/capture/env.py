"""The environment the command ran with, secret-looking names and values masked."""

from __future__ import annotations

from typing import Mapping

from repro.secrets import mask_env


def capture(environ: Mapping[str, str]) -> dict[str, str]:
    return mask_env(dict(environ))
