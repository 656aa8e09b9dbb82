"""Strict input everywhere: manifests, repro.yaml, tolerance rules and keys.

Every malformed input must end in one line and exit 2 (3 when it is an integrity matter, such
as an unsafe path), never a traceback and never a hang. The bulk runs in-process through the
library; a sample goes through the real CLI to prove the line and the exit code users see.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from repro import config
from repro.evidence import jsonio, signing
from repro.compare import load_rules
from repro.errors import INTEGRITY, INVALID, SigningKeyError, UsageError
from repro.evidence.manifest import Manifest
from repro.replay.orchestrate import load_rules_file
from tests.conftest import examples
from tests.hardening.cases import (
    consume_manifest,
    describe,
    dump,
    is_clean,
    malformed_configs,
    malformed_keys,
    malformed_manifests,
    malformed_rules,
    nodes,
    outcome,
    set_at,
    signatures_region,
)

FAST = settings(max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                         HealthCheck.too_slow])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


def one_line_failures(cases, check) -> list[str]:
    """Run `check` on every case; return a description of each that did not end cleanly."""
    return [f"{case.label}: {describe(err)}" for case in cases if not is_clean(err := check(case))]


# --- manifests, in-process ------------------------------------------------------------------------


def test_every_malformed_manifest_ends_in_one_clean_error(signed):
    reference = Manifest.from_bytes(signed.raw)
    trusted = signed.trusted()
    cases = list(malformed_manifests(signed.raw))
    assert len(cases) > 300
    assert one_line_failures(cases, lambda c: consume_manifest(c.data, trusted, reference)) == []


def test_malformed_manifest_files_are_refused_when_loaded(signed, tmp_path):
    """The file path (Manifest.load) applies the same checks plus the size bound, read-limited."""
    cases = [c for i, c in enumerate(malformed_manifests(signed.raw)) if i % 7 == 0]
    target = tmp_path / "m.json"
    trusted = signed.trusted()

    def check(case):
        target.write_bytes(case.data)
        return outcome(lambda: Manifest.load(target).verify(trusted))

    assert one_line_failures(cases, check) == []


def test_a_manifest_path_that_is_not_a_regular_file_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.json"
    zero.symlink_to("/dev/zero")
    for path, message in ((fifo, "is not a regular file"), (zero, "is not a regular file"),
                          (tmp_path, "is a directory"), (tmp_path / "absent.json", "no such file")):
        err = outcome(lambda: Manifest.load(path))
        assert is_clean(err, (INVALID,)) and message in str(err), describe(err)


@FAST
@given(data=st.binary(max_size=2048))
def test_arbitrary_bytes_are_never_a_manifest(data):
    assert is_clean(outcome(lambda: Manifest.from_bytes(data)))


@FAST
@given(value=JSON)
def test_arbitrary_json_is_never_a_manifest(value):
    assert is_clean(outcome(lambda: Manifest.from_bytes(json.dumps(value).encode())))


@FAST
@given(data=st.data())
def test_a_random_value_anywhere_in_a_real_manifest_is_caught(signed, data):
    doc = json.loads(signed.raw)
    paths = [p for p, _ in nodes(doc) if p[0] != "signatures"]
    path = data.draw(st.sampled_from(paths), label="path")
    value = data.draw(JSON, label="value")
    old = doc
    for p in path:
        old = old[p]
    assume(outcome(lambda: jsonio.canonical_bytes(value)) is None)
    assume(jsonio.canonical_bytes(value) != jsonio.canonical_bytes(old))
    err = consume_manifest(dump(set_at(doc, path, value)), signed.trusted(), Manifest.from_bytes(signed.raw))
    assert is_clean(err), describe(err)


@FAST
@given(data=st.data())
def test_a_random_byte_anywhere_in_the_signed_content_is_caught(signed, data):
    end, _ = signatures_region(signed.raw)
    offset = data.draw(st.integers(0, end - 1), label="offset")
    byte = data.draw(st.integers(0, 255).filter(lambda b: b not in b" \t\r\n"), label="byte")
    assume(byte != signed.raw[offset])
    mutated = bytearray(signed.raw)
    mutated[offset] = byte
    err = outcome(lambda: Manifest.from_bytes(bytes(mutated)).verify(signed.trusted()))
    assert is_clean(err), describe(err)


# --- repro.yaml -----------------------------------------------------------------------------------


def write_config(root: Path, data: bytes) -> None:
    (root / config.CONFIG_NAME).write_bytes(data)


def test_every_malformed_repro_yaml_ends_in_one_clean_error(tmp_path):
    cases = list(malformed_configs())
    assert len(cases) > 50

    def check(case):
        write_config(tmp_path, case.data)
        err = outcome(lambda: config.load_config(tmp_path))
        return err if isinstance(err, UsageError) else ValueError(f"not a usage error: {describe(err)}")

    assert one_line_failures(cases, check) == []


def test_repro_yaml_duplicate_keys_are_refused_not_silently_overridden(tmp_path):
    write_config(tmp_path, b"digest: sha256\ndigest: xxh3_128\n")
    err = outcome(lambda: config.load_config(tmp_path))
    assert is_clean(err, (INVALID,)) and "duplicate key 'digest'" in str(err)


def test_repro_yaml_that_is_not_a_regular_file_is_refused_without_blocking(tmp_path):
    for make in (lambda p: os.mkfifo(p), lambda p: p.symlink_to("/dev/zero"), lambda p: p.mkdir()):
        root = tmp_path / f"r{len(list(tmp_path.iterdir()))}"
        root.mkdir()
        make(root / config.CONFIG_NAME)
        assert is_clean(outcome(lambda: config.load_config(root)), (INVALID,))


@FAST
@given(data=st.binary(max_size=512))
def test_arbitrary_bytes_as_repro_yaml_give_a_config_or_a_usage_error(tmp_path_factory, data):
    root = tmp_path_factory.mktemp("cfg")
    write_config(root, data)
    err = outcome(lambda: config.load_config(root))
    assert err is None or (isinstance(err, UsageError) and is_clean(err, (INVALID,))), describe(err)


@FAST
@given(value=JSON)
def test_arbitrary_yaml_values_give_a_config_or_a_usage_error(tmp_path_factory, value):
    root = tmp_path_factory.mktemp("cfg")
    write_config(root, yaml.safe_dump(value).encode())
    err = outcome(lambda: config.load_config(root))
    assert err is None or (isinstance(err, UsageError) and is_clean(err, (INVALID,))), describe(err)


# --- tolerance rules ------------------------------------------------------------------------------


def test_every_malformed_rules_file_ends_in_one_clean_error(tmp_path):
    cases = list(malformed_rules())
    assert len(cases) > 30
    target = tmp_path / "rules.yaml"

    def check(case):
        target.write_bytes(case.data)
        err = outcome(lambda: load_rules_file(target, {}))
        return err if isinstance(err, UsageError) else ValueError(f"not a usage error: {describe(err)}")

    assert one_line_failures(cases, check) == []


@FAST
@given(value=JSON)
def test_arbitrary_rules_give_a_rule_set_or_a_usage_error(value):
    err = outcome(lambda: load_rules(value if not isinstance(value, dict) else {"rules": [value]}))
    assert err is None or (isinstance(err, UsageError) and is_clean(err, (INVALID,))), describe(err)


# --- keys -----------------------------------------------------------------------------------------


def test_every_malformed_key_ends_in_one_clean_error(signed, tmp_path):
    good_private = signed.private_key.read_bytes()
    good_public = signed.public_key.read_bytes()
    failures = []
    for n, (name, kind, data) in enumerate(malformed_keys(good_private, good_public)):
        path = tmp_path / f"k{n}.pem"
        path.write_bytes(data)
        path.chmod(0o600)
        load = signing.load_private_key if kind == "private" else signing.load_public_key
        err = outcome(lambda: load(path))
        if not (isinstance(err, SigningKeyError) and is_clean(err, (INVALID,))):
            failures.append(f"{name}: {describe(err)}")
    assert failures == []


@FAST
@given(data=st.binary(max_size=1024), kind=st.sampled_from(["private", "public"]),
       pem=st.booleans())
def test_arbitrary_bytes_as_a_key_are_a_signing_key_error(tmp_path_factory, data, kind, pem):
    if pem:  # the right armour around garbage gets further into the parser
        label = "PRIVATE KEY" if kind == "private" else "PUBLIC KEY"
        data = b"-----BEGIN " + label.encode() + b"-----\n" + data + b"\n-----END " + label.encode() + b"-----\n"
    path = tmp_path_factory.mktemp("key") / "k.pem"
    path.write_bytes(data)
    path.chmod(0o600)
    load = signing.load_private_key if kind == "private" else signing.load_public_key
    err = outcome(lambda: load(path))
    assert isinstance(err, SigningKeyError) and is_clean(err, (INVALID,)), describe(err)


@pytest.mark.parametrize("kind", ["private", "public"])
def test_a_key_that_is_not_a_regular_file_is_refused_without_blocking(tmp_path, kind):
    load = signing.load_private_key if kind == "private" else signing.load_public_key
    fifo = tmp_path / "fifo.pem"
    os.mkfifo(fifo, 0o600)
    zero = tmp_path / "zero.pem"
    zero.symlink_to("/dev/zero")
    for path in (fifo, zero, tmp_path, tmp_path / "absent.pem"):
        err = outcome(lambda: load(path))
        assert isinstance(err, SigningKeyError) and is_clean(err, (INVALID,)), describe(err)


# --- the CLI, a representative sample ------------------------------------------------------------


def assert_one_line(result: subprocess.CompletedProcess, code: int) -> None:
    assert result.returncode == code, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("repro: error: "), result.stderr
    assert sum(line.startswith("repro: error") for line in lines) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def repro(*args: str, cwd: Path, xdg: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_CONFIG_HOME": str(xdg)}
    env.pop("REPRO_SIGNING_KEY", None)
    return subprocess.run([sys.executable, "-m", "repro", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


CLI_SAMPLE = ("truncated at byte 1", "duplicate key", "= NaN", "= 99999999999999999", "nesting 100000 deep",
              "UTF-16 (with BOM)", "4096 random bytes", "lone high surrogate escape", "wrong shape: no subject",
              "larger than the size limit")


def test_malformed_manifests_through_the_cli_are_one_line_exit_2(signed, tmp_path):
    cases = {}
    for case in malformed_manifests(signed.raw):
        for key in CLI_SAMPLE:
            if key in case.label and key not in cases:
                cases[key] = case
    assert set(cases) == set(CLI_SAMPLE)
    for n, (key, case) in enumerate(cases.items()):
        bad = tmp_path / f"bad{n}.json"
        bad.write_bytes(case.data)
        command = ("verify", "show", "export")[n % 3]
        assert_one_line(repro(command, str(bad), cwd=tmp_path, xdg=signed.xdg), INVALID)
    assert_one_line(repro("diff", str(signed.manifest), str(bad), cwd=tmp_path, xdg=signed.xdg), INVALID)


def test_unsafe_path_and_special_files_through_the_cli(signed, tmp_path):
    doc = json.loads(signed.raw)
    unsafe = tmp_path / "unsafe.json"
    unsafe.write_bytes(dump(set_at(doc, ("predicate", "outputs", 0, "path"), "../../etc")))
    assert_one_line(repro("verify", str(unsafe), cwd=tmp_path, xdg=signed.xdg), INTEGRITY)
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    assert_one_line(repro("verify", str(fifo), cwd=tmp_path, xdg=signed.xdg, timeout=20), INVALID)
    zero = tmp_path / "zero.json"
    zero.symlink_to("/dev/zero")
    assert_one_line(repro("show", str(zero), cwd=tmp_path, xdg=signed.xdg, timeout=20), INVALID)


def test_bad_config_rules_and_keys_through_the_cli_fail_before_anything_runs(signed, tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    marker = project / "ran"
    command = ("--", sys.executable, "-c", f"open({str(marker)!r}, 'w')")
    for text in (b"digest: sha256\ndigest: xxh3_128\n", next(c.data for c in malformed_configs() if c.label == "alias bomb"),
                 b"threads: 2020-13-45\n", b"inputs: " + b"[" * 2000 + b"]" * 2000 + b"\n"):
        (project / "repro.yaml").write_bytes(text)
        assert_one_line(repro("run", "--no-sign", *command, cwd=project, xdg=signed.xdg), INVALID)
    (project / "repro.yaml").unlink()
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"\x00\xff" * 100)
    garbage.chmod(0o600)
    assert_one_line(repro("run", "--key", str(garbage), *command, cwd=project, xdg=signed.xdg), INVALID)
    assert not marker.exists()
    assert_one_line(repro("verify", "--pubkey", str(garbage), str(signed.manifest), cwd=tmp_path, xdg=signed.xdg),
                    INVALID)
    rules = tmp_path / "rules.yaml"
    rules.write_bytes(b"rules: [{match: '*.npy', allclose: {rtol: .nan}}]\n")
    result = repro("replay", "--rules", str(rules), str(signed.manifest), cwd=signed.project, xdg=signed.xdg)
    assert_one_line(result, INVALID)
    assert "rules[0].allclose.rtol" in result.stderr
