"""The emulator as a running thing: an HTTP server, a ticker, and the doors tests use.

    emulator = Emulator(port=0).start()      # serves in background threads
    emulator.url                             # "http://127.0.0.1:PORT/"
    ...
    emulator.stop()

`prgcloud emulator start` runs the same object in the foreground. Standard library only (plus
PyYAML nowhere on this path), so it starts in a fraction of a second.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import socket
import sys
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from prgcloud.emulator import schema
from prgcloud.emulator.api import MAX_BODY, Api, Fault, Faults, Response
from prgcloud.emulator.clock import SystemClock
from prgcloud.emulator.errors import STATUS_CODES, ApiError
from prgcloud.emulator.model import Service, Settings
from prgcloud.emulator.store import Store

log = logging.getLogger("prgcloud.emulator")

_TICK_CEILING = 0.5  # seconds between ticks at most, so a fast-forwarded clock is noticed
# Seconds a connection may go without sending a byte, mid-request or idle between keep-alive
# requests, before the server hangs up: a stalled client must not hold a thread for ever.
READ_TIMEOUT = 60.0


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default 5 resets bursts of parallel clients

    def __init__(self, address: tuple[str, int], api: Api, read_timeout: float) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.api = api
        self.read_timeout = read_timeout
        # Open connections: whether each is answering a request, and the thread serving it.
        # Stopping closes the idle ones and lets the busy ones finish their answer first.
        self._connections: dict[socket.socket, tuple[bool, threading.Thread]] = {}
        self._connections_lock = threading.Lock()
        self.closing = False
        super().__init__(address, _Handler)

    def opened(self, connection: socket.socket) -> None:
        """A connection is served (by the current thread); idle until its first request."""
        with self._connections_lock:
            self._connections[connection] = (False, threading.current_thread())

    def answering(self, connection: socket.socket, busy: bool) -> bool:
        """Mark a connection as answering a request, or idle again; False once the server is
        closing: then no new request is taken on it, and it is closed after its answer."""
        with self._connections_lock:
            if self.closing:
                return False
            self._connections[connection] = (busy, threading.current_thread())
            return True

    def gone(self, connection: socket.socket) -> None:
        """A connection is no longer served."""
        with self._connections_lock:
            self._connections.pop(connection, None)

    def close_connections(self) -> None:
        """Take no more requests: hang up idle keep-alive connections now, and wait for those
        answering a request to send their answer and hang up too."""
        with self._connections_lock:
            self.closing = True
            connections = dict(self._connections)
        for connection, (busy, _) in connections.items():
            if not busy:
                with contextlib.suppress(OSError):  # the client may have gone already
                    connection.shutdown(socket.SHUT_RDWR)
        for _, thread in connections.values():
            thread.join()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver prints every error's traceback on stderr; a client that hangs up
        # before its answer is ordinary, anything else is a bug worth its traceback.
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):
            log.debug("%s left before its answer: %s", client_address, error)
        else:
            log.exception("internal error serving %s", client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HttpServer
    server_version = "prgcloud-emulator"
    # TCP_NODELAY: with Nagle's algorithm a keep-alive client waits for a delayed ACK (40 ms)
    # before each answer's last segment leaves.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        # StreamRequestHandler would set a class-wide `timeout`; this server's is its own
        self.connection.settimeout(self.server.read_timeout)
        self.server.opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.gone(self.connection)

    def parse_request(self) -> bool:
        # A request's first line has arrived: answer it, unless the server is stopping (then
        # the connection is closed unanswered, as an idle keep-alive connection may be).
        if not self.server.answering(self.connection, busy=True):
            self.close_connection = True
            return False
        return super().parse_request()

    def handle_one_request(self) -> None:
        super().handle_one_request()
        if not self.server.answering(self.connection, busy=False):
            self.close_connection = True

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length_text = self.headers.get("Content-Length") or "0"
        if not length_text.isdigit() or int(length_text) > MAX_BODY:
            self.close_connection = True
            error = ApiError("INVALID_ARGUMENT", f"Bad Content-Length: {length_text}")
            self._send(Response(error.http_status, error.to_json()))
            return
        body = self.rfile.read(int(length_text))
        headers = {key: value for key, value in self.headers.items()}
        try:
            response = self.server.api.handle(self.command, self.path, headers, body)
        except Exception:  # one bad request must not stop the server; logged in full
            log.exception("internal error answering %s %s", self.command, self.path)
            error = ApiError("INTERNAL", "Internal error encountered.")
            response = Response(error.http_status, error.to_json())
        self._send(response)

    def _send(self, response: Response) -> None:
        payload = (json.dumps(response.body, indent=2) + "\n").encode()
        self.send_response(response.status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in response.headers.items():
            self.send_header(key, value)
        if self.server.closing:
            self.send_header("Connection", "close")  # the last answer on this connection
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)


class Emulator:
    """A running emulator, plus the controls tests use to arrange the world it serves.

    The controls act directly on its state, so they take effect before they return.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        data_dir: Path | None = None,
        settings: Settings | None = None,
        read_timeout: float = READ_TIMEOUT,
    ) -> None:
        self.clock = SystemClock()
        self._defaults = settings or Settings()
        self.service = Service(Store(data_dir), self.clock, self._defaults)
        self.faults = Faults()
        try:
            self._httpd = _HttpServer((host, port), Api(self.service, self.faults), read_timeout)
        except OSError:
            self.service.close()
            raise
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    # ---------------------------------------------------------------- running

    @property
    def host(self) -> str:
        """The address it listens on."""
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        """The port it listens on (the one chosen when it was asked for port 0)."""
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The endpoint for CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM, with a trailing `/`."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def start(self) -> Emulator:
        """Serve in background threads; returns at once, already accepting connections."""
        serve = functools.partial(self._httpd.serve_forever, poll_interval=0.1)
        for target, name in ((serve, "http"), (self._tick, "ticker")):
            thread = threading.Thread(target=target, name=f"emulator-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop serving, wait for the threads, close the socket and the database.

        Keep-alive connections are closed: an idle one at once, one answering a request once
        its answer is sent; none is answered after the database is closed.
        """
        self._stopping.set()
        if self._threads:
            self._httpd.shutdown()
        for thread in self._threads:
            thread.join()
        self._threads.clear()
        self._httpd.close_connections()
        self._httpd.server_close()
        self.service.close()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _tick(self) -> None:
        wait = 0.0
        while not self._stopping.wait(wait):
            try:
                upcoming = self.service.tick()
            except Exception:  # the ticker must outlive a bug; logged in full
                log.exception("internal error in the emulator's ticker")
                upcoming = None
            wait = _TICK_CEILING if upcoming is None else min(_TICK_CEILING, upcoming)

    # ---------------------------------------------------------------- controls for tests

    @staticmethod
    def resource_name(project: str, region: str, resource_id: str) -> str:
        """`projects/P/locations/R/persistentResources/ID`."""
        return f"projects/{project}/locations/{region}/persistentResources/{resource_id}"

    def add_persistent_resource(
        self,
        project: str,
        region: str,
        resource_id: str,
        body: Mapping[str, Any],
        state: str = "RUNNING",
    ) -> dict[str, Any]:
        """Put a persistent resource in place at once, in `state`; return it as v1 JSON.

        `body` is PersistentResource REST JSON (camelCase); a pool's `usedReplicaCount`
        in it is applied as with `set_used_replicas`.
        """
        parsed = schema.parse("v1beta1", "PersistentResource", dict(body), "persistent_resource")
        parent = f"projects/{project}/locations/{region}"
        self.service.add_resource(parent, resource_id, parsed, state)
        name = self.resource_name(project, region, resource_id)
        created = self.service.get_resource(name)
        for given, pool in zip(
            parsed.get("resourcePools", []), created["resourcePools"], strict=True
        ):
            if int(given.get("usedReplicaCount", "0")):
                self.service.set_used_replicas(name, pool["id"], int(given["usedReplicaCount"]))
        return self.persistent_resource(name)

    def set_used_replicas(self, name: str, pool_id: str, count: int) -> None:
        """Make a pool's `usedReplicaCount` `count`, as if other jobs held those replicas."""
        self.service.set_used_replicas(name, pool_id, count)

    def set_resource_state(self, name: str, state: str, error_message: str | None = None) -> None:
        """Force a resource into `state` (ERROR carries `error_message`); PROVISIONING,
        REBOOTING and UPDATING become RUNNING again after the provisioning delay."""
        self.service.set_resource_state(name, state, error_message)

    def persistent_resource(self, name: str) -> dict[str, Any]:
        """A persistent resource as v1 REST JSON."""
        rendered: dict[str, Any] = schema.render(
            "v1", "PersistentResource", self.service.get_resource(name), enum_ints=False
        )
        return rendered

    def custom_job(self, name: str) -> dict[str, Any]:
        """A custom job as v1 REST JSON."""
        rendered: dict[str, Any] = schema.render(
            "v1", "CustomJob", self.service.get_job(name), enum_ints=False
        )
        return rendered

    def custom_jobs(self, project: str, region: str) -> list[dict[str, Any]]:
        """Every custom job of a location as v1 REST JSON, oldest first."""
        parent = f"projects/{project}/locations/{region}"
        jobs: list[dict[str, Any]] = []
        token = ""
        while True:
            page = self.service.list_jobs(parent, "", 1000, token)
            jobs += [schema.render("v1", "CustomJob", doc, enum_ints=False) for doc in page.items]
            token = page.next_page_token
            if not token:
                return jobs

    def tuning_job(self, name: str) -> dict[str, Any]:
        """A hyperparameter tuning job as v1 REST JSON, its trials as they stand now."""
        rendered: dict[str, Any] = schema.render(
            "v1", "HyperparameterTuningJob", self.service.get_tuning_job(name), enum_ints=False
        )
        return rendered

    def fail(
        self,
        status: str | None = "UNAVAILABLE",
        *,
        name: str | None = None,
        method: str | None = None,
        times: int | None = None,
        delay: float = 0.0,
        message: str | None = None,
    ) -> Fault:
        """Answer matching requests with `status` (a google.rpc.Code name) after `delay` s.

        `name`: a resource name; requests for it or anything under it match (None: all).
        `method`: GET, POST or DELETE (None: any). `times`: how many requests (None: all,
        until `clear_faults` or `reset`). `status=None` only delays them (for timeouts).
        """
        if status is not None and status not in STATUS_CODES:
            raise ValueError(f"not a google.rpc.Code name: {status}")
        text = message or {
            "UNAVAILABLE": "The service is currently unavailable.",
            "INTERNAL": "Internal error encountered.",
            "DEADLINE_EXCEEDED": "Deadline exceeded.",
            "RESOURCE_EXHAUSTED": "Quota exceeded.",
        }.get(status or "", f"{status}.")
        return self.faults.add(Fault(status, text, method, name, times, delay))

    def throttle_job_creations(self, location: str, times: int | None = None) -> Fault:
        """Answer the next `times` job creations in `location` (`projects/P/locations/R`) with
        429 RESOURCE_EXHAUSTED, worded like Vertex AI's per-minute submission quota."""
        message = (
            "Quota exceeded for quota metric 'Custom job creation requests' and limit 'Custom "
            "job creation requests per minute per region' of service 'aiplatform.googleapis.com'."
        )
        return self.fail(
            "RESOURCE_EXHAUSTED",
            name=f"{location}/customJobs",
            method="POST",
            times=times,
            message=message,
        )

    def deny(self, name: str, method: str | None = "GET") -> Fault:
        """Answer requests for `name` with 403 PERMISSION_DENIED, worded as Vertex AI does."""
        collection = name.split("/")[-2] if name.count("/") >= 5 else "persistentResources"
        message = (
            f"Permission 'aiplatform.{collection}.get' denied on resource"
            f" '//aiplatform.googleapis.com/{name}' (or it may not exist)."
        )
        return self.faults.add(Fault("PERMISSION_DENIED", message, method, name))

    def clear_faults(self) -> None:
        """Stop every injected failure."""
        self.faults.clear()

    def advance(self, seconds: float) -> None:
        """Fast-forward the emulator's clock; transitions due in between happen in order."""
        self.clock.advance(seconds)
        self.service.tick()

    def freeze(self) -> None:
        """Stop the emulator's clock until `reset`: only `advance` moves it, so nothing falls
        due while a test looks, however slowly it runs."""
        self.clock.freeze()

    def configure(self, **changes: float) -> None:
        """Change the simulated delays (`Settings` fields) until `reset`."""
        current = self.service.settings
        self.service.settings = Settings(**{**current.__dict__, **changes})

    def hold_cancellations(self) -> None:
        """From now on a cancelled custom job or tuning job stays JOB_STATE_CANCELLING, its
        replicas held (a tuning job's open trials STOPPING), until `release_cancellations`."""
        self.service.hold_cancellations = True

    def release_cancellations(self) -> None:
        """Every job CANCELLING is CANCELLED now, its replicas free; cancels end at once again."""
        self.service.release_cancellations()

    def reset(self) -> None:
        """Empty state, no faults, the start-up delays, the clock back to the running wall
        clock; cancellations end at once."""
        self.faults.clear()
        self.service.hold_cancellations = False
        self.service.settings = self._defaults
        self.service.reset()
        self.clock.reset()
