"""`.npz` archives: the same set of arrays on both sides, each compared like an .npy.

Members of a zip cannot be memory-mapped, so each array is read from its decompressing stream
one chunk at a time; an archive of large arrays needs no more memory than one chunk per side.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from contextlib import ExitStack
from pathlib import Path
from typing import cast

from repro.compare.arrays import ArrayFormat, Errors, compare_arrays
from repro.compare.bytewise import first_difference
from repro.compare.format import Side, reading
from repro.compare.stats import ErrorStats
from repro.compare.verdict import Verdict

# What zipfile and zlib raise for a damaged archive (bad CRC, bad deflate data, cut short).
ZIP_ERRORS: Errors = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, ValueError)


class NpzFormat(ArrayFormat):
    """Key sets must match exactly; then every array as in `NpyFormat`, and the verdict reports
    the worst array. A member that is not an .npy array is compared byte for byte."""

    kind = "an .npz archive"

    def compare(self, name: str, recorded: Path, replayed: Path) -> Verdict:
        with ExitStack() as stack:
            rec_zip = stack.enter_context(_open_zip(recorded, "recorded"))
            rep_zip = stack.enter_context(_open_zip(replayed, "replayed"))
            rec_members, rep_members = _members(rec_zip), _members(rep_zip)
            missing = [k for k in rec_members if k not in rep_members]
            if missing:
                detail = f"array {missing[0]!r} missing from the replayed copy"
                return Verdict(name, "differs", self.label, detail, where=missing[0])
            extra = [k for k in rep_members if k not in rec_members]
            if extra:
                detail = f"unexpected array {extra[0]!r} in the replayed copy"
                return Verdict(name, "differs", self.label, detail, where=extra[0])
            stats = ErrorStats()
            for key, member in rec_members.items():
                with (
                    _open_member(rec_zip, member, "recorded") as a,
                    _open_member(rep_zip, rep_members[key], "replayed") as b,
                ):
                    if member.endswith(".npy"):
                        problem = compare_arrays(
                            a, b, self.tolerance, stats, chunk=self.chunk_elements, name=key, errors=ZIP_ERRORS
                        )
                    else:
                        problem = _compare_raw(key, a, b)
                if problem:
                    return Verdict(name, "differs", self.label, problem, where=key)
            return stats.verdict(name, self.label)


def _open_zip(path: Path, side: Side) -> zipfile.ZipFile:
    with reading(side, *ZIP_ERRORS):
        return zipfile.ZipFile(path)


def _open_member(archive: zipfile.ZipFile, member: str, side: Side) -> io.BufferedIOBase:
    with reading(side, *ZIP_ERRORS):
        return cast(io.BufferedIOBase, archive.open(member))  # a ZipExtFile, which is one


def _members(archive: zipfile.ZipFile) -> dict[str, str]:
    """Array key -> member name; numpy names a member `<key>.npy`."""
    out: dict[str, str] = {}
    for member in archive.namelist():
        out[member[: -len(".npy")] if member.endswith(".npy") else member] = member
    return out


def _compare_raw(key: str, a: io.BufferedIOBase, b: io.BufferedIOBase) -> str | None:
    offset = first_difference(a, b, ZIP_ERRORS)
    if offset is None:
        return None
    return f"member {key!r} is not an array and its bytes differ from offset {offset}"

