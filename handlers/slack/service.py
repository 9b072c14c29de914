"""The running Slack bot: a slack-bolt AsyncApp (Socket Mode or signed HTTP) and its listeners."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from formatters.slack_blocks import DETAILS_ACTION_ID
from formatters.text_safety import escape_slack
from handlers.conversation.conversation import Conversation
from handlers.platform import PlatformContext
from handlers.ports import InboundEvent
from handlers.runtime.inflight import InFlight
from handlers.runtime.pacing import ChannelPacer
from handlers.slack.inbound import button_event, command_event, message_event
from handlers.slack.outbound import RetryAfterHandler, SlackAdapter, install_retry_handler
from handlers.slack.settings import SlackConfig, SlackSettings

log = logging.getLogger(__name__)

COMMAND = "/digest"
HTTP_PATH = "/slack/events"
# https://api.slack.com/apis/rate-limits#posting-messages: about one message per second per
# channel.
POST_INTERVAL_SECONDS = 1.0


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
            event = command_event(body, received_at=self._clock())
            turn = await self.conversation.admit(event)  # no I/O: parse, authorize, limit
            # Ack before any GitHub or LLM work: Slack gives 3 s
            # (https://api.slack.com/interactivity/slash-commands#responding_basic_receipt).
            text = turn.ack_text
            if text is not None:
                await ack(text=escape_slack(text), response_type="ephemeral")
            else:
                await ack()
            if self._on_ack is not None:
                self._on_ack(event)
            if not turn.done:
                self.inflight.spawn(
                    self.conversation.handle(turn, self.adapter, ack_shown=text is not None),
                    name=f"slack-command-{event.event_id}",
                )

        @app.event("app_mention")
        async def on_mention(body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
            inbound = message_event(
                body, event, context.get("bot_user_id"), "mention", received_at=self._clock()
            )
            if inbound is not None:
                self._spawn(inbound)

        @app.event("message")
        async def on_message(body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
            inbound = message_event(
                body, event, context.get("bot_user_id"), "message", received_at=self._clock()
            )
            if inbound is not None:
                self._spawn(inbound)

        @app.action(DETAILS_ACTION_ID)
        async def on_details(ack: AsyncAck, body: dict[str, Any]) -> None:
            await ack()
            inbound = button_event(body, received_at=self._clock())
            if inbound is not None:
                self._spawn(inbound)

    def _spawn(self, event: InboundEvent) -> None:
        self.inflight.spawn(
            self.conversation.respond(event, self.adapter), name=f"slack-{event.event_id}"
        )


def build(settings: SlackSettings, context: PlatformContext) -> SlackBot | None:
    """The Slack bot for `digestbot serve`; None when SLACK_BOT_TOKEN is unset."""
    config = SlackConfig.from_settings(settings)
    if config is None:
        return None
    bot = SlackBot(context.conversation, config, clock=context.clock)
    if config.mode == "http":
        context.routes.add_route("POST", HTTP_PATH, bot.http_handler())
    return bot
