"""`prgcloud [alpha|beta] ai persistent-resources create ARGS...`: check, then gcloud.

Reads the command line as gcloud does, refuses what gcloud would send wrong or drop (exit 2),
hands gcloud flags for the config fields it would drop, then runs gcloud with its output and
exit code passed through; with `--wait[=DURATION]`, then waits for the resource to be RUNNING
(0), in ERROR (6) or for the wait to run out (5). `--dry-run[=shell|rest|python]` prints how
instead. Help (`-h`, `--help`) is gcloud's own.
"""

from __future__ import annotations

from prgcloud import exit_codes, parse, process, render
from prgcloud.environment import Environment
from prgcloud.resource import ResourceRequest
from prgcloud.resource_parse import COMMAND, parse_resource_create


def run(argv: list[str], env: Environment, *, track: str | None) -> int:
    """Create the persistent resource (or print how, with `--dry-run`); return the exit status."""
    if parse.wants_help(argv):
        prefix = [track] if track else []
        return process.stream(
            [*prefix, *COMMAND, *argv],
            env.environ,
            stdin=env.stdin,
            stdout=env.stdout,
            stderr=env.stderr,
        )
    request = parse_resource_create(
        argv, env.environ, track=track, cwd=env.cwd, read_stdin=env.stdin.read
    )
    for note in request.notes:
        env.stderr.write(f"NOTE: (prgcloud) {note}\n")
    if request.options.dry_run:
        env.stdout.write(render.resource_dry_run_text(request))
        return 0
    from prgcloud import submission  # not for a dry run: it never sends anything

    status = submission.submit(
        request, env.environ, stdin=env.stdin, stdout=env.stdout, stderr=env.stderr
    )
    if status != 0 or request.wait is None:
        return status
    return _wait(request, env)


def _wait(request: ResourceRequest, env: Environment) -> int:
    """`--wait`: until the resource is RUNNING (0), in ERROR (6), or the wait runs out (5).

    Raises ResourceFailedError (6), WaitTimedOutError (5) or PrecheckFailedError (4); the
    CLI says why. The status line shows the wait on stderr as `--wait-for-capacity`'s does.
    """
    from prgcloud import resource_wait, vertex  # the SDK's client, only for a wait
    from prgcloud.commands.create import terminal_columns

    assert request.wait is not None
    location = vertex.Location(request.project, request.region, request.endpoint, request.identity)
    printer = resource_wait.ProgressPrinter(
        env.stderr, live=env.stderr_isatty, columns=lambda: terminal_columns(env.stderr)
    )
    try:
        resource_wait.wait_for_resource(
            location,
            request.resource_id,
            env.environ,
            goal=resource_wait.Goal.RUNNING,
            timeout=request.wait,
            polling_interval=request.polling_interval or resource_wait.DEFAULT_POLLING_INTERVAL,
            on_progress=printer,
        )
    finally:
        printer.done()
    env.stderr.write(f"persistent resource {request.resource_id} is RUNNING.\n")
    return exit_codes.OK
