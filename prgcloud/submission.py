"""Hand a checked request to the real gcloud: the generated config file, then the process.

The config file (when gcloud cannot take the job on its command line) is private (0600),
lives only while gcloud runs, and is removed on every way out: success, failure, Ctrl-C,
SIGTERM, SIGHUP. Signals are held back (`process.guarded`) from before the file exists until
it is gone; one that came then reaches the caller's handler only after that.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from typing import IO, Any

from prgcloud import process
from prgcloud.request import JobRequest


@contextlib.contextmanager
def config_file(request: JobRequest) -> Iterator[str | None]:
    """The path of the request's generated `--config` file while the block runs, else None."""
    if request.config_yaml is None:
        yield None
        return
    fd, path = tempfile.mkstemp(prefix="prgcloud-job-", suffix=".yaml")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(request.config_yaml)
        yield path
    finally:
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
