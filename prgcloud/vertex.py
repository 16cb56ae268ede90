"""The only module that talks to the Vertex AI API: read (and list) persistent resources, read
their long-running operations, and list custom jobs and hyperparameter tuning jobs.

It reads through the Vertex AI SDK, each read within a wall-clock deadline; `prgcloud.sdk`
imports the SDK's client and `prgcloud.credentials` finds the token, the one gcloud would send.

`Reader` holds one client (the SDK's `PersistentResourceServiceClient` over REST, at the endpoint
and with the token of the identity gcloud would use) and reads through it; a wait reuses one
Reader for all of its polls. Answers come back as plain camelCase dicts (int64 as strings,
enums as names) for the pure rules to judge.

Every way a read can fail becomes one `PrecheckFailedError` (exit 4) with a paragraph saying
what to do. Failures that waiting may cure (the API unreachable or timing out, 429, 5xx) are
its subclass `ApiUnavailableError`: a wait counts them as missed polls until its deadline.

Deadlines are wall-clock. A socket timeout bounds each wait for a byte, not an answer that
drips one byte a second, so each HTTP exchange runs on a worker thread that the caller waits
for only until its deadline. When the deadline passes, the sockets of the client's session
are shut down, which ends the worker's blocking read at once (an adapter mounted on the
session records each connection's socket); the caller does not depend on that, though: it
stops waiting at the deadline whatever the worker is doing (e.g. stuck in a DNS lookup).
"""

from __future__ import annotations

import contextlib
import functools
import re
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from prgcloud import credentials, sdk
from prgcloud.durations import DurationError, parse_duration
from prgcloud.errors import (
    ApiUnavailableError,
    BadInputError,
    NotFoundError,
    PrecheckFailedError,
)
from prgcloud.request import Identity

# How long one pre-check read may take in all (token, attempts, pauses), as a duration.
TIMEOUT_VARIABLE = "PRGCLOUD_PRECHECK_TIMEOUT"

GET_PERMISSION = "aiplatform.persistentResources.get"
LIST_PERMISSION = "aiplatform.persistentResources.list"
JOBS_LIST_PERMISSION = "aiplatform.customJobs.list"
TUNING_JOBS_LIST_PERMISSION = "aiplatform.hyperparameterTuningJobs.list"
OPERATION_PERMISSION = "aiplatform.operations.get"
VIEWER_ROLE = "Vertex AI Viewer (roles/aiplatform.viewer)"

# How many resource names a not-found message lists at most.
_LISTED_AT_MOST = 20
# A token older than this is fetched again when the API rejects it (it may have expired
# during a long wait); a younger one is simply wrong.
_TOKEN_STALE_AFTER = 300.0
_SKIP = "or skip the check with --skip-precheck."

T = TypeVar("T")


@dataclass(frozen=True)
class Budget:
    """How long a read may take, in seconds; the defaults keep it under 30 s.

    `total` bounds everything from the start of the read: the token, every attempt and every
    pause. `attempt` bounds one HTTP exchange, by the wall clock. Only 429, 502, 503, 504 and
    timeouts are retried, at most `retries` times, pausing `backoff` seconds and doubling (or
    as long as the server's Retry-After asks, if that fits).
    """

    total: float = 28.0
    attempt: float = 10.0
    token: float = 15.0
    retries: int = 3
    backoff: float = 0.5

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Budget:
        """The default budget, or one of `PRGCLOUD_PRECHECK_TIMEOUT` in all (`20s`, `2m`)."""
        text = environ.get(TIMEOUT_VARIABLE)
        if not text:
            return cls()
        try:
            total = parse_duration(text)
        except DurationError as error:
            raise BadInputError.at(
                TIMEOUT_VARIABLE, f"expected a duration like 20s or 2m, not {text!r} ({error})."
            ) from None
        total = max(total, 0.1)
        return cls(total=total, attempt=min(cls.attempt, total), token=min(cls.token, total))


@dataclass(frozen=True)
class Location:
    """Where reads go and as whom: `projects/P/locations/R` at `endpoint`, as `identity`."""

    project: str
    region: str
    endpoint: str
    identity: Identity = field(default_factory=Identity)

    @property
    def parent(self) -> str:
        """`projects/P/locations/R`."""
        return f"projects/{self.project}/locations/{self.region}"

    @property
    def where(self) -> str:
        """The location in words."""
        return f"project {self.project}, region {self.region}"


class Reader:
    """A client and its token for one location; reads with deadlines, `close()` when done.

    The token is fetched and the client built on the first read, within that read's budget;
    listing jobs builds a second client (the SDK's `JobServiceClient`) on the same token.
    `escape` ends each failure's paragraph: how to go on without the read.
    """

    def __init__(
        self,
        location: Location,
        environ: Mapping[str, str],
        budget: Budget | None = None,
        *,
        escape: str = _SKIP,
    ) -> None:
        self.location = location
        self.environ = environ
        self.budget = budget or Budget.from_environ(environ)
        self.escape = escape
        self.who = credentials.describe(location.identity)
        self._client: Any = None
        self._jobs_client: Any = None
        self._token = ""
        self._token_time = 0.0
        self._sockets = _Sockets()

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the client's HTTP session (its sockets)."""
        self._sockets.shutdown()
        for client in (self._client, self._jobs_client):
            if client is not None:
                client.transport.close()
        self._client = self._jobs_client = None

    def get(
        self, resource_id: str, *, retry: bool = True, until: float | None = None
    ) -> dict[str, Any]:
        """GET `parent/persistentResources/ID` as a camelCase dict.

        `retry=False` makes a single attempt (a wait polls again by itself); `until` (a
        `time.monotonic()` value) ends the read then at the latest, budget or not.
        """
        name = f"{self.location.parent}/persistentResources/{resource_id}"
        what = f"the read of persistent resource {resource_id!r}"
        read = Read(self, what, GET_PERMISSION, resource_id, retry=retry, until=until)
        answer = read.call("get_persistent_resource", "GetPersistentResourceRequest", name=name)
        resource = read.to_dict(answer)
        if not str(resource.get("name", "")).endswith(f"/persistentResources/{resource_id}"):
            raise read.malformed("an answer that is not that persistent resource")
        return resource

    def get_operation(
        self, name: str, resource_id: str, *, until: float | None = None
    ) -> dict[str, Any]:
        """GET long-running operation `name` (one on persistent resource `resource_id`), in
        one attempt: `{"name", "done", "error": {"code", "message"}}`, `error` only when it
        failed."""
        what = f"the read of operation {name}"
        read = Read(self, what, OPERATION_PERMISSION, resource_id, retry=False, until=until)
        answer = read.call("get_operation", "GetOperationRequest", name=name)
        operation: dict[str, Any] = {"name": answer.name, "done": answer.done}
        if answer.HasField("error"):
            operation["error"] = {"code": answer.error.code, "message": answer.error.message}
        return operation

    def list_custom_jobs(
        self, filter_text: str = "", *, until: float | None = None
    ) -> list[dict[str, Any]]:
        """The custom jobs of the location that the API's list `filter_text` keeps (e.g.
        `state="JOB_STATE_RUNNING"`), as camelCase dicts."""
        read = Read(
            self,
            "the list of custom jobs",
            JOBS_LIST_PERMISSION,
            "-",
            until=until,
            jobs=True,
        )
        return list(read.pages("list_custom_jobs", "customJobs", filter=filter_text))

    def list_hp_tuning_jobs(
        self, filter_text: str = "", *, until: float | None = None
    ) -> list[dict[str, Any]]:
        """The hyperparameter tuning jobs of the location that the API's list `filter_text`
        keeps (e.g. `state="JOB_STATE_RUNNING"`), as camelCase dicts, trials included."""
        read = Read(
            self,
            "the list of hyperparameter tuning jobs",
            TUNING_JOBS_LIST_PERMISSION,
            "-",
            until=until,
            jobs=True,
        )
        return list(
            read.pages(
                "list_hyperparameter_tuning_jobs", "hyperparameterTuningJobs", filter=filter_text
            )
        )

    def list(self, *, until: float | None = None) -> list[dict[str, Any]]:
        """Every persistent resource of the location, as camelCase dicts."""
        read = Read(self, "the list of persistent resources", LIST_PERMISSION, "-", until=until)
        return list(read.pages("list_persistent_resources", "persistentResources"))

    # --- used by Read ---

    def _connect(self, seconds: float, *, fresh: bool = False, jobs: bool = False) -> Any:
        """The client (the job service's with `jobs`), with a token gcloud would send
        (fetched within `seconds`)."""
        client = self._jobs_client if jobs else self._client
        if client is not None and not fresh:
            return client
        if fresh or not self._token:
            if not jobs:
                sdk.start_client_import(self.environ)  # overlaps the token fetch
            token = credentials.access_token(
                self.location.identity,
                self.environ,
                timeout=max(0.1, min(self.budget.token, seconds)),
            )
            self.close()
            self._token, self._token_time = token, time.monotonic()
        client_class = sdk.jobs_client_class() if jobs else sdk.client_class(self.environ)
        from google.oauth2.credentials import Credentials

        client = client_class(
            credentials=Credentials(token=self._token),  # type: ignore[no-untyped-call]  # untyped in google-auth
            transport="rest",
            client_options={"api_endpoint": self.location.endpoint.rstrip("/")},
        )
        session = getattr(client.transport, "_session", None)
        _mount_socket_tracker(session, self._sockets)
        if jobs:
            self._jobs_client = client
        else:
            self._client = client
        return client

    def _token_is_stale(self) -> bool:
        return time.monotonic() - self._token_time > _TOKEN_STALE_AFTER

    def _scrub(self, text: str) -> str:
        """`text` without the token in it (a server may echo the Authorization header)."""
        return text.replace(self._token, "[the access token]") if self._token else text


class Read:
    """One read: its deadline, its attempts, and the paragraph for each way it can fail."""

    def __init__(
        self,
        reader: Reader,
        what: str,
        permission: str,
        resource_id: str,
        *,
        retry: bool = True,
        until: float | None = None,
        jobs: bool = False,
    ) -> None:
        self.reader = reader
        self.jobs = jobs
        self.what = what
        self.permission = permission
        self.resource_id = resource_id
        self.retry = retry
        self.started = time.monotonic()
        self.deadline = self.started + reader.budget.total
        if until is not None:
            self.deadline = min(self.deadline, until)

    @property
    def endpoint(self) -> str:
        return self.reader.location.endpoint

    def call(self, method: str, request_type: str, **fields: Any) -> Any:
        """`client.METHOD(REQUEST_TYPE(**fields))` within the deadline, retried as budgeted.

        The request is built once the client is there: importing the SDK's types before
        the client would import the whole SDK the slow way.
        """
        budget = self.reader.budget
        pause = budget.backoff
        attempts = 0
        refreshed = False
        while True:
            attempts += 1
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise self._too_slow(attempts - 1, None)
            try:
                client = self.reader._connect(remaining, jobs=self.jobs)
                request = _request(request_type, jobs=self.jobs, **fields)
                seconds = min(budget.attempt, self.deadline - time.monotonic())
                if seconds <= 0:  # the token took all the time there was
                    raise _DeadlineExceeded(0.0)
                call = functools.partial(
                    getattr(client, method), request=request, timeout=seconds, retry=None
                )
                return self._bounded(call, seconds)
            except Failures.retryable() as error:
                wait = max(pause, _retry_after(error))
                if not self.retry or attempts > budget.retries or wait >= self._left():
                    raise self._translate(error, attempts) from error
                time.sleep(wait)
                pause *= 2
            except Failures.unauthenticated() as error:
                # A token that has grown old in a long wait may have expired: fetch it again, once.
                if refreshed or not self.reader._token_is_stale():
                    raise self._translate(error, attempts) from error
                self.reader._connect(self._left(), fresh=True, jobs=self.jobs)
                refreshed = True
            except Failures.all() as error:
                raise self._translate(error, attempts) from error

    def pages(self, method: str, items: str, **fields: Any) -> Iterator[dict[str, Any]]:
        """The items of list `method` (`list_custom_jobs`), one page per call (each within the
        deadline, with retries); `items` is the answer's list (`customJobs`)."""
        request_type = "List" + method.split("_", 1)[1].title().replace("_", "") + "Request"
        page_token = ""
        for _ in range(50):  # a bound on pages, not a real limit
            # The pager's first page is this one call's answer; its later pages are not fetched.
            page = self.call(
                method,
                request_type,
                parent=self.reader.location.parent,
                page_size=100,
                page_token=page_token,
                **fields,
            )
            for item in getattr(page, _snake(items)):
                yield self.to_dict(item)
            page_token = page.next_page_token
            if not page_token:
                return

    def to_dict(self, message: Any) -> dict[str, Any]:
        """An SDK message as a camelCase dict."""
        from google.protobuf import json_format

        pb = type(message).pb(message)
        return dict(json_format.MessageToDict(pb))

    def _left(self) -> float:
        return self.deadline - time.monotonic()

    def _bounded(self, call: Callable[[], T], seconds: float) -> T:
        """`call()` on a worker thread; give up on it after `seconds` by the wall clock."""
        outcome: dict[str, Any] = {}
        done = threading.Event()

        def run() -> None:
            try:
                outcome["value"] = call()
            except BaseException as error:  # noqa: BLE001 - handed to the caller as it is
                outcome["error"] = error
            finally:
                done.set()

        worker = threading.Thread(target=run, name="prgcloud-read", daemon=True)
        worker.start()
        try:
            finished = done.wait(max(0.0, seconds))
        finally:
            if not done.is_set():  # the deadline passed, or Ctrl-C: end the read now
                self.reader._sockets.shutdown()
        if not finished:
            raise _DeadlineExceeded(seconds)
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]  # type: ignore[no-any-return]

    # --- what went wrong, in one paragraph ---

    def malformed(self, what: str) -> PrecheckFailedError:
        """The API answered, but not with what was asked for: it cannot be judged."""
        return PrecheckFailedError(
            f"the Vertex AI API at {self.endpoint} answered {self.what} with {what}, which "
            "prgcloud cannot judge the job against. Check that the endpoint is Vertex AI "
            "(api_endpoint_overrides/aiplatform, CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM) "
            f"and that no proxy answers in its place, {self.reader.escape}"
        )

    def _too_slow(self, attempts: int, error: BaseException | None) -> ApiUnavailableError:
        seconds = time.monotonic() - self.started
        last = f"; the last answer was: {self.describe(error)}" if error else ""
        plural = "s" if attempts != 1 else ""
        return ApiUnavailableError(
            f"the Vertex AI API at {self.endpoint} did not answer {self.what} in time "
            f"({attempts} attempt{plural} within {seconds:.0f} s{last}). The service is busy "
            f"or unreachable; try again later, {self.reader.escape}",
            reason=f"no answer within {seconds:.0f} s",
        )

    def _translate(self, error: BaseException, attempts: int) -> PrecheckFailedError:
        """The one-paragraph error for a failed read."""
        from google.api_core import exceptions as api
        from requests import exceptions as http

        location = self.reader.location
        described = self.describe(error)
        if isinstance(error, api.NotFound):
            return NotFoundError(
                f"persistent resource {self.resource_id!r} was not found in {location.where} "
                f"(at {self.endpoint}). {self._listing()}Check --persistent-resource-id, "
                "--project and --region, or create the resource with "
                "`gcloud ai persistent-resources create`."
            )
        if isinstance(error, (api.Forbidden, api.PermissionDenied)):
            what = ""
            if self.resource_id == "-":
                # "the list of custom jobs" -> "the custom jobs of"
                what = self.what.replace("the list of ", "the ") + " of"
            subject = what or f"persistent resource {self.resource_id!r} in"
            return PrecheckFailedError(
                f"permission denied reading {subject} {location.where}: {self.reader.who} "
                f"needs the IAM permission {self.permission}, which the role {VIEWER_ROLE} "
                "grants. Ask a project administrator to grant it, act as an identity that has "
                f"it (--account, --impersonate-service-account), {self.reader.escape} "
                f"The API said: {described}."
            )
        if isinstance(error, Failures.unauthenticated()):
            return PrecheckFailedError(
                f"the Vertex AI API at {self.endpoint} rejected the credentials of "
                f"{self.reader.who} (HTTP 401). The token is invalid or expired: log in again "
                f"with `gcloud auth login` (or refresh the access token file), {self.reader.escape}"
            )
        if isinstance(error, (_DeadlineExceeded, http.Timeout)) or (
            isinstance(error, Failures.retryable()) and attempts > 1
        ):
            return self._too_slow(attempts, error)
        if isinstance(error, http.ConnectionError):
            return ApiUnavailableError(
                f"the Vertex AI API at {self.endpoint} cannot be reached ({described}). "
                "Check the network and proxy settings and the endpoint override "
                "(api_endpoint_overrides/aiplatform, CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM), "
                f"{self.reader.escape}",
                reason=f"API unreachable ({described})",
            )
        if isinstance(error, Failures.transient_answers()):
            return ApiUnavailableError(
                f"the Vertex AI API at {self.endpoint} could not answer {self.what} now: "
                f"{described}. The service is busy or having trouble; try again later, "
                f"{self.reader.escape}",
                reason=f"API answered HTTP {getattr(error, 'code', '?')}",
                retry_after=_retry_after(error),
            )
        if isinstance(error, Failures.unparsable()):
            return self.malformed(f"something that is not Vertex AI's JSON ({described})")
        return PrecheckFailedError(
            f"reading persistent resource {self.resource_id!r} in {location.where} failed: "
            f"{described}. Check the request's project and region, {self.reader.escape}"
        )

    def describe(self, error: BaseException) -> str:
        return self.reader._scrub(_describe(error))

    def _listing(self) -> str:
        """A sentence naming the resources that do exist there, or "" when they cannot be listed."""
        lister = Read(
            self.reader, "the list", LIST_PERMISSION, "-", until=self.deadline, retry=False
        )
        failures: tuple[type[BaseException], ...] = (*Failures.all(), PrecheckFailedError)
        try:
            names = [
                str(r.get("name", "")).rsplit("/", 1)[-1]
                for r in lister.pages("list_persistent_resources", "persistentResources")
            ]
        except failures:
            return ""
        if not names:
            return f"There are no persistent resources in {self.reader.location.where}. "
        shown = ", ".join(names[:_LISTED_AT_MOST])
        more = f" and {len(names) - _LISTED_AT_MOST} more" if len(names) > _LISTED_AT_MOST else ""
        return f"The persistent resources there are: {shown}{more}. "


def _request(type_name: str, *, jobs: bool = False, **fields: Any) -> Any:
    if type_name == "GetOperationRequest":  # a plain protobuf, as the SDK's mixin takes it
        from google.longrunning import operations_pb2

        return operations_pb2.GetOperationRequest(**fields)
    if jobs:
        from google.cloud.aiplatform_v1.types import job_service as types
    else:
        from google.cloud.aiplatform_v1.types import persistent_resource_service as types  # type: ignore[no-redef]

    return getattr(types, type_name)(**fields)


def _snake(name: str) -> str:
    """`customJobs` -> `custom_jobs`."""
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


class _DeadlineExceeded(Exception):
    """An HTTP exchange outlived its wall-clock deadline."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"timed out: no answer within {seconds:.1f} s")


class Failures:
    """The exception classes a read can fail with, by kind (imported only with the SDK)."""

    @staticmethod
    def retryable() -> tuple[type[BaseException], ...]:
        """Worth another attempt within the same read."""
        from google.api_core import exceptions as api
        from requests import exceptions as http

        return (
            api.TooManyRequests,
            api.BadGateway,
            api.ServiceUnavailable,
            api.GatewayTimeout,
            http.Timeout,
            _DeadlineExceeded,
        )

    @staticmethod
    def transient_answers() -> tuple[type[BaseException], ...]:
        """API answers that waiting may change: throttling and server trouble."""
        from google.api_core import exceptions as api

        return (api.TooManyRequests, api.ServerError)

    @staticmethod
    def unauthenticated() -> tuple[type[BaseException], ...]:
        from google.api_core import exceptions as api
        from google.auth import exceptions as auth

        return (api.Unauthorized, api.Unauthenticated, auth.RefreshError)

    @staticmethod
    def unparsable() -> tuple[type[BaseException], ...]:
        """A 2xx answer that is not the message asked for (HTML, `null`, truncated JSON)."""
        from google.protobuf import json_format

        # The SDK parses the body with protobuf's json_format, which raises ParseError for
        # anything but a JSON object of the right shape, and UnicodeDecodeError for bytes
        # that are not UTF-8.
        return (json_format.Error, UnicodeDecodeError)

    @staticmethod
    def all() -> tuple[type[BaseException], ...]:
        from google.api_core import exceptions as api
        from google.auth import exceptions as auth
        from requests import exceptions as http

        return (
            api.GoogleAPICallError,
            auth.GoogleAuthError,
            http.RequestException,
            _DeadlineExceeded,
            *Failures.unparsable(),
        )


def _retry_after(error: BaseException) -> float:
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None) or {}
    try:
        return max(0.0, float(headers.get("Retry-After", 0)))
    except (TypeError, ValueError):
        return 0.0


def _describe(error: BaseException) -> str:
    """A short account of an error: the API's status and message, or the socket's complaint."""
    if isinstance(error, _DeadlineExceeded):
        return str(error)
    code = getattr(error, "code", None)
    message = getattr(error, "message", None)
    if isinstance(code, int) and message:
        # The SDK prefixes the API's own message with "GET https://...: "; the URL is noise.
        said = re.sub(r"^[A-Z]+ \S+: ", "", " ".join(str(message).split()))
        return f"HTTP {code} {said[:300]}"
    text = " ".join(str(error).split())
    # requests wraps urllib3 wraps the socket error; the socket's words are what matter.
    errno = re.search(r"\[Errno -?\d+\][^)\"']*", text)
    if errno:
        return errno.group(0).strip()
    if "timed out" in text.lower():
        return "timed out"
    return text[:300] or type(error).__name__


class _Sockets:
    """The live sockets of one client's HTTP session, to be shut down when a deadline passes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: weakref.WeakSet[socket.socket] = weakref.WeakSet()

    def add(self, sock: socket.socket | None) -> None:
        if sock is not None:
            with self._lock:
                self._live.add(sock)

    def shutdown(self) -> None:
        """Shut every socket down: a read blocked on one returns at once."""
        with self._lock:
            live = list(self._live)
            self._live.clear()
        for sock in live:
            # The plain socket's shutdown, also under TLS: SSLSocket.shutdown would also drop
            # its TLS state, which the blocked reader is still using. OSError: already closed.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _mount_socket_tracker(session: Any, sockets: _Sockets) -> None:
    """Mount an adapter on the SDK's `requests` session that records each socket it opens.

    Should the SDK no longer expose its session, reads are still bounded (the caller stops
    waiting at the deadline); only the abandoned read then lingers until its socket times out.
    """
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3 import connection, connectionpool

    if not isinstance(session, requests.Session):
        return

    class TrackedHTTPConnection(connection.HTTPConnection):
        def connect(self) -> None:
            super().connect()
            sockets.add(self.sock)

    class TrackedHTTPSConnection(connection.HTTPSConnection):
        def connect(self) -> None:
            super().connect()
            sockets.add(self.sock)

    class TrackedHTTPPool(connectionpool.HTTPConnectionPool):
        ConnectionCls = TrackedHTTPConnection

    class TrackedHTTPSPool(connectionpool.HTTPSConnectionPool):
        ConnectionCls = TrackedHTTPSConnection

    standard = {
        "http": connectionpool.HTTPConnectionPool,
        "https": connectionpool.HTTPSConnectionPool,
    }
    tracked = {"http": TrackedHTTPPool, "https": TrackedHTTPSPool}

    def track(manager: Any) -> Any:
        # Only the standard pools are swapped: a SOCKS proxy's pools stay as they are (its
        # reads are then bounded without the sockets being shut down).
        if getattr(manager, "pool_classes_by_scheme", None) == standard:
            manager.pool_classes_by_scheme = tracked
        return manager

    class TrackingAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            track(self.poolmanager)

        def proxy_manager_for(self, *args: Any, **kwargs: Any) -> Any:
            return track(super().proxy_manager_for(*args, **kwargs))

    adapter = TrackingAdapter()
    session.mount("https://", adapter)
    session.mount("http://", adapter)


def read_persistent_resource(
    project: str,
    region: str,
    resource_id: str,
    *,
    endpoint: str,
    identity: Identity,
    environ: Mapping[str, str],
    budget: Budget | None = None,
) -> dict[str, Any]:
    """GET `projects/P/locations/R/persistentResources/ID` as a camelCase dict.

    `endpoint` is gcloud's Vertex AI base URL (see `gcloud_config.aiplatform_endpoint`);
    `identity` is the one the parse layer resolved. Raises `PrecheckFailedError` when the
    resource cannot be read, saying why and what to do.
    """
    with Reader(Location(project, region, endpoint, identity), environ, budget) as reader:
        return reader.get(resource_id)


def list_persistent_resources(
    project: str,
    region: str,
    *,
    endpoint: str,
    identity: Identity,
    environ: Mapping[str, str],
    budget: Budget | None = None,
) -> list[dict[str, Any]]:
    """Every persistent resource in `projects/P/locations/R`, as camelCase dicts."""
    with Reader(Location(project, region, endpoint, identity), environ, budget) as reader:
        return reader.list()
