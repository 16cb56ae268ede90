"""Policy hooks: the user's own executables that see every request before it is sent.

A hook is any executable file in a directory of `PRGCLOUD_POLICY_DIR` (colon-separated, like
PATH) or in `$XDG_CONFIG_HOME/prgcloud/policy.d/` (default `~/.config/prgcloud/policy.d/`).
Hooks run in name order, each with one JSON document on stdin (`document`, described by
`schemas/policy-input.json`): exit 0 allows, anything else refuses, and a hook that has not
ended after 10 s (`PRGCLOUD_POLICY_TIMEOUT`) is killed and refuses. Hooks are never looked
for in the current directory or a repository: a relative entry in `PRGCLOUD_POLICY_DIR` is
ignored (and said so in `notes`), as git keeps hooks out of what a clone brings.

Finding hooks is cheap (a directory listing or two, nothing imported): with no hook
directory, a command pays well under a millisecond. `consult` runs them (through
`prgcloud.process`) and raises `PolicyRefusedError` (exit 8) for any refusal.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prgcloud.errors import BadInputError, PolicyRefusedError

if TYPE_CHECKING:
    from prgcloud.process import HookRun
    from prgcloud.request import JobRequest

DIR_VARIABLE = "PRGCLOUD_POLICY_DIR"
TIMEOUT_VARIABLE = "PRGCLOUD_POLICY_TIMEOUT"
DEFAULT_TIMEOUT = 10.0
_MAX_TIMEOUT = 600.0
DOCUMENT_VERSION = 1
# How much of a refusing hook's message is quoted back (its tail: where the reason usually is).
_QUOTED_AT_MOST = 4000


@dataclass(frozen=True)
class Hook:
    """One policy hook: its file name (what messages call it) and its absolute path."""

    name: str
    path: str


@dataclass(frozen=True)
class Hooks:
    """The hooks found, in the order they run, and what was skipped on the way (for debug)."""

    hooks: tuple[Hook, ...] = ()
    notes: tuple[str, ...] = ()


def directories(environ: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """(the hook directories to read, in order; notes on the entries that were ignored)."""
    found: list[str] = []
    notes: list[str] = []
    for entry in environ.get(DIR_VARIABLE, "").split(os.pathsep):
        if not entry:
            continue
        if not os.path.isabs(entry):
            notes.append(
                f"{DIR_VARIABLE} entry {entry!r} is ignored: it is relative, and hooks are never "
                "taken from the current directory"
            )
            continue
        found.append(entry)
    config = environ.get("XDG_CONFIG_HOME", "")
    if not os.path.isabs(config):  # the XDG spec: a relative value is to be ignored
        home = environ.get("HOME", "")
        config = os.path.join(home, ".config") if os.path.isabs(home) else ""
    if config:
        found.append(os.path.join(config, "prgcloud", "policy.d"))
    return found, notes


def find_hooks(environ: Mapping[str, str]) -> Hooks:
    """Every executable file in the hook directories, in name order (then directory order).

    Hidden files (`.name`) and directories are skipped; a directory that does not exist is
    no error (that is the usual case: no policies).
    """
    dirs, notes = directories(environ)
    hooks: list[tuple[str, int, Hook]] = []
    for rank, directory in enumerate(dirs):
        try:
            entries = list(os.scandir(directory))
        except FileNotFoundError:
            continue
        except OSError as error:
            notes.append(f"policy directory {directory} cannot be read: {error.strerror}")
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = os.path.join(os.path.abspath(directory), entry.name)
            if os.path.isfile(path) and os.access(path, os.X_OK):
                hooks.append((entry.name, rank, Hook(entry.name, path)))
            else:
                notes.append(f"{path} is not an executable file: not a policy hook")
    hooks.sort(key=lambda item: (item[0], item[1]))
    return Hooks(tuple(hook for _name, _rank, hook in hooks), tuple(notes))


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

    `request.body` is the body exactly as gcloud will send it; `persistent_resource` is the
    resource as the pre-check read it (None when there was none to read, or it was skipped).
    `account` is who the request is sent as, never a credential.
    """
    return {
        "version": DOCUMENT_VERSION,
        "command": command,
        "track": request.track,
        "dryRun": request.options.dry_run,
        "project": request.project,
        "region": request.region,
        "request": {"method": "POST", "url": request.url, "body": request.body},
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
    """What the hooks said: warnings (stdout lines of hooks that allowed, with the hook's name),
    the hooks that ran, and notes on what was skipped looking for them (for debug output)."""

    warnings: tuple[tuple[str, str], ...] = ()
    ran: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def gate(
    request: JobRequest,
    environ: Mapping[str, str],
    *,
    command: str,
    persistent_resource: Mapping[str, Any] | None,
    found: Hooks | None = None,
) -> Outcome:
    """Find the hooks (unless `found` already holds them) and run them on this request (see
    `consult`); with none, nothing runs and nothing is imported.

    The one call every path that sends or previews a request makes, after the pre-check and
    before anything is sent or printed.
    """
    found = find_hooks(environ) if found is None else found
    if not found.hooks:
        return Outcome(notes=found.notes)
    who, impersonated = account(request, environ)
    payload = document(
        request,
        command=command,
        persistent_resource=persistent_resource,
        account=who,
        impersonate_service_account=impersonated,
    )
    outcome = consult(found.hooks, payload, environ)
    return Outcome(outcome.warnings, outcome.ran, found.notes)


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
