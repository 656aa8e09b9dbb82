"""Offline bundles: a run, its code, inputs, outputs and image in one signed, streamed tar."""

from __future__ import annotations

from pathlib import Path


def is_bundle(path: Path) -> bool:
    """True when `path` is a bundle, by its content (the first member is the bundle marker), not its name."""
    from repro.bundle.archive import looks_like_bundle

    return looks_like_bundle(path)
