"""`prgcloud [alpha|beta] ai persistent-resources delete|reboot ID`: refuse while jobs run on it.

Before gcloud is run, the custom jobs and hyperparameter tuning jobs on the resource are listed
(`prgcloud.resource_jobs`):
if any would be ended (delete: queued, pending or running; reboot: pending or running, the
ones holding replicas), nothing is sent and the command exits 3, naming each job and its
replicas. `--force` skips the check. Otherwise the real gcloud runs with the arguments given
(prgcloud's own flags taken out), its output and exit code unchanged.

`--wait[=DURATION]` then waits (`prgcloud.resource_wait`) until a rebooted resource is RUNNING
again (0; 6 if it went to ERROR, with its error message) or a deleted one is gone (0); 5 when
the wait runs out, 4 when the resource cannot be read. The API may show a resource RUNNING for
a while after it accepted a reboot, so a reboot's wait follows the reboot's long-running
operation: gcloud prints its name only in prose, so with `--wait` gcloud is asked for it with
`--format=value(name)` (the output of gcloud's reboot is otherwise empty; a `--format` of the
user's own is exit 2 then). `--polling-interval=SECONDS` spaces the
polls. gcloud 528 asks no confirmation for either command; should a later one, it asks on the
user's terminal as usual, and `--quiet` reaches it unchanged.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prgcloud import exit_codes, parse, process
from prgcloud.commands import arguments
from prgcloud.durations import DurationError, parse_duration
from prgcloud.environment import Environment
from prgcloud.errors import BadInputError, PrecheckFailedError, Problem, ResourceInUseError
from prgcloud.request import Identity

if TYPE_CHECKING:
    from prgcloud.resource_jobs import JobOnResource

WAIT_FLAG = "--wait"
FORCE_FLAG = "--force"
POLLING_FLAG = "--polling-interval"
# What gcloud is asked to print of a reboot it sent, for `--wait`: its operation's name.
OPERATION_FORMAT = "--format=value(name)"


@dataclass(frozen=True)
class ResourceCommand:
    """`delete` or `reboot` once read: the resource, where, as whom, and what prgcloud adds."""

    verb: str  # "delete" or "reboot"
    resource_id: str
    project: str
    region: str
    endpoint: str
    identity: Identity
    gcloud_args: tuple[str, ...]  # the arguments for gcloud: prgcloud's own flags taken out
    force: bool = False
    wait: float | None = None  # seconds; None: no wait
    polling_interval: float | None = None


def usage(verb: str) -> str:
    """The usage line of `persistent-resources VERB`."""
    return (
        f"usage: prgcloud [alpha|beta] ai persistent-resources {verb} ID [--region=REGION] "
        f"[--project=PROJECT]\n       [{FORCE_FLAG}] [{WAIT_FLAG}[=DURATION]] "
        f"[{POLLING_FLAG}=SECONDS] [GCLOUD_WIDE_FLAG ...]"
    )


def split_own_flags(
    argv: Sequence[str], *, default_wait: float
) -> tuple[list[str], bool, float | None, float | None, list[Problem]]:
    """(gcloud's arguments, --force, --wait seconds, --polling-interval seconds, problems).

    `--wait` takes its value only after `=`: `--wait ID` waits, for `default_wait` seconds,
    on resource ID.
    """
    rest: list[str] = []
    force = False
    wait: float | None = None
    interval: float | None = None
    problems: list[Problem] = []
    items = list(argv)
    i = 0
    while i < len(items):
        item = items[i]
        name, has_value, value = item.partition("=")
        i += 1
        if item == FORCE_FLAG:
            force = True
        elif name == WAIT_FLAG:
            wait = default_wait
            if has_value:
                wait = _duration(WAIT_FLAG, value, problems)
        elif name == POLLING_FLAG:
            if not has_value:
                if i >= len(items):
                    problems.append(Problem(POLLING_FLAG, "expected one argument"))
                    continue
                value, i = items[i], i + 1
            interval = _seconds(value, problems)
        else:
            rest.append(item)
    if interval is not None and wait is None:
        problems.append(Problem(POLLING_FLAG, f"only applies with {WAIT_FLAG}."))
    return rest, force, wait, interval, problems


def _duration(flag: str, text: str, problems: list[Problem]) -> float | None:
    try:
        return parse_duration(text)
    except DurationError as error:
        problems.append(
            Problem(flag, f"expected a duration like 30m, 1h or 600s, not {text!r} ({error}).")
        )
        return None


def _seconds(text: str, problems: list[Problem]) -> float | None:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 3600:
        problems.append(
            Problem(
                POLLING_FLAG, f"expected a number of seconds above 0 (at most 3600), not {text!r}."
            )
        )
        return None
    return seconds


def parse_args(
    verb: str,
    argv: Sequence[str],
    environ: Mapping[str, str],
    *,
    default_wait: float,
    cwd: str = ".",
    read_stdin: Callable[[int], str] | None = None,
) -> ResourceCommand:
    """Read `delete`/`reboot` arguments; resolve project and region as gcloud would.

    Raises BadInputError (exit 2) with every problem at once.
    """
    rest, force, wait, interval, problems = split_own_flags(argv, default_wait=default_wait)
    parser = arguments.Parser(f"prgcloud ai persistent-resources {verb}", usage(verb))
    parser.add_argument("resource_id", metavar="ID")
    parser.add_argument("--region", dest="--region")
    arguments.add_gcloud_wide_flags(parser)
    try:
        namespace = parser.parse(arguments.expand_flags_files(rest, cwd=cwd, read_stdin=read_stdin))
    except BadInputError as error:
        raise BadInputError([*problems, *error.problems]) from None

    if verb == "reboot" and wait is not None and arguments.flag(namespace, "--format") is not None:
        problems.append(
            Problem(
                "--format",
                f"cannot be used with {WAIT_FLAG}: prgcloud asks gcloud for the reboot's "
                "operation in a format of its own, to follow it.",
            )
        )
    resource_id, named = arguments.resource_id(namespace.resource_id)
    where = arguments.locate(namespace, environ, named=named, problems=problems, shows=False)
    return ResourceCommand(
        verb=verb,
        resource_id=resource_id,
        project=where.project,
        region=where.region,
        endpoint=where.endpoint,
        identity=where.identity,
        gcloud_args=tuple(rest),
        force=force,
        wait=wait,
        polling_interval=interval,
    )


def run_guarded(verb: str, argv: list[str], env: Environment, *, track: str | None) -> int:
    """`persistent-resources VERB` with the job guard and `--wait`; return the exit status."""
    from prgcloud import resource_jobs, resource_wait

    gcloud_words = [*([track] if track else []), "ai", "persistent-resources", verb]
    if parse.wants_help(argv):
        env.stdout.write(usage(verb) + "\n\nprgcloud's own flags come first; gcloud's help:\n")
        env.stdout.flush()
        return _gcloud([*gcloud_words, *argv], env)
    command = parse_args(
        verb,
        argv,
        env.environ,
        default_wait=resource_wait.DEFAULT_WAIT_SECONDS,
        cwd=env.cwd,
        read_stdin=env.stdin.read,
    )
    from prgcloud import vertex

    location = vertex.Location(command.project, command.region, command.endpoint, command.identity)
    if not command.force:
        states = resource_jobs.ACTIVE_STATES if verb == "delete" else resource_jobs.HOLDING_STATES
        escape = f"or {verb} it anyway with {FORCE_FLAG}."
        with vertex.Reader(location, env.environ, escape=escape) as reader:
            jobs = resource_jobs.list_jobs_on_resource(reader, command.resource_id, states=states)
        if jobs:
            raise ResourceInUseError(_in_use(command, jobs))
    operation = None
    if command.wait is not None and verb == "reboot":
        status, operation = _reboot_operation([*gcloud_words, *command.gcloud_args], env, command)
    else:
        status = _gcloud([*gcloud_words, *command.gcloud_args], env)
    if status != exit_codes.OK or command.wait is None:
        return status
    from prgcloud.commands.create import terminal_columns

    printer = resource_wait.ProgressPrinter(
        env.stderr, live=env.stderr_isatty, columns=lambda: terminal_columns(env.stderr)
    )
    goal = resource_wait.Goal.GONE if verb == "delete" else resource_wait.Goal.RUNNING
    try:
        resource_wait.wait_for_resource(
            location,
            command.resource_id,
            env.environ,
            goal=goal,
            timeout=command.wait,
            polling_interval=command.polling_interval or resource_wait.DEFAULT_POLLING_INTERVAL,
            on_progress=printer,
            operation=operation,
        )
    finally:
        printer.done()
    said = "deleted" if verb == "delete" else "RUNNING again"
    env.stderr.write(f"persistent resource {command.resource_id} is {said}.\n")
    return exit_codes.OK


def _gcloud(argv: list[str], env: Environment) -> int:
    return process.stream(argv, env.environ, stdin=env.stdin, stdout=env.stdout, stderr=env.stderr)


def _reboot_operation(
    argv: list[str], env: Environment, command: ResourceCommand
) -> tuple[int, str | None]:
    """Run gcloud's reboot, asking it for the operation's name: (exit status, the name)."""
    printed = io.StringIO()
    status = process.stream(
        [*argv, OPERATION_FORMAT], env.environ, stdin=env.stdin, stdout=printed, stderr=env.stderr
    )
    lines = printed.getvalue().split()
    if status == exit_codes.OK and not lines:
        raise PrecheckFailedError(
            f"gcloud sent the reboot of persistent resource {command.resource_id} but printed "
            "no operation name, so the wait cannot follow it. See its operation with `gcloud ai "
            f"operations list --region={command.region}`."
        )
    return status, lines[-1] if lines else None


def _in_use(command: ResourceCommand, jobs: Sequence[JobOnResource]) -> str:
    from prgcloud.resource_jobs import TUNING_JOB, format_jobs

    count = f"{len(jobs)} job{'s' if len(jobs) != 1 else ''}"
    ending = (
        "deleting it would end them" if command.verb == "delete" else "rebooting it would stop them"
    )
    groups = sorted({"hp-tuning-jobs" if job.kind == TUNING_JOB else "custom-jobs" for job in jobs})
    cancel = " or ".join(
        f"`gcloud ai {group} cancel JOB --region={command.region}`" for group in groups
    )
    return (
        f"persistent resource {command.resource_id} ({command.project}, {command.region}) has "
        f"{count} on it; {ending}:\n{format_jobs(jobs)}\n"
        f"Nothing was sent. Cancel them ({cancel}) or wait for them to end, or {command.verb} "
        f"it anyway with {FORCE_FLAG}."
    )
