"""The command line: parse, call the library, render. Errors are caught once, in `main`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from repro import __version__
from repro.cli_options import CONTEXT_SETTINGS, OutputDestination, ReproGroup, quiet_option, say_to_stderr
from repro.destination import Destination, destination, reserved_stdout, stdout_taken
from repro.errors import INTEGRITY, INTERNAL, INVALID, NOT_REPRODUCED, OK, ReproError

EXIT_CODES = f"""\b
Exit codes: {OK} ok, {NOT_REPRODUCED} not reproduced (or the wrapped command's own code for `run`),
{INVALID} usage or invalid manifest, {INTEGRITY} signature or integrity failure, {INTERNAL} internal error."""


_say = say_to_stderr


@click.group("repro", cls=ReproGroup, help="Fingerprint a training run into a signed manifest, and replay it to prove it "
             "reproduces.\n\n" + EXIT_CODES, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "-V", "--version", prog_name="repro")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    if ctx.obj is None:
        ctx.obj = {}
    ctx.obj["verbose"] = verbose


@cli.command()
@click.option("--key", "key", type=click.Path(path_type=Path), help="Where to write the private key "
              "(default: $REPRO_SIGNING_KEY, else $XDG_CONFIG_HOME/repro/signing-key.pem).")
@click.option("--force", is_flag=True, help="Replace an existing key pair.")
@click.option("--exist-ok", is_flag=True, help="Keep an existing key pair and print it instead of failing.")
@quiet_option("Print nothing (the key's paths and keyid are not shown).")
def keygen(key: Path | None, force: bool, exist_ok: bool, quiet: bool) -> None:
    """Create an Ed25519 signing key pair (private key mode 0600)."""
    from repro.evidence import signing

    pair = signing.existing(key) if exist_ok and not force else None
    pair = pair or signing.generate(key, force=force)
    if quiet:
        return
    click.echo(f"private key  {pair.private_path}")
    click.echo(f"public key   {pair.public_path}")
    click.echo(f"keyid        {pair.keyid}")


@cli.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--seed", type=int, help="Seed for the run (default: a fresh 32-bit seed, recorded).")
@click.option("--threads", type=int, help="Set OMP/MKL/OPENBLAS thread counts for the command.")
@click.option("--input", "inputs", multiple=True, metavar="PATH", help="Input file, directory or glob (repeatable).")
@click.option("--output", "outputs", multiple=True, metavar="PATH", help="Output file, directory or glob (repeatable).")
@click.option("--state", "state", multiple=True, metavar="PATH", help="State file the command reads, then rewrites "
              "(a resumed checkpoint): recorded before the run, kept so a replay restores it, and after (repeatable).")
@click.option("--manifest", type=click.Path(path_type=Path), help="Where to write the manifest "
              "(default: .repro/runs/<run-id>/manifest.json).")
@click.option("--no-sign", is_flag=True, help="Write an unsigned manifest, visibly marked as such.")
@click.option("--no-observe", is_flag=True, help="Do not observe the files, imports and seeds the command uses "
              "(default: observe, unless repro.yaml says `observe: false`).")
@click.option("--key", type=click.Path(path_type=Path), help="Private key to sign with (default: $REPRO_SIGNING_KEY or the keygen key).")
@click.option("--digest", type=click.Choice(["xxh3_128", "sha256"]), help="Digest algorithm (default: repro.yaml, else xxh3_128).")
@click.option("--image", help="Run in this container image, pinned by digest before the run.")
@click.option("--dockerfile", help="Build this Dockerfile, then run in the image built.")
@click.option("--build-context", help="Build context for --dockerfile (default: the Dockerfile's directory).")
@click.option("--network", help="Container network (default: none); with --sandbox, any name but none lets the "
              "command reach the network.")
@click.option("--gpus", help="GPUs for the container: all or a count.")
@click.option("--sandbox", "sandbox", is_flag=True, help="Run the command in a bwrap sandbox: only the project "
              "writable, no network (docs/security.md).")
@click.option("--mlflow", "log_mlflow", is_flag=True, default=None,
              help="Log the manifest and its side files to MLflow (the active run or a new one; default: repro.yaml).")
@quiet_option("Only the command's own output.")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def run(command: tuple[str, ...], seed, threads, inputs, outputs, state, manifest, no_sign, no_observe, key, digest,
        image, dockerfile, build_context, network, gpus, sandbox, log_mlflow, quiet) -> None:
    """Run COMMAND and seal what went in and came out into a signed manifest.

    \b
    Example:
      repro run --seed 7 --input data/ --output out/ -- python train.py

    The exit code is the command's own. When repro itself fails after the command ran (the
    manifest cannot be sealed), the last line starts `repro: error:` and names the command's
    exit code; the exit code is then repro's (2, 3 or 70), never mistaken for the command's:
    on success the last line is `repro: the command exited N; ...`.
    """
    from repro import config
    from repro.evidence import signing
    from repro.run import execute_run, make_runner

    argv = tuple(command[1:] if command and command[0] == "--" else command)
    spec = config.build_run_spec(
        argv, seed=seed, threads=threads, inputs=inputs, outputs=outputs, state=state, manifest=manifest,
        sign=not no_sign, key=key, digest=digest, observe=False if no_observe else None, quiet=quiet, image=image,
        dockerfile=dockerfile, build_context=build_context, network=network, gpus=gpus, mlflow=log_mlflow,
    )
    if sandbox:
        from repro.sandbox import sandboxed_run

        spec = sandboxed_run(spec)
    say = _say(quiet)
    outcome = execute_run(
        spec, make_runner(spec), say=say,
        load_key=lambda: signing.load_private_key(spec.key_path),
    )
    state = "unsigned" if outcome.manifest.predicate["unsigned"] else "signed"
    say(f"the command exited {outcome.result.exit_code}; {state} manifest {outcome.manifest_path}")
    if spec.mlflow:
        from repro.mlflow import log_run

        say(f"logged to MLflow run {log_run(outcome.manifest_path)}")
    sys.exit(outcome.result.exit_code)


_pubkey = click.option("--pubkey", "pubkeys", multiple=True, type=click.Path(path_type=Path),
                       help="Trusted public key (PEM, repeatable; default: your own from `repro keygen`).")


@cli.command()
@click.argument("manifest", type=click.Path(path_type=Path))
@_pubkey
@click.option("--no-files", is_flag=True, help="Check schema and signature only, not the files on disk.")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False),
              help="Project root the recorded paths are relative to (default: found from the working directory).")
@click.option("--require-passed", is_flag=True, help="For a verdict file: exit 1 unless it says PASSED.")
@click.option("--against", type=click.Path(path_type=Path), help="For a verdict file: require that it is about this manifest.")
@click.option("--json", "json_out", type=OutputDestination("verification result"), help="Also write the result as "
              "JSON here, for a failed verification too (- for standard output; schemas/verify-result.schema.json); "
              "for a manifest, a verdict file or a bundle.")
@quiet_option("Print nothing but errors: the exit code says whether it verified.")
def verify(manifest: Path, pubkeys, no_files: bool, root: Path | None, require_passed: bool, against: Path | None,
           json_out: Destination | None, quiet: bool) -> None:
    """Check a manifest: strict JSON, schema, signature, and that the recorded files still match.

    \b
    Given a bundle (`repro pack`), check its index signature and every member's size and sha256.
    Given a replay verdict (`*.intoto.jsonl`), check its signatures and say what it vouches for:
    exit 0 when it is authentic, whatever its outcome (1 with --require-passed for a FAILED one)."""
    from repro.bundle import is_bundle
    from repro.evidence import verdict
    from repro.evidence.verify import bundle_report, verdict_report, verification_report
    from repro.report.json import verify_json

    with reserved_stdout(stdout_taken((json_out,))):
        if verdict.is_verdict_file(manifest):
            result = verdict_report(manifest, pubkeys, against=against, require_passed=require_passed)
            text = result.verdict and verdict.describe(manifest, result.verdict) + (
                f"\nagainst    {against}: the verdict is about this manifest" if against is not None else "")
        elif is_bundle(manifest):
            result, text = bundle_report(manifest, pubkeys)
        else:
            result = verification_report(manifest, pubkeys, check_files=not no_files, root=root)
            files = "" if no_files else f"; {result.files_checked} recorded files match"
            text = f"OK: {manifest} signed by {result.keyid}{files}"
        if json_out is not None:
            json_out.write(verify_json(result).encode("utf-8"))
        if result.error is not None:
            raise result.error
        if not quiet:
            click.echo(text)
    sys.exit(result.exit_code or OK)


@cli.command()
@click.argument("manifest", type=click.Path(path_type=Path))
@_pubkey
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as canonical, indented JSON.")
@click.option("--full", is_flag=True, help="List every file and seeding call instead of grouping them.")
@quiet_option("Only the run id and signature lines.")
def show(manifest: Path, pubkeys, as_json: bool, full: bool, quiet: bool) -> None:
    """Summarise a manifest for a person (the signature is checked and its status shown)."""
    from repro.evidence.manifest import Manifest
    from repro.report.show import render
    from repro.evidence.verify import trusted_keys

    m = Manifest.load(manifest)
    if as_json:
        click.echo(m.to_bytes().decode(), nl=False)
        return
    if not m.signatures:
        status = "UNSIGNED (written with --no-sign)"
    else:
        try:
            status = f"valid, keyid {m.verify(trusted_keys(pubkeys))}"
        except ReproError as e:
            status = f"NOT VERIFIED: {e}"
    text = render(m, signature_status=status, full=full)
    click.echo("".join(text.splitlines(keepends=True)[:2]) if quiet else text, nl=False)


@cli.command()
@click.argument("manifest", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["dsse", "statement", "slsa"]), default="dsse", show_default=True,
              help="dsse: a standard DSSE envelope carrying the same signatures; statement: the in-toto Statement alone; "
              "slsa: SLSA Provenance v1 in a DSSE envelope, signed with the run's key.")
@click.option("-o", "--output", type=OutputDestination("export"), help="Write here (atomically) instead of standard "
              "output; - for standard output.")
@click.option("--key", type=click.Path(path_type=Path), help="For slsa: the private key that signed the run (default: "
              "$REPRO_SIGNING_KEY or the keygen key).")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False),
              help="For slsa: project root the inputs are read from (default: found from the working directory).")
@quiet_option("No messages (the exported document is still written).")
def export(manifest: Path, fmt: str, output: Destination | None, key: Path | None, root: Path | None,
           quiet: bool) -> None:
    """Export a manifest for other tools: dsse and statement with no re-signing."""
    from repro.evidence import dsse, jsonio
    from repro.evidence.manifest import Manifest

    m = Manifest.load(manifest)
    if fmt == "slsa":
        from repro.config import find_project_root
        from repro.evidence import signing, slsa

        envelope = slsa.signed_envelope(m, manifest, root or find_project_root(Path.cwd()), signing.load_private_key(key))
        data = jsonio.pretty_bytes(envelope)
    elif fmt == "dsse":
        if not m.signatures:
            raise ReproError("manifest is unsigned: there is no signature to put in a DSSE envelope")
        data = jsonio.pretty_bytes(dsse.envelope(m.body(), list(m.signatures)))
    else:
        data = jsonio.pretty_bytes(m.statement)
    (output or destination("-", "export")).write(data)


@cli.command()
@click.argument("manifests", nargs=-1, type=click.Path(path_type=Path))
@_pubkey
@click.option("--rules", type=click.Path(path_type=Path), help="Tolerance rules (YAML; default: `verify:` in repro.yaml).")
@click.option("--checkout", is_flag=True, help="Rebuild the recorded commit plus its saved diff instead of "
              "requiring the working tree to match.")
@click.option("--json", "json_out", type=OutputDestination("JSON report"), help="Also write the report as JSON here "
              "(- for standard output; the text report then goes to standard error).")
@click.option("--junit", "junit_out", type=OutputDestination("JUnit report"), help="Also write a JUnit XML report here "
              "(- for standard output).")
@click.option("--attest", "attest_out", type=OutputDestination("verdict", allow_stdout=False), help="Also write the signed verdict "
              "(JSON Lines of DSSE envelopes: SLSA verification summary and test result) here; it is always "
              "written beside the replay's manifest, and a refusal is attested here as FAILED.")
@click.option("--manifest", "output_manifest", type=click.Path(path_type=Path),
              help="Where to write the replay's own manifest (default: .repro/replays/<run-id>/manifest.json).")
@click.option("--no-sign", is_flag=True, help="Write the replay's manifest unsigned.")
@click.option("--key", type=click.Path(path_type=Path), help="Private key to sign the replay's manifest with.")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False),
              help="Project root (default: found from the working directory).")
@click.option("--keep-workspace", is_flag=True, help="Keep the scratch workspace (with the replayed outputs) and print its path.")
@click.option("--sandbox", type=click.Choice(["auto", "bwrap", "copy"]), help="What confines the rerun: bwrap, the "
              "copying workspace, or bwrap where it works (default: `sandbox:` in repro.yaml, else auto).")
@click.option("--network", is_flag=True, help="Let a bwrap-sandboxed rerun reach the network (default: only when the "
              "recorded run did).")
@click.option("--unsafe-allow-untrusted", is_flag=True, help="Replay a manifest that is unsigned or signed by an "
              "untrusted key. Unsafe: nothing then vouches for what the manifest asks to run.")
@click.option("--mlflow", "log_mlflow", is_flag=True, help="Log the verdict, the replay report and the replay's "
              "manifest to MLflow, with the original manifest (the active run or a new one).")
@click.option("--shape", help="Replay a distributed job at another shape, NODESxTASKS_PER_NODE (e.g. 1x2): the "
              "launcher's options are rewritten and the change is reported as drift (default: the recorded shape, "
              "or a refusal where it cannot be had).")
@click.option("--slurm", "slurm", is_flag=True, help="Replay each MANIFEST as a Slurm job (sbatch, resources from its "
              "recorded shape), collect every verdict, print one table; exit 0 only when all reproduce.")
@click.option("--sbatch-arg", "sbatch_args", multiple=True, metavar="ARG", help="With --slurm: an sbatch option "
              "added after the shape's resources, which it overrides (repeatable, e.g. --sbatch-arg=--partition=gpu).")
@click.option("--time-limit", type=click.IntRange(min=1), help="With --slurm: each job's time limit in minutes "
              "(default: ten times the recorded duration, plus five).")
@click.option("--wait-timeout", type=click.FloatRange(min=1), default=3600, show_default=True,
              help="With --slurm: seconds to wait for all jobs; those still running are then cancelled.")
@quiet_option("Only the report.")
def replay(manifests: tuple[Path, ...], pubkeys, rules, checkout, json_out: Destination | None,
           junit_out: Destination | None, attest_out: Destination | None, output_manifest, no_sign, key, root,
           keep_workspace, sandbox, network, unsafe_allow_untrusted, log_mlflow, shape, slurm, sbatch_args, time_limit,
           wait_timeout, quiet) -> None:
    """Rerun a recorded run (a manifest, or a bundle from `repro pack`) in a sandbox and prove its outputs reproduce.

    \b
    Checks the signature, the inputs and the code first; reruns the same command with the same
    seed, thread and determinism variables (and the same pinned image), in bwrap at the recorded
    project root with the inputs read in place where bwrap works, else in a copy of the project;
    then compares every recorded output: bit-identical by default, or within the tolerance of a
    matching rule.

    \b
    Exit codes: 0 REPRODUCED, 1 NOT REPRODUCED or NOTHING VERIFIED, 2 usage or invalid
    manifest, 3 signature or integrity failure (untrusted, tampered, inputs or code changed),
    130 / 143 interrupted by SIGINT / SIGTERM (no verdict claimed). A refusal (2 or 3) still
    writes --json (outcome REFUSED) and --junit (an error case naming the reason).
    """
    from repro.paths import check_output_target
    from repro.replay.orchestrate import ReplayOptions
    from repro.replay.slurm import manifests_or_usage
    from repro.report.formats import get_format

    manifests_or_usage(manifests, slurm)
    if slurm:
        from repro.config import find_project_root
        from repro.replay import slurm as fanout

        with reserved_stdout(stdout_taken((json_out,))):
            report = fanout.fan_out(fanout.FanoutOptions(
                manifests=manifests, root=(root or find_project_root(Path.cwd())).resolve(), pubkeys=tuple(pubkeys),
                allow_untrusted=unsafe_allow_untrusted, rules_path=rules, sign=not no_sign, key_path=key,
                sbatch_args=tuple(sbatch_args), time_limit_min=time_limit, timeout_s=wait_timeout), say=_say(quiet))
            if json_out is not None:
                json_out.write(fanout.json_bytes(report))
            click.echo(fanout.render(report), nl=False)
        sys.exit(OK if report.all_reproduced else NOT_REPRODUCED)
    manifest = manifests[0]

    if output_manifest is not None:
        check_output_target(output_manifest, "replay manifest", create_parents=True)
    to_stderr = stdout_taken((json_out, junit_out))

    opts = ReplayOptions(
        manifest_path=manifest, pubkeys=tuple(pubkeys), allow_untrusted=unsafe_allow_untrusted, root=root,
        rules_path=rules, checkout=checkout, keep_workspace=keep_workspace, output_manifest=output_manifest,
        sign=not no_sign, key_path=key, quiet=quiet, attest=attest_out and attest_out.path, sandbox=sandbox,
        network=network, shape=shape,
    )
    with reserved_stdout(to_stderr):
        report = _replay_reporting_refusal(manifest, opts, key, quiet, json_out, junit_out)
        for out, fmt in ((json_out, "json"), (junit_out, "junit")):
            if out is not None:
                out.write(get_format(fmt).render(report).encode("utf-8"))
        click.echo(get_format("text").render(report), nl=False)
        if log_mlflow:
            from repro.api import ReplayResult
            from repro.mlflow import log_run

            _say(quiet)(f"logged to MLflow run {log_run(manifest, replay=ReplayResult(report))}")
    sys.exit(OK if report.reproduced else NOT_REPRODUCED)  # NOTHING VERIFIED is not a success either


def _replay_reporting_refusal(manifest: Path, opts, key: Path | None, quiet: bool, json_out: Destination | None,
                              junit_out: Destination | None):
    """Replay a manifest or a bundle; a refusal (exit 2 or 3) is still written to the JSON and
    JUnit reports, so a CI page shows exactly the failures that matter, then raised."""
    from repro.bundle import is_bundle
    from repro.evidence import signing
    from repro.replay.orchestrate import replay as do_replay
    from repro.replay.result import Refusal, utc_now_seconds
    from repro.report.formats import render_refusal

    started_at = utc_now_seconds()
    try:
        if is_bundle(manifest):
            from repro.bundle.replay import replay_bundle

            return replay_bundle(manifest, opts, say=_say(quiet), load_key=lambda: signing.load_private_key(key),
                                 progress=False if quiet else None)
        return do_replay(opts, say=_say(quiet), load_key=lambda: signing.load_private_key(key))
    except ReproError as e:
        if e.exit_code in (INVALID, INTEGRITY):
            refusal = Refusal.from_error(manifest, e, started_at)
            for out, fmt in ((json_out, "json"), (junit_out, "junit")):
                if out is not None:
                    out.write(render_refusal(fmt, refusal).encode("utf-8"))
        raise


@cli.command()
@click.argument("manifest", type=click.Path(path_type=Path))
@click.option("--replay", "replays", multiple=True, type=click.Path(path_type=Path), metavar="VERDICT",
              help="A replay's signed verdict (*.intoto.jsonl) to report on (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["html", "markdown"]), default="html", show_default=True,
              help="html: one self-contained page; markdown: the same sections for a pull request or a wiki.")
@click.option("-o", "--output", type=OutputDestination("report"),
              help="Write the report here (atomically; - for stdout).")
@click.option("--pdf", "pdf_path", type=OutputDestination("PDF", allow_stdout=False),
              help="Also print the HTML page to this PDF through headless Chromium.")
@_pubkey
@click.option("--no-files", is_flag=True, help="Do not check the recorded files on disk (the report then says so).")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False),
              help="Project root the recorded paths are relative to (default: found from the working directory).")
@click.option("--allow-untrusted", is_flag=True, help="Report on a manifest signed by a key that is not trusted "
              "here, marked UNTRUSTED (a signature by a trusted key that fails is always refused).")
@quiet_option("Print nothing but errors and the report asked for.")
def report(manifest: Path, replays, fmt: str, output, pdf_path, pubkeys, no_files: bool, root: Path | None,
           allow_untrusted: bool, quiet: bool) -> None:
    """Render a verified run and its replays as one page a reviewer reads (HTML, Markdown or PDF).

    \b
    The manifest and every replay verdict are verified first: a tampered manifest, or a verdict
    that does not verify or is about another run, is refused (exit 3) and nothing is written.
    An unsigned manifest, or files on disk that no longer match, are reported in red at the top.

    \b
    Example:
      repro report run.json --replay .repro/replays/ID/manifest.intoto.jsonl -o audit.html
    """
    from repro.audit.cli import report_command

    report_command(manifest, replays=replays, fmt=fmt, output=output, pdf_path=pdf_path, pubkeys=pubkeys,
                   check_files=not no_files, root=root, allow_untrusted=allow_untrusted, say=_say(quiet))


@cli.command()
@click.argument("manifest", type=click.Path(path_type=Path))
@_pubkey
@click.option("--vary", help="Knobs to vary, comma-separated: threads, hashseed, seed, blas, isa, cwd, listing, tz, "
              "locale, env:NAME=VALUE (default: all but env:).")
@click.option("--jobs", type=int, help="Replays at once (default: the CPUs, at most 4).")
@click.option("--budget", type=int, help="Replays in all, the two baselines included.")
@click.option("--keep-going", is_flag=True, help="Vary the knobs even when the baseline replays differ.")
@click.option("--json", "json_out", type=OutputDestination("JSON report"),
              help="Also write the findings as JSON here (- for stdout: then the table goes to stderr).")
@click.option("--rules", type=click.Path(path_type=Path), help="Tolerance rules (YAML; default: `verify:` in repro.yaml).")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False),
              help="Project root (default: found from the working directory).")
@click.option("--sandbox", type=click.Choice(["auto", "bwrap", "copy"]), help="What confines each replay (as for "
              "`repro replay`).")
@click.option("--unsafe-allow-untrusted", is_flag=True, help="Replay a manifest that is unsigned or signed by an "
              "untrusted key.")
@quiet_option("Only the table.")
def doctor(manifest: Path, pubkeys, vary, jobs, budget, keep_going, json_out: Destination | None, rules, root, sandbox,
           unsafe_allow_untrusted, quiet) -> None:
    """Find what breaks bit-identity: replay twice with nothing changed, then once per knob.

    \b
    Each knob changes one condition of the replay (the thread count, PYTHONHASHSEED, the BLAS
    kernel, ...); the table names the knobs the outputs depend on, with the largest error and a
    fix, and what the injected hook saw inside the run (unseeded generators, seeds from the clock).

    \b
    Exit codes: 0 deterministic under every variation tried, 1 something breaks bit-identity
    (or no baseline finished), 2 usage or invalid manifest, 3 signature or integrity failure,
    130 / 143 interrupted (the findings so far are printed).
    """
    from repro.doctor.run import DoctorOptions, doctor as do_doctor
    from repro.doctor.render import FORMATS

    report = do_doctor(DoctorOptions(manifest, vary=vary, jobs=jobs, budget=budget, keep_going=keep_going,
                                     pubkeys=tuple(pubkeys), allow_untrusted=unsafe_allow_untrusted, root=root,
                                     rules_path=rules, sandbox=sandbox), say=_say(quiet))
    if json_out is not None:
        json_out.write(FORMATS["json"].render(report).encode("utf-8"))
    click.echo(FORMATS["text"].render(report), nl=False, err=json_out is not None and json_out.to_stdout)
    sys.exit(report.exit_code)


@cli.command()
@click.argument("manifest", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=OutputDestination("bundle", allow_stdout=False), help="The bundle to write "
              "(default: <run-id>.repro.tar; a name ending in .zst writes a zstd-compressed tar).")
@click.option("--no-image", is_flag=True, help="Leave out the container image (the replay must then have or pull it).")
@click.option("--no-inputs", is_flag=True, help="Leave out the inputs (the replay then needs them in place).")
@click.option("--rules", type=click.Path(path_type=Path), help="Tolerance rules to pack (default: `verify:` in repro.yaml).")
@_pubkey
@click.option("--key", type=click.Path(path_type=Path), help="Private key to sign the bundle's index with.")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False),
              help="Project root (default: found from the working directory).")
@quiet_option("No progress line.")
def pack(manifest: Path, output, no_image, no_inputs, rules, pubkeys, key, root, quiet) -> None:
    """Put a run in one signed file that replays with no network, registry or checkout.

    \b
    The bundle holds the manifest and its logs and diff, the code (a git bundle of the recorded
    commit), the inputs, the stored outputs, the tolerance rules, the image (`docker save` of
    its ID) and an index of every member's size and sha256, signed with your key.
    """
    from repro.bundle.cli import pack_command

    click.echo(pack_command(manifest, output=output and output.path, include_image=not no_image, include_inputs=not no_inputs,
                            rules=rules, pubkeys=pubkeys, key=key, root=root, say=_say(quiet), quiet=quiet))


@cli.command()
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option("-C", "--directory", "directory", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Where to extract (created; must be empty).")
@_pubkey
@quiet_option("No progress line.")
def unpack(bundle: Path, directory: Path, pubkeys, quiet: bool) -> None:
    """Extract a bundle after checking its index signature and every member's digest."""
    from repro.bundle.cli import unpack_command

    click.echo(unpack_command(bundle, directory, pubkeys, quiet=quiet))


@cli.command()
@click.argument("before", type=click.Path(path_type=Path))
@click.argument("after", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the differences as JSON.")
@quiet_option("Print nothing: the exit code says whether they differ.")
def diff(before: Path, after: Path, as_json: bool, quiet: bool) -> None:
    """Show what differs between two manifests: code, inputs, outputs, packages, interpreter, OS,
    image, hardware, threads, seeds and environment variables.

    Both manifests are parsed strictly and checked against the schema; signatures are not checked.
    Fields that change on every run (run id, times, durations, logs) are not compared.

    \b
    Exit codes, like `diff`: 0 no differences, 1 differences found,
    2 usage or invalid manifest, 3 a manifest holds an unsafe path.
    """
    from repro.replay.drift import diff_manifests
    from repro.evidence.manifest import Manifest
    from repro.report.formats import get_diff_format

    report = diff_manifests(Manifest.load(before), Manifest.load(after), before_name=str(before), after_name=str(after))
    if as_json or not quiet:
        click.echo(get_diff_format("json" if as_json else "text").render(report), nl=False)
    sys.exit(OK if report.identical else NOT_REPRODUCED)


@cli.command("hash")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--digest", type=click.Choice(["xxh3_128", "sha256"]), help="Digest algorithm (default: repro.yaml, else xxh3_128).")
@click.option("--no-cache", is_flag=True, help="Read every file, ignoring the stat cache in .repro/cache/.")
@click.option("--json", "as_json", is_flag=True, help="Print the artifacts as the manifest would record them.")
@quiet_option("No progress line.")
def hash_(paths: tuple[Path, ...], digest: str | None, no_cache: bool, as_json: bool, quiet: bool) -> None:
    """Print the digests a manifest would record for PATHS (files or directories).

    Lines are `<digest>  <path>` like sha256sum; a directory shows its root digest with a
    trailing `/`. Unchanged files are not read again: the stat cache remembers them.
    """
    import json

    from repro.config import find_project_root, load_config
    from repro.data.digest import DEFAULT_ALGORITHM, DEFAULT_IGNORE, hash_lines, hash_paths

    root = find_project_root(Path.cwd())
    config = load_config(root)
    algorithm = digest or config.get("digest") or DEFAULT_ALGORITHM
    artifacts = hash_paths(list(paths), root, algorithm, use_cache=not no_cache,
                           ignore=(*DEFAULT_IGNORE, *config.get("ignore", ())), progress=False if quiet else None)
    if as_json:
        click.echo(json.dumps([a.to_json() for a in artifacts], indent=2))
    else:
        click.echo("\n".join(hash_lines(artifacts)))


def main() -> None:
    cli.main(prog_name="repro")
