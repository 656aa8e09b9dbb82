"""What the bundle commands print: the library does the work, these functions render one summary line."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from repro.progress import format_bytes


def pack_command(manifest: Path, *, output: Path | None, include_image: bool, include_inputs: bool,
                 rules: Path | None, pubkeys: tuple[Path, ...], key: Path | None, root: Path | None,
                 say: Callable[[str], None], quiet: bool) -> str:
    from repro.bundle.pack import PackOptions, pack
    from repro.evidence import signing

    opts = PackOptions(manifest_path=manifest, output=output, root=root, pubkeys=tuple(pubkeys), key_path=key,
                       include_image=include_image, include_inputs=include_inputs, rules_path=rules,
                       progress=False if quiet else None)
    result = pack(opts, say=say, load_key=lambda: signing.load_private_key(key))
    left = [k for k, v in result.contents.items() if isinstance(v, str) and v.startswith("left out")]
    note = f"; left out: {', '.join(left)}" if left else ""
    return (f"packed {result.path}: {result.members} members, {format_bytes(result.bundle_bytes)} "
            f"(parts {format_bytes(result.parts_bytes)}){note}")


def verify_bundle_command(bundle: Path, pubkeys: tuple[Path, ...]) -> str:
    from repro.bundle.unpack import verify_bundle, verify_manifest
    from repro.evidence.verify import trusted_keys

    trusted = trusted_keys(pubkeys)
    verified = verify_bundle(bundle, trusted)
    manifest_keyid = verify_manifest(verified, trusted)
    return (f"OK: bundle {bundle} index signed by {verified.keyid}; {verified.members} members match "
            f"({format_bytes(verified.bytes)}); manifest of run {verified.index.run_id} signed by {manifest_keyid}")


def unpack_command(bundle: Path, directory: Path, pubkeys: tuple[Path, ...], *, quiet: bool) -> str:
    from repro.bundle.unpack import unpack
    from repro.evidence.verify import trusted_keys

    verified = unpack(bundle, directory, trusted_keys(pubkeys), progress=False if quiet else None)
    return (f"unpacked {verified.members} members ({format_bytes(verified.bytes)}) into {directory}; "
            f"index signed by {verified.keyid}")
