"""`prgcloud [alpha|beta] ai custom-jobs check ARGS...`: validate and pre-check, never submit.

ARGS are those of `create`, read the way gcloud reads them (`prgcloud.flags`). Exit 0 when
the job fits (or names no persistent resource), 2 for bad input, 3 when it does not fit, 4
when the pre-check could not be done. gcloud's `--format` prints the verdict as data on
stdout (also when it does not fit), and `--flatten`, `--verbosity=debug` and
`--no-user-output-enabled` work as in gcloud.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from prgcloud import exit_codes, flags, output
from prgcloud.commands import arguments
from prgcloud.environment import Environment
from prgcloud.errors import BadInputError, Problem
from prgcloud.request import JobRequest

if TYPE_CHECKING:
    from prgcloud.gcloud_config import Properties
    from prgcloud.output import Log

COMMAND = "ai custom-jobs check"
USAGE = (
    "usage: prgcloud [alpha|beta] ai custom-jobs check ARGS... [--format=FORMAT]\n"
    "ARGS are those of `prgcloud ai custom-jobs create`; nothing is submitted.\n"
)


def run(argv: list[str], env: Environment, *, track: str | None) -> int:
    """Validate the create arguments and run the pre-check; print the verdict."""
    from prgcloud import parse

    return check(
        argv, env, track=track, parse_create=parse.parse_create, usage=USAGE, command=COMMAND
    )


def check(
    argv: list[str],
    env: Environment,
    *,
    track: str | None,
    parse_create: Callable[..., JobRequest],
    usage: str,
    command: str,
    table: Mapping[str, flags.Flag] | None = None,
) -> int:
    """`check` for any create command: `parse_create` reads its arguments (`table` its flags);
    `command` is this check's name, as policy hooks are told it."""
    from prgcloud import parse

    if parse.wants_help(argv):
        env.stdout.write(usage)
        return exit_codes.OK
    request, display, properties = _read(argv, env, track, parse_create, table)
    log = display.log(env.stderr)
    if request.persistent_resource_id is None or request.options.skip_precheck:
        return _unchecked(request, env, display, log, command)
    return _checked(request, env, display, log, command, properties)


def _read(
    argv: list[str],
    env: Environment,
    track: str | None,
    parse_create: Callable[..., JobRequest],
    table: Mapping[str, flags.Flag] | None,
) -> tuple[JobRequest, arguments.Display, Properties]:
    """The request and how to show the verdict; every problem of both at once (exit 2)."""
    from prgcloud import parse

    read_stdin = arguments.read_stdin_once(env.stdin.read)
    tokens = flags.tokenize(argv, cwd=env.cwd, read_stdin=read_stdin, table=table)
    properties = parse.gcloud_properties(env.environ, tokens.last)
    display_problems: list[Problem] = []
    try:
        display = arguments.display(tokens.last, properties)
    except BadInputError as error:
        display, display_problems = arguments.Display(), list(error.problems)
    try:
        request = parse_create(argv, env.environ, track=track, cwd=env.cwd, read_stdin=read_stdin)
    except BadInputError as error:
        raise BadInputError([*error.problems, *display_problems]) from None
    if display_problems:
        raise BadInputError(display_problems)
    return request, display, properties


def _unchecked(
    request: JobRequest, env: Environment, display: arguments.Display, log: Log, command: str
) -> int:
    """Valid, and nothing to pre-check: say why (the hooks still judge the request)."""
    from prgcloud.commands import hooks

    reason = (
        "--skip-precheck was given"
        if request.options.skip_precheck
        else "the job names no persistent resource"
    )
    hooks.consult(request, env, command=command, verdict=None, log=lambda: log)
    document = {"valid": True, "checked": False, "reason": reason}
    env.stdout.write(
        display.render(
            document, lambda: f"The arguments are valid; nothing to pre-check: {reason}.\n"
        )
    )
    return exit_codes.OK


def _checked(
    request: JobRequest,
    env: Environment,
    display: arguments.Display,
    log: Log,
    command: str,
    properties: Properties,
) -> int:
    """Pre-check the request and print the verdict: exit 0 when it fits, else 3."""
    from prgcloud.precheck.check import JobDoesNotFitError, evaluate_request
    from prgcloud.precheck.report import format_verdict, verdict_json

    log.debug(f"endpoint: {request.endpoint}")
    log.debug(f"identity: {output.describe_identity(request.identity, properties)}")
    started = time.monotonic()
    verdict = evaluate_request(request, env.environ)
    log.debug(
        f"read {request.persistent_resource_name} in {time.monotonic() - started:.2f} s: "
        f"state {verdict.state}"
    )
    log.debug(f"verdict: {output.verdict_summary(verdict, blocked=verdict.stops)}")
    if verdict.stops and display.format is None:
        raise JobDoesNotFitError(verdict)
    if not verdict.stops:  # hooks judge what would be sent; a job that does not fit is not sent
        from prgcloud.commands import hooks

        hooks.consult(request, env, command=command, verdict=verdict, log=lambda: log)
    document = {"valid": True, "checked": True, **verdict_json(verdict)}
    env.stdout.write(display.render(document, lambda: format_verdict(verdict) + "\n"))
    if verdict.stops:
        return exit_codes.DOES_NOT_FIT
    if display.format is not None:
        log.status(output.checked_line(verdict))  # stdout is data: say on stderr it was checked
    return exit_codes.OK
