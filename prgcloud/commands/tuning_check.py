"""`prgcloud [alpha|beta] ai hp-tuning-jobs check ARGS...`: validate and pre-check, never submit.

ARGS are those of `prgcloud ai hp-tuning-jobs create`; exit codes and `--format` as for
`custom-jobs check` (`commands.check`).
"""

from __future__ import annotations

from prgcloud import flags, tuning_parse
from prgcloud.commands.check import check
from prgcloud.environment import Environment

COMMAND = "ai hp-tuning-jobs check"
USAGE = (
    "usage: prgcloud [alpha|beta] ai hp-tuning-jobs check ARGS... [--format=FORMAT]\n"
    "ARGS are those of `prgcloud ai hp-tuning-jobs create`; nothing is submitted.\n"
)


def run(argv: list[str], env: Environment, *, track: str | None) -> int:
    """Validate the create arguments and run the pre-check of the trials; print the verdict."""
    return check(
        argv,
        env,
        track=track,
        parse_create=tuning_parse.parse_tuning_create,
        usage=USAGE,
        command=COMMAND,
        table=flags.TUNING_FLAGS,
    )
