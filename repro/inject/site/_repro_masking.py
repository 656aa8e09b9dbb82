"""What must never reach a manifest or a run record: the masking rules, in one place.

Both sides import this file: repro itself (through `repro.secrets`) and the hook that runs inside
the user's Python (`sitecustomize.py`, beside this file), which masks the command lines it records
before they reach the disk. So it is standard library only, in Python 3.8 syntax, and its name
starts with an underscore and names repro: it sits on the child's PYTHONPATH and must not shadow
anything a program imports.

The rules:
- names that look secret (`*TOKEN*`, `*PASSWORD*`, `*_PASS`, `*_PWD`, ...) mask their whole value;
- values shaped like known credentials are masked wherever they appear (cloud and service tokens,
  JWTs, whole PEM private key blocks, a 40-character AWS secret key near an access key id);
- `name = value` / `name: value` assignments to a secret-looking name mask the value;
- the userinfo of a URL, read as RFC 3986 reads it (up to the last `@` before the host), is
  masked; in files only a `user:password` pair is (`ssh://git@host` is not a secret).
"""

import os
import re

MASK = "***"

_SECRET_NAME = re.compile(
    r"(TOKEN|SECRET|PASSW(OR)?D|PASSPHRASE|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL|AUTH|SESSION|COOKIE|"
    r"SIGNING_?KEY|_PWD$|^PWD_|(^|_)PASS(_|$)|DSN$|CONN(ECTION)?_?STR)",
    re.IGNORECASE,
)
_NOT_SECRET = frozenset(("PWD", "OLDPWD", "REPRO_SIGNING_KEY"))

_SECRET_VALUE = re.compile(
    r"(?:AKIA|ASIA)[0-9A-Z]{16}"  # AWS access key id
    r"|gh[pousr]_[A-Za-z0-9]{36,}"  # GitHub tokens
    r"|github_pat_[A-Za-z0-9_]{20,}"
    r"|glpat-[A-Za-z0-9_\-]{20,}"  # GitLab
    r"|xox[abposr]-[A-Za-z0-9\-]{10,}"  # Slack
    r"|sk-[A-Za-z0-9_\-]{20,}"  # OpenAI-style keys
    r"|(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{10,}"  # Stripe secret and restricted keys
    r"|hf_[A-Za-z0-9]{30,}"  # Hugging Face
    r"|AIza[0-9A-Za-z_\-]{35}"  # Google API key
    r"|pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,}"  # PyPI upload token
    r"|npm_[A-Za-z0-9]{36}"  # npm
    r"|SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}"  # SendGrid
    r"|AccountKey=[A-Za-z0-9+/=]{80,90}"  # Azure storage connection string
    r"|eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}"  # JWT
)

# A PEM private key block, header to footer; the body is masked, the two marker lines are kept.
# Without a footer (a truncated value), what follows the header that looks like a key body is.
_PEM_HEADER = r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
_PEM = re.compile(
    "(?P<head>" + _PEM_HEADER + ")"
    r"(?:(?P<body>.*?)(?P<foot>-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----)"
    r"|(?P<open>(?:(?:\r?\n|\\[nr])[+\- ]?[ \t]*[A-Za-z0-9+/=]{4,}[ \t]*(?=[\r\n\"']|\\[nr]|\Z))*))",
    re.DOTALL,
)

# An AWS secret access key: 40 characters of base64 with both cases (a hex digest has one); a
# diff's `+` may come before it.
_AWS_SECRET = re.compile(
    r"(?:(?<![A-Za-z0-9/+=])|(?<=^\+)|(?<=\n\+))(?=[A-Za-z0-9/+]{0,39}[a-z])(?=[A-Za-z0-9/+]{0,39}[A-Z])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"
)
_AWS_ID = re.compile(r"(?:AKIA|ASIA)[0-9A-Z]{16}")
_AWS_NEAR = 300  # characters between a key id and its secret key that still count as "next to"

# `name = value`, `name: value`, `"name": "value"`, `--name=value` inside a string.
_ASSIGNED = re.compile(
    r"(?P<name>[A-Za-z_][A-Za-z0-9_.\-]*)[\"']?[ \t]*(?::=|=>|=|:)[ \t]*"
    r"(?P<value>\"[^\"\r\n]*\"|'[^'\r\n]*'|[^\s\"',;#]+)"
)
_NOT_A_VALUE = frozenset(("None", "null", "nil", "true", "false", "True", "False", "~", "undefined", MASK))
# An unquoted value that is code or a reference, not a secret: a call, an index, `${VAR}`, `$VAR`,
# `%(name)s`, `a.b.c`, a comparison's `==`.
_CODE_LIKE = re.compile(r"[()\[\]{}<>]|\$[{A-Za-z_]|%\(|^=|^//|^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+$")

_URL_START = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")
_URL_STOP = frozenset(" \t\r\n\"'<>`\\")
_HOST = re.compile(r"[A-Za-z0-9\-._~%\[\]]+(?::[0-9]*)?")

# Programs whose `-pVALUE` is a password (for psql or ssh, -p is a port).
_DASH_P_PASSWORD = frozenset(("mysql", "mysqldump", "mysqladmin", "mysqlimport", "mysqlshow", "mysqlcheck",
                              "mysqlpump", "mysqlbinlog", "mariadb", "mariadb-dump", "mariadb-admin", "sshpass"))


def is_secret_name(name):
    """Whether a variable or option name looks like it holds a secret."""
    return name not in _NOT_SECRET and bool(_SECRET_NAME.search(name))


def _host_follows(token, at):
    segment = re.split(r"[/?#]", token[at + 1:], maxsplit=1)[0]
    return bool(segment) and _HOST.fullmatch(segment) is not None


def _userinfo_spans(text, need_password):
    """(start, end) of each URL's `userinfo@`. RFC 3986: the authority ends at the first `/`, `?`
    or `#`, and the userinfo at the last `@` in it. A password that holds an unencoded `/`
    (`u:pa/ss@host`) is not a valid URL, but it is a password: when no host name follows the `@`
    RFC 3986 finds (or there is none) and the authority holds a `:`, the userinfo ends at the last
    `@` followed by a host name (so `host:8080/p@x`, which cannot be told from the password
    `8080/p`, is masked too: masking errs on the safe side)."""
    spans = []
    n = len(text)
    for m in _URL_START.finditer(text):
        start = end = m.end()
        while end < n and text[end] not in _URL_STOP:
            end += 1
        token = text[start:end]
        cut = len(token)
        for c in "/?#":
            i = token.find(c)
            if 0 <= i < cut:
                cut = i
        authority = token[:cut]
        at = authority.rfind("@")
        if at < 0 or not _host_follows(token, at):
            # no host after it: a password holding `/` (or `@` then `/`), when there is a `:`
            if ":" not in authority:
                continue
            at = -1
            i = token.rfind("@")
            while i > cut or (i >= 0 and i > authority.find(":")):
                if _host_follows(token, i):
                    at = i
                    break
                i = token.rfind("@", 0, i)
            if at < 0:
                continue
        userinfo = token[:at]
        if not userinfo or userinfo == MASK or (need_password and ":" not in userinfo):
            continue
        spans.append((start, start + at + 1))
    return spans


def _replace_spans(text, spans, replacement):
    out = []
    last = 0
    for start, end in sorted(spans):
        if start < last:
            continue
        out.append(text[last:start])
        out.append(replacement)
        last = end
    out.append(text[last:])
    return "".join(out)


def _mask_pem(text, keep_lines):
    def body(match):
        head = match.group("head")
        if match.group("foot") is not None:
            inner, foot = match.group("body"), match.group("foot")
        else:
            inner, foot = match.group("open"), ""
        if keep_lines:  # a file (a diff): one masked line per line, a diff's +/-/space prefix kept
            lines = re.split(r"(\r?\n)", inner)
            inner = "".join(part if part in ("\n", "\r\n") or not part.strip()
                            else (part[0] if i and part[0] in "+- " else "") + MASK
                            for i, part in enumerate(lines))
        else:
            inner = MASK
        return head + inner + foot

    return _PEM.subn(body, text)


def _mask_aws_secrets(text, near):
    """40-character secret keys within `_AWS_NEAR` characters of an access key id (`near`: a key id
    is somewhere else in the same record, as in the next argument)."""
    ids = [m.start() for m in _AWS_ID.finditer(text)]
    if not ids and not near:
        return text, 0

    def close(m):
        return near or any(abs(m.start() - i) <= _AWS_NEAR for i in ids)

    count = [0]

    def sub(m):
        if close(m):
            count[0] += 1
            return MASK
        return m.group()

    return _AWS_SECRET.sub(sub, text), count[0]


def _mask_assignments(text):
    count = [0]

    def sub(m):
        name, value = m.group("name"), m.group("value")
        if not is_secret_name(name.replace("-", "_").replace(".", "_").strip("_")):
            return m.group()
        quoted = value[:1] in "\"'"
        inner = value[1:-1] if quoted else value
        if not inner or inner in _NOT_A_VALUE or (not quoted and _CODE_LIKE.search(inner)):
            return m.group()
        count[0] += 1
        cut = m.start("value") - m.start()
        return m.group()[:cut] + (value[0] + MASK + value[0] if quoted else MASK)

    return _ASSIGNED.sub(sub, text), count[0]


def mask_text(text, in_file=False, aws_near=False):
    """`text` with every credential masked, and how many were. `in_file`: the text is a file's
    content (a code diff): line breaks are kept, and only URL passwords are masked."""
    text, pem = _mask_pem(text, in_file)
    spans = _userinfo_spans(text, in_file)
    text = _replace_spans(text, spans, MASK + "@")
    text, assigned = _mask_assignments(text)
    text, aws = _mask_aws_secrets(text, aws_near)
    text, values = _SECRET_VALUE.subn(MASK, text)
    return text, pem + len(spans) + assigned + aws + values


def mask_value(text, aws_near=False):
    """A value (a variable, an argument) with credential-shaped substrings masked."""
    return mask_text(text, False, aws_near)[0]


def has_aws_key_id(values):
    return any(_AWS_ID.search(v) for v in values)


def mask_env(env):
    near = has_aws_key_id(env.values())
    return {k: (MASK if is_secret_name(k) else mask_value(v, near)) for k, v in sorted(env.items())}


def mask_argv(argv):
    """A command line with the values of secret-looking options (`--password X`, `--token=X`,
    `mysql -pX`) and every credential-shaped argument masked."""
    argv = [a if isinstance(a, str) else str(a) for a in argv]
    program = os.path.basename(argv[0]) if argv else ""
    dash_p = program in _DASH_P_PASSWORD
    near = has_aws_key_id(argv)
    out = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append(MASK)
            hide_next = False
            continue
        if arg.startswith("-") and "=" in arg:
            name = arg.partition("=")[0]
            if is_secret_name(name.lstrip("-").replace("-", "_")):
                out.append(name + "=" + MASK)
                continue
        elif arg.startswith("--") and is_secret_name(arg[2:].replace("-", "_")):
            out.append(arg)
            hide_next = True
            continue
        elif dash_p and arg.startswith("-p") and not arg.startswith("--"):
            if len(arg) > 2:
                out.append("-p" + MASK)
                continue
            if program == "sshpass":
                out.append(arg)
                hide_next = True
                continue
        out.append(mask_value(arg, near))
    return out


def strip_url_credentials(url):
    """A URL (a git remote) without its userinfo at all: user, password or token."""
    return mask_value(_replace_spans(url, _userinfo_spans(url, False), ""))
