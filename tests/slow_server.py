"""A local HTTP server that answers badly on purpose: slowly (one byte at a time) or oddly.

    with OddServer(drip=0.2) as server:        # every answer arrives one byte per 0.2 s
        server.url                             # "http://127.0.0.1:PORT/", an endpoint override
    with OddServer(body=b"<html>...") as server:   # every answer is this 200 body

`drip_from="headers"` drips the whole answer from its status line on; `"body"` sends the
headers at once and drips the body. Each answer is a long valid persistent resource, so a
client that waits for all of it waits for minutes. `requests` counts the requests seen,
`answering` the answers still being sent (a dripping answer ends when its client hangs up).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LONG_RESOURCE = json.dumps(
    {
        "name": "projects/p/locations/us-central1/persistentResources/res",
        "state": "RUNNING",
        "displayName": "x" * 10000,
    }
).encode()


class OddServer:
    """A threaded server on 127.0.0.1, port 0; stopping it ends every dripping answer."""

    def __init__(
        self,
        *,
        drip: float | None = None,
        drip_from: str = "body",
        body: bytes = LONG_RESOURCE,
        status: int = 200,
        content_type: str = "application/json; charset=UTF-8",
    ) -> None:
        self.drip = drip
        self.drip_from = drip_from
        self.body = body
        self.status = status
        self.content_type = content_type
        self.requests = 0
        self.answering = 0  # answers still being sent
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

            def do_GET(self) -> None:
                with server._lock:
                    server.requests += 1
                    server.answering += 1
                try:
                    # The client may give up (what a deadline is for).
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                        server._answer(self)
                finally:
                    with server._lock:
                        server.answering -= 1

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def __enter__(self) -> OddServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        head = (
            f"HTTP/1.1 {self.status} Answer\r\n"
            f"Content-Type: {self.content_type}\r\n"
            f"Content-Length: {len(self.body)}\r\n\r\n"
        ).encode()
        if self.drip is None:
            handler.wfile.write(head + self.body)
            return
        if self.drip_from == "body":
            handler.wfile.write(head)
            self._drip(handler, self.body)
        else:
            self._drip(handler, head + self.body)

    def _drip(self, handler: BaseHTTPRequestHandler, data: bytes) -> None:
        assert self.drip is not None
        for index in range(len(data)):
            if self.stopping.is_set():
                return
            handler.wfile.write(data[index : index + 1])
            handler.wfile.flush()
            time.sleep(self.drip)


class Relay:
    """A TCP relay on 127.0.0.1 in front of another local server: a stand-in for the network.

    `stop()` closes its port and every connection through it (clients see the API go away:
    connections reset, then refused); `Relay(target, port=old.port).start()` brings it back
    on the same port.
    """

    def __init__(self, target_port: int, port: int = 0) -> None:
        self.target_port = target_port
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", port))
        self._listener.listen(64)
        self.port = int(self._listener.getsockname()[1])
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> Relay:
        threading.Thread(target=self._accept, daemon=True, name="relay-accept").start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        with self._lock:
            sockets, self._sockets = [self._listener, *self._sockets], []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # stopped
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._stopped.is_set():
                    client.close()
                    upstream.close()
                    return
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)
