"""The Slack link: true connection state, prompt start and stop, one log line per failed attempt.

Real slack_sdk / slack_bolt against the fakes: the Web API (tests/fakes/slack_api.py), the
Socket Mode websocket (tests/fakes/slack_socket.py), a Slack that refuses connections and one
that never answers."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from handlers.runtime.backoff import Backoff
from handlers.runtime.pacing import ChannelPacer
from handlers.slack.connection import AUTH_TEST_TIMEOUT_SECONDS
from handlers.slack.service import SlackBot
from handlers.slack.settings import SlackConfig
from tests.fakes.chat import build_chat_core, make_widget_repo
from tests.fakes.conversations import conversation_of
from tests.fakes.slack_api import FakeSlackApi, SilentSlack, refused_base_url
from tests.fakes.slack_requests import FORM, SIGNING_SECRET, signed_request, slash_command
from tests.fakes.slack_socket import FakeSocketMode

FAST = Backoff(first=0.02, cap=0.1)
SOCKET = SlackConfig(bot_token="xoxb-test", mode="socket", app_token="xapp-test")
HTTP = SlackConfig(bot_token="xoxb-test", mode="http", signing_secret=SIGNING_SECRET)
_ATTEMPT = re.compile(r"attempt (\d+) failed at (.+?) \((.*)\); next attempt in (\S+) s")


async def _no_sleep(_seconds: float) -> None:
    return None


@pytest.fixture
async def conversation(tmp_path: Path) -> AsyncIterator[Any]:
    make_widget_repo(tmp_path / "widget")
    core = build_chat_core(tmp_path, tmp_path / "widget")
    yield conversation_of(core)
    await core.aclose()


def _bot(conversation: Any, config: SlackConfig, base_url: str, **kwargs: Any) -> SlackBot:
    return SlackBot(
        conversation,
        config,
        client=AsyncWebClient(token=config.bot_token, base_url=base_url),
        pacer=ChannelPacer(1.0, clock=lambda: 0.0, sleep=_no_sleep),
        **kwargs,
    )


async def _until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def _timed(work: Any) -> float:
    started = time.monotonic()
    await work
    return time.monotonic() - started


@dataclass
class Online:
    """A bot in Socket Mode against the fake Web API and the fake websocket."""

    bot: SlackBot
    api: FakeSlackApi
    socket: FakeSocketMode

    async def sdk_says_connected(self) -> bool:
        link = self.bot.connection.link
        assert link is not None
        return bool(await link.is_connected())


@pytest.fixture
async def online(conversation: Any) -> AsyncIterator[Online]:
    socket = await FakeSocketMode().start()
    with FakeSlackApi() as api:
        api.socket_url = socket.url
        bot = _bot(conversation, SOCKET, api.base_url, backoff=FAST)
        try:
            yield Online(bot, api, socket)
        finally:
            await bot.stop(timeout=5)
            await socket.close()


# -- 1. true connection state -----------------------------------------------------------------


async def test_socket_mode_connected_follows_the_websocket(online: Online) -> None:
    bot, socket = online.bot, online.socket
    assert not bot.connected  # not started
    await bot.start()
    await socket.wait_for_connections(1)
    await _until(lambda: bot.connected)
    assert await online.sdk_says_connected()

    socket.refusing = True  # Slack drops the link and is down for a while
    await socket.drop()
    await _until(lambda: not bot.connected, timeout=2)
    assert not await online.sdk_says_connected()
    await _until(lambda: bot.connection.attempts >= 2)  # reconnects tried, and refused
    assert not bot.connected and socket.connections == 1

    socket.refusing = False
    await socket.wait_for_connections(2)
    await _until(lambda: bot.connected)
    assert await online.sdk_says_connected()
    assert bot.connection.attempts == 0
    assert len(online.api.calls_to("apps.connections.open")) >= 3  # a fresh URL per attempt
    # the new link carries events: a slash command is acked over it
    command = dict(parse_qsl(slash_command("help", trigger_id="after-reconnect")))
    ack = await socket.deliver("slash_commands", command)
    assert "digestbot commands" in ack["payload"]["text"]


async def test_slacks_disconnect_message_moves_to_a_new_link(online: Online) -> None:
    bot, socket = online.bot, online.socket
    await bot.start()
    await socket.wait_for_connections(1)
    await _until(lambda: bot.connected)
    await socket.disconnect()  # https://api.slack.com/apis/socket-mode#disconnect
    await socket.wait_for_connections(2)
    await _until(lambda: bot.connected)
    assert len(online.api.calls_to("apps.connections.open")) == 2
    assert len(online.api.calls_to("auth.test")) == 1  # the identity is learned once


async def test_http_mode_is_connected_once_started(conversation: Any) -> None:
    with FakeSlackApi() as api:
        bot = _bot(conversation, HTTP, api.base_url)
        assert not bot.connected
        await bot.start()
        assert bot.connected
        await _until(lambda: bool(api.calls_to("auth.test")))  # the identity, in the background
        await bot.stop(timeout=5)
        assert not bot.connected


# -- 2. an unreachable Slack blocks neither start nor stop ---------------------------------


def test_backoff_doubles_up_to_its_cap() -> None:
    delays = Backoff(first=1.0, cap=60.0).delays()
    assert [next(delays) for _ in range(9)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]


@pytest.mark.parametrize(
    ("config", "refused"),
    [(SOCKET, "auth.test"), (HTTP, "auth.test"), (SOCKET, "the websocket")],
    ids=["socket-api-refused", "http-api-refused", "socket-websocket-refused"],
)
async def test_refused_connections_one_log_line_per_attempt_no_traceback(
    conversation: Any, caplog: pytest.LogCaptureFixture, config: SlackConfig, refused: str
) -> None:
    caplog.set_level(logging.INFO)
    with FakeSlackApi() as api:
        if refused == "auth.test":
            base_url = refused_base_url()
        else:  # the Web API answers, the websocket's host refuses
            base_url = api.base_url
            api.socket_url = refused_base_url().replace("http:", "ws:") + "link/?ticket=t-secret"
        bot = _bot(conversation, config, base_url, backoff=Backoff(first=0.05, cap=0.2))
        took_start = await _timed(bot.start())
        assert took_start < 2
        assert bot.connected is (config.mode == "http")  # HTTP mode serves; Socket Mode is down
        await _until(lambda: bot.connection.attempts >= 4)
        took_stop = await _timed(bot.stop(timeout=5))
        assert took_stop < 2 and not bot.connected

    records = [r for r in caplog.records if not r.name.startswith("asyncio")]
    attempts = [r for r in records if _ATTEMPT.search(r.getMessage())]
    assert len(attempts) == bot.connection.attempts >= 4
    others = [r.getMessage() for r in records if r not in attempts]
    assert all("started" in m for m in others), others  # nothing else said a word
    for number, record in enumerate(attempts, start=1):
        found = _ATTEMPT.search(record.getMessage())
        assert found is not None
        assert int(found[1]) == number and found[2] == refused
        assert "ClientConnectorError" in found[3]
        assert record.levelno == logging.WARNING and record.exc_info is None
        assert "\n" not in record.getMessage()
    waits = [float(_ATTEMPT.search(r.getMessage())[4]) for r in attempts]  # type: ignore[index]
    assert waits[:4] == [0.05, 0.1, 0.2, 0.2]  # doubling, capped
    assert "Traceback" not in caplog.text
    assert "xoxb-test" not in caplog.text and "t-secret" not in caplog.text


async def test_a_slack_that_never_answers_cannot_hold_start_or_stop(
    conversation: Any,
) -> None:
    silent = await SilentSlack().start()
    try:
        bot = _bot(conversation, SOCKET, silent.base_url, backoff=FAST)
        assert await _timed(bot.start()) < 2
        await _until(lambda: silent.accepted >= 1)  # auth.test is in flight, unanswered
        assert not bot.connected
        assert await _timed(bot.stop(timeout=5)) < 2
        assert bot.connection.link is not None and bot.connection.link.closed
    finally:
        await silent.close()


async def test_stop_with_a_short_timeout_keeps_it(conversation: Any) -> None:
    silent = await SilentSlack().start()
    try:
        bot = _bot(conversation, SOCKET, silent.base_url, backoff=FAST)
        await bot.start()
        await _until(lambda: silent.accepted >= 1)
        assert await _timed(bot.stop(timeout=0.3)) < 0.5
    finally:
        await silent.close()


@pytest.mark.parametrize("state", ["connected", "reconnecting"])
async def test_stop_returns_promptly_once_connected_or_reconnecting(
    online: Online, state: str
) -> None:
    bot, socket = online.bot, online.socket
    await bot.start()
    await socket.wait_for_connections(1)
    await _until(lambda: bot.connected)
    if state == "reconnecting":
        socket.refusing = True
        await socket.drop()
        await _until(lambda: bot.connection.attempts >= 1)
    link = bot.connection.link
    assert link is not None
    assert await _timed(bot.stop(timeout=5)) < 2
    assert not bot.connected and link.closed
    tasks = [link.message_processor, link.current_session_monitor, link.message_receiver]
    await asyncio.sleep(0)  # let the cancellations land
    assert all(task is None or task.done() for task in tasks)


async def test_auth_test_that_hangs_is_bounded_and_the_ack_is_not_held(
    conversation: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """HTTP mode, a Slack Web API that never answers: the first event's auth.test gives up
    after AUTH_TEST_TIMEOUT_SECONDS and the slash command is still acked in Slack's 3 s."""
    caplog.set_level(logging.INFO)
    silent = await SilentSlack().start()
    try:
        bot = _bot(conversation, HTTP, silent.base_url)
        request = signed_request(slash_command("help", trigger_id="t-hang"), content_type=FORM)
        started = time.monotonic()
        response = await asyncio.wait_for(bot.app.async_dispatch(request), timeout=5)
        took = time.monotonic() - started
        assert response.status == 200 and "digestbot commands" in response.body
        assert AUTH_TEST_TIMEOUT_SECONDS - 0.1 <= took < 3
        (line,) = [r for r in caplog.records if "auth.test failed" in r.getMessage()]
        assert "timed out" in line.getMessage() and line.exc_info is None
        assert await _timed(bot.stop(timeout=5)) < 2
    finally:
        await silent.close()
