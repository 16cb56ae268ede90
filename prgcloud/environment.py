"""What the CLI reads from and writes to, bundled so tests can run it in-process."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class Environment:
    """The process's streams, environment variables and working directory.

    The CLI takes one of these instead of touching `sys` and `os.environ`,
    so a test can hand it a dict and two `io.StringIO`s.
    """

    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    cwd: str = field(default_factory=os.getcwd)

    @property
    def stderr_isatty(self) -> bool:
        """Whether stderr is a terminal (live status lines are drawn only there)."""
        isatty = getattr(self.stderr, "isatty", None)
        return bool(isatty and isatty())
