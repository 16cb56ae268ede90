"""Reading the user's files with bounds: what kind of file, how large, how long.

Every file prgcloud reads on the user's say (`--config`, `--flags-file`, the access-token file,
gcloud's own configuration files) goes through `read_text`, so `--config=/dev/zero`, a FIFO
with no writer or a multi-gigabyte file is refused within a moment instead of hanging or
exhausting memory. Callers turn `FileRefusedError` into their own error and exit code.
"""

from __future__ import annotations

import errno
import os
import select
import stat
import time

# Documented limits (docs/limits): a job spec or flags file of more than this is refused.
SPEC_FILE_LIMIT = 4 * 1024 * 1024
# An access token is a few KiB at most; gcloud's property files are small INI files.
TOKEN_FILE_LIMIT = 64 * 1024
PROPERTIES_FILE_LIMIT = 1024 * 1024
# How long a pipe (`--config <(envsubst < job.yaml)`) may take to deliver all of its text, and
# to say anything at all: a FIFO that nobody writes to is refused within a second.
PIPE_SECONDS = 10.0
PIPE_FIRST_SECONDS = 1.0
_CHUNK = 65536


class FileRefusedError(OSError):
    """The file cannot be read within the bounds; `strerror` says why, as a clause."""


def read_text(path: str, *, limit: int, pipe_seconds: float = PIPE_SECONDS) -> str:
    """The UTF-8 text of the regular file or pipe at `path`, at most `limit` bytes.

    Raises `FileRefusedError` for anything else (a directory, a device such as /dev/zero, a
    socket), for a file larger than `limit`, for a pipe that does not finish within
    `pipe_seconds`, and for text that is not UTF-8; `OSError` (FileNotFoundError, ...) when
    the file cannot be opened at all.
    """
    # O_NONBLOCK: opening a FIFO that has no writer must not block.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISREG(mode):
            os.set_blocking(fd, True)
            data = _read_regular(fd, limit)
        elif stat.S_ISFIFO(mode):
            data = _read_pipe(fd, limit, pipe_seconds)
        else:
            raise FileRefusedError(
                errno.EINVAL, f"it is not a regular file or a pipe ({_kind(mode)})"
            )
    finally:
        os.close(fd)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise FileRefusedError(
            errno.EINVAL, f"it is not UTF-8 text (byte {error.start} is {data[error.start]:#04x})"
        ) from None


def _read_regular(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = os.read(fd, _CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise FileRefusedError(errno.EFBIG, f"it is larger than {_size(limit)}")
        chunks.append(chunk)


def _read_pipe(fd: int, limit: int, seconds: float) -> bytes:
    chunks: list[bytes] = []
    size = 0
    started = time.monotonic()
    deadline = started + seconds
    first = started + min(seconds, PIPE_FIRST_SECONDS)
    while True:
        left = (deadline if chunks else first) - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            if not chunks:
                raise FileRefusedError(
                    errno.ETIMEDOUT,
                    f"the pipe said nothing within {min(seconds, PIPE_FIRST_SECONDS):g} s "
                    "(is anything writing to it?)",
                )
            raise FileRefusedError(
                errno.ETIMEDOUT, f"the pipe did not deliver all of its text within {seconds:g} s"
            )
        try:
            chunk = os.read(fd, _CHUNK)
        except BlockingIOError:
            continue
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise FileRefusedError(errno.EFBIG, f"it is larger than {_size(limit)}")
        chunks.append(chunk)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a plain file"


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{limit // 1024} KiB"
