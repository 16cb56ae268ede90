"""Policy hooks for the verbs that send or preview a request (`create`, `check`).

`consult` is the CLI side of `prgcloud.policy.gate`: it runs the hooks after the pre-check
and before anything is sent or printed, shows an allowing hook's stdout lines as warnings,
and says in `--verbosity=debug` which hooks ran and which places were skipped. A refusal is
`PolicyRefusedError` (exit 8), which the CLI prints.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from prgcloud.environment import Environment

if TYPE_CHECKING:
    from prgcloud.output import Log
    from prgcloud.precheck import Verdict
    from prgcloud.request import JobRequest


def consult(
    request: JobRequest,
    env: Environment,
    *,
    command: str,
    verdict: Verdict | None,
    log: Callable[[], Log],
) -> None:
    """Run the policy hooks on `request`; raise PolicyRefusedError if one refuses.

    `verdict` is the pre-check's (None when none ran): hooks see the resource it read. `log`
    makes the Log for what the hooks said; it is called only when there is something to say.
    """
    from prgcloud import policy  # finding hooks imports nothing but os

    found, notes = policy.find_hooks(env.environ)
    if not (found or notes):
        return
    out = log()
    for note in notes:  # before the hooks run: a refusal must not hide them
        out.debug(f"policy: {note}")
    if not found:
        return
    from prgcloud.policy import run

    outcome = run.gate(
        request,
        env.environ,
        command=command,
        persistent_resource=verdict.resource_body if verdict is not None else None,
        hooks=found,
    )
    out.debug(f"policy: allowed by {', '.join(outcome.ran)}")
    for name, line in outcome.warnings:
        out.warning(f"policy {name}: {line}")


def create_log(request: JobRequest, env: Environment) -> Log:
    """A Log at the verbosity gcloud will run `create` with: the last `--verbosity` among its
    arguments, else the `core/verbosity` property, else `warning`."""
    from prgcloud import output
    from prgcloud.errors import BadInputError
    from prgcloud.gcloud_config import load_properties

    value: str | None = None
    args = request.gcloud_args
    for i, item in enumerate(args):
        if item.startswith("--verbosity="):
            value = item.partition("=")[2]
        elif item == "--verbosity" and i + 1 < len(args):
            value = args[i + 1]
    if value is None:
        properties = load_properties(env.environ, configuration=request.identity.configuration)
        value = properties.get("core/verbosity")
    try:
        level = output.verbosity(value)
    except BadInputError:
        level = "warning"  # gcloud itself will refuse the value; hooks' warnings still show
    return output.Log(env.stderr, level)
