"""The Discord connection in the background: login, the gateway session, capped retries, its state.

discord.py's own `Client.connect` logs a full traceback per failed attempt, backs off up to
17 minutes, and (2.x) dies with an AttributeError when the very first connection fails. This
loop follows the same protocol steps (`DiscordWebSocket.from_client`, RESUME after a drop,
IDENTIFY after an invalidated session) but retries with a capped backoff, logs one line per
failed attempt naming its cause, and gives up — with one clear line — only on what a retry
cannot fix: a refused token or refused intents.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

import aiohttp
import discord
from discord.gateway import DiscordWebSocket, ReconnectWebSocket

from handlers.discord.doctor import INTENTS_HELP, invite_url
from handlers.runtime.backoff import Backoff

log = logging.getLogger(__name__)

TOKEN_REFUSED = "Discord refused DISCORD_BOT_TOKEN; copy the bot token again."
# A login (GET /users/@me and the application) or a websocket handshake that takes longer is
# given up and retried: aiohttp's own default would wait 5 minutes on a silent network.
LOGIN_TIMEOUT = 30.0
CONNECT_TIMEOUT = 60.0  # discord.py's own bound on `from_client` (handshake, HELLO, IDENTIFY)
FIRST_RETRY = 1.0
MAX_RETRY = 60.0
CAUSE_MAX = 200
# Close codes a reconnect cannot fix
# (https://discord.com/developers/docs/topics/opcodes-and-status-codes#gateway-gateway-close-event-codes).
FATAL_CLOSE_CODES = {
    4004: TOKEN_REFUSED,
    4010: "Discord refused the shard sent at identify (close code 4010).",
    4011: "Discord requires sharding for this bot (close code 4011); it is in too many servers.",
    4012: "Discord refused the gateway API version (close code 4012); update discord.py.",
    4013: "Discord refused the gateway intents (close code 4013).",
    4014: INTENTS_HELP,
}
# The events that open and close a session, as discord.py dispatches them: "connect" on READY,
# "ready" once the guilds arrived after it (up to 2 s later), "resumed" on RESUMED.
SESSION_UP = frozenset({"ready", "resumed"})
SESSION_STARTED = "connect"
SESSION_DOWN = "disconnect"


class _QuietLogin(logging.Filter):
    """discord.py logs "logging in using static token" at every login; with retries that is a
    second line per failed attempt. Ours says the outcome (logged in as…, or why not)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != "logging in using static token"


_QUIET_LOGIN = _QuietLogin()
logging.getLogger("discord.client").addFilter(_QUIET_LOGIN)  # one instance: added once


class _GiveUp(Exception):
    """What no retry fixes; the message is the one line the log gets."""


def describe(exc: BaseException) -> str:
    """One line naming what failed (no traceback, no secrets: URLs here carry no token)."""
    if isinstance(exc, discord.HTTPException):
        text = f"HTTP {exc.status} {exc.text}".strip()
    elif isinstance(exc, TimeoutError) and not str(exc):
        text = "timed out"
    else:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    line = " ".join(text.split())
    return line if len(line) <= CAUSE_MAX else line[: CAUSE_MAX - 1] + "…"


class GatewayLink:
    """Logs `client` in and keeps its gateway session up; `connected` is the truth about it.

    `seen` must hear every event the client dispatches (the client's `dispatch` calls it)."""

    def __init__(
        self,
        client: discord.Client,
        token: str,
        *,
        backoff: Backoff | None = None,
        login_timeout: float = LOGIN_TIMEOUT,
        connect_timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        self._client = client
        self._token = token
        self._backoff = backoff or Backoff(FIRST_RETRY, MAX_RETRY, jitter=random.random)
        self._delays = self._backoff.delays()
        self._login_timeout = login_timeout
        self._connect_timeout = connect_timeout
        self._up = False
        self._up_since_attempt = False
        self.failures = 0  # failed attempts since the session was last up
        self.gave_up: str | None = None  # the line logged when it stopped for good

    # -- state ---------------------------------------------------------------------------------

    def seen(self, event: str) -> None:
        if event in SESSION_UP:
            self._up = self._up_since_attempt = True
            if self.failures:
                log.info("Discord gateway %s after %d failed attempts", event, self.failures)
            self.failures = 0
            self._delays = self._backoff.delays()  # up again: the next failure waits `first`
        elif event == SESSION_STARTED:
            self._up_since_attempt = True  # Discord took us: a drop now is no failed attempt
        elif event == SESSION_DOWN:
            self._up = False

    @property
    def connected(self) -> bool:
        """READY or RESUMED seen since the last disconnect, and that websocket still open."""
        client = self._client
        ws: DiscordWebSocket | None = client.ws
        return (
            self._up and client.is_ready() and not client.is_closed() and ws is not None and ws.open
        )

    # -- the loop ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Log in, then keep the gateway session up until the client closes or Discord refuses
        what no retry fixes. Never raises (but CancelledError)."""
        try:
            await self._login()
            await self._keep_session()
        except _GiveUp as stop:
            self.gave_up = str(stop)
            log.error("%s Not retrying: fix it and restart digestbot.", stop)
        except Exception:  # a bug, not the network: say so once, with the traceback
            self.gave_up = "unexpected error"
            log.exception("Discord connection loop failed")
        finally:
            self._up = False

    async def _login(self) -> None:
        client = self._client
        while True:
            try:
                async with asyncio.timeout(self._login_timeout):
                    await client.login(self._token)
            except discord.LoginFailure:
                raise _GiveUp(TOKEN_REFUSED) from None
            except discord.HTTPException as exc:
                if exc.status in (401, 403):
                    raise _GiveUp(TOKEN_REFUSED) from None
                cause = describe(exc)
            except (OSError, aiohttp.ClientError, TimeoutError, discord.RateLimited) as exc:
                cause = describe(exc)
            else:
                log.info(
                    "Discord: logged in as %s; invite it with %s",
                    client.user,
                    invite_url(client.application_id),
                )
                return
            await self._fresh_http()
            await self._retry_after("login", cause)

    async def _fresh_http(self) -> None:
        """Close the HTTP session the failed login opened (each login opens one) and let the
        next login build a new connector: closing the session closed the old one."""
        http = self._client.http
        await http.close()
        http.connector = discord.utils.MISSING

    async def _keep_session(self) -> None:
        client = self._client
        params: dict[str, Any] = {"initial": True, "shard_id": client.shard_id}
        while not client.is_closed():
            try:
                self._up_since_attempt = False
                connecting = DiscordWebSocket.from_client(client, **params)
                client.ws = await asyncio.wait_for(connecting, timeout=self._connect_timeout)
                params["initial"] = False
                while True:
                    await client.ws.poll_event()
            except ReconnectWebSocket as again:
                # Discord asked for it (op 7), the socket dropped, or the session was
                # invalidated: resume at once, or identify again.
                client.dispatch(SESSION_DOWN)
                ws: DiscordWebSocket | None = client.ws
                if ws is not None:  # None: the very first handshake failed, identify again
                    params.update(
                        sequence=ws.sequence,
                        resume=again.resume,
                        session=ws.session_id,
                        gateway=ws.gateway,
                    )
                if not again.resume:  # discord.py waits 5 s before identifying again
                    log.info("Discord gateway session invalidated; sending IDENTIFY")
                    continue
                if self._up_since_attempt:
                    log.info("Discord gateway connection lost; sending RESUME")
                    continue
                cause = "closed before the session was ready"
            except discord.ConnectionClosed as exc:
                client.dispatch(SESSION_DOWN)
                if client.is_closed():
                    return
                if exc.code in FATAL_CLOSE_CODES:
                    raise _GiveUp(FATAL_CLOSE_CODES[exc.code]) from None
                cause = f"closed with code {exc.code}"
            except (
                OSError,
                discord.HTTPException,
                discord.GatewayNotFound,
                aiohttp.ClientError,
                TimeoutError,
            ) as exc:
                client.dispatch(SESSION_DOWN)
                if client.is_closed():
                    return
                cause = describe(exc)
            await self._retry_after("gateway connection", cause)
            ws = client.ws
            if ws is not None and ws.session_id is not None:  # resume what we had
                params.update(
                    sequence=ws.sequence, gateway=ws.gateway, resume=True, session=ws.session_id
                )

    async def _retry_after(self, what: str, cause: str) -> None:
        delay = next(self._delays)
        self.failures += 1
        log.warning("Discord %s failed (%s); retrying in %.1f s", what, cause, delay)
        await asyncio.sleep(delay)
