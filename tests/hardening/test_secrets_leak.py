"""Secrets: planted in every channel of a real run, found in no file repro writes.

Fake credentials in the shapes repro must recognise go into the environment (by secret-looking
name and by credential-shaped value), the command line, the git remote, an uncommitted config
file and repro.yaml. After `run`, `show`, `export`, `diff`, `verify` and `replay`, every file repro
created or changed and everything it printed is searched for each planted value.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repro import secrets
from repro.evidence import signing
from repro.errors import INVALID
from tests.hardening.cases import cli, make_example, secrets_scenario

SETTINGS = settings(max_examples=200, deadline=None)


def assert_nothing_leaked(scenario) -> None:
    assert scenario.results["run"].returncode == 0, scenario.results["run"].stderr
    for name in ("show", "show --json", "export", "export statement", "diff", "verify"):
        assert scenario.results[name].returncode == 0, (name, scenario.results[name].stderr)
    replay = scenario.results["replay"]  # a masked command line cannot be replayed, and says so
    assert replay.returncode == INVALID and "masked secrets" in replay.stderr
    names = {p.name for p in scenario.written}
    assert {"run.json", "run.stdout.log", "run.stderr.log", "run.code.diff", "exported.json"} <= names
    assert any(".repro" in p.parts and "store" in p.parts for p in scenario.written)
    assert len(scenario.planted) >= 14
    assert scenario.found == []


def test_no_planted_secret_reaches_any_file_or_output(tmp_path):
    scenario = secrets_scenario(tmp_path)
    assert_nothing_leaked(scenario)
    manifest = json.loads(next(p for p in scenario.written if p.name == "run.json").read_text())
    pred = manifest["predicate"]
    assert pred["environment"]["MY_SERVICE_TOKEN"] == pred["environment"]["DB_PASSWORD"] == "***"
    assert pred["environment"]["NOTES"] == "key *** here"
    assert pred["command"]["argv"][2:4] == ["--api-key", "***"]
    assert pred["code"]["remote"] == "https://gitlab.example.com/team/logreg.git"
    assert pred["code"]["secrets_masked"] == 3  # the three values in the uncommitted config.yaml


@pytest.mark.docker
def test_no_planted_secret_leaks_from_a_container_run(tmp_path, docker_image):
    assert_nothing_leaked(secrets_scenario(tmp_path, image=docker_image))


def test_a_masked_code_diff_still_compares_at_replay_and_refuses_checkout(tmp_path, keys):
    project = make_example(tmp_path / "p")
    token = "ghp_" + "Zq3" * 12
    (project / "settings.yaml").write_text(f"hub_token: {token}\n")
    run = cli("run", "-q", "--seed", "7", "--manifest", "run.json", "--", sys.executable, "train.py", cwd=project,
              xdg=keys)
    assert run.returncode == 0, run.stderr
    assert token.encode() not in (project / "run.code.diff").read_bytes()
    replayed = cli("replay", "-q", "run.json", cwd=project, xdg=keys)
    assert replayed.returncode == 0, replayed.stderr + replayed.stdout  # masked on both sides: the code is the same
    checkout = cli("replay", "-q", "--checkout", "run.json", cwd=project, xdg=keys)
    assert checkout.returncode == INVALID and "masked" in checkout.stderr and "Traceback" not in checkout.stderr


# --- the masking functions, by property -----------------------------------------------------------

TOKEN_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def fixed(alphabet: str, n: int):
    return st.text(alphabet, min_size=n, max_size=n)


CREDENTIALS = st.one_of(
    st.builds(lambda p, s: p + s, st.sampled_from(["AKIA", "ASIA"]), fixed(UPPER, 16)),
    st.builds(lambda p, s: p + s, st.sampled_from(["ghp_", "gho_", "ghs_", "ghu_", "ghr_"]), fixed(TOKEN_CHARS, 36)),
    st.builds(lambda s: "github_pat_" + s, fixed(TOKEN_CHARS + "_", 40)),
    st.builds(lambda s: "glpat-" + s, fixed(TOKEN_CHARS + "_-", 20)),
    st.builds(lambda p, s: p + s, st.sampled_from(["xoxb-", "xoxp-", "xoxa-"]), fixed(TOKEN_CHARS + "-", 24)),
    st.builds(lambda s: "sk-" + s, fixed(TOKEN_CHARS, 40)),
    st.builds(lambda s: "hf_" + s, fixed(TOKEN_CHARS, 34)),
    st.builds(lambda s: "AIza" + s, fixed(TOKEN_CHARS + "_-", 35)),
    st.builds(lambda a, b, c: f"eyJ{a}.{b}.{c}", fixed(TOKEN_CHARS, 12), fixed(TOKEN_CHARS, 12), fixed(TOKEN_CHARS, 12)),
)
AROUND = st.text(" =:,;\"'/\n\t()[]{}", max_size=6)


@SETTINGS
@given(secret=CREDENTIALS, before=AROUND, after=AROUND)
def test_a_credential_anywhere_in_a_value_is_masked(secret, before, after):
    text = before + secret + after
    assert secret not in secrets.mask_value(text)
    assert secret not in secrets.mask_env({"INNOCENT": text})["INNOCENT"]
    assert all(secret not in a for a in secrets.mask_argv(["python", "train.py", text, f"--x={text}"]))
    masked, count = secrets.mask_bytes(text.encode())
    assert secret.encode() not in masked and count >= 1


@SETTINGS
@given(word=st.sampled_from(["TOKEN", "SECRET", "PASSWORD", "PASSWD", "API_KEY", "APIKEY", "ACCESS_KEY",
                             "PRIVATE_KEY", "CREDENTIAL", "AUTH", "SESSION", "COOKIE", "PASSPHRASE"]),
       prefix=st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ_", max_size=8), suffix=st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ_", max_size=8),
       lower=st.booleans(), value=st.text(min_size=1, max_size=30))
def test_a_secret_looking_name_masks_any_value(word, prefix, suffix, lower, value):
    name = prefix + word + suffix
    name = name.lower() if lower else name
    assert secrets.mask_env({name: value})[name] == secrets.MASK


@SETTINGS
@given(user=st.text(TOKEN_CHARS + "._-", min_size=1, max_size=12), password=st.text(TOKEN_CHARS + "!$%&*+", min_size=1,
                                                                                        max_size=20),
       scheme=st.sampled_from(["https", "http", "ssh", "git+https", "postgres", "s3"]))
def test_url_credentials_are_stripped_or_masked(user, password, scheme):
    url = f"{scheme}://{user}:{password}@host.example.com/repo.git"
    assert secrets.strip_url_credentials(url) == f"{scheme}://host.example.com/repo.git"
    assert f":{password}@" not in secrets.mask_value(url)
    assert f":{password}@".encode() not in secrets.mask_bytes(url.encode())[0]


# --- keys -----------------------------------------------------------------------------------------


def test_keygen_writes_the_private_key_0600_even_under_a_permissive_umask(xdg):
    key = xdg / "k" / "signing-key.pem"
    result = subprocess.run(["sh", "-c", f'umask 000 && exec "{sys.executable}" -m repro keygen --key "{key}"'],
                            env={**os.environ, "XDG_CONFIG_HOME": str(xdg)}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(key.with_name("signing-key.pub.pem").stat().st_mode) == 0o644
    assert [p.name for p in key.parent.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660, 0o666, 0o400 | 0o004])
def test_a_private_key_readable_by_others_is_refused(tmp_path, xdg, mode):
    key = tmp_path / "k.pem"
    signing.generate(key)
    key.chmod(mode)
    result = cli("run", "--key", str(key), "--", sys.executable, "-c", "pass", cwd=tmp_path, xdg=xdg)
    assert result.returncode == INVALID
    assert result.stderr.strip().splitlines() == [
        f"repro: error: private key {key} is readable by others (mode {mode:04o}); run `chmod 600 {key}`"]


def test_a_readable_private_key_behind_a_symlink_is_refused(tmp_path, xdg):
    key = tmp_path / "real.pem"
    signing.generate(key)
    key.chmod(0o644)
    link = tmp_path / "link.pem"
    link.symlink_to(key)
    result = cli("run", "--key", str(link), "--", sys.executable, "-c", "pass", cwd=tmp_path, xdg=xdg)
    assert result.returncode == INVALID and "readable by others" in result.stderr


def test_an_owner_only_key_is_accepted_and_keygen_never_overwrites(tmp_path, xdg):
    key = tmp_path / "k.pem"
    pair = signing.generate(key)
    before = key.read_bytes()
    again = cli("keygen", "--key", str(key), cwd=tmp_path, xdg=xdg)
    assert again.returncode == INVALID and "already exists" in again.stderr
    assert key.read_bytes() == before
    assert signing.key_id(signing.load_private_key(key).public_key()) == pair.keyid


def test_a_pem_private_key_in_the_environment_or_an_untracked_file_is_masked_whole(tmp_path, keys):
    import base64
    import random as r

    body = base64.b64encode(bytes(r.Random(5).randrange(256) for _ in range(900))).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    block = "-----BEGIN PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END PRIVATE KEY-----"
    project = make_example(tmp_path / "p")
    (project / "config.yaml").write_text("deploy_key: |\n  " + block.replace("\n", "\n  ") + "\nepochs: 3\n")
    escaped = block.replace("\n", "\\n")  # as a shell's "...\n..." puts it in a variable
    run = cli("run", "-q", "--seed", "7", "--manifest", "run.json", "--", sys.executable, "train.py", cwd=project,
              xdg=keys, env={"DEPLOY_PEM": block, "DEPLOY_PEM_ESCAPED": escaped})
    assert run.returncode == 0, run.stderr
    written = b"".join(p.read_bytes() for p in project.glob("run*"))
    assert all(line.encode() not in written for line in lines)
    env = json.loads((project / "run.json").read_text())["predicate"]["environment"]
    assert env["DEPLOY_PEM"] == env["DEPLOY_PEM_ESCAPED"] == "-----BEGIN PRIVATE KEY-----***-----END PRIVATE KEY-----"
    diff = (project / "run.code.diff").read_text()
    assert "+  -----BEGIN PRIVATE KEY-----" in diff and "+epochs: 3" in diff
