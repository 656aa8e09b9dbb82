"""What `repro run --image` costs over a plain `docker run --rm`, on the same machine, in one run.

Cases, interleaved, medians of N repetitions (seconds), ratios against `docker run --rm`:
  docker run          docker run --rm IMAGE python -c pass
  docker run, no net  docker run --rm --network none IMAGE python -c pass   (what repro runs)
  repro run --image   repro run --image IMAGE -- python -c pass             (signed, warm cache)
  repro run (host)    repro run -- python -c pass                           (repro's own fixed cost)
  SDK lifecycle       python: import docker; create, start, wait, logs, remove through the SDK
                      (what the engine costs per run through the API repro uses, no repro code)
  import docker       python -c "import docker"                             (the SDK's import alone)
  python (host)       python -c pass
plus the first run of an image, when its facts are probed (cache cold), as a median of 3.

The image defaults to REPRO_TEST_IMAGE from tests/docker/.env (bash tests/docker/provision.sh).
Usage: python benchmarks/bench_docker.py [--image IMAGE] [--repeat 9]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import git_project, interleaved, print_ratio_table, ratio_row, timed

REPO = Path(__file__).resolve().parents[1]
ENV_FILE = REPO / "tests" / "docker" / ".env"


def default_image() -> str:
    if os.environ.get("REPRO_TEST_IMAGE"):
        return os.environ["REPRO_TEST_IMAGE"]
    if ENV_FILE.is_file():
        for line in ENV_FILE.read_text().splitlines():
            if line.startswith("REPRO_TEST_IMAGE="):
                return line.split("=", 1)[1].strip()
    return "repro-test/python:bookworm"


SDK_LIFECYCLE = """
import sys, docker
api = docker.from_env().api
c = api.create_container(sys.argv[1], ["python", "-c", "pass"], host_config=api.create_host_config(network_mode="none"))
api.start(c)
api.wait(c)
api.logs(c)
api.remove_container(c)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", default=default_image())
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    docker = shutil.which("docker")
    if docker is None:
        sys.exit("bench_docker: the docker command line is needed for the baseline")
    with tempfile.TemporaryDirectory(prefix="repro-bench-docker-") as tmp:
        project = Path(tmp) / "proj"
        project.mkdir()
        (project / "README").write_text("bench\n")
        git_project(project)
        env = {**os.environ, "XDG_CONFIG_HOME": str(Path(tmp) / "xdg")}
        repro = [sys.executable, "-m", "repro"]
        subprocess.run([*repro, "keygen"], env=env, check=True, stdout=subprocess.DEVNULL)
        in_image = [*repro, "run", "--manifest", "bench.json", "--image", args.image, "--", "python", "-c", "pass"]
        cache = project / ".repro" / "cache" / "images"

        cold = []
        for _ in range(3):
            shutil.rmtree(cache, ignore_errors=True)
            cold.append(timed(in_image, project, env))
        warm = cache.is_dir() and any(cache.iterdir())

        cases = {
            "docker run": [docker, "run", "--rm", args.image, "python", "-c", "pass"],
            "docker run, no net": [docker, "run", "--rm", "--network", "none", args.image, "python", "-c", "pass"],
            "repro run --image": in_image,
            "repro run (host)": [*repro, "run", "--manifest", "host.json", "--", sys.executable, "-c", "pass"],
            "SDK lifecycle": [sys.executable, "-c", SDK_LIFECYCLE, args.image],
            "import docker": [sys.executable, "-c", "import docker"],
            "python (host)": [sys.executable, "-c", "pass"],
        }
        times = interleaved(cases, args.repeat, project, env)
    print(f"{args.image}: `python -c pass`, median of {args.repeat}, interleaved (seconds)")
    print(f"image-facts cache during the timed runs: {'warm' if warm else 'COLD'}")
    base = print_ratio_table(times, "docker run")
    print(ratio_row("repro run, cold cache", statistics.median(cold), base) + "   (first run of an image: median of 3)")
    fixed = statistics.median(times["repro run (host)"]) - statistics.median(times["python (host)"])
    added = statistics.median(times["repro run --image"]) - statistics.median(times["docker run, no net"])
    print(f"repro's fixed cost on the host: {fixed:+.3f} s; added to a container run: {added:+.3f} s")
    sdk = statistics.median(times["SDK lifecycle"]) - statistics.median(times["docker run, no net"])
    imported = statistics.median(times["import docker"]) - statistics.median(times["python (host)"])
    print(f"the SDK path against the docker CLI: {sdk:+.3f} s, of which importing the SDK {imported:+.3f} s")


if __name__ == "__main__":
    main()
