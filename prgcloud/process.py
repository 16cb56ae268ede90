"""The one module that starts processes (all through `sh`, never a shell).

Two ways to run gcloud: `stream` hands it our stdin/stdout/stderr (or copies its output to
the given text streams) and returns its exit code, for the submission itself; `capture`
collects its output, for small questions such as `gcloud auth print-access-token`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any, NoReturn

from prgcloud.errors import GcloudNotFoundError

GCLOUD_OVERRIDE_VARIABLE = "PRGCLOUD_GCLOUD"
# Set by the PATH shim (bin/gcloud) for the processes it starts, so that nothing prgcloud
# runs can land on the shim again.
SHIM_DIR_VARIABLE = "PRGCLOUD_SHIM_DIR"

# How long gcloud gets to finish after it was asked to stop (Ctrl-C) before it is killed.
_STOP_GRACE_SECONDS = 10.0
# After Ctrl-C, how long gcloud gets to stop on the terminal's own SIGINT before one is
# passed on (it got none if only prgcloud was signalled).
_SIGINT_RELAY_SECONDS = 1.0


def find_gcloud(environ: Mapping[str, str]) -> str:
    """The real gcloud: `$PRGCLOUD_GCLOUD`, else the first `gcloud` on PATH that is not the shim."""
    override = environ.get(GCLOUD_OVERRIDE_VARIABLE)
    if override:
        if os.path.isfile(override) and os.access(override, os.X_OK):
            return override
        raise GcloudNotFoundError(
            f"{GCLOUD_OVERRIDE_VARIABLE} is set to {override!r}, which is not an executable "
            "file. Point it at the real gcloud, or unset it to use the first gcloud on PATH."
        )
    skip = {_real_dir(d) for d in environ.get(SHIM_DIR_VARIABLE, "").split(os.pathsep) if d}
    skip.add(_real_dir(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bin")))
    skip.add(_real_dir(os.path.join(os.path.dirname(os.path.abspath(__file__)), "bin")))
    for directory in environ.get("PATH", os.defpath).split(os.pathsep):
        candidate = os.path.join(directory or ".", "gcloud")
        if _real_dir(directory or ".") in skip:
            continue
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise GcloudNotFoundError(
        "gcloud was not found on PATH. Install the Google Cloud CLI "
        "(https://cloud.google.com/sdk/docs/install), or set PRGCLOUD_GCLOUD to its path."
    )


def _real_dir(path: str) -> str:
    return os.path.realpath(os.path.abspath(path))


@dataclass(frozen=True)
class Captured:
    """What a captured gcloud run left: its exit code and its output, decoded."""

    exit_code: int
    stdout: str
    stderr: str


def _command(environ: Mapping[str, str]) -> Any:
    import sh  # imported here: ~0.09 s that only paths starting a process should pay

    return sh.Command(find_gcloud(environ))


def capture(
    argv: Sequence[str], environ: Mapping[str, str], *, timeout: float | None = None
) -> Captured:
    """Run gcloud with `argv`, wait at most `timeout` seconds, and return what it printed."""
    import sh

    try:
        result = _command(environ)(
            *argv,
            _env=dict(environ),
            _ok_code=range(256),
            _return_cmd=True,
            _timeout=timeout,
            _in=None,
            _tty_out=False,
            _decode_errors="replace",
        )
    except sh.TimeoutException:
        return Captured(124, "", f"gcloud {' '.join(argv[:3])} timed out after {timeout} s")
    return Captured(
        int(result.exit_code),
        result.stdout.decode("utf-8", "replace"),
        result.stderr.decode("utf-8", "replace"),
    )


def stream(
    argv: Sequence[str],
    environ: Mapping[str, str],
    *,
    stdin: IO[Any] | None,
    stdout: IO[Any],
    stderr: IO[Any],
) -> int:
    """Run gcloud with `argv` in front of the user and return its exit code.

    Streams that are real files (a terminal, a pipe) are handed to gcloud as they are, so its
    output arrives live and unbuffered; other streams (a test's StringIO) receive a copy.

    While gcloud runs, prgcloud behaves like a shell with a foreground job: Ctrl-C and
    SIGTERM do not interrupt the wait. SIGTERM is passed on to gcloud at once; SIGINT, which
    a terminal already sends to gcloud too, is passed on only if gcloud is still running a
    moment later (someone signalled prgcloud alone). gcloud gets SIGKILL if it outlives a
    grace period. Once it is gone, the signal goes on to the caller: KeyboardInterrupt for
    SIGINT, SystemExit(128 + N) for the others.
    """
    import sh

    process = _command(environ)(
        *argv,
        _env=dict(environ),
        _ok_code=range(256),
        _bg=True,
        _bg_exc=False,
        _in=_fd_or_none(stdin),
        _out=_fd_or_copy(stdout),
        _err=_fd_or_copy(stderr),
        _tty_out=False,
        _new_session=False,
    )
    with _SignalRelay(process.pid) as relay:
        try:
            process.wait()
        except sh.SignalException:
            if not relay.received:
                raise
    if relay.received == signal.SIGINT:
        raise KeyboardInterrupt
    if relay.received:
        raise SystemExit(128 + relay.received)
    return int(process.exit_code)


class _SignalRelay:
    """Catches SIGINT/SIGTERM while a child runs, passes them on, and remembers the first."""

    _SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.received: int | None = None
        self._timers: list[threading.Timer] = []
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _SignalRelay:
        # Handlers can be set only on the main thread; elsewhere signals keep their meaning.
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._on_signal) for s in self._SIGNALS}
        return self

    def __exit__(self, *exc_info: object) -> None:
        for timer in self._timers:
            timer.cancel()
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _on_signal(self, signum: int, frame: object) -> None:
        if self.received is not None:
            self._send(signum)
            return
        self.received = signum
        self._later(_SIGINT_RELAY_SECONDS if signum == signal.SIGINT else 0.0, signum)
        self._later(_STOP_GRACE_SECONDS, signal.SIGKILL)

    def _later(self, seconds: float, signum: int) -> None:
        if seconds <= 0:
            self._send(signum)
            return
        timer = threading.Timer(seconds, self._send, (signum,))
        timer.daemon = True
        timer.start()
        self._timers.append(timer)

    def _send(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(self.pid, signum)


def _has_fd(stream: IO[Any] | None) -> bool:
    try:
        return stream is not None and stream.fileno() >= 0
    except (AttributeError, OSError, ValueError):
        return False


def _fd_or_none(stream: IO[Any] | None) -> Any:
    return stream if _has_fd(stream) else None


def _fd_or_copy(stream: IO[Any]) -> Any:
    if _has_fd(stream):
        stream.flush()
        return stream
    return lambda chunk: stream.write(
        chunk if isinstance(chunk, str) else chunk.decode("utf-8", "replace")
    )


def exec_gcloud(argv: Sequence[str], environ: Mapping[str, str]) -> NoReturn:
    """Become gcloud with `argv`: this process is replaced, so the terminal, the signals and
    the exit status are gcloud's own (a pass-through costs no second process).

    Raises GcloudNotFoundError (exit 127) when there is no gcloud, or it cannot be run.
    """
    gcloud = find_gcloud(environ)
    for stream in (sys.stdout, sys.stderr):  # what prgcloud wrote must come out first
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    try:
        os.execve(gcloud, [gcloud, *argv], dict(environ))
    except OSError as error:
        raise GcloudNotFoundError(
            f"gcloud at {gcloud} cannot be run: {error.strerror}. Point PRGCLOUD_GCLOUD at the "
            "real gcloud, or fix the first gcloud on PATH."
        ) from error


# --- policy hooks and plugins -----------------------------------------------------------------

# How much of a hook's stdout and stderr is kept (each); the rest is dropped as it arrives.
_HOOK_OUTPUT_LIMIT = 64 * 1024
_ANY_EXIT_CODE = tuple(range(256))  # the caller judges the exit code, never sh


@dataclass(frozen=True)
class HookRun:
    """How one policy hook ended: its exit code (None when it was stopped at its deadline or
    could not be started, `failure` then says why), and what it printed (at most 64 KiB each)."""

    exit_code: int | None
    stdout: str
    stderr: str
    timed_out: bool = False
    failure: str | None = None


def run_hook(path: str, document: bytes, environ: Mapping[str, str], *, timeout: float) -> HookRun:
    """Run the policy hook `path` with `document` on its stdin; wait at most `timeout` s.

    The hook runs in its own directory and its own session (no terminal to prompt on); at its
    deadline, and when it ends, its whole process group is killed, so nothing it started
    stays behind. Its stdin is an unnamed temporary file (a hook that never reads it cannot
    block, nor break a pipe); it exits with its own code, or by a signal (128 + N).
    """
    import tempfile

    import sh

    out = _Capped(_HOOK_OUTPUT_LIMIT)
    err = _Capped(_HOOK_OUTPUT_LIMIT)
    with tempfile.TemporaryFile() as stdin:
        stdin.write(document)
        stdin.seek(0)
        try:
            running = sh.Command(path)(
                _env=dict(environ),
                _cwd=os.path.dirname(path) or "/",
                _in=stdin,
                _out=out.add,
                _err=err.add,
                _bg=True,
                _bg_exc=False,
                _new_session=True,
                _ok_code=_ANY_EXIT_CODE,
                _decode_errors="replace",
            )
        except (sh.ForkException, sh.CommandNotFound, OSError) as error:
            reason = str(error).strip().splitlines()[-1:] or [type(error).__name__]
            return HookRun(None, "", "", failure=f"it cannot be run: {reason[0]}")
        expired = threading.Event()

        def stop() -> None:
            expired.set()
            _kill_group(running.pid)

        timer = threading.Timer(timeout, stop)
        timer.daemon = True
        timer.start()
        try:
            running.wait()
            code: int | None = int(running.exit_code)
        except sh.SignalException as error:
            code = 128 + abs(int(error.exit_code))
        finally:
            timer.cancel()
            _kill_group(running.pid)
    if expired.is_set():
        return HookRun(None, out.text(), err.text(), timed_out=True)
    return HookRun(code, out.text(), err.text())


class _Capped:
    """Collects output up to `limit` characters; the rest is dropped, and said to be."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.kept = 0
        self.dropped = False

    def add(self, chunk: str | bytes) -> None:
        text = chunk if isinstance(chunk, str) else chunk.decode("utf-8", "replace")
        room = self.limit - self.kept
        if len(text) > room:
            text, self.dropped = text[:room], True
        self.parts.append(text)
        self.kept += len(text)

    def text(self) -> str:
        return "".join(self.parts) + ("\n[... more output dropped]\n" if self.dropped else "")


def _kill_group(pid: int) -> None:
    # A hook leads its own process group (its own session): the group is the hook and
    # everything it started that did not leave it.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def exec_program(path: str, argv: Sequence[str], environ: Mapping[str, str]) -> NoReturn:
    """Become the program `path` (a `prgcloud-NAME` plugin) with `argv`, as exec_gcloud does.

    Raises PluginNotRunnableError (exit 126) when it cannot be run.
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    try:
        os.execve(path, [path, *argv], dict(environ))
    except OSError as error:
        from prgcloud.errors import PluginNotRunnableError

        raise PluginNotRunnableError(f"{path} cannot be run: {error.strerror}.") from error


def run_program(
    path: str,
    argv: Sequence[str],
    environ: Mapping[str, str],
    *,
    stdin: IO[Any] | None,
    stdout: IO[Any],
    stderr: IO[Any],
) -> int:
    """Run the program `path` with `argv` as a child (in-process callers: tests, embedding);
    it reads `stdin` (a real file as it is, another stream's text, or nothing), its output
    goes to `stdout`/`stderr`; return its exit code (128 + N after signal N)."""
    import sh

    given = _fd_or_none(stdin)
    if given is None:  # a child reading a pipe nobody closes would wait forever
        given = stdin.read() if stdin is not None else ""
    try:
        running = sh.Command(path)(
            *argv,
            _env=dict(environ),
            _in=given,
            _out=_fd_or_each_chunk(stdout),
            _err=_fd_or_each_chunk(stderr),
            _bg=True,
            _bg_exc=False,
            _ok_code=_ANY_EXIT_CODE,
        )
    except (sh.ForkException, sh.CommandNotFound, OSError) as error:
        from prgcloud.errors import PluginNotRunnableError

        reason = str(error).strip().splitlines()[-1:] or [type(error).__name__]
        raise PluginNotRunnableError(f"{path} cannot be run: {reason[0]}") from error
    try:
        running.wait()
    except sh.SignalException as error:
        return 128 + abs(int(error.exit_code))
    return int(running.exit_code)


def _fd_or_each_chunk(stream: IO[Any]) -> Any:
    """`stream` itself when it has a file descriptor, else a callback copying every chunk to
    it (returning None: sh stops calling a callback that returns something true)."""
    if _has_fd(stream):
        stream.flush()
        return stream

    def copy(chunk: str | bytes) -> None:
        stream.write(chunk if isinstance(chunk, str) else chunk.decode("utf-8", "replace"))

    return copy
