"""The Feishu/Lark bot: events over the long connection (default) or HTTP callbacks, fed to the
conversation layer: group @mentions, `/digest …`, thread replies, one-to-one chats, and the
Details button of digest cards (card.action.trigger).

Both modes share one `lark.EventDispatcherHandler`: HTTP mode passes each raw request to its
`do()` (url_verification challenge, AES-256-CBC decryption with the encrypt key, the
X-Lark-Signature check over timestamp + nonce + encrypt key + body, the verification token);
the long connection (handlers.feishu.long_connection) calls it from its own thread. Our handlers
only turn the payload into an InboundEvent and hand it to the main loop, so Feishu gets its
answer well inside its 3 s; the ack reply, the digest and everything else run after, as
background tasks.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import lark_oapi as lark
from aiohttp import web
from lark_oapi.event.callback.model.p2_card_action_trigger import (
    P2CardActionTrigger,
    P2CardActionTriggerResponse,
)

from bot.errors import ConfigError, PlatformError
from handlers.conversation.conversation import Conversation
from handlers.feishu.inbound import BotIdentity, card_action_event, message_event
from handlers.feishu.long_connection import LongConnection
from handlers.feishu.outbound import FeishuAdapter, RetryPolicy
from handlers.feishu.settings import FEISHU_DOMAIN, LARK_DOMAIN, FeishuConfig, FeishuSettings
from handlers.platform import PlatformContext
from handlers.ports import InboundEvent
from handlers.runtime.inflight import InFlight
from handlers.runtime.pacing import ChannelPacer

log = logging.getLogger(__name__)

HTTP_PATH = "/feishu/events"
# https://open.feishu.cn/document/server-docs/im-v1/message/create "使用限制": 5 QPS per chat
# (shared by the bots in a group), so one post per 0.2 s per chat.
POST_INTERVAL_SECONDS = 0.2
REQUEST_TIMEOUT_SECONDS = 15.0
MESSAGE_EVENT = "im.message.receive_v1"
# The headers `EventDispatcherHandler.do` reads, by their exact names (it looks them up in a
# plain dict).
_FORWARDED_HEADERS = (
    "X-Lark-Request-Timestamp",
    "X-Lark-Request-Nonce",
    "X-Lark-Signature",
    "X-Request-Id",
    "Content-Type",
)


def build_client(config: FeishuConfig) -> Any:
    """The OpenAPI client (`lark.Client`); ConfigError for a domain lark-oapi refuses."""
    route_sdk_logs()
    try:
        return (
            lark.Client.builder()
            .app_id(config.app_id)
            .app_secret(config.app_secret)
            .domain(config.domain)
            .timeout(REQUEST_TIMEOUT_SECONDS)
            .log_level(lark.LogLevel.WARNING)
            .build()
        )
    except ValueError as exc:
        raise ConfigError(
            f"FEISHU_DOMAIN must be {FEISHU_DOMAIN} or {LARK_DOMAIN}.", detail=str(exc)
        ) from exc


def route_sdk_logs() -> None:
    """lark-oapi logs through a stdout handler of its own, past the redacting formatter and
    LOG_FORMAT (and into stdout, which carries the CLI's output): drop it, so its records go
    through the root handler like everyone else's."""
    sdk = logging.getLogger("Lark")
    for handler in sdk.handlers[:]:
        sdk.removeHandler(handler)
    sdk.propagate = True


class FeishuBot:
    """Owns the dispatcher, the OpenAPI client and the adapter; a `serve` service."""

    def __init__(
        self,
        conversation: Conversation,
        config: FeishuConfig,
        *,
        client: Any = None,
        pacer: ChannelPacer | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        inflight: InFlight | None = None,
        connection_factory: Callable[[lark.EventDispatcherHandler], LongConnection] | None = None,
    ) -> None:
        self.config = config
        self.conversation = conversation
        self.client = client or build_client(config)
        self.adapter = FeishuAdapter(
            self.client,
            app_id=config.app_id,
            pacer=pacer or ChannelPacer(POST_INTERVAL_SECONDS),
            retry=retry,
        )
        self.inflight = inflight or InFlight()
        self.identity = BotIdentity()
        self._clock = clock
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connection_factory = connection_factory or self._long_connection
        self._connection: LongConnection | None = None
        self.dispatcher = (
            lark.EventDispatcherHandler.builder(
                config.encrypt_key or "", config.verification_token or ""
            )
            .register_p2_customized_event(MESSAGE_EVENT, self.on_message)
            .register_p2_card_action_trigger(self.on_card_action)
            .build()
        )

    @property
    def name(self) -> str:
        return f"feishu ({self.config.mode} mode)"

    async def start(self) -> None:
        """Learn the bot's open_id (which also checks the credentials), then connect."""
        self._loop = asyncio.get_running_loop()
        try:
            self.identity = await self.adapter.bot_identity()
        except PlatformError as exc:  # unreachable now: every mention will count as ours
            log.warning("cannot read the Feishu bot's identity: %s", exc)
        if self.config.mode == "ws":
            self._connection = self._connection_factory(self.dispatcher)
            await asyncio.to_thread(self._connection.start)
        log.info("Feishu bot started in %s mode", self.config.mode)

    async def stop(self, timeout: float = 60.0) -> None:
        """Take no new events, let in-flight replies finish, close the long connection."""
        if self._connection is not None:
            await asyncio.to_thread(self._connection.stop)
        await self.inflight.drain(timeout)

    def http_handler(self) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """The aiohttp handler for HTTP mode: the SDK verifies, decrypts and dispatches."""

        async def handle(request: web.Request) -> web.StreamResponse:
            raw = lark.RawRequest()
            raw.uri = request.path
            raw.body = await request.read()
            found = request.headers
            raw.headers = {name: found[name] for name in _FORWARDED_HEADERS if name in found}
            response = self.dispatcher.do(raw)
            status, body = response.status_code, response.content or b""
            if status == 500 and _REJECTED.search(body):
                # lark-oapi answers a bad signature or token with 500; it is the caller's fault.
                status, body = 401, b'{"msg":"unauthorized"}'
            return web.Response(
                status=status, body=body, content_type="application/json", charset="utf-8"
            )

        return handle

    # -- dispatcher callbacks (SDK thread in ws mode, the loop's thread in HTTP mode) ---------

    def on_message(self, data: lark.CustomizedEvent) -> None:
        body = {"header": _plain(data.header), "event": data.event or {}}
        event = message_event(
            body, self.identity, received_at=self._clock(), language=self.config.language
        )
        if event is not None:
            self._hand_off(event)

    def on_card_action(self, data: P2CardActionTrigger) -> P2CardActionTriggerResponse:
        event = card_action_event(
            _plain(data), received_at=self._clock(), language=self.config.language
        )
        if event is not None:
            self._hand_off(event)
        return P2CardActionTriggerResponse()  # `{}`: the details follow in the thread

    def _hand_off(self, event: InboundEvent) -> None:
        """Give `event` to the main loop and return at once (never wait for our work)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            log.warning("Feishu event %s arrived before start(); dropped", event.event_id)
            return
        try:
            asyncio.run_coroutine_threadsafe(self._accept(event), loop)
        except RuntimeError:  # the loop is shutting down
            log.info("Feishu event %s arrived during shutdown; dropped", event.event_id)

    async def _accept(self, event: InboundEvent) -> None:
        self.inflight.spawn(self.respond(event), name=f"feishu-{event.event_id}")

    async def respond(self, event: InboundEvent) -> None:
        """Answer one event (in the background; Feishu has had its answer already).

        The quick "building the digest…" reply is the conversation layer's notice, sent after
        it recorded the event id: a redelivered event (Feishu re-pushes after about 15 s,
        5 min, 1 h and 6 h when unanswered) then gets no second acknowledgement either."""
        turn = await self.conversation.admit(event)
        if not turn.done and turn.manages_subscriptions and not event.is_channel_manager:
            # Whether the user owns or manages the group: one chat lookup, only for the
            # subscription commands that go on (not for a refusal or a redelivery).
            manager = await self.adapter.is_chat_manager(event.channel_id, event.user_id)
            turn.event = dataclasses.replace(event, is_channel_manager=manager)
        await self.conversation.handle(turn, self.adapter)

    def _long_connection(self, dispatcher: lark.EventDispatcherHandler) -> LongConnection:
        return LongConnection(
            self.config.app_id, self.config.app_secret, self.config.domain, dispatcher
        )


_REJECTED = re.compile(rb"signature|verification_token|token|decrypt|padding", re.IGNORECASE)


def _plain(value: Any) -> dict[str, Any]:
    """An SDK model object back to plain JSON data."""
    loaded = json.loads(lark.JSON.marshal(value) or "{}")
    return loaded if isinstance(loaded, dict) else {}


def build(settings: FeishuSettings, context: PlatformContext) -> FeishuBot | None:
    """The Feishu/Lark bot for `digestbot serve`; None when FEISHU_APP_ID is unset."""
    config = FeishuConfig.from_settings(settings, context.language)
    if config is None:
        return None
    bot = FeishuBot(context.conversation, config, clock=context.clock)
    if config.mode == "http":
        context.routes.add_route("POST", HTTP_PATH, bot.http_handler())
    return bot
