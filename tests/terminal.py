"""A pseudo-terminal to run a command in, as a user runs it in a terminal window.

The command is the session leader of a new session whose controlling terminal is the pty, so
everything a terminal does reaches it: Ctrl-C typed on the keyboard (`type("\\x03")`) is a
SIGINT to the foreground process group, closing the window (`hang_up()`) a SIGHUP. Its output
is read continuously (a full pty would block it) and kept.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

_ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


def default_signals() -> None:
    """In a child: SIGINT, SIGTERM and SIGHUP as an interactive shell starts a command, even
    when the test runner ignores them (a background job, nohup)."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


def _take_the_terminal() -> None:
    # runs in the child, after setsid
    default_signals()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """A command running on a fresh pty (stdin, stdout, and stderr unless given)."""

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        *,
        cwd: Path | str | None = None,
        stderr: IO[Any] | int | None = None,
        columns: int = 160,
    ) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
        self._raw = bytearray()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        try:
            self.process = subprocess.Popen(
                list(argv),
                stdin=slave,
                stdout=slave,
                stderr=slave if stderr is None else stderr,
                env=dict(env),
                cwd=cwd,
                start_new_session=True,
                preexec_fn=_take_the_terminal,
            )
        finally:
            os.close(slave)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            if not select.select([self.master], [], [], 0.05)[0]:
                continue
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: every process holding the slave side is gone
                return
            if not chunk:
                return
            with self._lock:
                self._raw += chunk

    @property
    def raw(self) -> bytes:
        """Everything written to the terminal so far, as written (\\r\\n, colours)."""
        with self._lock:
            return bytes(self._raw)

    @property
    def text(self) -> str:
        """What was written, with \\r\\n as \\n and without colours and cursor moves."""
        return _ANSI.sub(b"", self.raw).replace(b"\r\n", b"\n").decode("utf-8", "replace")

    def type(self, keys: str) -> None:
        """Type `keys` on the keyboard ("\\x03" is Ctrl-C)."""
        os.write(self.master, keys.encode())

    def wait_for_text(self, needle: str, timeout: float = 60.0) -> None:
        """Wait until `needle` was written (or the command ended without writing it)."""
        deadline = time.monotonic() + timeout
        while needle not in self.text:
            if self.process.poll() is not None and not self._reader.is_alive():
                raise AssertionError(f"ended without writing {needle!r}:\n{self.text}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} never came:\n{self.text}")
            time.sleep(0.02)

    def wait(self, timeout: float = 120.0) -> int:
        """The command's exit status as a shell reports it (128 + N when signal N killed it)."""
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=timeout)  # the rest of the output
        return code if code >= 0 else 128 - code

    def hang_up(self) -> None:
        """Close the terminal window: the kernel sends SIGHUP to the session's leader."""
        self._stop.set()
        self._reader.join()
        os.close(self.master)
        self.master = -1

    def session(self) -> list[int]:
        """The processes still running in the terminal's session (the command, what it
        started); not the dead ones that init has yet to reap."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
                if state != "Z" and os.getsid(int(entry.name)) == self.process.pid:
                    found.append(int(entry.name))
            except OSError:
                continue  # gone meanwhile
        return found

    def close(self) -> None:
        """Kill whatever still runs in the session and close the terminal (test clean-up)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, 9)
            self.process.wait()
        self._stop.set()
        self._reader.join()
        if self.master >= 0:
            os.close(self.master)
            self.master = -1

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
