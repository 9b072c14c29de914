"""The Feishu/Lark bot: events over the long connection (default) or HTTP callbacks, fed to the
conversation layer: group @mentions, `/digest …`, thread replies, one-to-one chats, and the
Details button of digest cards (card.action.trigger).

Both modes share one `lark.EventDispatcherHandler`: HTTP mode passes each raw request to its
`do()` (url_verification challenge, AES-256-CBC decryption with the encrypt key, the
X-Lark-Signature check over timestamp + nonce + encrypt key + body, the verification token);
the long connection (handlers.feishu_ws) calls it from its own thread. Our handlers only turn
the payload into an InboundEvent and hand it to the main loop, so Feishu gets its answer well
inside its 3 s; the ack reply, the digest and everything else run after, as background tasks.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
import lark_oapi as lark
from aiohttp import web
from lark_oapi.event.callback.model.p2_card_action_trigger import (
    P2CardActionTrigger,
    P2CardActionTriggerResponse,
)

from bot.config import AppConfig, Settings
from bot.doctor import Check
from bot.errors import ConfigError, PlatformError
from bot.models import Language
from handlers.commands import (
    ListSubscriptionsCommand,
    SubscribeCommand,
    UnsubscribeCommand,
    parse_command,
)
from handlers.conversation import Conversation
from handlers.feishu_adapter import FeishuAdapter, RetryPolicy
from handlers.feishu_events import BotIdentity, card_action_event, message_event
from handlers.feishu_ws import LongConnection
from handlers.inflight import InFlight
from handlers.pacing import ChannelPacer
from handlers.ports import InboundEvent

log = logging.getLogger(__name__)

HTTP_PATH = "/feishu/events"
FEISHU_DOMAIN = "https://open.feishu.cn"
LARK_DOMAIN = "https://open.larksuite.com"
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


@dataclass(frozen=True)
class FeishuConfig:
    """What the Feishu bot needs; `from_settings` refuses incomplete combinations."""

    app_id: str
    app_secret: str
    domain: str = FEISHU_DOMAIN
    mode: Literal["ws", "http"] = "ws"
    encrypt_key: str | None = None
    verification_token: str | None = None
    language: Language = "zh"

    @classmethod
    def from_settings(cls, settings: Settings, app: AppConfig | None = None) -> FeishuConfig | None:
        """None when Feishu is not configured at all; ConfigError when half configured."""
        app_id = (settings.feishu_app_id or "").strip() or None
        secret = _secret(settings.feishu_app_secret)
        encrypt = _secret(settings.feishu_encrypt_key)
        token = _secret(settings.feishu_verification_token)
        if not app_id and not secret:
            if encrypt or token:
                raise ConfigError(
                    "FEISHU_APP_ID and FEISHU_APP_SECRET are missing; the other "
                    "FEISHU_* settings are useless without them."
                )
            return None
        if not app_id or not secret:
            raise ConfigError(
                "Set both FEISHU_APP_ID (cli_…) and FEISHU_APP_SECRET, from the "
                "app's Credentials & Basic Info page."
            )
        if settings.feishu_mode == "http" and not token:
            raise ConfigError(
                "FEISHU_MODE=http needs FEISHU_VERIFICATION_TOKEN (and, recommended, "
                "FEISHU_ENCRYPT_KEY) from the app's Events & Callbacks > Encryption page."
            )
        return cls(
            app_id=app_id,
            app_secret=secret,
            domain=feishu_domain(settings.feishu_domain),
            mode=settings.feishu_mode,
            encrypt_key=encrypt,
            verification_token=token,
            language=feishu_language(settings, app),
        )


def feishu_domain(value: str) -> str:
    """`https://open.feishu.cn` (Feishu) or `https://open.larksuite.com` (Lark); the words
    `feishu` and `lark` are accepted too."""
    text = value.strip().rstrip("/")
    named = {"feishu": FEISHU_DOMAIN, "lark": LARK_DOMAIN, "larksuite": LARK_DOMAIN}
    return named.get(text.lower(), text)


def feishu_language(settings: Settings, app: AppConfig | None) -> Language:
    """Chinese on Feishu unless a language was chosen explicitly (DIGESTBOT_LANG, or
    `[defaults] language` written in the config file); `lang en` in a command still wins."""
    if settings.digestbot_lang is not None:
        return settings.digestbot_lang
    if app is not None and "language" in app.defaults.model_fields_set:
        return app.defaults.language
    return "zh"


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
        if event.kind != "button" and not event.is_channel_manager and _manages(event):
            manager = await self.adapter.is_chat_manager(event.channel_id, event.user_id)
            event = dataclasses.replace(event, is_channel_manager=manager)
        await self.conversation.handle(event, self.adapter)

    def _long_connection(self, dispatcher: lark.EventDispatcherHandler) -> LongConnection:
        return LongConnection(
            self.config.app_id, self.config.app_secret, self.config.domain, dispatcher
        )


def _manages(event: InboundEvent) -> bool:
    """Whether the event is a subscription command (which needs to know the group's managers)."""
    command = parse_command(event.text, slash=event.kind == "command")
    return isinstance(command, SubscribeCommand | UnsubscribeCommand | ListSubscriptionsCommand)


_REJECTED = re.compile(rb"signature|verification_token|token|decrypt|padding", re.IGNORECASE)


def _plain(value: Any) -> dict[str, Any]:
    """An SDK model object back to plain JSON data."""
    loaded = json.loads(lark.JSON.marshal(value) or "{}")
    return loaded if isinstance(loaded, dict) else {}


def _secret(value: Any) -> str | None:
    if value is None:
        return None
    raw = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
    return raw.strip() or None


# -- digestbot doctor ----------------------------------------------------------------------

# https://open.feishu.cn/document/server-docs/authentication-management/access-token/tenant_access_token_internal
_CREDENTIAL_CODES = {10003: "invalid app id", 10014: "app secret invalid"}


async def doctor_check(settings: Settings) -> Check | None:
    """Fetch a tenant access token with the app id and secret (a fresh request, not the
    SDK's token cache); None when Feishu is not configured."""
    from lark_oapi.api.auth.v3 import (
        InternalTenantAccessTokenRequest,
        InternalTenantAccessTokenRequestBody,
    )

    try:
        config = FeishuConfig.from_settings(settings)
        if config is None:
            return None
        client = build_client(config)
    except ConfigError as exc:
        return Check.failed("feishu", "incomplete settings", exc.user_message)
    body = (
        InternalTenantAccessTokenRequestBody.builder()
        .app_id(config.app_id)
        .app_secret(config.app_secret)
        .build()
    )
    request = InternalTenantAccessTokenRequest.builder().request_body(body).build()
    try:
        response = await client.auth.v3.tenant_access_token.ainternal(request)
    except (httpx.HTTPError, ValueError) as exc:
        return Check.failed(
            "feishu",
            f"{config.domain} could not be reached ({type(exc).__name__})",
            "Check the network and proxy, and FEISHU_DOMAIN (feishu or lark).",
        )
    code = int(response.code or 0)
    if code != 0:
        what = _CREDENTIAL_CODES.get(code, str(response.msg or "")[:80])
        return Check.failed(
            "feishu",
            f"tenant token refused: code {code} ({what})",
            "Copy FEISHU_APP_ID (cli_…) and FEISHU_APP_SECRET again from the developer console "
            "→ your app → Credentials & Basic Info; a Lark (larksuite.com) app also needs "
            "FEISHU_DOMAIN=lark.",
        )
    return Check.passed("feishu", f"app {config.app_id} at {config.domain} ({config.mode} mode)")
