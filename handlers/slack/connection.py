"""Slack's link, kept up in the background: auth.test, then Socket Mode, with capped backoff."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from contextlib import suppress
from typing import Literal

import aiohttp
from aiohttp import WSMessage
from slack_bolt.adapter.socket_mode.async_internals import (
    run_async_bolt_app,
    send_async_response,
)
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from handlers.runtime.backoff import Backoff

log = logging.getLogger(__name__)

# auth.test (the bot user id) may run while an event waits for its ack, and Slack gives the
# ack 3 s (https://api.slack.com/interactivity/slash-commands#responding_basic_receipt).
AUTH_TEST_TIMEOUT_SECONDS = 2.0
# One connection attempt: auth.test, apps.connections.open and the websocket handshake.
CONNECT_TIMEOUT_SECONDS = 15.0
# How often a healthy link is looked at; a close or error frame wakes the watcher at once.
LINK_CHECK_SECONDS = 1.0
# slack_bolt's AsyncSocketModeHandler default; slack_sdk calls a link stale after 4 missed pongs.
PING_INTERVAL_SECONDS = 10.0
# A websocket close waits for the peer's close frame (aiohttp: 10 s); stop gives it this much.
CLOSE_TIMEOUT_SECONDS = 2.0
_URL_QUERY = re.compile(r"\?[^\s'\"]*")  # a Socket Mode URL's query carries its ticket


def describe_failure(exc: BaseException) -> str:
    """One line naming why an attempt failed, without URLs' queries or Slack's response dump."""
    if isinstance(exc, SlackApiError):
        response = exc.response
        error = response.get("error") if response is not None else None
        return f"Slack said {error or 'unknown_error'}"
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = " ".join(str(exc).split()) or "no details"
    text = _URL_QUERY.sub("?…", text)
    if len(text) > 200:
        text = text[:199] + "…"
    return f"{type(exc).__name__}: {text}"


class SocketLink(SocketModeClient):
    """slack_sdk's aiohttp Socket Mode client, with its reconnect loop taken out.

    The SDK's `connect()` retries forever (logging a traceback every ping interval) and its
    monitor reconnects on its own; here `connect()` is one attempt that raises, auto-reconnect
    is off, and a close, an error or Slack's `disconnect` message only wakes the `Connection`,
    which reconnects with its backoff. The SDK still receives, pings and dispatches."""

    def __init__(
        self, app: AsyncApp, client: AsyncWebClient, app_token: str, *, wake: asyncio.Event
    ) -> None:
        super().__init__(
            app_token=app_token,
            logger=app.logger,
            web_client=client,
            auto_reconnect_enabled=False,
            ping_interval=PING_INTERVAL_SECONDS,
        )
        self._app = app
        self._wake = wake
        self.refresh_requested = False
        self.socket_mode_request_listeners.append(self._dispatch)
        self.on_close_listeners.append(self._woken)
        self.on_error_listeners.append(self._woken)

    @property
    def is_up(self) -> bool:
        """What the SDK's (async) `is_connected()` answers, read synchronously."""
        session = self.current_session
        if self.closed or self.stale or session is None or session.closed:
            return False
        last_pong = self.last_ping_pong_time
        return last_pong is None or time.time() - last_pong < self.ping_interval * 4

    async def connect(self) -> None:
        """One attempt at `wss_uri`; raises when it fails (the caller logs and backs off)."""
        assert self.wss_uri is not None  # set by Connection from apps.connections.open
        old = self.current_session
        if old is not None and not old.closed:
            with suppress(Exception):
                async with asyncio.timeout(CLOSE_TIMEOUT_SECONDS):
                    await old.close()
        if self.aiohttp_client_session.closed:
            self.aiohttp_client_session = aiohttp.ClientSession()
        ssl = self.web_client.ssl if self.web_client.ssl is not None else True
        session = await self.aiohttp_client_session.ws_connect(
            self.wss_uri,
            autoping=False,
            heartbeat=self.ping_interval,
            proxy=self.proxy,
            ssl=ssl,
        )
        self.current_session = session
        self.stale = False
        self.last_ping_pong_time = None  # the old link's pongs say nothing about this one
        await session.ping(f"sdk-ping-pong:{time.time()}".encode())
        for task in (self.current_session_monitor, self.message_receiver):
            if task is not None:
                task.cancel()
        self.current_session_monitor = asyncio.ensure_future(self.monitor_current_session())
        self.message_receiver = asyncio.ensure_future(self.receive_messages())

    async def connect_to_new_endpoint(self, force: bool = False) -> None:
        """Slack's `disconnect` message (https://api.slack.com/apis/socket-mode#disconnect):
        the Connection opens the new link, with its backoff and its one-line logs."""
        self.refresh_requested = True
        self._wake.set()

    async def close(self, timeout: float = CLOSE_TIMEOUT_SECONDS) -> None:
        """Stop the SDK's tasks, then close the websocket (bounded) and the HTTP session."""
        self.closed = True
        self.auto_reconnect_enabled = False
        for task in (self.message_processor, self.current_session_monitor, self.message_receiver):
            if task is not None:
                task.cancel()
        session = self.current_session
        if session is not None and not session.closed:
            with suppress(Exception):
                async with asyncio.timeout(timeout):
                    await session.close()
        await self.aiohttp_client_session.close()

    async def _dispatch(
        self, client: AsyncBaseSocketModeClient, request: SocketModeRequest
    ) -> None:
        started = time.time()
        response = await run_async_bolt_app(self._app, request)
        await send_async_response(client, request, response, started)

    async def _woken(self, _message: WSMessage) -> None:
        self._wake.set()


class Connection:
    """The bot's link to Slack, kept up by one background task.

    `start()` returns at once; the task verifies the bot token (auth.test, which also gives the
    bot user id) and, in Socket Mode, opens the websocket, retrying with `backoff` and one log
    line per failed attempt. `stop()` cancels it and returns within its timeout."""

    def __init__(
        self,
        app: AsyncApp,
        client: AsyncWebClient,
        *,
        mode: Literal["socket", "http"],
        app_token: str | None,
        backoff: Backoff,
    ) -> None:
        self._app = app
        self._client = client
        self._mode = mode
        self._app_token = app_token
        self._backoff = backoff
        self._identity: AsyncSlackResponse | None = None
        self._identity_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.link: SocketLink | None = None
        self.attempts = 0  # failed attempts in a row (observability, tests)
        self._step = "auth.test"  # what the current attempt is doing (named when it fails)

    @property
    def connected(self) -> bool:
        """The Socket Mode websocket is open right now (HTTP mode: there is none, False)."""
        return self.link is not None and self.link.is_up

    async def identity(self) -> AsyncSlackResponse:
        """auth.test of the bot token, once per process; bounded, raises when it fails."""
        async with asyncio.timeout(AUTH_TEST_TIMEOUT_SECONDS):
            async with self._identity_lock:
                if self._identity is None:
                    self._identity = await self._setup_client().auth_test()
        return self._identity

    def start(self) -> None:
        if self._task is not None:
            return
        if self._mode == "socket":
            assert self._app_token is not None  # checked by SlackConfig.from_settings
            self.link = SocketLink(self._app, self._client, self._app_token, wake=self._wake)
        self._task = asyncio.create_task(self._keep_up(), name="slack-connection")

    async def stop(self, timeout: float) -> None:
        """Cancel the connect loop and close the link; returns within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait({task}, timeout=max(0.0, deadline - time.monotonic()))
        link = self.link
        if link is not None and not link.closed:
            budget = max(0.0, deadline - time.monotonic())
            with suppress(Exception):
                async with asyncio.timeout(budget):
                    await link.close(timeout=min(budget, CLOSE_TIMEOUT_SECONDS))

    # -- the background task -----------------------------------------------------------------

    async def _keep_up(self) -> None:
        what = "Socket Mode" if self._mode == "socket" else "HTTP mode"
        delays = self._backoff.delays()
        was_up = False
        while True:
            self._wake.clear()
            if self._healthy():
                was_up = True
                if self._mode == "http":
                    return  # HTTP mode needs only the bot's identity
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), LINK_CHECK_SECONDS)
                continue
            if was_up:
                refresh = self.link is not None and self.link.refresh_requested
                why = "Slack asked for a new link" if refresh else "link lost"
                log.info("Slack Socket Mode: %s; reconnecting", why)
                was_up = False
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS):
                    await self._connect_once()
            except Exception as exc:  # noqa: BLE001 - slack_sdk/aiohttp: any failure is retried
                self.attempts += 1
                delay = next(delays)
                log.warning(
                    "Slack %s: attempt %d failed at %s (%s); next attempt in %.3g s",
                    what,
                    self.attempts,
                    self._step,
                    describe_failure(exc),
                    delay,
                )
                await asyncio.sleep(delay)
                continue
            if self._mode == "socket" and self.attempts:
                log.info("Slack Socket Mode connected after %d failed attempts", self.attempts)
            elif self._mode == "socket":
                log.info("Slack Socket Mode connected")
            self.attempts = 0
            delays = self._backoff.delays()

    def _healthy(self) -> bool:
        if self.link is None:
            return self._identity is not None
        return self.link.is_up and not self.link.refresh_requested

    async def _connect_once(self) -> None:
        self._step = "auth.test"
        await self.identity()  # the bot token works; bolt gets the bot user id from it
        if self.link is None or self._app_token is None:
            return
        self.link.refresh_requested = False
        self._step = "apps.connections.open"
        opened = await self._setup_client().apps_connections_open(app_token=self._app_token)
        self._step = "the websocket"
        self.link.wss_uri = str(opened["url"])
        await self.link.connect()

    def _setup_client(self) -> AsyncWebClient:
        """The bot's Web API client without retry handlers: the loop above is the retry, and
        each attempt is one request and one log line (slack_sdk's connection-error handler
        would add its own wait and line)."""
        client = self._client
        return AsyncWebClient(
            token=client.token,
            base_url=client.base_url,
            timeout=int(CONNECT_TIMEOUT_SECONDS),
            ssl=client.ssl,
            proxy=client.proxy,
            session=client.session,
            headers=client.headers,
            retry_handlers=[],
        )
