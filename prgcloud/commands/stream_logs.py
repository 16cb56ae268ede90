"""`prgcloud [alpha|beta] ai custom-jobs stream-logs JOB [gcloud's flags]`: gcloud's
stream-logs, line for line, that ends once the job has ended and its last lines are out.

gcloud's own stream-logs reads the job's state once, when it starts: it never ends after a
job it saw running has ended, and it exits 0 whatever the outcome. prgcloud runs it as it is
and watches the job meanwhile (`prgcloud.jobs`, as `wait` does). gcloud asks Cloud Logging,
every `--polling-interval` seconds, for the entries older than 5 s; so once the job has ended
(`endTime` E), gcloud's first poll after E + 5 s brings the last lines. prgcloud stops gcloud
when gcloud has had two polling intervals (and a margin for a loaded machine) to make that
poll since E + 5 s and since the last line it printed. Then it exits by the job's final state:
0 succeeded, 6 failed or expired, 7 cancelled (4 when the job cannot be read; gcloud's own
exit code if gcloud fails first). Ctrl-C stops the streaming, never the job (130).

gcloud polls every 60 s unless told otherwise; prgcloud passes `--polling-interval=10`
unless the command line gives one, so the stream ends within about half a minute of the job.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from prgcloud import exit_codes, jobs, process
from prgcloud.commands import arguments, wait
from prgcloud.environment import Environment
from prgcloud.errors import PrgcloudError

USAGE = (
    "usage: prgcloud [alpha|beta] ai custom-jobs stream-logs JOB [--region=REGION]"
    " [--project=PROJECT]\n"
    "           [--polling-interval=SECONDS] [--task-name=TASK] [--allow-multiline-logs]"
    " [GCLOUD_WIDE_FLAG ...]"
)
DEFAULT_POLLING_SECONDS = 10
# Cloud Logging entries younger than this are not fetched yet (gcloud's LogFetcher).
_LOG_LAG_SECONDS = 5.0
# Allowed difference between this machine's clock and the service's timestamps, and time for
# gcloud's poll on a loaded machine, in seconds.
_CLOCK_SKEW_SECONDS = 2.0
_POLL_MARGIN_SECONDS = 5.0
_TICK_SECONDS = 0.2


class GcloudFailedError(PrgcloudError):
    """gcloud's stream-logs ended with an error before the job ended: gcloud's exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class _GcloudEnded(Exception):
    """gcloud ended (or a signal came) while the job was being watched."""


def _parser(kind: jobs.Kind) -> arguments.Parser:
    parser = wait._parser(
        f"prgcloud ai {kind.group} stream-logs",
        USAGE.replace("custom-jobs", kind.group),
        waits=False,
    )
    parser.add_argument("--polling-interval", dest="--polling-interval")
    parser.add_argument("--task-name", dest="--task-name")
    parser.add_argument(
        "--allow-multiline-logs", dest="--allow-multiline-logs", action="store_true"
    )
    return parser


def run(argv: list[str], env: Environment, *, track: str | None) -> int:
    """Stream the custom job's logs until it has ended; exit by how it ended."""
    return run_for(argv, env, track, jobs.CUSTOM)


def run_for(argv: list[str], env: Environment, track: str | None, kind: jobs.Kind) -> int:
    """`stream-logs` of a job of `kind` (`hp-tuning-jobs stream-logs` is TUNING)."""
    gcloud_argv = [*([track] if track else []), "ai", kind.group, "stream-logs", *argv]
    if any(a in ("-h", "--help") for a in argv):
        return process.stream(
            gcloud_argv, env.environ, stdin=env.stdin, stdout=env.stdout, stderr=env.stderr
        )
    namespace = _parser(kind).parse(
        arguments.expand_flags_files(argv, cwd=env.cwd, read_stdin=env.stdin.read)
    )
    given = arguments.flag(namespace, "--polling-interval")
    target = wait.read_target(namespace, env.environ, kind=kind)
    # gcloud checks the value (an integer >= 1) before it streams; it reports a bad one itself
    polling = float(given) if given and given.isdigit() and int(given) >= 1 else None
    if given is not None and polling is None:
        polling = DEFAULT_POLLING_SECONDS  # gcloud refuses it and ends; prgcloud then does
    job = stream_until_ended(target, gcloud_argv, env, polling_interval=polling)
    # `--format` shapes gcloud's log lines; the job itself is not printed after them
    quiet = dataclasses.replace(target.display, format=None, flatten=())
    return wait.finish(dataclasses.replace(target, display=quiet), job, env)


def stream_until_ended(
    target: wait.JobTarget,
    gcloud_argv: Sequence[str],
    env: Environment,
    *,
    timeout: float | None = None,
    polling_interval: float | None = None,
) -> Mapping[str, Any]:
    """Run gcloud's stream-logs (`gcloud_argv`) until the job has ended and its last lines
    are out; return the job as it ended. `polling_interval` is the one `gcloud_argv` gives
    gcloud; None adds `--polling-interval=10` to it.

    Raises GcloudFailedError (gcloud's code) when gcloud fails before the job has ended,
    PrecheckFailedError (4) when the job cannot be read, WaitTimedOutError (5) after
    `timeout` seconds; on Ctrl-C says that the job keeps running, then lets it through.
    """
    from prgcloud.vertex import Location

    if polling_interval is None:
        gcloud_argv = [*gcloud_argv, f"--polling-interval={DEFAULT_POLLING_SECONDS}"]
    poll = polling_interval or DEFAULT_POLLING_SECONDS
    kind = jobs.kind_of(target.name)
    project, region, _ = jobs.split_name(target.name, kind) or ("", "", "")
    location = Location(project, region, target.endpoint, target.identity)
    last_line = [time.monotonic()]

    def line(text: str) -> None:
        env.stdout.write(text)
        env.stdout.flush()
        last_line[0] = time.monotonic()

    try:
        with (
            jobs.JobReader(location, env.environ) as reader,
            process.background(
                gcloud_argv, env.environ, stdout_line=line, stderr=env.stderr
            ) as gcloud,
        ):
            if gcloud is None:
                raise KeyboardInterrupt

            def watch(seconds: float) -> None:
                """Sleep, but not past gcloud's end or a signal."""
                until = time.monotonic() + seconds
                while time.monotonic() < until:
                    if gcloud.interrupted() or not gcloud.alive():
                        raise _GcloudEnded
                    time.sleep(min(_TICK_SECONDS, until - time.monotonic()))

            try:
                job = jobs.wait_for_job(
                    lambda left: reader.get_job(target.name, until=jobs.poll_deadline(left)),
                    name=target.name,
                    timeout=timeout,
                    sleep=watch,
                )
            except _GcloudEnded:
                if gcloud.interrupted():
                    return {}  # unreachable: the block's end raises KeyboardInterrupt
                return _after_gcloud_ended(gcloud, reader, target, timeout)
            _let_the_last_lines_out(gcloud, job, poll, lambda: last_line[0])
            return job
    except KeyboardInterrupt:
        env.stderr.write(
            f"Stopped streaming; {kind.noun} {target.name} keeps running "
            "(Ctrl-C stops the stream, never the job).\n"
        )
        raise


def _after_gcloud_ended(
    gcloud: process.Background,
    reader: jobs.JobReader,
    target: wait.JobTarget,
    timeout: float | None,
) -> Mapping[str, Any]:
    """gcloud's stream-logs ended by itself: the job as it ended, or gcloud's failure."""
    kind = jobs.kind_of(target.name)
    status = gcloud.wait()
    if status != exit_codes.OK:
        raise GcloudFailedError(
            f"gcloud's stream-logs ended with exit code {status} before "
            f"{kind.noun} {target.name} did.",
            status,
        ) from None
    # gcloud saw the job ended when it started, and ended by itself
    return jobs.read_until_ended(reader, target.name, timeout=timeout)


def _let_the_last_lines_out(
    gcloud: process.Background,
    job: Mapping[str, Any],
    poll: float,
    last_line: Callable[[], float],
) -> None:
    """Keep gcloud streaming the ended `job` until its last lines are due and two of its
    polls (`poll` seconds) have brought nothing new since `last_line()`, or it ends."""
    lines_due = (
        time.monotonic()
        + (_wall_seconds(job.get("endTime")) + _LOG_LAG_SECONDS + _CLOCK_SKEW_SECONDS)
        - time.time()
    )
    quiet = 2 * poll + _POLL_MARGIN_SECONDS
    while gcloud.alive() and not gcloud.interrupted():
        if time.monotonic() >= max(lines_due, last_line()) + quiet:
            return
        time.sleep(_TICK_SECONDS)


def _wall_seconds(text: Any) -> float:
    """An RFC 3339 time (`endTime`) as seconds since the epoch; now when there is none."""
    if not isinstance(text, str) or not text:
        return time.time()
    value = text.strip().replace("z", "Z").replace("Z", "+00:00")
    if "." in value:  # at most 6 fractional digits for fromisoformat
        head, _, tail = value.partition(".")
        digits = len(tail) - len(tail.lstrip("0123456789"))
        value = f"{head}.{tail[:digits][:6].ljust(6, '0')}{tail[digits:]}"
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return time.time()
