"""Bad bundles are refused cleanly: exit 2 or 3, one line, nothing extracted anywhere.

Every family is made from a real bundle written by `repro pack`, altered in exactly one way
(the index left as signed, unless the family is about the index), and given to the real CLI.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repro.bundle.index import INDEX, MARKER, BundleIntegrityError, InvalidBundleError
from repro.bundle.unpack import unpack, verify_bundle
from repro.errors import ReproError
from repro.evidence import signing
from tests.bundle.conftest import read_members, regular, resign_index, special, write_members
from tests.conftest import repro_cli


def _before_index(members: list, *extra) -> list:
    return [*members[:-1], *extra, members[-1]]


def _absolute(members, outside: Path):
    return _before_index(members, regular(str(outside / "evil"), b"x"))


def _dotdot(members, outside: Path):
    return _before_index(members, regular("inputs/../../outside/evil", b"x"))


def _symlink_out(members, outside: Path):
    return _before_index(members, special("inputs/link", tarfile.SYMTYPE, str(outside)),
                         regular("inputs/link/evil", b"x"))


def _symlink_relative_out(members, outside: Path):
    return _before_index(members, special("inputs/link", tarfile.SYMTYPE, "../../outside"))


def _symlink_inside(members, outside: Path):
    return _before_index(members, special("inputs/link", tarfile.SYMTYPE, "data"))


def _hardlink_out(members, outside: Path):
    return _before_index(members, special("inputs/hard", tarfile.LNKTYPE, str(outside / "victim")))


def _hardlink_relative_out(members, outside: Path):
    return _before_index(members, special("inputs/hard", tarfile.LNKTYPE, "../outside/victim"))


def _char_device(members, outside: Path):
    return _before_index(members, special("inputs/dev", tarfile.CHRTYPE))


def _block_device(members, outside: Path):
    return _before_index(members, special("inputs/blk", tarfile.BLKTYPE))


def _fifo(members, outside: Path):
    return _before_index(members, special("inputs/fifo", tarfile.FIFOTYPE))


def _duplicate(members, outside: Path):
    info, data = next((i, d) for i, d in members if i.name.startswith("inputs/") and i.isreg())
    return _before_index(members, (info, data))


def _not_in_index(members, outside: Path):
    return _before_index(members, regular("inputs/extra.csv", b"1,2,3\n"))


def _not_matching(members, outside: Path):
    out = []
    for info, data in members:
        if info.name.startswith("inputs/") and info.isreg():
            data = bytes([data[0] ^ 1]) + data[1:]  # same size, other bytes
        out.append((info, data))
    return out


def _missing_member(members, outside: Path):
    return [(i, d) for i, d in members if not i.name.startswith("store/")]


def _after_index(members, outside: Path):
    return [*members, regular("late", b"x")]


def _no_index(members, outside: Path):
    return members[:-1]


def _marker_not_first(members, outside: Path):
    return [members[1], members[0], *members[2:]]


def _untrusted(members, outside: Path):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return resign_index(members, Ed25519PrivateKey.generate())


def _index_edited(members, outside: Path):
    out = []
    for info, data in members:
        if info.name == INDEX:
            data = data.replace(b'"run_id": "', b'"run_id": "x', 1)
        out.append((info, data))
    return out


FAMILIES = {
    "absolute path": (_absolute, 3),
    "dot-dot": (_dotdot, 3),
    "symlink leaving the tree": (_symlink_out, 3),
    "relative symlink leaving the tree": (_symlink_relative_out, 3),
    "symlink inside the tree": (_symlink_inside, 3),
    "hard link leaving the tree": (_hardlink_out, 3),
    "relative hard link leaving the tree": (_hardlink_relative_out, 3),
    "character device": (_char_device, 3),
    "block device": (_block_device, 3),
    "fifo": (_fifo, 3),
    "duplicate name": (_duplicate, 3),
    "member not in the index": (_not_in_index, 3),
    "member not matching the index": (_not_matching, 3),
    "member listed but missing": (_missing_member, 3),
    "member after the index": (_after_index, 3),
    "no index": (_no_index, 3),
    "marker not first": (_marker_not_first, 2),
    "index signed by an untrusted key": (_untrusted, 3),
    "index edited after signing": (_index_edited, 3),
}


def _tree(path: Path) -> list[str]:
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*")) if path.exists() else []


def _assert_refused(result, code: int, target: Path, outside: Path) -> None:
    assert result.returncode == code, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("repro: error: "), result.stderr
    assert "Traceback" not in result.stderr
    assert _tree(target) == [], "something was extracted into the target"
    assert _tree(outside) == ["victim"], "something was written outside the target"


@pytest.fixture
def places(tmp_path) -> tuple[Path, Path]:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim").write_text("untouched\n")
    return tmp_path / "work" / "target", outside


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_malformed_bundle_is_refused_by_unpack_verify_and_replay(family, packed, places, tmp_path):
    target, outside = places
    make, code = FAMILIES[family]
    bad = write_members(tmp_path / "bad.repro.tar", make(read_members(packed.bundle), outside))
    target.parent.mkdir(parents=True)
    _assert_refused(repro_cli("unpack", str(bad), "-C", str(target), cwd=target.parent, env=packed.env),
                    code, target, outside)
    _assert_refused(repro_cli("verify", str(bad), cwd=target.parent, env=packed.env), code, target, outside)
    if code == 3:  # a bundle that is not one at all goes to the manifest reader, which refuses it too
        replayed = repro_cli("replay", str(bad), cwd=target.parent, env=packed.env)
        _assert_refused(replayed, code, target, outside)
        assert not (target.parent / ".repro").exists(), "a refused bundle must not leave a replay behind"


def _cut_at(bundle: Path, where: str) -> int:
    """A length that ends inside a member's data (or, for 'header', inside the index's header)."""
    with tarfile.open(bundle) as tf:
        members = tf.getmembers()
    index = members[-1]
    largest = max(members, key=lambda m: m.size)
    return {"half of the largest member": largest.offset_data + largest.size // 2,
            "inside the index": index.offset_data + index.size // 2,
            "inside the index header": index.offset + 100,
            "first block": 1024}[where]


@pytest.mark.parametrize("where", ["half of the largest member", "inside the index", "inside the index header",
                                   "first block"])
def test_truncated_bundle_is_refused(where, packed, places, tmp_path):
    target, outside = places
    data = packed.bundle.read_bytes()
    size = _cut_at(packed.bundle, where)
    bad = tmp_path / "cut.repro.tar"
    bad.write_bytes(data[:size])
    target.parent.mkdir(parents=True)
    result = repro_cli("unpack", str(bad), "-C", str(target), cwd=target.parent, env=packed.env)
    _assert_refused(result, 3, target, outside)
    assert "truncated" in result.stderr


def test_empty_bundle_is_refused_with_exit_2(packed, places, tmp_path):
    target, outside = places
    empty = tmp_path / "empty.repro.tar"
    empty.write_bytes(b"")
    target.parent.mkdir(parents=True)
    result = repro_cli("unpack", str(empty), "-C", str(target), cwd=target.parent, env=packed.env)
    _assert_refused(result, 2, target, outside)
    assert "0 bytes" in result.stderr


def test_the_untrusted_index_message_names_the_signer(packed, places, tmp_path):
    target, outside = places
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    other = Ed25519PrivateKey.generate()
    bad = write_members(tmp_path / "other.repro.tar", resign_index(read_members(packed.bundle), other))
    result = repro_cli("verify", str(bad), env=packed.env)
    assert result.returncode == 3 and signing.key_id(other.public_key())[:16] in result.stderr


def test_a_file_named_like_a_bundle_that_is_not_one_is_not_taken_for_one(packed, tmp_path):
    fake = tmp_path / "fake.repro.tar"
    with tarfile.open(fake, "w") as tf:
        info, data = regular("notes.txt", b"hello\n")
        import io

        tf.addfile(info, io.BytesIO(data))
    from repro.bundle import is_bundle

    assert not is_bundle(fake)
    assert is_bundle(packed.bundle)
    renamed = tmp_path / "plain-name"
    renamed.write_bytes(packed.bundle.read_bytes())
    assert is_bundle(renamed), "detection is by content, not by file name"
    assert repro_cli("verify", str(renamed), env=packed.env).returncode == 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_single_byte_change_is_refused_or_harmless(packed, tmp_path_factory, data):
    """Property: flipping any one byte of a bundle either is refused with a repro error, or leaves
    a bundle whose verified members are byte for byte those of the original (the byte was padding)."""
    from repro.evidence.verify import trusted_keys

    raw = bytearray(packed.bundle.read_bytes())
    pos = data.draw(st.integers(0, len(raw) - 1))
    raw[pos] ^= data.draw(st.integers(1, 255))
    base = tmp_path_factory.mktemp("flip")
    bad = base / "flip.repro.tar"
    bad.write_bytes(bytes(raw))
    trusted = trusted_keys([packed.key.with_name(signing.PUBLIC_KEY_NAME)])
    target = base / "target"
    try:
        unpack(bad, target, trusted, progress=False)
    except (BundleIntegrityError, InvalidBundleError) as e:
        assert e.exit_code in (2, 3) and "\n" not in e.message
        assert _tree(target) == []
        return
    except ReproError as e:  # any other refusal must still be one of ours, with an outcome code
        assert e.exit_code in (2, 3), e
        return
    original = {i.name: d for i, d in read_members(packed.bundle) if d is not None}
    for name, content in original.items():
        assert (target / name).read_bytes() == content


def test_library_verify_returns_the_index(packed):
    from repro.evidence.verify import trusted_keys

    verified = verify_bundle(packed.bundle, trusted_keys([packed.key.with_name(signing.PUBLIC_KEY_NAME)]))
    names = {m.name for m in verified.index.members}
    assert MARKER in names and "manifest/manifest.json" in names and "code/repo.bundle" in names
    assert any(n.startswith("inputs/") for n in names) and any(n.startswith("store/") for n in names)
