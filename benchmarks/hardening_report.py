"""Figures for the hardening work: how many bad inputs, tamperings, planted secrets, crashes and
concurrent runs were tried, and how each ended.

It runs the same case generators and scenarios as tests/hardening (tests/hardening/cases.py), so
the counts it prints are the cases the tests assert on, plus a few that only the report runs
(every tampered field through replay, not only a sample).

Usage: python benchmarks/hardening_report.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from repro import config  # noqa: E402
from repro.evidence import signing  # noqa: E402
from repro.errors import INTEGRITY, INVALID, IntegrityError, SigningKeyError, UnsafePathError, UsageError  # noqa: E402
from repro.evidence.manifest import Manifest  # noqa: E402
from repro.replay.orchestrate import ReplayOptions, load_rules_file, replay  # noqa: E402
from tests.hardening import cases as C  # noqa: E402


class Tally:
    """Cases tried and how many ended as they must, with the first few that did not."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.tried = 0
        self.ok = 0
        self.codes: dict[int, int] = {}
        self.bad: list[str] = []

    def add(self, label: str, ok: bool, err: BaseException | None = None, *, code: int | None = None) -> None:
        self.tried += 1
        self.ok += ok
        if code is None:
            code = getattr(err, "exit_code", 0 if err is None else -1)
        self.codes[code] = self.codes.get(code, 0) + 1
        if not ok and len(self.bad) < 5:
            self.bad.append(f"{label}: {C.describe(err)}")

    def line(self) -> str:
        codes = ", ".join(f"exit {k}: {v}" for k, v in sorted(self.codes.items()))
        return f"  {self.name:<56} {self.tried:>6} {self.ok:>6}   ({codes})"


def malformed(run: C.SignedRun, work: Path) -> list[Tally]:
    reference = Manifest.from_bytes(run.raw)
    trusted = run.trusted()
    manifests = Tally("manifests (load, show, diff, verify; in-process)")
    for case in C.malformed_manifests(run.raw):
        err = C.consume_manifest(case.data, trusted, reference)
        manifests.add(case.label, C.is_clean(err), err)
    paths = Tally("unsafe paths in manifests (exit 3)")
    for case in C.unsafe_path_manifests(run.raw):
        err = C.outcome(lambda: Manifest.from_bytes(case.data))
        paths.add(case.label, isinstance(err, UnsafePathError) and C.is_clean(err, (INTEGRITY,)), err)
    configs = Tally("repro.yaml files")
    root = work / "cfg"
    root.mkdir()
    for case in C.malformed_configs():
        (root / config.CONFIG_NAME).write_bytes(case.data)
        err = C.outcome(lambda: config.load_config(root))
        configs.add(case.label, isinstance(err, UsageError) and C.is_clean(err, (INVALID,)), err)
    rules = Tally("tolerance rules files")
    target = work / "rules.yaml"
    for case in C.malformed_rules():
        target.write_bytes(case.data)
        err = C.outcome(lambda: load_rules_file(target, {}))
        rules.add(case.label, isinstance(err, UsageError) and C.is_clean(err, (INVALID,)), err)
    keys = Tally("key files")
    for n, (name, kind, data) in enumerate(C.malformed_keys(run.private_key.read_bytes(), run.public_key.read_bytes())):
        path = work / f"k{n}.pem"
        path.write_bytes(data)
        path.chmod(0o600)
        load = signing.load_private_key if kind == "private" else signing.load_public_key
        err = C.outcome(lambda: load(path))
        keys.add(name, isinstance(err, SigningKeyError) and C.is_clean(err, (INVALID,)), err)
    special = Tally("FIFO, /dev/zero, directory as manifest/key/rules")
    fifo = work / "fifo"
    os.mkfifo(fifo)
    zero = work / "zero"
    zero.symlink_to("/dev/zero")
    for path in (fifo, zero, work):
        for name, action in (("manifest", lambda: Manifest.load(path)), ("private key", lambda: signing.load_private_key(path)),
                             ("public key", lambda: signing.load_public_key(path)),
                             ("rules", lambda: load_rules_file(path, {}))):
            err = C.outcome(action)
            special.add(f"{name} {path.name}", C.is_clean(err, (INVALID,)), err)
    cli = Tally("manifests through the CLI (verify/show/export)")
    sample = [c for i, c in enumerate(C.malformed_manifests(run.raw)) if i % 25 == 0]
    for n, case in enumerate(sample):
        bad = work / f"bad{n}.json"
        bad.write_bytes(case.data)
        result = C.cli(("verify", "show", "export")[n % 3], str(bad), cwd=work, xdg=run.xdg, timeout=60)
        lines = result.stderr.strip().splitlines()
        ok = (result.returncode in (INVALID, INTEGRITY) and len(lines) == 1 and lines[0].startswith("repro: error: ")
              and "Traceback" not in result.stderr)
        cli.add(case.label, ok, None if ok else RuntimeError(result.stderr.strip()[-200:]), code=result.returncode)
    return [manifests, paths, configs, rules, keys, special, cli]


def tampering(run: C.SignedRun, work: Path) -> list[Tally]:
    trusted = run.trusted()
    fields = Tally("every field changed: verify")
    replayed = Tally("every field changed: replay (in-process)")
    by_signature = 0
    target = work / "t.json"
    for case in C.tampered_fields(run.raw):
        err = C.outcome(lambda: Manifest.from_bytes(case.data).verify(trusted))
        fields.add(case.label, C.is_clean(err), err)
        by_signature += isinstance(err, IntegrityError)
        target.write_bytes(case.data)
        opts = ReplayOptions(manifest_path=target, pubkeys=(run.public_key,), root=run.project,
                             output_manifest=work / "never.json")
        err = C.outcome(lambda: replay(opts, say=lambda _: None, load_key=None))
        replayed.add(case.label, C.is_clean(err) and not (work / "never.json").exists(), err)
    fields.name += f" ({by_signature} by signature)"
    flipped = Tally("single bytes flipped in the signed content")
    for case in C.tampered_bytes(run.raw):
        err = C.outcome(lambda: Manifest.from_bytes(case.data).verify(trusted))
        flipped.add(case.label, C.is_clean(err), err)
    sigs = Tally("signature characters changed")
    for case in C.tampered_signatures(run.raw):
        err = C.outcome(lambda: Manifest.from_bytes(case.data).verify(trusted))
        sigs.add(case.label, C.is_clean(err), err)
    special = Tally("forged signatures (key, payloadType, canonical form)")
    for case in C.forged_signatures(run.raw, signing.load_private_key(run.private_key)):
        err = C.outcome(lambda: Manifest.from_bytes(case.data).verify(trusted))
        special.add(case.label, C.is_clean(err), err)
    benign = Tally("only re-serialised: must still verify")
    for case in C.benign_rewrites(run.raw):
        err = C.outcome(lambda: Manifest.from_bytes(case.data).verify(trusted))
        benign.add(case.label, err is None, err)
    return [fields, replayed, flipped, sigs, special, benign]


def masking_families(n: int = 200) -> list[Tally]:
    """Each family of secret shapes, `n` random members, through every masking channel."""
    import base64
    import random

    from repro import secrets

    rng = random.Random(12)
    alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

    def word(k: int, alphabet: str = alnum) -> str:
        return "".join(rng.choice(alphabet) for _ in range(k))

    def leaks(secret: str, text: str) -> bool:
        outs = [secrets.mask_value(text), secrets.mask_env({"V": text})["V"],
                " ".join(secrets.mask_argv(["prog", text])),
                secrets.mask_bytes(("+" + text.replace("\n", "\n+") + "\n").encode())[0].decode(errors="replace")]
        return any(secret in o for o in outs)

    def pem() -> tuple[str, str]:
        body = base64.b64encode(rng.randbytes(rng.randrange(48, 900))).decode()
        lines = [body[i:i + 64] for i in range(0, len(body), 64)]
        sep = rng.choice(["\n", "\r\n", "\\n"])
        kind = rng.choice(["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY"])
        return max(lines, key=len), f"-----BEGIN {kind}-----{sep}" + sep.join(lines) + f"{sep}-----END {kind}-----"

    def url() -> tuple[str, str]:
        password = word(4) + rng.choice("@/") + word(6)
        return password, f"https://{word(5)}:{password}@host.example.com/{word(4)}"

    def pass_name() -> tuple[str, str]:
        value = word(12)
        name = word(4, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") + rng.choice(["_PASS", "_PWD"])
        return value, "" if secrets.mask_env({name: value})[name] == secrets.MASK else value

    def option() -> tuple[str, str]:
        value = word(12)
        argv = rng.choice([["x", "--pass", value], ["x", "--db-pass", value], ["mysql", "-p" + value]])
        return value, " ".join(secrets.mask_argv(argv))

    def stripe() -> tuple[str, str]:
        key = rng.choice(["sk_live_", "rk_live_"]) + word(24)
        return key, f"key {key}"

    def aws() -> tuple[str, str]:
        while True:
            secret = word(40, alnum + "/+")
            if any(c.islower() for c in secret) and any(c.isupper() for c in secret):
                break
        return secret, f"AKIA{word(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')} {secret}"

    def assigned() -> tuple[str, str]:
        value = word(64, "0123456789abcdef")
        return value, rng.choice(["api_token: {}", "secret = {}", '"client_secret": "{}"']).format(value)

    out = []
    for name, make, direct in (("PEM private key blocks", pem, False), ("URL passwords with @ or /", url, False),
                               ("*_PASS / *_PWD variable names", pass_name, True),
                               ("--pass, --db-pass, mysql -pX options", option, True),
                               ("Stripe sk_live_/rk_live_ keys", stripe, False),
                               ("AWS secret key next to its key id", aws, False),
                               ("64-hex value assigned to a secret name", assigned, False)):
        t = Tally(f"masking: {name}")
        for i in range(n):
            secret, text = make()
            leaked = (secret in text) if direct else leaks(secret, text)
            t.add(f"{name} #{i}", not leaked, RuntimeError("leaked") if leaked else None)
        out.append(t)
    return out


def forged_records() -> Tally:
    """Every field of every record type the hook writes, set to values of every wrong type."""
    from tests.hardening.test_forged_records import FIELDS, GOOD, ISSUE_SHAPES, consume

    t = Tally("forged run records (every field, wrong types; in-process)")
    wrong = ["abc", [1], {"r": [[1]]}, 5, -1, 2**70, 1.5, float("nan"), None, True, [[1]], {}, ""]
    for kind, name in FIELDS:
        for value in wrong:
            err = C.outcome(lambda: consume([*GOOD.values(), {**GOOD[kind], name: value}]))
            t.add(f"{kind}.{name}={value!r}", err is None, err)
    for shape in ISSUE_SHAPES:
        err = C.outcome(lambda: consume([*GOOD.values(), {**shape, "pid": 9}]))
        t.add(f"issue shape {shape}", err is None, err)
    return t


def reader_types(run: C.SignedRun) -> Tally:
    """Values the schema allows (or nearly) where readers assumed one type: kinds, OS facts, names."""
    import json

    t = Tally("type confusion in manifests (show, diff, verify; in-process)")
    reference = Manifest.from_bytes(run.raw)
    doc = json.loads(run.raw)
    changes = []
    for facet in ("inputs", "outputs"):
        for i in range(len(doc["predicate"][facet])):
            for v in ([], ["file"], {"a": 1}, {}):
                changes.append((("predicate", facet, i, "kind"), v))
    for field in ("distro", "libc"):
        for v in ("Debian 12", "", None):
            changes.append((("predicate", "deps", "os", field), v))
    for name in ("", " ", "-"):
        n = len(doc["predicate"]["deps"]["distributions"])
        changes.append((("predicate", "deps", "distributions", n), {"name": name, "version": "1"}))
    for path, value in changes:
        changed = json.loads(run.raw)
        target = changed
        for p in path[:-1]:
            target = target[p]
        if isinstance(target, list) and path[-1] == len(target):
            target.append(value)
        else:
            target[path[-1]] = value
        err = C.consume_manifest(C.dump(changed), run.trusted(), reference)
        t.add(f"{path}={value!r}", C.is_clean(err), err)
    return t


def output_paths(work: Path) -> Tally:
    from repro.paths import check_output_target

    t = Tally("output paths checked up front (exit 2, nothing created)")
    (work / "afile").write_text("x")
    for path, create in ((Path("/nonexistent/dir/x.xml"), False), (Path("/dev/stdout"), False), (Path("-"), False),
                         (Path("/dev/null"), True), (work, False), (work / "afile" / "x.json", True),
                         (work / "no" / "such" / "x.json", False)):
        before = sorted(work.rglob("*"))
        err = C.outcome(lambda: check_output_target(path, "report", create_parents=create))
        t.add(str(path), isinstance(err, UsageError) and sorted(work.rglob("*")) == before, err)
    return t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the slow scenarios (kills, concurrency, Docker)")
    args = parser.parse_args()
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="repro-hardening-") as tmp:
        work = Path(tmp)
        run = C.signed_example(work / "signed")
        (work / "m").mkdir()
        (work / "t").mkdir()
        bad = malformed(run, work / "m")
        tamper = tampering(run, work / "t")

        print("repro hardening figures\n")
        print(f"  {'malformed inputs':<56} {'tried':>6} {'clean':>6}")
        for t in bad:
            print(t.line())
        print(f"  {'total':<56} {sum(t.tried for t in bad):>6} {sum(t.ok for t in bad):>6}\n")
        print(f"  {'tampering':<56} {'tried':>6} {'caught':>6}")
        caught, benign = tamper[:-1], tamper[-1]
        for t in caught:
            print(t.line())
        print(f"  {'total':<56} {sum(t.tried for t in caught):>6} {sum(t.ok for t in caught):>6}")
        print(benign.line() + "\n")

        (work / "o").mkdir()
        families = [*masking_families(), forged_records(), reader_types(run), output_paths(work / "o")]
        print(f"  {'new families (second round)':<56} {'tried':>6} {'clean':>6}")
        for t in families:
            print(t.line())
        print(f"  {'total':<56} {sum(t.tried for t in families):>6} {sum(t.ok for t in families):>6}\n")
        bad.extend(families)

        scenario = C.secrets_scenario(work / "secrets")
        print(f"  secrets planted: {len(scenario.planted)} in {len(set(v.split(',')[0] for v in scenario.channels.values()))}"
              f" channels; files repro wrote: {len(scenario.written)}; commands run: {len(scenario.results)}; "
              f"secrets found: {len(scenario.found)}")
        for name, where in scenario.found:
            print(f"    FOUND {name} in {where}")

        if not args.quick:
            conc = C.concurrency_scenario(work / "conc", 8)
            print(f"  concurrency: {conc.runs} runs at once -> exit codes {sorted(set(conc.exit_codes))}, "
                  f"{conc.manifests} manifests, {conc.verified} verify; cache consistent {conc.cache_ok}, "
                  f"store consistent {conc.store_ok} ({conc.store_entries} entries); leftovers {len(conc.leftovers)}")
            kills, works = C.kill9_scenario(work / "kill", 8)
            states = {s: sum(k.manifest_state == s for k in kills) for s in ("previous", "new")}
            print(f"  kill -9: {len(kills)} kills -> previous manifest kept {states['previous']}, complete new one "
                  f"{states['new']}, broken {len(kills) - sum(states.values())}; cache consistent "
                  f"{sum(k.cache_ok for k in kills)}/{len(kills)}, store consistent {sum(k.store_ok for k in kills)}/"
                  f"{len(kills)}, leftover temporaries {sum(len(k.leftover_temporaries) for k in kills)}; "
                  f"a normal run afterwards verifies: {works}")
            for signum in (signal.SIGINT, signal.SIGTERM):
                s = C.signal_scenario(work / f"sig{signum}", signum)
                print(f"  {s.signal}: exit {s.exit_code}, manifest records {s.manifest_signal} / exit "
                      f"{s.manifest_exit_code}, verifies {s.verifies}, command left running {s.child_left_running}")
            for stream in ("stdout", "stderr"):
                full = C.log_full_scenario(work / f"log-full-{stream}", stream)
                if full is None:
                    print(f"  log on a full disk ({stream}): mounting a tmpfs is not permitted here, skipped")
                    continue
                print(f"  log on a full disk ({stream}): exit {full.exit_code} (None: hung), output echoed "
                      f"{full.echoed} bytes, previous manifest intact {full.previous_intact} and verifies "
                      f"{full.previous_verifies}; stderr: {full.stderr.strip().splitlines()[-1][:110] if full.stderr.strip() else ''}")
            for how in ("rlimit", "tmpfs"):
                d = C.disk_full_scenario(work / f"full-{how}", how)
                if d is None:
                    print(f"  full disk ({how}): not permitted here, skipped")
                    continue
                print(f"  full disk ({how}): exit {d.exit_code}, previous manifest intact {d.previous_intact} and "
                      f"verifies {d.previous_verifies}, files left behind {len(d.leftovers)}; "
                      f"stderr: {d.stderr.strip().split(': ', 2)[-1]}")
        failures = [b for t in (*bad, *tamper) for b in t.bad]
        for f in failures:
            print(f"  NOT CLEAN: {f}")
    print(f"\n  ({time.monotonic() - t0:.0f} s)")


if __name__ == "__main__":
    main()
