"""Case generators and checks shared by tests/hardening and benchmarks/hardening_report.py.

Every generator yields `Case`s; the tests assert on each one and the report counts them, so the
figures the report prints are exactly the cases the tests try. Generators are deterministic (fixed
seeds), so a failure names a case that can be replayed.
"""

from __future__ import annotations

import copy
import gzip
import json
import os
import random
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from repro.evidence import jsonio, signing
from repro.errors import INTEGRITY, INVALID, ReproError
from repro.evidence.manifest import Manifest
from tests.examples import make_example



@dataclass(frozen=True)
class Case:
    """One input to try: a label that says what was done, and the bytes."""

    label: str
    data: bytes


# --- the example project, run and signed -------------------------------------------------------


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                   check=True, capture_output=True)


def cli_env(xdg: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "REPRO_SIGNING_KEY"}
    env["XDG_CONFIG_HOME"] = str(xdg)
    env.update(extra or {})
    return env


def cli(*args: str, cwd: Path, xdg: Path, env: dict[str, str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess:
    """The real CLI in a subprocess, with its own config home."""
    return subprocess.run([sys.executable, "-m", "repro", *args], cwd=cwd, env=cli_env(xdg, env),
                          capture_output=True, text=True, timeout=timeout)


@dataclass(frozen=True)
class SignedRun:
    """A signed manifest of the example, with the key that signed it."""

    project: Path
    xdg: Path
    manifest: Path
    raw: bytes

    @property
    def private_key(self) -> Path:
        return self.xdg / "repro" / signing.PRIVATE_KEY_NAME

    @property
    def public_key(self) -> Path:
        return self.xdg / "repro" / signing.PUBLIC_KEY_NAME

    def trusted(self) -> list:
        return [signing.load_public_key(self.public_key)]


def signed_example(base: Path) -> SignedRun:
    """Run the example once under `repro run` and return its signed manifest."""
    xdg = base / "xdg"
    project = make_example(base / "logreg")
    signing.generate(xdg / "repro" / signing.PRIVATE_KEY_NAME)
    result = cli("run", "-q", "--seed", "7", "--manifest", "run.json", "--", sys.executable, "train.py",
                 cwd=project, xdg=xdg)
    if result.returncode != 0:
        raise RuntimeError(f"the example run failed: {result.stderr}")
    manifest = project / "run.json"
    return SignedRun(project, xdg, manifest, manifest.read_bytes())


# --- outcomes ----------------------------------------------------------------------------------


def outcome(action: Callable[[], Any]) -> BaseException | None:
    """The exception `action` raised, or None. Never swallows a KeyboardInterrupt."""
    try:
        action()
    except Exception as e:  # the point: whatever it is, it is inspected by the caller
        return e
    return None


def is_clean(error: BaseException | None, codes: tuple[int, ...] = (INVALID, INTEGRITY)) -> bool:
    """A ReproError with one non-empty line and an exit code in `codes`."""
    return (isinstance(error, ReproError) and error.exit_code in codes and bool(error.message.strip())
            and "\n" not in error.message and "\r" not in error.message)


def describe(error: BaseException | None) -> str:
    return "no error" if error is None else f"{type(error).__name__}: {str(error)[:300]}"


def consume_manifest(data: bytes, trusted: list, reference: Manifest) -> BaseException | None:
    """Everything repro does with a manifest it is handed, in-process: strict load, the `show`
    summary, `diff` against a good manifest, then the signature check. A bad manifest must end
    in a ReproError somewhere on this path; anything else is a crash."""
    from repro.replay.drift import diff_manifests
    from repro.report.formats import get_diff_format
    from repro.report.show import render

    def run() -> None:
        m = Manifest.from_bytes(data)
        render(m, signature_status="checked below")
        report = diff_manifests(reference, m, before_name="good", after_name="case")
        get_diff_format("text").render(report)
        get_diff_format("json").render(report)
        m.verify(trusted)

    return outcome(run)


# --- JSON surgery --------------------------------------------------------------------------------

JsonPath = tuple  # a path into a JSON document: keys and indexes


def nodes(value: Any, path: JsonPath = ()) -> Iterator[tuple[JsonPath, Any]]:
    """Every node below `value` (not `value` itself), depth first, with its path."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield (*path, k), v
            yield from nodes(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield (*path, i), v
            yield from nodes(v, (*path, i))


def get_at(doc: Any, path: JsonPath) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def set_at(doc: Any, path: JsonPath, value: Any) -> Any:
    """A deep copy of `doc` with the node at `path` replaced."""
    if not path:
        return value
    out = copy.deepcopy(doc)
    get_at(out, path[:-1])[path[-1]] = value
    return out


def delete_at(doc: Any, path: JsonPath) -> Any:
    out = copy.deepcopy(doc)
    parent = get_at(out, path[:-1])
    del parent[path[-1]]
    return out


def dump(doc: Any) -> bytes:
    return jsonio.pretty_bytes(doc)


RAW = "\u0000RAW\u0000"  # a placeholder string replaced by a raw JSON token after dumping


def dump_with_token(doc: Any, path: JsonPath, token: str) -> bytes:
    """`doc` with the node at `path` written as `token` verbatim (NaN, 1e400, 9999...)."""
    text = json.dumps(set_at(doc, path, RAW), indent=2)
    return text.replace(json.dumps(RAW), token, 1).encode()


def dump_with_duplicate(doc: Any, path: JsonPath, value: Any) -> bytes:
    """`doc` with the object at `path` holding its first key twice, the second time as `value`."""
    target = get_at(doc, path)
    first = next(iter(target))
    marker = {RAW: 0}
    text = json.dumps(set_at(doc, path, {**target, RAW: 0}), indent=2)
    duplicate = f"{json.dumps(first)}: {json.dumps(value)}"
    return text.replace(json.dumps(marker)[1:-1], duplicate, 1).encode()


def label(path: JsonPath) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def _sample_paths(doc: Any, max_depth: int, per_list: int = 2) -> list[JsonPath]:
    """Paths to nodes up to `max_depth`, keeping only the first `per_list` items of long lists."""
    out = []
    for path, _ in nodes(doc):
        if len(path) > max_depth:
            continue
        if any(isinstance(p, int) and p >= per_list for p in path):
            continue
        out.append(path)
    return out


# --- malformed manifests -------------------------------------------------------------------------

OTHER_TYPES: tuple[Any, ...] = (None, True, 0, 1.5, "x", [], {"k": "v"})
NON_FINITE = ("NaN", "Infinity", "-Infinity", "1e400", "-1e999", "1.5e99999")
HUGE = (str(2**53), str(-(2**63)), "9" * 17, "9" * 5000, "-" + "1" * 4400)


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def malformed_manifests(raw: bytes) -> Iterator[Case]:
    """Bad versions of a real manifest: truncated, retyped, duplicated keys, non-finite and huge
    numbers, deep nesting, wrong encodings, binary garbage, wrong shapes, oversize."""
    doc = json.loads(raw)
    end = raw.rstrip().rfind(b"}")
    for i in sorted({0, 1, 2, *range(0, end, max(1, end // 48)), end - 1, end}):
        yield Case(f"truncated at byte {i}", raw[:i])

    for n, path in enumerate(_sample_paths(doc, max_depth=7)):
        current = get_at(doc, path)
        choices = [v for v in OTHER_TYPES if _type_name(v) != _type_name(current)]
        value = choices[n % len(choices)]
        yield Case(f"{label(path)} retyped to {_type_name(value)}", dump(set_at(doc, path, value)))

    objects = [p for p, v in nodes(doc) if isinstance(v, dict) and v and len(p) <= 3 and not any(
        isinstance(x, int) and x >= 1 for x in p)]
    for path in [(), *objects]:
        target = get_at(doc, path)
        first = next(iter(target))
        yield Case(f"duplicate key {first!r} in {label(path)}", dump_with_duplicate(doc, path, target[first]))

    numeric = [("predicate", "command", "duration_s"), ("predicate", "command", "exit_code"),
               ("predicate", "seeds", "seed"), ("predicate", "hardware", "memory_bytes"),
               ("predicate", "outputs", 0, "size"), ("predicate", "schema_version")]
    for path in numeric:
        for token in (*NON_FINITE, *HUGE):
            yield Case(f"{label(path)} = {token[:24]}", dump_with_token(doc, path, token))

    env_path = ("predicate", "environment")
    for depth in (63, 64, 65, 1000, 100_000):
        yield Case(f"nesting {depth} deep", dump_with_token(doc, env_path, "[" * depth + "]" * depth))
    yield Case("a million unclosed brackets", b"[" * 1_000_000)
    yield Case("a million unclosed objects", b'{"a":' * 200_000)

    text = raw.decode()
    yield Case("UTF-16 (with BOM)", text.encode("utf-16"))
    yield Case("UTF-16-LE", text.encode("utf-16-le"))
    yield Case("UTF-32", text.encode("utf-32"))
    yield Case("UTF-8 with a BOM", b"\xef\xbb\xbf" + raw)
    latin = text.replace('"train.py"', '"tr\u00e4in.py"', 1)
    yield Case("Latin-1 bytes", latin.encode("latin-1"))
    for name, bad in (("overlong UTF-8", b"\xc0\xaf"), ("CESU-8 surrogate", b"\xed\xa0\x80"),
                      ("stray continuation byte", b"\x80"), ("invalid start byte", b"\xff\xfe"),
                      ("truncated UTF-8 sequence", b"\xe2\x82")):
        yield Case(name, raw.replace(b'"train.py"', b'"train' + bad + b'.py"', 1))
    for name, escape in (("lone high surrogate escape", "\\ud800"), ("lone low surrogate escape", "\\udc00"),
                         ("reversed surrogate pair", "\\udc00\\ud800")):
        yield Case(name, text.replace('"train.py"', f'"train{escape}.py"', 1).encode())
    yield Case("raw control character in a string", raw.replace(b'"train.py"', b'"train\x01.py"', 1))
    yield Case("raw NUL in a string", raw.replace(b'"train.py"', b'"train\x00.py"', 1))

    rng = random.Random(7)
    for size in (1, 7, 64, 512, 4096, 65536):
        yield Case(f"{size} random bytes", bytes(rng.getrandbits(8) for _ in range(size)))
    for k in range(8):
        mutated = bytearray(raw)
        for _ in range(16):
            mutated[rng.randrange(len(mutated))] = rng.getrandbits(8)
        yield Case(f"16 random bytes overwritten (#{k})", bytes(mutated))
    yield Case("gzip-compressed manifest", gzip.compress(raw))
    yield Case("all zero bytes", bytes(4096))
    yield Case("all 0xff bytes", b"\xff" * 4096)
    yield Case("PNG header", b"\x89PNG\r\n\x1a\n" + bytes(64))

    for name, data in (("empty", b""), ("whitespace only", b" \n\t "), ("null", b"null"), ("a list", b"[]"),
                       ("a string", b'"manifest"'), ("a number", b"0"), ("an empty object", b"{}"),
                       ("true", b"true")):
        yield Case(f"document is {name}", data)
    yield Case("two manifests back to back", raw + raw)
    yield Case("trailing garbage", raw + b"garbage")
    yield Case("a comment before it", b"// manifest\n" + raw)
    yield Case("a trailing comma", raw[:end].rstrip() + b",\n}")
    yield Case("single-quoted keys", text.replace('"_type"', "'_type'", 1).encode())
    yield Case("larger than the size limit", b" " * (jsonio.MAX_BYTES + 1))
    shapes = {
        "the predicate alone": doc["predicate"],
        "signatures an object": set_at(doc, ("signatures",), {"keyid": "x"}),
        "an older statement _type": set_at(doc, ("_type",), "https://in-toto.io/Statement/v0.1"),
        "another predicateType": set_at(doc, ("predicateType",), "urn:other"),
        "no subject": set_at(doc, ("subject",), []),
        "an extra top-level member": {**doc, "extra": 1},
        "an extra predicate member": set_at(doc, ("predicate",), {**doc["predicate"], "extra": 1}),
    }
    for name, changed in shapes.items():
        yield Case(f"wrong shape: {name}", dump(changed))
    yield Case("without signatures", dump({k: v for k, v in doc.items() if k != "signatures"}))
    yield Case("without predicate", dump({k: v for k, v in doc.items() if k != "predicate"}))


# --- unsafe paths ---------------------------------------------------------------------------------

UNSAFE_PATHS = ("/etc/passwd", "../outside", "data/../../outside", "data\u0000.csv", "data\\..\\x", "C:/x",
                "", "./../x", "//server/share", "data/..", "..")


def path_fields(doc: dict) -> list[JsonPath]:
    """Every place a manifest holds a path."""
    pred = doc["predicate"]
    out: list[JsonPath] = [("subject", 0, "name"), ("predicate", "command", "cwd"),
                        ("predicate", "logs", "stdout", "path"), ("predicate", "logs", "stderr", "path")]
    for facet in ("inputs", "outputs"):
        for i, art in enumerate(pred[facet]):
            out.append(("predicate", facet, i, "path"))
            out.extend(("predicate", facet, i, "files", j, "path") for j in range(len(art.get("files", []))))
    return out


def unsafe_path_manifests(raw: bytes) -> Iterator[Case]:
    """Each path field of the manifest set to each unsafe form."""
    doc = json.loads(raw)
    for path in path_fields(doc):
        for bad in UNSAFE_PATHS:
            yield Case(f"{label(path)} = {bad!r}", dump(set_at(doc, path, bad)))


# --- tampering -----------------------------------------------------------------------------------


def _changed_string(s: str) -> str:
    """The same string with its last character moved to another of the same class, so the
    change usually still fits the schema (a hex digest stays hex) and only the signature can
    catch it."""
    if not s:
        return "x"
    c = s[-1]
    if c in "0123456789abcdef":
        swap = "0123456789abcdef"
    elif c.isdigit():
        swap = "0123456789"
    elif c.islower():
        swap = "abcdefghijklmnopqrstuvwxyz"
    elif c.isupper():
        swap = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    else:
        return s + "x"
    return s[:-1] + swap[(swap.index(c) + 1) % len(swap)]


def changed_value(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value + 0.5
    if isinstance(value, str):
        return _changed_string(value)
    if value is None:
        return "x"
    raise TypeError(value)


def tampered_fields(raw: bytes) -> Iterator[Case]:
    """Every leaf of the signed statement changed in turn; every key renamed; every list item
    dropped; every object given an extra member."""
    doc = json.loads(raw)
    statement = {k: v for k, v in doc.items() if k != "signatures"}
    for path, value in nodes(statement):
        if isinstance(value, (dict, list)):
            if isinstance(value, dict):
                yield Case(f"{label(path)} gets an extra member", dump(set_at(doc, path, {**value, "zz_extra": "1"})))
            elif value:
                yield Case(f"{label(path)} loses its last item", dump(set_at(doc, path, value[:-1])))
            continue
        yield Case(f"{label(path)} changed", dump(set_at(doc, path, changed_value(value))))
        if isinstance(path[-1], str):
            parent = get_at(doc, path[:-1])
            renamed = {(k + "_" if k == path[-1] else k): v for k, v in parent.items()}
            yield Case(f"{label(path)} key renamed", dump(set_at(doc, path[:-1], renamed) if path[:-1] else renamed))


def signatures_region(raw: bytes) -> tuple[int, int]:
    """Byte range of the `signatures` member in a manifest written by repro (it comes last)."""
    start = raw.rindex(b'"signatures"')
    return start, len(raw)


def tampered_bytes(raw: bytes, count: int = 400) -> Iterator[Case]:
    """Single bytes flipped (XOR 1) at `count` offsets spread evenly over the signed content."""
    start, _ = signatures_region(raw)
    step = max(1, start // count)
    for offset in range(0, start, step):
        mutated = bytearray(raw)
        mutated[offset] ^= 0x01
        yield Case(f"byte {offset} ({chr(raw[offset])!r}) flipped", bytes(mutated))


def tampered_signatures(raw: bytes) -> Iterator[Case]:
    """Bytes flipped inside the base64 signature itself."""
    doc = json.loads(raw)
    sig = doc["signatures"][0]["sig"]
    for i in range(0, len(sig) - 2, 3):
        c = sig[i]
        other = "A" if c != "A" else "B"
        changed = set_at(doc, ("signatures", 0, "sig"), sig[:i] + other + sig[i + 1:])
        yield Case(f"signature character {i} changed", dump(changed))


def forged_signatures(raw: bytes, key: Any) -> Iterator[Case]:
    """Manifests whose statement is intact but whose signature is not a trusted one over it:
    an unknown key (also naming the trusted key's id), no signature, a claim to be unsigned, a
    signature over another payload type, over other serialisations, without PAE, or taken from
    another manifest. `key` is the trusted private key (to forge what only its holder could)."""
    import base64

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    doc = json.loads(raw)
    statement = {k: v for k, v in doc.items() if k != "signatures"}
    body = jsonio.canonical_bytes(statement)
    keyid = doc["signatures"][0]["keyid"]

    def with_sigs(sigs: list, base: dict = statement) -> bytes:
        return dump({**base, "signatures": sigs})

    def signed_over(message: bytes) -> dict:
        return {"keyid": keyid, "sig": base64.b64encode(key.sign(message)).decode()}

    stranger = Ed25519PrivateKey.generate()
    yield Case("signed by an unknown key", with_sigs([signing.sign(body, stranger)]))
    yield Case("signed by an unknown key claiming the trusted keyid", with_sigs([{**signing.sign(body, stranger),
                                                                                 "keyid": keyid}]))
    yield Case("signature removed", with_sigs([]))
    yield Case("signature removed and unsigned claimed", with_sigs([], set_at(statement, ("predicate", "unsigned"), True)))
    for payload_type in ("application/json", "application/vnd.in-toto+json ", "", "application/vnd.dsse+json"):
        yield Case(f"signed with payloadType {payload_type!r}", with_sigs([signed_over(signing.pae(payload_type, body))]))
    others = {
        "sorted json.dumps": json.dumps(statement, sort_keys=True).encode(),
        "compact json.dumps": json.dumps(statement, separators=(",", ":")).encode(),
        "the pretty file bytes": jsonio.pretty_bytes(statement),
        "JCS with an empty signatures list": jsonio.canonical_bytes({**statement, "signatures": []}),
        "JCS of the predicate alone": jsonio.canonical_bytes(statement["predicate"]),
    }
    for name, other in others.items():
        yield Case(f"signed over {name}", with_sigs([signed_over(signing.pae(signing.PAYLOAD_TYPE, other))]))
    yield Case("signed over the JCS bytes without PAE", with_sigs([signed_over(body)]))
    other_statement = set_at(statement, ("predicate", "seeds", "seed"), statement["predicate"]["seeds"]["seed"] + 1)
    yield Case("signature taken from another manifest",
               with_sigs([signing.sign(jsonio.canonical_bytes(other_statement), key)]))
    yield Case("signature truncated", with_sigs([{**doc["signatures"][0], "sig": doc["signatures"][0]["sig"][:40]}]))
    yield Case("signature not base64", with_sigs([{**doc["signatures"][0], "sig": "!" * 88}]))


def benign_rewrites(raw: bytes) -> Iterator[Case]:
    """Re-serialisations that keep the content: these must still verify."""
    doc = json.loads(raw)
    yield Case("re-indented by 7", json.dumps(doc, indent=7).encode())
    yield Case("compact", json.dumps(doc, separators=(",", ":")).encode())
    yield Case("keys sorted", json.dumps(doc, indent=2, sort_keys=True).encode())
    yield Case("keys reversed", json.dumps(_reversed(doc), indent=1).encode())
    yield Case("non-ASCII escaped", json.dumps(doc, ensure_ascii=True).encode())
    yield Case("CRLF line ends", json.dumps(doc, indent=2).replace("\n", "\r\n").encode())
    yield Case("signatures first", json.dumps({"signatures": doc["signatures"],
                                               **{k: v for k, v in doc.items() if k != "signatures"}}).encode())
    spelt = raw.replace(b'"exit_code": 0,', b'"exit_code": 0e0,', 1).replace(b'"train.py"', b'"\\u0074rain.py"', 1)
    yield Case("numbers and strings spelt differently", spelt)


def _reversed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _reversed(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reversed(v) for v in value]
    return value


# --- repro.yaml, rules and keys -------------------------------------------------------------------


def _alias_bomb(levels: int = 9, width: int = 9) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    lines.append(f"inputs: *a{levels - 1}")
    return "\n".join(lines) + "\n"


def _alias_chain(n: int = 3000) -> str:
    lines = ["c0: &c0 [x]"] + [f"c{i}: &c{i} [*c{i - 1}]" for i in range(1, n)]
    return "\n".join(lines) + f"\ninputs: [*c{n - 1}]\n"


def malformed_configs() -> Iterator[Case]:
    """Bad `repro.yaml` files: syntax, duplicates, types, shapes, encodings, bombs, sizes."""
    texts = {
        "unclosed list": "inputs: [\n",
        "tab indentation": "inputs:\n\t- data\n",
        "bad indentation": "inputs:\n  - data\n bad: 1\n",
        "unterminated string": 'digest: "sha256\n',
        "duplicate top-level key": "digest: sha256\ndigest: xxh3_128\n",
        "duplicate nested key": "store:\n  enabled: true\n  enabled: false\n",
        "duplicate key in flow mapping": "store: {max_bytes: 1, max_bytes: 2}\n",
        "unknown key": "inptus: [data]\n",
        "inputs not a list": "inputs: data\n",
        "inputs of numbers": "inputs: [1, 2]\n",
        "inputs with an empty path": 'inputs: [""]\n',
        "inputs nested lists": "inputs: [[data]]\n",
        "unknown digest": "digest: md5\n",
        "digest a list": "digest: [sha256]\n",
        "threads zero": "threads: 0\n",
        "threads negative": "threads: -4\n",
        "threads a string": "threads: many\n",
        "threads a float": "threads: 2.5\n",
        "threads huge": "threads: " + "9" * 40 + "\n",
        "threads with 5000 digits": "threads: !!int '" + "9" * 5000 + "'\n",
        "observe a string": "observe: sometimes\n",
        "store not a mapping": "store: 5\n",
        "store unknown key": "store: {size: 1}\n",
        "store max_bytes negative": "store: {max_bytes: -1}\n",
        "gpus a list": "gpus: [0, 1]\n",
        "verify a list": "verify: [a]\n",
        "image empty": 'image: ""\n',
        "top level a list": "- data\n",
        "top level a string": "just a string\n",
        "top level a number": "42\n",
        "two documents": "digest: sha256\n---\ndigest: xxh3_128\n",
        "python object tag": "digest: !!python/object/apply:os.system ['true']\n",
        "python name tag": "digest: !!python/name:os.system\n",
        "invalid date": "threads: 2020-13-45\n",
        "invalid tagged int": "threads: !!int 'x'\n",
        "invalid tagged float": "threads: !!float 'x'\n",
        "bad binary tag": "image: !!binary 'x'\n",
        "undefined alias": "inputs: *nowhere\n",
        "self-referencing alias": "inputs: &a [*a]\n",
        "alias bomb": _alias_bomb(),
        "alias chain 3000 deep": _alias_chain(),
        "nesting 2000 deep": "inputs: " + "[" * 2000 + "]" * 2000 + "\n",
        "unclosed nesting 5000": "inputs: " + "[" * 5000 + "\n",
        "NUL character": "digest: sha\u0000256\n",
        "control character": "digest: sha\u0007256\n",
        "unhashable key": "? [a, b]\n: 1\n",
        "complex key": "{a: 1}: 2\n",
        "merge key with duplicate": "base: &b {threads: 1}\nstore: {<<: *b, enabled: true, enabled: false}\n",
    }
    for name, text in texts.items():
        yield Case(name, text.encode("utf-8"))
    yield Case("UTF-16 with BOM", "digest: sha256\n".encode("utf-16"))
    yield Case("Latin-1 bytes", "image: caf\u00e9\n".encode("latin-1"))
    yield Case("invalid UTF-8", b"digest: \xff\xfe\n")
    rng = random.Random(11)
    for size in (16, 256, 4096):
        yield Case(f"{size} random bytes", bytes(rng.getrandbits(8) for _ in range(size)))
    yield Case("larger than 1 MiB", b"# " + b"x" * (1024 * 1024) + b"\n")


def malformed_rules() -> Iterator[Case]:
    """Bad tolerance rules files (the same checks apply to `verify:` in repro.yaml)."""
    texts = {
        "rules not a list": "rules: {match: '*.npy'}\n",
        "top level a list": "- match: '*.npy'\n",
        "unknown top-level key": "rule: []\n",
        "rule not a mapping": "rules: ['*.npy']\n",
        "rule without match": "rules: [{exact: true}]\n",
        "empty match": "rules: [{match: '', exact: true}]\n",
        "match a number": "rules: [{match: 3, exact: true}]\n",
        "rule without policy": "rules: [{match: '*.npy'}]\n",
        "unknown rule key": "rules: [{match: '*.npy', tolerance: 1}]\n",
        "exact false": "rules: [{match: '*.npy', exact: false}]\n",
        "exact with allclose": "rules: [{match: '*.npy', exact: true, allclose: {rtol: 1}}]\n",
        "rtol negative": "rules: [{match: '*.npy', allclose: {rtol: -1}}]\n",
        "rtol NaN": "rules: [{match: '*.npy', allclose: {rtol: .nan}}]\n",
        "rtol infinite": "rules: [{match: '*.npy', allclose: {rtol: .inf}}]\n",
        "rtol a word": "rules: [{match: '*.npy', allclose: {rtol: small}}]\n",
        "rtol a list": "rules: [{match: '*.npy', allclose: {rtol: [1]}}]\n",
        "rtol true": "rules: [{match: '*.npy', allclose: {rtol: true}}]\n",
        "atol huge string": "rules: [{match: '*.npy', allclose: {atol: '1e99999'}}]\n",
        "unknown allclose key": "rules: [{match: '*.npy', allclose: {rtl: 1}}]\n",
        "allclose a number": "rules: [{match: '*.npy', allclose: 3}]\n",
        "equal_nan a string": "rules: [{match: '*.npy', allclose: {equal_nan: 'yes please'}}]\n",
        "ulp negative": "rules: [{match: '*.npy', ulp: -1}]\n",
        "ulp a float": "rules: [{match: '*.npy', ulp: 1.5}]\n",
        "ulp without max": "rules: [{match: '*.npy', ulp: {equal_nan: true}}]\n",
        "ulp unknown key": "rules: [{match: '*.npy', ulp: {max: 1, min: 0}}]\n",
        "invalid regex": "rules: [{match: '*.log', ignore: ['(unclosed']}]\n",
        "empty ignore list": "rules: [{match: '*.log', ignore: []}]\n",
        "ignore a number": "rules: [{match: '*.log', ignore: 5}]\n",
        "ignore of numbers": "rules: [{match: '*.log', ignore: [5]}]\n",
        "paths without allclose": "rules: [{match: '*.json', ulp: 1, paths: {'$.a': {rtol: 1}}}]\n",
        "invalid JSON path": "rules: [{match: '*.json', allclose: true, paths: {'$[': {rtol: 1}}}]\n",
        "path fields not a mapping": "rules: [{match: '*.json', allclose: true, paths: {'$.a': 1}}]\n",
        "duplicate rule key": "rules: [{match: '*.npy', match: '*.npz', exact: true}]\n",
        "not YAML": "rules: [\n",
        "alias bomb": _alias_bomb().replace("inputs:", "rules:"),
        "self-referencing alias": "rules: &r [*r]\n",
        "nesting 2000 deep": "rules: " + "[" * 2000 + "]" * 2000 + "\n",
    }
    for name, text in texts.items():
        yield Case(name, text.encode("utf-8"))
    yield Case("binary garbage", bytes(random.Random(5).getrandbits(8) for _ in range(512)))
    yield Case("larger than 1 MiB", b"# " + b"x" * (1024 * 1024) + b"\n")


def malformed_keys(good_private: bytes, good_public: bytes) -> Iterator[tuple[str, str, bytes]]:
    """Bad key files as (label, "private" | "public", bytes)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    other = ec.generate_private_key(ec.SECP256R1())
    ec_private = other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())
    ec_public = other.public_key().public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    encrypted = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"))
    rng = random.Random(3)
    garbage = bytes(rng.getrandbits(8) for _ in range(300))
    for kind, good, wrong_kind in (("private", good_private, good_public), ("public", good_public, good_private)):
        yield f"{kind}: empty", kind, b""
        yield f"{kind}: truncated", kind, good[: len(good) // 2]
        yield f"{kind}: body changed", kind, good.replace(b"\n", b"\nAAAA", 1)
        yield f"{kind}: binary garbage", kind, garbage
        yield f"{kind}: UTF-16", kind, good.decode().encode("utf-16")
        yield f"{kind}: the other half of the pair", kind, wrong_kind
        yield f"{kind}: an EC P-256 key", kind, ec_private if kind == "private" else ec_public
        yield f"{kind}: larger than the limit", kind, good + b"\n" * (signing.MAX_KEY_BYTES + 1)
        yield f"{kind}: DER instead of PEM", kind, b"0\x82\x01\x00" + garbage
    yield "private: encrypted with a passphrase", "private", encrypted


# --- secrets --------------------------------------------------------------------------------------


def planted_secrets() -> dict[str, str]:
    """Fake credentials in the formats repro must recognise, made unique per call. None is real."""
    tag = "".join(random.Random().choice("ABCDEFGHJKLMNPQRSTUVWXYZ234567") for _ in range(8))
    low = tag.lower()
    return {
        "aws_access_key": f"AKIA{tag}{tag}",
        "aws_session_key": f"ASIA{tag}QQQQ{tag[:4]}",
        "github_token": f"ghp_{tag}{low}{tag}{low}1234",
        "github_pat": f"github_pat_11{tag}_{low}{tag}{low}",
        "gitlab_token": f"glpat-{tag}{low}{tag}",
        "slack_token": f"xoxb-1234-{tag}-{low}",
        "openai_key": f"sk-{tag}{low}{tag}{low}",
        "huggingface_token": f"hf_{tag}{low}{tag}{low}{tag}",
        "google_api_key": f"AIza{tag}{low}{tag}{low}{tag[:3]}",
        "jwt": f"eyJ{tag}{low}.eyJ{low}{tag}.{tag}{low}sig",
        "password_in_url": f"pw{low}{tag}",
        "named_secret_value": f"plain{low}value{tag}",
        "named_password_value": f"hunter{low}{tag}",
        "option_secret": f"opt{low}{tag}",
    }


def _file_states(roots: list[Path]) -> dict[Path, tuple[int, int]]:
    out = {}
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                st = path.stat()
                out[path] = (st.st_size, st.st_mtime_ns)
    return out


@dataclass
class SecretsScenario:
    """Secrets planted in every channel of a real run, and where they were found afterwards."""

    planted: dict[str, str]  # secret name -> value
    channels: dict[str, str]  # secret name -> where it was planted
    written: list[Path]  # every file repro created or changed
    found: list[tuple[str, str]]  # (secret name, file or output where it was found)
    results: dict[str, subprocess.CompletedProcess]


def secrets_scenario(base: Path, image: str | None = None) -> SecretsScenario:
    """Plant fake credentials in the environment (by name and by shape), the command line, the git
    remote, an uncommitted config file and repro.yaml; run the example under `repro run` (in
    `image` when given), then show, export, diff, verify and replay it; return every file repro
    wrote and every planted value found in those files or in what repro printed."""
    s = planted_secrets()
    xdg = base / "xdg"
    project = make_example(base / "p")
    signing.generate(xdg / "repro" / signing.PRIVATE_KEY_NAME)
    (project / "wrap.py").write_text("import runpy\nrunpy.run_path('train.py', run_name='__main__')\n")
    git(project, "add", "wrap.py")
    git(project, "commit", "-qm", "wrapper that ignores its arguments")
    git(project, "remote", "add", "origin", f"https://ci:{s['gitlab_token']}@gitlab.example.com/team/logreg.git")
    (project / "config.yaml").write_text(f"aws_secret: {s['aws_session_key']}\nopenai: {s['openai_key']}\n"
                                         f"hub: {s['huggingface_token']}\n")
    with open(project / "repro.yaml", "a") as f:
        f.write(f"# the token is {s['jwt']}\n")
    channels = {
        "named_secret_value": "environment, MY_SERVICE_TOKEN", "named_password_value": "environment, DB_PASSWORD",
        "aws_access_key": "environment value, NOTES", "github_token": "environment value, CUSTOM_VALUE",
        "slack_token": "environment value, CHAT_HOOK", "password_in_url": "environment value, URL password",
        "option_secret": "argv, --api-key VALUE", "google_api_key": "argv, positional",
        "github_pat": "argv, URL in --model-repo=", "gitlab_token": "git remote URL",
        "aws_session_key": "config file (uncommitted)", "openai_key": "config file (uncommitted)",
        "huggingface_token": "config file (uncommitted)", "jwt": "repro.yaml comment",
    }
    assert set(channels) == set(s)
    env = {"MY_SERVICE_TOKEN": s["named_secret_value"], "DB_PASSWORD": s["named_password_value"],
           "NOTES": f"key {s['aws_access_key']} here", "CUSTOM_VALUE": s["github_token"], "CHAT_HOOK": s["slack_token"],
           "BACKUP_URL": f"https://admin:{s['password_in_url']}@backup.example.com/db"}
    before = _file_states([project, xdg])
    results: dict[str, subprocess.CompletedProcess] = {}
    where = ("--image", image) if image else ()
    results["run"] = cli("run", "--seed", "7", "--manifest", "run.json", *where, "--", "python" if image else sys.executable,
                         "wrap.py", "--api-key", s["option_secret"], s["google_api_key"],
                         f"--model-repo=https://x:{s['github_pat']}@hub.example.com/m", cwd=project, xdg=xdg, env=env)
    for name, args in {"show": ("show", "run.json"), "show --json": ("show", "--json", "run.json"),
                       "export": ("export", "run.json"),
                       "export statement": ("export", "--format", "statement", "-o", "exported.json", "run.json"),
                       "diff": ("diff", "--json", "run.json", "run.json"), "verify": ("verify", "run.json"),
                       "replay": ("replay", "--json", "report.json", "run.json")}.items():
        results[name] = cli(*args, cwd=project, xdg=xdg, env=env)
    after = _file_states([project, xdg])
    written = sorted(p for p, state in after.items() if before.get(p) != state)
    texts = {f"{name} {stream}": getattr(r, stream) for name, r in results.items() for stream in ("stdout", "stderr")}
    found = []
    for path in written:
        data = path.read_bytes()
        found.extend((name, str(path)) for name, value in s.items() if value.encode() in data)
    found.extend((name, where_) for where_, text in texts.items() for name, value in s.items() if value in text)
    return SecretsScenario(s, channels, written, found, results)


# --- crashes and signals --------------------------------------------------------------------------

SLEEPER = ("import os, sys, time\n"
           "open('child.pid', 'w').write(str(os.getpid()))\n"
           "print('started', flush=True)\n"
           "time.sleep(60)\n")


def wait_for(path: Path, timeout: float = 30.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size:
            return True
        time.sleep(0.02)
    return False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purpose
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@dataclass
class SignalOutcome:
    signal: str
    exit_code: int
    manifest_signal: str | None
    manifest_exit_code: int | None
    verifies: bool
    child_left_running: bool
    stderr: str


def signal_scenario(base: Path, signum: int, image: str | None = None) -> SignalOutcome:
    """Start `repro run` on a command that sleeps, send `signum` to repro once the command runs,
    and report what repro did: its exit code, what the manifest says, whether the command (or
    its container) was stopped."""
    import signal as signals
    import time

    xdg = base / "xdg"
    project = base / "p"
    project.mkdir(parents=True)
    (project / "sleeper.py").write_text(SLEEPER)
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "sleeper")
    signing.generate(xdg / "repro" / signing.PRIVATE_KEY_NAME)
    where = ("--image", image) if image else ()
    python = "python" if image else sys.executable
    proc = subprocess.Popen([sys.executable, "-m", "repro", "run", "--manifest", "run.json", *where, "--", python,
                             "sleeper.py"], cwd=project, env=cli_env(xdg), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    started = wait_for(project / "child.pid", 60)
    time.sleep(0.2)
    proc.send_signal(signum)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    child_pid = int((project / "child.pid").read_text()) if started and not image else None
    record = None
    verifies = False
    if (project / "run.json").exists():
        from repro.evidence.verify import verify

        m = Manifest.load(project / "run.json")
        record = m.predicate["command"]
        verifies = outcome(lambda: verify(project / "run.json", [xdg / "repro" / signing.PUBLIC_KEY_NAME],
                                          root=project)) is None
    left = child_pid is not None and pid_alive(child_pid)
    return SignalOutcome(signals.Signals(signum).name, proc.returncode, record and record["signal"],
                         record and record["exit_code"], verifies, left, err)


@dataclass
class KillOutcome:
    delay: float
    manifest_state: str  # "previous" (byte-identical), "new" (a complete, valid one), or what went wrong
    cache_ok: bool
    cache_hits: int
    store_ok: bool
    leftover_temporaries: list[str]


def _store_consistent(root: Path) -> bool:
    """Every entry of the output store re-hashes to the digest it is named by."""
    from repro.data.store import Store

    store = Store.for_project(root)
    for path in (store.directory.glob("*/*/*") if store.directory.is_dir() else ()):
        if path.name.startswith("."):
            continue
        algorithm = path.parent.parent.name
        if store.get({algorithm: path.name}) is None:
            return False
    return True


def _cache_consistent(root: Path) -> tuple[bool, int]:
    """(consistent, hits): the stat cache passes SQLite's integrity check, and every file of the
    project it answers for (same stat signature) gets its true digest."""
    import sqlite3

    from repro.data.digest import digest_file
    from repro.data.statcache import CACHE_RELPATH, StatCache

    path = root / CACHE_RELPATH
    if not path.exists():
        return True, 0
    conn = sqlite3.connect(path)
    try:
        if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            return False, 0
    finally:
        conn.close()
    hits = 0
    with StatCache(path) as cache:
        for file in (p for p in root.rglob("*") if p.is_file() and ".git" not in p.parts and ".repro" not in p.parts):
            for algorithm in ("xxh3_128", "sha256"):
                cached = cache.lookup(algorithm, str(file.resolve()), file.stat())
                if cached is None:
                    continue
                hits += 1
                if digest_file(file, algorithm) != {algorithm: cached}:
                    return False, hits
    return True, hits


def _temporaries(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.name.endswith(".tmp") or p.name.startswith(".put-"))


def kill9_scenario(base: Path, count: int) -> tuple[list[KillOutcome], bool]:
    """Run the example under `repro run`, with a previous signed manifest at the same path, and
    SIGKILL repro (and the command) at `count` moments spread evenly from 10% to 130% of a normal
    run's duration (the last ones land in sealing or just after it). After each kill the manifest path must hold the previous manifest or a complete new
    one, and the stat cache and the store must be consistent; at the end a normal run must still
    work and verify."""
    import time

    import psutil

    t0 = time.monotonic()
    run = signed_example(base)
    duration = time.monotonic() - t0
    project, xdg = run.project, run.xdg
    outcomes = []
    for delay in (duration * (0.1 + 1.2 * i / max(1, count - 1)) for i in range(count)):
        previous = run.manifest.read_bytes()
        proc = subprocess.Popen([sys.executable, "-m", "repro", "run", "-q", "--seed", "7", "--manifest", "run.json",
                                 "--", sys.executable, "train.py"], cwd=project, env=cli_env(xdg),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        try:
            children = psutil.Process(proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            children = []
        proc.kill()
        proc.wait()
        for child in children:  # the command is in its own process group: it outlives repro
            try:
                child.kill()
                child.wait(10)
            except psutil.NoSuchProcess:
                pass
        now = run.manifest.read_bytes()
        if now == previous:
            state = "previous"
        else:
            from repro.evidence.verify import check_sidecars

            err = outcome(lambda: check_sidecars(_verified(run.manifest, run.trusted()), run.manifest))
            state = "new" if err is None else f"broken: {describe(err)}"
        outcomes.append(KillOutcome(delay, state, *_cache_consistent(project), _store_consistent(project),
                                    _temporaries(project)))
    final = cli("run", "-q", "--seed", "7", "--manifest", "run.json", "--", sys.executable, "train.py", cwd=project,
                xdg=xdg)
    after = cli("verify", "run.json", cwd=project, xdg=xdg)
    return outcomes, final.returncode == 0 and after.returncode == 0


def _verified(path: Path, trusted: list) -> Manifest:
    m = Manifest.load(path)
    m.verify(trusted)
    return m


@dataclass
class DiskFullOutcome:
    how: str
    exit_code: int
    stderr: str
    previous_intact: bool
    previous_verifies: bool
    leftovers: list[str]


def _limit_file_size(limit: int) -> Callable[[], None]:
    def apply() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def disk_full_scenario(base: Path, how: str) -> DiskFullOutcome | None:
    """A previous signed manifest at the target; then a run whose manifest cannot be written:
    `how` is "tmpfs" (the manifest's directory is a nearly full tmpfs: ENOSPC; None where
    mounting is not permitted) or "rlimit" (RLIMIT_FSIZE below the manifest's size: EFBIG)."""
    xdg = base / "xdg"
    project = make_example(base / "p")
    signing.generate(xdg / "repro" / signing.PRIVATE_KEY_NAME)
    target_dir = base / "small"
    target_dir.mkdir()
    mounted = False
    if how == "tmpfs":
        mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=128k", "tmpfs", str(target_dir)],
                               capture_output=True)
        if mount.returncode != 0:
            return None
        mounted = True
    try:
        manifest = target_dir / "run.json"
        args = ("run", "-q", "--seed", "7", "--manifest", str(manifest), "--", sys.executable, "train.py")
        first = cli(*args, cwd=project, xdg=xdg)
        if first.returncode != 0:
            raise RuntimeError(first.stderr)
        previous = {p.name: p.read_bytes() for p in target_dir.iterdir()}
        extra: dict[str, Any] = {}
        if how == "tmpfs":
            free = os.statvfs(target_dir).f_bavail * os.statvfs(target_dir).f_frsize
            (target_dir / "filler").write_bytes(b"\0" * max(0, free - 8192))  # room for the logs, not the manifest
        else:
            extra["preexec_fn"] = _limit_file_size(len(previous["run.json"]) // 2)
        result = subprocess.run([sys.executable, "-m", "repro", *args], cwd=project, env=cli_env(xdg),
                                capture_output=True, text=True, timeout=120, **extra)
        (target_dir / "filler").unlink(missing_ok=True)
        now = {p.name: p.read_bytes() for p in target_dir.iterdir()}
        from repro.evidence.verify import check_sidecars

        verifies = outcome(lambda: check_sidecars(_verified(manifest, [signing.load_public_key(
            xdg / "repro" / signing.PUBLIC_KEY_NAME)]), manifest)) is None
        return DiskFullOutcome(how, result.returncode, result.stderr, now == previous, verifies,
                               sorted(set(now) - set(previous)))
    finally:
        if mounted:
            subprocess.run(["umount", str(target_dir)], capture_output=True)


@dataclass
class LogFullOutcome:
    stream: str
    exit_code: int | None  # None: repro was still running at the time limit (the old hang)
    stderr: str
    echoed: int  # bytes of the command's output that still reached repro's own stream
    previous_intact: bool
    previous_verifies: bool


LOUD = "mkdir -p out; echo 1 > out/a; head -c 4900000 /dev/urandom | base64 -w 100"


def log_full_scenario(base: Path, stream: str = "stdout", timeout: float = 120) -> LogFullOutcome | None:
    """The project on a 5 MiB tmpfs with a previous signed manifest; then a run whose command
    prints more than the disk holds (on `stream`), so the log beside the run cannot be written.
    None where mounting a tmpfs is not permitted."""
    xdg = base / "xdg"
    signing.generate(xdg / "repro" / signing.PRIVATE_KEY_NAME)
    disk = base / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=5m", "tmpfs", str(disk)], capture_output=True).returncode:
        return None
    try:
        project = disk / "p"
        project.mkdir()
        git(project, "init", "-q")
        manifest = project / "m.json"
        first = cli("run", "-q", "--manifest", str(manifest), "--", "sh", "-c", "mkdir -p out; echo 1 > out/a",
                    cwd=project, xdg=xdg)
        if first.returncode != 0:
            raise RuntimeError(first.stderr)
        previous = {p.name: p.read_bytes() for p in project.iterdir() if p.is_file()}
        command = LOUD if stream == "stdout" else f"({LOUD}) 1>&2"
        try:
            result = subprocess.run([sys.executable, "-m", "repro", "run", "-q", "--manifest", str(manifest), "--",
                                     "sh", "-c", command], cwd=project, env=cli_env(xdg), capture_output=True,
                                    timeout=timeout)
            code, err = result.returncode, result.stderr.decode(errors="replace")
            echoed = len(result.stdout if stream == "stdout" else result.stderr)
        except subprocess.TimeoutExpired as e:
            code, err, echoed = None, (e.stderr or b"").decode(errors="replace"), 0
        now = {name: (project / name).read_bytes() for name in previous if (project / name).is_file()}
        from repro.evidence.verify import check_sidecars

        verifies = outcome(lambda: check_sidecars(_verified(manifest, [signing.load_public_key(
            xdg / "repro" / signing.PUBLIC_KEY_NAME)]), manifest)) is None
        return LogFullOutcome(stream, code, err, echoed, now == previous, verifies)
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


# --- concurrency ----------------------------------------------------------------------------------

WORKER = ("import hashlib, os, sys, time\n"
          "k = sys.argv[1]\n"
          "data = open('data/train.csv', 'rb').read()\n"
          "os.makedirs(f'results/{k}', exist_ok=True)\n"
          "time.sleep(0.2)\n"
          "open(f'results/{k}/model.bin', 'wb').write(hashlib.sha256(data + k.encode()).digest() * 64)\n"
          "open(f'results/{k}/shared.bin', 'wb').write(hashlib.sha256(data).digest() * 64)\n")


@dataclass
class ConcurrencyOutcome:
    runs: int
    exit_codes: list[int]
    manifests: int
    verified: int
    problems: list[str]
    cache_ok: bool
    store_ok: bool
    store_entries: int
    leftovers: list[str]


def concurrency_scenario(base: Path, n: int = 8) -> ConcurrencyOutcome:
    """`n` signed `repro run`s started at once in one project, each writing its own outputs plus
    one file identical across runs, all reading the same input; then every manifest must verify
    (signature, logs, files) and the stat cache and the store must be consistent.

    Observation is off: its snapshot diff attributes files that other runs create meanwhile to
    each run (and could catch one half-written), which is not what is tested here."""
    from repro.evidence.verify import verify

    xdg = base / "xdg"
    project = make_example(base / "p")
    (project / "work.py").write_text(WORKER)
    git(project, "add", "work.py")
    git(project, "commit", "-qm", "worker")
    signing.generate(xdg / "repro" / signing.PRIVATE_KEY_NAME)
    procs = [subprocess.Popen([sys.executable, "-m", "repro", "run", "-q", "--no-observe", "--seed", "7", "--input", "data",
                               "--output", f"results/{k}", "--", sys.executable, "work.py", str(k)],
                              cwd=project, env=cli_env(xdg), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True) for k in range(n)]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    codes = [p.returncode for p in procs]
    manifests = sorted((project / ".repro" / "runs").glob("*/manifest.json"))
    problems = [e.strip() for c, e in zip(codes, errors) if c != 0]
    verified = 0
    public = xdg / "repro" / signing.PUBLIC_KEY_NAME
    for m in manifests:
        err = outcome(lambda: verify(m, [public], root=project))
        if err is None:
            verified += 1
        else:
            problems.append(f"{m.parent.name}: {describe(err)}")
    cache_ok, _ = _cache_consistent(project)
    store_dir = project / ".repro" / "store"
    entries = [p for p in store_dir.glob("*/*/*") if not p.name.startswith(".")] if store_dir.is_dir() else []
    tmp_dir = project / ".repro" / "tmp"
    leftovers = _temporaries(project) + ([str(p) for p in tmp_dir.iterdir()] if tmp_dir.is_dir() else [])
    return ConcurrencyOutcome(n, codes, len(manifests), verified, problems, cache_ok, _store_consistent(project),
                              len(entries), leftovers)
