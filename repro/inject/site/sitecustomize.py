"""repro's hook inside the user's Python (standard library only; Python 3.8 syntax).

It seeds the global generators before the program runs and seeds torch / tensorflow right after
the program imports them. Unless the run sets REPRO_OBSERVE=0 it also observes the program: an
audit hook collects file opens, directory listings and spawned commands, and wrappers around the
seeding functions note every seed the program sets, with its call site. Records are JSON lines in
the run directory, one file per process. Then it hands over to any `sitecustomize` it shadows.
Nothing here may ever break the user's program: every failure is recorded, never raised.
"""

import os
import sys

try:  # the masking rules repro applies too, from this directory: command lines are masked at the source
    from _repro_masking import mask_argv as _mask_argv
except Exception:
    def _mask_argv(argv):
        """Without the rules, nothing of a command line is recorded."""
        return ["***"] * len(argv)

_WATCHED = frozenset(
    ("os.listdir", "os.scandir", "os.rename", "subprocess.Popen", "os.exec", "os.posix_spawn", "os.system")
)
_NOT_STATE = frozenset((".git", ".repro", "__pycache__"))
_FLUSH_AT = 50000  # buffered opens: bounds memory, and a killed process loses at most this many
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_MAX_VALUES = 10  # distinct seed values kept per call site
_MAX_SPAWNED = 1000
_RANK_VARIABLES = (
    "RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK", "TORCHELASTIC_RUN_ID",
    "SLURM_JOB_ID", "SLURM_STEP_ID", "SLURM_PROCID", "SLURM_LOCALID", "SLURM_NODEID", "SLURM_NNODES",
    "SLURM_NTASKS", "SLURMD_NODENAME",
    "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK", "PMI_RANK", "PMI_SIZE",
)
"""The launchers' own variables that say which rank a process is (torchrun, Slurm, MPI)."""
_LOCAL_RANK_VARIABLES = ("LOCAL_RANK", "SLURM_LOCALID", "OMPI_COMM_WORLD_LOCAL_RANK")
_NUMERIC_FLAGS = ("sse2", "sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512dq", "avx512bw",
                  "avx512vl", "avx512_bf16", "avx512_fp16", "avx512_vnni", "amx_bf16", "amx_tile", "neon", "asimd",
                  "sve", "sve2", "fp16", "asimdhp")
"""repro.capture.hardware.NUMERIC_FLAGS (a test keeps the two equal): the ISA flags that change float results."""


def _log_name():
    """`proc-<pid>.jsonl`; a process of a distributed job adds its node's name: on a file system
    the nodes share, two nodes' processes may have the same pid."""
    if not any(name in os.environ for name in _RANK_VARIABLES):
        return "proc-%d.jsonl"
    try:
        import socket

        node = os.environ.get("SLURMD_NODENAME") or socket.gethostname()
    except Exception:
        node = "node"
    node = "".join(c if c.isalnum() or c in "._-" else "_" for c in node)[:64] or "node"
    return "proc-" + node + "-%d.jsonl"


def _log_writer(run_dir):
    import json

    name = _log_name()

    def write(fields):
        """One JSON line per call, appended with one write: a process that dies loses nothing
        already written, and concurrent writers never interleave within a line."""
        if not run_dir:
            return
        data = memoryview((json.dumps(fields, sort_keys=True, default=str) + "\n").encode("utf-8"))
        path = os.path.join(run_dir, name % os.getpid())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            while data:
                data = data[os.write(fd, data):]
        finally:
            os.close(fd)

    def record(event, **fields):
        fields["event"] = event
        fields["pid"] = os.getpid()
        try:
            write(fields)
        except Exception:
            pass

    return write, record


def _getcwd():
    try:
        return os.getcwd()
    except OSError:
        return None


def _interpreter_trees():
    """Directories that belong to the interpreter, not to the project: stdlib, site-packages and,
    in a virtual environment, the whole environment."""
    import site

    trees = [os.path.dirname(os.__file__)]
    try:
        trees.extend(site.getsitepackages())
    except Exception:
        pass
    user_site = getattr(site, "USER_SITE", None)
    if user_site:
        trees.append(user_site)
    if sys.prefix != getattr(sys, "base_prefix", sys.prefix):
        trees.append(sys.prefix)
    return sorted(set(os.path.abspath(t) for t in trees if t))


def _start_fields(observing, forked=False):
    return {
        "ppid": os.getppid(),
        "argv": _mask_argv(list(sys.argv)) if hasattr(sys, "argv") else [],
        "executable": sys.executable,
        "version": "%d.%d.%d" % sys.version_info[:3],
        "flags": {"isolated": sys.flags.isolated, "no_site": sys.flags.no_site},
        "cwd": _getcwd(),
        "root": os.environ.get("REPRO_PROJECT_ROOT"),
        "observing": observing,
        "forked": forked,
        "trees": _interpreter_trees() if observing else [],
    }


def _text(value):
    try:
        return os.fsdecode(value)
    except TypeError:
        return str(value)


def _absolute(path, cwd):
    """The absolute form of a path an event named; None for a file descriptor or anything else
    that names no path."""
    if path.__class__ is not str:
        if path is None:
            return cwd
        if isinstance(path, int):
            return None
        try:
            path = os.fsdecode(path)
        except Exception:
            return None
    if path[:1] != "/":
        path = cwd + "/" + path
    if "/." in path or "//" in path:
        path = os.path.normpath(path)
    return path


def _is_write(mode, flags):
    if isinstance(mode, str):
        return "w" in mode or "a" in mode or "x" in mode or "+" in mode
    return isinstance(flags, int) and bool(flags & _WRITE_FLAGS)  # os.open gives no mode


def _absolute_all(paths, cwd):
    """_absolute over many paths, at C speed when they are all strings (the usual case)."""
    if set(map(type, paths)) != {str}:
        return [_absolute(p, cwd) for p in paths]
    prefix = cwd + "/"
    paths = [p if p[:1] == "/" else prefix + p for p in paths]
    blob = "\0".join(paths)  # one scan decides whether any path needs normalising
    if "/." in blob or "//" in blob:
        paths = [os.path.normpath(p) if ("/." in p or "//" in p) else p for p in paths]
    return paths


def _access_kinds(items, cwd):
    """(path, mode, flags) of `open` events in order -> {"r"|"w"|"rw"|"wr": [absolute paths]}:
    r read only, w written only, rw read first then written, wr written first then read."""
    from operator import itemgetter

    if set(map(len, items)) != {3}:  # an `open` event raised by other code with other arguments
        items = [a[:3] for a in items if len(a) >= 3]
        if not items:
            return {}
    paths = list(map(itemgetter(0), items))
    modes = list(map(itemgetter(1), items))
    mode_set = set(modes)
    if None not in mode_set and not any(_is_write(m, 0) for m in mode_set):
        try:  # reads only: deduplicate first (a dataset read once per epoch), in C
            paths = list(dict.fromkeys(paths))
        except TypeError:  # an unhashable path-like object
            pass
        return {"r": [p for p in _absolute_all(paths, cwd) if p is not None]}
    kinds = {}
    for path, mode, flag in zip(_absolute_all(paths, cwd), modes, map(itemgetter(2), items)):
        write = _is_write(mode, flag)
        old = kinds.get(path)
        if old is None:
            kinds[path] = "w" if write else "r"
        elif write and old == "r":
            kinds[path] = "rw"
        elif not write and old == "w":
            kinds[path] = "wr"
    out = {}
    for path, kind in kinds.items():
        if path is not None:
            out.setdefault(kind, []).append(path)
    return out


def _spawned_argv(event, args):
    if event == "os.system":
        return _mask_argv(["/bin/sh", "-c", _text(args[0])])
    argv = args[1]
    if isinstance(argv, (str, bytes)):
        return _mask_argv([_text(argv)])
    return _mask_argv([_text(a) for a in argv])


class _Observer(object):
    """The audit hook and its buffer. The hook does the least work possible per event (compare
    the name, append the argument tuple); paths are resolved and deduplicated only when the
    buffer is written: at exit, when it grows large, before a chdir, before each result a Pool
    worker sends back, and — because a forked child (multiprocessing, DataLoader workers) ends
    through os._exit, where atexit never runs — from a wrapper around os._exit."""

    def __init__(self, write, record):
        self.write = write
        self.record = record
        self.opens = []
        self.others = []
        self.seed_calls = {}
        self.cwd = _getcwd()
        self.forked = False
        self.flushing = []
        self.baseline = set(n.partition(".")[0] for n in list(sys.modules))
        root = os.environ.get("REPRO_PROJECT_ROOT")
        self.root = (os.path.abspath(root).rstrip("/") + "/") if root else None
        self.trees = tuple(t.rstrip("/") + "/" for t in _interpreter_trees())
        run_dir = os.environ.get("REPRO_RUN_DIR")
        self.keep_dir = os.path.join(run_dir, "state") if run_dir else None
        self.read = set()  # hashes of the project paths this process has read (flushed chunks)
        self.decided = set()  # project paths whose first write this process has seen
        self.keeping = []

    def install(self):
        import atexit

        opens = self.opens
        add = opens.append
        add_other = self.others.append
        flush = self.flush  # returns at once when a flush is already running (its own log writes)
        watched = _WATCHED
        limit = _FLUSH_AT

        keep = self.keep_before_write

        def hook(event, args):
            if event == "open":
                add(args)
                if len(opens) > limit:
                    flush(False)
                mode = args[1] if len(args) > 2 else "r"
                if mode != "r" and mode != "rb" and _is_write(mode, args[2]):
                    keep(args[0])
            elif event in watched:
                add_other((event, args))
            elif event == "os.chdir":
                flush(False)  # the event comes before the change: resolve what came before it
                self.cwd = None

        sys.addaudithook(hook)
        atexit.register(flush, True)
        os.register_at_fork(after_in_child=self.after_fork)
        real_exit = os._exit

        def _exit(status):
            flush(True)
            real_exit(status)

        _exit.__doc__ = real_exit.__doc__
        _exit.__wrapped__ = real_exit
        os._exit = _exit

    def wrap_pool(self, module):
        import functools

        original = module.worker
        flush = self.flush

        def worker(inqueue, outqueue, *args, **kwargs):
            return original(inqueue, _FlushingQueue(outqueue, flush), *args, **kwargs)

        functools.update_wrapper(worker, original)  # pickled by name for spawned workers: same name
        module.worker = worker

    def after_fork(self):
        """The child inherits the parent's buffer: those events are the parent's to write."""
        del self.opens[:]
        del self.others[:]
        del self.flushing[:]
        self.seed_calls.clear()
        self.read.clear()
        self.decided.clear()
        self.forked = True

    def keep_before_write(self, raw):
        """A project file this process read and now opens for writing is a state file (a resumed
        checkpoint): keep a copy of its content before the first write, so the run can record it
        and a replay can start from it. Costs one stat per distinct file written."""
        if self.keep_dir is None or self.root is None or self.flushing or self.keeping:
            return
        try:
            path = _absolute(raw, self.cwd or _getcwd() or "/")
            if (path is None or path in self.decided or not path.startswith(self.root)
                    or path.startswith(self.trees)):
                return
            self.decided.add(path)
            rel = path[len(self.root):]
            if ("/" + rel).split("/")[-1].endswith((".py", ".pyc")) or set(rel.split("/")) & _NOT_STATE:
                return
            if not os.path.isfile(path):
                return
            self.flush(False)  # what this process read so far, into self.read
            if hash(path) not in self.read:
                return
            self.keeping.append(True)
            try:
                self.copy_before(path)
            finally:
                del self.keeping[:]
        except Exception as e:
            self.record("error", where="state", message=repr(e))

    def copy_before(self, path):
        if not os.path.isdir(self.keep_dir):
            os.makedirs(self.keep_dir, exist_ok=True)
        name = "%d-%d" % (os.getpid(), len(self.decided))
        target = os.path.join(self.keep_dir, name)
        src = os.open(path, os.O_RDONLY)
        try:
            dst = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                size = 0
                while True:
                    chunk = os.read(src, 1 << 20)
                    if not chunk:
                        break
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(dst, view):]
                    size += len(chunk)
            finally:
                os.close(dst)
        finally:
            os.close(src)
        self.record("state_before", path=path, copy=name, size=size)

    def is_user_file(self, filename):
        """A file of the program itself: under the project root, outside the interpreter's
        trees (a virtual environment inside the project is the interpreter's), not frozen."""
        return (self.root is not None and filename.startswith(self.root)
                and not filename.startswith(self.trees))

    def user_site(self, frame):
        """The innermost caller that is the user's own code: a library that seeds for the
        program (transformers' set_seed, lightning's seed_everything) is named by the line of
        the program that called it."""
        depth = 0
        while frame is not None and depth < 200:
            filename = frame.f_code.co_filename
            if self.is_user_file(filename):
                return "%s:%d" % (filename, frame.f_lineno)
            frame = frame.f_back
            depth += 1
        return None

    def note_seed(self, call, value, frame, unseeded):
        site = "%s:%d" % (frame.f_code.co_filename, frame.f_lineno)
        user = self.user_site(frame)
        entry = self.seed_calls.get((call, site, user))
        if entry is None:
            entry = self.seed_calls[(call, site, user)] = {"count": 0, "values": [], "unseeded": False}
        entry["count"] += 1
        if len(entry["values"]) < _MAX_VALUES and value not in entry["values"]:
            entry["values"].append(value)
        entry["unseeded"] = entry["unseeded"] or unseeded

    def flush(self, final):
        if self.flushing:
            return
        self.flushing.append(True)
        try:
            self._flush(final)
        except Exception as e:
            self.record("error", where="observe", message=repr(e))
        finally:
            del self.flushing[:]

    def _flush(self, final):
        if self.forked:
            self.forked = False
            self.record("start", **_start_fields(True, forked=True))
        n = len(self.opens)
        items = self.opens[:n]
        del self.opens[:n]
        m = len(self.others)
        others = self.others[:m]
        del self.others[:m]
        if self.cwd is None:
            self.cwd = _getcwd() or "/"
        fields = {}
        files = _access_kinds(items, self.cwd) if items else {}
        if self.keep_dir is not None and self.root is not None:
            root = self.root
            self.read.update(hash(p) for kind in ("r", "rw", "wr") for p in files.get(kind, ()) if p.startswith(root))
        listed = set()
        spawned = []
        for event, args in others:
            try:
                if event == "os.rename":
                    dst = _absolute(args[1], self.cwd)
                    if dst is not None:
                        files.setdefault("w", []).append(dst)
                elif event in ("os.listdir", "os.scandir"):
                    path = _absolute(args[0] if args else None, self.cwd)
                    if path is not None:
                        listed.add(path)
                elif len(spawned) < _MAX_SPAWNED:
                    spawned.append(_spawned_argv(event, args))
            except Exception:
                continue  # an event raised by other code with other arguments names nothing we can use
        if files:
            fields["files"] = files
        if listed:
            fields["listed"] = sorted(listed)
        if spawned:
            fields["spawned"] = spawned
        if self.seed_calls:
            calls = self.seed_calls.items()
            fields["seed_calls"] = [dict(entry, call=call, site=site, user_site=user)
                                    for (call, site, user), entry in calls]
            self.seed_calls.clear()
        if final:
            names = set(n.partition(".")[0] for n in list(sys.modules))
            fields["modules"] = sorted(names - self.baseline - set(sys.builtin_module_names))
            fields["sys_path"] = [os.path.abspath(p or os.curdir) for p in sys.path if isinstance(p, str)]
        if fields:
            fields["event"] = "observed"
            fields["pid"] = os.getpid()
            self.write(fields)


class _FlushingQueue(object):
    """A multiprocessing.Pool worker's result queue that writes the worker's records before each
    result goes back: Pool.__exit__ ends its workers with SIGTERM, where neither atexit nor
    os._exit runs, so whatever a worker has not written by its last result is lost."""

    def __init__(self, queue, flush):
        self._queue = queue
        self._flush = flush

    def put(self, obj):
        self._flush(False)
        self._queue.put(obj)

    def __getattr__(self, name):
        return getattr(self._queue, name)


_GUARDED = {"os.rename": (0, 1), "os.remove": (0,), "os.rmdir": (0,), "os.mkdir": (0,), "os.truncate": (0,),
            "shutil.rmtree": (0,), "os.symlink": (1,), "os.link": (1,), "os.chmod": (0,), "os.utime": (0,)}
"""Audit events that change a file, and which of their arguments name the paths changed."""
_FREE_TREES = ("/dev/", "/proc/", "/sys/")


class _WriteGuard(object):
    """The replay's guard where no sandbox confines it: Python-level writes outside the workspace
    (REPRO_PROJECT_ROOT) and the directories REPRO_CONFINE_WRITES names (the temporary directory;
    a name marked `!DIR`, the recorded project, is refused even inside those) are refused with a PermissionError naming repro, before they happen, so a replay never
    overwrites a user's file. With REPRO_CONFINE_BY=sandbox the sandbox refuses them itself (a
    read-only bind fails with EROFS): nothing is refused here, but each open for writing outside
    that fails with an OSError is noted the same way. Each refused path is recorded once."""

    def __init__(self, root, allowed, record, refuse):
        self.root = os.path.abspath(root).rstrip("/") + "/"
        dirs = [os.path.abspath(a.lstrip("!")).rstrip("/") + "/" for a in allowed if a.lstrip("!")]
        marks = [a.startswith("!") for a in allowed if a.lstrip("!")]
        self.protected = tuple(d for d, m in zip(dirs, marks) if m)  # "!DIR": never, even inside a free one
        self.free = tuple(d for d, m in zip(dirs, marks) if not m) + _FREE_TREES
        self.record = record
        self.refuse = refuse
        self.noted = set()

    def outside(self, path):
        path = _absolute(path, _getcwd() or "/")
        if path is None or path.startswith(self.root) or path + "/" == self.root:
            return None
        if path.startswith(self.free) and not (path + "/").startswith(self.protected):
            return None
        return path

    def note(self, path, operation, reason):
        if path not in self.noted:
            self.noted.add(path)
            self.record("refused", path=path, operation=operation, reason=reason)

    def hook(self, event, args):
        if event == "open":
            mode = args[1] if len(args) > 1 else None
            if mode == "r" or mode == "rb" or len(args) < 3 or not _is_write(mode, args[2]):
                return
            targets = (args[0],)
        elif event in _GUARDED:
            targets = [args[i] for i in _GUARDED[event] if i < len(args)]
        else:
            return
        for target in targets:
            path = self.outside(target)
            if path is not None:
                self.note(path, event, "refused by repro")
                raise PermissionError(13, "repro: a replay may not write outside its workspace (%s); "
                                          "replay in a sandbox or write inside the project" % event, path)

    def install(self):
        if self.refuse:
            sys.addaudithook(self.hook)
            return
        import builtins
        import io

        for module, name in ((builtins, "open"), (io, "open"), (os, "open")):
            setattr(module, name, self.watching(getattr(module, name), name == "open" and module is os))

    def watching(self, original, is_os_open):
        """`original` (open or os.open), noting a write outside the workspace that fails."""
        import functools

        guard = self

        def opener(file, *args, **kwargs):
            try:
                return original(file, *args, **kwargs)
            except OSError as e:
                try:
                    if is_os_open:
                        write = _is_write(None, args[0] if args else kwargs.get("flags", 0))
                    else:
                        write = _is_write(args[0] if args else kwargs.get("mode", "r"), 0)
                    path = guard.outside(file) if write else None
                    if path is not None:
                        guard.note(path, "open", "failed: %s" % (os.strerror(e.errno) if e.errno else e))
                except Exception:
                    pass
                raise

        functools.update_wrapper(opener, original)
        return opener


def _install_guard(record):
    allowed = os.environ.get("REPRO_CONFINE_WRITES")
    root = os.environ.get("REPRO_PROJECT_ROOT")
    if allowed is None or not root:
        return
    try:
        refuse = os.environ.get("REPRO_CONFINE_BY", "repro") != "sandbox"
        _WriteGuard(root, allowed.split(os.pathsep), record, refuse).install()
    except Exception as e:
        record("error", where="confine", message=repr(e))


def _describe(value):
    """A seed as JSON can hold it, without ever changing the object (a traced jax value stays
    untouched; an object seed is named by its type and entropy)."""
    import operator

    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)) and len(value) <= 32 and all(isinstance(v, int) for v in value):
        return list(value)
    for attrs in (("entropy",), ("seed_seq", "entropy"), ("bit_generator", "seed_seq", "entropy")):
        obj = value
        for attr in attrs:
            obj = getattr(obj, attr, None)
        if obj is not None:
            return "%s(entropy=%s)" % (type(value).__name__, repr(obj)[:100])
    if type(value).__module__.split(".")[0] == "numpy":
        try:
            return operator.index(value)
        except Exception:
            pass
    return "<%s>" % type(value).__name__


def _call_has_seed(frame):
    """Whether the call the frame is making right now passes a seed: `RandomState(5)` draws OS
    entropy inside numpy's compiled code before it seeds itself with 5, so the entropy draw alone
    cannot tell `RandomState(5)` from `RandomState()`. The call's own source (its position is
    known from Python 3.11 on) can. Any doubt counts as unseeded."""
    try:
        import ast
        import linecache

        positions = list(frame.f_code.co_positions())[frame.f_lasti // 2]
        line, end_line, col, end_col = positions
        if None in positions:
            return False
        lines = [linecache.getline(frame.f_code.co_filename, n) for n in range(line, end_line + 1)]
        if not all(lines):
            return False
        if len(lines) == 1:
            text = lines[0][col:end_col]
        else:
            text = lines[0][col:] + "".join(lines[1:-1]) + lines[-1][:end_col]
        node = ast.parse(text.strip(), mode="eval").body
        if not isinstance(node, ast.Call):
            return False
        given = list(node.args) + [k.value for k in node.keywords if k.arg in (None, "seed", "entropy")]
        return bool(given) and not (isinstance(given[0], ast.Constant) and given[0].value is None)
    except Exception:
        return False


class _SeedCalls(object):
    """Wrappers that note each seed the program sets: value and call site (the caller's
    file:line). The original is called unchanged; the note is taken after it returns. A call made
    inside another wrapped call (torch.manual_seed seeding CUDA) is the outer call's business."""

    def __init__(self, observer, record):
        import _thread

        self.observer = observer
        self.record = record
        self.busy = set()
        self.ident = _thread.get_ident

    def wrap(self, module, attr, call, keyword):
        import functools

        original = getattr(module, attr, None)
        if original is None or getattr(original, "__repro_wrapped__", False):
            return
        busy = self.busy
        ident = self.ident
        note = self.note

        def wrapper(*args, **kwargs):
            me = ident()
            if me in busy:
                return original(*args, **kwargs)
            busy.add(me)
            try:
                result = original(*args, **kwargs)
            finally:
                busy.discard(me)
            note(call, args[0] if args else kwargs.get(keyword), sys._getframe(1))
            return result

        functools.update_wrapper(wrapper, original)
        wrapper.__repro_wrapped__ = True
        setattr(module, attr, wrapper)

    def note(self, call, value, frame, unseeded=None):
        try:
            self.observer.note_seed(call, _describe(value), frame, value is None if unseeded is None else unseeded)
        except Exception as e:
            self.record("error", where=call, message=repr(e))

    def wrap_entropy(self, bit_generator):
        """numpy draws OS entropy through bit_generator.randbits whenever a SeedSequence gets no
        seed — default_rng(), PCG64(), Generator(PCG64()), RandomState() alike. numpy's classes
        cannot be replaced without breaking isinstance checks; this one function can. Calls from
        numpy's own Python code (unpickling a generator, whose state is restored next) are not
        the program's."""
        original = getattr(bit_generator, "randbits", None)
        if original is None:
            return
        numpy_dir = os.path.dirname(os.path.dirname(os.path.abspath(bit_generator.__file__))) + os.sep
        busy = self.busy
        ident = self.ident
        note = self.note

        def randbits(*args, **kwargs):
            result = original(*args, **kwargs)
            if ident() not in busy:
                frame = sys._getframe(1)
                if not frame.f_code.co_filename.startswith(numpy_dir) and not _call_has_seed(frame):
                    note("numpy.random.SeedSequence", None, frame)
            return result

        bit_generator.randbits = randbits

    def numpy_random(self, module):
        self.wrap(module, "seed", "numpy.random.seed", "seed")
        self.wrap(module, "default_rng", "numpy.random.default_rng", "seed")
        bit_generator = sys.modules.get("numpy.random.bit_generator")
        if bit_generator is not None:
            self.wrap_entropy(bit_generator)

    def torch(self, module):
        self.wrap(module, "manual_seed", "torch.manual_seed", "seed")
        self.wrap(module, "seed", "torch.seed", "")
        cuda = sys.modules.get("torch.cuda")
        if cuda is not None:
            self.wrap(cuda, "manual_seed", "torch.cuda.manual_seed", "seed")
            self.wrap(cuda, "manual_seed_all", "torch.cuda.manual_seed_all", "seed")

    def tensorflow(self, module):
        self.wrap(module.random, "set_seed", "tensorflow.random.set_seed", "seed")

    def jax_random(self, module):
        self.wrap(module, "PRNGKey", "jax.random.PRNGKey", "seed")
        self.wrap(module, "key", "jax.random.key", "seed")


def _master_addr(value):
    """MASTER_ADDR as a host name: a URL's user and password, when someone put them there, are dropped."""
    if "@" in value:
        value = value.rsplit("@", 1)[1]
    if "://" in value:
        value = value.split("://", 1)[1]
    return value[:255]


def _node_hardware():
    """This node's hardware facet, from /proc alone (standard library, no subprocess): CPU model,
    vendor and the numerics-relevant ISA flags, cores, memory, and NVIDIA GPUs with their driver."""
    cpu = {"model": None, "vendor": None, "flags": []}
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            fields = {}
            for line in f:
                if not line.strip():
                    if fields:
                        break
                    continue
                key, _, value = line.partition(":")
                fields.setdefault(key.strip().lower(), value.strip())
        flags = set((fields.get("flags") or fields.get("features") or "").split())
        cpu = {"model": fields.get("model name") or fields.get("cpu model") or fields.get("hardware"),
               "vendor": fields.get("vendor_id") or fields.get("cpu implementer"),
               "flags": sorted(flag for flag in _NUMERIC_FLAGS if flag in flags)}
    except Exception:
        pass
    import platform

    cpu["architecture"] = platform.machine()
    cpu["logical_cores"] = os.cpu_count()
    facet = {"cpu": cpu, "memory_bytes": None, "gpus": []}
    try:
        facet["memory_bytes"] = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        pass
    driver = None
    try:
        with open("/proc/driver/nvidia/version") as f:
            words = f.readline().split()
        driver = next((w for w in words if w[:1].isdigit() and "." in w), None)
    except Exception:
        pass
    try:
        base = "/proc/driver/nvidia/gpus"
        for bus in sorted(os.listdir(base)):
            info = {}
            with open(os.path.join(base, bus, "information")) as f:
                for line in f:
                    key, _, value = line.partition(":")
                    info[key.strip()] = value.strip()
            facet["gpus"].append({"name": info.get("Model"), "uuid": info.get("GPU UUID"), "bus": bus,
                                  "driver": driver})
    except Exception:
        pass
    return facet


def _rank_identity(record):
    """When a launcher's rank variables are set, record who this process is in the job, and on
    each node's local rank 0 the node's hardware. Costs a few environment look-ups otherwise."""
    env = os.environ
    present = [name for name in _RANK_VARIABLES if name in env]
    if not present:
        return False
    try:
        import socket

        fields = {"variables": dict((name, env[name][:256]) for name in present), "host": socket.gethostname()}
        if "MASTER_ADDR" in env:
            fields["master_addr"] = _master_addr(env["MASTER_ADDR"])
        if "MASTER_PORT" in env:
            fields["master_port"] = env["MASTER_PORT"][:16]
        local = next((env[name] for name in _LOCAL_RANK_VARIABLES if name in env), None)
        if local == "0":
            fields["hardware"] = _node_hardware()
        record("rank", **fields)
    except Exception as e:
        record("error", where="rank", message=repr(e))
        return False
    return True


def _rank_end(record):
    """A rank that ends through the interpreter's exit says so; one killed says nothing, which
    is how a run tells a rank that failed from one that finished. An uncaught exception is named."""
    import atexit

    failure = []
    previous = sys.excepthook

    def excepthook(kind, value, tb):
        failure.append(getattr(kind, "__name__", "exception"))
        previous(kind, value, tb)

    sys.excepthook = excepthook
    real_exit = os._exit

    def end():
        record("rank_end", error=failure[0] if failure else None)

    def _exit(status):
        try:
            record("rank_end", error=None if status == 0 else "os._exit(%d)" % status)
        except Exception:
            pass
        real_exit(status)

    atexit.register(end)
    _exit.__wrapped__ = real_exit
    _exit.__doc__ = real_exit.__doc__
    os._exit = _exit


def _communication(record):
    """After torch.distributed is imported: wrap init_process_group to record the backend the
    job communicates through, with the NCCL version where CUDA is there and whether gloo is built."""
    import functools

    def after(module):
        original = getattr(module, "init_process_group", None)
        if original is None or getattr(original, "__repro_wrapped__", False):
            return

        def init_process_group(*args, **kwargs):
            result = original(*args, **kwargs)
            try:
                fields = {"library": "torch.distributed", "backend": str(module.get_backend()),
                          "rank": module.get_rank(), "world_size": module.get_world_size()}
                torch = sys.modules.get("torch")
                fields["torch"] = str(getattr(torch, "__version__", "")) or None
                fields["gloo"] = bool(module.is_gloo_available())
                fields["nccl"] = None
                if module.is_nccl_available() and torch is not None and torch.cuda.is_available():
                    version = torch.cuda.nccl.version()
                    fields["nccl"] = ".".join(str(v) for v in version) if isinstance(version, tuple) else str(version)
                record("comm", **fields)
            except Exception as e:
                record("error", where="torch.distributed", message=repr(e))
            return result

        functools.update_wrapper(init_process_group, original)
        init_process_group.__repro_wrapped__ = True
        module.init_process_group = init_process_group

    return after


def _repro_main():
    run_dir = os.environ.get("REPRO_RUN_DIR")
    seed_text = os.environ.get("REPRO_SEED")
    write, record = _log_writer(run_dir)
    observing = bool(run_dir) and os.environ.get("REPRO_OBSERVE", "1") != "0"
    if observing and not hasattr(sys, "addaudithook"):
        message = "Python %d.%d has no audit hooks: nothing observed" % sys.version_info[:2]
        record("error", where="observe", message=message)
        observing = False
    record("start", **_start_fields(observing))
    _install_guard(record)
    ranked = _rank_identity(record)
    if ranked:
        _rank_end(record)

    seed = None
    if seed_text is not None:
        try:
            seed = int(seed_text)
        except ValueError:
            record("error", where="seed", message="REPRO_SEED is not an integer")

    observer = seeds = None
    if observing:
        try:
            observer = _Observer(write, record)
            observer.install()
            seeds = _SeedCalls(observer, record)
        except Exception as e:
            record("error", where="observe", message=repr(e))
            seeds = None

    if seed is not None:
        try:
            import random

            random.seed(seed)
            record("seeded", lib="random", value=seed)
        except Exception as e:
            record("error", where="random", message=repr(e))
    if seeds is not None:
        try:
            import random

            seeds.wrap(random, "seed", "random.seed", "a")
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

    # Run in order after the module executes: repro's own seeding first, then the wrappers, so
    # repro's seeding is never reported as the program's.
    hooks = {}
    if seed is not None:
        hooks = {"numpy.random": [seed_numpy_random], "torch": [seed_torch], "tensorflow": [seed_tensorflow],
                 "jax": [note_jax]}
    if seeds is not None:
        for name, after in (("numpy.random", seeds.numpy_random), ("torch", seeds.torch),
                            ("tensorflow", seeds.tensorflow), ("jax.random", seeds.jax_random)):
            hooks.setdefault(name, []).append(after)
        hooks.setdefault("multiprocessing.pool", []).append(observer.wrap_pool)
    if ranked:
        hooks.setdefault("torch.distributed", []).append(_communication(record))
    if not hooks:
        return

    import importlib.abc

    def run_hooks(module, functions):
        for after in functions:
            try:
                after(module)
            except Exception as e:
                record("error", where=module.__name__, message=repr(e))

    class _Loader(importlib.abc.Loader):
        def __init__(self, inner, after):
            self._inner = inner
            self._after = after

        def create_module(self, spec):
            return self._inner.create_module(spec)

        def exec_module(self, module):
            self._inner.exec_module(module)
            run_hooks(module, self._after)

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
            run_hooks(sys.modules[name], hooks.pop(name))
    sys.meta_path.insert(0, _SeedFinder())


def _chain_shadowed():
    """Import the `sitecustomize` this one shadows (Debian's python3 ships one)."""
    here = os.path.dirname(os.path.abspath(__file__))
    ours = sys.modules.get("sitecustomize")
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    sys.modules.pop("sitecustomize", None)
    try:
        import importlib

        chained = importlib.import_module("sitecustomize")
    except ImportError as e:
        if getattr(e, "name", None) != "sitecustomize":
            raise
        if ours is not None:
            sys.modules["sitecustomize"] = ours
        return None
    return getattr(chained, "__file__", None)


try:
    _repro_main()
except Exception:
    pass
try:
    _chained = _chain_shadowed()
    if _chained:
        _log_writer(os.environ.get("REPRO_RUN_DIR"))[1]("chained", path=_chained)
except Exception as _e:
    import traceback

    traceback.print_exc()
    _log_writer(os.environ.get("REPRO_RUN_DIR"))[1]("error", where="chained sitecustomize", message=repr(_e))
