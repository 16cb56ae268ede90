"""A tiny Vertex AI stand-in for the pre-check's failure paths: scripted statuses and delays.

It serves persistent resources the test registers (GET one, list them) and, before that,
answers from a script: `fail(403)`, `fail(429, times=1)`, `delay(2.0)`. What the emulator
cannot be told to do (deny, throttle, stall) is done here; everything else runs against the
emulator too.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

_ONE = re.compile(r"^/v1(?:beta1)?/(projects/[^/]+/locations/[^/]+/persistentResources/[^/]+)$")
_LIST = re.compile(r"^/v1(?:beta1)?/(projects/[^/]+/locations/[^/]+)/persistentResources$")

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def error_body(status: int, message: str) -> dict[str, Any]:
    """Google's JSON error shape."""
    return {"error": {"code": status, "message": message, "status": _STATUS_NAMES[status]}}


@dataclass(frozen=True)
class Seen:
    """One request: method, path (no query), query parameters and the Authorization header."""

    method: str
    path: str
    query: dict[str, list[str]]
    authorization: str


@dataclass
class _Scripted:
    status: int
    times: int | None  # None: for ever
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    only: str = ""  # "get", "list" or "" for both


@dataclass
class FakeVertex:
    """A threaded server on 127.0.0.1:0 (`url` ends in `/`)."""

    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    _script: list[_Scripted] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/"

    def add(self, resource: dict[str, Any]) -> dict[str, Any]:
        """Serve `resource` (its `name` is the full resource name)."""
        self.resources[resource["name"]] = resource
        return resource

    def fail(
        self,
        status: int,
        *,
        times: int | None = None,
        only: str = "",
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next `times` requests (None: all) with `status`."""
        with self._lock:
            self._script.append(_Scripted(status, times, headers=headers or {}, only=only))

    def delay(self, seconds: float, *, times: int | None = None) -> None:
        """Answer the next `times` requests only after `seconds`."""
        with self._lock:
            self._script.append(_Scripted(0, times, delay=seconds))

    def gets(self) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if _ONE.match(s.path)]

    def _next(self, kind: str) -> _Scripted | None:
        with self._lock:
            for step in self._script:
                if step.only and step.only != kind:
                    continue
                if step.times is not None:
                    step.times -= 1
                    if step.times == 0:
                        self._script.remove(step)
                return step
        return None

    def start(self) -> FakeVertex:
        fake = self

        class Handler(_Handler):
            state = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()


class _Handler(BaseHTTPRequestHandler):
    state: FakeVertex
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        split = urlsplit(self.path)
        state = self.state
        with state._lock:
            state.seen.append(
                Seen(
                    "GET", split.path, parse_qs(split.query), self.headers.get("Authorization", "")
                )
            )
        one, listing = _ONE.match(split.path), _LIST.match(split.path)
        step = state._next("get" if one else "list")
        headers: dict[str, str] = {}
        if step is not None and step.delay:
            time.sleep(step.delay)
        if step is not None and step.status:
            status, body = step.status, error_body(step.status, f"scripted {step.status}")
            headers = step.headers
        elif one and one.group(1) in state.resources:
            status, body = 200, state.resources[one.group(1)]
        elif listing:
            parent = listing.group(1) + "/"
            found = [r for n, r in state.resources.items() if n.startswith(parent)]
            status, body = 200, ({"persistentResources": found} if found else {})
        else:
            status, body = 404, error_body(404, f"Resource {split.path} not found.")
        self._send(status, body, headers)

    def _send(self, status: int, body: Any, headers: dict[str, str]) -> None:
        payload = json.dumps(body).encode()
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test); nothing to answer
