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
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar

from tests.fakes.http_fake import JSON, LocalHttpFake, read_body, send_json


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
        "change_type_detail": "",
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
        "closing": "",
    }
    payload.update(overrides)
    return payload


def _approx_tokens(text_: str) -> int:
    return max(1, len(text_) // 4)


class FakeOpenAI(LocalHttpFake):
    """Threaded fake server. Use as a context manager; `base_url` ends with `/v1`."""

    http_methods: ClassVar[tuple[str, ...]] = ("POST",)

    def __init__(
        self,
        *,
        latency: float = 0.0,
        default: Callable[[dict[str, Any]], Scripted] | None = None,
        token_counter: Callable[[str], int] = _approx_tokens,
    ) -> None:
        super().__init__()
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

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        self._stopping.set()
        super().close()

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1"

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

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        raw = read_body(handler)
        if not handler.path.rstrip("/").endswith("/chat/completions"):
            send_json(handler, 404, {"error": {"message": "not found"}}, content_type=JSON)
            return
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            send_json(handler, 400, {"error": {"message": "bad json"}}, content_type=JSON)
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
                error = reply.error_body or {}
                send_json(handler, reply.status, error, reply.headers, content_type=JSON)
                return
            answer = self._completion(body, reply)
            send_json(handler, 200, answer, reply.headers, content_type=JSON)
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
