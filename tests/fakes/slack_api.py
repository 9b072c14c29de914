"""A fake Slack Web API on 127.0.0.1 for the real `AsyncWebClient(base_url=...)`.

Speaks the wire format slack_sdk expects (POST /api/<method>, JSON or form bodies, replies
`{"ok": true, ...}` with the real shapes of auth.test, chat.postMessage, chat.postEphemeral,
views.open, conversations.history and conversations.replies — with oldest/latest/inclusive,
limit and cursor paging, and message ts taken from the wall clock like Slack's). Every call is
recorded with its arguments and arrival time; answers can be scripted per method: HTTP 429 with
Retry-After, or `ok: false` errors; `refuse` can refuse chosen posts, and channels in
`unreadable` answer history reads with not_in_channel (a bot posting via chat:write.public);
auth.test reports `granted_scopes` in its x-oauth-scopes header. File uploads take the external
flow: files.getUploadURLExternal hands out an upload URL on this server, the bytes POSTed there
are kept (`uploads`), and files.completeUploadExternal shares them as a message in the channel or
thread, answering with the bare `{id, title}` file objects as Slack does (the share's ts is read
back from the history). `SilentSlack` is a Slack that
accepts connections and never answers; `refused_base_url()` one that refuses them.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar
from urllib.parse import parse_qsl

from tests.fakes.http_fake import LocalHttpFake, read_body, send_bytes, send_json

BOT_USER_ID = "U0DIGESTBOT"
BOT_ID = "B0DIGESTBOT"
TEAM_ID = "T0TEAM"
# The bot scopes slack_manifest.yaml asks for: what a fresh install grants.
MANIFEST_SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "app_mentions:read",
    "channels:history",
    "groups:history",
    "files:write",
)


@dataclass(frozen=True)
class SlackCall:
    """One recorded Web API call."""

    method: str
    args: dict[str, Any]
    token: str | None
    at: float  # time.monotonic() when the request arrived
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))


@dataclass(frozen=True)
class SlackFailure:
    """A scripted answer: HTTP `status` (429 with `retry_after`), or ok=false with `error`."""

    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class SlackUpload:
    """One file of the external upload flow: what files.getUploadURLExternal announced, the
    bytes the upload URL received, and where files.completeUploadExternal shared it."""

    file_id: str
    filename: str
    length: int
    alt_txt: str | None
    data: bytes | None = None
    title: str | None = None
    channel_id: str | None = None
    thread_ts: str | None = None
    initial_comment: str | None = None
    ts: str | None = None  # the message sharing it


class FakeSlackApi(LocalHttpFake):
    """Threaded fake server; use as a context manager. `base_url` ends with `/api/`."""

    # GET too: slack_sdk reads conversations.* with GET + query
    http_methods: ClassVar[tuple[str, ...]] = ("GET", "POST")

    def __init__(self, *, latency: float = 0.0) -> None:
        super().__init__()
        self.latency = latency
        self.socket_url = ""  # what apps.connections.open answers (a FakeSocketMode's URL)
        self.calls: list[SlackCall] = []
        self._failures: dict[str, deque[SlackFailure]] = {}
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self._last_ts = 0.0
        self._messages: dict[tuple[str, str], dict[str, Any]] = {}
        # chat.postMessage args -> an error to answer instead (None: post it)
        self.refuse: Callable[[dict[str, Any]], str | None] | None = None
        self.unreadable: set[str] = set()
        # auth.test's x-oauth-scopes header (https://api.slack.com/methods/auth.test); None: absent
        self.granted_scopes: str | None = ",".join(MANIFEST_SCOPES)
        self.uploads: dict[str, SlackUpload] = {}  # by file id
        self._files = itertools.count(1)

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def response_url_prefix(self) -> str:
        return self.base_url.removesuffix("api/") + "response/"

    @property
    def base_url(self) -> str:
        return f"{self.origin}/api/"

    # -- scripting and inspection -----------------------------------------------------------

    def fail_next(self, method: str, *failures: SlackFailure) -> None:
        with self._lock:
            self._failures.setdefault(method, deque()).extend(failures)

    def rate_limit_next(self, method: str, retry_after: int = 1) -> None:
        self.fail_next(method, SlackFailure(status=429, retry_after=retry_after))

    def calls_to(self, method: str) -> list[SlackCall]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def posted(self) -> list[SlackCall]:
        """Every successful call that put something in front of users."""
        wanted = {
            "chat.postMessage",
            "chat.postEphemeral",
            "views.open",
            "chat.update",
            "response_url",
            "files.completeUploadExternal",
        }
        with self._lock:
            return [c for c in self.calls if c.method in wanted and c.ok]

    def add_user_message(self, channel: str, text: str) -> str:
        """Someone else's message in the channel (channel traffic); returns its ts."""
        ts = self._next_ts()
        message = {"type": "message", "text": text, "user": "U0SOMEONE", "ts": ts}
        with self._lock:
            self._messages[(channel, ts)] = message
        return ts

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Every message in the channel (threads included), oldest first."""
        with self._lock:
            return [m for (c, _), m in sorted(self._messages.items()) if c == channel]

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self._failures.clear()

    # -- serving ----------------------------------------------------------------------------

    def shared_files(self) -> list[SlackUpload]:
        """Uploads files.completeUploadExternal shared, in order."""
        with self._lock:
            return [u for u in self.uploads.values() if u.ts is not None]

    def _handle(self, handler: BaseHTTPRequestHandler, verb: str) -> None:
        arrived = time.monotonic()
        data = read_body(handler)
        path, _, query = handler.path.partition("?")
        if path.startswith("/upload/v1/"):  # an upload URL from files.getUploadURLExternal
            self._receive_upload(handler, path.rsplit("/", 1)[-1], data, arrived)
            return
        raw = data.decode("utf-8")
        if path.startswith("/response/"):  # a slash command's response_url
            payload = json.loads(raw or "{}")
            with self._lock:
                call = SlackCall("response_url", payload, None, arrived, 200, {"ok": True})
                self.calls.append(call)
            send_bytes(handler, 200, b"ok", "text/plain")
            return
        method = path.rsplit("/", 1)[-1]
        content_type = handler.headers.get("Content-Type") or ""
        args: dict[str, Any] = dict(parse_qsl(query))
        if "json" in content_type:
            args.update(json.loads(raw or "{}"))
        else:
            args.update(parse_qsl(raw))
            for key in ("blocks", "view", "metadata", "files"):
                if isinstance(args.get(key), str):
                    args[key] = json.loads(args[key])
        auth = handler.headers.get("Authorization") or ""
        token = auth.removeprefix("Bearer ") or args.get("token")
        with self._lock:
            queue = self._failures.get(method)
            failure = queue.popleft() if queue else None
        if self.latency:
            time.sleep(self.latency)
        status, headers = 200, {}
        if failure is not None and failure.status != 200:
            status, headers = failure.status, dict(failure.headers)
            if failure.retry_after is not None:
                headers["Retry-After"] = str(failure.retry_after)
            body: dict[str, Any] = {"ok": False, "error": "ratelimited"}
        elif failure is not None:
            body = {"ok": False, "error": failure.error or "fatal_error"}
        elif not token:
            body = {"ok": False, "error": "not_authed"}
        else:
            body = self._answer(method, args)
            if method == "auth.test" and self.granted_scopes is not None:
                headers["x-oauth-scopes"] = self.granted_scopes
        with self._lock:
            self.calls.append(SlackCall(method, args, token, arrived, status, body))
        send_json(handler, status, body, headers, ensure_ascii=True)

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://fake-team.slack.com/",
                "team": "Fake Team",
                "user": "digestbot",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            }
        if method == "chat.postMessage":
            channel = str(args.get("channel", ""))
            if not channel:
                return {"ok": False, "error": "channel_not_found"}
            refused = self.refuse(args) if self.refuse is not None else None
            if refused:
                return {"ok": False, "error": refused}
            ts = self._next_ts()
            message: dict[str, Any] = {
                "type": "message",
                "subtype": "bot_message",
                "text": args.get("text", ""),
                "user": BOT_USER_ID,
                "bot_id": BOT_ID,
                "ts": ts,
                "team": TEAM_ID,
            }
            if args.get("blocks"):
                message["blocks"] = args["blocks"]
            if args.get("thread_ts"):
                message["thread_ts"] = args["thread_ts"]
            if args.get("metadata"):
                message["metadata"] = args["metadata"]
            with self._lock:
                self._messages[(channel, ts)] = message
            return {"ok": True, "channel": channel, "ts": ts, "message": message}
        if method == "apps.connections.open":
            if not self.socket_url:
                return {"ok": False, "error": "invalid_auth"}
            return {"ok": True, "url": self.socket_url}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
        if method == "views.open":
            view = dict(args.get("view") or {})
            return {
                "ok": True,
                "view": {**view, "id": f"V{next(self._ts):08d}", "team_id": TEAM_ID},
            }
        if method in {"conversations.history", "conversations.replies"}:
            channel = str(args.get("channel"))
            if channel in self.unreadable:
                return {"ok": False, "error": "not_in_channel"}
            with self._lock:
                if method == "conversations.history":  # top level, newest first
                    found = [
                        dict(m)
                        for (c, t), m in sorted(self._messages.items(), reverse=True)
                        if c == channel and m.get("thread_ts") in (None, t)
                    ]
                else:  # the parent, then its replies, oldest first
                    ts = str(args.get("ts"))
                    found = [
                        dict(m)
                        for (c, t), m in sorted(self._messages.items())
                        if c == channel and (t == ts or m.get("thread_ts") == ts)
                    ]
            return _page(found, args)
        if method == "files.getUploadURLExternal":
            return self._upload_url(args)
        if method == "files.completeUploadExternal":
            return self._complete_upload(args)
        return {"ok": False, "error": "unknown_method"}

    # -- the external file upload ---------------------------------------------------------------
    # https://docs.slack.dev/messaging/working-with-files#uploading_files

    def _upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        filename = str(args.get("filename") or "")
        try:
            length = int(args.get("length") or 0)
        except ValueError:
            length = 0
        if not filename or length <= 0:
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._files):010d}"
        upload = SlackUpload(file_id, filename, length, args.get("alt_txt"))
        with self._lock:
            self.uploads[file_id] = upload
        return {"ok": True, "upload_url": f"{self.origin}/upload/v1/{file_id}", "file_id": file_id}

    def _receive_upload(
        self, handler: BaseHTTPRequestHandler, file_id: str, data: bytes, arrived: float
    ) -> None:
        """The upload URL: the file's bytes as the POST body; answers `OK - <size>` in text."""
        with self._lock:
            queue = self._failures.get("upload")
            failure = queue.popleft() if queue else None
            upload = self.uploads.get(file_id)
        args = {"file_id": file_id, "size": len(data)}
        if failure is not None:
            status = failure.status if failure.status != 200 else 500
            headers = dict(failure.headers)
            if failure.retry_after is not None:
                headers["Retry-After"] = str(failure.retry_after)
            self._record(SlackCall("upload", args, None, arrived, status, {"ok": False}))
            send_bytes(handler, status, b"upload failed", "text/plain", headers)
            return
        if upload is None:
            self._record(SlackCall("upload", args, None, arrived, 404, {"ok": False}))
            send_bytes(handler, 404, b"Not Found", "text/plain")
            return
        with self._lock:
            upload.data = data
        self._record(SlackCall("upload", args, None, arrived, 200, {"ok": True}))
        send_bytes(handler, 200, f"OK - {len(data)}".encode(), "text/plain")

    def _complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        files = args.get("files")
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        channel = str(args.get("channel_id") or "")
        thread = str(args.get("thread_ts") or "") or None
        shared: list[SlackUpload] = []
        with self._lock:
            for item in files:
                upload = self.uploads.get(str(item.get("id")))
                if upload is None or upload.data is None or upload.ts is not None:
                    return {"ok": False, "error": "file_not_found"}
                if len(upload.data) != upload.length:
                    return {"ok": False, "error": "file_upload_size_mismatch"}
                upload.title = item.get("title") or upload.filename
                shared.append(upload)
        if not channel:  # uploaded, shared nowhere (private to the app)
            return {"ok": True, "files": [{"id": u.file_id, "title": u.title} for u in shared]}
        ts = self._next_ts()
        comment = args.get("initial_comment")
        message: dict[str, Any] = {
            "type": "message",
            "text": comment or "",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "ts": ts,
            "team": TEAM_ID,
            "upload": True,
            "files": [
                {
                    "id": u.file_id,
                    "name": u.filename,
                    "title": u.title,
                    "size": len(u.data or b""),
                    "alt_txt": u.alt_txt,
                    "mimetype": "image/png",
                }
                for u in shared
            ],
        }
        if thread:
            message["thread_ts"] = thread
        with self._lock:
            for upload in shared:
                upload.channel_id, upload.thread_ts = channel, thread
                upload.initial_comment, upload.ts = comment, ts
            self._messages[(channel, ts)] = message
        # Slack shares asynchronously: the answer has no shares, let alone the message's ts.
        return {"ok": True, "files": [{"id": u.file_id, "title": u.title} for u in shared]}

    def _record(self, call: SlackCall) -> None:
        with self._lock:
            self.calls.append(call)

    def _next_ts(self) -> str:
        """Slack's ts: the post's Unix time in microseconds, unique in the workspace."""
        with self._lock:
            self._last_ts = max(time.time(), self._last_ts + 0.000001)
            return f"{self._last_ts:.6f}"


def _page(messages: list[dict[str, Any]], args: dict[str, Any]) -> dict[str, Any]:
    """conversations.history / .replies paging: oldest/latest bounds (exclusive unless
    `inclusive`), `limit` per page, the rest behind `response_metadata.next_cursor`; metadata
    only with include_all_metadata (https://api.slack.com/methods/conversations.history)."""
    inclusive = str(args.get("inclusive", "")).lower() in {"1", "true"}
    oldest, latest = float(args.get("oldest") or 0), float(args.get("latest") or 1e12)

    def inside(ts: float) -> bool:
        if inclusive:
            return oldest <= ts <= latest
        return oldest < ts < latest

    found = [m for m in messages if inside(float(m["ts"]))]
    start = int(args.get("cursor") or 0)
    limit = int(args.get("limit") or 100)
    page = found[start : start + limit]
    if str(args.get("include_all_metadata", "")).lower() not in {"1", "true"}:
        for message in page:
            message.pop("metadata", None)
    more = start + limit < len(found)
    body: dict[str, Any] = {"ok": True, "messages": page, "has_more": more}
    body["response_metadata"] = {"next_cursor": str(start + limit) if more else ""}
    return body


class SilentSlack:
    """A Slack that accepts TCP connections and never answers (a hung proxy, a black hole):
    every request waits until the client gives up. Runs in the test's event loop."""

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self.accepted = 0

    async def start(self) -> SilentSlack:
        self._server = await asyncio.start_server(self._hold, "127.0.0.1", 0)
        return self

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the fake first"
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/api/"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in self._writers:
                writer.close()
            await self._server.wait_closed()

    async def _hold(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self._writers.append(writer)
        try:
            while await reader.read(65536):
                pass  # read the request, never answer
        finally:
            writer.close()


def refused_base_url() -> str:
    """An API URL on a local port nobody listens on: every connection is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/"
