"""repro's hook inside the user's Python (standard library only).

It seeds the global generators before the program runs, seeds torch / tensorflow right after the
program imports them, records what it did as JSON lines in the run directory, then hands over to
any `sitecustomize` it shadows. Nothing here may ever break the user's program: every failure is
recorded, never raised.
"""

import os
import sys


def _repro_main():
    import json

    run_dir = os.environ.get("REPRO_RUN_DIR")
    seed_text = os.environ.get("REPRO_SEED")
    log_path = os.path.join(run_dir, "proc-%d.jsonl" % os.getpid()) if run_dir else None

    def record(event, **fields):
        # Appended line by line: a process that ends through os._exit (forked workers) loses nothing.
        if log_path is None:
            return
        fields["event"] = event
        fields["pid"] = os.getpid()
        try:
            fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            try:
                os.write(fd, (json.dumps(fields, sort_keys=True, default=str) + "\n").encode("utf-8"))
            finally:
                os.close(fd)
        except Exception:
            pass

    record(
        "start",
        ppid=os.getppid(),
        argv=list(sys.argv) if hasattr(sys, "argv") else [],
        executable=sys.executable,
        version="%d.%d.%d" % sys.version_info[:3],
        flags={"isolated": sys.flags.isolated, "no_site": sys.flags.no_site},
    )

    if seed_text is None:
        return
    try:
        seed = int(seed_text)
    except ValueError:
        record("error", where="seed", message="REPRO_SEED is not an integer")
        return

    try:
        import random

        random.seed(seed)
        record("seeded", lib="random", value=seed)
    except Exception as e:
        record("error", where="random", message=repr(e))

    def seed_numpy_random(module):
        module.seed(seed % 2**32)
        record("seeded", lib="numpy", value=seed % 2**32)

    def seed_torch(module):
        module.manual_seed(seed)
        record("seeded", lib="torch", value=seed)

    def seed_tensorflow(module):
        module.random.set_seed(seed)
        record("seeded", lib="tensorflow", value=seed)

    def note_jax(module):
        record("not_seeded", lib="jax", reason="jax has no global generator: keys are passed explicitly")

    hooks = {
        "numpy.random": seed_numpy_random,
        "torch": seed_torch,
        "tensorflow": seed_tensorflow,
        "jax": note_jax,
    }

    import importlib.abc
    import importlib.util

    class _Loader(importlib.abc.Loader):
        def __init__(self, inner, after):
            self._inner = inner
            self._after = after

        def create_module(self, spec):
            return self._inner.create_module(spec)

        def exec_module(self, module):
            self._inner.exec_module(module)
            try:
                self._after(module)
            except Exception as e:
                record("error", where=module.__name__, message=repr(e))

        def __getattr__(self, name):
            return getattr(self._inner, name)

    class _SeedFinder(importlib.abc.MetaPathFinder):
        """Wraps the real loader of a hooked module so seeding runs right after it executes;
        costs nothing for programs that never import those modules."""

        def find_spec(self, fullname, path, target=None):
            after = hooks.pop(fullname, None)
            if after is None:
                return None
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                        spec.loader = _Loader(spec.loader, after)
                    return spec
            return None

    # A module imported before us (rare) is seeded now.
    for name in list(hooks):
        if name in sys.modules:
            try:
                hooks.pop(name)(sys.modules[name])
            except Exception as e:
                record("error", where=name, message=repr(e))
    sys.meta_path.insert(0, _SeedFinder())


def _chain_shadowed():
    """Import the `sitecustomize` this one shadows (Debian's python3 ships one)."""
    here = os.path.dirname(os.path.abspath(__file__))
    ours = sys.modules.get("sitecustomize")
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    sys.modules.pop("sitecustomize", None)
    try:
        import importlib

        importlib.import_module("sitecustomize")
    except ImportError as e:
        if getattr(e, "name", None) != "sitecustomize":
            raise
        if ours is not None:
            sys.modules["sitecustomize"] = ours


try:
    _repro_main()
except Exception:
    pass
try:
    _chain_shadowed()
except Exception:
    import traceback

    traceback.print_exc()
