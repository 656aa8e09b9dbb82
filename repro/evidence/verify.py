"""`repro verify`: strict parse, schema, signature, then the recorded files on disk.

Each step stops at the first failure with a message that names the file or field, because an
auditor needs to know *what* failed, not only that something did.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from repro.evidence import signing, subjects
from repro.data.digest import FileEntry, digest_file, fingerprint, tree_root_digest
from repro.errors import IntegrityError, ReproError
from repro.evidence.manifest import Manifest, check_relpath


@dataclass(frozen=True)
class VerifyResult:
    manifest: Manifest
    keyid: str | None
    files_checked: int


def trusted_keys(pubkeys: tuple[Path, ...] | list[Path], *, include_default: bool = True) -> list:
    keys = [signing.load_public_key(p) for p in pubkeys]
    if include_default and not pubkeys:
        default = signing.default_public_key_path()
        if default.exists():
            keys.append(signing.load_public_key(default))
    return keys


def check_sidecar(manifest_path: Path, entry: dict) -> Path:
    """A file beside the manifest (a log, the code diff) that must match its recorded digest."""
    path = manifest_path.parent / check_relpath(entry["path"], what="file name")
    if not path.is_file():
        raise IntegrityError(f"{entry['path']} (beside the manifest) is missing")
    if digest_file(path, next(iter(entry["digest"]))) != entry["digest"]:
        raise IntegrityError(f"{entry['path']} (beside the manifest) does not match its recorded digest")
    return path


def check_sidecars(manifest: Manifest, manifest_path: Path) -> int:
    """Logs and the code diff beside the manifest must match their recorded digests."""
    pred = manifest.predicate
    sidecars = [pred["logs"]["stdout"], pred["logs"]["stderr"]]
    if pred["code"].get("kind") == "git" and pred["code"].get("diff"):
        sidecars.append(pred["code"]["diff"])
    for s in sidecars:
        check_sidecar(manifest_path, s)
    return len(sidecars)


def recorded_root_digest(art: dict, algorithm: str) -> dict | None:
    """The root digest a directory's recorded file list gives (None: no list, or another algorithm)."""
    files = art.get("files")
    if files is None or any(algorithm not in f["digest"] for f in files):
        return None
    entries = [FileEntry(f["path"], f["size"], f["digest"], f.get("executable", False), f.get("link")) for f in files]
    return tree_root_digest(entries, algorithm)


def check_file_lists(manifest: Manifest, facets: tuple[str, ...] = ("inputs", "outputs")) -> None:
    """A directory's root digest must be the digest of its recorded file list: otherwise the list
    (what `verify` compares file by file) says something the root digest does not vouch for."""
    pred = manifest.predicate
    algorithm = pred["digest_algorithm"]
    for facet in facets:
        for art in pred[facet]:
            if art["kind"] != "directory":
                continue
            if art.get("files") is not None and recorded_root_digest(art, algorithm) != {algorithm: art["digest"].get(algorithm)}:
                raise IntegrityError(f"{facet[:-1]} directory {art['path']}: its root digest is not the digest of its "
                                     "recorded file list")
            if art.get("files") is not None and art["size"] != sum(f["size"] for f in art["files"]):
                raise IntegrityError(f"{facet[:-1]} directory {art['path']}: its size is not the sum of its recorded "
                                     "files' sizes")


def check_artifacts(manifest: Manifest, root: Path, facets: tuple[str, ...] = ("inputs", "outputs")) -> int:
    """Recorded inputs and outputs under `root` still match, file by file, and each directory's
    file list matches its root digest. A state file's input entry is its content before the run,
    which the run itself replaced: it lives in the store."""
    check_file_lists(manifest, facets)
    pred = manifest.predicate
    algorithm = pred["digest_algorithm"]
    records = [(facet[:-1], art) for facet in facets for art in pred[facet]
               if not (facet == "inputs" and art.get("state"))]
    paths = []
    for label, art in records:
        path = root / check_relpath(art["path"], what=f"{label} path")
        if not path.exists():
            raise IntegrityError(f"{label} {art['path']} is missing")
        paths.append(path)
    # One pass over every recorded path, so the hashing runs in parallel across all of them.
    # No stat cache: a check that vouches for files reads them.
    current = fingerprint(paths, root, algorithm) if paths else []
    checked = 0
    for (label, art), now in zip(records, current):
        if now.digest == art["digest"]:
            checked += max(1, len(art.get("files", [])))
            continue
        if art["kind"] == "directory" and now.kind == "directory" and art.get("files"):
            before = {f["path"]: f["digest"] for f in art["files"]}
            after = {f.path: f.digest for f in now.files}
            for name in sorted(before.keys() | after.keys()):
                if name not in after:
                    raise IntegrityError(f"{label} {name} is missing")
                if name not in before:
                    raise IntegrityError(f"{label} directory {art['path']} has a new file {name}")
                if before[name] != after[name]:
                    raise IntegrityError(f"{label} {name} does not match its recorded digest")
        raise IntegrityError(f"{label} {art['path']} does not match its recorded digest")
    return checked


def check_subjects(manifest: Manifest, root: Path) -> int:
    """The sha256 subjects name the output files as they are now (schema version 2 on; the
    subjects of an older manifest are the predicate's own digests, checked above). This is the
    cryptographic check: a file forged to collide with a fast digest does not collide here."""
    pred = manifest.predicate
    if pred["schema_version"] < 2 or not pred["outputs"]:
        return 0
    recorded = {f["path"]: f for a in pred["outputs"] for f in a.get("files", [a])}
    top_level = {a["path"] for a in pred["outputs"]}  # once: a set per subject was quadratic in the outputs
    files = []
    for s in manifest.statement["subject"]:
        entry = recorded.get(s["name"])
        if entry is None:
            raise IntegrityError(f"subject {s['name']} is not a recorded output")
        named = subjects.Named(s["name"], root / check_relpath(s["name"], what="subject"), entry["size"], entry.get("link"),
                               follow=s["name"] in top_level)
        files.append((named, None))
    for s, now in zip(manifest.statement["subject"], subjects.sha256_subjects(files, subjects.SUBJECT_ALGORITHM)):
        if now["digest"] != s["digest"]:
            raise IntegrityError(f"output {s['name']} does not match its sha256 subject")
    return len(files)


PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
CHECKS = ("parse", "signature", "file_lists", "sidecars", "artifacts", "subjects")
"""The checks of `repro verify`, in the order they run: strict JSON and schema, the signature,
directory lists against their root digests, the files beside the manifest, the recorded inputs
and outputs on disk, and the outputs' sha256 subjects."""


@dataclass(frozen=True)
class Check:
    """One check's outcome: `files` counts what it read from disk."""

    name: str
    status: str
    detail: str = ""
    files: int = 0


@dataclass(frozen=True)
class VerifyReport:
    """Every check `repro verify` ran, passed or not, for a machine-readable result: the first
    failure stops the checks after it (they are `skipped`), and `error` is what `verify` raises."""

    path: Path
    manifest: Manifest | None
    keyid: str | None
    checks: tuple[Check, ...]
    error: ReproError | None
    kind: str = "manifest"  # or "verdict", "bundle"
    about: dict | None = None
    """For a verdict: the signed-payload digest of the manifest it vouches for."""
    verdict: object | None = None
    """For a verdict: the `CheckedVerdict` read from it."""
    exit_code: int | None = None
    """Set where the outcome, not an error, decides the exit (a FAILED verdict with --require-passed)."""

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def files_checked(self) -> int:
        return sum(c.files for c in self.checks if c.name in ("sidecars", "artifacts"))


def verification_report(path: Path, pubkeys: tuple[Path, ...] | list[Path] = (), *, check_files: bool = True,
                        allow_unsigned: bool = False, root: Path | None = None) -> VerifyReport:
    """Run the checks in order, recording each; never raises for a failed check (the report's
    `error` holds it), so a result can be written for exactly the failures that matter."""
    done: list[Check] = []
    state: dict = {"manifest": None, "keyid": None}

    def parse() -> Check:
        state["manifest"] = Manifest.load(path)
        return Check("parse", PASSED, "strict JSON, schema")

    def signature() -> Check:
        m = state["manifest"]
        if allow_unsigned and not m.signatures:
            return Check("signature", SKIPPED, "unsigned, allowed")
        state["keyid"] = m.verify(trusted_keys(pubkeys))
        return Check("signature", PASSED, f"keyid {state['keyid']}")

    def file_lists() -> Check:
        check_file_lists(state["manifest"])
        return Check("file_lists", PASSED, "directory file lists match their root digests")

    def sidecars() -> Check:
        return Check("sidecars", PASSED, "logs and code diff beside the manifest",
                     check_sidecars(state["manifest"], path))

    def project_root() -> Path:
        if state.get("root") is None:
            from repro.config import find_project_root

            state["root"] = root if root is not None else find_project_root(Path.cwd())
        return state["root"]

    def artifacts() -> Check:
        r = project_root()
        return Check("artifacts", PASSED, f"recorded inputs and outputs under {r}", check_artifacts(state["manifest"], r))

    def subjects_() -> Check:
        n = check_subjects(state["manifest"], project_root())
        return Check("subjects", PASSED, "output files against their sha256 subjects", n)

    steps = [parse, signature, file_lists, sidecars, artifacts, subjects_]
    error: ReproError | None = None
    for name, step in zip(CHECKS, steps):
        if error is not None:
            done.append(Check(name, SKIPPED, "not run: an earlier check failed"))
        elif not check_files and name in ("sidecars", "artifacts", "subjects"):
            done.append(Check(name, SKIPPED, "--no-files"))
        else:
            try:
                done.append(step())
            except ReproError as e:
                error = e
                done.append(Check(name, FAILED, e.message))
    return VerifyReport(path, state["manifest"], state["keyid"], tuple(done), error)


def verdict_report(path: Path, pubkeys: tuple[Path, ...] | list[Path] = (), *, against: Path | None = None,
                   require_passed: bool = False) -> VerifyReport:
    """The checks of a verdict file (`*.intoto.jsonl`): every envelope's signature and shape,
    then, with `against`, that it is about that manifest."""
    from repro.evidence import verdict

    done: list[Check] = []
    checked = None
    error: ReproError | None = None
    try:
        checked = verdict.read(path, trusted_keys(pubkeys))
        done.append(Check("signature", PASSED, f"keyid {checked.keyid}; verdict {checked.result}"))
    except ReproError as e:
        error = e
        done.append(Check("signature", FAILED, e.message))
    if against is None:
        done.append(Check("against", SKIPPED, "no --against"))
    elif checked is None:
        done.append(Check("against", SKIPPED, "not run: an earlier check failed"))
    else:
        try:
            verdict.check_against(checked, Manifest.load(against), str(against))
            done.append(Check("against", PASSED, f"the verdict is about {against}"))
        except ReproError as e:
            error = e
            done.append(Check("against", FAILED, e.message))
    failed_outcome = error is None and require_passed and checked is not None and not checked.passed_verification
    return VerifyReport(path, None, checked.keyid if checked else None, tuple(done), error, kind="verdict",
                        about=checked.manifest_digest if checked else None, verdict=checked,
                        exit_code=1 if failed_outcome else None)


def bundle_report(path: Path, pubkeys: tuple[Path, ...] | list[Path] = ()) -> tuple[VerifyReport, str | None]:
    """The check of a bundle: its index signature, every member's size and sha256, and the
    manifest inside; with the line `repro verify` prints when it passes."""
    from repro.bundle.cli import verify_bundle_command

    try:
        message = verify_bundle_command(path, tuple(pubkeys))
    except ReproError as e:
        return VerifyReport(path, None, None, (Check("bundle", FAILED, e.message),), e, kind="bundle"), None
    return VerifyReport(path, None, None, (Check("bundle", PASSED, message),), None, kind="bundle"), message


def verify(path: Path, pubkeys: tuple[Path, ...] | list[Path] = (), *, check_files: bool = True,
           allow_unsigned: bool = False, root: Path | None = None) -> VerifyResult:
    """Verify, raising the first failure (the error classes name the exit code)."""
    report = verification_report(path, pubkeys, check_files=check_files, allow_unsigned=allow_unsigned, root=root)
    if report.error is not None:
        raise report.error
    return VerifyResult(report.manifest, report.keyid, report.files_checked)
