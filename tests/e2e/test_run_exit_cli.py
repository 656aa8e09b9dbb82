"""`repro run` passes the command's exit code through, and says whose a code is in its last line."""

from __future__ import annotations

from tests.conftest import repro_cli


def test_the_commands_exit_code_and_repros_own_failure_are_told_apart(example, keys):
    env = {"XDG_CONFIG_HOME": str(keys)}
    own = repro_cli("run", "--manifest", "run.json", "--", "sh", "-c", "exit 3", cwd=example, env=env)
    assert own.returncode == 3
    assert own.stderr.splitlines()[-1].startswith("repro: the command exited 3; signed manifest ")

    # The command removes the directory its manifest was to go to and leaves a file there: sealing fails.
    (example / "sub").mkdir()
    failed = repro_cli("run", "--manifest", "sub/run.json", "--", "sh", "-c", "rm -r sub && touch sub && exit 3",
                       cwd=example, env=env)
    assert failed.returncode == 2
    last = failed.stderr.splitlines()[-1]
    assert last.startswith("repro: error: ") and last.endswith("(after the command ran and exited 3; exit 2 is repro's)")
