"""`repro replay BUNDLE`: verify, extract into scratch, rebuild the recorded project, replay as usual.

The bundle is checked end to end before anything is extracted (repro.bundle.unpack). The code is
rebuilt as a real git repository at the recorded commit, from the bundle's `git bundle`, with the
saved diff applied on top; the normal replay then checks that this tree *is* the recorded code
(same commit, same diff digest) exactly as it would in the user's own checkout. Inputs and the
stored outputs are moved into place, the image is `docker load`ed and its ID checked, and the
existing replay runs with that tree as its project root and the loaded image ID as its image.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Callable

from repro.bundle.index import CODE_BUNDLE, CODE_TREE, IMAGE, IMAGE_FACTS, INPUTS, MANIFEST, MANIFEST_DIR, RULES, STORE
from repro.bundle.index import BundleIntegrityError
from repro.evidence.manifest import Manifest, check_relpath
from repro.paths import confine
from repro.replay.orchestrate import ReplayOptions
from repro.replay.result import ReplayReport

Say = Callable[[str], None]


def _git(cwd: Path, *args: str) -> None:
    out = subprocess.run(["git", "-C", str(cwd), "-c", "core.hooksPath=/dev/null", *args], capture_output=True)
    if out.returncode != 0:
        message = out.stderr.decode(errors="replace").strip().splitlines()
        raise BundleIntegrityError(f"cannot rebuild the recorded code (git {args[0]}): {message[-1] if message else ''}")


def rebuild_code(members: Path, manifest: Manifest, dest: Path) -> Path:
    """The recorded project tree in `dest`; returns the project root (the recorded subdirectory)."""
    code = manifest.predicate["code"]
    dest.mkdir(parents=True)
    if code["kind"] == "tree":
        tree = members / CODE_TREE
        if tree.is_dir():
            shutil.copytree(tree, dest, dirs_exist_ok=True)
        return dest
    bundle = members / CODE_BUNDLE
    if not bundle.is_file():
        raise BundleIntegrityError("the bundle holds no code (code/repo.bundle is missing)")
    commit = code["commit"]
    _git(dest, "init", "-q")
    _git(dest, "fetch", "-q", "--no-tags", str(bundle), "+refs/*:refs/repro-bundle/*")
    branch = code.get("branch")
    _git(dest, "checkout", "-q", *(("-B", branch) if branch else ("--detach",)), commit)
    refs = subprocess.run(["git", "-C", str(dest), "for-each-ref", "--format=delete %(refname)", "refs/repro-bundle/"],
                          capture_output=True).stdout
    subprocess.run(["git", "-C", str(dest), "update-ref", "--stdin"], input=refs, capture_output=True)
    diff = code.get("diff")
    if diff:
        patch = members / MANIFEST_DIR / check_relpath(diff["path"], what="file name")
        _git(dest, "apply", "--whitespace=nowarn", str(patch))
    subdir = code.get("subdir")
    return confine(dest, subdir, what="code subdirectory") if subdir else dest


def _move_tree(source: Path, dest_root: Path, what: str) -> None:
    """Move every file under `source` to the same relative place under `dest_root` (confined)."""
    if not source.is_dir():
        return
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source).as_posix()
        target = confine(dest_root, rel, what=what)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_dir():
            raise BundleIntegrityError(f"{what} {rel} is a directory in the recorded code")
        path.replace(target)


def prepare(members: Path, manifest: Manifest, scratch: Path, say: Say) -> tuple[Path, str | None]:
    """Rebuild the project from the extracted members; returns (project root, loaded image ID or None)."""
    root = rebuild_code(members, manifest, scratch / "project")
    _move_tree(members / INPUTS, root, "input path")
    _move_tree(members / STORE, root / ".repro" / "store", "stored output")
    runner = manifest.predicate["runner"]
    if runner["name"] != "docker":
        return root, None
    image_id = (runner.get("image") or {}).get("id")
    archive = members / IMAGE
    if not archive.is_file():
        say(f"the bundle holds no image: the engine must have (or pull) {runner.get('image', {}).get('pinned')}")
        return root, None
    from repro.runners.docker.archive import load_image

    say(f"loading image {str(image_id)[:19]} into the engine")
    loaded = load_image(archive, image_id)
    facts = members / IMAGE_FACTS
    if facts.is_file():
        cache = root / ".repro" / "cache" / "images"
        cache.mkdir(parents=True, exist_ok=True)
        facts.replace(cache / f"{loaded.split(':', 1)[1]}.json")
    return root, loaded


def replay_bundle(bundle: Path, opts: ReplayOptions, *, say: Say, load_key: Callable[[], object] | None,
                  progress: bool | None = None) -> ReplayReport:
    """`opts.manifest_path` is ignored (the bundle's manifest is used); so are `root` and `checkout`."""
    from repro.bundle.unpack import unpack
    from repro.config import new_run_id
    from repro.evidence.verify import trusted_keys
    from repro.replay.orchestrate import replay

    trusted = trusted_keys(opts.pubkeys)
    scratch = Path(tempfile.mkdtemp(prefix="repro-bundle-")).resolve()
    try:
        members = scratch / "bundle"
        verified = unpack(bundle, members, trusted, progress=progress)
        say(f"bundle verified: {verified.members} members match the index signed by keyid {verified.keyid[:16]}")
        manifest = Manifest.load(members / MANIFEST)
        if manifest.digest() != verified.index.manifest_digest:
            raise BundleIntegrityError("the bundle's manifest is not the one its index names")
        root, image = prepare(members, manifest, scratch, say)
        rules = members / RULES
        output = opts.output_manifest or Path.cwd() / ".repro" / "replays" / new_run_id() / "manifest.json"
        inner = replace(opts, manifest_path=members / MANIFEST, root=root, checkout=False,
                        rules_path=opts.rules_path or (rules if rules.is_file() else None),
                        output_manifest=output.resolve(), image=image or opts.image)
        report = replay(inner, say=say, load_key=load_key)
        return replace(report, manifest=str(bundle))
    finally:
        if opts.keep_workspace:
            say(f"bundle workspace kept at {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
