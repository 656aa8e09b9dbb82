import subprocess

import pytest

from repro import config
from repro.errors import UsageError


def test_project_root_is_the_directory_holding_repro_yaml(tmp_path):
    (tmp_path / "repro.yaml").write_text("inputs: [data/]\n")
    (tmp_path / "src" / "deep").mkdir(parents=True)
    assert config.find_project_root(tmp_path / "src" / "deep") == tmp_path.resolve()


def test_project_root_falls_back_to_git_toplevel(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "a").mkdir()
    assert config.find_project_root(tmp_path / "a") == tmp_path.resolve()


def test_flags_win_over_repro_yaml(tmp_path):
    (tmp_path / "repro.yaml").write_text("inputs: [data/]\noutputs: [out/]\nthreads: 4\ndigest: sha256\n")
    spec = config.build_run_spec(("python", "t.py"), cwd=tmp_path, outputs=("model.npz",), threads=2, seed=5)
    assert spec.inputs == ("data/",) and spec.outputs == ("model.npz",)
    assert spec.threads == 2 and spec.algorithm == "sha256" and spec.seed == 5 and spec.seed_source == "given"
    assert spec.manifest_path.parent.parent == tmp_path.resolve() / ".repro" / "runs"


def test_seed_is_drawn_when_not_given(tmp_path):
    spec = config.build_run_spec(("true",), cwd=tmp_path)
    assert spec.seed_source == "drawn" and 0 <= spec.seed < 2**32


@pytest.mark.parametrize(
    "text, message",
    [
        ("inputs: data/\n", "$.inputs: 'data/' is not of type 'array'"),
        ("threads: 0\n", "$.threads: 0 is less than the minimum of 1"),
        ("bogus: 1\n", "Additional properties are not allowed ('bogus' was unexpected)"),
        ("digest: md5\n", "$.digest: 'md5' is not one of"),
        ("inputs: [\n", "not valid YAML at line"),
    ],
)
def test_bad_repro_yaml_is_a_one_line_usage_error(tmp_path, text, message):
    (tmp_path / "repro.yaml").write_text(text)
    with pytest.raises(UsageError) as e:
        config.build_run_spec(("true",), cwd=tmp_path)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_bad_flags(tmp_path):
    with pytest.raises(UsageError, match="no command"):
        config.build_run_spec((), cwd=tmp_path)
    with pytest.raises(UsageError, match="--seed must be between"):
        config.build_run_spec(("true",), cwd=tmp_path, seed=2**32)
    with pytest.raises(UsageError, match="exclude each other"):
        config.build_run_spec(("true",), cwd=tmp_path, image="a", dockerfile="b")
