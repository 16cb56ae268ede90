"""The REST surface: which request is which call, and what JSON goes back.

`Api.handle` takes a request as plain values (method, path with query, headers, body bytes)
and returns a `Response`; it knows nothing about sockets, so it is tested without a server.
It answers exactly what gcloud 528 and the SDK's REST transport send, on the v1 and v1beta1
paths, and refuses everything else the way Google's front end does.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from prgcloud.emulator import logging_api, schema
from prgcloud.emulator.errors import ApiError, invalid
from prgcloud.emulator.model import Operation, Page, Service

# Parameters every Google REST API takes besides a method's own.
_SYSTEM_PARAMETERS = frozenset(
    {"alt", "$alt", "prettyPrint", "$prettyPrint", "fields", "$fields", "quotaUser", "key"}
)
_PROJECT = re.compile(r"^[a-z0-9](?:[a-z0-9.:-]{0,61}[a-z0-9])?$")
_LOCATION = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
_RESOURCE_ID = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
_NUMERIC_ID = re.compile(r"^[0-9]{1,20}$")
_UNAUTHENTICATED = (
    "Request is missing required authentication credential. Expected OAuth 2 access token,"
    " login cookie or other valid authentication credential. See"
    " https://developers.google.com/identity/sign-in/web/devconsole-project."
)
MAX_BODY = 4 * 1024 * 1024
HEALTH_PATH = "/emulator/health"


@dataclass(frozen=True)
class Response:
    """What to send back: an HTTP status and a JSON body."""

    status: int
    body: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Fault:
    """An injected failure: requests that match answer `status` instead (after `delay`).

    `name` matches the resource the request addresses (or anything under it); `method` is an
    HTTP method; `times` is how many requests to fail (None: until removed). With `status`
    None the request is only delayed, then served normally.
    """

    status: str | None
    message: str
    method: str | None = None
    name: str | None = None
    times: int | None = None
    delay: float = 0.0

    def matches(self, method: str, target: str) -> bool:
        """Whether a request (`method`, resource name `target`) is one this fault hits."""
        if self.method is not None and self.method.upper() != method:
            return False
        if self.name is not None and not (
            target == self.name or target.startswith(self.name.rstrip("/") + "/")
        ):
            return False
        return self.times is None or self.times > 0


class Faults:
    """The injected failures, first match wins; thread-safe."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        """Start failing requests that match `fault`."""
        with self._lock:
            self._faults.append(fault)
        return fault

    def remove(self, fault: Fault) -> None:
        """Stop one fault."""
        with self._lock:
            if fault in self._faults:
                self._faults.remove(fault)

    def clear(self) -> None:
        """Stop every fault."""
        with self._lock:
            self._faults.clear()

    def take(self, method: str, target: str) -> Fault | None:
        """The fault that hits this request, if any, counting it against `times`."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, target):
                    if fault.times is not None:
                        fault.times -= 1
                    return fault
        return None


@dataclass(frozen=True)
class _Request:
    method: str
    version: str
    location: str  # projects/P/locations/L
    rest: list[str]  # the path after the location, split on "/"
    verb: str  # the `:verb` of a custom method, or ""
    query: dict[str, str]
    body: bytes
    enum_ints: bool

    @property
    def target(self) -> str:
        return "/".join([self.location, *self.rest])


_Handler = Callable[["Api", _Request], Response]


class Api:
    """Routes requests to a `Service` and renders its answers."""

    def __init__(self, service: Service, faults: Faults | None = None) -> None:
        self.service = service
        self.faults = faults or Faults()
        self._sleep = time.sleep

    def handle(
        self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes
    ) -> Response:
        """Answer one HTTP request."""
        try:
            return self._handle(method.upper(), raw_path, headers, body)
        except ApiError as error:
            return _error(error)

    def _handle(
        self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes
    ) -> Response:
        split = urlsplit(raw_path)
        if split.path == HEALTH_PATH and method == "GET":
            return Response(200, {"status": "SERVING"})
        if split.path == logging_api.PATH and method == "POST":
            return self._list_log_entries(split.query, headers, body)
        match = re.match(
            r"^/(v1|v1beta1|ui)/projects/([^/]+)/locations/([^/]+)(?:/(.*))?$", split.path
        )
        if match is None:
            raise _no_route(split.path)
        version, project, location, tail = match.groups()
        segments = [unquote(s) for s in (tail or "").split("/")] if tail else []
        verb = ""
        if segments and ":" in segments[-1]:
            segments[-1], _, verb = segments[-1].partition(":")
        handler, target_params = _route(method, segments, verb)
        # the SDK's operations client polls on `/ui/` paths, for operations only
        if handler is None or (version == "ui" and handler is not Api._get_operation):
            raise _no_route(split.path)
        if not _authorized(headers):
            return Response(
                401,
                ApiError("UNAUTHENTICATED", _UNAUTHENTICATED).to_json(),
                {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
            )
        project, location = unquote(project), unquote(location)
        if not _PROJECT.match(project):
            raise invalid(f'Invalid project "{project}" in the resource name.', "name")
        if not _LOCATION.match(location):
            raise invalid(f'Invalid location "{location}" in the resource name.', "name")
        query = _query(split.query, target_params)
        request = _Request(
            method=method,
            version=version,
            location=f"projects/{project}/locations/{location}",
            rest=segments,
            verb=verb,
            query=query,
            body=body,
            enum_ints=_enum_ints(query),
        )
        fault = self.faults.take(method, request.target)
        if fault is not None:
            if fault.delay:
                self._sleep(fault.delay)
            if fault.status is not None:
                raise ApiError(fault.status, fault.message)
        return handler(self, request)

    def _list_log_entries(self, query: str, headers: Mapping[str, str], body: bytes) -> Response:
        """Cloud Logging's `entries:list` (`logging_api`), for `gcloud ... stream-logs`."""
        if not _authorized(headers):
            return Response(401, ApiError("UNAUTHENTICATED", _UNAUTHENTICATED).to_json())
        _query(query, frozenset())
        try:
            decoded = json.loads(body or b"{}")
        except (ValueError, RecursionError) as error:
            raise invalid(f"Invalid JSON payload received. {error}.", "") from None
        if not isinstance(decoded, dict):
            raise invalid("Invalid JSON payload received. Expected an object.", "")
        fault = self.faults.take("POST", logging_api.PATH)
        if fault is not None and fault.status is not None:
            raise ApiError(fault.status, fault.message)
        return Response(200, logging_api.list_entries(self.service, decoded))

    # ---------------------------------------------------------------- persistentResources

    def _create_resource(self, request: _Request) -> Response:
        body = _json_body(request, "persistent_resource", "PersistentResource")
        operation = self.service.create_resource(
            request.location, request.query.get("persistentResourceId", ""), body, request.version
        )
        return Response(200, self._operation(request, operation))

    def _list_resources(self, request: _Request) -> Response:
        page = self.service.list_resources(
            request.location, _page_size(request), request.query.get("pageToken", "")
        )
        return Response(200, self._page(request, page, "persistentResources", "PersistentResource"))

    def _get_resource(self, request: _Request) -> Response:
        doc = self.service.get_resource(_resource_name(request))
        return Response(200, self._render(request, "PersistentResource", doc))

    def _delete_resource(self, request: _Request) -> Response:
        operation = self.service.delete_resource(_resource_name(request), request.version)
        return Response(200, self._operation(request, operation))

    def _reboot_resource(self, request: _Request) -> Response:
        _empty_body(request, "RebootPersistentResourceRequest")
        operation = self.service.reboot_resource(_resource_name(request), request.version)
        return Response(200, self._operation(request, operation))

    # ---------------------------------------------------------------- customJobs

    def _create_job(self, request: _Request) -> Response:
        body = _json_body(request, "custom_job", "CustomJob")
        doc = self.service.create_job(request.location, body)
        return Response(200, self._render(request, "CustomJob", doc))

    def _list_jobs(self, request: _Request) -> Response:
        page = self.service.list_jobs(
            request.location,
            request.query.get("filter", ""),
            _page_size(request),
            request.query.get("pageToken", ""),
        )
        return Response(200, self._page(request, page, "customJobs", "CustomJob"))

    def _get_job(self, request: _Request) -> Response:
        doc = self.service.get_job(_job_name(request))
        return Response(200, self._render(request, "CustomJob", doc))

    def _cancel_job(self, request: _Request) -> Response:
        _empty_body(request, "CancelCustomJobRequest")
        self.service.cancel_job(_job_name(request))
        return Response(200, {})

    def _delete_job(self, request: _Request) -> Response:
        operation = self.service.delete_job(_job_name(request), request.version)
        return Response(200, self._operation(request, operation))

    # ---------------------------------------------------------------- hyperparameterTuningJobs

    def _create_tuning_job(self, request: _Request) -> Response:
        body = _json_body(request, "hyperparameter_tuning_job", "HyperparameterTuningJob")
        doc = self.service.create_tuning_job(request.location, body)
        return Response(200, self._render(request, "HyperparameterTuningJob", doc))

    def _list_tuning_jobs(self, request: _Request) -> Response:
        page = self.service.list_tuning_jobs(
            request.location,
            request.query.get("filter", ""),
            _page_size(request),
            request.query.get("pageToken", ""),
        )
        return Response(
            200, self._page(request, page, "hyperparameterTuningJobs", "HyperparameterTuningJob")
        )

    def _get_tuning_job(self, request: _Request) -> Response:
        doc = self.service.get_tuning_job(_tuning_job_name(request))
        return Response(200, self._render(request, "HyperparameterTuningJob", doc))

    def _cancel_tuning_job(self, request: _Request) -> Response:
        _empty_body(request, "CancelHyperparameterTuningJobRequest")
        self.service.cancel_tuning_job(_tuning_job_name(request))
        return Response(200, {})

    def _delete_tuning_job(self, request: _Request) -> Response:
        operation = self.service.delete_tuning_job(_tuning_job_name(request), request.version)
        return Response(200, self._operation(request, operation))

    # ---------------------------------------------------------------- operations

    def _get_operation(self, request: _Request) -> Response:
        operation_id = request.rest[-1]
        if not _NUMERIC_ID.match(operation_id):
            raise invalid(f'Invalid operation id "{operation_id}".', "name")
        under = None
        if len(request.rest) == 4:
            if request.rest[0] == "persistentResources":
                under = _resource_name(request)
            elif request.rest[0] == "hyperparameterTuningJobs":
                under = _tuning_job_name(request)
            else:
                under = _job_name(request)
        operation = self.service.get_operation(request.location, operation_id, under)
        return Response(200, self._operation(request, operation))

    # ---------------------------------------------------------------- rendering

    def _render(self, request: _Request, message: str, doc: Mapping[str, Any]) -> Any:
        return schema.render(request.version, message, doc, enum_ints=request.enum_ints)

    def _page(self, request: _Request, page: Page, key: str, message: str) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if page.items:
            body[key] = [self._render(request, message, item) for item in page.items]
        if page.next_page_token:
            body["nextPageToken"] = page.next_page_token
        return body

    def _operation(self, request: _Request, operation: Operation) -> dict[str, Any]:
        version = operation.version if request.version == "ui" else request.version
        prefix = f"type.googleapis.com/google.cloud.aiplatform.{version}."
        doc = operation.doc
        body: dict[str, Any] = {
            "name": doc["name"],
            "metadata": {"@type": prefix + operation.metadata_type, **doc["metadata"]},
        }
        if doc.get("done"):
            body["done"] = True
        if "error" in doc:
            body["error"] = doc["error"]
        elif "response" in doc:
            if operation.response_type == "google.protobuf.Empty":
                body["response"] = {"@type": "type.googleapis.com/google.protobuf.Empty"}
            else:
                rendered = schema.render(
                    version, operation.response_type, doc["response"], enum_ints=request.enum_ints
                )
                body["response"] = {"@type": prefix + operation.response_type, **rendered}
        return body


# (method, collection-shaped path, verb) -> handler, the query parameters it takes
_ROUTES: dict[tuple[str, str, str], tuple[_Handler, frozenset[str]]] = {
    ("POST", "persistentResources", ""): (
        Api._create_resource,
        frozenset({"persistentResourceId"}),
    ),
    ("GET", "persistentResources", ""): (
        Api._list_resources,
        frozenset({"pageSize", "pageToken"}),
    ),
    ("GET", "persistentResources/*", ""): (Api._get_resource, frozenset()),
    ("DELETE", "persistentResources/*", ""): (Api._delete_resource, frozenset()),
    ("POST", "persistentResources/*", "reboot"): (Api._reboot_resource, frozenset()),
    ("GET", "persistentResources/*/operations/*", ""): (Api._get_operation, frozenset()),
    ("POST", "customJobs", ""): (Api._create_job, frozenset()),
    ("GET", "customJobs", ""): (
        Api._list_jobs,
        frozenset({"pageSize", "pageToken", "filter", "readMask"}),
    ),
    ("GET", "customJobs/*", ""): (Api._get_job, frozenset()),
    ("DELETE", "customJobs/*", ""): (Api._delete_job, frozenset()),
    ("POST", "customJobs/*", "cancel"): (Api._cancel_job, frozenset()),
    ("GET", "customJobs/*/operations/*", ""): (Api._get_operation, frozenset()),
    ("POST", "hyperparameterTuningJobs", ""): (Api._create_tuning_job, frozenset()),
    ("GET", "hyperparameterTuningJobs", ""): (
        Api._list_tuning_jobs,
        frozenset({"pageSize", "pageToken", "filter", "readMask"}),
    ),
    ("GET", "hyperparameterTuningJobs/*", ""): (Api._get_tuning_job, frozenset()),
    ("DELETE", "hyperparameterTuningJobs/*", ""): (Api._delete_tuning_job, frozenset()),
    ("POST", "hyperparameterTuningJobs/*", "cancel"): (Api._cancel_tuning_job, frozenset()),
    ("GET", "hyperparameterTuningJobs/*/operations/*", ""): (Api._get_operation, frozenset()),
    ("GET", "operations/*", ""): (Api._get_operation, frozenset()),
}


def _route(method: str, segments: list[str], verb: str) -> tuple[_Handler | None, frozenset[str]]:
    shape = "/".join(s if i % 2 == 0 else "*" for i, s in enumerate(segments))
    found = _ROUTES.get((method, shape, verb))
    return found if found is not None else (None, frozenset())


def _no_route(path: str) -> ApiError:
    return ApiError("NOT_FOUND", f"The requested URL {path} was not found on this server.")


def _authorized(headers: Mapping[str, str]) -> bool:
    value = headers.get("Authorization") or headers.get("authorization") or ""
    scheme, _, token = value.strip().partition(" ")
    return scheme.lower() == "bearer" and bool(token.strip())


def _query(text: str, allowed: frozenset[str]) -> dict[str, str]:
    query: dict[str, str] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        if key not in allowed and key not in _SYSTEM_PARAMETERS:
            raise invalid(
                f'Invalid JSON payload received. Unknown name "{key}": Cannot bind query'
                f" parameter. Field '{key}' could not be found in request message.",
                key,
            )
        query[key] = value
    return query


def _enum_ints(query: Mapping[str, str]) -> bool:
    alt = query.get("$alt", query.get("alt", "json"))
    kind, *options = alt.split(";")
    if kind != "json":
        raise invalid(f'Unsupported alt "{alt}"; only json is served.', "alt")
    return "enum-encoding=int" in options


def _page_size(request: _Request) -> int:
    text = request.query.get("pageSize", "0") or "0"
    # at most 10 digits before int(): Python refuses to convert very long numbers
    if not re.fullmatch(r"-?\d{1,10}", text) or not -(2**31) <= int(text) < 2**31:
        raise invalid(f"Invalid value at 'page_size' (TYPE_INT32), \"{text[:20]}\"", "page_size")
    return int(text)


def _json_body(request: _Request, field_name: str, message: str) -> dict[str, Any]:
    if len(request.body) > MAX_BODY:
        raise invalid("The request body is too large.", field_name)
    if not request.body.strip():
        raise invalid(f"{field_name} is required.", field_name)
    try:
        decoded = json.loads(request.body)
    except (ValueError, RecursionError) as error:
        raise invalid(f"Invalid JSON payload received. {error}.", field_name) from None
    return schema.parse(request.version, message, decoded, field_name)


def _empty_body(request: _Request, message: str) -> None:
    if not request.body.strip():
        return
    try:
        decoded = json.loads(request.body)
    except (ValueError, RecursionError) as error:
        raise invalid(f"Invalid JSON payload received. {error}.", "") from None
    if not isinstance(decoded, dict):
        raise invalid(f"Invalid JSON payload received. Expected an object for {message}.", "")
    for key in decoded:
        if key != "name":
            raise invalid(
                f'Invalid JSON payload received. Unknown name "{key}": Cannot find field.', key
            )


def _resource_name(request: _Request) -> str:
    resource_id = request.rest[1]
    if not _RESOURCE_ID.match(resource_id):
        raise invalid(f'Invalid persistent resource id "{resource_id}".', "name")
    return f"{request.location}/persistentResources/{resource_id}"


def _job_name(request: _Request) -> str:
    job_id = request.rest[1]
    if not _NUMERIC_ID.match(job_id):
        raise invalid(f'Invalid custom job id "{job_id}": it must be a number.', "name")
    return f"{request.location}/customJobs/{job_id}"


def _tuning_job_name(request: _Request) -> str:
    job_id = request.rest[1]
    if not _NUMERIC_ID.match(job_id):
        raise invalid(
            f'Invalid hyperparameter tuning job id "{job_id}": it must be a number.', "name"
        )
    return f"{request.location}/hyperparameterTuningJobs/{job_id}"


def _error(error: ApiError) -> Response:
    return Response(error.http_status, error.to_json())
