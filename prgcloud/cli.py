"""The command line: find the verb, hand it its arguments, turn errors into exit codes.

This is the only module that prints an error or decides an exit status. Each verb lives in
`prgcloud/commands/<verb>.py` and exposes `run(argv, env) -> int`; they are imported only
when chosen, so `--dry-run` never pays for the Vertex AI SDK.
"""

from __future__ import annotations

import importlib
import signal
import sys
from collections.abc import Sequence

from prgcloud import __version__, exit_codes
from prgcloud.environment import Environment
from prgcloud.errors import PrgcloudError

# (words after the optional release track) -> module under prgcloud.commands
_VERBS: dict[tuple[str, ...], str] = {
    ("ai", "custom-jobs", "create"): "create",
    ("ai", "custom-jobs", "check"): "check",
    ("ai", "persistent-resources", "capacity"): "capacity",
    ("emulator",): "emulator",
    ("shim-path",): "shim_path",
}
_TRACKS = ("alpha", "beta")

USAGE = """\
usage: prgcloud [alpha|beta] ai custom-jobs create ARGS... [--dry-run[=shell|rest|python]]
                                [--skip-precheck] [--wait-for-capacity[=DURATION]] [--strict]
       prgcloud [alpha|beta] ai custom-jobs check ARGS...
       prgcloud ai persistent-resources capacity ID [--region R] [--project P] [--format=json]
       prgcloud emulator start|env-init [--host H] [--port N] [--data-dir DIR]
       prgcloud shim-path

ARGS are exactly those of `gcloud ai custom-jobs create`; see `gcloud ai custom-jobs create --help`.
"""


def find_verb(argv: Sequence[str]) -> tuple[str, str | None, list[str]] | None:
    """Split argv into (command module, release track, the verb's own arguments)."""
    track = None
    words = list(argv)
    if words and words[0] in _TRACKS:
        track, words = words[0], words[1:]
    for prefix, module in _VERBS.items():
        if tuple(words[: len(prefix)]) == prefix:
            if track is not None and prefix[0] != "ai":
                return None
            return module, track, words[len(prefix) :]
    return None


def main(argv: Sequence[str], env: Environment | None = None) -> int:
    """Run prgcloud with `argv` (without the program name); return the exit status."""
    env = env or Environment()
    if not argv:
        env.stderr.write(USAGE)
        return exit_codes.BAD_INPUT
    if argv[0] in ("-h", "--help", "help"):
        env.stdout.write(USAGE)
        return exit_codes.OK
    if argv[0] == "--version":
        env.stdout.write(f"prgcloud {__version__}\n")
        return exit_codes.OK
    found = find_verb(argv)
    if found is None:
        env.stderr.write(f"ERROR: (prgcloud) unknown command: {' '.join(argv[:4])}\n{USAGE}")
        return exit_codes.BAD_INPUT
    module_name, track, rest = found
    module = importlib.import_module(f"prgcloud.commands.{module_name}")
    try:
        status: int = module.run(rest, env, track=track)
    except PrgcloudError as error:
        env.stderr.write(f"ERROR: (prgcloud) {error}\n")
        return error.exit_code
    except KeyboardInterrupt:
        env.stderr.write("\nERROR: (prgcloud) interrupted.\n")
        return exit_codes.INTERRUPTED
    return status


def console_main() -> None:
    """Entry point of the `prgcloud` console script."""
    # A closed pipe (`prgcloud ... | head`) should end quietly, as gcloud does.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    # SIGTERM unwinds like Ctrl-C (gcloud is stopped, temporary files removed), then exits
    # with the conventional 128 + 15.
    signal.signal(signal.SIGTERM, _terminate)
    sys.exit(main(sys.argv[1:]))


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)
