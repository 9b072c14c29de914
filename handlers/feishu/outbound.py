"""The Feishu/Lark ChatAdapter: cards from formatters.feishu_*, posted with lark-oapi's async API.

Every post goes through one path: the chat's pacing slot (≤ 5 messages/s per chat), then
`im.v1.message.create` (top level) or `im.v1.message.reply` (under a message, `reply_in_thread`
for threads), each with a `uuid` idempotency key reused across retries. Rate limits — HTTP 429,
or HTTP 400 with code 99991400 on older gateways — wait `x-ogw-ratelimit-reset` seconds and
retry; a card the platform finds too large is split (handlers.feishu.card_split) and sent as
several messages, never dropped. Plain text is sent as an escaped markdown card.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
import uuid as uuid_module
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import lark_oapi as lark
import requests
from lark_oapi.api.im.v1 import (
    CreateImageRequest,
    CreateImageRequestBody,
    CreateMessageRequest,
    CreateMessageRequestBody,
    GetChatRequest,
    ListMessageRequest,
    ReplyMessageRequest,
    ReplyMessageRequestBody,
)
from lark_oapi.core.exception import ObtainAccessTokenException
from lark_oapi.core.token import TokenManager

from bot.errors import ConfigError, PlatformError
from bot.models import Alert, Digest, DigestItem, Language
from formatters.feishu_alert import render_feishu_alert
from formatters.feishu_card import Card, card_content, plain_text, render_feishu
from formatters.feishu_details import render_feishu_details
from formatters.text_safety import clip, escape_plain, one_line
from handlers.feishu.card_split import fit_card, mark_card, split_card, text_card
from handlers.feishu.inbound import PLATFORM, BotIdentity
from handlers.ports import MessageRef, PartKey, ReplyTarget
from handlers.runtime.digest_parts import post_all, send_digest
from handlers.runtime.pacing import ChannelPacer

log = logging.getLogger(__name__)

# https://open.feishu.cn/document/server-docs/api-call-guide/frequency-control : a limited call
# answers HTTP 429 (older gateways: HTTP 400 with code 99991400) and `x-ogw-ratelimit-reset`,
# the seconds until the quota resets. 230020 is the per-chat limit of message create/reply and
# 11232 the tenant's message-service limit (https://open.feishu.cn/document/server-docs/im-v1/
# message/create "错误码"); both are retried the same way.
RATE_LIMIT_CODES = frozenset({99991400, 230020, 11232})
RESET_HEADER = "x-ogw-ratelimit-reset"
# 230025: "The length of the message content reaches its limit"; 230099 "Failed to create card
# content" carries the card limit that was hit (element count, tables…) in its message.
TOO_LARGE_CODES = frozenset({230025})
CARD_FAILED_CODE = 230099
_LIMIT_WORDS = ("limit", "exceed", "too large", "too long", "over", "超")
_USER_ERRORS = {
    230002: "I am not in this chat; add me to the group first.",
    230006: "The Feishu app has no bot capability yet; see the README.",
    230013: "You are outside the bot's availability range in the Feishu console.",
    230027: "The Feishu app lacks a permission; see the README.",
    99991672: "The Feishu app lacks a permission (scope); see the README.",
    99991679: "The Feishu app lacks a permission (scope); see the README.",
}
# https://open.feishu.cn/document/server-docs/api-call-guide/generic-error-code : the tenant
# token is invalid (99991663) or expired (99991668): fetch a new one once and retry.
TOKEN_CODES = frozenset({99991663, 99991668})
# https://open.feishu.cn/document/server-docs/im-v1/message/create : uuid ≤ 50 characters,
# deduplicated for one hour.
UUID_MAX = 50
MARKER_PREFIX = "dk"  # card element_id marking a scheduled delivery (≤ 20 characters in all)
IMAGE_ALT_MAX = 1000
# Feishu keeps a uuid for an hour; a re-post this soon after the first is answered with it.
UUID_SAFE = timedelta(minutes=50)


class CardTooLargeError(PlatformError):
    """The platform refused a card for its size (or one of its card limits)."""


class CredentialsError(PlatformError):
    """Feishu refused the app id / secret (no tenant access token)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait for Feishu's rate limits; `sleep` is injectable so tests never sleep."""

    max_attempts: int = 5
    max_wait: float = 60.0  # a reset further away than this fails the post instead
    backoff: float = 1.0  # without a reset header: 1 s, 2 s, 4 s…
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    def wait_for(self, reset: float | None, attempt: int) -> float:
        if reset is not None:
            return min(max(reset, 0.0), self.max_wait)
        return min(self.backoff * float(2 ** max(attempt - 1, 0)), self.max_wait)


@dataclass(frozen=True)
class _Posted:
    message_id: str
    root_id: str | None


class FeishuAdapter:
    """ChatAdapter (and PartLookup) for Feishu/Lark over a `lark.Client`."""

    def __init__(
        self,
        client: lark.Client,
        *,
        app_id: str,
        pacer: ChannelPacer,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.client = client
        self._app_id = app_id
        self._pacer = pacer
        self._retry = retry or RetryPolicy()

    @property
    def platform(self) -> str:
        return PLATFORM

    # -- ChatAdapter -------------------------------------------------------------------------

    async def send_digest(
        self, target: ReplyTarget, digest: Digest, *, delivery_key: str | None = None
    ) -> list[MessageRef]:
        return await send_digest(self, target, digest, delivery_key)

    def render_digest(self, digest: Digest, *, delivery_key: str | None = None) -> list[str]:
        cards = [part for card in render_feishu(digest) for part in fit_card(card)]
        return [_serialised(card, delivery_key, index) for index, card in enumerate(cards)]

    def render_alert(self, alert: Alert, *, delivery_key: str) -> list[str]:
        """One card (formatters.feishu_alert keeps it within the card budget; a card Feishu
        still refuses as too large is split when posted, as any other)."""
        return [_serialised(render_feishu_alert(alert), delivery_key, 0)]

    async def post_part(
        self,
        target: ReplyTarget,
        payload: str,
        *,
        root: MessageRef | None = None,
        key: PartKey | None = None,
    ) -> list[MessageRef]:
        reply_to = root.message_id if root is not None else target.thread_id
        uuid_key = f"{key.delivery_key}/{key.index}" if key is not None else None
        return await self._post_fitted(target, json.loads(payload), reply_to, uuid_key)

    async def send_details(
        self, target: ReplyTarget, item: DigestItem, repo_url: str, language: Language
    ) -> list[MessageRef]:
        payloads = await asyncio.to_thread(_details_payloads, item, repo_url, language)
        return await post_all(self, target, payloads)

    async def send_text(self, target: ReplyTarget, text: str) -> list[MessageRef]:
        return await post_all(self, target, [json.dumps(p) for p in fit_card(text_card(text))])

    async def send_notice(self, target: ReplyTarget, text: str) -> None:
        """Bots have no "only you can see this" for plain replies, so a notice answers the
        user's message: a quote reply (or in its thread), also when `target` is the chat's top
        level (the "building the digest…" notice)."""
        event = target.event
        if target.thread_id is None and event is not None and event.message_id:
            target = ReplyTarget(
                target.platform,
                target.channel_id,
                event.thread_id or event.message_id,
                target.user_id,
                event,
            )
        await self.send_text(target, text)

    async def send_image(
        self,
        target: ReplyTarget,
        image: bytes,
        *,
        filename: str,
        title: str,
        alt_text: str,
        text: str = "",
    ) -> list[MessageRef]:
        """Upload the PNG (POST /open-apis/im/v1/images, multipart, image_type "message":
        https://open.feishu.cn/document/server-docs/im-v1/image/create) for its `image_key`,
        then post a card with an `img` element (title, alt text) and the escaped caption, in
        the chat or in the target's thread as every other post."""
        name = one_line(filename) or "image.png"

        async def image_create(_: None) -> Any:
            # lark-oapi takes the file out of the body it is given: a fresh one per attempt.
            stream = io.BytesIO(image)
            stream.name = name
            body = CreateImageRequestBody.builder().image_type("message").image(stream).build()
            request = CreateImageRequest.builder().request_body(body).build()
            return await self.client.im.v1.image.acreate(request)

        response = await self._call(image_create, None)
        image_key = str(getattr(response.data, "image_key", None) or "")
        if not image_key:
            raise PlatformError("Feishu did not confirm the image.", detail="no image_key")
        card = image_card(image_key, title=title, alt_text=alt_text, text=text)
        return await self._post_fitted(target, card, target.thread_id, None)

    # -- PartLookup ----------------------------------------------------------------------

    async def find_part(
        self,
        target: ReplyTarget,
        key: PartKey,
        *,
        root: MessageRef | None,
        between: tuple[datetime, datetime],
        payload: str,
    ) -> list[MessageRef] | None:
        """The part's messages: within the hour Feishu deduplicates a post's `uuid`, so a
        re-post with the part's uuid answers the first message and nothing is read ([]);
        later, our messages created in `between` whose card carries the part's marker (a
        thread part not found there: None, "cannot tell").

        Reading needs the history scope (im:message:readonly); a refusal raises PlatformError
        and the scheduler's policy applies (docs/delivery.md)."""
        if datetime.now(UTC) - between[0] < UUID_SAFE:
            return []
        marker = delivery_marker(f"{key.delivery_key}/{key.index}")
        found: list[dict[str, Any]] = []
        page_token: str | None = None
        while True:
            builder = (
                ListMessageRequest.builder()
                .container_id_type("chat")
                .container_id(target.channel_id)
                .start_time(str(int(between[0].timestamp())))
                .end_time(str(int(between[1].timestamp()) + 1))
                .sort_type("ByCreateTimeAsc")
                .page_size(50)
                .card_msg_content_type("raw_card_content")
            )
            if page_token:
                builder = builder.page_token(page_token)
            response = await self._call(self.client.im.v1.message.alist, builder.build())
            data = _as_dict(response.data)
            for item in data.get("items") or []:
                sender = item.get("sender") or {}
                content = str((item.get("body") or {}).get("content") or "")
                ours = sender.get("id") in {None, self._app_id}
                if sender.get("sender_type") == "app" and ours and marker in content:
                    found.append(item)
            page_token = str(data.get("page_token") or "") or None
            if not data.get("has_more") or page_token is None:
                break
        thread = None if root is None else root.message_id
        if not found and thread is not None:
            # A reply in a topic may not be listed with the chat's messages: not seeing it
            # does not prove it is missing, so say so (the scheduler never re-posts then).
            return None
        return [
            MessageRef(PLATFORM, target.channel_id, str(item["message_id"]), thread)
            for item in found
        ]

    # -- platform facts ----------------------------------------------------------------------

    async def bot_identity(self, *, attempts: int | None = None) -> BotIdentity:
        """The bot's open_id on this tenant (GET /open-apis/bot/v3/info), in at most
        `attempts` tries (default: the retry policy's).

        ConfigError when Feishu refuses the app credentials; PlatformError when unreachable."""
        request = (
            lark.BaseRequest.builder()
            .http_method(lark.HttpMethod.GET)
            .uri("/open-apis/bot/v3/info")
            .token_types({lark.AccessTokenType.TENANT})
            .build()
        )
        try:
            response = await self._call(self.client.arequest, request, attempts=attempts)
        except CredentialsError as exc:
            raise ConfigError(
                "Feishu refused FEISHU_APP_ID / FEISHU_APP_SECRET (or FEISHU_DOMAIN is "
                "the wrong one: open.feishu.cn for Feishu, open.larksuite.com for Lark).",
                detail=str(exc),
            ) from exc
        body = json.loads(response.raw.content or b"{}")
        bot = body.get("bot") or {}
        return BotIdentity(open_id=bot.get("open_id") or None, name=bot.get("app_name") or None)

    async def is_chat_manager(self, chat_id: str, open_id: str) -> bool:
        """True for the group's owner and its managers (GET /open-apis/im/v1/chats/:chat_id)."""
        request = GetChatRequest.builder().chat_id(chat_id).user_id_type("open_id").build()
        try:
            response = await self._call(self.client.im.v1.chat.aget, request)
        except PlatformError as exc:
            log.info("cannot read chat %s: %s", chat_id, exc)
            return False
        data = _as_dict(response.data)
        managers = data.get("user_manager_id_list") or []
        return open_id == data.get("owner_id") or open_id in managers

    # -- posting -----------------------------------------------------------------------------

    async def _post_fitted(
        self,
        target: ReplyTarget,
        card: dict[str, Any],
        reply_to: str | None,
        uuid_key: str | None,
    ) -> list[MessageRef]:
        """Post one card at `target` (or as a reply to `reply_to`); a card Feishu refuses as
        too large goes in parts, each replying to the first. Returns the refs posted."""
        in_thread = _reply_in_thread(target)
        pending = deque([(card, "0")])
        refs: list[MessageRef] = []
        while pending:
            card, path = pending.popleft()
            parent = reply_to or (refs[0].message_id if refs else None)
            try:
                posted = await self._post_card(
                    target.channel_id, parent, in_thread, card, _uuid(uuid_key, path)
                )
            except CardTooLargeError:
                parts = split_card(card)
                if not parts:
                    if not refs:
                        raise
                    log.error("a piece of a card too large to split was not posted")
                    break
                log.info("Feishu refused a card as too large; sending it in %d parts", len(parts))
                pending.extendleft(reversed([(p, f"{path}.{k}") for k, p in enumerate(parts)]))
                continue
            except PlatformError:
                if not refs:
                    raise
                log.exception("a piece of a split card was not posted")
                break  # what is up is returned, so it is recorded
            thread = (posted.root_id or parent) if parent else None
            refs.append(MessageRef(PLATFORM, target.channel_id, posted.message_id, thread))
        return refs

    async def _post_card(
        self, chat_id: str, reply_to: str | None, in_thread: bool, card: dict[str, Any], key: str
    ) -> _Posted:
        content = card_content(card)
        if reply_to is None:
            create = CreateMessageRequestBody.builder().receive_id(chat_id)
            body = create.msg_type("interactive").content(content).uuid(key).build()
            request: Any = (
                CreateMessageRequest.builder().receive_id_type("chat_id").request_body(body).build()
            )
            method = self.client.im.v1.message.acreate
        else:
            reply = ReplyMessageRequestBody.builder().msg_type("interactive").content(content)
            body = reply.reply_in_thread(in_thread).uuid(key).build()
            request = ReplyMessageRequest.builder().message_id(reply_to).request_body(body).build()
            method = self.client.im.v1.message.areply
        response = await self._call(method, request, pace=chat_id)
        data = response.data
        message_id = getattr(data, "message_id", None)
        if not message_id:
            raise PlatformError("Feishu did not confirm the message.", detail="no message_id")
        return _Posted(str(message_id), getattr(data, "root_id", None) or None)

    async def _call(
        self,
        method: Callable[[Any], Awaitable[Any]],
        request: Any,
        *,
        pace: str | None = None,
        attempts: int | None = None,
    ) -> Any:
        """One OpenAPI call with our retry policy (at most `attempts` tries when given); the
        response when its code is 0."""
        name = getattr(method, "__name__", "request")
        renewed = False
        max_attempts = attempts or self._retry.max_attempts
        for attempt in range(1, max_attempts + 1):
            if pace is not None:
                await self._pacer.wait(pace)
            await self._tenant_token()
            try:
                response = await method(request)
            except (httpx.HTTPError, ValueError) as exc:  # unreachable, or not a JSON answer
                if attempt == max_attempts:
                    raise PlatformError(
                        "Feishu could not be reached.", detail=f"{name}: {exc!r}"
                    ) from exc
                await self._retry.sleep(self._retry.wait_for(None, attempt))
                continue
            code = response.code
            if code == 0:
                return response
            raw = response.raw
            status = raw.status_code if raw is not None else 0
            msg = str(response.msg or "")
            detail = f"{name}: HTTP {status} code {code} {msg}"
            if code in TOKEN_CODES and not renewed:
                renewed = True
                TokenManager.cache.set(f"self_tenant_token:{self._app_id}", "", 0)
                continue
            if status >= 500 and attempt < max_attempts:
                # A gateway or server error: safe to retry, the uuid dedupes a late success.
                log.info("Feishu answered %s on %s; retrying", status, name)
                await self._retry.sleep(self._retry.wait_for(None, attempt))
                continue
            if status == 429 or code in RATE_LIMIT_CODES:
                reset = _reset_seconds(raw.headers if raw is not None else {})
                if reset is not None and reset > self._retry.max_wait:
                    break
                if attempt < max_attempts:
                    wait = self._retry.wait_for(reset, attempt)
                    log.info("Feishu rate limit on %s; retrying in %.1f s", name, wait)
                    await self._retry.sleep(wait)
                    continue
                break
            if code in TOO_LARGE_CODES or (
                code == CARD_FAILED_CODE and any(w in msg.lower() for w in _LIMIT_WORDS)
            ):
                raise CardTooLargeError("The card was too large for Feishu.", detail=detail)
            message = _USER_ERRORS.get(code or 0, "Feishu refused the message.")
            raise PlatformError(message, detail=detail)
        raise PlatformError(
            "Feishu is rate limiting me; try again in a minute.", detail=f"{name}: rate limited"
        )

    async def _tenant_token(self) -> None:
        """Fetch (or find cached) the tenant token in a worker thread: lark-oapi fetches it
        synchronously inside its async calls, which would block the event loop."""
        try:
            await asyncio.to_thread(TokenManager.get_self_tenant_token, self.client.config)
        except ObtainAccessTokenException as exc:
            raise CredentialsError("Feishu refused the app credentials.", detail=repr(exc)) from exc
        except requests.RequestException as exc:
            raise PlatformError("Feishu could not be reached.", detail=repr(exc)) from exc


def image_card(image_key: str, *, title: str, alt_text: str, text: str = "") -> Card:
    """A card JSON 2.0 showing an uploaded image (`img` element: title and alt text as
    plain_text) above the caption, a markdown element escaped like any text
    (https://open.feishu.cn/document/feishu-cards/card-json-v2-components/content-components/image)."""
    caption = text.strip()
    card = text_card(caption) if caption else text_card(title)
    elements: list[dict[str, Any]] = card["body"]["elements"]
    if not caption:
        elements.clear()
    element: dict[str, Any] = {
        "tag": "img",
        "img_key": image_key,
        "alt": {"tag": "plain_text", "content": clip(escape_plain(alt_text), IMAGE_ALT_MAX)},
        "scale_type": "fit_horizontal",
        "preview": True,
    }
    if one_line(title):
        element["title"] = plain_text(title)
    elements.insert(0, element)
    return card


def _details_payloads(item: DigestItem, repo_url: str, language: Language) -> list[str]:
    card = render_feishu_details(item, repo_url, language)
    return [json.dumps(part) for part in fit_card(card)]


def _serialised(card: Card, delivery_key: str | None, index: int) -> str:
    """One card as its stored payload; with a delivery key, part `index` carries its marker
    (its `uuid` is derived from the same key when posted: see `post_part`)."""
    if delivery_key is None:
        return json.dumps(card)
    return json.dumps(mark_card(card, delivery_marker(f"{delivery_key}/{index}")))


def delivery_marker(delivery_key: str) -> str:
    """`dk` + 18 hex digits: a card element_id (≤ 20 characters) naming one delivery."""
    return MARKER_PREFIX + hashlib.sha256(delivery_key.encode("utf-8")).hexdigest()[:18]


def _uuid(delivery_key: str | None, path: str) -> str:
    """The message's idempotency key: derived from the delivery key (the same on every run of
    a scheduled post), else random (the same across this message's retries only)."""
    if delivery_key is None:
        return uuid_module.uuid4().hex
    digest = hashlib.sha256(f"{delivery_key}\x00{path}".encode()).hexdigest()
    return ("d" + digest)[: UUID_MAX - 2]


def _reply_in_thread(target: ReplyTarget) -> bool:
    """Threads (topics) for answers under our messages; a plain quote reply when answering a
    top-level message of the user (its ack, a usage hint) or in a one-to-one chat."""
    event = target.event
    if event is None:
        return True
    if event.context.get("chat_type") == "p2p":
        return False
    return not (
        event.kind != "button" and event.thread_id is None and target.thread_id == event.message_id
    )


def _reset_seconds(headers: Mapping[str, str]) -> float | None:
    for key, value in headers.items():
        if key.lower() == RESET_HEADER:
            try:
                return float(value)
            except (TypeError, ValueError):
                return None
    return None


def _as_dict(data: Any) -> dict[str, Any]:
    if data is None:
        return {}
    loaded = json.loads(lark.JSON.marshal(data) or "{}")
    return loaded if isinstance(loaded, dict) else {}
