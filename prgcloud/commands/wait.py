"""`prgcloud [alpha|beta] ai custom-jobs wait JOB`: wait until a custom job ends.

    prgcloud ai custom-jobs wait JOB [--region=R] [--project=P] [--polling-interval=SECONDS]
                                     [--timeout=DURATION] [--format=FORMAT] [GCLOUD_WIDE_FLAG ...]

JOB is a job id or its full name (`projects/P/locations/R/customJobs/ID`, which sets the
project and region). Project, region, endpoint and identity resolve as for gcloud (as
`capacity` resolves them). The exit code says how the job ended: 0 succeeded, 6 failed or
expired (its `error.message` printed), 7 cancelled, 5 the wait ran out (the job keeps
running), 4 the job cannot be read; Ctrl-C stops the wait, never the job (130). `--format`
prints the job as it ended, in gcloud's format, on stdout.

`wait_until_ended` is the same wait for the commands that end in one (`cancel --wait`,
`create --wait`, `stream-logs`).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from prgcloud import exit_codes, jobs, parse
from prgcloud.commands import arguments
from prgcloud.durations import DurationError, parse_duration
from prgcloud.environment import Environment
from prgcloud.errors import BadInputError, PrecheckFailedError, Problem
from prgcloud.gcloud_config import Properties, aiplatform_endpoint
from prgcloud.request import Identity, JobRequest

USAGE = (
    "usage: prgcloud [alpha|beta] ai custom-jobs wait JOB [--region=REGION] [--project=PROJECT]\n"
    "           [--polling-interval=SECONDS] [--timeout=DURATION] [--format=FORMAT]"
    " [GCLOUD_WIDE_FLAG ...]"
)


@dataclass(frozen=True)
class JobTarget:
    """Which custom job, where, as whom, and how to show it."""

    name: str  # projects/P/locations/R/customJobs/ID
    endpoint: str
    identity: Identity
    display: arguments.Display
    properties: Properties


@dataclass(frozen=True)
class WaitArgs:
    """`wait`'s arguments once read."""

    target: JobTarget
    timeout: float | None
    polling_interval: float


def _parser(prog: str, usage: str, *, waits: bool) -> arguments.Parser:
    parser = arguments.Parser(prog, usage)
    parser.add_argument("job", metavar="JOB")
    parser.add_argument("--region", dest="--region")
    if waits:
        parser.add_argument("--polling-interval", dest="--polling-interval")
        parser.add_argument("--timeout", dest="--timeout")
    arguments.add_gcloud_wide_flags(parser)
    return parser


def read_target(
    namespace: Any,
    environ: Mapping[str, str],
    problems: list[Problem] | None = None,
    kind: jobs.Kind | None = None,
) -> JobTarget:
    """The job a parsed command line names (`job`, `--region`, gcloud-wide flags), resolved
    as gcloud resolves a custom job resource: a full name wins, else --region/--project and
    their properties. Raises BadInputError with every problem (and those already found)."""
    kind = kind or jobs.CUSTOM
    problems = list(problems or [])

    def flag(name: str) -> Any:
        return arguments.flag(namespace, name)

    job: str = namespace.job
    named = jobs.split_name(job, kind)
    properties = parse.gcloud_properties(environ, flag)
    project, region, found = parse.resolve_location(
        flag("--region"), properties, named=named[:2] if named else None, training=False
    )
    problems += found
    name = ""
    try:
        display = arguments.display(flag, properties)
        if project and region:
            name = jobs.job_name(job, project, region, kind)
    except BadInputError as error:
        problems += error.problems
    if problems:
        raise BadInputError(problems)
    assert region is not None
    return JobTarget(
        name=name,
        endpoint=aiplatform_endpoint(properties, region),
        identity=parse.identity(flag, properties),
        display=display,
        properties=properties,
    )


def parse_args(
    argv: Sequence[str],
    environ: Mapping[str, str],
    *,
    cwd: str = ".",
    read_stdin: Callable[[int], str] | None = None,
    kind: jobs.Kind | None = None,
) -> WaitArgs:
    """Read `wait` arguments; resolve the job (a custom job, or of `kind`) as gcloud would."""
    kind = kind or jobs.CUSTOM
    group = kind.group
    parser = _parser(f"prgcloud ai {group} wait", USAGE.replace("custom-jobs", group), waits=True)
    namespace = parser.parse(arguments.expand_flags_files(argv, cwd=cwd, read_stdin=read_stdin))
    problems: list[Problem] = []
    timeout = None
    text = arguments.flag(namespace, "--timeout")
    if text is not None:
        try:
            timeout = parse_duration(text)
        except DurationError as error:
            problems.append(
                Problem("--timeout", f"expected a duration like 90s, 10m or 2h, not {text!r}.")
            )
            del error
    polling = jobs.DEFAULT_POLLING_SECONDS
    text = arguments.flag(namespace, "--polling-interval")
    if text is not None:
        if text.isdigit() and int(text) >= 1:
            polling = float(text)
        else:
            # gcloud's `--polling-interval` (stream-logs) is a whole number of seconds, >= 1
            problems.append(
                Problem("--polling-interval", f"Value must be an integer >= 1; received: {text}")
            )
    target = read_target(namespace, environ, problems, kind)
    return WaitArgs(target, timeout, polling)


def run(argv: list[str], env: Environment, *, track: str | None) -> int:
    """Wait for a custom job to end; exit by how it ended (see the module's docstring)."""
    del track  # every release track reads the same job
    return run_for(argv, env, jobs.CUSTOM)


def run_for(argv: list[str], env: Environment, kind: jobs.Kind) -> int:
    """`wait` for a job of `kind` (`hp-tuning-jobs wait` is the same with TUNING)."""
    if any(a in ("-h", "--help") for a in argv):
        env.stdout.write(USAGE.replace("custom-jobs", kind.group) + "\n")
        return exit_codes.OK
    args = parse_args(argv, env.environ, cwd=env.cwd, read_stdin=env.stdin.read, kind=kind)
    job = wait_until_ended(
        args.target, env, timeout=args.timeout, polling_interval=args.polling_interval
    )
    return finish(args.target, job, env)


def wait_until_ended(
    target: JobTarget,
    env: Environment,
    *,
    timeout: float | None = None,
    polling_interval: float | None = None,
) -> Mapping[str, Any]:
    """Wait for the job, its progress on stderr; return it as it ended.

    Raises PrecheckFailedError (4) or WaitTimedOutError (5); on Ctrl-C says that the job
    keeps running, then lets KeyboardInterrupt through (exit 130).
    """
    from prgcloud.commands.create import terminal_columns
    from prgcloud.vertex import Location

    kind = jobs.kind_of(target.name)
    project, region, _ = jobs.split_name(target.name, kind) or ("", "", "")
    location = Location(project, region, target.endpoint, target.identity)
    log = target.display.log(env.stderr)
    log.debug(f"endpoint: {target.endpoint}")
    printer = jobs.JobProgressPrinter(
        env.stderr, live=env.stderr_isatty, columns=lambda: terminal_columns(env.stderr)
    )
    try:
        with jobs.JobReader(location, env.environ) as reader:
            return jobs.read_until_ended(
                reader,
                target.name,
                timeout=timeout,
                polling_interval=polling_interval or jobs.DEFAULT_POLLING_SECONDS,
                on_progress=printer,
            )
    except KeyboardInterrupt:
        printer.done()
        env.stderr.write(
            f"Stopped waiting; {kind.noun} {target.name} keeps running "
            "(Ctrl-C stops the wait, never the job).\n"
        )
        raise
    finally:
        printer.done()


def finish(target: JobTarget, job: Mapping[str, Any], env: Environment) -> int:
    """Show the job as it ended (`--format` on stdout, a line on stderr); exit by its state.

    Raises JobFailedError (6) or JobCancelledError (7).
    """
    env.stdout.write(target.display.render(job, lambda: ""))
    ended = jobs.outcome(job)
    assert ended is not None
    if ended.exit_code == exit_codes.OK:
        target.display.log(env.stderr).status(
            f"{jobs.kind_of(target.name).noun.capitalize()} [{target.name}] ended "
            f"{ended.short_state}."
        )
    error = jobs.outcome_error(job, name=target.name)
    if error is not None:
        raise error
    return exit_codes.OK


# --- create --wait -----------------------------------------------------------------------------

# How gcloud 528 says which job it created, on stderr: "CustomJob [NAME] is submitted
# successfully." and "Hyperparameter tuning job [ID] submitted successfully." (the id only; the
# job is in the request's location). Any full job name gcloud prints (`--format=json`,
# `value(name)`) will do.
_SUBMITTED = re.compile(r"CustomJob \[(projects/[^\]\s]+/customJobs/[0-9]+)\] is submitted")
_TUNING_SUBMITTED = re.compile(r"Hyperparameter tuning job \[([0-9]+)\] submitted successfully")
_ANY_NAME = r"projects/[^/\s\"'\]]+/locations/[^/\s\"'\]]+/{collection}/[0-9]+"
_KEPT = 64 * 1024  # characters of gcloud's output kept to find the name in


class _Tee(io.StringIO):
    """A stream that passes gcloud's output on as it comes and keeps its end to read.

    It has no file descriptor, so `process.stream` copies gcloud's output through it.
    """

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self.stream = stream
        self.kept = ""

    def write(self, text: str) -> int:
        self.stream.write(text)
        self.stream.flush()
        self.kept = (self.kept + text)[-_KEPT:]
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


def created_job_name(
    stdout: str, stderr: str, kind: jobs.Kind = jobs.CUSTOM, parent: str = ""
) -> str | None:
    """The name of the `kind` job gcloud's create printed, from its status line or its
    output; `parent` (`projects/P/locations/R`) completes a tuning job's bare id."""
    if kind is jobs.CUSTOM:
        said = _SUBMITTED.search(stderr)
        if said:
            return said.group(1)
    anywhere = re.compile(_ANY_NAME.format(collection=kind.collection))
    found = anywhere.search(stdout) or anywhere.search(stderr)
    if found:
        return found.group(0)
    tuning = _TUNING_SUBMITTED.search(stderr) if kind is jobs.TUNING and parent else None
    return f"{parent}/{kind.collection}/{tuning.group(1)}" if tuning else None


def submit_and_wait(request: JobRequest, env: Environment) -> int:
    """`create --wait`: submit through gcloud (its output passed on), then wait for the job
    (`--stream-logs`: stream its logs meanwhile) and exit by how it ended; gcloud's own exit
    code when it failed. A tuning job (`TuningRequest`) is waited for as a tuning job."""
    from prgcloud import submission
    from prgcloud.request import TuningRequest

    kind = jobs.TUNING if isinstance(request, TuningRequest) else jobs.CUSTOM
    out, err = _Tee(env.stdout), _Tee(env.stderr)
    status = submission.submit(request, env.environ, stdin=env.stdin, stdout=out, stderr=err)
    if status != exit_codes.OK:
        return status
    name = created_job_name(out.kept, err.kept, kind, request.parent)
    if name is None:
        raise PrecheckFailedError(
            f"gcloud submitted the {kind.noun} but did not print its name (with "
            "--no-user-output-enabled it prints nothing), so it cannot be waited for: find it "
            f"with `gcloud ai {kind.group} list` and wait with `prgcloud ai {kind.group} wait "
            "JOB`."
        )
    target = JobTarget(
        name=name,
        endpoint=request.endpoint,
        identity=request.identity,
        display=arguments.Display(),
        properties=Properties({}),
    )
    if request.options.stream_logs:
        from prgcloud.commands import stream_logs

        track = [request.track] if request.track else []
        job = stream_logs.stream_until_ended(
            target,
            [*track, "ai", kind.group, "stream-logs", name],
            env,
            timeout=request.options.wait_timeout,
        )
    else:
        job = wait_until_ended(target, env, timeout=request.options.wait_timeout)
    return finish(target, job, env)


def dry_run_note(request: JobRequest) -> str | None:
    """What a dry run says about `--wait`: its snippet submits, and does not wait."""
    if not request.options.wait:
        return None
    from prgcloud.request import TuningRequest

    group = jobs.TUNING.group if isinstance(request, TuningRequest) else jobs.CUSTOM.group
    return (
        "NOTE: (prgcloud) --wait: the snippet only submits the job; to wait for it, run "
        f"`prgcloud ai {group} wait JOB` with the name it prints.\n"
    )
