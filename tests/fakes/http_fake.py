"""The threaded 127.0.0.1 HTTP server every fake API builds on: lifecycle, body reading, replies."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, Self

JSON = "application/json"
JSON_UTF8 = "application/json; charset=utf-8"


class _Server(ThreadingHTTPServer):
    """socketserver's default listen backlog is 5: when 8 clients connect at once the kernel
    drops the extra SYNs and those clients retry only after a 1 s timeout, which a real API
    server (backlog in the hundreds) never causes. Benchmarks measured that second."""

    request_queue_size = 128
    daemon_threads = True


class _QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return


class LocalHttpFake:
    """A fake API served from a daemon thread; subclasses implement `_handle(handler, method)`.

    Only the verbs in `http_methods` are routed; others get http.server's own 501."""

    http_methods: ClassVar[tuple[str, ...]] = ("GET", "POST")

    def __init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the fake first"
        return int(self._server.server_address[1])

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        raise NotImplementedError

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        def route(method: str) -> Any:
            return lambda handler: self._handle(handler, method)

        verbs = {f"do_{method}": route(method) for method in self.http_methods}
        return type("Handler", (_QuietHandler,), verbs)


def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def send_bytes(
    handler: BaseHTTPRequestHandler,
    status: int,
    data: bytes,
    content_type: str,
    headers: Mapping[str, str] | None = None,
) -> None:
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):
        return  # the client gave up (timeout): nothing to answer


def send_json(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: Any,
    headers: Mapping[str, str] | None = None,
    *,
    content_type: str = JSON_UTF8,
    ensure_ascii: bool = False,
) -> None:
    """Answer `body` as JSON; a 204 carries no body (RFC 9110 §15.3.5)."""
    data = b"" if status == 204 else json.dumps(body, ensure_ascii=ensure_ascii).encode("utf-8")
    send_bytes(handler, status, data, content_type, headers)
