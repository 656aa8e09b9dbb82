"""Run the command in a container pinned by digest, through the Docker SDK.

Everything that talks to the engine lives here, and every exception of the SDK (and of `requests`
under it) becomes a one-line `RunnerError` here: nothing above this module sees a docker type.
`docker` is imported only when a container is wanted: it costs about 0.1 s of start-up that runs
on the host must not pay.

What the manifest says about the container comes from the container, not the host: the image's
interpreter, distributions, OS release and OS packages are probed inside the image (once per
image ID, then cached: an image ID names immutable content), and the hardware is what the engine
grants the container. See docs/containers.md.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from repro.capture import hardware as hardware_facet
from repro.capture.deps import is_python
from repro.errors import RunnerError, UsageError
from repro.runners.base import ExecResult, ExecSpec
from repro.runners.docker.container import (
    PROBE_MOUNT,
    ROLE_LABEL,
    RUN_LABEL,
    SITE_MOUNT,
    STDERR,
    STDOUT,
    bind,
    close_attach,
    container_config,
    container_environment,
    exit_status,
    input_mounts,
    parse_gpus,
    pump_frames,
    write_all,
)
from repro.runners.docker.engine import engine_errors, explain, lookup, one_line
from repro.runners.docker.facts import (
    ImageFactsCache,
    container_hardware,
    deps_facet,
    image_environment,
)
from repro.runners.docker.pinning import PinnedImage, context_digest, pin
from repro.runners.host import utc_now
from repro.runners.streams import raise_log_failures, tee

if TYPE_CHECKING:
    from repro.config import RunSpec




STOP_GRACE_S = 5.0  # after forwarding Ctrl-C / SIGTERM, before SIGKILL


PROBE_TIMEOUT_S = 120.0


FORWARDED = (signal.SIGINT, signal.SIGTERM)


UNLISTED_NETWORKS = ("none", "host")  # always there; `docker network inspect` may not show them


Say = Callable[[str], None]


def _stderr_say(message: str) -> None:
    print(f"repro: {message}", file=sys.stderr, flush=True)


class DockerRunner:
    """Runs the command in a container of an image pinned before the run.

    Give `image` (any reference; a pinned one such as ``name@sha256:...`` or ``sha256:<id>``
    replays exactly) or `dockerfile` (built in `prepare`, then pinned by the built image ID)."""

    name = "docker"

    def __init__(
        self,
        image: str | None = None,
        *,
        project_root: Path,
        cwd: Path | None = None,
        dockerfile: Path | None = None,
        build_context: Path | None = None,
        network: str = "none",
        gpus: str | int | None = None,
        run_id: str | None = None,
        algorithm: str = "xxh3_128",
        say: Say | None = None,
        stop_grace_s: float = STOP_GRACE_S,
    ) -> None:
        if (image is None) == (dockerfile is None):
            raise UsageError("the docker runner needs an image or a Dockerfile (one of them)")
        self.image = image
        self.project_root = Path(project_root)
        self.cwd = Path(cwd) if cwd is not None else self.project_root
        self.dockerfile = Path(dockerfile) if dockerfile is not None else None
        self.build_context = Path(build_context) if build_context is not None else None
        self.network = network or "none"
        self.gpus = parse_gpus(gpus)
        self.run_id = run_id or f"adhoc-{os.getpid()}-{time.time_ns()}"
        self.algorithm = algorithm
        self.user = f"{os.getuid()}:{os.getgid()}"
        self.stop_grace_s = stop_grace_s
        self._say = say or (lambda _m: None)
        self._api: Any = None
        self._engine: dict = {}
        self._pinned: PinnedImage | None = None
        self._built: dict | None = None
        self._environment: dict[str, str] | None = None
        self._hardware_thread: threading.Thread | None = None
        self._gathered: tuple[dict, dict] | BaseException | None = None
        self._live: set[str] = set()  # containers created and not yet removed
        self._closed = False
        self._live_lock = threading.Lock()
        self.cache = ImageFactsCache(self.project_root / ".repro" / "cache" / "images")

    @classmethod
    def from_spec(cls, spec: RunSpec) -> DockerRunner:
        """Relative --dockerfile and --build-context paths are relative to the working directory."""
        return cls(
            image=spec.image,
            project_root=spec.root,
            cwd=spec.cwd,
            dockerfile=spec.cwd / spec.dockerfile if spec.dockerfile else None,
            build_context=spec.cwd / spec.build_context if (spec.dockerfile and spec.build_context) else None,
            network=spec.network or "none",
            gpus=spec.gpus,
            run_id=spec.run_id,
            algorithm=spec.algorithm,
            say=None if spec.quiet else _stderr_say,
        )

    @property
    def pinned(self) -> PinnedImage:
        if self._pinned is None:
            raise RunnerError("the docker runner was used before prepare()")
        return self._pinned

    # -- prepare: everything that can fail before the command starts --

    def prepare(self) -> None:
        if self.project_root.resolve() == Path("/"):
            raise RunnerError("the project root is /: it cannot be mounted into a container")
        self._connect()
        self._check_network()
        self._pinned = self._build() if self.dockerfile is not None else self._resolve(self.image or "")
        # The engine's view of the machine is gathered while repro captures the code.
        self._hardware_thread = threading.Thread(target=self._gather_hardware, daemon=True)
        self._hardware_thread.start()

    def _connect(self) -> None:
        try:
            import docker
        except ImportError as e:
            raise RunnerError("the docker runner needs the Docker SDK for Python (pip install docker)") from e
        with engine_errors("cannot reach the Docker engine (is it running? DOCKER_HOST selects another)"):
            client = docker.from_env()
            version = client.api.version()
        self._api = client.api
        self._engine = {
            "version": version.get("Version"),
            "api_version": version.get("ApiVersion"),
            "os": version.get("Os"),
            "arch": version.get("Arch"),
            "kernel": version.get("KernelVersion"),
        }

    def _check_network(self) -> None:
        if self.network in UNLISTED_NETWORKS or self.network.startswith("container:"):
            return
        if lookup(lambda: self._api.inspect_network(self.network), f"cannot check network {self.network}") is None:
            raise RunnerError(f"network {self.network} does not exist (`docker network ls` lists them)")

    def _inspect(self, reference: str) -> dict | None:
        return lookup(lambda: self._api.inspect_image(reference), f"cannot resolve image {reference}")

    def _resolve(self, reference: str) -> PinnedImage:
        attrs = self._inspect(reference)
        if attrs is None:
            if reference.startswith("sha256:"):
                raise RunnerError(f"image {reference} is not on this engine (an image ID cannot be pulled)")
            self._pull(reference)
            attrs = self._inspect(reference)
            if attrs is None:
                raise RunnerError(f"image {reference} was pulled but the engine does not find it")
        digests = tuple(attrs.get("RepoDigests") or ())
        return PinnedImage(reference, pin(reference, attrs["Id"], digests), attrs["Id"], digests,
                           tuple((attrs.get("Config") or {}).get("Env") or ()))

    def _pull(self, reference: str) -> None:
        from docker.utils import parse_repository_tag

        repository, tag = parse_repository_tag(reference)
        self._say(f"pulling {reference}")
        failed = f"image {reference} is not present and cannot be pulled"
        with engine_errors(failed):
            for event in self._api.pull(repository, tag=tag or "latest", stream=True, decode=True):
                if isinstance(event, dict) and event.get("error"):
                    raise RunnerError(f"{failed}: {one_line(event['error'])}")

    def _build(self) -> PinnedImage:
        from repro.data.digest import digest_file
        from repro.paths import project_relative

        dockerfile = Path(os.path.normpath(self.dockerfile))
        context = Path(os.path.normpath(self.build_context or dockerfile.parent))
        if not dockerfile.is_file():
            raise UsageError(f"Dockerfile {self.dockerfile} does not exist")
        if not context.is_dir():
            raise UsageError(f"build context {context} is not a directory")
        shown = project_relative(dockerfile, self.project_root)
        record = {
            "path": shown,
            "digest": digest_file(dockerfile, self.algorithm),
            "context": {"path": project_relative(context, self.project_root),
                        "digest": context_digest(context, dockerfile, self.algorithm)},
        }
        self._say(f"building {shown} (context {record['context']['path']})")
        image_id = None
        failed = f"docker build of {shown} failed"
        with engine_errors(failed):
            for event in self._api.build(path=str(context), dockerfile=str(dockerfile), rm=True, forcerm=True,
                                         decode=True):
                if not isinstance(event, dict):
                    continue
                if event.get("error"):
                    raise RunnerError(f"{failed}: {one_line(event['error'])}")
                aux = event.get("aux")
                if isinstance(aux, dict) and isinstance(aux.get("ID"), str):
                    image_id = aux["ID"]
                line = event.get("stream", "").rstrip()
                if line:
                    self._say(f"build: {line}")
        if image_id is None:
            raise RunnerError(f"{failed}: the engine did not report the ID of the image it built")
        attrs = self._inspect(image_id)
        if attrs is None:
            raise RunnerError(f"{failed}: the built image {image_id} has disappeared")
        self._built = record
        return PinnedImage(None, attrs["Id"], attrs["Id"], tuple(attrs.get("RepoDigests") or ()),
                           tuple((attrs.get("Config") or {}).get("Env") or ()))

    # -- the facets --

    def describe(self) -> dict:
        out: dict[str, Any] = {
            "name": "docker",
            "image": self.pinned.to_json(),
            "network": self.network,
            "gpus": self.gpus,
            "user": self.user,
            "engine": dict(self._engine),
        }
        if self._built is not None:
            out["dockerfile"] = self._built
        if self._environment is not None:
            from repro.secrets import mask_env

            out["environment"] = mask_env(self._environment)
        return out

    def probe(self, argv: tuple[str, ...], project_root: Path) -> dict:
        """The image's interpreter, distributions, OS release and OS packages, probed inside a
        container of the pinned image and cached by image ID. An interpreter inside the project
        (`.venv/bin/python`) belongs to the project, not the image: probed with the project
        mounted, never cached."""
        if argv and is_python(argv[0]):
            interpreter, assumed = argv[0], False
        else:
            interpreter, assumed = "python3", True
        absolute = os.path.normpath(os.path.join(self.cwd, interpreter)) if "/" in interpreter else None
        in_project = absolute is not None and (absolute + "/").startswith(str(self.project_root).rstrip("/") + "/")
        image_id = self.pinned.id
        facts = None if in_project else self.cache.get(image_id, interpreter)
        if facts is None:
            try:
                facts = self._probe_in_container(interpreter, mount_project=in_project)
            except RunnerError as e:
                return {"python": None, "distributions": [], "os": None, "os_packages": None,
                        "interpreter_assumed": assumed, "note": f"probe of {interpreter} in the image failed: {e}"}
            if not in_project:
                self.cache.put(image_id, interpreter, facts)
        return deps_facet(facts, assumed=assumed, kernel=self._engine.get("kernel"), algorithm=self.algorithm)

    def _probe_in_container(self, interpreter: str, *, mount_project: bool) -> dict:
        from repro.inject import probe_script

        mounts = [bind(probe_script().parent, PROBE_MOUNT, read_only=True)]
        if mount_project:
            mounts.append(bind(self.project_root, str(self.project_root), read_only=True))
        config = container_config(
            image_id=self.pinned.id, argv=["-I", f"{PROBE_MOUNT}/image_probe.py"], entrypoint=[interpreter],
            cwd=str(self.cwd) if mount_project else "/", env={}, mounts=mounts, user=self.user, network="none",
            gpus=None, labels={RUN_LABEL: self.run_id, ROLE_LABEL: "probe"},
        )
        out: list[bytes] = []
        err: list[bytes] = []
        with engine_errors("cannot probe the image"):
            cid = self._create(config)
            try:
                sock = self._api.attach_socket(cid, params={"stdout": 1, "stderr": 1, "stream": 1})
                watchdog = threading.Timer(PROBE_TIMEOUT_S, self._kill_quietly, (cid, None))
                watchdog.daemon = True
                try:
                    self._api.start(cid)
                    watchdog.start()
                    pump_frames(sock, {STDOUT: out.append, STDERR: err.append})
                    code = self._api.wait(cid, timeout=PROBE_TIMEOUT_S).get("StatusCode")
                finally:
                    watchdog.cancel()
                    close_attach(sock)
            finally:
                self._remove(cid)
        if code != 0:
            raise RunnerError(f"exit {code}: {one_line(b''.join(err)[-500:]) or 'no output'}")
        try:
            facts = json.loads(b"".join(out))
        except ValueError as e:
            raise RunnerError("the probe printed no JSON") from e
        if not isinstance(facts, dict) or "python" not in facts:
            raise RunnerError("the probe printed no python section")
        return facts

    def _gather_hardware(self) -> None:
        try:
            with engine_errors("cannot query the Docker engine"):
                info = self._api.info()
            self._gathered = (hardware_facet.capture(), info)
        except BaseException as e:  # handed to hardware(), which raises it in the caller's thread
            self._gathered = e

    def hardware(self) -> dict:
        if self._hardware_thread is None:
            self._gather_hardware()
        else:
            self._hardware_thread.join()
        if isinstance(self._gathered, BaseException):
            raise self._gathered
        host, info = self._gathered
        local = str(getattr(self._api, "base_url", "")).startswith("http+docker://localhost")
        return container_hardware(host, info, self.gpus, local=local)

    # -- execute --

    def command_environment(self, repro_env: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
        """(what repro passes, the command's whole environment: the image's ENV under it)."""
        image_env = image_environment(self.pinned.env)
        passed = container_environment(image_env, os.environ, repro_env)
        return passed, {**image_env, **passed}

    def command_env(self, repro_env: dict[str, str]) -> dict[str, str]:
        return self.command_environment(repro_env)[1]

    def execute(self, spec: ExecSpec) -> ExecResult:
        passed, self._environment = self.command_environment(spec.repro_env)
        config = container_config(
            image_id=self.pinned.id, argv=spec.argv, cwd=str(spec.cwd), env=passed,
            mounts=[bind(spec.project_root, str(spec.project_root), read_only=False),
                    *input_mounts(spec.inputs, spec.project_root),
                    bind(spec.inject_dir, SITE_MOUNT, read_only=True)],
            user=self.user, network=self.network, gpus=self.gpus,
            labels={RUN_LABEL: self.run_id, ROLE_LABEL: "command"},
        )
        with engine_errors("cannot create the container"):
            cid = self._create(config, name=f"repro-{self.run_id}")
        try:
            return self._run(cid, spec)
        except BaseException:
            # The probe may still be running in its own thread: a failed run must not leave it.
            for other in self._close():
                if other != cid:
                    self._remove(other)
            raise
        finally:
            self._remove(cid)

    def _run(self, cid: str, spec: ExecSpec) -> ExecResult:
        api = self._api
        with engine_errors("cannot attach to the container"):
            sock = api.attach_socket(cid, params={"stdout": 1, "stderr": 1, "stream": 1})
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        writers = {STDOUT: out_w, STDERR: err_w}

        def pump() -> None:
            try:
                pump_frames(sock, {n: (lambda data, fd=fd: write_all(fd, data)) for n, fd in writers.items()})
            finally:
                for fd in writers.values():
                    os.close(fd)

        pumper = threading.Thread(target=pump, daemon=True)
        pumper.start()
        out = tee(os.fdopen(out_r, "rb"), spec.stdout_log, sys.stdout.buffer if spec.echo else None)
        err = tee(os.fdopen(err_r, "rb"), spec.stderr_log, sys.stderr.buffer if spec.echo else None)

        received: list[int] = []
        exited = threading.Event()
        escalated = threading.Event()

        def stop(first: bool) -> None:
            if first:
                self._kill_quietly(cid, signal.Signals(received[-1]).name)
                if exited.wait(self.stop_grace_s):
                    return
            escalated.set()
            self._kill_quietly(cid, None)

        def forward(signum: int, _frame: Any) -> None:
            received.append(signum)
            threading.Thread(target=stop, args=(len(received) == 1,), daemon=True).start()

        handlers = threading.current_thread() is threading.main_thread()
        previous = {s: signal.signal(s, forward) for s in FORWARDED} if handlers else {}
        started = utc_now()
        t0 = time.monotonic()
        completed = False
        try:
            self._start(cid, spec.argv[0])
            with engine_errors("lost the Docker engine while the command ran"):
                status = api.wait(cid, timeout=None)
            duration = time.monotonic() - t0
            ended = utc_now()
            completed = True
        finally:
            exited.set()
            for s, h in previous.items():
                signal.signal(s, h)
            if completed:  # the engine ends the attach stream once the output is delivered
                pumper.join(timeout=30)
            close_attach(sock)
            pumper.join()
            out.join()
            err.join()
        raise_log_failures(out, err)
        code, sig = exit_status(int(status.get("StatusCode", -1)), received, escalated.is_set())
        return ExecResult(code, started, ended, round(duration, 6), sig, extra={"container": cid})

    # -- container lifecycle --

    def _create(self, config: dict, name: str | None = None) -> str:
        """Create a container and remember it until it is removed (callers translate errors).
        After `_close`, a container that was being created is removed at once."""
        cid = self._api.create_container_from_config(config, name=name)["Id"]
        with self._live_lock:
            closed = self._closed
            if not closed:
                self._live.add(cid)
        if closed:
            self._remove(cid)
            raise RunnerError("the run was stopped")
        return cid

    def _close(self) -> list[str]:
        """Refuse new containers; return those still to remove."""
        with self._live_lock:
            self._closed = True
            return list(self._live)

    def _start(self, cid: str, argv0: str) -> None:
        import docker.errors

        with engine_errors("the container did not start"):
            try:
                self._api.start(cid)
            except docker.errors.APIError as e:
                why = explain(e)
                if "executable file not found" in why or (f'"{argv0}"' in why and "no such file or directory" in why):
                    raise RunnerError(f"command not found in the image: {argv0}") from e
                raise

    def _kill_quietly(self, cid: str, signame: str | None) -> None:
        """Send a signal (None: SIGKILL); a container that has already stopped is not an error."""
        try:
            with engine_errors("kill"):
                if signame:
                    self._api.kill(cid, signal=signame)
                else:
                    self._api.kill(cid)
        except RunnerError:
            pass

    def _remove(self, cid: str) -> None:
        """Remove the container whatever happened. Ctrl-C and SIGTERM wait while it is removed:
        a second Ctrl-C must not leave it behind."""
        import docker.errors

        main = threading.current_thread() is threading.main_thread()
        previous = {s: signal.signal(s, signal.SIG_IGN) for s in FORWARDED} if main else {}
        try:
            with engine_errors("remove"):
                try:
                    self._api.remove_container(cid, force=True)
                except docker.errors.NotFound:
                    pass
                except docker.errors.APIError as e:
                    if e.status_code != 409:  # 409: a removal is already under way
                        raise
        except RunnerError as e:
            self._say(f"warning: container {cid[:12]} could not be removed: {e}")
        finally:
            with self._live_lock:
                self._live.discard(cid)
            for s, h in previous.items():
                signal.signal(s, h)
