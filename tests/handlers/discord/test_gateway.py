"""The Discord connection in the background: the real discord.py client against a fake gateway
and the fake REST API — `connected` follows the session, an unreachable or refusing Discord
never blocks `start` or `stop`, and every failed attempt is one log line without a traceback."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator, Iterator
from itertools import islice
from pathlib import Path

import pytest
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.errors import PlatformError
from handlers.discord.doctor import INTENTS_HELP
from handlers.discord.gateway import TOKEN_REFUSED, describe
from handlers.discord.service import DiscordBot
from handlers.ports import ReplyTarget
from handlers.runtime.backoff import Backoff
from tests.fakes.discord_api import FakeDiscordApi
from tests.fakes.discord_gateway import FakeGateway
from tests.fakes.discord_harness import (
    CHANNEL,
    Env,
    assert_inert,
    channel_posts,
    digest_message,
    discord_env,
    fake_gateway,
    wait_until,
)
from tests.fakes.discord_payloads import BOT_USER, BOT_USER_ID, GUILD_ID

GATEWAY_LOG = "handlers.discord.gateway"
DISCORD_LOGGERS = ("discord", "handlers.discord")


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    async with discord_env(tmp_path) as environment:
        yield environment


@pytest.fixture
async def gateway(env: Env) -> AsyncIterator[FakeGateway]:
    async with fake_gateway() as fake:
        yield fake


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A 127.0.0.1 port nothing listens on: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    yield port


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A 127.0.0.1 port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield int(listener.getsockname()[1])


async def started(bot: DiscordBot) -> float:
    """Start `bot`; the seconds `start` took."""
    began = time.monotonic()
    await bot.start()
    return time.monotonic() - began


async def stopped(bot: DiscordBot, timeout: float) -> float:
    began = time.monotonic()
    await bot.stop(timeout)
    return time.monotonic() - began


def problems(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Records at WARNING or above, from any logger (discord.py's own included)."""
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


def assert_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        assert record.exc_info is None and record.exc_text is None, record.getMessage()
        assert "Traceback" not in record.getMessage()
        assert "\n" not in record.getMessage()


# -- connected follows the session ------------------------------------------------------------


async def test_connected_only_while_the_gateway_session_is_ready(
    env: Env, gateway: FakeGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    bot = env.unstarted_bot()
    assert bot.connected is False

    assert await started(bot) < 0.5
    await wait_until(lambda: bot.connected)
    assert gateway.identifies == 1 and bot.client.user is not None
    assert bot.client.get_guild(int(GUILD_ID)) is not None

    # Discord drops the socket and, for a while, refuses the way back.
    gateway.refusing = True
    await gateway.drop(4000)
    await wait_until(lambda: not bot.connected)
    await wait_until(lambda: gateway.refused >= 3)
    assert bot.connected is False  # is_ready() alone would still say True

    gateway.refusing = False
    await wait_until(lambda: bot.connected)
    assert gateway.resumes == ["resumed"] and gateway.identifies == 1  # resumed, not re-identified

    # A drop Discord lets us resume at once (as after op 7 RECONNECT) comes back by itself.
    await gateway.drop(4000)
    await wait_until(lambda: gateway.resumes == ["resumed", "resumed"])
    await wait_until(lambda: bot.connected)

    assert await stopped(bot, 5) < 1.0
    assert bot.connected is False
    retries = problems(caplog)  # from any logger: discord.py's own add nothing
    assert len(retries) == gateway.refused  # one line per refused attempt
    assert all(r.name == GATEWAY_LOG for r in retries)
    assert all("503" in r.getMessage() for r in retries), [r.getMessage() for r in retries]
    assert_no_traceback(caplog)


async def test_a_session_discord_no_longer_knows_is_identified_again(
    env: Env, gateway: FakeGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    bot = env.unstarted_bot()
    await bot.start()
    await wait_until(lambda: bot.connected)
    gateway.sessions.clear()  # RESUME gets INVALID_SESSION: IDENTIFY again
    await gateway.drop(4000)
    # discord.py waits 5 s before a repeated IDENTIFY (Discord's identify rate limit).
    await wait_until(lambda: gateway.identifies == 2 and bot.connected, timeout=15)
    assert gateway.resumes == ["invalid"]
    assert problems(caplog) == []  # an invalidated session is no failed attempt


async def test_commands_and_mentions_arrive_over_the_gateway(
    env: Env, gateway: FakeGateway
) -> None:
    """The whole way in production: `/digest` and then `@digestbot details <sha>` in a reply
    come as gateway events, with the default DISCORD_MESSAGE_CONTENT=false."""
    bot = env.unstarted_bot()
    await bot.start()
    await wait_until(lambda: bot.connected)
    command = env.interaction("interaction_digest.json")
    env.fake.interaction_created(command)
    await gateway.dispatch("INTERACTION_CREATE", command)
    await wait_until(lambda: any(m["components"] for m in env.fake.messages(CHANNEL)))
    root = digest_message(env.fake)

    sha7 = env.shas["feature"][:7]
    reply = env.message(
        f"<@{BOT_USER_ID}> details {sha7}",
        CHANNEL,
        type=19,
        mentions=[BOT_USER],
        message_reference={"type": 0, "message_id": root["id"], "channel_id": CHANNEL},
    )
    await gateway.dispatch("MESSAGE_CREATE", reply)
    await wait_until(lambda: len(channel_posts(env.fake, CHANNEL)) == 1)
    (details,) = channel_posts(env.fake, CHANNEL)
    assert "add streaming endpoint" in details["embeds"][0]["title"]
    assert details["message_reference"]["message_id"] == reply["id"]
    assert_inert(env.fake)


# -- unreachable: start returns, one line per attempt, stop is quick --------------------------


async def test_unreachable_discord_does_not_block_start_and_logs_one_line_per_attempt(
    env: Env, closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    Route.BASE = f"http://127.0.0.1:{closed_port}/api/v10"  # discord_env restores it
    bot = env.unstarted_bot()

    assert await started(bot) < 0.5
    await wait_until(lambda: bot.link.failures >= 3)
    assert bot.connected is False
    assert await stopped(bot, 5) < 1.0
    assert bot.connected is False
    failures = bot.link.failures
    await asyncio.sleep(0.2)
    assert bot.link.failures == failures  # no retry after stop

    # Everything discord.py and the package logged: exactly one line per failed attempt.
    lines = [r.getMessage() for r in caplog.records if r.name.startswith(DISCORD_LOGGERS)]
    assert len(lines) == failures
    assert all(line.startswith("Discord login failed (ClientConnectorError") for line in lines)
    assert all(f"127.0.0.1:{closed_port}" in line for line in lines), lines
    assert_no_traceback(caplog)


async def test_unreachable_gateway_is_retried_with_one_line_each_and_resumes_posting(
    env: Env, closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with fake_gateway() as gateway:
        url = gateway.url
        await gateway.close()  # nothing answers there any more
        bot = env.unstarted_bot()
        assert await started(bot) < 0.5
        await wait_until(lambda: bot.link.failures >= 3)
    assert bot.connected is False
    assert bot.client.user is not None  # REST login worked: posting does too
    assert len(env.fake.calls_to("GET", "/users/@me")) == 1
    lines = [r.getMessage() for r in problems(caplog)]
    assert lines and all(line.startswith("Discord gateway connection failed (") for line in lines)
    assert all(url.removeprefix("ws://").rstrip("/") in line for line in lines), lines
    assert_no_traceback(caplog)
    refs = await bot.adapter.send_text(ReplyTarget("discord", CHANNEL), "still here")
    assert refs and env.fake.messages(CHANNEL)[-1]["content"] == "still here"
    assert await stopped(bot, 5) < 1.0


def test_retries_back_off_exponentially_up_to_the_cap() -> None:
    backoff = Backoff(first=1.0, cap=60.0, jitter=lambda: 1.0)
    assert list(islice(backoff.delays(), 9)) == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert next(backoff.delays()) == 1  # a new series once the link was up again
    low = Backoff(first=1.0, cap=60.0, jitter=lambda: 0.0)
    assert list(islice(low.delays(), 3)) == [0.5, 1, 2]
    assert describe(TimeoutError()) == "timed out"
    assert describe(OSError("line one\nline two")) == "OSError: line one line two"


# -- refused: one clear line, no retries ------------------------------------------------------


async def test_a_refused_token_is_one_line_and_no_retry(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with FakeDiscordApi(token="another-token") as api:
        Route.BASE = api.base_url
        bot = env.unstarted_bot()
        await bot.start()
        await wait_until(lambda: bot.link.gave_up is not None)
        await asyncio.sleep(0.2)  # a retry would have happened by now
        assert len(api.calls_to("GET", "/users/@me")) == 1
    assert bot.connected is False
    (line,) = problems(caplog)
    assert line.levelno == logging.ERROR and line.getMessage().startswith(TOKEN_REFUSED)
    assert_no_traceback(caplog)
    assert await stopped(bot, 5) < 1.0


@pytest.mark.parametrize(
    ("close_code", "expected"),
    [(None, TOKEN_REFUSED), (4014, INTENTS_HELP)],
    ids=["4004-authentication-failed", "4014-disallowed-intents"],
)
async def test_a_gateway_refusal_is_one_line_and_no_retry(
    env: Env,
    gateway: FakeGateway,
    caplog: pytest.LogCaptureFixture,
    close_code: int | None,
    expected: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    if close_code is None:
        gateway.token = "a-token-the-gateway-does-not-know"
    gateway.close_on_identify = close_code
    bot = env.unstarted_bot(message_content=close_code == 4014)
    await bot.start()
    await wait_until(lambda: bot.link.gave_up is not None)
    await asyncio.sleep(0.2)
    assert gateway.identifies == 1 and bot.connected is False
    (line,) = problems(caplog)
    assert line.levelno == logging.ERROR and line.getMessage().startswith(expected)
    assert_no_traceback(caplog)
    assert await stopped(bot, 5) < 1.0


# -- stop within its timeout in every state ---------------------------------------------------


async def test_stop_returns_within_its_timeout_while_a_login_hangs(
    env: Env, silent_port: int
) -> None:
    Route.BASE = f"http://127.0.0.1:{silent_port}/api/v10"
    bot = env.unstarted_bot()
    assert await started(bot) < 0.5
    await asyncio.sleep(0.2)  # the login request is sent and waits for an answer
    assert bot.link.failures == 0 and bot.connected is False
    assert await stopped(bot, 1.0) < 1.2


async def test_stop_returns_within_its_timeout_while_waiting_to_retry(
    env: Env, closed_port: int
) -> None:
    Route.BASE = f"http://127.0.0.1:{closed_port}/api/v10"
    bot = env.unstarted_bot(backoff=Backoff(first=30.0, cap=30.0))
    await bot.start()
    await wait_until(lambda: bot.link.failures == 1)  # now sleeping ~15-30 s
    assert await stopped(bot, 1.0) < 1.0


async def test_stop_returns_within_its_timeout_while_the_gateway_handshake_hangs(
    env: Env, silent_port: int
) -> None:
    async with fake_gateway():
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(f"ws://127.0.0.1:{silent_port}/")
        bot = env.unstarted_bot()
        await bot.start()
        await wait_until(lambda: bot.client.user is not None)  # logged in, now handshaking
        await asyncio.sleep(0.2)
        assert await stopped(bot, 1.0) < 1.2


async def test_posting_before_the_login_is_a_platform_error(env: Env) -> None:
    bot = env.unstarted_bot()
    with pytest.raises(PlatformError) as refused:
        await bot.adapter.send_text(ReplyTarget("discord", CHANNEL), "too early")
    assert refused.value.user_message == "Discord is not connected yet."
    assert env.fake.calls == []
