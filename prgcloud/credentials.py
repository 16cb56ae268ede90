"""The access token the pre-check sends: always the very token gcloud would send.

Three sources, tried in this order, all driven by the `Identity` the parse layer resolved (no
property is read here again):
1. the access token file (`--access-token-file`, `auth/access_token_file`), as gcloud reads it;
2. gcloud's own token cache, only when it is certain to hold the token gcloud would send;
3. `gcloud auth print-access-token` with the same identity, in the same environment.

A token never appears in an error message: a malformed one is described, not quoted.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import re
import urllib.parse
from collections.abc import Iterator, Mapping
from typing import Any

from prgcloud import files, process
from prgcloud.errors import PrecheckFailedError
from prgcloud.request import Identity

# `off` makes the pre-check always ask `gcloud auth print-access-token` for the token.
TOKEN_CACHE_VARIABLE = "PRGCLOUD_TOKEN_CACHE"
DEFAULT_UNIVERSE = "googleapis.com"
# gcloud refreshes a token about to expire (google-auth: within 3 min 45 s); a cached token
# is used only with more time left than that, and than the check and submission take.
_CACHED_TOKEN_MARGIN = 300.0
# What an OAuth 2.0 bearer token is made of (RFC 6750 `b64token`); anything else (a line
# break, a space, a control character) could never go into an Authorization header.
_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_SKIP = "or skip the check with --skip-precheck."


def access_token(identity: Identity, environ: Mapping[str, str], *, timeout: float = 15.0) -> str:
    """The access token gcloud would send for this identity (PrecheckFailedError if none).

    From the access token file when there is one; else gcloud's own cached token for the
    account, when `cached_token` is sure gcloud would send that very token; else what
    `gcloud auth print-access-token` prints for the same identity, in the same environment.
    """
    if identity.access_token_file:
        return read_token_file(identity.access_token_file)
    if environ.get(TOKEN_CACHE_VARIABLE, "").lower() != "off":
        cached = cached_token(identity)
        if cached:
            return cached
    argv = ["auth", "print-access-token", *identity.gcloud_flags(), "--quiet"]
    captured = process.capture(argv, environ, timeout=timeout)
    lines = captured.stdout.strip().splitlines()
    token = lines[-1].strip() if lines else ""
    if captured.exit_code != 0 or not token:
        said = " ".join(captured.stderr.split()) or f"exit status {captured.exit_code}"
        raise PrecheckFailedError(
            f"no credentials for the pre-check: `gcloud {' '.join(argv)}` failed ({said}). "
            "prgcloud reads the persistent resource as the identity gcloud would submit the "
            "job as, and never as another one. Log in with `gcloud auth login`, choose an "
            "account with --account or --impersonate-service-account, pass "
            f"--access-token-file, {_SKIP}"
        )
    if not _TOKEN.fullmatch(token):
        raise PrecheckFailedError(
            f"no credentials for the pre-check: `gcloud {' '.join(argv)}` printed something "
            f"that is not an access token ({_what_is_wrong(token)}). Run it yourself to see "
            f"what it says, {_SKIP}"
        )
    return token


def read_token_file(path: str) -> str:
    """The token in an access token file, as gcloud reads it (the text, stripped).

    The file must be a regular file or a pipe of at most `files.TOKEN_FILE_LIMIT` bytes,
    holding one token; otherwise PrecheckFailedError (exit 4: no credentials), which
    describes what is wrong without ever quoting the file's text.
    """
    fix = (
        "Point --access-token-file (or CLOUDSDK_AUTH_ACCESS_TOKEN_FILE, or the property "
        f"auth/access_token_file) at a file holding a current token, {_SKIP}"
    )
    try:
        token = files.read_text(path, limit=files.TOKEN_FILE_LIMIT).strip()
    except OSError as error:
        raise PrecheckFailedError(
            f"no credentials for the pre-check: the access token file {path} cannot be read "
            f"({error.strerror or error}). {fix}"
        ) from error
    if not token:
        raise PrecheckFailedError(
            f"no credentials for the pre-check: the access token file {path} is empty. "
            f"Write a current token into it (`gcloud auth print-access-token > FILE`), {_SKIP}"
        )
    if not _TOKEN.fullmatch(token):
        raise PrecheckFailedError(
            f"no credentials for the pre-check: the access token file {path} does not hold "
            f"one access token ({_what_is_wrong(token)}); an access token is one line of "
            f"letters, digits and -._~+/ characters. {fix}"
        )
    return token


def _what_is_wrong(token: str) -> str:
    """Where a malformed token goes wrong, without quoting it."""
    index = next(i for i, c in enumerate(token) if not _TOKEN.fullmatch(c))
    char = token[index]
    if char in "\r\n":
        line = token.count("\n", 0, index) + 1
        return f"it has a line break after line {line}"
    kind = "a space" if char == " " else f"the character U+{ord(char):04X}"
    return f"{kind} at position {index + 1}"


def cached_token(identity: Identity) -> str | None:
    """gcloud's cached access token for the account this command runs as, or None.

    `gcloud auth print-access-token` costs a whole gcloud start (~0.6 s); for a plain login it
    answers from gcloud's token cache (`access_tokens.db` in the configuration directory),
    which gcloud itself sends as long as the token is valid. This reads that cache directly,
    but only when the answer is certain to be gcloud's: an account (`core/account`) that has
    stored credentials, no impersonation, no credential override, credentials not disabled,
    the default universe, and a token valid for `_CACHED_TOKEN_MARGIN` more seconds. In any
    other case, or if the cache is not as expected, None: ask gcloud.
    """
    account = identity.account
    if (
        not account
        or not identity.config_dir
        or identity.impersonate_service_account
        or identity.credential_file_override
        or identity.authorization_token_file
        or identity.disable_credentials
        or (identity.universe_domain or DEFAULT_UNIVERSE) != DEFAULT_UNIVERSE
    ):
        return None
    import sqlite3

    directory = identity.config_dir
    try:
        with _read_only(sqlite3, os.path.join(directory, "credentials.db")) as credentials:
            stored = credentials.execute(
                "SELECT 1 FROM credentials WHERE account_id = ?", (account,)
            ).fetchone()
        if not stored:
            return None
        with _read_only(sqlite3, os.path.join(directory, "access_tokens.db")) as tokens:
            row = tokens.execute(
                "SELECT access_token, token_expiry FROM access_tokens WHERE account_id = ?",
                (account,),
            ).fetchone()
    except sqlite3.Error:
        return None
    if not row or not row[0] or not row[1] or not _TOKEN.fullmatch(str(row[0])):
        return None
    try:
        expiry = datetime.datetime.fromisoformat(str(row[1]))
    except ValueError:
        return None
    if expiry.tzinfo is not None:
        expiry = expiry.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    if (expiry - now).total_seconds() < _CACHED_TOKEN_MARGIN:
        return None
    return str(row[0])


@contextlib.contextmanager
def _read_only(sqlite3: Any, path: str) -> Iterator[Any]:
    """A read-only connection to an existing SQLite file (never creates one)."""
    if not os.path.isfile(path):
        raise sqlite3.OperationalError(f"{path} does not exist")
    uri = f"file:{urllib.parse.quote(os.path.abspath(path))}?mode=ro"
    connection = sqlite3.connect(uri, uri=True, timeout=1.0)
    try:
        yield connection
    finally:
        connection.close()


def describe(identity: Identity) -> str:
    """Who the pre-check acts as, in words for an error message (never the token)."""
    if identity.access_token_file:
        return f"the identity of the token in {identity.access_token_file}"
    if identity.impersonate_service_account:
        return f"service account {identity.impersonate_service_account} (impersonated)"
    if identity.credential_file_override:
        return f"the credentials in {identity.credential_file_override}"
    if identity.account:
        return f"account {identity.account}"
    return "the active gcloud account"
