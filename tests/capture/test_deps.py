import os
import sys

from repro.capture import deps


def test_interpreter_is_the_commands_not_repros(tmp_path):
    exe, assumed = deps.interpreter_for(["python3", "t.py"], os.environ["PATH"])
    assert exe and not assumed
    exe, assumed = deps.interpreter_for(["bash", "run.sh"], os.environ["PATH"])
    assert assumed


def test_flags_that_disable_injection_are_detected():
    assert deps.python_flags(["python", "-I", "t.py"]) == ["-I"]
    assert deps.python_flags(["python", "-IS", "t.py"]) == ["-I", "-S"]
    assert deps.python_flags(["python", "t.py", "-I"]) == []
    assert deps.python_flags(["python", "-c", "-I"]) == []


def test_probe_lists_the_interpreters_distributions(tmp_path):
    facet = deps.capture_host([sys.executable, "x.py"], os.environ, tmp_path)
    assert facet["python"]["version"] == "%d.%d.%d" % sys.version_info[:3]
    assert facet["interpreter_assumed"] is False
    names = {d["name"].lower() for d in facet["distributions"]}
    assert {"numpy", "click"} <= names
    assert facet["os"]["system"] == "Linux"
