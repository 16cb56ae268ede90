"""A local stand-in for the Vertex AI REST API that records what it is sent.

It answers just enough for gcloud, curl and the Vertex AI SDK to finish a submission:
`POST .../customJobs` (and `.../hyperparameterTuningJobs`) returns the job it was sent with a
name, a state and a creation time;
`POST .../persistentResources?persistentResourceId=ID` returns the create operation;
`GET .../persistentResources/ID` returns a resource the test registered, else 404. Anything
else is a 404 in Google's error shape. Tests then compare `requests` with what they expected.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

_CUSTOM_JOBS = re.compile(
    r"^/(v1|v1beta1)/projects/([^/]+)/locations/([^/]+)/(customJobs|hyperparameterTuningJobs)$"
)
_PERSISTENT_RESOURCES = re.compile(
    r"^/(?:v1|v1beta1)/(projects/[^/]+/locations/([^/]+))/persistentResources$"
)
_PERSISTENT_RESOURCE = re.compile(
    r"^/(?:v1|v1beta1)/(projects/[^/]+/locations/[^/]+/persistentResources/[^/]+)$"
)
CREATE_TIME = "2025-01-01T00:00:00.000000Z"


@dataclass(frozen=True)
class CapturedRequest:
    """One request as the server received it."""

    method: str
    path: str  # without the query string
    query: str
    headers: Mapping[str, str]  # names lower-cased
    raw_body: bytes
    body: Any  # the parsed JSON body, or None when there was none or it was not JSON


@dataclass
class CaptureServer:
    """A threaded HTTP server on 127.0.0.1, port 0; `url` ends with `/`."""

    requests: list[CapturedRequest] = field(default_factory=list)
    # "projects/P/locations/R/persistentResources/ID" -> the resource's REST body
    persistent_resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    # When set, every POST to customJobs (or a tuning job) is answered with this (status, JSON).
    create_error: tuple[int, dict[str, Any]] | None = None
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT/`, the form gcloud's endpoint override takes."""
        assert self._server is not None, "the server is not running"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/"

    @property
    def posts(self) -> list[CapturedRequest]:
        """The POST requests received so far, in order."""
        with self._lock:
            return [r for r in self.requests if r.method == "POST"]

    def reset(self) -> None:
        """Forget what was received and every canned answer."""
        with self._lock:
            self.requests.clear()
            self.persistent_resources.clear()
            self.create_error = None

    def start(self) -> CaptureServer:
        """Listen on a free port and serve from a daemon thread."""
        capture = self

        class Handler(_Handler):
            server_state = capture

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None

    def record(self, request: CapturedRequest) -> None:
        with self._lock:
            self.requests.append(request)


@contextmanager
def running_capture_server() -> Iterator[CaptureServer]:
    """A started CaptureServer, stopped on the way out."""
    server = CaptureServer().start()
    try:
        yield server
    finally:
        server.stop()


class _Handler(BaseHTTPRequestHandler):
    server_state: CaptureServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def _handle(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        state = self.server_state
        state.record(
            CapturedRequest(
                method=self.command,
                path=split.path,
                query=split.query,
                headers={k.lower(): v for k, v in self.headers.items()},
                raw_body=raw,
                body=body,
            )
        )
        status, answer = self._answer(split.path, body)
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _answer(self, path: str, body: Any) -> tuple[int, Any]:
        state = self.server_state
        jobs = _CUSTOM_JOBS.match(path)
        if self.command == "POST" and jobs:
            if state.create_error is not None:
                return state.create_error
            region = jobs.group(3)
            created = dict(body) if isinstance(body, dict) else {}
            created.update(
                name=f"projects/123/locations/{region}/{jobs.group(4)}/456",
                state="JOB_STATE_PENDING",
                createTime=CREATE_TIME,
                updateTime=CREATE_TIME,
            )
            return 200, created
        resources = _PERSISTENT_RESOURCES.match(path)
        if self.command == "POST" and resources:
            # gcloud prints the operation's number: its name must end with digits.
            return 200, {
                "name": f"projects/123/locations/{resources.group(2)}/persistentResources/"
                "created/operations/789",
                "metadata": {
                    "@type": "type.googleapis.com/google.cloud.aiplatform.v1."
                    "CreatePersistentResourceOperationMetadata"
                },
            }
        resource = _PERSISTENT_RESOURCE.match(path)
        if self.command == "GET" and resource:
            found = state.persistent_resources.get(resource.group(1))
            if found is not None:
                return 200, found
        return 404, {
            "error": {
                "code": 404,
                "message": f"{self.command} {path} is not found.",
                "status": "NOT_FOUND",
            }
        }


def gcloud_env(
    *, server_url: str, config_dir: str, token_file: str, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """An environment in which gcloud (and curl, via gcloud's token) talk only to `server_url`.

    The developer's own gcloud and Google settings are left out, so no test depends on a
    login or reaches the network.
    """
    base = os.environ if base is None else base
    env = {
        k: v
        for k, v in base.items()
        if not k.startswith(("CLOUDSDK_", "GOOGLE_", "PRGCLOUD_")) and k != "GCE_METADATA_HOST"
    }
    env.update(
        CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM=server_url,
        CLOUDSDK_AUTH_ACCESS_TOKEN_FILE=token_file,
        CLOUDSDK_CONFIG=config_dir,
        CLOUDSDK_CORE_DISABLE_PROMPTS="1",
        CLOUDSDK_CORE_DISABLE_USAGE_REPORTING="1",
        CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK="1",
        # Never ask the metadata server (there is none); fail at once instead.
        GCE_METADATA_HOST="127.0.0.1:9",
        NO_GCE_CHECK="True",
    )
    return env


TOKEN = "ya29.capture-server-token"


def write_token_file(directory: str) -> str:
    """A file holding a fake access token, for CLOUDSDK_AUTH_ACCESS_TOKEN_FILE."""
    path = os.path.join(directory, "access-token")
    with open(path, "w", encoding="utf-8") as f:
        f.write(TOKEN)
    return path
