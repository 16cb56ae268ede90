"""Running policy hooks: the document they read, the runner, what their answers mean.

Imported only when `prgcloud.policy.find_hooks` found hooks (see the package's docstring).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prgcloud.errors import BadInputError, PolicyRefusedError
from prgcloud.policy import Hook, find_hooks

if TYPE_CHECKING:
    from prgcloud.process import HookRun
    from prgcloud.request import JobRequest

TIMEOUT_VARIABLE = "PRGCLOUD_POLICY_TIMEOUT"
DEFAULT_TIMEOUT = 10.0
_MAX_TIMEOUT = 600.0
DOCUMENT_VERSION = 1
# How much of a refusing hook's message is quoted back (its tail: where the reason usually is).
_QUOTED_AT_MOST = 4000


def timeout(environ: Mapping[str, str]) -> float:
    """How long each hook may run: `PRGCLOUD_POLICY_TIMEOUT` seconds, default 10."""
    text = environ.get(TIMEOUT_VARIABLE, "").strip()
    if not text:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= _MAX_TIMEOUT:
        raise BadInputError(
            f"{TIMEOUT_VARIABLE} must be a number of seconds between 0 and {_MAX_TIMEOUT:g}, "
            f"not {text!r}. Unset it for the default ({DEFAULT_TIMEOUT:g} s)."
        )
    return seconds


def document(
    request: JobRequest,
    *,
    command: str,
    persistent_resource: Mapping[str, Any] | None,
    account: str | None,
    impersonate_service_account: str | None = None,
) -> dict[str, Any]:
    """The JSON document every hook reads on stdin (`schemas/policy-input.json`).

    `request.body` is the body exactly as gcloud will send it, and `job` the same body as
    Vertex AI reads it (every key camelCase, whatever a --config spelled); for a tuning job,
    `job` is the CustomJob each trial runs (so a rule about custom jobs judges its trials) and
    `hpTuningJob` the tuning job (None for a custom job);
    `persistent_resource` is the resource as the pre-check read it (None when there was none
    to read, or it was skipped).
    `account` is who the request is sent as, never a credential.
    """
    from prgcloud.request import TuningRequest

    job: Mapping[str, Any] = request.service_body
    tuning_job: Mapping[str, Any] | None = None
    if isinstance(request, TuningRequest):
        job, tuning_job = request.trial_body, request.service_body
    return {
        "version": DOCUMENT_VERSION,
        "command": command,
        "track": request.track,
        "dryRun": request.options.dry_run,
        "project": request.project,
        "region": request.region,
        "request": {"method": "POST", "url": request.url, "body": request.body},
        # What to judge: the body as the service reads it. A --config may spell keys in
        # snake_case, which gcloud sends as written; a hook reading only camelCase keys
        # would miss them (e.g. count no GPUs) and let the job through.
        "job": job,
        "hpTuningJob": tuning_job,
        "persistentResource": persistent_resource,
        "account": account,
        "impersonateServiceAccount": impersonate_service_account,
    }


def account(request: JobRequest, environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(the account, the service account it impersonates) that gcloud sends this request as.

    The account is None when a token comes from a file (gcloud then sends whoever the token
    is), or none is configured. Properties are read only here, when there are hooks to tell.
    """
    from prgcloud.gcloud_config import load_properties

    identity = request.identity
    properties = load_properties(environ, configuration=identity.configuration)
    impersonated = identity.impersonate_service_account or properties.get(
        "auth/impersonate_service_account"
    )
    if identity.access_token_file or identity.authorization_token_file:
        return None, impersonated
    return identity.account or properties.get("core/account"), impersonated


@dataclass(frozen=True)
class Outcome:
    """What the hooks said: warnings (stdout lines of hooks that allowed, with the hook's
    name), and the hooks that ran."""

    warnings: tuple[tuple[str, str], ...] = ()
    ran: tuple[str, ...] = ()


def gate(
    request: JobRequest,
    environ: Mapping[str, str],
    *,
    command: str,
    persistent_resource: Mapping[str, Any] | None,
    hooks: Sequence[Hook] | None = None,
) -> Outcome:
    """Run the hooks (`hooks`, else those `find_hooks` finds) on this request (see
    `consult`); with none, nothing runs.

    The one call every path that sends or previews a request makes, after the pre-check and
    before anything is sent or printed.
    """
    if hooks is None:
        hooks = find_hooks(environ)[0]
    if not hooks:
        return Outcome()
    who, impersonated = account(request, environ)
    payload = document(
        request,
        command=command,
        persistent_resource=persistent_resource,
        account=who,
        impersonate_service_account=impersonated,
    )
    return consult(hooks, payload, environ)


def consult(
    hooks: Sequence[Hook], payload: Mapping[str, Any], environ: Mapping[str, str]
) -> Outcome:
    """Run every hook on `payload`; return their warnings if all allow.

    Raises PolicyRefusedError (exit 8) naming every hook that refused, timed out or could not
    be run, with what it said on stderr (or stdout, when stderr is empty).
    """
    if not hooks:
        return Outcome()
    import json

    from prgcloud import process

    seconds = timeout(environ)
    data = (json.dumps(payload, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
    warnings: list[tuple[str, str]] = []
    refusals: list[str] = []
    for hook in hooks:
        ran = process.run_hook(hook.path, data, environ, timeout=seconds)
        if ran.exit_code == 0 and not ran.timed_out:
            warnings += [(hook.name, line) for line in ran.stdout.splitlines() if line.strip()]
            continue
        refusals.append(_refusal(hook, ran, seconds))
    if refusals:
        raise PolicyRefusedError(
            "a policy hook refused the request; nothing was sent.\n" + "\n".join(refusals)
        )
    return Outcome(tuple(warnings), tuple(hook.name for hook in hooks))


def _refusal(hook: Hook, ran: HookRun, seconds: float) -> str:
    if ran.timed_out:
        why = (
            f"it did not finish within {seconds:g} s, so it was stopped; a hook that does not "
            f"answer refuses ({TIMEOUT_VARIABLE} sets the limit)"
        )
    elif ran.failure:
        why = ran.failure
    else:
        why = f"exit {ran.exit_code}"
    said = (ran.stderr.strip() or ran.stdout.strip())[-_QUOTED_AT_MOST:]
    text = f"  {hook.name} ({hook.path}): {why}"
    if said:
        text += "\n" + "\n".join(f"    {line}" for line in said.splitlines())
    return text
