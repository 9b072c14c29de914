"""The Feishu/Lark bot: events over the long connection (default) or HTTP callbacks, fed to the
conversation layer: group @mentions, `/digest …`, thread replies, one-to-one chats, and the
Details button of digest cards (card.action.trigger).

Both modes share one `lark.EventDispatcherHandler`: HTTP mode checks each raw request first
(handlers.feishu.webhook: a JSON body, the signature, a fresh timestamp, the token) and passes
what it accepts to the dispatcher's `do()` (url_verification challenge, AES-256-CBC
decryption, the same checks again); the long connection (handlers.feishu.long_connection) calls
it from its own thread. Our handlers only turn the payload into an InboundEvent and hand it to
the main loop, so Feishu gets its answer well inside its 3 s; the ack reply, the digest and
everything else run after, as background tasks.

The bot needs its own open_id (GET /open-apis/bot/v3/info) to tell a mention of itself from a
mention of someone else. When Feishu does not answer at start, the bot retries in the
background with a capped backoff and, until it knows, answers one-to-one chats only.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import lark_oapi as lark
from aiohttp import web
from lark_oapi.api.im.v1 import P2ImMessageReceiveV1
from lark_oapi.event.callback.model.p2_card_action_trigger import (
    P2CardActionTrigger,
    P2CardActionTriggerResponse,
)

from bot.errors import ConfigError, PlatformError
from handlers.conversation.conversation import Conversation
from handlers.feishu.inbound import (
    BotIdentity,
    card_action_event,
    message_event,
    needs_identity,
)
from handlers.feishu.long_connection import LongConnection
from handlers.feishu.outbound import FeishuAdapter, RetryPolicy
from handlers.feishu.settings import FEISHU_DOMAIN, LARK_DOMAIN, FeishuConfig, FeishuSettings
from handlers.feishu.webhook import check_callback
from handlers.platform import PlatformContext
from handlers.ports import InboundEvent
from handlers.runtime.backoff import Backoff
from handlers.runtime.inflight import InFlight
from handlers.runtime.pacing import ChannelPacer

log = logging.getLogger(__name__)

HTTP_PATH = "/feishu/events"
# https://open.feishu.cn/document/server-docs/im-v1/message/create "使用限制": 5 QPS per chat
# (shared by the bots in a group), so one post per 0.2 s per chat.
POST_INTERVAL_SECONDS = 0.2
REQUEST_TIMEOUT_SECONDS = 15.0
# The toast Feishu shows on a Details click: the card.action.trigger answer
# (https://open.feishu.cn/document/feishu-cards/card-callback-communication, "响应回调").
DETAILS_TOAST = {"zh": "详情见下方", "en": "Details below ↓"}
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


@dataclass(frozen=True)
class IdentityRetry(Backoff):
    """How the bot retries reading its identity in the background: `first` seconds after the
    failed start, doubling up to `cap` (then every `cap` seconds until Feishu answers).
    `sleep` is injectable so tests control the waits."""

    first: float = 2.0
    cap: float = 300.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


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
        identity_retry: IdentityRetry | None = None,
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
        self._identity_retry = identity_retry or IdentityRetry()
        self._identity_task: asyncio.Task[None] | None = None
        self._clock = clock
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connection_factory = connection_factory or self._long_connection
        self._connection: LongConnection | None = None
        self._serving = False  # HTTP mode: between start() and stop()
        self.dispatcher = (
            lark.EventDispatcherHandler.builder(
                config.encrypt_key or "", config.verification_token or ""
            )
            # The typed model keeps what inbound.message_event reads: sender, message_id,
            # chat_id, chat_type, root_id, message_type, content and the mentions (key, id, name).
            .register_p2_im_message_receive_v1(self.on_message)
            .register_p2_card_action_trigger(self.on_card_action)
            .build()
        )

    @property
    def name(self) -> str:
        return f"feishu ({self.config.mode} mode)"

    @property
    def connected(self) -> bool:
        """Long connection: its websocket is open right now. HTTP mode: started (and not
        stopped), the route then answers."""
        if self.config.mode == "ws":
            return self._connection is not None and self._connection.connected
        return self._serving

    async def start(self) -> None:
        """Learn the bot's open_id (which also checks the credentials), then connect."""
        self._loop = asyncio.get_running_loop()
        try:
            # One attempt: when Feishu does not answer, `serve` starts anyway and the identity
            # is retried in the background.
            self.identity = await self.adapter.bot_identity(attempts=1)
        except PlatformError as exc:
            log.warning(
                "cannot read the Feishu bot's identity (%s); answering one-to-one chats only "
                "and retrying in the background",
                exc,
            )
            self._identity_task = asyncio.create_task(
                self._learn_identity(), name="feishu-identity"
            )
        if self.config.mode == "ws":
            self._connection = self._connection_factory(self.dispatcher)
            await asyncio.to_thread(self._connection.start)
        else:
            self._serving = True
            if not self.config.encrypt_key:
                log.warning(
                    "FEISHU_MODE=http without FEISHU_ENCRYPT_KEY: Feishu signs nothing, so a "
                    "replayed callback cannot be told from a fresh one"
                )
        log.info("Feishu bot started in %s mode", self.config.mode)

    async def stop(self, timeout: float = 60.0) -> None:
        """Take no new events, let in-flight replies finish, close the long connection."""
        self._serving = False
        if self._identity_task is not None:
            self._identity_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._identity_task
        if self._connection is not None:
            await asyncio.to_thread(self._connection.stop)
        await self.inflight.drain(timeout)

    async def _learn_identity(self) -> None:
        """Ask for the bot's identity until Feishu answers (backoff capped at
        `IdentityRetry.cap`); group messages are answered again from then on."""
        for attempt, wait in enumerate(self._identity_retry.delays(), start=2):
            await self._identity_retry.sleep(wait)
            try:
                identity = await self.adapter.bot_identity(attempts=1)
            except (PlatformError, ConfigError) as exc:
                log.info("Feishu bot identity, attempt %d: %s", attempt, exc)
                continue
            if identity.open_id is None:
                log.info("Feishu bot identity, attempt %d: no open_id in the answer", attempt)
                continue
            self.identity = identity
            log.info("Feishu bot identity known after %d attempts; answering groups", attempt)
            return

    def http_handler(self) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """The aiohttp handler for HTTP mode: our gate (handlers.feishu.webhook) first, then
        the SDK decrypts and dispatches. Refusals are one log line and a fixed short body."""

        async def handle(request: web.Request) -> web.StreamResponse:
            body = await request.read()
            verdict = check_callback(
                body,
                request.headers,
                encrypt_key=self.config.encrypt_key,
                verification_token=self.config.verification_token,
                now=self._clock(),
            )
            if not verdict.dispatch:
                if verdict.status == 200:
                    log.info("Feishu callback ignored: %s", verdict.reason)
                else:
                    log.warning(
                        "Feishu callback from %s refused with %d: %s",
                        request.remote,
                        verdict.status,
                        verdict.reason,
                    )
                return web.json_response({"msg": verdict.answer}, status=verdict.status)
            raw = lark.RawRequest()
            raw.uri = request.path
            raw.body = body
            found = request.headers
            raw.headers = {name: found[name] for name in _FORWARDED_HEADERS if name in found}
            response = self.dispatcher.do(raw)
            if response.status_code != 200:
                # lark-oapi logged why; its body carries the exception's text: never echoed.
                return web.json_response({"msg": "internal error"}, status=500)
            return web.Response(
                status=200,
                body=response.content or b"",
                content_type="application/json",
                charset="utf-8",
            )

        return handle

    # -- dispatcher callbacks (SDK thread in ws mode, the loop's thread in HTTP mode) ---------

    def on_message(self, data: P2ImMessageReceiveV1) -> None:
        body = _plain(data)
        identity = self.identity
        if identity.open_id is None and needs_identity(body):
            message = getattr(getattr(data.event, "message", None), "message_id", None)
            log.info(
                "Feishu group message %s ignored: the bot's own open_id is not known yet",
                message if isinstance(message, str) and _ID.fullmatch(message) else "?",
            )
            return
        event = message_event(
            body, identity, received_at=self._clock(), language=self.config.language
        )
        if event is not None:
            self._hand_off(event)

    def on_card_action(self, data: P2CardActionTrigger) -> P2CardActionTriggerResponse:
        event = card_action_event(
            _plain(data), received_at=self._clock(), language=self.config.language
        )
        if event is None:
            return P2CardActionTriggerResponse()  # `{}`: not our button, nothing to say
        self._hand_off(event)
        # A toast, so the click visibly did something; the details follow in the thread.
        language = self.config.language
        toast = {
            "type": "info",
            "content": DETAILS_TOAST[language],
            "i18n": {"zh_cn": DETAILS_TOAST["zh"], "en_us": DETAILS_TOAST["en"]},
        }
        return P2CardActionTriggerResponse({"toast": toast})

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


_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # a platform id, safe to log as it is


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
