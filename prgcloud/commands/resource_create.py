"""`prgcloud [alpha|beta] ai persistent-resources create ARGS...`: check, then gcloud.

Reads the command line as gcloud does, refuses what gcloud would send wrong or drop (exit 2),
hands gcloud flags for the config fields it would drop, then runs gcloud with its output and
exit code passed through. `--dry-run[=shell|rest|python]` prints how instead. Help (`-h`,
`--help`) is gcloud's own.
"""

from __future__ import annotations

from prgcloud import parse, process, render
from prgcloud.environment import Environment
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


def _wait(request: object, env: Environment) -> int:
    """`--wait`: until the resource is RUNNING (0), in ERROR (6), or the wait runs out (5)."""
    raise NotImplementedError
