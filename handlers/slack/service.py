"""The running Slack bot: a slack-bolt AsyncApp (Socket Mode or signed HTTP) and its listeners."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from formatters.slack_blocks import DETAILS_ACTION_ID
from formatters.text_safety import escape_slack
from handlers.conversation.conversation import Conversation
from handlers.platform import PlatformContext
from handlers.ports import InboundEvent
from handlers.runtime.backoff import Backoff
from handlers.runtime.inflight import InFlight
from handlers.runtime.pacing import ChannelPacer
from handlers.slack.connection import Connection, describe_failure
from handlers.slack.http_events import Rejection, read_body, screen
from handlers.slack.inbound import button_event, command_event, message_event
from handlers.slack.outbound import RetryAfterHandler, SlackAdapter, install_retry_handler
from handlers.slack.settings import SlackConfig, SlackSettings

log = logging.getLogger(__name__)

COMMAND = "/digest"
HTTP_PATH = "/slack/events"
# https://api.slack.com/apis/rate-limits#posting-messages: about one message per second per
# channel.
POST_INTERVAL_SECONDS = 1.0
# stop() keeps this share of its timeout (at most 0.5 s) for closing the HTTP session.
_CLOSE_RESERVE = 0.1


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
        backoff: Backoff | None = None,
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
        self._session: aiohttp.ClientSession | None = None
        self._started = False

        async def authorize(context: AsyncBoltContext) -> AuthorizeResult:
            return await self._authorize(context)

        self.app = AsyncApp(
            # Without a token of its own: bolt takes the bot token from `authorize`, our bounded,
            # cached auth.test (bolt's built-in one waits as long as the client's 30 s timeout).
            client=_without_token(self.client),
            signing_secret=config.signing_secret,
            # Socket Mode requests are not signed; bolt skips verification for them anyway.
            request_verification_enabled=config.signing_secret is not None,
            authorize=authorize,
        )
        self.connection = Connection(
            self.app,
            self.client,
            mode=config.mode,
            app_token=config.app_token,
            # 1 s, doubling, capped at a minute: apps.connections.open is a Tier 1 method (about
            # one call a minute, https://api.slack.com/methods/apps.connections.open).
            backoff=backoff or Backoff(first=1.0, cap=60.0),
        )
        self._verifier = (
            SignatureVerifier(config.signing_secret) if config.signing_secret is not None else None
        )
        self._register()

    @property
    def name(self) -> str:
        return f"slack ({self.config.mode} mode)"

    @property
    def connected(self) -> bool:
        """Socket Mode: the websocket is open now; HTTP mode: started (and not stopped)."""
        if self.config.mode == "http":
            return self._started
        return self._started and self.connection.connected

    async def start(self) -> None:
        """Returns at once: the connection (auth.test, Socket Mode) is made in the background,
        retried with backoff while Slack is unreachable."""
        if self.client.session is None:
            # One connection pool for every Web API call (slack_sdk opens a session per call
            # otherwise).
            self._session = aiohttp.ClientSession()
            self.client.session = self._session
        self.connection.start()
        self._started = True
        log.info("Slack bot started in %s mode", self.config.mode)

    async def stop(self, timeout: float = 60.0) -> None:
        """Take no new events, let in-flight replies finish, close connections; returns within
        `timeout` whatever the link's state (connecting, connected, reconnecting)."""
        deadline = time.monotonic() + timeout
        reserve = min(0.5, timeout * _CLOSE_RESERVE)
        self._started = False
        await self.connection.stop(max(0.0, deadline - reserve - time.monotonic()))
        await self.inflight.drain(max(0.0, deadline - reserve - time.monotonic()))
        if self._session is not None:
            session, self._session = self._session, None
            self.client.session = None
            try:
                async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                    await session.close()
            except TimeoutError:
                log.warning("Slack: the HTTP session did not close in time")

    def http_handler(self) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """The aiohttp handler for HTTP mode: our screen (size, encoding, signature, shape),
        then bolt. A refused request gets a 4xx and one log line, never a 500."""

        async def handle(request: web.Request) -> web.StreamResponse:
            assert self._verifier is not None  # HTTP mode needs SLACK_SIGNING_SECRET
            body = await read_body(request)
            checked = (
                body
                if isinstance(body, Rejection)
                else screen(body, request.headers, request.query_string, self._verifier)
            )
            if isinstance(checked, Rejection):
                log.warning(
                    "Slack HTTP: refused a request from %s: %s (HTTP %d)",
                    request.remote,
                    checked.reason,
                    checked.status,
                )
                if checked.status == 401:  # bolt's answer to a bad signature
                    return web.json_response({"error": "invalid request"}, status=401)
                return web.json_response({"error": "bad request"}, status=checked.status)
            response = await self.app.async_dispatch(checked)
            return await to_aiohttp_response(response)

        return handle

    async def _authorize(self, context: AsyncBoltContext) -> AuthorizeResult:
        """bolt's authorize step: the bot token and, from auth.test, the bot user id. When
        auth.test fails or takes too long, the event goes on without the bot user id (one log
        line) instead of holding its 3 s acknowledgement."""
        try:
            found = await self.connection.identity()
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning(
                "Slack auth.test failed (%s); handling the event without it", describe_failure(exc)
            )
            return AuthorizeResult(
                enterprise_id=context.enterprise_id,
                team_id=context.team_id,
                bot_token=self.config.bot_token,
            )
        return AuthorizeResult.from_auth_test_response(
            auth_test_response=found, bot_token=self.config.bot_token
        )

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
            inbound = button_event(
                body,
                received_at=self._clock(),
                private=self.config.details_view == "modal",
            )
            if inbound is not None:
                self._spawn(inbound)

    def _spawn(self, event: InboundEvent) -> None:
        self.inflight.spawn(
            self.conversation.respond(event, self.adapter), name=f"slack-{event.event_id}"
        )


def _without_token(client: AsyncWebClient) -> AsyncWebClient:
    """The client's settings without its token: bolt's app client, copied for each request."""
    return AsyncWebClient(
        base_url=client.base_url,
        timeout=client.timeout,
        ssl=client.ssl,
        proxy=client.proxy,
        session=client.session,
        headers=client.headers,
        retry_handlers=list(client.retry_handlers),
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
