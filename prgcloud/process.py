"""The one module that starts processes (all through `sh`, never a shell).

Three ways to run gcloud: `stream` hands it our stdin/stdout/stderr (or copies its output to
the given text streams) and returns its exit code, for the submission itself; `held` does the
same, but starts gcloud early, blocked on a `--flags-file` pipe, and lets it go on only when
told to (it is killed otherwise); `capture` collects its output, for small questions such as
`gcloud auth print-access-token`.

Signals. Every child runs inside a `guarded()` block, which a caller may open earlier to cover
more (the submission opens it before it writes the generated config file). Inside it SIGINT,
SIGTERM and SIGHUP interrupt nothing: the first one is remembered and passed on to the child,
which is waited for; no child starts once one has come. When the block ends (the child gone,
the caller's files removed), the signal goes on to the handler the caller had: in the CLI
KeyboardInterrupt for SIGINT (exit 130), SystemExit(128 + N) for SIGTERM (143) and SIGHUP
(129). A signal the caller ignores (`nohup`, a background job) stays ignored, for gcloud too.

| signal | passed on to the child |
|---|---|
| SIGINT | only if the child still runs 1 s later (a terminal's Ctrl-C reached it already) |
| SIGTERM, SIGHUP | at once |
| any of them, then 10 s more | SIGKILL |

Until a `held` gcloud is let go, a signal kills it (SIGKILL) at once and then goes to the
caller's handler, as if no gcloud had been started; from then on it is as above.

The child gets the signal dispositions the caller had (SIG_IGN stays ignored, anything else
is the default), never `sh`'s background-mode SIGHUP-ignore, so a closed terminal ends it.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any, NoReturn

from prgcloud.errors import GcloudNotFoundError

GCLOUD_OVERRIDE_VARIABLE = "PRGCLOUD_GCLOUD"
# Set by the PATH shim (bin/gcloud) for the processes it starts, so that nothing prgcloud
# runs can land on the shim again.
SHIM_DIR_VARIABLE = "PRGCLOUD_SHIM_DIR"

# How long gcloud gets to finish after it was asked to stop before it is killed.
_STOP_GRACE_SECONDS = 10.0
# After Ctrl-C, how long gcloud gets to stop on the terminal's own SIGINT before one is
# passed on (it got none if only prgcloud was signalled).
_SIGINT_RELAY_SECONDS = 1.0

RELAYED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# Every exit status, and every signal as sh reports it (-N): none of them is an exception.
_ANY_EXIT = range(-64, 256)


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
    """Run gcloud with `argv`, wait at most `timeout` seconds, and return what it printed.

    A signal (see the module's docstring) stops gcloud and then reaches the caller's handler.
    """
    import sh

    gcloud = _command(environ)
    with guarded() as guard:
        if guard.received is not None:
            return Captured(128 + guard.received, "", "")
        running = guard.start(
            gcloud,
            argv,
            _env=dict(environ),
            _ok_code=_ANY_EXIT,
            _timeout=timeout,
            _in=None,
            _tty_out=False,
            _decode_errors="replace",
        )
        try:
            guard.wait(running)
        except sh.TimeoutException:
            return Captured(124, "", f"gcloud {' '.join(argv[:3])} timed out after {timeout} s")
        return Captured(
            _status(running.exit_code),
            running.stdout.decode("utf-8", "replace"),
            running.stderr.decode("utf-8", "replace"),
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

    Streams that are real files (a terminal, a pipe) are handed to gcloud as they are, so it
    sees the user's terminal (colours, prompts) and its output arrives live and unbuffered;
    other streams (a test's StringIO) receive a copy. Without a stdin, gcloud reads an empty
    one. gcloud stays in prgcloud's process group, as a shell's foreground job.

    A signal (see the module's docstring) stops gcloud and then reaches the caller's handler;
    if none does, the exit code is the shell's 128 + N. So is the code of a gcloud that a
    signal killed.
    """
    gcloud = _command(environ)
    with guarded() as guard, open(os.devnull, "rb") as nothing:
        if guard.received is not None:
            return 128 + guard.received
        running = guard.start(
            gcloud, argv, **_streamed(environ, nothing, stdin=stdin, stdout=stdout, stderr=stderr)
        )
        guard.wait(running)
        return _status(running.exit_code)


class Background:
    """gcloud running in the background of a `background()` block."""

    def __init__(self, guard: _Guard, running: Any) -> None:
        self._guard = guard
        self._running = running

    def alive(self) -> bool:
        """Whether gcloud still runs."""
        return bool(self._running.is_alive())

    def interrupted(self) -> bool:
        """Whether a signal came (it is passed on to gcloud, then to the caller's handler)."""
        return self._guard.received is not None

    def stop(self) -> None:
        """Ask gcloud to end (SIGTERM: gcloud then ends at once, saying nothing)."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._running.pid, signal.SIGTERM)

    def wait(self) -> int:
        """Wait for gcloud to end; its exit code (128 + N after signal N)."""
        self._guard.wait(self._running)
        return _status(self._running.exit_code)


@contextlib.contextmanager
def background(
    argv: Sequence[str],
    environ: Mapping[str, str],
    *,
    stdout_line: Callable[[str], None],
    stderr: IO[Any],
) -> Iterator[Background | None]:
    """Run gcloud with `argv` while the block runs; each line it prints goes to `stdout_line`.

    gcloud reads no stdin; its stderr is `stderr` (a real file as it is, else a copy). Signals
    are held back and passed on to gcloud as `stream` does them (the block should end soon
    after `interrupted()`); when the block ends gcloud is stopped if it still runs, and waited
    for. None (nothing started) when a signal came before gcloud could start.
    """
    gcloud = _command(environ)
    with guarded() as guard, open(os.devnull, "rb") as nothing:
        if guard.received is not None:
            yield None
            return
        running = guard.start(
            gcloud,
            argv,
            _env=dict(environ),
            _ok_code=_ANY_EXIT,
            _in=nothing,
            _out=stdout_line,
            _err=_fd_or_copy(stderr),
            _tty_out=False,
            _decode_errors="replace",
        )
        job = Background(guard, running)
        try:
            yield job
        finally:
            if job.alive():
                job.stop()
            guard.wait(running)


def _streamed(
    environ: Mapping[str, str],
    nothing: IO[Any],
    *,
    stdin: IO[Any] | None,
    stdout: IO[Any],
    stderr: IO[Any],
) -> dict[str, Any]:
    """sh's arguments for a gcloud that runs in front of the user (see `stream`)."""
    special: dict[str, Any] = {
        "_env": dict(environ),
        "_ok_code": _ANY_EXIT,
        "_in": stdin if _has_fd(stdin) else nothing,
        "_out": _fd_or_copy(stdout),
        "_err": _fd_or_copy(stderr),
    }
    if not _has_fd(stdout):
        # A pipe to copy from; by default sh would give gcloud a pseudo-terminal instead.
        # (With a real file, sh refuses _tty_out: it is gcloud's own stdout then.)
        special["_tty_out"] = False
    return special


# --- a gcloud started early, held before it can send anything --------------------------------


@contextlib.contextmanager
def held(
    before: Sequence[str],
    after: Sequence[str],
    flags: str,
    environ: Mapping[str, str],
    *,
    stdin: IO[Any] | None,
    stdout: IO[Any],
    stderr: IO[Any],
) -> Iterator[Held]:
    """Start gcloud now with `[*before, --flags-file=/dev/fd/N, *after]`, reading a pipe.

    gcloud reads every `--flags-file` before it parses its arguments, so it can do nothing
    (least of all send a request) before the pipe is closed: `Held.release` writes `flags`
    (a flags-file YAML document) to it and then runs gcloud as `stream` does. Until then the
    caller works on (the pre-check); if the block ends without a release, or a SIGINT,
    SIGTERM or SIGHUP comes before it, gcloud is killed (SIGKILL) and reaped at once, and the
    signal then goes on to the caller's handler as if no gcloud had been started. The streams
    are gcloud's from the start, as in `stream`.

    Raises GcloudNotFoundError (exit 127), before anything started, when gcloud cannot be run.
    """
    gcloud = _command(environ)
    holder = Held(flags)
    with open(os.devnull, "rb") as nothing:
        try:
            holder.install()
            holder.start(
                gcloud,
                before,
                after,
                **_streamed(environ, nothing, stdin=stdin, stdout=stdout, stderr=stderr),
            )
            yield holder
        finally:
            holder.close()


class Held:
    """A gcloud blocked reading its flags from a pipe, until `release` (see `held`)."""

    def __init__(self, flags: str) -> None:
        self._flags = flags.encode("utf-8")
        self._read_end, self._write_end = os.pipe()  # neither is inherited by default
        self._running: Any = None
        self._released = False
        self._owner = os.getpid()
        self._previous: dict[int, Any] = {}
        # A signal that came while gcloud was being started, to hand on once it has a pid.
        self._starting = False
        self._pending: int | None = None

    @property
    def pid(self) -> int | None:
        """gcloud's process id (None before it started)."""
        return None if self._running is None else int(self._running.pid)

    def install(self) -> None:
        """Kill gcloud on SIGINT, SIGTERM and SIGHUP, then hand the signal to the caller."""
        if threading.current_thread() is not threading.main_thread():
            return  # no handlers off the main thread: the block's end still kills gcloud
        for signum in RELAYED_SIGNALS:
            previous = signal.getsignal(signum)
            if previous in (signal.SIG_IGN, None):
                continue  # ignored on purpose, or not Python's: gcloud gets it as it is
            self._previous[signum] = previous
            signal.signal(signum, self._on_signal)

    def start(
        self, command: Any, before: Sequence[str], after: Sequence[str], **special: Any
    ) -> None:
        """Start gcloud, which inherits the pipe's read end as /dev/fd/N."""
        argv = [*before, f"--flags-file=/dev/fd/{self._read_end}", *after]
        os.set_inheritable(self._read_end, True)
        self._starting = True
        try:
            # A Ctrl-C in the terminal reaches gcloud too, and while it is still importing
            # it would print Python's KeyboardInterrupt traceback: it starts with SIGINT
            # ignored (prgcloud kills it on a Ctrl-C), and installs its own handler as its
            # main module loads, before it reads the pipe, so after a release Ctrl-C is
            # gcloud's as ever.
            self._running = _spawn(
                command,
                argv,
                self._previous,
                _no_op,
                ignored=frozenset({signal.SIGINT}),
                _pass_fds={self._read_end},
                **special,
            )
        finally:
            self._starting = False
            os.close(self._read_end)
            self._read_end = -1
        if self._pending is not None:
            self._kill()
            self._hand_on(self._pending, None)

    def release(self) -> int:
        """Let gcloud go on with `flags`; wait for it as `stream` does; return its exit code.

        From here on a signal is passed on to gcloud, as in `stream`.
        """
        self._uninstall()
        with guarded() as guard:
            if guard.received is not None:
                self._kill()
                self._reap()
                return 128 + guard.received
            guard.adopt(self._running.pid)
            self._released = True
            self._write_flags()
            guard.wait(self._running)
            return _status(self._running.exit_code)

    def close(self) -> None:
        """Unless released: kill and reap gcloud. Then the pipe and the handlers go."""
        try:
            if not self._released:
                self._kill()
                self._reap()
        finally:
            for fd in (self._read_end, self._write_end):
                if fd >= 0:
                    os.close(fd)
            self._read_end = self._write_end = -1
            self._uninstall()

    def _write_flags(self) -> None:
        # A gcloud that is already gone (it failed to start, or a signal passed on ended it)
        # reads nothing: its exit code says what happened, not a SIGPIPE of ours.
        ignoring = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGPIPE, signal.SIG_IGN) if ignoring else None
        try:
            view = memoryview(self._flags)
            while view:
                view = view[os.write(self._write_end, view) :]
        except BrokenPipeError:
            pass
        finally:
            os.close(self._write_end)
            self._write_end = -1
            if ignoring and previous is not None:
                signal.signal(signal.SIGPIPE, previous)

    def _on_signal(self, signum: int, frame: object) -> None:
        if os.getpid() != self._owner:
            return  # never: children start with these blocked (see `_spawn`)
        self._kill()
        if self._starting:
            if self._pending is None:
                self._pending = signum
            return
        self._hand_on(signum, frame)

    def _hand_on(self, signum: int, frame: object) -> None:
        """The caller's handler for `signum`, as if ours had never been there."""
        handler = self._previous.get(signum, signal.SIG_DFL)
        if callable(handler):
            handler(signum, frame)
            return
        self._uninstall()
        signal.raise_signal(signum)

    def _kill(self) -> None:
        if self._running is not None and not self._released:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._running.pid, signal.SIGKILL)

    def _reap(self) -> None:
        if self._running is not None:
            self._running.wait()

    def _uninstall(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()


def _no_op(pid: int) -> None:
    pass


def _status(exit_code: int) -> int:
    """sh's exit code as a shell reports it: a signal N (sh says -N) is 128 + N."""
    return exit_code if exit_code >= 0 else 128 - exit_code


# --- signals ------------------------------------------------------------------------------------

_active: _Guard | None = None

# Pokes the main thread (see `keep_handlers_prompt`): a signal nobody else sends; its handler
# does nothing, but it interrupts a blocking system call, which then runs the handlers due.
_POKE = getattr(signal, "SIGRTMIN", signal.SIGWINCH)
_POKES = 20
_POKE_SECONDS = 0.05


def keep_handlers_prompt() -> None:
    """Make every Python signal handler of this process run within a moment of its signal.

    CPython runs a handler on the main thread between bytecodes. A signal that lands just
    before the main thread blocks in a system call (reading a FIFO, waiting for gcloud) is
    handled only once that call returns, which may be never. The C-level handler also writes
    the signal's number to the wakeup fd, at once: a thread reading it pokes the main thread
    with a no-op signal a few times, and each poke interrupts the blocking call, after which
    Python runs the handlers due. For the CLI's own process only (the wakeup fd is the
    process's; an asyncio loop would own it); call it once, from the main thread.
    """
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    signal.signal(_POKE, _ignore)
    signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    main = threading.main_thread().ident
    assert main is not None

    def poke_on_signals() -> None:
        while True:
            received = os.read(read_end, 64)
            if any(number != _POKE for number in received):
                for _ in range(_POKES):
                    signal.pthread_kill(main, _POKE)
                    time.sleep(_POKE_SECONDS)

    threading.Thread(target=poke_on_signals, name="prgcloud-signal-poker", daemon=True).start()


def _ignore(signum: int, frame: object) -> None:
    pass


@contextlib.contextmanager
def guarded() -> Iterator[_Guard]:
    """A block in which SIGINT, SIGTERM and SIGHUP are held back and passed on to our children.

    Nested blocks share the outermost one. On the way out, the caller's handlers come back and
    the first signal that came (if any) is delivered to them, so `KeyboardInterrupt` or the
    caller's own exception is raised only once the child is gone and every `finally` inside
    the block has run. Off the main thread (where Python cannot handle signals) the block
    holds nothing back, but a child still gets the caller's signal dispositions.
    """
    global _active
    on_main_thread = threading.current_thread() is threading.main_thread()
    if on_main_thread and _active is not None:
        yield _active
        return
    guard = _Guard()
    if not on_main_thread:
        yield guard
        return
    guard.install()
    _active = guard
    try:
        yield guard
    finally:
        _active = None
        guard.close()


class _Guard:
    """The signal handlers of a `guarded()` block, and the one child they pass signals on to."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._pid: int | None = None
        self._owner = os.getpid()
        self._previous: dict[int, Any] = {}
        self._closed = False
        # Popped by whichever of the handler and `_attach` passes the first signal on: the
        # handler can run between any two lines of `_attach`, and a pop happens only once.
        self._first_unsent = [True]
        self._timers: list[threading.Timer] = []

    def install(self) -> None:
        try:
            for signum in RELAYED_SIGNALS:
                previous = signal.getsignal(signum)
                # Ignored on purpose (nohup, a background job) or set outside Python: not ours.
                if previous in (signal.SIG_IGN, None):
                    continue
                self._previous[signum] = previous
                signal.signal(signum, self._on_signal)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Give the caller its handlers back, then deliver the signal that came, if one did."""
        self._closed = True
        for timer in self._timers:
            timer.cancel()
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        if self.received is not None and self.received in self._previous:
            signal.raise_signal(self.received)

    def start(self, command: Any, argv: Sequence[str], **special: Any) -> Any:
        """Start `command` in the background with sh's `special` arguments; it is our child."""
        return _spawn(command, argv, self._previous, self._attach, **special)

    def adopt(self, pid: int) -> None:
        """Pass signals on to `pid`, a child started before this block (see `held`)."""
        self._attach(pid)

    def wait(self, running: Any) -> None:
        """Wait for the child to end (signals are passed on meanwhile); never leave it running."""
        try:
            running.wait()
        finally:
            self._pid = None
            for timer in self._timers:
                timer.cancel()
            if running.is_alive():  # only if the wait itself failed
                with contextlib.suppress(ProcessLookupError):
                    os.kill(running.pid, signal.SIGKILL)
                running.wait()

    def _attach(self, pid: int) -> None:
        self._pid = pid
        if self.received is not None:
            self._send_first()

    def _on_signal(self, signum: int, frame: object) -> None:
        if os.getpid() != self._owner:
            return  # never: children start with these blocked (see `start`)
        if self._closed:
            # A signal while `close` hands the handlers back: it is the caller's already.
            handler = self._previous[signum]
            signal.signal(signum, handler)
            signal.raise_signal(signum)
            return
        if self.received is None:
            self.received = signum
        elif not self._first_unsent:
            self._send(signum)  # a second signal, once the first was passed on: at once
        if self._pid is not None:
            self._send_first()

    def _send_first(self) -> None:
        try:
            self._first_unsent.pop()
        except IndexError:
            return
        assert self.received is not None
        self._later(_SIGINT_RELAY_SECONDS if self.received == signal.SIGINT else 0.0, self.received)
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
        pid = self._pid
        if pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signum)


def _spawn(
    command: Any,
    argv: Sequence[str],
    handlers: Mapping[int, Any],
    on_started: Callable[[int], None],
    *,
    ignored: frozenset[int] = frozenset(),
    **special: Any,
) -> Any:
    """Start `command` in the background with sh's `special` arguments; it is our child.

    The child gets the signal dispositions of `handlers` (the caller's, where a block of
    ours replaced them; else the current ones): SIG_IGN stays ignored, anything else is the
    default; the signals in `ignored` start ignored whatever the caller's.
    `on_started(pid)` runs before any signal can be handled here.
    """
    import sh

    dispositions: dict[int, Any] = {
        signum: signal.SIG_IGN
        if signum in ignored or handlers.get(signum, signal.getsignal(signum)) == signal.SIG_IGN
        else signal.SIG_DFL
        for signum in RELAYED_SIGNALS
    }
    # Blocked while forking: until the child has its own dispositions, no Python handler
    # of ours may run in it (it would be a second prgcloud). A signal that comes meanwhile
    # waits, then reaches the child (the default action) or us (once `on_started` ran).
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, RELAYED_SIGNALS)
    try:
        running = command(
            *argv,
            _bg=True,
            _bg_exc=False,
            _new_session=False,
            _preexec_fn=_child_setup(dispositions, mask),
            **special,
        )
    except sh.ForkException as error:  # the exec failed: the child sent its traceback
        said = re.search(r"\[Errno \d+\] ([^:\n]+)", str(error))
        raise GcloudNotFoundError(
            f"{command} could not be started ({said.group(1) if said else 'exec failed'}). "
            f"Point {GCLOUD_OVERRIDE_VARIABLE} (or PATH) at the real gcloud."
        ) from None
    else:
        on_started(running.pid)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    return running


def _child_setup(dispositions: Mapping[int, Any], mask: Any) -> Callable[[], None]:
    """What the child does just before it becomes gcloud: the caller's signal set-up back."""

    def setup() -> None:
        for signum, disposition in dispositions.items():
            signal.signal(signum, disposition)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)

    return setup


# --- streams ------------------------------------------------------------------------------------


def _has_fd(stream: IO[Any] | None) -> bool:
    try:
        return stream is not None and stream.fileno() >= 0
    except (AttributeError, OSError, ValueError):
        return False


def _fd_or_copy(stream: IO[Any]) -> Any:
    if _has_fd(stream):
        stream.flush()
        return stream

    def copy(chunk: str | bytes) -> None:  # None: sh stops calling back on a true value
        stream.write(chunk if isinstance(chunk, str) else chunk.decode("utf-8", "replace"))

    return copy


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

    given: Any = stdin if _has_fd(stdin) else None
    if given is None:  # a child reading a pipe nobody closes would wait forever
        given = stdin.read() if stdin is not None else ""
    try:
        running = sh.Command(path)(
            *argv,
            _env=dict(environ),
            _in=given,
            _out=_fd_or_copy(stdout),
            _err=_fd_or_copy(stderr),
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
