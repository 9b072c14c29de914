"""The long connection over a real websocket: lark-oapi's own client (with our card-frame
routing) against a local gateway speaking lark's frame protocol (tests/fakes/feishu_ws.py), the
endpoint discovery on the fake OpenAPI, the hand-off to the main loop, `connected` following the
socket, and the SDK's reconnect."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import lark_oapi as lark
import pytest

from digestbot.wiring import Core
from handlers.conversation.middleware import Turn
from handlers.feishu.long_connection import LongConnection
from handlers.feishu.outbound import RetryPolicy
from handlers.feishu.service import FeishuBot
from handlers.feishu.settings import FeishuConfig
from handlers.ports import InboundEvent
from handlers.runtime.pacing import ChannelPacer
from tests.fakes.chat import NOW, build_chat_core, make_widget_repo
from tests.fakes.conversations import conversation_of
from tests.fakes.feishu_api import FakeFeishuApi, FeishuFailure
from tests.fakes.feishu_bot import load, mention, settle, wait_until
from tests.fakes.feishu_ws import FakeLarkGateway

BUSY = FeishuFailure(status=500, code=1, msg="system busy")


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[Core]:
    make_widget_repo(tmp_path / "widget")
    core = build_chat_core(tmp_path, tmp_path / "widget")
    yield core
    await core.aclose()


@pytest.fixture
def fake() -> Iterator[FakeFeishuApi]:
    with FakeFeishuApi() as api:
        yield api


@pytest.fixture
def gateway(fake: FakeFeishuApi) -> Iterator[FakeLarkGateway]:
    with FakeLarkGateway(fake) as served:
        yield served


async def noop_sleep(seconds: float) -> None:
    return None


def ws_bot(core: Core, fake: FakeFeishuApi, **kw: Any) -> FeishuBot:
    """A ws-mode bot with its real long connection, on the fake OpenAPI's domain."""
    config = FeishuConfig(app_id=fake.app_id, app_secret=fake.app_secret, domain=fake.base_url)
    return FeishuBot(
        kw.pop("conversation", None) or conversation_of(core),
        config,
        pacer=ChannelPacer(0.2, sleep=noop_sleep),
        retry=RetryPolicy(sleep=noop_sleep),
        clock=lambda: NOW,
        **kw,
    )


async def test_events_travel_the_websocket_and_run_on_the_main_loop(
    core: Core, fake: FakeFeishuApi, gateway: FakeLarkGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversation = conversation_of(core)
    admitted: list[tuple[int, asyncio.AbstractEventLoop, InboundEvent]] = []
    original = conversation.admit

    async def spy(event: InboundEvent) -> Turn:
        admitted.append((threading.get_ident(), asyncio.get_running_loop(), event))
        return await original(event)

    monkeypatch.setattr(conversation, "admit", spy)
    bot = ws_bot(core, fake, conversation=conversation)
    main_loop, main_thread = asyncio.get_running_loop(), threading.get_ident()
    await bot.start()
    try:
        await wait_until(lambda: bot.connected)
        # The endpoint discovery came first: a POST with the app's credentials.
        [discovery] = fake.calls_to("endpoint")
        assert (discovery.method, discovery.path) == ("POST", "/callback/ws/endpoint")
        assert discovery.body == {"AppID": fake.app_id, "AppSecret": fake.app_secret}
        [session] = gateway.sessions
        assert (session.device_id, session.service_id) == ("device1", "7")

        # A one-to-one message: answered on the frame, then handled on the main loop.
        first = gateway.push("event", load("message_text_p2p"))
        await wait_until(lambda: first in gateway.answers)
        assert gateway.answers[first].code == 200 and gateway.answers[first].data is None
        await settle(bot)
        [(thread, loop, event)] = admitted
        assert (thread, loop) == (main_thread, main_loop)
        assert (event.kind, event.text, event.context["chat_type"]) == ("mention", "help", "p2p")
        assert "digestbot commands" in fake.posted()[-1].content

        # The typed im.message.receive_v1 model keeps the mentions and the thread root.
        threaded = mention("details 00248d8", message_id="om_in_thread")
        threaded["event"]["message"]["root_id"] = "om_root_of_thread"
        gateway.push("event", threaded)
        await wait_until(lambda: len(admitted) == 2)
        event = admitted[1][2]
        assert (event.kind, event.text, event.thread_id) == (
            "mention",
            "details 00248d8",
            "om_root_of_thread",
        )

        # A card callback in a `card` frame (which lark-oapi 1.7 drops), split in two frames
        # like a large payload: dispatched, and answered with the toast.
        card = load("card_action_trigger")
        card["event"]["action"]["value"]["sha"] = "00248d8"
        clicked = gateway.push("card", card, parts=2)
        await wait_until(lambda: clicked in gateway.answers)
        answer = gateway.answers[clicked]
        assert answer.code == 200
        assert answer.data["toast"]["type"] == "info"
        assert answer.data["toast"]["content"] == "详情见下方"
        await settle(bot)
        assert [e.kind for _, _, e in admitted] == ["mention", "mention", "button"]
        assert all(thread == main_thread for thread, _, _ in admitted)
    finally:
        await bot.stop(timeout=5)
    assert not bot.connected
    assert bot._connection is not None and not bot._connection.running
    assert bot._connection.loop is not None and bot._connection.loop.is_closed()


async def test_connected_follows_the_socket_and_the_client_reconnects(
    core: Core, fake: FakeFeishuApi, gateway: FakeLarkGateway, caplog: pytest.LogCaptureFixture
) -> None:
    bot = ws_bot(core, fake)
    assert not bot.connected  # not started
    await bot.start()
    try:
        await wait_until(lambda: bot.connected)
        # The first reconnect attempt finds the platform busy: the bot stays down for the
        # ReconnectInterval (1 s here), then comes back on a new websocket.
        fake.fail_next("endpoint", BUSY)
        gateway.drop()
        await wait_until(lambda: not bot.connected)
        down_at = time.monotonic()
        await wait_until(lambda: bot.connected)
        assert time.monotonic() - down_at >= 0.5
        assert len(gateway.sessions) == 2 and len(gateway.open_sessions) == 1
        assert len(fake.calls_to("endpoint")) == 3  # start, the busy try, the reconnect

        pushed = gateway.push("event", load("message_text_p2p"))
        await wait_until(lambda: pushed in gateway.answers)
        await settle(bot)
        assert "digestbot commands" in fake.posted()[-1].content
    finally:
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            await bot.stop(timeout=5)
            gc.collect()  # "Task exception was never retrieved" comes when the task is freed
    assert not bot.connected
    await wait_until(lambda: not gateway.open_sessions)  # stop() closed the websocket
    # A stop is not an error: neither lark-oapi's receive loop ending on the socket we closed
    # nor its task's unretrieved ConnectionClosed is logged as one.
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_connect_failed_is_not_connected_and_stop_ends_the_reconnect_wait(
    core: Core, fake: FakeFeishuApi, gateway: FakeLarkGateway, caplog: pytest.LogCaptureFixture
) -> None:
    # Busy at start and at the first retries: lark-oapi logs "connect failed" and waits to
    # reconnect (up to ReconnectNonce, 30 s, then ReconnectInterval, 120 s, between tries).
    fake.fail_next("endpoint", BUSY, BUSY, BUSY)
    bot = ws_bot(core, fake)
    with caplog.at_level(logging.ERROR, logger="Lark"):
        await bot.start()
        try:
            await wait_until(lambda: "connect failed" in caplog.text)
            assert not bot.connected
            assert gateway.sessions == []
        finally:
            started = time.monotonic()
            await bot.stop(timeout=5)
    assert time.monotonic() - started < 5
    assert bot._connection is not None and not bot._connection.running
    assert bot._connection.error is None  # stopped on purpose, not failed


async def test_refused_credentials_end_the_connection(
    fake: FakeFeishuApi, gateway: FakeLarkGateway
) -> None:
    dispatcher = lark.EventDispatcherHandler.builder("", "").build()
    connection = LongConnection(fake.app_id, "not-the-secret", fake.base_url, dispatcher)
    connection.start()
    try:
        await wait_until(lambda: not connection.running)
    finally:
        await asyncio.to_thread(connection.stop)
    assert connection.error is not None and "invalid app_id" in str(connection.error)
    assert not connection.connected and gateway.sessions == []


async def test_one_long_connection_per_process_and_stop_frees_the_slot(
    fake: FakeFeishuApi, gateway: FakeLarkGateway
) -> None:
    dispatcher = lark.EventDispatcherHandler.builder("", "").build()
    first = LongConnection(fake.app_id, fake.app_secret, fake.base_url, dispatcher)
    first.start()
    try:
        await wait_until(lambda: first.connected)
        second = LongConnection(fake.app_id, fake.app_secret, fake.base_url, dispatcher)
        with pytest.raises(RuntimeError, match="one Feishu long connection"):
            second.start()
    finally:
        await asyncio.to_thread(first.stop)
    assert not first.running and not first.connected and first.error is None
    third = LongConnection(fake.app_id, fake.app_secret, fake.base_url, dispatcher)
    third.start()
    await wait_until(lambda: third.connected)
    await asyncio.to_thread(third.stop)
    assert not third.running


async def test_a_client_that_cannot_be_built_ends_the_thread_with_the_error(
    fake: FakeFeishuApi,
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("bad domain")

    dispatcher = lark.EventDispatcherHandler.builder("", "").build()
    connection = LongConnection("a", "s", fake.base_url, dispatcher, client_factory=broken)
    connection.start()
    await asyncio.to_thread(connection.stop)
    assert isinstance(connection.error, ValueError) and not connection.running


async def test_an_sdk_without_the_parts_we_use_is_refused_clearly(fake: FakeFeishuApi) -> None:
    class Changed:
        """A websocket client whose private parts moved (a future lark-oapi)."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._conn = None

        def start(self) -> None:
            raise AssertionError("never started")

    dispatcher = lark.EventDispatcherHandler.builder("", "").build()
    connection = LongConnection("a", "s", fake.base_url, dispatcher, client_factory=Changed)
    connection.start()
    await asyncio.to_thread(connection.stop)
    assert isinstance(connection.error, RuntimeError)
    assert "lark-oapi 1.7.x" in str(connection.error) and "_disconnect" in str(connection.error)
    assert not connection.connected
