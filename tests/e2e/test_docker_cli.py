"""`repro run --image / --dockerfile` end to end: the real CLI against a real Docker engine.

The images come from tests/docker/provision.sh (CI runs it first): REPRO_TEST_IMAGE, a local tag,
and REPRO_TEST_REGISTRY_IMAGE, the same image pulled by digest from a registry on 127.0.0.1.
Without an engine these tests skip; under REPRO_REQUIRE_DOCKER=1 they fail instead.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from repro.data.digest import digest_file
from repro.evidence.manifest import Manifest
from tests.conftest import REPO, docker_available, repro_cli

pytestmark = pytest.mark.docker

ENV_FILE = REPO / "tests" / "docker" / ".env"
NAMES = ("REPRO_TEST_IMAGE", "REPRO_TEST_REGISTRY_IMAGE")
RUN_LABEL = "repro.run-id"


def _unavailable(reason: str):
    """Skip where the fixtures cannot be had; fail instead under REPRO_REQUIRE_DOCKER=1 (CI)."""
    if os.environ.get("REPRO_REQUIRE_DOCKER") == "1":
        pytest.fail(f"REPRO_REQUIRE_DOCKER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def engine():
    ok, reason = docker_available()
    if not ok:
        _unavailable(f"{reason}; tests/docker/provision.sh starts one")
    import docker

    client = docker.from_env()
    yield client
    client.close()


@pytest.fixture(scope="session")
def images(engine) -> dict[str, str]:
    """The test image references: from the environment, else from the .env provision.sh wrote."""
    import docker.errors

    found = {k: os.environ[k] for k in NAMES if os.environ.get(k)}
    if len(found) < len(NAMES) and ENV_FILE.is_file():
        for line in ENV_FILE.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and key in NAMES:
                found.setdefault(key, value.strip())
    missing = [k for k in NAMES if k not in found]
    if missing:
        _unavailable(f"{', '.join(missing)} not set and no {ENV_FILE.name}: run tests/docker/provision.sh")
    try:
        engine.images.get(found["REPRO_TEST_IMAGE"])
    except docker.errors.ImageNotFound:
        _unavailable(f"image {found['REPRO_TEST_IMAGE']} is missing: run tests/docker/provision.sh")
    return found


@pytest.fixture
def project(tmp_path) -> Path:
    """A small git project whose commands run in the container."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "README").write_text("docker runner test\n")
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    return root


def run(cwd: Path, xdg: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return repro_cli("run", *args, cwd=cwd, env={"XDG_CONFIG_HOME": str(xdg)}, timeout=timeout)


def leftovers(engine, run_id: str) -> list:
    return engine.containers.list(all=True, filters={"label": f"{RUN_LABEL}={run_id}"})


def leftovers_of(engine, project: Path) -> list:
    """repro's containers that mount `project` (for runs that fail before writing a manifest)."""
    return [c for c in engine.containers.list(all=True, filters={"label": RUN_LABEL})
            if any(m.get("Source") == str(project) for m in c.attrs.get("Mounts", []))]


def test_run_in_image_pins_by_digest_and_captures_the_containers_world(example, keys, images, engine):
    image = images["REPRO_TEST_IMAGE"]
    result = run(example, keys, "--seed", "7", "--manifest", "run.json", "--image", image, "--", "python", "train.py")
    assert result.returncode == 0, result.stderr
    assert "epochs 30" in result.stdout  # the container's output streams through
    p = Manifest.load(example / "run.json").predicate
    runner = p["runner"]
    local = engine.images.get(image)
    assert runner["name"] == "docker" and runner["image"]["reference"] == image
    assert runner["image"]["id"] == local.id
    assert runner["image"]["pinned"] in local.attrs["RepoDigests"] and "@sha256:" in runner["image"]["pinned"]
    assert runner["network"] == "none" and runner["gpus"] is None
    assert runner["user"] == f"{os.getuid()}:{os.getgid()}"
    assert runner["engine"]["api_version"] and runner["environment"]["PYTHONPATH"].startswith("/opt/repro/site")

    deps = p["deps"]  # the container's interpreter, not the host's
    assert deps["python"]["version"].startswith("3.11.") and deps["python"]["executable"].startswith("/usr/bin/python")
    assert deps["python"]["executable"] != sys.executable and deps["interpreter_assumed"] is False
    assert deps["os"]["distro"]["ID"] == "debian" and deps["os"]["distro"]["VERSION_ID"] == "12"
    assert any(d["name"].lower() == "numpy" and d["version"].startswith("1.24") for d in deps["distributions"])
    packages = deps["os_packages"]
    assert packages["manager"] == "dpkg" and packages["count"] == len(packages["packages"]) > 50
    assert {"python3-minimal", "dpkg"} <= {x["name"] for x in packages["packages"]}
    assert p["hardware"]["cpu"]["logical_cores"] >= 1 and p["hardware"]["gpus"] == []

    assert {"lib": "numpy", "value": 7, "processes": 1} in p["seeds"]["seeded"]  # injected site ran inside
    for written in (example / "out", example / "out" / "model.npz"):
        st = written.stat()
        assert (st.st_uid, st.st_gid) == (os.getuid(), os.getgid())
    assert leftovers(engine, p["run_id"]) == []

    verified = repro_cli("verify", "run.json", cwd=example, env={"XDG_CONFIG_HOME": str(keys)})
    assert verified.returncode == 0, verified.stderr
    shown = repro_cli("show", "run.json", cwd=example, env={"XDG_CONFIG_HOME": str(keys)})
    assert f"runner     docker  {runner['image']['pinned']}" in shown.stdout and f"from {image}" in shown.stdout
    assert "dpkg packages" in shown.stdout and "signature  valid" in shown.stdout


def test_a_second_run_reuses_the_image_facts_and_reproduces_the_outputs(example, keys, images):
    image = images["REPRO_TEST_IMAGE"]
    first = run(example, keys, "--seed", "3", "--manifest", "a.json", "--image", image, "--", "python", "train.py")
    assert first.returncode == 0, first.stderr
    a = Manifest.load(example / "a.json").predicate
    cached = example / ".repro" / "cache" / "images" / (a["runner"]["image"]["id"].split(":")[1] + ".json")
    assert cached.is_file()
    stamp = cached.stat().st_mtime_ns
    second = run(example, keys, "--seed", "3", "--manifest", "b.json", "--image", image, "--", "python", "train.py")
    assert second.returncode == 0, second.stderr
    b = Manifest.load(example / "b.json").predicate
    assert cached.stat().st_mtime_ns == stamp  # no second probe
    assert a["deps"] == b["deps"] and a["runner"]["image"] == b["runner"]["image"]
    assert [o["digest"] for o in a["outputs"]] == [o["digest"] for o in b["outputs"]]


def test_pulls_by_digest_from_the_registry_after_the_local_copy_is_removed(project, keys, images, engine):
    """A throwaway image pushed to the test registry, then removed here, so `repro run` must pull
    it by digest. The shared base image stays untouched."""
    import docker.errors

    base = images["REPRO_TEST_IMAGE"]
    registry_repo = images["REPRO_TEST_REGISTRY_IMAGE"].split("@", 1)[0]
    tag = "pull-" + secrets.token_hex(4)
    dockerfile = f"FROM {base}\nLABEL repro.test={tag}\n".encode()
    built, _ = engine.images.build(fileobj=io.BytesIO(dockerfile), rm=True)
    built.tag(registry_repo, tag)
    for event in engine.api.push(registry_repo, tag=tag, stream=True, decode=True):
        assert "error" not in event, event
    ref = next(d for d in engine.images.get(built.id).attrs["RepoDigests"] if d.startswith(registry_repo + "@"))
    engine.images.remove(built.id, force=True)
    with pytest.raises(docker.errors.ImageNotFound):
        engine.images.get(ref)
    try:
        result = run(project, keys, "--manifest", "run.json", "--image", ref, "--",
                     "python", "-c", "print('in the pulled image')")
        assert result.returncode == 0, result.stderr
        assert "in the pulled image" in result.stdout and f"pulling {ref}" in result.stderr
        image = Manifest.load(project / "run.json").predicate["runner"]["image"]
        assert image == {"reference": ref, "pinned": ref, "id": built.id, "repo_digests": [ref]}
    finally:
        try:
            engine.images.remove(built.id, force=True)
        except docker.errors.ImageNotFound:
            pass


def test_files_written_by_the_container_belong_to_the_invoking_user(project, keys, images):
    code = "import os; os.makedirs('made/deep'); open('made/deep/f.txt', 'w').write(str(os.getuid()))"
    result = run(project, keys, "--no-sign", "--manifest", "run.json", "--image", images["REPRO_TEST_IMAGE"], "--",
                 "python", "-c", code)
    assert result.returncode == 0, result.stderr
    for path in (project / "made", project / "made" / "deep", project / "made" / "deep" / "f.txt"):
        st = path.stat()
        assert (st.st_uid, st.st_gid) == (os.getuid(), os.getgid()), path
    assert (project / "made" / "deep" / "f.txt").read_text() == str(os.getuid())


NETWORK_SCRIPT = """
import socket
print(sorted(name for _, name in socket.if_nameindex()))
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.settimeout(3)
try:
    s.connect(("1.1.1.1", 53))
    print("connected")
except OSError:
    print("unreachable")
"""


def test_the_network_is_off_unless_named(project, keys, images):
    (project / "net.py").write_text(NETWORK_SCRIPT)
    image = images["REPRO_TEST_IMAGE"]
    off = run(project, keys, "--no-sign", "--manifest", "off.json", "--image", image, "--", "python", "net.py")
    assert off.returncode == 0, off.stderr
    assert off.stdout.splitlines() == ["['lo']", "unreachable"]
    assert Manifest.load(project / "off.json").predicate["runner"]["network"] == "none"
    host = run(project, keys, "--no-sign", "--manifest", "host.json", "--network", "host", "--image", image, "--",
               "python", "net.py")
    assert host.returncode == 0, host.stderr
    assert host.stdout.splitlines()[0] != "['lo']"  # the host's interfaces
    assert Manifest.load(project / "host.json").predicate["runner"]["network"] == "host"


def test_the_image_can_come_from_repro_yaml(project, keys, images):
    (project / "repro.yaml").write_text(f"image: {images['REPRO_TEST_IMAGE']}\n")
    code = "import sys; print(sys.executable)"
    result = run(project, keys, "--no-sign", "--manifest", "cfg.json", "--", "python", "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("/usr/bin/python")  # the image's interpreter, not the host's
    runner = Manifest.load(project / "cfg.json").predicate["runner"]
    assert runner["name"] == "docker" and runner["image"]["reference"] == images["REPRO_TEST_IMAGE"]


def test_an_unknown_network_fails_before_anything_runs(project, keys, images):
    result = run(project, keys, "--network", "repro-no-such-net", "--image", images["REPRO_TEST_IMAGE"], "--",
                 "python", "-c", "open('ran', 'w')")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "repro: error: network repro-no-such-net does not exist (`docker network ls` lists them)")
    assert not (project / "ran").exists()


def test_a_failing_commands_exit_code_propagates_and_streams_stay_apart(project, keys, images, engine):
    code = "import sys; print('to out'); print('to err', file=sys.stderr); sys.exit(7)"
    result = run(project, keys, "--manifest", "fail.json", "--image", images["REPRO_TEST_IMAGE"], "--",
                 "python", "-c", code)
    assert result.returncode == 7, result.stderr
    assert result.stdout.splitlines() == ["to out"]
    assert "to err" in result.stderr.splitlines() and "to out" not in result.stderr.splitlines()
    p = Manifest.load(project / "fail.json").predicate
    assert p["command"]["exit_code"] == 7 and p["command"]["signal"] is None
    assert (project / p["logs"]["stdout"]["path"]).read_text() == "to out\n"
    assert (project / p["logs"]["stderr"]["path"]).read_text() == "to err\n"
    assert leftovers(engine, p["run_id"]) == []
    assert repro_cli("verify", "fail.json", cwd=project, env={"XDG_CONFIG_HOME": str(keys)}).returncode == 0


def start_and_signal(project: Path, keys: Path, image: str, manifest: str, code: str, signum: int):
    proc = subprocess.Popen(
        [sys.executable, "-m", "repro", "run", "--manifest", manifest, "--image", image, "--", "python", "-c", code],
        cwd=project, env={**os.environ, "XDG_CONFIG_HOME": str(keys)}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )
    assert proc.stdout.readline().strip() == "ready"  # live output: seen while the command still runs
    proc.send_signal(signum)
    start = time.monotonic()
    out, err = proc.communicate(timeout=60)
    return proc.returncode, time.monotonic() - start, err


SLEEPER = "import time; print('ready', flush=True); time.sleep(120)"


def test_ctrl_c_stops_the_container_and_leaves_none_behind(project, keys, images, engine):
    code, took, err = start_and_signal(project, keys, images["REPRO_TEST_IMAGE"], "int.json", SLEEPER, signal.SIGINT)
    assert code == 130, err
    assert took < 20
    p = Manifest.load(project / "int.json").predicate
    assert p["command"]["signal"] == "SIGINT" and p["command"]["exit_code"] == 130
    assert leftovers(engine, p["run_id"]) == []


def test_sigterm_to_a_process_that_ignores_it_escalates_and_leaves_none_behind(project, keys, images, engine):
    """Python as PID 1 of a container ignores SIGTERM (no handler): repro kills it after a grace."""
    code, took, err = start_and_signal(project, keys, images["REPRO_TEST_IMAGE"], "term.json", SLEEPER,
                                       signal.SIGTERM)
    assert code == 143, err
    assert took < 30
    p = Manifest.load(project / "term.json").predicate
    assert p["command"]["signal"] == "SIGTERM" and p["command"]["exit_code"] == 143
    assert leftovers(engine, p["run_id"]) == []


def test_an_unknown_image_fails_fast_and_clearly(project, keys, engine):
    start = time.monotonic()
    result = run(project, keys, "--image", "repro-test/nope:missing", "--", "python", "-c", "open('ran', 'w')")
    assert time.monotonic() - start < 10
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("repro: error: image repro-test/nope:missing is not present and cannot be pulled: ")
    assert "Traceback" not in result.stderr
    assert not (project / "ran").exists() and not list(project.rglob("manifest.json"))


def test_a_command_missing_from_the_image_is_one_line(project, keys, images, engine):
    result = run(project, keys, "--image", images["REPRO_TEST_IMAGE"], "--", "no-such-tool", "--flag")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == "repro: error: command not found in the image: no-such-tool"
    assert leftovers_of(engine, project) == []


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="this engine may really have GPUs")
def test_gpus_on_an_engine_without_them_is_one_line_and_nothing_is_left(project, keys, images, engine):
    result = run(project, keys, "--gpus", "all", "--image", images["REPRO_TEST_IMAGE"], "--",
                 "python", "-c", "open('ran', 'w')")
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("repro: error: the container did not start: ") and "gpu" in last
    assert not (project / "ran").exists() and leftovers_of(engine, project) == []


def test_dockerfile_is_built_and_the_built_image_pinned(project, keys, images, engine):
    context = project / "docker"
    context.mkdir()
    (context / "hello.txt").write_text("hello from the build\n")
    (context / "Dockerfile").write_text(f"FROM {images['REPRO_TEST_IMAGE']}\nCOPY hello.txt /opt/hello.txt\n")
    result = run(project, keys, "--manifest", "built.json", "--dockerfile", "docker/Dockerfile", "--",
                 "python", "-c", "print(open('/opt/hello.txt').read())")
    try:
        assert result.returncode == 0, result.stderr
        assert "hello from the build" in result.stdout
        p = Manifest.load(project / "built.json").predicate
        runner = p["runner"]
        image_id = runner["image"]["id"]
        assert runner["image"]["reference"] is None and runner["image"]["pinned"] == image_id
        assert engine.images.get(image_id).id == image_id
        built = runner["dockerfile"]
        assert built["path"] == "docker/Dockerfile" and built["context"]["path"] == "docker"
        assert built["digest"] == digest_file(context / "Dockerfile", p["digest_algorithm"])
        assert set(built["context"]["digest"]) == {p["digest_algorithm"]}
        shown = repro_cli("show", "built.json", cwd=project, env={"XDG_CONFIG_HOME": str(keys)})
        assert f"runner     docker  {image_id}" in shown.stdout and "built from docker/Dockerfile" in shown.stdout
    finally:
        if result.returncode == 0:
            engine.images.remove(json.loads((project / "built.json").read_text())["predicate"]["runner"]["image"]["id"],
                                 force=True)


def test_a_failing_build_is_one_line_and_nothing_runs(project, keys, images):
    context = project / "docker"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {images['REPRO_TEST_IMAGE']}\nCOPY missing.txt /opt/\n")
    result = run(project, keys, "-q", "--dockerfile", "docker/Dockerfile", "--", "python", "-c", "open('ran', 'w')")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("repro: error: docker build of docker/Dockerfile failed: ")
    assert "missing.txt" in lines[0]
    assert not (project / "ran").exists()


def test_replay_of_a_container_run_uses_the_same_pinned_image(example, keys, images, engine):
    image = images["REPRO_TEST_IMAGE"]
    recorded = run(example, keys, "--seed", "5", "--manifest", "run.json", "--image", image, "--", "python", "train.py")
    assert recorded.returncode == 0, recorded.stderr
    pinned = Manifest.load(example / "run.json").predicate["runner"]["image"]["pinned"]
    result = repro_cli("replay", "run.json", "--json", "report.json", cwd=example,
                       env={"XDG_CONFIG_HOME": str(keys)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "REPRODUCED" in result.stdout
    report = json.loads((example / "report.json").read_text())
    replayed = Manifest.load(Path(report["replay_manifest"])).predicate
    assert replayed["runner"]["name"] == "docker" and replayed["runner"]["image"]["pinned"] == pinned
    assert replayed["deps"]["python"]["executable"] != sys.executable  # it ran in the container again
    assert leftovers(engine, replayed["run_id"]) == []


WRITES_ITS_INPUT = """\
import hashlib, os
os.makedirs("out", exist_ok=True)
try:
    with open("data/train.csv", "a") as f:
        f.write("9,9,9\\n")
    outcome = "written"
except OSError as e:
    outcome = e.strerror
digest = hashlib.sha256(open("data/train.csv", "rb").read()).hexdigest()
open("out/outcome.txt", "w").write(outcome + " " + digest + "\\n")
"""


def test_declared_inputs_are_mounted_read_only_in_the_container_at_run_and_replay(example, keys, images):
    image = images["REPRO_TEST_IMAGE"]
    (example / "touch.py").write_text(WRITES_ITS_INPUT)
    before = digest_file(example / "data" / "train.csv", "sha256")
    recorded = run(example, keys, "--seed", "5", "--manifest", "run.json", "--image", image, "--", "python",
                   "touch.py")
    assert recorded.returncode == 0, recorded.stderr
    outcome = (example / "out" / "outcome.txt").read_text().split()
    assert outcome[:-1] == ["Read-only", "file", "system"] and {"sha256": outcome[-1]} == before
    assert digest_file(example / "data" / "train.csv", "sha256") == before
    assert "input data changed" not in recorded.stderr
    result = repro_cli("replay", "run.json", "--json", "report.json", cwd=example, env={"XDG_CONFIG_HOME": str(keys)})
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((example / "report.json").read_text())
    assert report["sandbox"]["kind"] == "docker" and report["sandboxed"] is True
    assert {v["path"]: v["status"] for v in report["verdicts"]}["out/outcome.txt"] == "identical"
