"""The bwrap command line and the probe: the argv builder is pure, so each rule it follows is
checked on its output; the probe runs real programs (bwrap itself where it is installed)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from repro.errors import UsageError
from repro.sandbox import choose
from repro.sandbox.bwrap import Confinement, Mount, bwrap_argv, needed_under_tmp
from repro.sandbox.probe import Bwrap, find, measure

BWRAP = Bwrap("/usr/bin/bwrap", "0.8.0", True, True)


def options(argv: list[str]) -> list[str]:
    return argv[1:argv.index("--")]


def pairs(argv: list[str], flag: str) -> list[tuple[str, str]]:
    opts = options(argv)
    return [(opts[i + 1], opts[i + 2]) for i, o in enumerate(opts) if o == flag]


def conf(**kw) -> Confinement:
    return Confinement(workspace=Path("/scratch/ws"), root=Path("/home/u/proj"), devices=(), **kw)


def test_the_command_follows_the_double_dash_untouched():
    argv = bwrap_argv(BWRAP, conf(), ["python", "train.py", "--lr", "0.1"], Path("/home/u/proj"))
    assert argv[0] == "/usr/bin/bwrap"
    assert argv[argv.index("--") + 1:] == ["python", "train.py", "--lr", "0.1"]


def test_the_workspace_is_mounted_writable_at_the_recorded_root_over_a_read_only_host():
    opts = options(bwrap_argv(BWRAP, conf(), ["true"], Path("/home/u/proj/sub")))
    assert opts[opts.index("--ro-bind"):opts.index("--ro-bind") + 3] == ["--ro-bind", "/", "/"]
    assert pairs(bwrap_argv(BWRAP, conf(), ["true"], Path("/")), "--bind") == [("/scratch/ws", "/home/u/proj")]
    assert opts.index("--ro-bind") < opts.index("--bind")  # applied in order: the workspace goes over /
    assert opts[opts.index("--chdir") + 1] == "/home/u/proj/sub"
    assert ["--dev", "/dev"] == opts[opts.index("--dev"):opts.index("--dev") + 2]
    assert ["--proc", "/proc"] == opts[opts.index("--proc"):opts.index("--proc") + 2]
    assert ["--tmpfs", "/tmp"] == opts[opts.index("--tmpfs"):opts.index("--tmpfs") + 2]


def test_inputs_are_bound_read_only_after_the_workspace():
    mounts = (Mount(Path("/home/u/proj/data"), Path("/home/u/proj/data")), Mount(Path("/mnt/x"), Path("/home/u/proj/x")))
    argv = bwrap_argv(BWRAP, conf(read_only=mounts), ["true"], Path("/home/u/proj"))
    opts = options(argv)
    assert pairs(argv, "--ro-bind")[1:] == [("/home/u/proj/data", "/home/u/proj/data"), ("/mnt/x", "/home/u/proj/x")]
    workspace_at = opts.index("--bind")
    assert all(i > workspace_at for i, o in enumerate(opts) if o == "--ro-bind" and opts[i + 1] != "/")


def test_network_is_unshared_unless_allowed():
    assert "--unshare-net" in bwrap_argv(BWRAP, conf(), ["true"], Path("/"))
    assert "--unshare-net" not in bwrap_argv(BWRAP, conf(network=True), ["true"], Path("/"))


def test_no_capabilities_the_users_ids_and_death_with_repro():
    opts = options(bwrap_argv(BWRAP, conf(), ["true"], Path("/")))
    assert opts[opts.index("--cap-drop") + 1] == "ALL"
    assert opts[opts.index("--uid") + 1] == str(os.getuid()) and opts[opts.index("--gid") + 1] == str(os.getgid())
    assert "--unshare-user" in opts and "--die-with-parent" in opts and "--new-session" in opts
    setuid = Bwrap("/usr/bin/bwrap", "0.4.0", True, False)
    opts = options(bwrap_argv(setuid, conf(), ["true"], Path("/")))
    assert "--unshare-user" not in opts and "--uid" not in opts and "--cap-drop" in opts


def test_info_fd_and_devices_and_paths_the_private_tmp_would_hide():
    c = Confinement(workspace=Path("/scratch/ws"), root=Path("/p"), devices=(Path("/dev/nvidia0"),),
                    visible=(Path("/tmp/venv"),))
    argv = bwrap_argv(BWRAP, c, ["true"], Path("/p"), info_fd=7)
    opts = options(argv)
    assert opts[opts.index("--info-fd") + 1] == "7"
    assert pairs(argv, "--dev-bind") == [("/dev/nvidia0", "/dev/nvidia0")]
    assert opts.index("--tmpfs") < opts.index("/tmp/venv")  # bound again on top of the private /tmp


def test_needed_under_tmp_keeps_only_existing_paths_below_tmp(tmp_path):
    inside = tmp_path / "venv"
    inside.mkdir()
    assert needed_under_tmp([inside, Path("/usr"), tmp_path / "absent"]) == (inside.resolve(),)


def test_inside_moves_workspace_paths_to_the_mounted_root():
    c = conf()
    assert c.inside(Path("/scratch/ws/.repro/tmp/r1")) == Path("/home/u/proj/.repro/tmp/r1")
    assert c.inside(Path("/etc/hosts")) == Path("/etc/hosts")


def _program(path: Path, body: str) -> str:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_a_bwrap_that_cannot_create_namespaces_is_not_usable_and_says_why(tmp_path):
    fake = _program(tmp_path / "bwrap", 'case "$1" in --version) echo "bubblewrap 9.9";; *) '
                    'echo "bwrap: No permissions to creating new namespace" >&2; exit 1;; esac\n')
    found = measure(fake)
    assert not found.usable and found.version == "9.9"
    assert found.reason == "bwrap cannot create namespaces here (No permissions to creating new namespace)"


def test_missing_bwrap_auto_copies_and_explicit_bwrap_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert choose("auto").kind == "copy" and "not installed" in choose("auto").reason
    with pytest.raises(UsageError, match="--sandbox bwrap: bwrap is not installed"):
        choose("bwrap")
    assert choose("copy").reason == "--sandbox copy was asked for"


@pytest.mark.bwrap
def test_the_probe_answer_is_cached_per_binary(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = find()
    cache = tmp_path / "repro" / "bwrap-probe.json"
    assert first.usable and cache.is_file()
    assert find() == first
    cache.write_text(cache.read_text().replace(f'"version": "{first.version}"', '"version": "from-the-cache"'))
    assert find().version == "from-the-cache"  # answered from the cache, not probed again
    assert choose("auto").kind == "bwrap"
