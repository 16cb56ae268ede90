"""`prgcloud [alpha|beta] ai hp-tuning-jobs create ARGS...`: parse, pre-check, then gcloud.

The same path as `custom-jobs create` (`commands.create`), with the tuning job's reader
(`tuning_parse`); the pre-check judges one trial and the parallel trials (`precheck.tuning`).
"""

from __future__ import annotations

from prgcloud import tuning_parse
from prgcloud.commands.create import create
from prgcloud.environment import Environment


def run(argv: list[str], env: Environment, *, track: str | None) -> int:
    """Create the tuning job (or print how, with `--dry-run`); return the exit status."""
    return create(
        argv,
        env,
        track=track,
        parse_create=tuning_parse.parse_tuning_create,
        command=tuning_parse.COMMAND,
    )
