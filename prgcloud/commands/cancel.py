"""`prgcloud [alpha|beta] ai custom-jobs cancel JOB [--wait[=DURATION]] [gcloud's flags]`.

Without `--wait` this is gcloud's cancel, arguments, output and exit code unchanged. With it,
gcloud's cancel runs first (its output passed through; a failure is gcloud's exit code), then
prgcloud waits until the job has ended, so that its replicas are free: exit 0 when it ended
CANCELLED (the cancel did what was asked), else by how it ended (0 succeeded before the
cancel took, 6 failed); 5 when DURATION ran out first, 4 when the job cannot be read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from prgcloud import exit_codes, parse, process
from prgcloud.commands import arguments
from prgcloud.durations import DurationError, parse_duration
from prgcloud.environment import Environment
from prgcloud.errors import BadInputError

if TYPE_CHECKING:
    from prgcloud.jobs import Kind

USAGE = (
    "usage: prgcloud [alpha|beta] ai custom-jobs cancel JOB [--region=REGION] [--project=PROJECT]\n"
    "           [--wait[=DURATION]] [GCLOUD_WIDE_FLAG ...]"
)
WAIT_FLAG = "--wait"


def split_wait(argv: Sequence[str]) -> tuple[list[str], bool, float | None]:
    """(argv without `--wait[=DURATION]`, whether it was given, DURATION in seconds or None).

    Raises BadInputError for a DURATION gcloud's duration syntax refuses.
    """
    rest: list[str] = []
    given, timeout = False, None
    for item in argv:
        name, has_value, value = item.partition("=")
        if name != WAIT_FLAG:
            rest.append(item)
            continue
        given, timeout = True, None
        if has_value:
            try:
                timeout = parse_duration(value)
            except DurationError:
                raise BadInputError.at(
                    WAIT_FLAG, f"expected a duration like 90s, 10m or 2h, not {value!r}."
                ) from None
    return rest, given, timeout


def run(argv: list[str], env: Environment, *, track: str | None) -> int:
    """Cancel the custom job through gcloud; with `--wait`, then wait for it to end."""
    from prgcloud import jobs

    return run_for(argv, env, track, jobs.CUSTOM)


def run_for(argv: list[str], env: Environment, track: str | None, kind: Kind) -> int:
    """`cancel` of a job of `kind` (`hp-tuning-jobs cancel --wait` is TUNING)."""
    from prgcloud.commands import wait

    rest, waits, timeout = split_wait(argv)
    gcloud_argv = [*([track] if track else []), "ai", kind.group, "cancel", *rest]
    if not waits or parse.wants_help(argv):
        return _gcloud(gcloud_argv, env)
    parser = wait._parser(
        f"prgcloud ai {kind.group} cancel", USAGE.replace("custom-jobs", kind.group), waits=False
    )
    namespace = parser.parse(
        arguments.expand_flags_files(rest, cwd=env.cwd, read_stdin=env.stdin.read)
    )
    # bad input: exit 2, nothing cancelled
    target = wait.read_target(namespace, env.environ, kind=kind)
    status = _gcloud(gcloud_argv, env)
    if status != exit_codes.OK:
        return status
    job = wait.wait_until_ended(target, env, timeout=timeout)
    if job.get("state") == "JOB_STATE_CANCELLED":
        target.display.log(env.stderr).status(
            f"{kind.noun.capitalize()} [{target.name}] ended CANCELLED."
        )
        return exit_codes.OK
    return wait.finish(target, job, env)


def _gcloud(argv: list[str], env: Environment) -> int:
    return process.stream(argv, env.environ, stdin=env.stdin, stdout=env.stdout, stderr=env.stderr)
