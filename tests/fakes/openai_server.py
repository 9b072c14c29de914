"""A fake OpenAI-compatible `/v1/chat/completions` on 127.0.0.1 for the real `openai` client.

Replies come from a script (a FIFO of `Scripted` replies) or, when the script is empty,
from a default factory. Every request body is recorded so tests can assert what the
prompt contained; the server also tracks the highest number of requests in flight.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


class _Server(ThreadingHTTPServer):
    """socketserver's default listen backlog is 5: when 8 clients connect at once the kernel
    drops the extra SYNs and those clients retry only after a 1 s timeout, which a real API
    server (backlog in the hundreds) never causes. Benchmarks measured that second."""

    request_queue_size = 128


@dataclass(frozen=True)
class Scripted:
    """One scripted answer: a completion (status 200) or an HTTP error."""

    status: int = 200
    content: str | None = ""
    finish_reason: str = "stop"
    refusal: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    error_body: dict[str, Any] | None = None
    latency: float = 0.0  # extra seconds before answering
    prompt_tokens: int | None = None  # None: estimated from the request
    completion_tokens: int | None = None


def valid(payload: dict[str, Any], **kwargs: Any) -> Scripted:
    return Scripted(content=json.dumps(payload, ensure_ascii=False), **kwargs)


def text(content: str, **kwargs: Any) -> Scripted:
    return Scripted(content=content, **kwargs)


def truncated(content: str = '{"change_type": "fix", "importance": "hi') -> Scripted:
    return Scripted(content=content, finish_reason="length")


def empty() -> Scripted:
    return Scripted(content=None)


def refusal(message: str = "I'm sorry, I can't help with that.") -> Scripted:
    return Scripted(content=None, refusal=message)


def http_error(
    status: int, *, retry_after: str | None = None, retry_after_ms: int | None = None
) -> Scripted:
    headers: dict[str, str] = {}
    if retry_after is not None:
        headers["retry-after"] = retry_after
    if retry_after_ms is not None:
        headers["retry-after-ms"] = str(retry_after_ms)
    kind = "rate_limit_exceeded" if status == 429 else "server_error"
    body = {"error": {"message": f"scripted {status}", "type": kind, "code": kind}}
    return Scripted(status=status, headers=headers, error_body=body, content=None)


def slow(seconds: float, then: Scripted | None = None) -> Scripted:
    base = then or Scripted(content="{}")
    return Scripted(**{**base.__dict__, "latency": seconds})


def sample_analysis(**overrides: Any) -> dict[str, Any]:
    """A valid analysis payload (override any field)."""
    payload: dict[str, Any] = {
        "change_type": "feature",
        "importance": "medium",
        "summary": "Adds a thing.",
        "scope": [],
        "insights": {
            "architecture": None,
            "performance": None,
            "security": None,
            "maintainability": "Keeps modules small.",
            "compatibility": None,
            "testing": None,
        },
        "risks": [],
        "recommendations": [],
    }
    payload.update(overrides)
    return payload


def _approx_tokens(text_: str) -> int:
    return max(1, len(text_) // 4)


class FakeOpenAI:
    """Threaded fake server. Use as a context manager; `base_url` ends with `/v1`."""

    def __init__(
        self,
        *,
        latency: float = 0.0,
        default: Callable[[dict[str, Any]], Scripted] | None = None,
        token_counter: Callable[[str], int] = _approx_tokens,
    ) -> None:
        self.latency = latency
        self.default = default
        self.token_counter = token_counter
        self.requests: list[dict[str, Any]] = []
        self.request_headers: list[dict[str, str]] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._script: deque[Scripted] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeOpenAI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                fake._handle(self)

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    # -- scripting and inspection -----------------------------------------------------------

    def enqueue(self, *replies: Scripted) -> None:
        with self._lock:
            self._script.extend(replies)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._script)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.request_headers.clear()
            self.max_in_flight = 0
            self._script.clear()

    def prompt_text(self, index: int = -1) -> str:
        """All message contents of one recorded request, joined."""
        return "\n".join(m["content"] for m in self.requests[index]["messages"])

    # -- serving ----------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length)
        if not handler.path.rstrip("/").endswith("/chat/completions"):
            self._send(handler, 404, {"error": {"message": "not found"}}, {})
            return
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            self._send(handler, 400, {"error": {"message": "bad json"}}, {})
            return
        with self._lock:
            self.requests.append(body)
            self.request_headers.append({k.lower(): v for k, v in handler.headers.items()})
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            reply = self._script.popleft() if self._script else None
        try:
            if reply is None:
                reply = self.default(body) if self.default else http_error(500)
            delay = self.latency + reply.latency
            if delay > 0 and self._stopping.wait(delay):
                return
            if reply.status != 200:
                self._send(handler, reply.status, reply.error_body or {}, reply.headers)
                return
            self._send(handler, 200, self._completion(body, reply), reply.headers)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _completion(self, body: dict[str, Any], reply: Scripted) -> dict[str, Any]:
        prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
        prompt_tokens = (
            reply.prompt_tokens if reply.prompt_tokens is not None else self.token_counter(prompt)
        )
        completion_tokens = (
            reply.completion_tokens
            if reply.completion_tokens is not None
            else self.token_counter(reply.content or reply.refusal or "")
        )
        return {
            "id": f"chatcmpl-fake{next(self._ids)}",
            "object": "chat.completion",
            "created": 1770000000,
            "model": body.get("model", "fake-model"),
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": reply.content,
                        "refusal": reply.refusal,
                    },
                    "finish_reason": reply.finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    @staticmethod
    def _send(
        handler: BaseHTTPRequestHandler,
        status: int,
        payload: dict[str, Any],
        headers: dict[str, str],
    ) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            return  # the client gave up (timeout): nothing to answer
