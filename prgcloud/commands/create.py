"""`prgcloud [alpha|beta] ai custom-jobs create ARGS...`: parse, pre-check, then gcloud.

Help (`-h`, `--help`) is gcloud's own: those arguments go to gcloud as they are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prgcloud import parse, process, render
from prgcloud.environment import Environment
from prgcloud.request import JobRequest

if TYPE_CHECKING:
    from prgcloud.precheck import Verdict


def run(argv: list[str], env: Environment, *, track: str | None) -> int:
    """Create the custom job (or print how, with `--dry-run`); return the exit status."""
    if parse.wants_help(argv):
        prefix = [track] if track else []
        return process.stream(
            [*prefix, "ai", "custom-jobs", "create", *argv],
            env.environ,
            stdin=env.stdin,
            stdout=env.stdout,
            stderr=env.stderr,
        )
    request = parse.parse_create(
        argv, env.environ, track=track, cwd=env.cwd, read_stdin=env.stdin.read
    )
    note = precheck(request, env)
    if request.options.dry_run:
        env.stdout.write(dry_run_text(request, note))
        return 0
    from prgcloud import submission  # not for a dry run: it never sends anything

    return submission.submit(
        request, env.environ, stdin=env.stdin, stdout=env.stdout, stderr=env.stderr
    )


def dry_run_text(request: JobRequest, note: str | None) -> str:
    """The `--dry-run[=shell|rest|python]` snippet for this request."""
    if request.options.dry_run == "rest":
        return render.curl_snippet(request, precheck_note=note)
    if request.options.dry_run == "python":
        return render.python_snippet(request, precheck_note=note)
    return render.shell_snippet(request, precheck_note=note)


def precheck(request: JobRequest, env: Environment) -> str | None:
    """Run the pre-check when the job names a persistent resource; print its warnings.

    Returns a one-line note for the dry-run snippet (what was checked), or None when
    nothing was. Raises (exit 3 or 4) when the job does not fit or cannot be checked.
    """
    resource = request.persistent_resource_name
    if resource is None:
        return None
    if request.options.skip_precheck:
        return f"pre-check of {resource} skipped (--skip-precheck)"
    from prgcloud import output
    from prgcloud.precheck import check_request, report  # the SDK path, only when needed

    if request.options.wait_for_capacity is None:
        verdict = check_request(request, env.environ)
    else:
        verdict = wait_for_capacity(request, env)
    for line in report.format_warnings(verdict):
        env.stderr.write(f"WARNING: (prgcloud) {line}\n")
    env.stderr.write(output.checked_line(verdict) + "\n")  # so a user can tell it was checked
    return f"pre-checked against {resource}: the job fits now"


def wait_for_capacity(request: JobRequest, env: Environment) -> Verdict:
    """Poll the pre-check until the job fits (progress on stderr); raise if it never will."""
    from prgcloud import api, waiting

    assert request.options.wait_for_capacity is not None
    printer = waiting.ProgressPrinter(env.stderr, live=env.stderr_isatty)
    try:
        return api.wait_for_capacity(
            request,
            timeout=request.options.wait_for_capacity,
            environ=env.environ,
            on_progress=printer,
        )
    finally:
        printer.done()
