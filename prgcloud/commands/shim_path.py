"""`prgcloud shim-path [--export]`: the directory whose `gcloud` routes `create` through prgcloud.

That directory is `bin/` of a checkout, or `prgcloud/bin/` of an installed wheel (which
force-includes it). Put it first on PATH and `gcloud ai custom-jobs create` is pre-checked;
every other gcloud command is exec'd to the real gcloud unchanged. `--export` prints only
an `export PATH=...` line instead, for `eval "$(prgcloud shim-path --export)"`.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence

from prgcloud import exit_codes
from prgcloud.commands import arguments
from prgcloud.environment import Environment
from prgcloud.errors import PrgcloudError

USAGE = "usage: prgcloud shim-path [--export]"
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def shim_dir(package_dir: str = _PACKAGE_DIR) -> str:
    """The directory holding the `gcloud` shim: the wheel's `prgcloud/bin`, else the checkout's
    `bin/` next to the package."""
    for candidate in (
        os.path.join(package_dir, "bin"),
        os.path.join(os.path.dirname(package_dir), "bin"),
    ):
        shim = os.path.join(candidate, "gcloud")
        if os.path.isfile(shim) and os.access(shim, os.X_OK):
            return os.path.realpath(candidate)
    raise PrgcloudError(
        f"the gcloud shim is not installed next to {package_dir} (looked for bin/gcloud in the "
        "package and beside it). Reinstall prgcloud, or run it from a checkout."
    )


def export_line(directory: str) -> str:
    """A POSIX shell line that puts `directory` first on PATH (safe for `eval`)."""
    return f'export PATH={shlex.quote(directory)}:"$PATH"'


def parse_args(argv: Sequence[str]) -> bool:
    """Whether `--export` was asked for; anything else is bad input."""
    parser = arguments.Parser("prgcloud shim-path", USAGE)
    parser.add_argument("--export", action="store_true")
    return bool(parser.parse(argv).export)


def run(argv: list[str], env: Environment, *, track: str | None) -> int:
    """Print the shim's directory (or, with `--export`, the line that puts it on PATH)."""
    if any(item in ("-h", "--help") for item in argv):
        env.stdout.write(f"{USAGE}\n{__doc__}")
        return exit_codes.OK
    directory = shim_dir()
    env.stdout.write(f"{export_line(directory) if parse_args(argv) else directory}\n")
    return exit_codes.OK
