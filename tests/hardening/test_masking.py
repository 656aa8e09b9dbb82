"""Masking, by family: every member of a secret's shape is masked wherever masking applies —
the environment (by name and by value), the command line, observed subprocesses, git remotes and
the saved code diff — and the hook inside the user's Python applies the very same rules.

Each family is a property over the whole shape, not only the one value the issue named: a PEM
private key block of any type, body and line ending; a URL password holding any character,
`@` and `/` included; secret-looking names ending in `_PASS` or `_PWD`; Stripe keys; an AWS
secret key beside its key id; a secret-looking name assigned a value in a config file."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repro import secrets
from repro.inject import site_dir
from tests.conftest import examples

SETTINGS = settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def everywhere(secret: str, text: str) -> list[str]:
    """Where `secret` is still found after masking `text` in each channel."""
    leaks = []
    if secret in secrets.mask_value(text):
        leaks.append("value")
    if secret in secrets.mask_env({"INNOCENT": text})["INNOCENT"]:
        leaks.append("environment")
    if any(secret in a for a in secrets.mask_argv(["python", "train.py", text, f"--x={text}"])):
        leaks.append("argv")
    masked, count = secrets.mask_bytes(("+" + text.replace("\n", "\n+") + "\n").encode())
    if secret.encode() in masked or count < 1:
        leaks.append("diff")
    return leaks


# --- PEM private key blocks (issue case 2) ---------------------------------------------------------

PEM_TYPES = st.sampled_from(["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY",
                             "ENCRYPTED PRIVATE KEY", "DSA PRIVATE KEY", "PGP PRIVATE KEY BLOCK"])


@st.composite
def pem_blocks(draw) -> tuple[str, list[str]]:
    """A PEM block as it appears in a value or a file; returns it and its body lines."""
    kind = draw(PEM_TYPES)
    raw = draw(st.binary(min_size=24, max_size=400))
    body = base64.b64encode(raw).decode()
    width = draw(st.sampled_from([64, 70, 76]))
    lines = [body[i:i + width] for i in range(0, len(body), width)]
    newline = draw(st.sampled_from(["\n", "\r\n", "\\n"]))  # "\\n": a shell's "...\n..." in a variable
    footer = draw(st.booleans())
    block = f"-----BEGIN {kind}-----{newline}" + newline.join(lines)
    if footer:
        block += f"{newline}-----END {kind}-----"
    return block, [l for l in lines if len(l) >= 8]


@SETTINGS
@given(block=pem_blocks(), before=st.sampled_from(["", "key: ", "X=", "'"]), after=st.sampled_from(["", "\n", "'"]))
def test_no_line_of_a_pem_private_key_survives_masking(block, before, after):
    text, lines = block
    for line in lines:
        assert everywhere(line, before + text + after) == [], line


@SETTINGS
@given(block=pem_blocks())
def test_a_pem_block_in_a_diff_keeps_its_line_count(block):
    text, _ = block
    diff = ("+" + text.replace("\n", "\n+") + "\n+after: 1\n").encode()
    masked, _ = secrets.mask_bytes(diff)
    assert masked.count(b"\n") == diff.count(b"\n") and masked.endswith(b"+after: 1\n")


def test_a_public_key_or_certificate_is_not_masked():
    cert = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----"
    assert secrets.mask_value(cert) == cert
    assert secrets.mask_bytes(cert.encode()) == (cert.encode(), 0)


# --- URL userinfo, RFC 3986 (issue case 10) -------------------------------------------------------

# RFC 3986 allows neither `@` nor `/` unencoded in a password, but both are seen: with `@` (the
# userinfo ends at the last `@` of the authority) or with `/` (no `@` in the authority).
# (`a@b/c@host` cannot be told from `user@host/path@ref` and is outside the family.)
PASSWORD = st.one_of(st.text(ALNUM + "@!$&*+,;=~-._%", min_size=1, max_size=24),
                     st.text(ALNUM + "/!$&*+,;=~-._%", min_size=1, max_size=24)).filter(lambda p: not p.startswith("/"))


@SETTINGS
@given(user=st.text(ALNUM + "._-", min_size=1, max_size=10), password=PASSWORD,
       scheme=st.sampled_from(["https", "http", "git+https", "postgres", "s3", "redis"]),
       path=st.sampled_from(["", "/", "/r", "/team/repo.git", "/db?sslmode=require"]))
def test_a_url_password_with_any_character_is_masked_everywhere(user, password, scheme, path):
    url = f"{scheme}://{user}:{password}@host.example.com{path}"
    assert secrets.strip_url_credentials(url) == f"{scheme}://host.example.com{path}"
    pieces = [p for p in password.replace("/", "@").split("@") if len(p) >= 3]
    for channel_text in (secrets.mask_value(url), secrets.mask_env({"URL": url})["URL"],
                         " ".join(secrets.mask_argv(["git", "clone", url])),
                         secrets.mask_bytes(f"+remote = {url}\n".encode())[0].decode()):
        assert "host.example.com" in channel_text
        assert f":{password}@" not in channel_text and all(p not in channel_text for p in pieces), channel_text


def test_the_issues_two_urls():
    assert secrets.mask_value("https://u:AT@PW@h/r") == "https://***@h/r"
    assert secrets.mask_value("https://u:SLASH/PW@h/r") == "https://***@h/r"


def test_urls_without_credentials_are_left_as_they_are():
    for url in ("https://host:8080/p", "git+https://github.com/org/repo@v1.0", "https://h/a?b=c@d",
                "file:///tmp/x@y"):
        assert secrets.mask_value(url) == url and secrets.strip_url_credentials(url) == url
    assert secrets.mask_bytes(b"ssh://git@host/repo.git") == (b"ssh://git@host/repo.git", 0)


# --- names, options, shapes (issue case 11) -------------------------------------------------------


@SETTINGS
@given(prefix=st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=8),
       suffix=st.sampled_from(["_PASS", "_PWD", "_PASSWORD", "_PASS_FILE_CONTENT"]), lower=st.booleans(),
       value=st.text(min_size=1, max_size=20))
def test_pass_and_pwd_names_mask_any_value(prefix, suffix, lower, value):
    name = prefix + suffix
    name = name.lower() if lower else name
    assert secrets.mask_env({name: value})[name] == secrets.MASK


def test_names_that_only_contain_pass_are_kept():
    for name in ("BYPASS_CACHE", "COMPASS", "PASSAGE_COUNT", "PWD", "OLDPWD"):
        assert secrets.mask_env({name: "v"})[name] == "v", name


@SETTINGS
@given(option=st.sampled_from(["--pass", "--db-pass", "--smtp-pass", "--password", "--db-pwd", "--api-token"]),
       value=st.text(ALNUM + "!@#%^&*", min_size=1, max_size=20), joined=st.booleans(),
       program=st.sampled_from(["python", "/usr/bin/true", "psql"]))
def test_secret_options_are_masked_joined_or_apart(option, value, joined, program):
    argv = [program, f"{option}={value}"] if joined else [program, option, value]
    masked = secrets.mask_argv(argv)
    assert value not in masked[1:] and secrets.MASK in " ".join(masked)
    assert masked[0] == program


@SETTINGS
@given(password=st.text(ALNUM + "!#%^&*", min_size=1, max_size=20),
       program=st.sampled_from(["mysql", "/usr/bin/mysqldump", "mysqladmin", "mariadb", "sshpass"]))
def test_dash_p_password_of_the_clients_that_take_one_is_masked(password, program):
    assert secrets.mask_argv([program, f"-p{password}", "-h", "db"]) == [program, "-p***", "-h", "db"]


def test_dash_p_of_other_programs_is_left_alone():
    assert secrets.mask_argv(["gcc", "-pthread"]) == ["gcc", "-pthread"]
    assert secrets.mask_argv(["psql", "-p5432"]) == ["psql", "-p5432"]


@SETTINGS
@given(kind=st.sampled_from(["sk_live_", "rk_live_", "sk_test_", "rk_test_"]), body=st.text(ALNUM, min_size=24,
                                                                                             max_size=99))
def test_stripe_keys_are_masked(kind, body):
    assert everywhere(kind + body, f"stripe {kind}{body} ok") == []


@SETTINGS
@given(key_id=st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", min_size=16, max_size=16),
       secret=st.text(B64, min_size=40, max_size=40).filter(lambda s: any(c.islower() for c in s) and
                                                              any(c.isupper() for c in s)),
       between=st.sampled_from([" ", "\n", ":", " secret=", "\naws_secret_access_key = "]))
def test_an_aws_secret_key_next_to_its_key_id_is_masked(key_id, secret, between):
    text = f"AKIA{key_id}{between}{secret}"
    assert everywhere(secret, text) == []
    assert secret not in secrets.mask_argv(["aws", f"AKIA{key_id}", secret])
    env = secrets.mask_env({"ID": f"AKIA{key_id}", "OTHER": secret})
    assert secret not in env.values()


def test_a_git_commit_id_is_not_taken_for_an_aws_secret():
    text = "AKIAIOSFODNN7EXAMPLE at 0123456789abcdef0123456789abcdef01234567"
    assert "0123456789abcdef0123456789abcdef01234567" in secrets.mask_value(text)


@SETTINGS
@given(name=st.sampled_from(["api_token", "secret", "DB_PASSWORD", "client-secret", "hub.token", "auth_key",
                             "signing_key", "smtp_pass"]),
       value=st.one_of(st.text("0123456789abcdef", min_size=64, max_size=64),
                       st.text(ALNUM + "!%^&*-_", min_size=4, max_size=30).filter(lambda v: any(c.isdigit() for c in v))),
       style=st.sampled_from(["{n}: {v}", "{n} = {v}", "{n}={v}", '"{n}": "{v}"', "{n}: '{v}'", "export {n}={v}"]))
def test_a_value_assigned_to_a_secret_name_in_a_config_file_is_masked(name, value, style):
    line = style.format(n=name, v=value)
    masked, count = secrets.mask_bytes(f"+{line}\n".encode())
    assert value.encode() not in masked and count >= 1, masked
    assert value not in secrets.mask_value(line)


def test_code_that_only_names_a_secret_is_not_masked():
    code = (b"+password = get_password()\n+token = None\n+api_key = args.api_key\n+auth = {'a': 1}\n"
            b"+token = os.environ['TOKEN']\n+if password == other:\n")
    assert secrets.mask_bytes(code) == (code, 0)


# --- one set of rules, inside the user's Python too ------------------------------------------------


def test_the_hook_imports_the_same_rules_with_the_standard_library_only(tmp_path):
    probe = ("import sys, json\nbefore = set(sys.modules)\nimport _repro_masking as m\n"
             "new = sorted(n for n in set(sys.modules) - before if n.split('.')[0] not in sys.stdlib_module_names and n != '_repro_masking')\n"
             "print(json.dumps([m.__file__, new, m.mask_argv(sys.argv[1:])]))\n")
    argv = ["prog", "--token=SECRET1", "--db-pass", "SECRET2", "https://u:AT@PW@h/r"]
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(site_dir())}
    out = subprocess.run([sys.executable, "-S", "-c", probe, *argv], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    path, foreign, masked = json.loads(out.stdout)
    assert path.startswith(str(site_dir())) and foreign == []
    assert masked == secrets.mask_argv(argv) == ["prog", "--token=***", "--db-pass", "***", "https://***@h/r"]
