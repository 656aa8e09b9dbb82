"""`repro pack`: one file holding everything a replay needs, for a machine with no network.

The pack is planned first (every member named, every size known), then streamed into a tar in
one pass: each file is read once, in 1 MiB chunks, while sha256 (for the index) and the run's own
digest (to prove it is still the recorded input) are computed. A file that no longer matches
the manifest stops the pack (exit 3, naming it); the half-written bundle is removed, the output
is renamed into place only when complete.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import stat
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Callable

from repro.bundle import archive
from repro.bundle.index import (CODE_BUNDLE, CODE_TREE, IMAGE, IMAGE_FACTS, INDEX, INPUTS, MANIFEST, MANIFEST_DIR,
                                MARKER, RULES, STORE, Index, Member, marker_bytes)
from repro.data.digest import new_hasher
from repro.data.store import Store
from repro.errors import IntegrityError, ReproError, UsageError, WriteError
from repro.evidence import jsonio
from repro.evidence.manifest import Manifest, check_relpath
from repro.progress import Progress

Say = Callable[[str], None]
CHUNK = 1 << 20
MAX_MANIFEST_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class PackOptions:
    manifest_path: Path
    output: Path | None = None
    root: Path | None = None
    pubkeys: tuple[Path, ...] = ()
    key_path: Path | None = None
    include_image: bool = True
    include_inputs: bool = True
    rules_path: Path | None = None
    progress: bool | None = None


@dataclass(frozen=True)
class PackResult:
    path: Path
    keyid: str
    members: int
    parts_bytes: int  # the sum of the members' sizes
    bundle_bytes: int
    contents: dict


@dataclass
class _Part:
    """One member to write: bytes in memory (small: the marker, the manifest, the rules) or a file."""

    name: str
    what: str
    size: int = 0
    path: Path | None = None
    data: bytes | None = None
    recorded: dict | None = None  # the run's digest the bytes must still have
    kind: str = "file"
    executable: bool = False


@dataclass
class _Plan:
    parts: list[_Part] = field(default_factory=list)
    names: set[str] = field(default_factory=set)

    def add(self, part: _Part) -> None:
        if part.name in self.names:  # a file named twice (a file input inside a directory input)
            return
        self.names.add(part.name)
        self.parts.append(part)

    def add_file(self, name: str, path: Path, what: str, *, recorded: dict | None = None,
                 size: int | None = None, executable: bool = False) -> None:
        try:
            st = path.stat()
        except OSError as e:
            raise IntegrityError(f"{what} is missing or unreadable ({e.strerror or e}): refusing to pack") from e
        if not stat.S_ISREG(st.st_mode):
            raise UsageError(f"{what} is not a regular file: a bundle holds regular files only")
        if size is not None and st.st_size != size:
            raise IntegrityError(f"{what} changed since the run (size {st.st_size}, recorded {size}): refusing to pack")
        self.add(_Part(name, what, st.st_size, path, recorded=recorded, executable=executable))


def default_output(manifest: Manifest) -> Path:
    return Path(f"{manifest.predicate['run_id']}.repro.tar")


def _git(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True)


def _git_bundle(root: Path, commit: str, branch: str | None, scratch: Path) -> Path:
    """`git bundle` of the recorded commit and its history, as branch `branch` (or `recorded`) with
    HEAD on it, so a plain `git clone` of the bundle checks out the recorded tree. The refs are made
    in a scratch repository that borrows the user's objects (git alternates): the user's
    repository is only read, and no object is copied before the bundle is written."""
    common = _git(root, "rev-parse", "--path-format=absolute", "--git-common-dir")
    if common.returncode != 0:
        raise UsageError(f"the run was recorded in a git repository, but {root} is not one: pass --root")
    objects = Path(common.stdout.decode().strip()) / "objects"
    repo = scratch / "refs.git"
    if _git(scratch, "init", "-q", "--bare", str(repo)).returncode != 0:
        raise ReproError("git init failed in the scratch directory")
    (repo / "objects" / "info" / "alternates").write_text(f"{objects}\n")
    ref = f"refs/heads/{branch or 'recorded'}"
    if _git(repo, "update-ref", ref, commit).returncode != 0:
        raise IntegrityError(f"recorded commit {commit[:12]} is not in the repository at {root}: cannot pack the code")
    _git(repo, "symbolic-ref", "HEAD", ref)
    dest = scratch / "repo.bundle"
    out = _git(repo, "bundle", "create", "-q", str(dest), "HEAD", ref)
    if out.returncode != 0:
        message = out.stderr.decode(errors="replace").strip().splitlines()
        raise ReproError(f"git bundle failed: {message[-1] if message else out.returncode}")
    return dest


def _plan_code(plan: _Plan, manifest: Manifest, root: Path, scratch: Path) -> str:
    code = manifest.predicate["code"]
    if code["kind"] == "tree":
        for f in code["files"]:
            if f.get("link") is not None:
                raise UsageError(f"code file {f['path']} is a symbolic link: a bundle holds regular files only")
            rel = check_relpath(f["path"], what="code path").as_posix()
            plan.add_file(f"{CODE_TREE}/{rel}", root / rel, f"code file {rel}", recorded=f["digest"], size=f["size"],
                          executable=f.get("executable", False))
        return "tree"
    if code.get("secrets_masked"):
        raise UsageError(f"the saved diff had {code['secrets_masked']} credential-shaped value(s) masked, so the "
                         "code that ran cannot be rebuilt from it: a bundle of this run would not replay")
    if not code.get("commit"):
        raise UsageError("the run was recorded in a git repository without a commit: there is no code to bundle")
    bundle = _git_bundle(root, code["commit"], code.get("branch"), scratch)
    plan.add_file(CODE_BUNDLE, bundle, "the git bundle of the recorded commit")
    return "git-bundle"


def _plan_inputs(plan: _Plan, manifest: Manifest, root: Path) -> int:
    count = 0
    for art in manifest.predicate["inputs"]:
        if art.get("state"):
            continue  # its content before the run is in the store, packed with the stored outputs
        rel = check_relpath(art["path"], what="input path").as_posix()
        if art["kind"] == "directory":
            plan.add(_Part(f"{INPUTS}/{rel}", f"input {rel}", kind="directory"))
        for f in art.get("files", [art]) if art["kind"] == "directory" else [art]:
            if f.get("link") is not None:
                raise UsageError(f"input {f['path']} is a symbolic link: a bundle holds regular files only")
            frel = check_relpath(f["path"], what="input path").as_posix()
            plan.add_file(f"{INPUTS}/{frel}", root / frel, f"input {frel}", recorded=f["digest"], size=f["size"],
                          executable=f.get("executable", False))
            count += 1
    return count


def _plan_outputs(plan: _Plan, manifest: Manifest, root: Path, say: Say) -> tuple[int, list[str]]:
    """The recorded output bytes, from the output store (else the project, when still unchanged), so
    a replay can compare within tolerance on a machine that never saw the run."""
    from repro.data.digest import digest_file

    store = Store.for_project(root)
    stored, missing = 0, []
    state = [a for a in manifest.predicate["inputs"] if a.get("state")]  # a replay restores these from the store
    for art in [*manifest.predicate["outputs"], *state]:
        for f in art.get("files", [art]) if art["kind"] == "directory" else [art]:
            ((algorithm, value),) = f["digest"].items()
            name = f"{STORE}/{algorithm}/{value[:2]}/{value}"
            try:
                source = store.path_for(f["digest"])
            except ValueError:
                source = None
            if source is None or not source.is_file():
                candidate = root / check_relpath(f["path"], what="output path")
                try:
                    ok = candidate.is_file() and digest_file(candidate, algorithm) == f["digest"]
                except OSError:
                    ok = False
                source = candidate if ok else None
            if source is None:
                missing.append(f["path"])
                continue
            plan.add_file(name, source, f"stored output {f['path']}", recorded=f["digest"], size=f["size"])
            stored += 1
    if missing:
        say(f"warning: {len(missing)} recorded output(s) are neither in the store nor unchanged on disk "
            f"({', '.join(missing[:3])}): a replay of the bundle can compare them by digest only")
    return stored, missing


def _plan_image(plan: _Plan, manifest: Manifest, root: Path, scratch: Path, say: Say) -> bool:
    from repro.runners.docker.archive import save_image

    image = manifest.predicate["runner"].get("image") or {}
    image_id = image.get("id")
    if not isinstance(image_id, str) or not image_id.startswith("sha256:"):
        raise UsageError("the manifest names no image ID to save: pack with --no-image")
    target = scratch / "image.tar"
    say(f"saving image {image_id[:19]} from the engine")
    with open(target, "wb") as out:
        save_image(image_id, out)
    plan.add_file(IMAGE, target, f"the export of image {image_id[:19]}")
    facts = root / ".repro" / "cache" / "images" / f"{image_id.split(':', 1)[1]}.json"
    if facts.is_file():
        plan.add_file(IMAGE_FACTS, facts, "the probed image facts")
    return True


def _rules_bytes(root: Path, rules_path: Path | None) -> bytes:
    """The tolerance rules in force: `--rules FILE` as given, else the `verify:` of repro.yaml."""
    from repro.config import load_config
    from repro.replay.orchestrate import load_rules_file

    if rules_path is not None:
        load_rules_file(rules_path, {})
        return rules_path.read_bytes()
    verify = load_config(root).get("verify")
    load_rules_file(None, {"verify": verify})
    return jsonio.pretty_bytes(verify if verify else {"rules": []})


class _Reading:
    """A file object that hashes what tarfile copies out of it and advances the progress line."""

    def __init__(self, f: BinaryIO, hashers: list, progress: Progress) -> None:
        self.f, self.hashers, self.progress = f, hashers, progress

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(n)
        for h in self.hashers:
            h.update(data)
        self.progress.advance(nbytes=len(data))
        return data


def _tarinfo(name: str, size: int, *, kind: str = "file", executable: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mtime = 0  # a bundle's bytes depend on its content only
    if kind == "directory":
        info.type, info.mode = tarfile.DIRTYPE, 0o755
    else:
        info.size, info.mode = size, 0o755 if executable else 0o644
    return info


def _write_part(tf: tarfile.TarFile, part: _Part, progress: Progress) -> Member:
    if part.kind == "directory":
        tf.addfile(_tarinfo(part.name, 0, kind="directory"))
        return Member(part.name, 0, "", "directory")
    if part.data is not None:
        tf.addfile(_tarinfo(part.name, len(part.data)), io.BytesIO(part.data))
        progress.advance(files=1, nbytes=len(part.data))
        return Member(part.name, len(part.data), hashlib.sha256(part.data).hexdigest())
    assert part.path is not None
    sha = hashlib.sha256()
    hashers = [sha]
    run_hasher = None
    if part.recorded is not None:
        ((algorithm, _),) = part.recorded.items()
        if algorithm != "sha256":
            run_hasher = new_hasher(algorithm)
            hashers.append(run_hasher)
    try:
        with open(part.path, "rb") as f:
            try:
                tf.addfile(_tarinfo(part.name, part.size, executable=part.executable), _Reading(f, hashers, progress))
            except OSError as e:
                if isinstance(e, WriteError) or "unexpected end of data" not in str(e):
                    raise
                raise IntegrityError(f"{part.what} changed while it was packed (it became shorter)") from e
            grew = f.read(1)
    except FileNotFoundError as e:
        raise IntegrityError(f"{part.what} disappeared while it was packed") from e
    if grew:
        raise IntegrityError(f"{part.what} changed while it was packed (it grew)")
    if part.recorded is not None:
        ((algorithm, value),) = part.recorded.items()
        got = (run_hasher or sha).hexdigest()
        if got != value:
            raise IntegrityError(f"{part.what} does not match its recorded digest: it changed since the run; "
                                 "refusing to pack")
    progress.advance(files=1)
    return Member(part.name, part.size, sha.hexdigest())


def pack(opts: PackOptions, *, say: Say, load_key: Callable[[], object]) -> PackResult:
    from repro.config import find_project_root
    from repro.evidence.verify import trusted_keys

    raw = jsonio.read_regular(opts.manifest_path, limit=MAX_MANIFEST_BYTES, what=f"manifest {opts.manifest_path}")
    manifest = Manifest.from_bytes(raw, what=f"manifest {opts.manifest_path}")
    try:
        keyid = manifest.verify(trusted_keys(opts.pubkeys))
    except ReproError as e:
        raise IntegrityError(f"{e}; refusing to pack a manifest that nothing vouches for") from e
    key = load_key()
    root = (opts.root or find_project_root(Path.cwd())).resolve()
    output = opts.output or default_output(manifest)
    compress = archive.wants_zstd(output)
    if compress and not archive.zstd_available():
        raise UsageError(f"{output.name}: a .tar.zst bundle needs the zstandard package (pip install zstandard)")
    pred = manifest.predicate
    docker_run = pred["runner"]["name"] == "docker"
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".repro-pack-", dir=output.parent))
    except OSError as e:
        raise WriteError(f"cannot write {output}: {e.strerror or e}") from e
    try:
        plan = _Plan()
        plan.add(_Part(MARKER, "the bundle marker", data=marker_bytes()))
        plan.add(_Part(MANIFEST, "the manifest", data=raw))
        sidecars = [pred["logs"]["stdout"], pred["logs"]["stderr"], *([pred["code"]["diff"]] if pred["code"].get("diff") else [])]
        for entry in sidecars:
            name = check_relpath(entry["path"], what="file name").as_posix()
            plan.add_file(f"{MANIFEST_DIR}/{name}", opts.manifest_path.parent / name, f"{name} (beside the manifest)",
                          recorded=entry["digest"], size=entry["size"])
        contents: dict = {"code": _plan_code(plan, manifest, root, scratch)}
        plan.add(_Part(RULES, "the tolerance rules", data=_rules_bytes(root, opts.rules_path)))
        contents["inputs"] = _plan_inputs(plan, manifest, root) if opts.include_inputs else "left out (--no-inputs)"
        stored, missing = _plan_outputs(plan, manifest, root, say)
        contents["outputs_stored"] = stored
        contents["outputs_missing"] = missing
        if docker_run:
            contents["image"] = _plan_image(plan, manifest, root, scratch, say) if opts.include_image \
                else "left out (--no-image)"
        members = _write(output, plan, compress, manifest, contents, key, opts.progress)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return PackResult(output, keyid, len(members) + 1, sum(m.size for m in members), output.stat().st_size, contents)


def _write(output: Path, plan: _Plan, compress: bool, manifest: Manifest, contents: dict, key: object,
           progress_enabled: bool | None) -> list[Member]:
    files = [p for p in plan.parts if p.kind == "file"]
    fd, tmp = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out, Progress(progress_enabled, label="packing") as progress:
            progress.start(len(files), sum(p.size for p in files))
            with archive.writer(out, compress=compress) as tf:
                members = [_write_part(tf, part, progress) for part in plan.parts]
                index = Index(manifest.predicate["run_id"], manifest.digest(), contents, tuple(members)).signed_with(key)
                data = index.to_bytes()
                tf.addfile(_tarinfo(INDEX, len(data)), io.BytesIO(data))
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, output)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(e, OSError) and not isinstance(e, ReproError):
            raise WriteError(f"cannot write {output}: {e.strerror or e}") from e
        raise
    return members
