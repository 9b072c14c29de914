"""A fake Feishu/Lark OpenAPI on 127.0.0.1 for the real `lark.Client.builder().domain(...)`.

Speaks the wire format lark-oapi expects: JSON bodies and `{code, msg, data}` answers (the bot
info endpoint answers `{code, msg, bot}` as the real one does). Endpoints:

- POST /open-apis/auth/v3/tenant_access_token/internal (self-built app token)
- GET  /open-apis/bot/v3/info
- POST /open-apis/im/v1/messages?receive_id_type=chat_id (text and interactive; `content` must be
  a JSON *string*; `uuid` dedupes: the same uuid within the window answers the first message
  again without posting)
- POST /open-apis/im/v1/messages/{message_id}/reply (`reply_in_thread`, `uuid`)
- GET  /open-apis/im/v1/messages (list a chat's messages, newest or oldest first, paginated;
  cards come back without their `element_id`s unless card_msg_content_type=raw_card_content)
- POST /open-apis/im/v1/images (multipart/form-data: `image_type` and the `image` file; answers
  `data.image_key` and keeps the bytes, `images`); a card's `img` element must name a key
  uploaded here, else the card is refused (230099) as on the platform
- GET  /open-apis/im/v1/chats/{chat_id} (owner and managers)
- POST /callback/ws/endpoint (the long connection's endpoint discovery: `{AppID, AppSecret}` in,
  `{code, msg, data: {URL, ClientConfig}}` out, as lark_oapi.ws.client `_get_conn_url` reads
  it; the URL and ClientConfig come from a tests.fakes.feishu_ws gateway attached to the fake)

Every call is recorded. Answers can be scripted per kind of call: HTTP 429 or HTTP 400 with code
99991400 and an `x-ogw-ratelimit-reset` header, or any other error code. Bodies larger than
`max_body_bytes` (30 KB, the documented limit for card messages) are refused with code 230025
and cards with more than 200 tagged elements with code 230099, as the platform does.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.http_fake import LocalHttpFake, read_body, send_json
from tests.fakes.multipart import FormPart, parse_form

APP_ID = "cli_fake0000000001"
APP_SECRET = "fake-app-secret"
BOT_OPEN_ID = "ou_fakebot000000000000000000000001"
BOT_NAME = "digestbot"
TENANT_KEY = "fake-tenant"
# https://open.feishu.cn/document/server-docs/im-v1/message/create: card and post request
# bodies are at most 30 KB; text messages 150 KB.
CARD_BODY_MAX_BYTES = 30 * 1024
TEXT_BODY_MAX_BYTES = 150 * 1024
CARD_ELEMENTS_MAX = 200
IMAGE_MAX_BYTES = 10 * 1024 * 1024
UNKNOWN_IMAGE = "Failed to create card content, ext=ErrMsg: image key not found: "
UUID_WINDOW_SECONDS = 3600.0
INVALID_TOKEN = "Invalid access token for authorization. Please make a request with token attached."
TOO_MANY_ELEMENTS = "Failed to create card content, ext=ErrMsg: card element number over limit;"

Kind = str  # "token" | "bot" | "create" | "reply" | "list" | "chat" | "endpoint" | "image"


@dataclass(frozen=True)
class FeishuCall:
    """One recorded OpenAPI call."""

    kind: Kind
    method: str
    path: str
    query: dict[str, str]
    body: dict[str, Any] | None
    token: str | None
    at: float  # time.monotonic() when the request arrived


@dataclass(frozen=True)
class FeishuFailure:
    """A scripted answer: HTTP `status` with body `{code, msg}` and, for rate limits, the
    `x-ogw-ratelimit-reset` header (seconds)."""

    status: int = 400
    code: int = 99991400
    msg: str = "request trigger frequency limit"
    reset: int | None = None


@dataclass
class FakeMessage:
    """A message the bot posted (as the platform stores it)."""

    message_id: str
    chat_id: str
    msg_type: str
    content: str
    create_time: int  # ms
    root_id: str | None = None
    parent_id: str | None = None
    thread_id: str | None = None
    uuid: str | None = None
    reply_in_thread: bool = False

    def data(self, *, raw_card: bool = True) -> dict[str, Any]:
        content = self.content
        if self.msg_type == "interactive" and not raw_card:
            content = json.dumps(_without_element_ids(json.loads(content)), ensure_ascii=False)
        data: dict[str, Any] = {
            "message_id": self.message_id,
            "msg_type": self.msg_type,
            "create_time": str(self.create_time),
            "update_time": str(self.create_time),
            "deleted": False,
            "updated": False,
            "chat_id": self.chat_id,
            "sender": {
                "id": APP_ID,
                "id_type": "app_id",
                "sender_type": "app",
                "tenant_key": TENANT_KEY,
            },
            "body": {"content": content},
        }
        for key in ("root_id", "parent_id", "thread_id"):
            value = getattr(self, key)
            if value:
                data[key] = value
        return data

    @property
    def card(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.content)
        return value


@dataclass(frozen=True)
class FakeImage:
    """An image uploaded with im/v1/images."""

    image_key: str
    image_type: str
    filename: str | None
    content_type: str
    data: bytes


@dataclass
class FakeChat:
    owner_id: str = "ou_owner"
    managers: list[str] = field(default_factory=list)
    name: str = "digest chat"


class FakeFeishuApi(LocalHttpFake):
    """Threaded fake server; use as a context manager. `base_url` is what `domain()` takes."""

    def __init__(
        self,
        *,
        app_id: str = APP_ID,
        app_secret: str = APP_SECRET,
        bot_open_id: str = BOT_OPEN_ID,
        max_body_bytes: int = CARD_BODY_MAX_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.app_id = app_id
        self.app_secret = app_secret
        self.bot_open_id = bot_open_id
        self.max_body_bytes = max_body_bytes
        self.clock = clock
        self.calls: list[FeishuCall] = []
        self.messages: list[FakeMessage] = []
        self.chats: dict[str, FakeChat] = {}
        self._failures: dict[Kind, deque[FeishuFailure]] = {}
        self._uuids: dict[str, tuple[FakeMessage, float]] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._last_ms = 0
        # Set by a tests.fakes.feishu_ws gateway: the websocket URL the endpoint hands out and
        # the ClientConfig (reconnect and ping timings) that comes with it.
        self.ws_url: str | None = None
        self.ws_client_config: dict[str, int] = {}
        self._devices = itertools.count(1)
        self.images: dict[str, FakeImage] = {}  # by image_key

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self.origin

    @property
    def token(self) -> str:
        return "t-" + hashlib.sha256(self.app_id.encode()).hexdigest()[:32]

    # -- scripting and inspection -----------------------------------------------------------

    def fail_next(self, kind: Kind, *failures: FeishuFailure) -> None:
        with self._lock:
            self._failures.setdefault(kind, deque()).extend(failures)

    def rate_limit_next(
        self, kind: Kind, reset: int = 2, *, status: int = 400, code: int = 99991400
    ) -> None:
        self.fail_next(kind, FeishuFailure(status=status, code=code, reset=reset))

    def set_chat(self, chat_id: str, owner_id: str, managers: list[str] | None = None) -> None:
        with self._lock:
            self.chats[chat_id] = FakeChat(owner_id, list(managers or []))

    def calls_to(self, kind: Kind) -> list[FeishuCall]:
        with self._lock:
            return [c for c in self.calls if c.kind == kind]

    def posted(self) -> list[FakeMessage]:
        """Every message actually posted, in order (uuid repeats are not posted again)."""
        with self._lock:
            return list(self.messages)

    def message(self, message_id: str) -> FakeMessage:
        with self._lock:
            return next(m for m in self.messages if m.message_id == message_id)

    # -- serving ----------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        arrived = time.monotonic()
        split = urlsplit(handler.path)
        path, query = split.path, dict(parse_qsl(split.query))
        raw = read_body(handler)
        kind = _kind(method, path)
        form = parse_form(handler.headers.get("Content-Type") or "", raw)
        try:
            body = _form_body(form) if form else json.loads(raw) if raw else None
        except ValueError:
            send_json(handler, 400, {"code": 9499, "msg": "Bad Request"})
            return
        auth = handler.headers.get("Authorization") or ""
        token = auth.removeprefix("Bearer ").strip() or None
        with self._lock:
            self.calls.append(FeishuCall(kind, method, path, query, body, token, arrived))
            queue = self._failures.get(kind)
            failure = queue.popleft() if queue else None
        if failure is not None:
            headers = {}
            if failure.reset is not None:
                headers["x-ogw-ratelimit-reset"] = str(failure.reset)
            send_json(handler, failure.status, {"code": failure.code, "msg": failure.msg}, headers)
            return
        if kind == "token":
            send_json(handler, 200, self._tenant_token(body or {}))
            return
        if kind == "endpoint":
            send_json(handler, 200, self._ws_endpoint(body or {}))
            return
        if token != self.token:
            send_json(handler, 400, {"code": 99991663, "msg": INVALID_TOKEN})
            return
        if kind == "image":
            status, answer = self._upload_image(form)
        else:
            status, answer = self._answer(kind, path, query, body or {}, len(raw))
        send_json(handler, status, answer)

    def _upload_image(self, form: dict[str, FormPart]) -> tuple[int, dict[str, Any]]:
        """https://open.feishu.cn/document/server-docs/im-v1/image/create: image_type
        "message" or "avatar", an image of at most 10 MB."""
        image_type = form["image_type"].data.decode() if "image_type" in form else ""
        image = form.get("image")
        if image_type not in {"message", "avatar"} or image is None or image.filename is None:
            return 400, {"code": 234001, "msg": "Invalid request param."}
        if not image.data:
            return 400, {"code": 234010, "msg": "File's size can't be 0."}
        if len(image.data) > IMAGE_MAX_BYTES:
            return 400, {"code": 234006, "msg": "The file size exceed the max value."}
        key = f"img_v3_{next(self._ids):04x}_" + hashlib.sha256(image.data).hexdigest()[:16]
        stored = FakeImage(key, image_type, image.filename, image.content_type, image.data)
        with self._lock:
            self.images[key] = stored
        return 200, {"code": 0, "msg": "success", "data": {"image_key": key}}

    def _tenant_token(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("app_id") != self.app_id or body.get("app_secret") != self.app_secret:
            return {"code": 10014, "msg": "app secret invalid"}
        return {"code": 0, "msg": "ok", "tenant_access_token": self.token, "expire": 7200}

    def _ws_endpoint(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("AppID") != self.app_id or body.get("AppSecret") != self.app_secret:
            # Any code but 0, 1 (busy) and 1000040343 (internal) is a ClientException for
            # lark-oapi: it gives up instead of reconnecting.
            return {"code": 1000040351, "msg": "invalid app_id or app_secret"}
        if self.ws_url is None:
            return {"code": 1, "msg": "system busy"}
        device = f"device{next(self._devices)}"
        url = f"{self.ws_url}?device_id={device}&service_id=7&access_key=fake-ticket"
        return {
            "code": 0,
            "msg": "ok",
            "data": {"URL": url, "ClientConfig": dict(self.ws_client_config)},
        }

    def _answer(
        self, kind: Kind, path: str, query: dict[str, str], body: dict[str, Any], size: int
    ) -> tuple[int, dict[str, Any]]:
        if kind == "bot":
            bot = {
                "activate_status": 2,
                "app_name": BOT_NAME,
                "avatar_url": "",
                "ip_white_list": [],
                "open_id": self.bot_open_id,
            }
            return 200, {"code": 0, "msg": "ok", "bot": bot}
        if kind == "chat":
            chat_id = path.rsplit("/", 1)[-1]
            with self._lock:
                chat = self.chats.get(chat_id)
            if chat is None:
                return 400, {"code": 232011, "msg": "Operator can NOT be out of the chat."}
            data = {
                "chat_mode": "group",
                "chat_type": "private",
                "name": chat.name,
                "owner_id": chat.owner_id,
                "owner_id_type": "open_id",
                "user_manager_id_list": chat.managers,
                "bot_manager_id_list": [],
            }
            return 200, {"code": 0, "msg": "success", "data": data}
        if kind == "list":
            return self._list(query)
        if kind in {"create", "reply"}:
            return self._post(kind, path, query, body, size)
        return 404, {"code": 404, "msg": "404 page not found"}

    def _post(
        self, kind: Kind, path: str, query: dict[str, str], body: dict[str, Any], size: int
    ) -> tuple[int, dict[str, Any]]:
        msg_type, content = body.get("msg_type"), body.get("content")
        if msg_type not in {"text", "interactive", "post"} or not isinstance(content, str):
            return 400, {
                "code": 230001,
                "msg": "Your request contains an invalid request "
                "parameter, ext=content must be a JSON string.",
            }
        try:
            parsed = json.loads(content)
        except ValueError:
            return 400, {"code": 230001, "msg": "invalid message content"}
        limit = TEXT_BODY_MAX_BYTES if msg_type == "text" else self.max_body_bytes
        if size > limit:
            return 400, {
                "code": 230025,
                "msg": "The length of the message content reaches its limit.",
            }
        if msg_type == "interactive" and _count_tags(parsed) > CARD_ELEMENTS_MAX:
            return 400, {"code": 230099, "msg": TOO_MANY_ELEMENTS}
        with self._lock:
            unknown = [k for k in _image_keys(parsed) if k not in self.images]
        if msg_type == "interactive" and unknown:
            return 400, {"code": 230099, "msg": f"{UNKNOWN_IMAGE}{unknown[0]}"}
        uuid = body.get("uuid")
        if uuid is not None and (not isinstance(uuid, str) or len(uuid) > 50):
            return 400, {"code": 230001, "msg": "invalid request param, ext=uuid too long"}
        now = self.clock()
        with self._lock:
            if uuid and uuid in self._uuids:
                message, at = self._uuids[uuid]
                if now - at < UUID_WINDOW_SECONDS:
                    return 200, {"code": 0, "msg": "success", "data": message.data()}
        if kind == "create":
            if query.get("receive_id_type") != "chat_id" or not body.get("receive_id"):
                return 400, {"code": 230001, "msg": "invalid receive_id"}
            message = self._new(str(body["receive_id"]), str(msg_type), content, uuid)
        else:
            parent_id = path.split("/")[-2]
            if not parent_id.startswith("om_"):
                return 400, {"code": 230001, "msg": "invalid message_id"}
            message = self._reply(
                parent_id, str(msg_type), content, uuid, bool(body.get("reply_in_thread"))
            )
        with self._lock:
            self.messages.append(message)
            if uuid:
                self._uuids[uuid] = (message, now)
        return 200, {"code": 0, "msg": "success", "data": message.data()}

    def _new(self, chat_id: str, msg_type: str, content: str, uuid: str | None) -> FakeMessage:
        return FakeMessage(
            self._message_id(), chat_id, msg_type, content, self._now_ms(), uuid=uuid
        )

    def _reply(
        self, parent_id: str, msg_type: str, content: str, uuid: str | None, in_thread: bool
    ) -> FakeMessage:
        with self._lock:
            parent = next((m for m in self.messages if m.message_id == parent_id), None)
        # A message the fake never saw is a user's message (events carry those ids): top level.
        chat_id = parent.chat_id if parent else "oc_unknown"
        root = (parent.root_id if parent else None) or parent_id
        thread = parent.thread_id if parent else None
        if thread is None and in_thread:
            thread = "omt_" + hashlib.sha256(root.encode()).hexdigest()[:16]
            with self._lock:
                for m in self.messages:
                    if m.message_id == root:
                        m.thread_id = thread
        message = self._new(chat_id, msg_type, content, uuid)
        message.root_id, message.parent_id, message.thread_id = root, parent_id, thread
        message.reply_in_thread = in_thread
        return message

    def _list(self, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if query.get("container_id_type") != "chat" or not query.get("container_id"):
            return 400, {"code": 230001, "msg": "invalid container_id"}
        chat = query["container_id"]
        # start_time / end_time: seconds, inclusive
        # (https://open.feishu.cn/document/server-docs/im-v1/message/list)
        first = int(query.get("start_time") or 0) * 1000
        last = int(query.get("end_time") or 10**11) * 1000 + 999
        with self._lock:
            items = [
                m for m in self.messages if m.chat_id == chat and first <= m.create_time <= last
            ]
        if query.get("sort_type") == "ByCreateTimeDesc":
            items.reverse()
        size = min(max(int(query.get("page_size") or 20), 1), 50)
        start = int(query.get("page_token") or 0)
        page = items[start : start + size]
        raw = query.get("card_msg_content_type") == "raw_card_content"
        more = start + size < len(items)
        data = {
            "has_more": more,
            "page_token": str(start + size) if more else "",
            "items": [m.data(raw_card=raw) for m in page],
        }
        return 200, {"code": 0, "msg": "success", "data": data}

    def _now_ms(self) -> int:
        """Feishu's create_time: the wall clock in milliseconds (strictly increasing here)."""
        with self._lock:
            self._last_ms = max(int(time.time() * 1000), self._last_ms + 1)
            return self._last_ms

    def _message_id(self) -> str:
        return f"om_{next(self._ids):032x}"


def _kind(method: str, path: str) -> Kind:
    if path == "/open-apis/auth/v3/tenant_access_token/internal":
        return "token"
    if path == "/open-apis/bot/v3/info":
        return "bot"
    if path == "/callback/ws/endpoint":
        return "endpoint"
    if path == "/open-apis/im/v1/images" and method == "POST":
        return "image"
    if path.startswith("/open-apis/im/v1/chats/"):
        return "chat"
    if path == "/open-apis/im/v1/messages":
        return "create" if method == "POST" else "list"
    if path.startswith("/open-apis/im/v1/messages/") and path.endswith("/reply"):
        return "reply"
    return "unknown"


def _form_body(form: dict[str, FormPart]) -> dict[str, Any]:
    """What a call records of a multipart body: its text fields, and each file's name, type
    and size."""
    body: dict[str, Any] = {}
    for name, part in form.items():
        if part.filename is None:
            body[name] = part.data.decode("utf-8")
        else:
            body[name] = {
                "filename": part.filename,
                "content_type": part.content_type,
                "size": len(part.data),
            }
    return body


def _image_keys(value: Any) -> list[str]:
    """The `img_key`s of a card's `img` elements."""
    if isinstance(value, dict):
        own = [str(value["img_key"])] if value.get("tag") == "img" and "img_key" in value else []
        return own + [k for v in value.values() for k in _image_keys(v)]
    if isinstance(value, list):
        return [k for v in value for k in _image_keys(v)]
    return []


def _count_tags(value: Any) -> int:
    if isinstance(value, dict):
        return int("tag" in value) + sum(_count_tags(v) for v in value.values())
    if isinstance(value, list):
        return sum(_count_tags(v) for v in value)
    return 0


def _without_element_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_element_ids(v) for k, v in value.items() if k != "element_id"}
    if isinstance(value, list):
        return [_without_element_ids(v) for v in value]
    return value
