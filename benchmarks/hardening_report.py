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
