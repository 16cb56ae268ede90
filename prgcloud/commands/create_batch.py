"""`prgcloud [alpha|beta] ai custom-jobs create-batch FILE [ARGS...]`: a sweep in one process.

Each non-blank line of FILE that does not start with `#` holds the arguments of one
`gcloud ai custom-jobs create`, as shell words; ARGS are added to every line; FILE `-` is
standard input. See docs/commands.md (create-batch) for the flags and what each step does.
"""

from __future__ import annotations

import json
import os

from prgcloud import batch, files, flags, render
from prgcloud.batch_run import BatchJob, BatchResult, parse_batch, run_batch
from prgcloud.environment import Environment
from prgcloud.errors import BadInputError
from prgcloud.request import JobRequest

HELP = """\
usage: prgcloud [alpha|beta] ai custom-jobs create-batch FILE [ARGS...]
           [--max-rate=N] [--keep-going] [--manifest=PATH] [--format=text|json]
           [--dry-run[=shell|rest|python]] [--wait-for-capacity[=DURATION]]

Each non-blank line of FILE not starting with # holds the arguments of one
`gcloud ai custom-jobs create`, as shell words; ARGS are added to every line; FILE - reads
standard input. Every line is validated, and the replicas of all jobs are counted together
against their persistent resources, before anything is sent.

  --max-rate=N            at most N submissions a minute per region (default 60)
  --keep-going            go on after a job gcloud refuses (exit: the first failure's code)
  --manifest=PATH         record each job sent (JSON lines); a rerun skips what was sent
  --format=json           print a summary of every job and its outcome
  --dry-run[=STYLE]       print the plan and each job's snippet; send nothing
  --wait-for-capacity[=D] send in file order as capacity frees (D for the whole batch, 30m)
"""


def run(argv: list[str], env: Environment, *, track: str | None) -> int:
    """Run the batch (or print its plan, with `--dry-run`); return the exit status."""
    if any(a in ("-h", "--help") for a in argv):
        env.stdout.write(HELP)
        return 0
    source, options, common = batch.split_arguments(argv, _value_width)
    assert source is not None
    text = _read_source(source, env)
    jobs = parse_batch(text, common, env.environ, track=track, cwd=env.cwd)
    from prgcloud import waiting
    from prgcloud.commands import create, hooks

    def progress(line: str) -> None:
        env.stderr.write(f"(prgcloud) {line}\n")
        env.stderr.flush()

    def consult(request: JobRequest, verdict: object) -> None:
        from prgcloud.precheck import Verdict, report

        checked = verdict if isinstance(verdict, Verdict) else None
        if checked is not None:
            for line in report.format_warnings(checked):
                env.stderr.write(f"WARNING: (prgcloud) {line}\n")
        hooks.consult(
            request,
            env,
            command="ai custom-jobs create",
            verdict=checked,
            log=lambda: hooks.create_log(request, env),
        )

    printer = waiting.ProgressPrinter(
        env.stderr,
        live=env.stderr_isatty,
        columns=lambda: create.terminal_columns(env.stderr),
    )
    try:
        result = run_batch(
            jobs,
            options,
            env.environ,
            on_progress=progress,
            on_wait=printer,
            consult=consult,
            gcloud_stdout=env.stdout if options.format == "text" else None,
            gcloud_stderr=env.stderr,
        )
    finally:
        printer.done()
    if options.format == "json":
        env.stdout.write(json.dumps(result.to_json(), indent=2, sort_keys=True) + "\n")
    elif options.dry_run:
        env.stdout.write(dry_run_text(jobs, result, options.dry_run))
    if result.error is not None:
        env.stderr.write(f"ERROR: (prgcloud) {result.error}\n")
    return result.exit_code


def dry_run_text(jobs: list[BatchJob], result: BatchResult, style: str) -> str:
    """The plan (which job lands on which pool, free replicas before and after) and snippets."""
    outcomes = {outcome.line: outcome for outcome in result.outcomes}
    parts: list[str] = []
    for job in jobs:
        outcome = outcomes[job.line]
        head = f"# line {job.line} ({job.display_name!r}): "
        if outcome.status != "planned":
            parts.append(head + f"{outcome.status}, not sent again ({outcome.name or 'no name'})\n")
            continue
        note = None
        if outcome.resource and outcome.placements:
            short = outcome.resource.rsplit("/", 1)[-1]
            head += f"on persistent resource {short!r}"
            note = f"pre-checked against {outcome.resource} with the batch's earlier jobs: fits"
            lines = [head]
            lines.extend(
                f"#   worker pool {p.pool} -> resource pool {p.resource_pool!r}: "
                f"{p.asked} replica{'s' if p.asked != 1 else ''}, "
                f"{p.free_before} free before, {p.free_after} after"
                for p in outcome.placements
            )
            parts.append("\n".join(lines) + "\n")
        else:
            parts.append(head + "not pre-checked (no persistent resource, or --skip-precheck)\n")
        parts.append(render.dry_run_text(job.request, note, style=style))
    return "".join(part if part.endswith("\n") else part + "\n" for part in parts)


def _value_width(item: str) -> int:
    """2 when `item` is a gcloud flag that takes the next argument as its value, else 1."""
    flag, _negated = flags.lookup(item)
    return 2 if flag is not None and flag.kind is flags.Kind.VALUE else 1


def _read_source(source: str, env: Environment) -> str:
    """The batch file's text (standard input for `-`), within prgcloud.files' bounds."""
    try:
        if source == "-":
            return flags.read_stdin_text(env.stdin.read)
        return files.read_text(os.path.join(env.cwd, source), limit=files.SPEC_FILE_LIMIT)
    except OSError as error:
        raise BadInputError.at(
            "FILE", f"cannot read [{source}]: {error.strerror or error}."
        ) from None
