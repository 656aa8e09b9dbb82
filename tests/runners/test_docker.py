"""The docker runner's pure parts, and its error translation against a fake engine.

Runs without an engine; tests/e2e/test_docker_cli.py runs the real thing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import docker.errors
import pytest
import requests

from repro.errors import InvalidManifestError, RunnerError, UsageError
from repro.evidence import validation
from repro.runners.base import Runner
from repro.runners.docker.container import (
    RUN_LABEL,
    SITE_MOUNT,
    bind,
    container_config,
    container_environment,
    device_request,
    exit_status,
    parse_gpus,
)
from repro.runners.docker.facts import (
    ImageFactsCache,
    container_hardware,
    deps_facet,
    image_environment,
    os_packages_facet,
)
from repro.inject import probe_version
from repro.runners.docker.pinning import context_digest, familiar, pin, repository_of
from repro.runners.docker.runner import DockerRunner

ID = "sha256:" + "1" * 64
DIGEST = "sha256:" + "2" * 64
OTHER = "sha256:" + "3" * 64


def test_importing_the_runner_does_not_import_the_sdk():
    code = "import sys, repro.runners.docker; print('docker' in sys.modules, 'requests' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_the_runner_implements_the_protocol(tmp_path):
    assert isinstance(DockerRunner("img", project_root=tmp_path), Runner)


def test_image_or_dockerfile_exactly_one(tmp_path):
    with pytest.raises(UsageError):
        DockerRunner(project_root=tmp_path)
    with pytest.raises(UsageError):
        DockerRunner("img", project_root=tmp_path, dockerfile=tmp_path / "Dockerfile")


@pytest.mark.parametrize("given, parsed", [(None, None), ("", None), ("all", "all"), ("ALL", "all"), ("2", 2), (1, 1)])
def test_gpus_all_or_a_count(given, parsed):
    assert parse_gpus(given) == parsed


@pytest.mark.parametrize("bad", ["0", "-1", "two", "0,1"])
def test_gpus_rejects_anything_else(bad):
    with pytest.raises(UsageError, match="--gpus"):
        parse_gpus(bad)


@pytest.mark.parametrize("reference, repository", [
    ("python", "python"),
    ("python:3.11-slim", "python"),
    ("127.0.0.1:5000/repro-test/python", "127.0.0.1:5000/repro-test/python"),
    ("127.0.0.1:5000/repro-test/python:bookworm", "127.0.0.1:5000/repro-test/python"),
    (f"127.0.0.1:5000/repro-test/python@{DIGEST}", "127.0.0.1:5000/repro-test/python"),
    (f"127.0.0.1:5000/o/r:t@{DIGEST}", "127.0.0.1:5000/o/r"),
])
def test_repository_of_a_reference(reference, repository):
    assert repository_of(reference) == repository


def test_default_registry_names_compare_in_their_short_form():
    from docker.auth import INDEX_NAME

    assert familiar(f"{INDEX_NAME}/library/python") == "python"
    assert familiar("library/python") == "python"
    assert familiar(f"{INDEX_NAME}/pytorch/pytorch") == "pytorch/pytorch"
    assert familiar("127.0.0.1:5000/library/x") == "127.0.0.1:5000/library/x"


def test_pin_prefers_the_named_repositorys_digest():
    digests = [f"127.0.0.1:5000/mirror/python@{OTHER}", f"python@{DIGEST}"]
    assert pin("python:3.11-slim", ID, digests) == f"python@{DIGEST}"
    assert pin("library/python:3.11-slim", ID, digests) == f"python@{DIGEST}"


def test_pin_keeps_a_digest_reference_and_falls_back_to_any_digest_then_the_id():
    ref = f"127.0.0.1:5000/repro-test/python@{DIGEST}"
    assert pin(ref, ID, [ref]) == ref
    assert pin(ref, ID, []) == ref  # a digest reference is already immutable
    assert pin("local/tag:1", ID, [f"127.0.0.1:5000/local/tag@{DIGEST}"]) == f"127.0.0.1:5000/local/tag@{DIGEST}"
    assert pin("local/tag:1", ID, []) == ID
    assert pin(None, ID, []) == ID


def test_container_environment_passes_the_hosts_thread_settings_and_puts_the_site_first():
    image = image_environment(["PATH=/usr/bin", "PYTHONPATH=/app/lib", "BROKEN", "EMPTY="])
    assert image == {"PATH": "/usr/bin", "PYTHONPATH": "/app/lib", "EMPTY": ""}
    host = {"OMP_NUM_THREADS": "3", "HOME": "/root", "AWS_SECRET_ACCESS_KEY": "x", "PYTHONHASHSEED": "1"}
    env = container_environment(image, host, {"REPRO_SEED": "7", "PYTHONHASHSEED": "7"})
    assert env == {"OMP_NUM_THREADS": "3", "PYTHONHASHSEED": "7", "REPRO_SEED": "7",
                   "PYTHONPATH": f"{SITE_MOUNT}:/app/lib", "PYTHONUNBUFFERED": "1"}
    assert "PYTHONUNBUFFERED" not in container_environment({"PYTHONUNBUFFERED": "0"}, {}, {})
    assert container_environment({}, {}, {})["PYTHONPATH"] == SITE_MOUNT


def test_container_config_pins_mounts_user_network_gpus_and_labels(tmp_path):
    config = container_config(
        image_id=ID, argv=("python", "train.py"), cwd=str(tmp_path / "sub"), env={"A": "1"},
        mounts=[bind(tmp_path, str(tmp_path), read_only=False), bind(Path("/site"), SITE_MOUNT, read_only=True)],
        user="1000:1000", network="none", gpus=2, labels={RUN_LABEL: "r1"},
    )
    assert config["Image"] == ID and config["Cmd"] == ["python", "train.py"] and "Entrypoint" not in config
    assert config["WorkingDir"] == str(tmp_path / "sub") and config["User"] == "1000:1000"
    assert config["Env"] == ["A=1"] and config["Labels"] == {RUN_LABEL: "r1"}
    assert config["Tty"] is False and config["OpenStdin"] is False and config["AttachStdout"] is True
    host = config["HostConfig"]
    assert host["NetworkMode"] == "none" and host["AutoRemove"] is False
    assert host["Mounts"] == [
        {"Type": "bind", "Source": str(tmp_path), "Target": str(tmp_path), "ReadOnly": False},
        {"Type": "bind", "Source": "/site", "Target": SITE_MOUNT, "ReadOnly": True},
    ]
    assert host["DeviceRequests"] == [{"Driver": "", "Count": 2, "DeviceIDs": None, "Capabilities": [["gpu"]],
                                       "Options": {}}]
    assert device_request("all")["Count"] == -1
    plain = container_config(image_id=ID, argv=["-I", "p.py"], cwd="/", env={}, mounts=[], user="0:0",
                                network="host", gpus=None, labels={}, entrypoint=["python3"])
    assert plain["Entrypoint"] == ["python3"] and "DeviceRequests" not in plain["HostConfig"]


def test_exit_status_keeps_the_commands_code_unless_repro_had_to_kill():
    assert exit_status(0, [], False) == (0, None)
    assert exit_status(3, [], False) == (3, None)
    assert exit_status(130, [signal.SIGINT], False) == (130, "SIGINT")
    assert exit_status(0, [signal.SIGINT], False) == (0, "SIGINT")  # the program handled it
    assert exit_status(137, [signal.SIGTERM], True) == (143, "SIGTERM")
    assert exit_status(137, [signal.SIGINT, signal.SIGINT], True) == (130, "SIGINT")


def test_os_packages_are_sorted_counted_and_digested_independently_of_order():
    raw = {"manager": "dpkg", "source": "dpkg-query",
           "packages": [{"name": "zlib1g", "version": "1", "arch": "amd64"}, {"name": "bash", "version": "5"}]}
    facet = os_packages_facet(raw, "sha256")
    assert facet["manager"] == "dpkg" and facet["count"] == 2 and "source" not in facet
    assert [p["name"] for p in facet["packages"]] == ["bash", "zlib1g"]
    reordered = os_packages_facet({**raw, "packages": raw["packages"][::-1]}, "sha256")
    assert reordered["digest"] == facet["digest"] and set(facet["digest"]) == {"sha256"}
    changed = os_packages_facet({**raw, "packages": [{"name": "bash", "version": "6"}]}, "sha256")
    assert changed["digest"] != facet["digest"]
    assert os_packages_facet(None, "sha256") is None


def test_deps_take_the_kernel_from_the_engine_not_from_the_cached_probe():
    probed = {"python": {"version": "3.11.2"}, "distributions": [], "os": {"release": "old-kernel", "system": "Linux"},
              "os_packages": None}
    deps = deps_facet(probed, assumed=True, kernel="6.1.0", algorithm="xxh3_128")
    assert deps["os"]["release"] == "6.1.0" and deps["interpreter_assumed"] is True and deps["os_packages"] is None
    assert probed["os"]["release"] == "old-kernel"  # the cached facts are not modified


HOST_HW = {"cpu": {"model": "EPYC", "vendor": "AuthenticAMD", "flags": ["avx2"], "logical_cores": 64,
                   "usable_cores": 8}, "memory_bytes": 1 << 30,
           "gpus": [{"name": "A", "uuid": "GPU-0"}, {"name": "B", "uuid": "GPU-1"}]}


def test_hardware_is_what_the_engine_grants_the_container():
    engine = {"NCPU": 16, "MemTotal": 64 << 30, "Architecture": "x86_64"}
    hw = container_hardware(HOST_HW, engine, None, local=True)
    assert hw["cpu"]["model"] == "EPYC" and hw["cpu"]["flags"] == ["avx2"]
    assert hw["cpu"]["logical_cores"] == 16 and hw["cpu"]["usable_cores"] == 16 and hw["memory_bytes"] == 64 << 30
    assert hw["gpus"] == []  # a container sees no GPU unless asked
    assert [g["uuid"] for g in container_hardware(HOST_HW, engine, "all", local=True)["gpus"]] == ["GPU-0", "GPU-1"]
    assert [g["uuid"] for g in container_hardware(HOST_HW, engine, 1, local=True)["gpus"]] == ["GPU-0"]
    remote = container_hardware(HOST_HW, engine, "all", local=False)
    assert remote["cpu"]["model"] is None and remote["gpus"] == [] and "note" in remote


def test_image_facts_cache_round_trip_and_invalidation(tmp_path):
    cache = ImageFactsCache(tmp_path / "c", "v1")
    assert cache.get(ID, "python") is None
    facts = {"python": {"version": "3.11.2"}, "distributions": [], "os": {}, "os_packages": None}
    cache.put(ID, "python", facts)
    cache.put(ID, "python3", {**facts, "python": {"version": "3.11.3"}})
    assert cache.get(ID, "python") == facts and cache.get(ID, "python3")["python"]["version"] == "3.11.3"
    assert cache.path(ID).name == "1" * 64 + ".json"
    assert ImageFactsCache(tmp_path / "c", "v2").get(ID, "python") is None  # other probe code
    cache.path(ID).write_text("{not json")
    assert cache.get(ID, "python") is None
    cache.path(ID).write_text(json.dumps({"format": 1, "probe": "v1", "image_id": OTHER, "interpreters": {}}))
    assert cache.get(ID, "python") is None


def test_probe_version_is_stable_and_names_the_probe_code():
    assert probe_version() == probe_version() and len(probe_version()) == 32


def test_context_digest_follows_dockerignore(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM x\n")
    (tmp_path / "app.py").write_text("print(1)\n")
    before = context_digest(tmp_path, tmp_path / "Dockerfile", "xxh3_128")
    (tmp_path / "big.bin").write_bytes(b"0" * 10)
    with_big = context_digest(tmp_path, tmp_path / "Dockerfile", "xxh3_128")
    (tmp_path / ".dockerignore").write_text("# comment\nbig.bin\n")
    ignored = context_digest(tmp_path, tmp_path / "Dockerfile", "xxh3_128")
    assert before != with_big and ignored != with_big
    (tmp_path / "big.bin").write_bytes(b"1" * 10)
    assert context_digest(tmp_path, tmp_path / "Dockerfile", "xxh3_128") == ignored


def check_runner(runner: dict) -> None:
    """Validate a `runner` facet against its part of the manifest schema."""
    from jsonschema import Draft202012Validator

    schema = validation.load("manifest.schema.json")
    part = {"$defs": schema["$defs"], **schema["properties"]["predicate"]["properties"]["runner"]}
    errors = list(Draft202012Validator(part).iter_errors(runner))
    if errors:
        raise InvalidManifestError(errors[0].message)


def test_docker_runner_section_of_the_schema():
    good = {"name": "docker", "image": {"reference": "python:3.11", "pinned": f"python@{DIGEST}", "id": ID,
                                        "repo_digests": [f"python@{DIGEST}"]},
            "network": "none", "gpus": None, "user": "1000:1000"}
    check_runner(good)
    check_runner({**good, "gpus": "all"})
    check_runner({**good, "image": {**good["image"], "reference": None, "pinned": ID, "repo_digests": []},
                    "dockerfile": {"path": "docker/Dockerfile", "digest": {"xxh3_128": "0" * 32},
                                   "context": {"path": "docker", "digest": {"xxh3_128": "1" * 32}}}})
    check_runner({"name": "host", "anything": 1})  # the host runner is not constrained
    for bad in ({**good, "image": {**good["image"], "pinned": "python:3.11"}},
                {**good, "gpus": 0}, {**good, "user": "root"}, {**good, "surprise": 1},
                {k: v for k, v in good.items() if k != "network"}):
        with pytest.raises(InvalidManifestError):
            check_runner(bad)


# --- error translation against a fake engine ------------------------------------------------------


class FakeAPI:
    """Just enough of docker.APIClient for prepare's failure paths."""

    base_url = "http+docker://localhost"

    def __init__(self, images=None, pull_events=(), pull_error=None, networks=("bridge",)):
        self.images = dict(images or {})
        self.pull_events = list(pull_events)
        self.pull_error = pull_error
        self.networks = networks
        self.pulled: list[tuple[str, str]] = []

    def inspect_image(self, ref):
        if ref in self.images:
            return self.images[ref]
        raise docker.errors.ImageNotFound(f"No such image: {ref}")

    def pull(self, repository, tag=None, stream=False, decode=False):
        self.pulled.append((repository, tag))
        if self.pull_error:
            raise self.pull_error
        yield from self.pull_events

    def inspect_network(self, name):
        if name not in self.networks:
            raise docker.errors.NotFound(f"network {name} not found")
        return {"Name": name}


def runner_with(api: FakeAPI, tmp_path: Path, image="repro-test/nope:missing", **kw) -> DockerRunner:
    r = DockerRunner(image, project_root=tmp_path, **kw)
    r._api = api
    return r


def test_an_image_that_cannot_be_pulled_is_one_clear_line(tmp_path):
    events = [{"status": "Pulling from repro-test/nope"},
              {"error": "manifest for repro-test/nope:missing not found:\nmanifest unknown"}]
    r = runner_with(FakeAPI(pull_events=events), tmp_path)
    with pytest.raises(RunnerError) as e:
        r._resolve("repro-test/nope:missing")
    assert e.value.message == ("image repro-test/nope:missing is not present and cannot be pulled: "
                               "manifest for repro-test/nope:missing not found: manifest unknown")
    assert e.value.exit_code == 2


def test_engine_exceptions_become_runner_errors(tmp_path):
    refused = docker.errors.APIError("500 Server Error", explanation="Get \"https://r/v2/\": dial tcp: no such host")
    r = runner_with(FakeAPI(pull_error=refused), tmp_path)
    with pytest.raises(RunnerError, match="cannot be pulled: Get .*no such host$"):
        r._resolve("repro-test/nope:missing")
    gone = requests.exceptions.ConnectionError("Connection aborted")
    r = runner_with(FakeAPI(pull_error=gone), tmp_path)
    with pytest.raises(RunnerError, match="Connection aborted"):
        r._resolve("x:1")


def test_a_missing_image_is_pulled_by_digest_and_pinned(tmp_path):
    ref = f"127.0.0.1:5000/repro-test/python@{DIGEST}"
    api = FakeAPI(pull_events=[{"status": "Digest: " + DIGEST}])
    original_pull = api.pull

    def pull(repository, tag=None, **kw):
        yield from original_pull(repository, tag=tag, **kw)
        api.images[ref] = {"Id": ID, "RepoDigests": [ref], "Config": {"Env": ["PATH=/bin"]}}

    api.pull = pull
    pinned = runner_with(api, tmp_path)._resolve(ref)
    assert api.pulled == [("127.0.0.1:5000/repro-test/python", DIGEST)]
    assert pinned.to_json() == {"reference": ref, "pinned": ref, "id": ID, "repo_digests": [ref]}
    assert pinned.env == ("PATH=/bin",)


def test_an_image_id_is_never_pulled(tmp_path):
    api = FakeAPI()
    with pytest.raises(RunnerError, match="not on this engine"):
        runner_with(api, tmp_path)._resolve(ID)
    assert api.pulled == []


def test_an_unknown_network_fails_before_the_run(tmp_path):
    with pytest.raises(RunnerError, match="network nope does not exist"):
        runner_with(FakeAPI(), tmp_path, network="nope")._check_network()
    runner_with(FakeAPI(), tmp_path, network="none")._check_network()
    runner_with(FakeAPI(), tmp_path, network="bridge")._check_network()


def test_an_unreachable_engine_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix://" + str(tmp_path / "no.sock"))
    r = DockerRunner("x", project_root=tmp_path)
    with pytest.raises(RunnerError) as e:
        r.prepare()
    assert e.value.message.startswith("cannot reach the Docker engine") and "\n" not in e.value.message


def test_from_spec_reads_paths_relative_to_the_working_directory(tmp_path):
    from repro.config import build_run_spec

    (tmp_path / "docker").mkdir()
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    spec = build_run_spec(("python", "t.py"), cwd=tmp_path, dockerfile="docker/Dockerfile", gpus="all",
                          network="host", quiet=True)
    r = DockerRunner.from_spec(spec)
    assert r.dockerfile == tmp_path / "docker" / "Dockerfile" and r.build_context is None
    assert r.gpus == "all" and r.network == "host" and r.run_id == spec.run_id
    assert r.user == f"{os.getuid()}:{os.getgid()}" and r.image is None
