"""The injected sitecustomize, run in a real child interpreter."""

import json
import os
import subprocess
import sys

from repro.inject import site_dir


def run_child(tmp_path, code, extra_path=(), seed="7"):
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPRO_")}
    env["PYTHONPATH"] = os.pathsep.join([str(site_dir()), *map(str, extra_path)])
    env["REPRO_RUN_DIR"] = str(tmp_path)
    env["REPRO_SEED"] = seed
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=tmp_path)
    events = [json.loads(line) for p in tmp_path.glob("proc-*.jsonl") for line in p.read_text().splitlines()]
    return out, events


def test_seeds_random_and_numpy_lazily_and_records_it(tmp_path):
    out, events = run_child(tmp_path, "import random, numpy; print(random.random(), numpy.random.rand())")
    assert out.returncode == 0, out.stderr
    import numpy as np
    import random as r

    r.seed(7)
    np.random.seed(7)
    assert out.stdout.split() == [str(r.random()), str(np.random.rand())]
    assert {(e["lib"], e["value"]) for e in events if e["event"] == "seeded"} == {("random", 7), ("numpy", 7)}


def test_numpy_is_not_imported_for_programs_that_do_not_use_it(tmp_path):
    out, _ = run_child(tmp_path, "import sys; print('numpy' in sys.modules)")
    assert out.stdout.strip() == "False"


def test_chains_to_a_shadowed_sitecustomize(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "sitecustomize.py").write_text("import builtins\nbuiltins.CHAINED = True\n")
    out, events = run_child(tmp_path, "import builtins; print(getattr(builtins, 'CHAINED', False))", extra_path=[other])
    assert out.stdout.strip() == "True", out.stderr
    assert any(e["event"] == "seeded" for e in events)


def test_a_broken_run_dir_never_breaks_the_program(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(site_dir()), "REPRO_RUN_DIR": str(tmp_path / "missing" / "dir"),
           "REPRO_SEED": "not-a-number"}
    out = subprocess.run([sys.executable, "-c", "print('fine')"], env=env, capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "fine" and out.stderr == ""


def test_our_directory_is_removed_from_sys_path(tmp_path):
    out, _ = run_child(tmp_path, "import sys; print(any(p.endswith('site') and 'inject' in p for p in sys.path))")
    assert out.stdout.strip() == "False"
