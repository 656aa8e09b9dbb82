"""Shared fixtures: isolated keys, a copy of the example project, and the `repro` CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

from tests.examples import make_example

REPO = Path(__file__).resolve().parents[1]

# Property tests: `HYPOTHESIS_PROFILE=ci` (set by .ci/run) runs ten times the examples each test
# asks for, enough to find a type confusion deep in a manifest on every run, not one run in a few.
settings.register_profile("ci", max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def examples(n: int) -> int:
    """`n` examples by default; scaled with the loaded profile's max_examples (ten times under `ci`)."""
    return max(n, n * settings().max_examples // 100)


def asset(name: str) -> Path:
    return Path(__file__).parent / "assets" / name


@pytest.fixture
def xdg(tmp_path_factory, monkeypatch) -> Path:
    """An empty config home, so tests never see or write the user's own keys."""
    home = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.delenv("REPRO_SIGNING_KEY", raising=False)
    return home


@pytest.fixture
def keys(xdg) -> Path:
    """A real Ed25519 key pair made by `repro keygen`; returns the config home."""
    result = repro_cli("keygen", env={"XDG_CONFIG_HOME": str(xdg)})
    assert result.returncode == 0, result.stderr
    return xdg


def repro_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 300,
              input: str | None = None) -> subprocess.CompletedProcess:
    """Run the real CLI (`python -m repro`) in a subprocess."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "repro", *args], cwd=cwd, env=full_env, capture_output=True, text=True,
        timeout=timeout, input=input,
    )


@pytest.fixture
def example(tmp_path) -> Path:
    """A private copy of the example project, made a git repository with one commit."""
    return make_example(tmp_path / "logreg")


@pytest.fixture(scope="session")
def audit_project(tmp_path_factory):
    """Signed and unsigned runs of a copy of the example and two replays (tests/audit/project.py)."""
    from tests.audit.project import make_project

    return make_project(tmp_path_factory.mktemp("audit"))


_DOCKER: tuple[bool, str] | None = None


def docker_available() -> tuple[bool, str]:
    global _DOCKER
    if _DOCKER is None:
        try:
            import docker

            docker.from_env(timeout=5).ping()
            _DOCKER = (True, "")
        except Exception as e:  # any failure to reach an engine means "no engine" here
            _DOCKER = (False, f"no Docker engine answers ({type(e).__name__})")
    return _DOCKER


def require_part(variable: str, reason: str | None, hint: str) -> None:
    """The one rule for tests that need a real part (an engine, a sandbox, a browser, a cluster):
    where it is missing they skip, saying why and what provides it, and fail instead under
    `variable`=1, which CI sets after provisioning the part."""
    if reason is None:
        return
    if os.environ.get(variable) == "1":
        pytest.fail(f"{variable}=1 but {reason}")
    pytest.skip(f"{reason}; {hint}")


def _reason(probe) -> str | None:
    ok, reason = probe()
    return None if ok else reason


_BWRAP: tuple[bool, str] | None = None


def bwrap_available() -> tuple[bool, str]:
    """Probed for real, not from the user's cache: a test must not trust another run's answer."""
    global _BWRAP
    if _BWRAP is None:
        import shutil

        from repro.sandbox.probe import measure

        path = shutil.which("bwrap")
        if path is None:
            _BWRAP = (False, "bwrap is not installed")
        else:
            found = measure(path)
            _BWRAP = (found.usable, found.reason or "")
    return _BWRAP


def chromium_path() -> str | None:
    from repro.audit.pdf import find_chromium

    return find_chromium()


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    import shutil

    missing = [name for name, found in (("chromium", chromium_path()), ("pdftotext", shutil.which("pdftotext")))
               if found is None]
    return f"{' and '.join(missing)} not installed" if missing else None


def require_chromium() -> None:
    """Skip, saying why, where headless Chromium (or pdftotext) is missing — and fail instead
    under REPRO_REQUIRE_CHROMIUM=1, which CI sets after tests/browser/provision.sh."""
    require_part("REPRO_REQUIRE_CHROMIUM", chromium_missing(), "tests/browser/provision.sh installs them")


def _missing_modules(names: tuple[str, ...]) -> list[str]:
    import importlib.util

    return [n for n in names if importlib.util.find_spec(n) is None]


# marker -> (the modules every test under it needs, the variable that makes a missing one fail)
_PART_MARKERS = {
    "torch": (("torch",), "REPRO_REQUIRE_TORCH"),
    "notebook": (("nbconvert", "ipykernel", "nbformat"), "REPRO_REQUIRE_NOTEBOOK"),
}


@pytest.fixture(autouse=True)
def _part_gate(request):
    """Tests marked `torch` (or `notebook`) skip, naming the missing modules, where those are
    not installed, and fail instead under REPRO_REQUIRE_TORCH=1 (REPRO_REQUIRE_NOTEBOOK=1). A
    marker's arguments name further modules the test needs: `@pytest.mark.torch("lightning")`."""
    for name, (modules, variable) in _PART_MARKERS.items():
        marker = request.node.get_closest_marker(name)
        if marker is None:
            continue
        missing = _missing_modules((*modules, *marker.args))
        if not missing:
            continue
        reason = f"needs {', '.join(missing)} (not importable here)"
        if os.environ.get(variable) == "1":
            pytest.fail(f"{variable}=1 but this test {reason}")
        pytest.skip(reason)


_SLURM: tuple[bool, str] | None = None


def slurm_available() -> tuple[bool, str]:
    """A controller that answers and at least one node that can run a job, asked for real."""
    global _SLURM
    if _SLURM is None:
        import shutil

        if shutil.which("srun") is None or shutil.which("sinfo") is None:
            _SLURM = (False, "Slurm's client commands (srun, sinfo) are not installed")
        else:
            try:
                out = subprocess.run(["sinfo", "-h", "-N", "-o", "%N %T"], capture_output=True, text=True, timeout=10)
                usable = [line for line in out.stdout.splitlines()
                          if line.split()[-1].rstrip("*") in ("idle", "mixed", "allocated", "completing")]
                _SLURM = (True, "") if out.returncode == 0 and usable else (
                    False, f"no Slurm node is ready ({(out.stderr.strip() or out.stdout.strip())[:200]})")
            except (OSError, subprocess.TimeoutExpired) as e:
                _SLURM = (False, f"Slurm does not answer ({type(e).__name__})")
    return _SLURM


def slurm_nodes() -> int:
    out = subprocess.run(["sinfo", "-h", "-N", "-o", "%N"], capture_output=True, text=True, timeout=10)
    return len(set(out.stdout.split()))


# marker -> (why the part is missing here or None, the variable that makes that fail, what provides it)
_REAL_PARTS = {
    "docker": (lambda: _reason(docker_available), "REPRO_REQUIRE_DOCKER", "tests/docker/provision.sh starts one"),
    "bwrap": (lambda: _reason(bwrap_available), "REPRO_REQUIRE_BWRAP", "tests/bwrap/provision.sh installs it"),
    "chromium": (chromium_missing, "REPRO_REQUIRE_CHROMIUM", "tests/browser/provision.sh installs them"),
    "slurm": (lambda: _reason(slurm_available), "REPRO_REQUIRE_SLURM",
              "tests/slurm/provision.sh starts a single-host cluster"),
}


@pytest.fixture(autouse=True)
def _real_part_gate(request):
    """Tests marked `docker`, `bwrap`, `chromium` or `slurm` run only where that part works here
    (`require_part`)."""
    for marker, (missing, variable, hint) in _REAL_PARTS.items():
        if request.node.get_closest_marker(marker) is not None:
            require_part(variable, missing(), hint)
