"""The observing half of the injected sitecustomize, run in real child interpreters: what it
records, that forked children flush, and that it never changes what the program computes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from repro.inject import site_dir
from repro.observe import merge_processes


def run_child(tmp_path: Path, code: str, *, observe: str = "1", extra_path=()) -> tuple[subprocess.CompletedProcess, list[dict]]:
    run_dir = tmp_path / "run"
    run_dir.mkdir(exist_ok=True)
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent(code))
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPRO_")}
    env.update({"PYTHONPATH": os.pathsep.join([str(site_dir()), *map(str, extra_path)]), "REPRO_RUN_DIR": str(run_dir),
                "REPRO_SEED": "7", "REPRO_OBSERVE": observe, "REPRO_PROJECT_ROOT": str(tmp_path)})
    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    events = [json.loads(line) for p in sorted(run_dir.glob("proc-*.jsonl")) for line in p.read_text().splitlines()]
    return out, events


def files_of(events: list[dict]) -> dict[str, set[str]]:
    """access kind -> paths, each process's records merged in order as repro merges them."""
    kinds: dict[str, set[str]] = {}
    for log in merge_processes(events):
        for path, kind in log.files.items():
            kinds.setdefault(kind, set()).add(path)
    return kinds


def calls_of(events: list[dict]) -> list[tuple]:
    return [(c["call"], c["site"].rsplit("/", 1)[-1], tuple(c["values"]), c["unseeded"])
            for e in events if e["event"] == "observed" for c in e.get("seed_calls", [])]


def test_reads_writes_and_their_order_are_recorded_with_absolute_paths(tmp_path):
    (tmp_path / "in.txt").write_text("x")
    (tmp_path / "sub").mkdir()
    out, events = run_child(tmp_path, """
        import os
        open("in.txt").read()
        open("out.txt", "w").write("y")
        open("out.txt").read()
        os.close(os.open("raw.bin", os.O_WRONLY | os.O_CREAT))
        os.chdir("sub")
        open("../in.txt", "a").write("z")
        os.replace("../raw.bin", "moved.bin")
        os.listdir("..")
    """)
    assert out.returncode == 0, out.stderr
    kinds = files_of(events)
    t = str(tmp_path)
    assert f"{t}/in.txt" in kinds["rw"] and f"{t}/out.txt" in kinds["wr"]
    assert {f"{t}/raw.bin", f"{t}/sub/moved.bin"} <= kinds["w"]
    assert any(t in e.get("listed", []) for e in events if e["event"] == "observed")


def test_pool_workers_ended_by_sigterm_have_written_their_records(tmp_path):
    """Pool.__exit__ terminates its workers: they write before returning each result."""
    for name in ("a.txt", "b.txt", "c.txt"):
        (tmp_path / name).write_text(name)
    out, events = run_child(tmp_path, """
        import multiprocessing as mp, random
        def work(path):
            random.seed(11)
            return open(path).read()
        if __name__ == "__main__":
            with mp.get_context("fork").Pool(1) as pool:
                assert pool.map(work, ["a.txt"]) == ["a.txt"]
            with mp.get_context("spawn").Pool(1) as pool:
                assert pool.map(work, ["b.txt"]) == ["b.txt"]
            p = mp.get_context("fork").Process(target=work, args=("c.txt",))  # ends through os._exit
            p.start()
            p.join()
    """)
    assert out.returncode == 0, out.stderr
    starts = {e["pid"]: e for e in events if e["event"] == "start"}
    main = next(pid for pid, s in starts.items() if not s["forked"] and s["argv"][-1].endswith("prog.py"))
    readers = {e["pid"] for e in events if e["event"] == "observed"
               for p in e.get("files", {}).get("r", []) if p.endswith(("/a.txt", "/b.txt", "/c.txt"))}
    assert len(readers) == 3 and main not in readers and all(pid in starts for pid in readers)
    assert sum(1 for pid in readers if starts[pid]["forked"]) == 2
    assert calls_of(events).count(("random.seed", "prog.py:4", (11,), False)) == 3


def test_a_large_buffer_is_written_before_the_end(tmp_path):
    (tmp_path / "f").write_text("x")
    out, events = run_child(tmp_path, """
        for _ in range(60000):
            open("f").close()
        import os
        os._exit(0)
    """)
    assert out.returncode == 0, out.stderr
    chunks = [e for e in events if e["event"] == "observed" and f"{tmp_path}/f" in e.get("files", {}).get("r", [])]
    assert len(chunks) == 2


def test_seed_calls_are_recorded_with_value_and_call_site_and_change_nothing(tmp_path):
    out, events = run_child(tmp_path, """
        import pickle, random
        import numpy as np
        random.seed(5); a = random.random()
        np.random.seed(6); b = np.random.rand()
        c = np.random.default_rng(8).random()
        d = np.random.default_rng(seed=np.int64(9)).random()
        g = np.random.default_rng()
        pickle.loads(pickle.dumps(np.random.default_rng(1)))
        np.random.Generator(np.random.PCG64())
        assert isinstance(g, np.random.Generator) and np.random.default_rng.__wrapped__
        print(a, b, c, d)
    """)
    assert out.returncode == 0, out.stderr
    import random

    import numpy as np

    random.seed(5)
    np.random.seed(6)
    expected = [random.random(), np.random.rand(), np.random.default_rng(8).random(), np.random.default_rng(9).random()]
    assert [float(x) for x in out.stdout.split()] == expected
    assert calls_of(events) == [
        ("random.seed", "prog.py:4", (5,), False),
        ("numpy.random.seed", "prog.py:5", (6,), False),
        ("numpy.random.default_rng", "prog.py:6", (8,), False),
        ("numpy.random.default_rng", "prog.py:7", (9,), False),
        ("numpy.random.default_rng", "prog.py:8", (None,), True),
        ("numpy.random.default_rng", "prog.py:9", (1,), False),
        ("numpy.random.SeedSequence", "prog.py:10", (None,), True),
    ]


def test_repros_own_seeding_is_not_reported_as_the_programs(tmp_path):
    out, events = run_child(tmp_path, "import random, numpy; numpy.random.rand()\n")
    assert out.returncode == 0, out.stderr
    assert {e["lib"] for e in events if e["event"] == "seeded"} == {"random", "numpy"}
    assert calls_of(events) == []


def test_torch_tensorflow_and_jax_seeding_calls_are_wrapped(tmp_path):
    """Stand-in packages with the real names exercise the import hook without the frameworks."""
    fake = tmp_path / "fake"
    (fake / "torch" / "cuda").mkdir(parents=True)
    (fake / "torch" / "__init__.py").write_text(textwrap.dedent("""
        from . import cuda
        SEEDS = []
        def manual_seed(seed):
            SEEDS.append(seed)
            cuda.manual_seed_all(seed)
        def seed():
            return 42
    """))
    (fake / "torch" / "cuda" / "__init__.py").write_text("ALL = []\ndef manual_seed_all(seed):\n    ALL.append(seed)\n")
    (fake / "jax" / "random").mkdir(parents=True)
    (fake / "jax" / "__init__.py").write_text("from . import random\n")
    (fake / "jax" / "random" / "__init__.py").write_text("def PRNGKey(seed):\n    return ('key', seed)\n")
    out, events = run_child(tmp_path, """
        import torch, jax
        torch.manual_seed(123)
        torch.seed()
        torch.cuda.manual_seed_all(9)
        print(torch.SEEDS, torch.cuda.ALL, jax.random.PRNGKey(3))
    """, extra_path=[fake])
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[7, 123] [7, 123, 9] ('key', 3)"
    assert {(e["lib"], e["value"]) for e in events if e["event"] == "seeded"} >= {("torch", 7)}
    assert calls_of(events) == [
        ("torch.manual_seed", "prog.py:3", (123,), False),
        ("torch.seed", "prog.py:4", (None,), True),
        ("torch.cuda.manual_seed_all", "prog.py:5", (9,), False),
        ("jax.random.PRNGKey", "prog.py:6", (3,), False),
    ]


def test_no_observe_records_nothing_but_still_seeds(tmp_path):
    out, events = run_child(tmp_path, "import random; print(random.seed.__module__)\nrandom.seed(1)\n", observe="0")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "random"
    assert [e["event"] for e in events] == ["start", "seeded"]


def test_odd_audit_events_never_break_the_program(tmp_path):
    out, events = run_child(tmp_path, """
        import sys
        sys.audit("open", object(), None, None)
        sys.audit("open", 3)
        sys.audit("os.listdir", b"/tmp")
        sys.audit("subprocess.Popen", None, 5, None, None)
        open(__file__).read()
        print("fine")
    """)
    assert out.returncode == 0 and out.stdout.strip() == "fine" and out.stderr == ""
    assert any(p.endswith("prog.py") for p in files_of(events).get("r", ()))
