"""The standard DSSE envelope: written by `repro export --format dsse`, read back wherever a
manifest is accepted.

A manifest's signatures are DSSE signatures over PAE(type, JCS(statement)), so an envelope and a
manifest are two spellings of the same signed thing. Reading an envelope back yields the very
manifest it came from; the payload must therefore be the statement's RFC 8785 bytes, which is
what repro writes (an envelope whose payload is some other serialisation would verify against
bytes repro does not sign, so it is refused by name rather than reported as a bad signature).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from repro.errors import InvalidManifestError
from repro.evidence import jsonio
from repro.evidence.signing import PAYLOAD_TYPE

ENVELOPE_KEYS = frozenset(("payload", "payloadType", "signatures"))


def is_envelope(data: Any) -> bool:
    """A JSON object shaped like a DSSE envelope rather than a Statement."""
    return isinstance(data, dict) and "_type" not in data and ENVELOPE_KEYS.issubset(data)


def envelope(body: bytes, signatures: list[dict], *, payload_type: str = PAYLOAD_TYPE) -> dict:
    """`{"payload", "payloadType", "signatures"}` around canonical bytes already signed."""
    return {
        "payload": base64.b64encode(body).decode("ascii"),
        "payloadType": payload_type,
        "signatures": [{"keyid": s["keyid"], "sig": s["sig"]} for s in signatures],
    }


def open_envelope(data: dict, *, what: str, payload_type: str = PAYLOAD_TYPE) -> tuple[bytes, Any, list[dict]]:
    """(payload bytes, the parsed payload, the signatures) of an envelope, checked for shape.
    The signatures are not verified here: that is the caller's, with its trusted keys."""
    extra = set(data) - ENVELOPE_KEYS
    if extra:
        raise InvalidManifestError(f"{what}: DSSE envelope has unexpected field(s) {', '.join(sorted(extra))}")
    if data["payloadType"] != payload_type:
        raise InvalidManifestError(f"{what}: DSSE payloadType is {data['payloadType']!r}, expected {payload_type!r}")
    if not isinstance(data["payload"], str):
        raise InvalidManifestError(f"{what}: DSSE payload is not a base64 string")
    try:
        body = base64.b64decode(data["payload"], validate=True)
    except (binascii.Error, ValueError) as e:
        raise InvalidManifestError(f"{what}: DSSE payload is not valid base64") from e
    sigs = data["signatures"]
    if not isinstance(sigs, list) or not all(isinstance(s, dict) and isinstance(s.get("sig"), str) for s in sigs):
        raise InvalidManifestError(f"{what}: DSSE signatures must be a list of {{keyid, sig}} objects")
    # repro's signatures always carry a keyid; DSSE makes it optional, so one without it gets an empty hint
    signatures = [{"keyid": s.get("keyid", ""), "sig": s["sig"]} for s in sigs]
    return body, jsonio.loads_strict(body, what=f"{what} (DSSE payload)"), signatures


def unwrap(data: dict, *, what: str) -> dict:
    """The manifest (statement plus `signatures`) an envelope carries."""
    body, statement, signatures = open_envelope(data, what=what)
    if not isinstance(statement, dict):
        raise InvalidManifestError(f"{what}: DSSE payload is not a JSON object")
    if "signatures" in statement:
        raise InvalidManifestError(f"{what}: DSSE payload must be a Statement without `signatures`")
    if jsonio.canonical_bytes(statement) != body:
        raise InvalidManifestError(f"{what}: DSSE payload is not the RFC 8785 form of its Statement, which is what "
                                   "repro signs (export it again with `repro export --format dsse`)")
    return {**statement, "signatures": signatures}
