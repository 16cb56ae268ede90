"""`prgcloud emulator start|env-init`: run the local Vertex AI emulator, or say how to use it.

    prgcloud emulator start [--host 127.0.0.1] [--port N] [--data-dir DIR]
                            [--provision-seconds S] [--job-duration S]
    prgcloud emulator env-init [--host 127.0.0.1] [--port N]

`start` serves in the foreground until Ctrl-C or SIGTERM, after printing its endpoint and the
`export` lines that point gcloud and prgcloud at it; `env-init` prints only those lines, as
`gcloud beta emulators pubsub env-init` does. The emulator accepts any bearer token; the lines
name a token file prgcloud keeps for it, so gcloud needs no login.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from prgcloud import exit_codes
from prgcloud.environment import Environment
from prgcloud.errors import BadInputError

if TYPE_CHECKING:
    from prgcloud.emulator import Emulator, Settings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8479
TOKEN_TEXT = "prgcloud-emulator-token\n"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_DESCRIPTION = "Run the local Vertex AI emulator, or print how to point gcloud at it."


class _Exit(Exception):
    """argparse finished on its own (`--help`), with this status."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors as BadInputError and prints help to the given stream."""

    def __init__(self, out: TextIO, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._out = out

    def error(self, message: str) -> NoReturn:
        raise BadInputError(f"{self.prog.removeprefix('prgcloud ')}: {message}")

    def print_help(self, file: Any = None) -> None:
        super().print_help(file or self._out)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            self._out.write(message)
        raise _Exit(status)


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is negative")
    return value


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0 picks a free one)")
    return int(text)


def _parser(out: TextIO) -> _Parser:
    parser = _Parser(out, prog="prgcloud emulator", description=_DESCRIPTION)
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="start|env-init")
    start = verbs.add_parser(
        "start", help="run the emulator in the foreground", out=out, prog="prgcloud emulator start"
    )
    env_init = verbs.add_parser(
        "env-init", help="print the export lines", out=out, prog="prgcloud emulator env-init"
    )
    for sub in (start, env_init):
        sub.add_argument("--host", default=DEFAULT_HOST, help="address to listen on (loopback)")
        sub.add_argument(
            "--port", type=_port, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
        )
    start.add_argument("--data-dir", type=Path, help="keep state in SQLite here (else memory)")
    start.add_argument(
        "--provision-seconds",
        type=_non_negative,
        default=5.0,
        help="how long creating or rebooting a persistent resource takes (default 5)",
    )
    start.add_argument(
        "--job-duration",
        type=_non_negative,
        default=600.0,
        help="how long a job runs (default 600); per job: label emulator-duration-seconds",
    )
    start.add_argument("--verbose", action="store_true", help="log every request on stderr")
    return parser


def token_file(environ: Mapping[str, str]) -> Path:
    """Where the emulator's access token file lives (the user's cache directory)."""
    cache = environ.get("XDG_CACHE_HOME") or os.path.join(environ.get("HOME", "."), ".cache")
    return Path(cache) / "prgcloud" / "emulator-access-token"


def _ensure_token_file(environ: Mapping[str, str]) -> Path:
    path = token_file(environ)
    if not path.is_file() or path.read_text() != TOKEN_TEXT:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(TOKEN_TEXT)
    return path


def export_lines(url: str, token: Path) -> list[str]:
    """The shell lines that point gcloud (and prgcloud, which reads the same) at `url`: its
    Vertex AI and its Cloud Logging (`stream-logs` reads the jobs' logs there)."""
    return [
        f"export CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM={url}",
        f"export CLOUDSDK_API_ENDPOINT_OVERRIDES_LOGGING={url}",
        f"export CLOUDSDK_AUTH_ACCESS_TOKEN_FILE={token}",
    ]


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def run(argv: Sequence[str], env: Environment, *, track: str | None) -> int:
    """Run `prgcloud emulator ...`; return the exit status."""
    del track  # the CLI refuses a release track before `emulator`
    try:
        args = _parser(env.stdout).parse_args(list(argv))
    except _Exit as done:
        return done.status
    if args.verb == "env-init":
        token = _ensure_token_file(env.environ)
        env.stdout.write("\n".join(export_lines(_url(args.host, args.port), token)) + "\n")
        return exit_codes.OK
    return _start(args, env)


def _start(args: argparse.Namespace, env: Environment) -> int:
    # imported here so `env-init` and `--help` stay instant
    from prgcloud.emulator import Emulator, Settings

    if args.host not in _LOOPBACK:
        env.stderr.write(
            f"WARNING: listening on {args.host}, not loopback: anyone who can reach it can use"
            " the emulator.\n"
        )
    settings = Settings(provision_seconds=args.provision_seconds, job_duration=args.job_duration)
    data_dir = Path(env.cwd, args.data_dir) if args.data_dir else None
    emulator = _emulator(Emulator, args.host, args.port, data_dir, settings)
    token = _ensure_token_file(env.environ)
    stop = threading.Event()
    with _logging(env.stderr, args.verbose), _stop_on_sigterm(stop.set), _survive_clients():
        try:
            emulator.start()
            state = data_dir if data_dir else "in memory"
            env.stdout.write(
                f"Vertex AI emulator listening on {emulator.url} (state: {state}).\n"
                "Point gcloud and prgcloud at it with:\n\n"
                + "\n".join(export_lines(emulator.url, token))
                + "\n\nPress Ctrl-C to stop.\n"
            )
            env.stdout.flush()
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            emulator.stop()
    env.stderr.write("Vertex AI emulator stopped.\n")
    return exit_codes.OK


def _emulator(
    factory: type[Emulator], host: str, port: int, data_dir: Path | None, settings: Settings
) -> Emulator:
    """Build the emulator, saying which flag is wrong when it cannot be built."""
    if data_dir is not None:
        try:
            data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as error:
            raise BadInputError.at(
                "--data-dir", f"cannot use {data_dir}: {error.strerror or error}"
            ) from None
    try:
        return factory(host, port, data_dir, settings)
    except sqlite3.DatabaseError as error:
        raise BadInputError.at(
            "--data-dir", f"{data_dir} does not hold the emulator's state: {error}"
        ) from None
    except socket.gaierror as error:
        raise BadInputError.at("--host", f"cannot listen on {host}: {error.strerror}") from None
    except OSError as error:
        raise BadInputError.at(
            "--port", f"cannot listen on {host}:{port}: {error.strerror or error}"
        ) from None


@contextmanager
def _stop_on_sigterm(stop: Callable[[], None]) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # signals can only be handled on the main thread
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        stop()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def _survive_clients() -> Iterator[None]:
    """Ignore SIGPIPE while serving.

    The CLI restores SIGPIPE's default action so that `prgcloud ... | head` ends quietly; a
    server must not die when a client hangs up before reading its answer: the write then
    fails with an error the server handles, instead of killing the process.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGPIPE, previous)


@contextmanager
def _logging(stream: TextIO, verbose: bool) -> Iterator[None]:
    logger = logging.getLogger("prgcloud.emulator")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
