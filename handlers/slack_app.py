"""The Slack bot: a slack-bolt AsyncApp (Socket Mode, or HTTP with signature checks) feeding
the conversation layer: `/digest`, thread messages, `app_mention` and the Details button."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.doctor import Check
from bot.errors import ConfigError
from formatters.escape import escape_slack
from formatters.slack_blocks import DETAILS_ACTION_ID, parse_details_value
from handlers.conversation import Conversation
from handlers.inflight import InFlight
from handlers.pacing import ChannelPacer
from handlers.ports import ButtonPayload, InboundEvent
from handlers.slack_adapter import (
    PLATFORM,
    DetailsView,
    RetryAfterHandler,
    SlackAdapter,
    install_retry_handler,
)

log = logging.getLogger(__name__)

COMMAND = "/digest"
HTTP_PATH = "/slack/events"
# https://api.slack.com/apis/rate-limits#posting-messages: about one message per second per
# channel.
POST_INTERVAL_SECONDS = 1.0
_MENTION_PREFIX = "<@"
# Message subtypes that are still a person writing in a thread.
_HUMAN_SUBTYPES = {None, "thread_broadcast", "file_share"}


@dataclass(frozen=True)
class SlackConfig:
    """What the Slack bot needs; `from_settings` refuses incomplete combinations."""

    bot_token: str
    mode: Literal["socket", "http"] = "socket"
    app_token: str | None = None
    signing_secret: str | None = None
    api_url: str | None = None
    details_view: DetailsView = "thread"

    @classmethod
    def from_settings(cls, settings: Settings) -> SlackConfig | None:
        """None when Slack is not configured at all; ConfigError when half configured."""
        bot = _secret(settings.slack_bot_token)
        app = _secret(settings.slack_app_token)
        signing = _secret(settings.slack_signing_secret)
        if not bot:
            if app or signing:
                raise ConfigError(
                    "SLACK_BOT_TOKEN (xoxb-…) is missing; the other SLACK_* "
                    "settings are useless without it."
                )
            return None
        if not bot.startswith("xoxb-"):
            raise ConfigError("SLACK_BOT_TOKEN must be a bot token (it starts with xoxb-).")
        if settings.slack_mode == "socket":
            if not app:
                raise ConfigError(
                    "SLACK_BOT_TOKEN is set but SLACK_APP_TOKEN is missing: Socket Mode needs "
                    "an app-level token (xapp-…) with connections:write. Or set SLACK_MODE=http "
                    "and SLACK_SIGNING_SECRET."
                )
            if not app.startswith("xapp-"):
                raise ConfigError("SLACK_APP_TOKEN must be an app-level token (xapp-…).")
        elif not signing:
            raise ConfigError("SLACK_MODE=http needs SLACK_SIGNING_SECRET to verify requests.")
        return cls(
            bot_token=bot,
            mode=settings.slack_mode,
            app_token=app,
            signing_secret=signing,
            api_url=settings.slack_api_url,
            details_view=settings.slack_details_view,
        )


class SlackBot:
    """Owns the AsyncApp, the Web API client and the adapter; a `serve` service."""

    def __init__(
        self,
        conversation: Conversation,
        config: SlackConfig,
        *,
        client: AsyncWebClient | None = None,
        pacer: ChannelPacer | None = None,
        retry_handler: RetryAfterHandler | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        inflight: InFlight | None = None,
        on_ack: Callable[[InboundEvent], None] | None = None,
    ) -> None:
        self.config = config
        self._on_ack = on_ack  # observability: called the moment a command is acked
        self.conversation = conversation
        self.client = client or AsyncWebClient(
            token=config.bot_token, base_url=config.api_url or AsyncWebClient.BASE_URL
        )
        install_retry_handler(self.client, retry_handler or RetryAfterHandler())
        self.adapter = SlackAdapter(
            self.client,
            pacer=pacer or ChannelPacer(POST_INTERVAL_SECONDS),
            details_view=config.details_view,
            clock=clock,
        )
        self.inflight = inflight or InFlight()
        self._clock = clock
        self._socket: AsyncSocketModeHandler | None = None
        self._session: aiohttp.ClientSession | None = None
        self.app = AsyncApp(
            client=self.client,
            signing_secret=config.signing_secret,
            # Socket Mode requests are not signed; bolt skips verification for them anyway.
            request_verification_enabled=config.signing_secret is not None,
        )
        self._register()

    @property
    def name(self) -> str:
        return f"slack ({self.config.mode} mode)"

    async def start(self) -> None:
        if self.client.session is None:
            # One connection pool for every Web API call (slack_sdk opens a session per call
            # otherwise).
            self._session = aiohttp.ClientSession()
            self.client.session = self._session
        if self.config.mode == "socket":
            assert self.config.app_token is not None  # checked by SlackConfig.from_settings
            self._socket = AsyncSocketModeHandler(self.app, self.config.app_token)
            await self._socket.connect_async()  # type: ignore[no-untyped-call]
        log.info("Slack bot started in %s mode", self.config.mode)

    async def stop(self, timeout: float = 60.0) -> None:
        """Take no new events, let in-flight replies finish, close connections."""
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
        await self.inflight.drain(timeout)
        if self._session is not None:
            await self._session.close()
            self.client.session = None
            self._session = None

    def http_handler(self) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """The aiohttp handler for HTTP mode: bolt checks the signature and the timestamp."""

        async def handle(request: web.Request) -> web.StreamResponse:
            bolt_request = await to_bolt_request(request)
            response = await self.app.async_dispatch(bolt_request)
            return await to_aiohttp_response(response)

        return handle

    # -- listeners ---------------------------------------------------------------------------

    def _register(self) -> None:
        app = self.app

        @app.command(COMMAND)
        async def on_command(ack: AsyncAck, body: dict[str, Any]) -> None:
            event = self.command_event(body)
            reply = self.conversation.ack(event)
            # Ack before any GitHub or LLM work: Slack gives 3 s
            # (https://api.slack.com/interactivity/slash-commands#responding_basic_receipt).
            if reply.text is not None:
                await ack(text=escape_slack(reply.text), response_type="ephemeral")
            else:
                await ack()
            if self._on_ack is not None:
                self._on_ack(event)
            if not reply.done:
                self.inflight.spawn(
                    self.conversation.handle(event, self.adapter, acked=reply.text is not None),
                    name=f"slack-command-{event.event_id}",
                )

        @app.event("app_mention")
        async def on_mention(body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
            inbound = self.message_event(body, event, context.get("bot_user_id"), "mention")
            if inbound is not None:
                self._spawn(inbound)

        @app.event("message")
        async def on_message(body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
            inbound = self.message_event(body, event, context.get("bot_user_id"), "message")
            if inbound is not None:
                self._spawn(inbound)

        @app.action(DETAILS_ACTION_ID)
        async def on_details(ack: AsyncAck, body: dict[str, Any]) -> None:
            await ack()
            inbound = self.button_event(body)
            if inbound is not None:
                self._spawn(inbound)

    def _spawn(self, event: InboundEvent) -> None:
        self.inflight.spawn(
            self.conversation.handle(event, self.adapter), name=f"slack-{event.event_id}"
        )

    # -- Slack payloads -> InboundEvent ------------------------------------------------------

    def command_event(self, body: dict[str, Any]) -> InboundEvent:
        trigger = str(body.get("trigger_id") or "")
        return InboundEvent(
            platform=PLATFORM,
            # Slack does not retry slash commands; the trigger id is unique per invocation.
            event_id=f"command:{trigger or uuid.uuid4().hex}",
            user_id=str(body.get("user_id") or ""),
            channel_id=str(body.get("channel_id") or ""),
            kind="command",
            text=str(body.get("text") or ""),
            received_at=self._clock(),
            context={"trigger_id": trigger, "response_url": str(body.get("response_url") or "")},
        )

    def message_event(
        self,
        body: dict[str, Any],
        event: dict[str, Any],
        bot_user_id: str | None,
        kind: Literal["mention", "message"],
    ) -> InboundEvent | None:
        """None for what is not for us: other bots, edits, and (for plain messages) anything
        outside a thread or mentioning the bot (that comes again as app_mention)."""
        if event.get("bot_id") or event.get("subtype") not in _HUMAN_SUBTYPES:
            return None
        user, text, ts = event.get("user"), str(event.get("text") or ""), event.get("ts")
        if not user or not ts or (bot_user_id and user == bot_user_id):
            return None
        thread_ts = event.get("thread_ts")
        if thread_ts == ts:
            thread_ts = None
        mentioned = bool(bot_user_id) and f"{_MENTION_PREFIX}{bot_user_id}" in text
        if kind == "message" and (thread_ts is None or mentioned):
            return None
        return InboundEvent(
            platform=PLATFORM,
            event_id=str(body.get("event_id") or f"{event.get('channel')}:{ts}"),
            user_id=str(user),
            channel_id=str(event.get("channel") or ""),
            kind=kind,
            text=strip_mention(text, bot_user_id),
            thread_id=str(thread_ts) if thread_ts else None,
            message_id=str(ts),
            received_at=self._clock(),
        )

    def button_event(self, body: dict[str, Any]) -> InboundEvent | None:
        actions = body.get("actions") or []
        if not actions:
            return None
        repo, sha = parse_details_value(str(actions[0].get("value") or ""))
        message = body.get("message") or {}
        container = body.get("container") or {}
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
        ts = message.get("ts") or container.get("message_ts")
        thread_ts = message.get("thread_ts") or container.get("thread_ts")
        trigger = str(body.get("trigger_id") or "")
        if not channel or not ts:
            return None  # a button outside a message (e.g. in a modal): nothing to thread on
        return InboundEvent(
            platform=PLATFORM,
            event_id=f"action:{trigger or ts + ':' + sha}",
            user_id=str((body.get("user") or {}).get("id") or ""),
            channel_id=str(channel),
            kind="button",
            thread_id=str(thread_ts) if thread_ts and thread_ts != ts else None,
            message_id=str(ts),
            button=ButtonPayload("details", repo, sha),
            received_at=self._clock(),
            context={"trigger_id": trigger},
        )


def strip_mention(text: str, bot_user_id: str | None) -> str:
    """Remove `<@BOT>` / `<@BOT|name>` of our bot (other mentions stay as they are)."""
    if not bot_user_id:
        return text
    return re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", " ", text).strip()


def _secret(value: Any) -> str | None:
    if value is None:
        return None
    raw = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
    return raw.strip() or None


# -- digestbot doctor ----------------------------------------------------------------------

# The bot scopes slack_manifest.yaml asks for; auth.test reports the granted ones in the
# x-oauth-scopes header (https://api.slack.com/methods/auth.test).
REQUIRED_SCOPES = frozenset(
    {
        "commands",
        "chat:write",
        "chat:write.public",
        "app_mentions:read",
        "channels:history",
        "groups:history",
    }
)
_REINSTALL = "reinstall the app (Settings → Install App) and copy the Bot User OAuth Token (xoxb-…)"
_AUTH_FIXES = {
    "invalid_auth": f"Slack said invalid_auth: the bot token is wrong or revoked; {_REINSTALL} "
    "into SLACK_BOT_TOKEN.",
    "not_authed": "Slack got no token: set SLACK_BOT_TOKEN (xoxb-…).",
    "token_revoked": f"The bot token was revoked: {_REINSTALL} into SLACK_BOT_TOKEN.",
    "account_inactive": f"The app was uninstalled or its user deactivated: {_REINSTALL}.",
    "token_expired": "The token expired (token rotation is on): turn rotation off in OAuth & "
    f"Permissions, or {_REINSTALL}.",
}
_APP_TOKEN_FIX = (
    "Slack refused SLACK_APP_TOKEN: Basic Information → App-Level Tokens → generate a token "
    "with the connections:write scope (xapp-…), and enable Socket Mode."
)


async def doctor_check(settings: Settings) -> Check | None:
    """`auth.test` with the bot token (and, in Socket Mode, `apps.connections.open` with the app
    token); None when Slack is not configured."""
    try:
        config = SlackConfig.from_settings(settings)
    except ConfigError as exc:
        return Check.failed("slack", "incomplete settings", exc.user_message)
    if config is None:
        return None
    base = config.api_url or AsyncWebClient.BASE_URL
    client = AsyncWebClient(token=config.bot_token, base_url=base, timeout=15)
    try:
        found = await client.auth_test()
        if config.mode == "socket" and config.app_token:
            try:
                await AsyncWebClient(base_url=base, timeout=15).apps_connections_open(
                    app_token=config.app_token
                )
            except SlackApiError as exc:
                return Check.failed(
                    "slack", f"apps.connections.open: {_slack_error(exc)}", _APP_TOKEN_FIX
                )
    except SlackApiError as exc:
        error = _slack_error(exc)
        fix = _AUTH_FIXES.get(
            error, f"Slack said {error}: see https://api.slack.com/methods/auth.test#errors."
        )
        return Check.failed("slack", f"auth.test: {error}", fix)
    except (aiohttp.ClientError, TimeoutError) as exc:
        return Check.failed(
            "slack",
            f"Slack could not be reached ({type(exc).__name__})",
            "Check the network and proxy (and SLACK_API_URL if set).",
        )
    missing = missing_scopes(found.headers.get("x-oauth-scopes"))
    if missing:
        return Check.failed(
            "slack",
            f"missing scopes: {', '.join(missing)}",
            "Add them under OAuth & Permissions → Bot Token Scopes (or paste "
            "slack_manifest.yaml again), then reinstall the app.",
        )
    team, user = found.get("team") or "?", found.get("user") or "?"
    return Check.passed("slack", f"workspace {team} as @{user} ({config.mode} mode)")


def missing_scopes(granted: str | None) -> list[str]:
    """The required scopes absent from an x-oauth-scopes header (none known: nothing missing)."""
    if not granted:
        return []
    have = {s.strip() for s in granted.split(",")}
    return sorted(REQUIRED_SCOPES - have)


def _slack_error(exc: SlackApiError) -> str:
    response = exc.response
    error = response.get("error") if response is not None else None
    return str(error or "unknown_error")
