"""A fake Discord REST API (v10) on 127.0.0.1 for the real discord.py (`discord.http.Route.BASE`).

Speaks the wire format discord.py expects: `GET /users/@me` and `/oauth2/applications/@me`
(login), interaction callbacks (`POST /interactions/{id}/{token}/callback?with_response=1`,
answered with the interaction-callback object), follow-up webhooks (`POST /webhooks/{app}/{token}`,
`GET|PATCH …/messages/@original`; the first follow-up after a deferral becomes the original
response and inherits its ephemeral flag, as on Discord), channel messages (`POST` with
`nonce` / `enforce_nonce` deduplication, `GET` newest first), threads on a message
(`POST /channels/{id}/messages/{id}/threads`; the thread's id is the message's id, error 160004
when one exists), and command sync (`PUT /applications/{id}[/guilds/{id}]/commands`).

Messages with files come as multipart/form-data (`payload_json` + `files[n]`, described in the
payload's `attachments`): the bytes are kept (`attachment_data`, and on the recorded call), the
message carries attachment objects with CDN URLs, and an embed's `attachment://<filename>` image
resolves to its attachment's URL, as on Discord.

Message bodies are checked against Discord's documented limits (answering 400 / 50035 like the
real API), every request is recorded with its JSON body and arrival time, and answers can be
scripted: 429 with `retry_after` and the X-RateLimit-* headers, or 403 Missing Access (50001)
for a whole channel. The state and routes live in discord_world.py, the shapes and limits in
discord_payloads.py.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.discord_payloads import API_PREFIX, BOT_TOKEN, ApiError
from tests.fakes.discord_world import DiscordWorld, InteractionState
from tests.fakes.http_fake import JSON, LocalHttpFake, read_body, send_json
from tests.fakes.multipart import FormPart, parse_form


@dataclass(frozen=True)
class DiscordCall:
    """One recorded request."""

    method: str
    path: str  # without the /api/v10 prefix and the query
    query: dict[str, str]
    body: Any  # the decoded JSON body, or None
    authorization: str | None
    at: float  # time.monotonic() on arrival
    files: dict[str, FormPart] = field(default_factory=dict)  # multipart files by field name


@dataclass(frozen=True)
class DiscordFailure:
    """A scripted answer: HTTP `status` with Discord's error `code`, or a 429 with `retry_after`."""

    status: int
    code: int = 0
    message: str = ""
    retry_after: float | None = None
    is_global: bool = False


def rate_limited(retry_after: float = 0.01, *, is_global: bool = False) -> DiscordFailure:
    return DiscordFailure(429, 0, "You are being rate limited.", retry_after, is_global)


def missing_access() -> DiscordFailure:
    return DiscordFailure(403, 50001, "Missing Access")


class FakeDiscordApi(LocalHttpFake):
    """Threaded fake server; use as a context manager. `base_url` is what Route.BASE takes."""

    http_methods: ClassVar[tuple[str, ...]] = ("GET", "POST", "PUT", "PATCH")

    def __init__(self, *, token: str = BOT_TOKEN) -> None:
        super().__init__()
        self.token = token
        self.calls: list[DiscordCall] = []
        self.ratelimit_remaining = 49  # what successful answers report in X-RateLimit-Remaining
        self._lock = threading.Lock()
        self.world = DiscordWorld()
        self.callbacks = self.world.callbacks  # interaction responses, in order
        self.commands = self.world.commands  # synced commands by "global" or guild id
        self._failures: dict[tuple[str, str], deque[DiscordFailure]] = {}
        self._denied: dict[str, DiscordFailure] = {}

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"{self.origin}{API_PREFIX}"

    # -- world setup, scripting and inspection ----------------------------------------------

    def add_channel(self, channel_id: str) -> None:
        with self._lock:
            self.world.channels.add(channel_id)
            self.world.messages.setdefault(channel_id, [])

    def user_starts_thread(
        self, channel_id: str, message_id: str, name: str, owner_id: str
    ) -> dict[str, Any]:
        """A person starts a thread on a message (what the gateway then sends as THREAD_CREATE)."""
        with self._lock:
            thread = self.world.start_thread(channel_id, message_id, name)
            thread["owner_id"] = owner_id
            self.world.threads[message_id]["owner_id"] = owner_id
        return {**thread, "newly_created": True}

    def interaction_created(self, payload: dict[str, Any]) -> None:
        """Discord created this interaction (so its token accepts a callback and follow-ups)."""
        channel = str((payload.get("channel") or {}).get("id") or payload.get("channel_id"))
        with self._lock:
            self.world.interactions[str(payload["token"])] = InteractionState(payload, channel)

    def expire_interaction(self, token: str) -> None:
        with self._lock:
            self.world.interactions[token].expired = True

    def fail_next(self, method: str, path: str, *failures: DiscordFailure) -> None:
        """Answer the next requests to `method path` (path without /api/v10) with `failures`."""
        with self._lock:
            self._failures.setdefault((method, path), deque()).extend(failures)

    def deny_channel(self, channel_id: str, failure: DiscordFailure | None = None) -> None:
        """Every request about `channel_id` fails (default: 403 Missing Access, code 50001)."""
        with self._lock:
            self._denied[channel_id] = failure or missing_access()

    def allow_channel(self, channel_id: str) -> None:
        with self._lock:
            self._denied.pop(channel_id, None)

    def calls_to(self, method: str, pattern: str) -> list[DiscordCall]:
        """Recorded calls whose path fully matches the regex `pattern`."""
        regex = re.compile(pattern)
        with self._lock:
            return [c for c in self.calls if c.method == method and regex.fullmatch(c.path)]

    def messages(self, channel_id: str) -> list[dict[str, Any]]:
        """The channel's (or thread's) visible messages, oldest first."""
        with self._lock:
            return [dict(m) for m in self.world.messages.get(channel_id, [])]

    def attachment(self, attachment_id: str) -> bytes:
        """The bytes uploaded for an attachment."""
        with self._lock:
            return self.world.attachment_data[attachment_id]

    def thread(self, thread_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self.world.threads.get(thread_id)

    def interaction(self, token: str) -> InteractionState:
        with self._lock:
            return self.world.interactions[token]

    def reset_calls(self) -> None:
        with self._lock:
            self.calls.clear()

    # -- serving ----------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        arrived = time.monotonic()
        parts = urlsplit(handler.path)
        path = parts.path.removeprefix(API_PREFIX)
        query = dict(parse_qsl(parts.query))
        data = read_body(handler)
        content_type = handler.headers.get("Content-Type") or ""
        body: Any = None
        files: dict[str, FormPart] = {}
        form = parse_form(content_type, data)
        if form:
            # https://discord.com/developers/docs/reference#uploading-files
            body = json.loads(form["payload_json"].data) if "payload_json" in form else {}
            files = {k: v for k, v in form.items() if v.filename is not None}
        elif data and "json" in content_type:
            body = json.loads(data.decode("utf-8"))
        auth = handler.headers.get("Authorization")
        with self._lock:
            self.calls.append(DiscordCall(method, path, query, body, auth, arrived, files))
            queue = self._failures.get((method, path))
            failure = queue.popleft() if queue else None
            if failure is None:
                failure = next(
                    (f for c, f in self._denied.items() if f"/channels/{c}/" in path + "/"), None
                )
        if failure is not None:
            self._send_failure(handler, failure)
            return
        for route_method, pattern, route in self.world.routes:
            match = pattern.fullmatch(path)
            if route_method == method and match:
                needs_auth = not path.startswith(("/interactions/", "/webhooks/"))
                if needs_auth and auth != f"Bot {self.token}":
                    self._send(handler, 401, {"message": "401: Unauthorized", "code": 0})
                    return
                try:
                    uploads = {"files": files} if files else {}
                    with self._lock:
                        status, answer = route(*match.groups(), body=body, query=query, **uploads)
                except ApiError as reply:
                    self._send(handler, reply.status, reply.body)
                    return
                self._send(handler, status, answer, route=pattern.pattern)
                return
        self._send(handler, 404, {"message": "404: Not Found", "code": 0})

    def _send_failure(self, handler: BaseHTTPRequestHandler, failure: DiscordFailure) -> None:
        if failure.status != 429:
            self._send(handler, failure.status, {"message": failure.message, "code": failure.code})
            return
        retry = failure.retry_after if failure.retry_after is not None else 1.0
        body = {"message": failure.message, "retry_after": retry, "global": failure.is_global}
        headers = {
            # https://discord.com/developers/docs/topics/rate-limits#header-format
            "Retry-After": str(max(1, math.ceil(retry))),
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": f"{time.time() + retry:.3f}",
            "X-RateLimit-Reset-After": f"{retry:.3f}",
            "X-RateLimit-Bucket": "fakebucket",
            "X-RateLimit-Scope": "shared" if not failure.is_global else "global",
            "Via": "1.1 google",  # discord.py treats a 429 without it as a Cloudflare ban
        }
        if failure.is_global:
            headers["X-RateLimit-Global"] = "true"
        self._send(handler, 429, body, extra=headers)

    def _send(
        self,
        handler: BaseHTTPRequestHandler,
        status: int,
        body: Any,
        *,
        route: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        headers: dict[str, str] = {}
        if route is not None:
            headers = {
                "X-RateLimit-Limit": "50",
                "X-RateLimit-Remaining": str(self.ratelimit_remaining),
                "X-RateLimit-Reset": f"{time.time() + 1:.3f}",
                "X-RateLimit-Reset-After": "1.000",
                "X-RateLimit-Bucket": f"b{abs(hash(route)) % 10**8}",
            }
        headers.update(extra or {})
        send_json(handler, status, body, headers, content_type=JSON, ensure_ascii=True)
