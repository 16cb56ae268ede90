"""The only module that talks to the Vertex AI API: read (and list) persistent resources.

It goes through google-cloud-aiplatform's `PersistentResourceServiceClient` over REST, to the
same endpoint and as the same identity gcloud would use, and returns plain camelCase dicts
(int64 as strings, enums as names) for the pure rules to judge. Every way the read can fail
becomes one `PrecheckFailedError` (exit 4) with a paragraph saying what to do.

Speed matters here: the pre-check runs before every submission. Importing the client the
normal way runs `google/cloud/aiplatform_v1/__init__.py`, which imports every service of the
API (~0.6 s). `import_client_class` first tries a guarded fast path that loads only the
client's own submodules (see `_import_fast`), and falls back to the normal import on any
failure. The import runs on a thread while gcloud fetches the access token.
"""

from __future__ import annotations

import contextlib
import datetime
import importlib
import importlib.util
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from prgcloud import process
from prgcloud.errors import PrecheckFailedError
from prgcloud.gcloud_config import load_properties
from prgcloud.request import Identity

# `normal` turns the fast import path off (for measuring it, or as an escape hatch).
SDK_IMPORT_VARIABLE = "PRGCLOUD_SDK_IMPORT"
# `off` makes the pre-check always ask `gcloud auth print-access-token` for the token.
TOKEN_CACHE_VARIABLE = "PRGCLOUD_TOKEN_CACHE"
DEFAULT_UNIVERSE = "googleapis.com"
# gcloud refreshes a token about to expire (google-auth: within 3 min 45 s); a cached token
# is used only with more time left than that, and than the check and submission take.
_CACHED_TOKEN_MARGIN = 300.0

SDK_PACKAGE = "google.cloud.aiplatform_v1"
CLIENT_MODULE = "google.cloud.aiplatform_v1.services.persistent_resource_service.client"
CLIENT_CLASS = "PersistentResourceServiceClient"
# Package `__init__`s the fast path skips. Each imports far more than the client needs; the
# client imports the submodules it needs by their full names, so it works without them.
BYPASSED_PACKAGES = (
    "google.cloud.aiplatform_v1",
    "google.cloud.aiplatform_v1.types",
    "google.cloud.aiplatform_v1.services.persistent_resource_service",
)

GET_PERMISSION = "aiplatform.persistentResources.get"
LIST_PERMISSION = "aiplatform.persistentResources.list"
VIEWER_ROLE = "Vertex AI Viewer (roles/aiplatform.viewer)"

# How many resource names a not-found message lists at most.
_LISTED_AT_MOST = 20


@dataclass(frozen=True)
class Budget:
    """How long the pre-check may take, in seconds; the defaults keep it under 30 s.

    `total` bounds everything from the start of the read: the token, every attempt and every
    pause. Only 429, 503 and timeouts are retried, at most `retries` times, pausing `backoff`
    seconds and doubling (or as long as the server's Retry-After asks, if that fits).
    """

    total: float = 28.0
    attempt: float = 10.0
    token: float = 15.0
    retries: int = 3
    backoff: float = 0.5


# --- importing the SDK ------------------------------------------------------------------


def import_client_class(*, fast: bool = True) -> tuple[type[Any], str]:
    """`PersistentResourceServiceClient` and how it was imported: "fast", "normal" or "fallback".

    Already-imported SDK packages are reused as they are ("normal": someone paid already).
    """
    if not fast or SDK_PACKAGE in sys.modules:
        return _import_normal(), "normal"
    try:
        return _import_fast(), "fast"
    # Any failure at all (a moved module, a changed package layout, a new import-time check)
    # must only cost time, never the pre-check: undo the bypass and import the normal way.
    except Exception:  # noqa: BLE001 - any failure falls back, as the comment above says
        _remove_bypass()
        # The real package first, as a normal import would: submodules the fast attempt left
        # in sys.modules are reused by its __init__ (and must be, as their protobuf types are
        # registered once per process); then link them to their real parents again.
        importlib.import_module(SDK_PACKAGE)
        _relink(SDK_PACKAGE)
        return _import_normal(), "fallback"


def _import_normal() -> type[Any]:
    module = importlib.import_module(CLIENT_MODULE)
    return getattr(module, CLIENT_CLASS)  # type: ignore[no-any-return]


def _import_fast() -> type[Any]:
    """Import the client with the heavy package `__init__`s bypassed.

    Each bypassed package is registered as a real package module (its own spec, `__path__`,
    `__file__`) whose `__init__` has not run yet, so submodules load from it as usual. The
    first time anyone asks such a package for a name that is not a submodule (say
    `from google.cloud.aiplatform_v1 import CustomJob`), its real `__init__` runs in place:
    the package then is what a normal import would have given.
    """
    for name in BYPASSED_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or spec.submodule_search_locations is None:
            raise ImportError(f"{name} is not a package that can be bypassed")
        module = importlib.util.module_from_spec(spec)
        module.__dict__["__getattr__"] = _completer(module)
        module.__dict__["_prgcloud_bypassed"] = True
        sys.modules[name] = module
        parent, _, child = name.rpartition(".")
        if parent in sys.modules:
            setattr(sys.modules[parent], child, module)
    module = importlib.import_module(CLIENT_MODULE)
    client: type[Any] = getattr(module, CLIENT_CLASS)
    return client


def _completer(module: ModuleType) -> Callable[[str], Any]:
    lock = threading.RLock()

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(f"module {module.__name__!r} has no attribute {name!r}")
        submodule = f"{module.__name__}.{name}"
        if submodule in sys.modules:
            return sys.modules[submodule]
        if importlib.util.find_spec(submodule) is not None:
            return importlib.import_module(submodule)
        with lock:
            if module.__dict__.pop("__getattr__", None) is not None:
                module.__dict__.pop("_prgcloud_bypassed", None)
                spec = module.__spec__
                assert spec is not None
                assert spec.loader is not None
                spec.loader.exec_module(module)
        try:
            return module.__dict__[name]
        except KeyError:
            raise AttributeError(f"module {module.__name__!r} has no attribute {name!r}") from None

    return __getattr__


def _relink(package: str) -> None:
    """Make every loaded submodule of `package` an attribute of its parent, as imports do."""
    for name, module in sorted(sys.modules.copy().items()):
        if name.startswith(package + ".") and module is not None:
            parent, _, child = name.rpartition(".")
            if parent in sys.modules and getattr(sys.modules[parent], child, None) is not module:
                setattr(sys.modules[parent], child, module)


def _remove_bypass() -> None:
    for name in BYPASSED_PACKAGES:
        module = sys.modules.get(name)
        if module is not None and module.__dict__.get("_prgcloud_bypassed"):
            del sys.modules[name]
            parent, _, child = name.rpartition(".")
            if parent in sys.modules and getattr(sys.modules[parent], child, None) is module:
                delattr(sys.modules[parent], child)


class _ClientImport:
    """The client import, started once per process on a thread and awaited when needed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._result: tuple[type[Any], str] | None = None
        self._error: BaseException | None = None

    def start(self, *, fast: bool) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, args=(fast,), name="prgcloud-sdk-import", daemon=True
                )
                self._thread.start()

    def _run(self, fast: bool) -> None:
        try:
            self._result = import_client_class(fast=fast)
        except BaseException as error:  # noqa: BLE001 - handed to the waiting thread as it is
            self._error = error

    def result(self, *, fast: bool) -> tuple[type[Any], str]:
        self.start(fast=fast)
        assert self._thread is not None
        self._thread.join()
        if self._error is not None:
            raise PrecheckFailedError(
                f"the Vertex AI SDK (google-cloud-aiplatform) cannot be imported: "
                f"{self._error}. Reinstall prgcloud with its dependencies "
                "(`pip install --force-reinstall prgcloud`)."
            ) from self._error
        assert self._result is not None
        return self._result


_client_import = _ClientImport()


def client_import_path() -> str | None:
    """How this process imported the client ("fast", "normal", "fallback"), None if not yet."""
    result = _client_import._result
    return result[1] if result else None


def _fast_enabled(environ: Mapping[str, str]) -> bool:
    return environ.get(SDK_IMPORT_VARIABLE, "").lower() != "normal"


# --- the access token -------------------------------------------------------------------


def access_token(identity: Identity, environ: Mapping[str, str], *, timeout: float = 15.0) -> str:
    """The access token gcloud would send for this identity.

    From the access token file when one is given (`--access-token-file`, else the property
    `auth/access_token_file` / `CLOUDSDK_AUTH_ACCESS_TOKEN_FILE`); else gcloud's own cached
    token for the account, when `cached_token` is sure gcloud would send that very token; else
    what `gcloud auth print-access-token` prints with the same account, impersonation and
    configuration, in the same environment.
    """
    path = token_file(identity, environ)
    if path:
        return _read_token_file(path)
    if environ.get(TOKEN_CACHE_VARIABLE, "").lower() != "off":
        cached = cached_token(identity, environ)
        if cached:
            return cached
    argv = ["auth", "print-access-token", *identity.gcloud_flags(), "--quiet"]
    captured = process.capture(argv, environ, timeout=timeout)
    token = captured.stdout.strip().splitlines()[-1].strip() if captured.stdout.strip() else ""
    if captured.exit_code != 0 or not token:
        said = " ".join(captured.stderr.split()) or f"exit status {captured.exit_code}"
        raise PrecheckFailedError(
            f"no credentials for the pre-check: `gcloud {' '.join(argv)}` failed ({said}). "
            "prgcloud reads the persistent resource as the identity gcloud would submit the "
            "job as, and never as another one. Log in with `gcloud auth login`, choose an "
            "account with --account or --impersonate-service-account, pass "
            "--access-token-file, or skip the check with --skip-precheck."
        )
    return token


def cached_token(identity: Identity, environ: Mapping[str, str]) -> str | None:
    """gcloud's cached access token for the account this command runs as, or None.

    `gcloud auth print-access-token` costs a whole gcloud start (~0.6 s); for a plain login it
    answers from gcloud's token cache (`access_tokens.db` in the configuration directory),
    which gcloud itself sends as long as the token is valid. This reads that cache directly,
    but only when the answer is certain to be gcloud's: a named account (`--account` or
    `core/account`) that has stored credentials, no impersonation, no credential override,
    the default universe, and a token valid for `_CACHED_TOKEN_MARGIN` more seconds. In any
    other case, or if the cache is not as expected, None: ask gcloud.
    """
    overrides = {"core/account": identity.account} if identity.account else {}
    properties = load_properties(environ, configuration=identity.configuration, overrides=overrides)
    account = properties.get("core/account")
    if (
        not account
        or identity.impersonate_service_account
        or identity.credential_file_override
        or identity.authorization_token_file
        or properties.get("auth/impersonate_service_account")
        or properties.get("auth/credential_file_override")
        or properties.get("auth/authorization_token_file")
        or (properties.get("auth/disable_credentials") or "").lower() in ("1", "true", "yes", "on")
        or (properties.get("core/universe_domain") or DEFAULT_UNIVERSE) != DEFAULT_UNIVERSE
    ):
        return None
    import sqlite3

    directory = properties.config_dir
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
    if not row or not row[0] or not row[1]:
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
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0)
    try:
        yield connection
    finally:
        connection.close()


def _read_token_file(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            token = f.read().strip()
    except OSError as error:
        raise PrecheckFailedError(
            f"no credentials for the pre-check: the access token file {path} cannot be read "
            f"({error.strerror or error}). Point --access-token-file (or "
            "CLOUDSDK_AUTH_ACCESS_TOKEN_FILE, or the property auth/access_token_file) at a "
            "file holding a current token, or skip the check with --skip-precheck."
        ) from error
    if not token:
        raise PrecheckFailedError(
            f"no credentials for the pre-check: the access token file {path} is empty. "
            "Write a current token into it (`gcloud auth print-access-token > FILE`), or skip "
            "the check with --skip-precheck."
        )
    return token


# --- reading persistent resources -------------------------------------------------------


def token_file(identity: Identity, environ: Mapping[str, str]) -> str | None:
    """The access token file gcloud would use for this identity, if any (flag, then property)."""
    if identity.access_token_file:
        return identity.access_token_file
    properties = load_properties(environ, configuration=identity.configuration)
    return properties.get("auth/access_token_file") or None


def _who(identity: Identity, environ: Mapping[str, str]) -> str:
    path = token_file(identity, environ)
    if path:
        return f"the identity of the token in {path}"
    properties = load_properties(environ, configuration=identity.configuration)
    impersonated = identity.impersonate_service_account or properties.get(
        "auth/impersonate_service_account"
    )
    if impersonated:
        return f"service account {impersonated} (impersonated)"
    account = identity.account or properties.get("core/account")
    return f"account {account}" if account else "the active gcloud account"


@dataclass(frozen=True)
class _Target:
    project: str
    region: str
    resource_id: str
    endpoint: str
    identity: Identity
    who: str

    @property
    def parent(self) -> str:
        return f"projects/{self.project}/locations/{self.region}"

    @property
    def name(self) -> str:
        return f"{self.parent}/persistentResources/{self.resource_id}"

    @property
    def where(self) -> str:
        return f"project {self.project}, region {self.region}"


class _Session:
    """A client with a token, within one time budget."""

    def __init__(self, target: _Target, environ: Mapping[str, str], budget: Budget) -> None:
        self.target = target
        self.budget = budget
        self.deadline = time.monotonic() + budget.total
        fast = _fast_enabled(environ)
        _client_import.start(fast=fast)
        token = access_token(target.identity, environ, timeout=min(budget.token, budget.total))
        client_class, _ = _client_import.result(fast=fast)
        from google.oauth2.credentials import Credentials

        self.client = client_class(
            credentials=Credentials(token=token),  # type: ignore[no-untyped-call]  # untyped in google-auth
            transport="rest",
            client_options={"api_endpoint": target.endpoint.rstrip("/")},
        )

    def close(self) -> None:
        """Close the client's HTTP session (its sockets), as `with client:` would."""
        self.client.transport.close()

    def call(self, what: str, method: Callable[..., Any], **kwargs: Any) -> Any:
        """Call `method`, retrying 429/503/timeouts with backoff while the budget lasts."""
        from google.api_core import exceptions as api
        from requests import exceptions as http

        pause = self.budget.backoff
        attempts = 0
        while True:
            attempts += 1
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise self._timed_out(what, attempts - 1, None)
            try:
                return method(timeout=min(self.budget.attempt, remaining), retry=None, **kwargs)
            except (
                api.TooManyRequests,
                api.ServiceUnavailable,
                api.GatewayTimeout,
                http.Timeout,
            ) as error:
                wait = max(pause, _retry_after(error))
                left = self.deadline - time.monotonic()
                if attempts > self.budget.retries or wait >= left:
                    raise self._timed_out(what, attempts, error) from error
                time.sleep(wait)
                pause *= 2

    def _timed_out(self, what: str, attempts: int, error: BaseException | None) -> Exception:
        last = f"; the last answer was: {_describe(error)}" if error else ""
        return PrecheckFailedError(
            f"the Vertex AI API at {self.target.endpoint} did not answer {what} in time "
            f"({attempts} attempt{'s' if attempts != 1 else ''} within "
            f"{self.budget.total:g} s{last}). The service is busy or unreachable; try again "
            "later, or skip the check with --skip-precheck."
        )


def _retry_after(error: BaseException) -> float:
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None) or {}
    try:
        return float(headers.get("Retry-After", 0))
    except (TypeError, ValueError):
        return 0.0


def _describe(error: BaseException) -> str:
    """A short account of an error: the API's status and message, or the socket's complaint."""
    code = getattr(error, "code", None)
    message = getattr(error, "message", None)
    if isinstance(code, int) and message:
        # The SDK prefixes the API's own message with "GET https://...: "; the URL is noise.
        said = re.sub(r"^[A-Z]+ \S+: ", "", " ".join(str(message).split()))
        return f"HTTP {code} {said}"
    text = " ".join(str(error).split())
    # requests wraps urllib3 wraps the socket error; the socket's words are what matter.
    errno = re.search(r"\[Errno -?\d+\][^)\"']*", text)
    if errno:
        return errno.group(0).strip()
    if "timed out" in text.lower():
        return "timed out"
    return text or type(error).__name__


def _to_dict(message: Any) -> dict[str, Any]:
    from google.protobuf import json_format

    pb = type(message).pb(message)
    return dict(json_format.MessageToDict(pb))


def _read_failures() -> tuple[type[BaseException], ...]:
    """What a read can fail with: API answers, auth trouble, HTTP trouble (SDK imported)."""
    from google.api_core import exceptions as api
    from google.auth import exceptions as auth
    from requests import exceptions as http

    return (api.GoogleAPICallError, auth.GoogleAuthError, http.RequestException)


def _translate(
    error: BaseException, target: _Target, session: _Session | None, permission: str
) -> PrecheckFailedError:
    """The one-paragraph error for a failed read."""
    from google.api_core import exceptions as api
    from google.auth import exceptions as auth
    from requests import exceptions as http

    if isinstance(error, api.NotFound):
        return PrecheckFailedError(
            f"persistent resource {target.resource_id!r} was not found in {target.where} "
            f"(at {target.endpoint}). {_listing(session, target)}Check "
            "--persistent-resource-id, --project and --region, or create the resource with "
            "`gcloud ai persistent-resources create`."
        )
    if isinstance(error, (api.Forbidden, api.PermissionDenied)):
        return PrecheckFailedError(
            f"permission denied reading persistent resource {target.resource_id!r} in "
            f"{target.where}: {target.who} needs the IAM permission {permission}, "
            f"which the role {VIEWER_ROLE} grants. Ask a project administrator to grant it, "
            "act as an identity that has it (--account, --impersonate-service-account), or "
            f"skip the check with --skip-precheck. The API said: {_describe(error)}."
        )
    if isinstance(error, (api.Unauthorized, api.Unauthenticated, auth.RefreshError)):
        return PrecheckFailedError(
            f"the Vertex AI API at {target.endpoint} rejected the credentials of "
            f"{target.who} (HTTP 401). The token is invalid or "
            "expired: log in again with `gcloud auth login` (or refresh the access token "
            "file), or skip the check with --skip-precheck."
        )
    if isinstance(error, http.ConnectionError):
        return PrecheckFailedError(
            f"the Vertex AI API at {target.endpoint} cannot be reached ({_describe(error)}). "
            "Check the network and proxy settings and the endpoint override "
            "(api_endpoint_overrides/aiplatform, CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM), "
            "or skip the check with --skip-precheck."
        )
    return PrecheckFailedError(
        f"reading persistent resource {target.resource_id!r} in {target.where} failed: "
        f"{_describe(error)}. Check the request's project and region, or skip the check "
        "with --skip-precheck."
    )


def _listing(session: _Session | None, target: _Target) -> str:
    """A sentence naming the resources that do exist there, or "" when they cannot be listed."""
    if session is None:
        return ""
    failures: tuple[type[BaseException], ...] = (*_read_failures(), PrecheckFailedError)
    try:
        names = list(_names(session, target))
    except failures:
        return ""
    if not names:
        return f"There are no persistent resources in {target.where}. "
    shown = ", ".join(names[:_LISTED_AT_MOST])
    more = f" and {len(names) - _LISTED_AT_MOST} more" if len(names) > _LISTED_AT_MOST else ""
    return f"The persistent resources there are: {shown}{more}. "


def _names(session: _Session, target: _Target) -> Iterator[str]:
    for resource in _list(session, target):
        yield str(resource.get("name", "")).rsplit("/", 1)[-1]


def _list(session: _Session, target: _Target) -> Iterator[dict[str, Any]]:
    page_token = ""
    from google.cloud.aiplatform_v1.types import persistent_resource_service as types

    for _ in range(50):  # a bound on pages, not a real limit
        request = types.ListPersistentResourcesRequest(
            parent=target.parent, page_size=100, page_token=page_token
        )
        # One page per call (the pager answers for its first page), so that every page is
        # fetched within the budget and with retries.
        page = session.call(
            "the list of persistent resources",
            session.client.list_persistent_resources,
            request=request,
        )
        for resource in page.persistent_resources:
            yield _to_dict(resource)
        page_token = page.next_page_token
        if not page_token:
            return


def read_persistent_resource(
    project: str,
    region: str,
    resource_id: str,
    *,
    endpoint: str,
    identity: Identity,
    environ: Mapping[str, str],
    budget: Budget = Budget(),
) -> dict[str, Any]:
    """GET `projects/P/locations/R/persistentResources/ID` as a camelCase dict.

    `endpoint` is gcloud's Vertex AI base URL (see `gcloud_config.aiplatform_endpoint`).
    Raises `PrecheckFailedError` when the resource cannot be read, saying why and what to do.
    """
    target = _Target(project, region, resource_id, endpoint, identity, _who(identity, environ))
    session: _Session | None = None
    try:
        session = _Session(target, environ, budget)
        from google.cloud.aiplatform_v1.types import persistent_resource_service as types

        resource = session.call(
            f"the read of persistent resource {resource_id!r}",
            session.client.get_persistent_resource,
            request=types.GetPersistentResourceRequest(name=target.name),
        )
        return _to_dict(resource)
    except PrecheckFailedError:
        raise
    except _read_failures() as error:
        raise _translate(error, target, session, GET_PERMISSION) from error
    finally:
        if session is not None:
            session.close()


def list_persistent_resources(
    project: str,
    region: str,
    *,
    endpoint: str,
    identity: Identity,
    environ: Mapping[str, str],
    budget: Budget = Budget(),
) -> list[dict[str, Any]]:
    """Every persistent resource in `projects/P/locations/R`, as camelCase dicts."""
    target = _Target(project, region, "-", endpoint, identity, _who(identity, environ))
    session: _Session | None = None
    try:
        session = _Session(target, environ, budget)
        return list(_list(session, target))
    except PrecheckFailedError:
        raise
    except _read_failures() as error:
        raise _translate(error, target, None, LIST_PERMISSION) from error
    finally:
        if session is not None:
            session.close()
