"""`prgcloud [alpha|beta] ai custom-jobs create ARGS...`: parse, pre-check, then gcloud.

Help (`-h`, `--help`) is gcloud's own: those arguments go to gcloud as they are.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from prgcloud import parse, process, render
from prgcloud.environment import Environment
from prgcloud.request import JobRequest

if TYPE_CHECKING:
    from prgcloud.precheck import Verdict


# The command whose gcloud starts before the check (`submission.prepared` reads its flags).
CUSTOM_JOBS_CREATE = ("ai", "custom-jobs", "create")


def run(argv: list[str], env: Environment, *, track: str | None) -> int:
    """Create the custom job (or print how, with `--dry-run`); return the exit status."""
    return create(
        argv,
        env,
        track=track,
        parse_create=parse.parse_create,
        command=CUSTOM_JOBS_CREATE,
    )


def create(
    argv: list[str],
    env: Environment,
    *,
    track: str | None,
    parse_create: Callable[..., JobRequest],
    command: tuple[str, ...],
) -> int:
    """Create the job `parse_create` reads from argv (gcloud's `command`); the exit status."""
    if parse.wants_help(argv):
        prefix = [track] if track else []
        return process.stream(
            [*prefix, *command, *argv],
            env.environ,
            stdin=env.stdin,
            stdout=env.stdout,
            stderr=env.stderr,
        )
    request = parse_create(argv, env.environ, track=track, cwd=env.cwd, read_stdin=env.stdin.read)
    if request.options.dry_run:
        env.stdout.write(render.dry_run_text(request, check(request, env, command)))
        return _dry_run_wait_note(request, env)
    if request.options.wait:  # gcloud's output is read for the job's name: the plain order
        check(request, env, command)
        from prgcloud.commands import wait

        return wait.submit_and_wait(request, env)
    from prgcloud import submission  # not for a dry run: it never sends anything

    if command != CUSTOM_JOBS_CREATE:
        check(request, env, command)
        return submission.submit(
            request, env.environ, stdin=env.stdin, stdout=env.stdout, stderr=env.stderr
        )
    # gcloud starts now, held before it can send anything, and takes most of a second to
    # start: the check runs meanwhile. A check that fails (or a signal) kills it unsent.
    with submission.prepared(
        request, env.environ, stdin=env.stdin, stdout=env.stdout, stderr=env.stderr
    ) as send:
        check(request, env, command)
        return send()


def check(request: JobRequest, env: Environment, command: tuple[str, ...]) -> str | None:
    """The pre-check, then the policy hooks; return the dry-run note (see `precheck`).

    With `--wait-for-capacity` the hooks are also asked before the wait, so a request they
    refuse is refused at once, not after the wait. Raises (exit 3, 4, 5 or 8) when the job
    does not fit, cannot be checked, or is refused.
    """
    from prgcloud.commands import hooks  # policy hooks: imported, and paid for, only here

    def consult(verdict: Verdict | None) -> None:
        hooks.consult(
            request,
            env,
            command=" ".join(command),
            verdict=verdict,
            log=lambda: hooks.create_log(request, env),
        )

    note, verdict = precheck(request, env, before_waiting=consult)
    consult(verdict)
    return note


def _dry_run_wait_note(request: JobRequest, env: Environment) -> int:
    """A dry run with `--wait` says that its snippet submits without waiting; exit 0."""
    if request.options.wait:
        from prgcloud.commands import wait

        env.stderr.write(wait.dry_run_note(request) or "")
    return 0


def precheck(
    request: JobRequest,
    env: Environment,
    *,
    before_waiting: Callable[[Verdict], None] | None = None,
) -> tuple[str | None, Verdict | None]:
    """Run the pre-check (or the wait) as `precheck_request` decides; print its warnings.

    Returns a one-line note for the dry-run snippet (what was checked), or None when
    nothing was, and the verdict (None when no pre-check ran). Raises (exit 3, 4 or 5) when
    the job does not fit or cannot be checked.
    """
    resource = request.persistent_resource_name
    if resource is None:
        return None, None
    if request.options.skip_precheck:
        return f"pre-check of {resource} skipped (--skip-precheck)", None
    from prgcloud import output, waiting
    from prgcloud.precheck import precheck_request, report  # the SDK path, only when needed

    printer = waiting.ProgressPrinter(
        env.stderr, live=env.stderr_isatty, columns=lambda: terminal_columns(env.stderr)
    )
    try:
        verdict = precheck_request(
            request, env.environ, on_progress=printer, before_waiting=before_waiting
        )
    finally:
        printer.done()
    assert verdict is not None
    for line in report.format_warnings(verdict):
        env.stderr.write(f"WARNING: (prgcloud) {line}\n")
    env.stderr.write(output.checked_line(verdict) + "\n")  # so a user can tell it was checked
    return f"pre-checked against {resource}: the job fits now", verdict


def terminal_columns(stream: TextIO, fallback: int = 80) -> int:
    """The width of the terminal `stream` writes to, asked now (it may have been resized)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns or fallback
    except (AttributeError, OSError, ValueError):
        return fallback
