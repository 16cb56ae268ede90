"""Hand a checked request to the real gcloud: the generated config file, then the process.

Two orders. `submit` runs gcloud once the request is checked. `prepared` starts gcloud
first and lets the caller check meanwhile: gcloud spends most of a second starting up,
which then overlaps the pre-check and the policy hooks. gcloud gets its `--display-name`
through a pipe (`--flags-file=/dev/fd/N`, see `process.held`) and can send nothing before
it has read it; the pipe is written only when the caller says so, and gcloud is killed if
it never is. Where that cannot be done exactly (see `early_plan`), `prepared` falls back
to `submit`'s order.

The config file (when gcloud cannot take the job on its command line) is private (0600),
lives only while gcloud runs, and is removed on every way out: success, failure, Ctrl-C,
SIGTERM, SIGHUP. Signals are held back (`process.guarded`) from before the file exists until
its removal is certain; one that came then reaches the caller's handler only after that.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

from prgcloud import process
from prgcloud.errors import GcloudNotFoundError
from prgcloud.request import JobRequest

# The flag gcloud gets through the pipe: one it requires, so that an empty pipe (prgcloud
# gone before it wrote) can never become a request, and one whose value gcloud accepts as
# it is (prgcloud has checked it), so no error of gcloud's names the pipe.
_MOVED_FLAG = "--display-name"
_FLAGS_FILE = "--flags-file"


@contextlib.contextmanager
def config_file(request: JobRequest) -> Iterator[str | None]:
    """The path of the request's generated `--config` file while the block runs, else None."""
    if request.config_yaml is None:
        yield None
        return
    fd: int | None = None
    path: str | None = None
    try:
        # A signal now comes only once the file is written and the `finally` will remove it
        # (one that came inside `os.fdopen` could leave the descriptor closed twice).
        with process.guarded():
            fd, path = tempfile.mkstemp(prefix="prgcloud-job-", suffix=".yaml")  # mode 0600
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                fd = None
                f.write(request.config_yaml)
        yield path
    finally:
        if fd is not None:
            os.close(fd)
        if path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)


def submit(
    request: JobRequest,
    environ: Mapping[str, str],
    *,
    stdin: IO[Any] | None,
    stdout: IO[Any],
    stderr: IO[Any],
) -> int:
    """Run gcloud for this request, streaming its output; return gcloud's exit code."""
    process.find_gcloud(environ)  # fail (127) before any file exists
    with process.guarded(), config_file(request) as path:
        return process.stream(
            request.gcloud_argv(path), environ, stdin=stdin, stdout=stdout, stderr=stderr
        )


@dataclass(frozen=True)
class EarlyPlan:
    """How gcloud starts before the check: `--flags-file=/dev/fd/N` between `before` and
    `after` (where the last command-line `--display-name` was), and the pipe's YAML."""

    before: tuple[str, ...]
    after: tuple[str, ...]
    flags: str


def early_plan(request: JobRequest, argv: Sequence[str]) -> EarlyPlan | None:
    """How gcloud, run with `argv` (the request's `gcloud_argv`), can start before the check.

    None where it cannot, exactly: a `--wait-for-capacity` (gcloud would idle for the
    whole wait), no `/dev/fd` on this system, a `--flags-file -` (gcloud would read
    standard input), or no `--display-name` on the command line whose value YAML can carry
    unchanged (it is in the user's own flags file, or holds undecodable bytes).
    """
    if request.options.wait_for_capacity is not None or not os.path.isdir("/dev/fd"):
        return None
    from prgcloud import flags

    i = 4 if request.track else 3  # after `[track] ai custom-jobs create`
    found: tuple[int, int, str] | None = None
    while i < len(argv):
        item = argv[i]
        name, eq, inline = item.partition("=") if item.startswith("--") else (item, "", "")
        flag, _negated = flags.lookup({"-q": "--quiet"}.get(name, name))
        if flag is None:
            return None  # nothing prgcloud let through; if it ever is, keep today's order
        width = 1 if eq or flag.kind in (flags.Kind.BOOL, flags.Kind.OPTIONAL) else 2
        value = inline if eq else (argv[i + 1] if width == 2 and i + 1 < len(argv) else "")
        if flag.name == _FLAGS_FILE and value == "-":
            return None
        if flag.name == _MOVED_FLAG:
            found = (i, width, value)
        i += width
    if found is None:
        return None
    start, width, value = found
    quoted = yaml_quoted(value)
    if quoted is None:
        return None
    return EarlyPlan(
        tuple(argv[:start]), tuple(argv[start + width :]), f'"{_MOVED_FLAG}": {quoted}\n'
    )


def yaml_quoted(text: str) -> str | None:
    """`text` as a YAML double-quoted scalar of printable ASCII; None if YAML cannot hold it.

    Everything else is escaped (`\\uXXXX`, `\\UXXXXXXXX`), so no YAML reader folds, trims
    or rejects a character. A surrogate (an undecodable byte of argv) has no YAML form.
    """
    out = ['"']
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= code < 0x7F:
            out.append(char)
        elif 0xD800 <= code < 0xE000:
            return None
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


@contextlib.contextmanager
def prepared(
    request: JobRequest,
    environ: Mapping[str, str],
    *,
    stdin: IO[Any] | None,
    stdout: IO[Any],
    stderr: IO[Any],
) -> Iterator[Callable[[], int]]:
    """Start gcloud for this request now, held; yield `send`, which lets it go on.

    The block checks the request; `send()` then returns gcloud's exit code, as `submit`
    does. If the block ends without `send()` (an error, a refusal, a signal), gcloud is
    killed before it could send anything and the config file is removed. Where gcloud
    cannot start early (`early_plan`, or no gcloud to run), `send` is `submit`: the check
    runs first and errors come in today's order.
    """
    with contextlib.ExitStack() as stack:
        send = _start_early(stack, request, environ, stdin=stdin, stdout=stdout, stderr=stderr)
        if send is None:
            stack.close()
            send = functools.partial(
                submit, request, environ, stdin=stdin, stdout=stdout, stderr=stderr
            )
        yield send


def _start_early(
    stack: contextlib.ExitStack[Any],
    request: JobRequest,
    environ: Mapping[str, str],
    *,
    stdin: IO[Any] | None,
    stdout: IO[Any],
    stderr: IO[Any],
) -> Callable[[], int] | None:
    """gcloud held in `stack` (with its config file), and what lets it go; None if it cannot."""
    placeholder = "PATH" if request.config_yaml is not None else None
    if early_plan(request, request.gcloud_argv(placeholder)) is None:
        return None
    try:
        process.find_gcloud(environ)
    except GcloudNotFoundError:
        return None  # said after the check, as `submit` says it
    path = stack.enter_context(config_file(request))
    plan = early_plan(request, request.gcloud_argv(path))
    assert plan is not None  # the config path is one argv item, like the placeholder
    try:
        held = stack.enter_context(
            process.held(
                plan.before,
                plan.after,
                plan.flags,
                environ,
                stdin=stdin,
                stdout=stdout,
                stderr=stderr,
            )
        )
    except GcloudNotFoundError:
        return None  # it cannot be run: said after the check, as `submit` says it
    return held.release
