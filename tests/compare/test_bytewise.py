from __future__ import annotations

import io

import pytest

from repro.compare import bytewise
from repro.compare.bytewise import byte_difference, first_difference
from repro.compare.format import Unreadable


@pytest.mark.parametrize(
    ("a", "b", "offset"),
    [
        (b"", b"", None),
        (b"abcdef", b"abcdef", None),
        (b"abcdef", b"abcxef", 3),
        (b"abc", b"abcdef", 3),
        (b"abcdef", b"abc", 3),
        (b"", b"a", 0),
    ],
)
def test_first_difference(a: bytes, b: bytes, offset: int | None, monkeypatch: pytest.MonkeyPatch) -> None:
    assert first_difference(io.BytesIO(a), io.BytesIO(b)) == offset
    monkeypatch.setattr(bytewise, "CHUNK", 2)  # the same answers across chunk boundaries
    assert first_difference(io.BytesIO(a), io.BytesIO(b)) == offset


def test_read_errors_name_the_side() -> None:
    class Broken(io.BytesIO):
        def read(self, n: int = -1) -> bytes:
            raise OSError("device gone")

    with pytest.raises(Unreadable) as info:
        first_difference(io.BytesIO(b"x"), Broken())
    assert (info.value.side, info.value.reason) == ("replayed", "device gone")


def test_byte_difference_on_files(tmp_path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"x" * 10)
    b.write_bytes(b"x" * 10)
    assert byte_difference(a, b) is None
    b.write_bytes(b"x" * 9 + b"y")
    assert byte_difference(a, b) == "bytes differ from offset 9"
    b.write_bytes(b"x")
    assert byte_difference(a, b) == "sizes differ (10 != 1 bytes)"
