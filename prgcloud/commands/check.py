"""`prgcloud [alpha|beta] ai custom-jobs check ARGS...`: validate and pre-check, never submit.

ARGS are those of `create`. Exit 0 when the job fits (or names no persistent resource),
2 for bad input, 3 when it does not fit, 4 when the pre-check could not be done.
`--format=json` prints the verdict as data on stdout (also when it does not fit).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from prgcloud import exit_codes
from prgcloud.environment import Environment
from prgcloud.errors import BadInputError

FORMATS = ("json", "text")


def split_format(argv: Sequence[str]) -> tuple[str, list[str]]:
    """Take `--format=F` / `--format F` out of argv (it shapes prgcloud's report, not the job)."""
    output = "text"
    rest: list[str] = []
    items = list(argv)
    i = 0
    while i < len(items):
        item = items[i]
        if item == "--":
            rest += items[i:]
            break
        if item.startswith("--format="):
            output = item.partition("=")[2]
        elif item == "--format":
            if i + 1 >= len(items):
                raise BadInputError.at("--format", "expected one argument")
            i += 1
            output = items[i]
        else:
            rest.append(item)
        i += 1
    if output not in FORMATS:
        raise BadInputError.at("--format", f"must be one of {', '.join(FORMATS)}; got {output}")
    return output, rest


def run(argv: list[str], env: Environment, *, track: str | None) -> int:
    """Validate the create arguments and run the pre-check; print the verdict."""
    from prgcloud import parse

    output, rest = split_format(argv)
    if parse.wants_help(rest):
        env.stdout.write(
            "usage: prgcloud [alpha|beta] ai custom-jobs check ARGS... [--format=json]\n"
            "ARGS are those of `prgcloud ai custom-jobs create`; nothing is submitted.\n"
        )
        return exit_codes.OK
    request = parse.parse_create(
        rest, env.environ, track=track, cwd=env.cwd, read_stdin=env.stdin.read
    )
    if request.persistent_resource_id is None or request.options.skip_precheck:
        reason = (
            "--skip-precheck was given"
            if request.options.skip_precheck
            else "the job names no persistent resource"
        )
        if output == "json":
            env.stdout.write(json.dumps({"valid": True, "checked": False, "reason": reason}) + "\n")
        else:
            env.stdout.write(f"The arguments are valid; nothing to pre-check: {reason}.\n")
        return exit_codes.OK

    from prgcloud.precheck.check import JobDoesNotFitError, blocks_submission, evaluate_request
    from prgcloud.precheck.report import format_verdict, verdict_json

    strict = request.options.strict
    verdict = evaluate_request(request, env.environ)
    blocked = blocks_submission(verdict, strict=strict)
    if output == "json":
        document = {"valid": True, "checked": True, **verdict_json(verdict, strict=strict)}
        env.stdout.write(json.dumps(document, indent=2, sort_keys=True) + "\n")
        return exit_codes.DOES_NOT_FIT if blocked else exit_codes.OK
    if blocked:
        raise JobDoesNotFitError(verdict, strict=strict)
    env.stdout.write(format_verdict(verdict, strict=strict) + "\n")
    return exit_codes.OK
