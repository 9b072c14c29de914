"""The long connection's thread hand-off, without a socket: lark-oapi's real websocket client
(our card-frame routing included) receives frames on its own thread and loop, and the work runs
on the main loop."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import lark_oapi as lark
import lark_oapi.ws.client as ws_client
import pytest
from lark_oapi.ws.enum import FrameType
from lark_oapi.ws.pb.pbbp2_pb2 import Frame

from digestbot.wiring import Core
from handlers.conversation.middleware import Turn
from handlers.feishu.long_connection import LongConnection, _Client
from handlers.feishu.outbound import RetryPolicy
from handlers.feishu.service import FeishuBot
from handlers.feishu.settings import FeishuConfig
from handlers.ports import ChatAdapter
from handlers.runtime.pacing import ChannelPacer
from tests.fakes.chat import NOW, build_chat_core, make_widget_repo
from tests.fakes.conversations import conversation_of
from tests.fakes.feishu_api import FakeFeishuApi
from tests.fakes.feishu_bot import load, settle, wait_until


class SocketlessClient(_Client):
    """`start()` runs on the SDK's module-level loop (as lark-oapi's does) and feeds the frames
    the test queues to `_handle_data_frame`, as the receive loop would; answers are recorded."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.written: list[bytes] = []
        self.loop_seen: asyncio.AbstractEventLoop | None = None
        self.thread_seen: int | None = None
        self._inbox: asyncio.Queue[Frame | None] | None = None
        self.started = threading.Event()

    def start(self) -> None:
        self.loop_seen = ws_client.loop
        self.thread_seen = threading.get_ident()
        ws_client.loop.run_until_complete(self._pump())

    async def _pump(self) -> None:
        self._inbox = asyncio.Queue()
        self.started.set()
        while (frame := await self._inbox.get()) is not None:
            await self._handle_data_frame(frame)

    def feed(self, frame: Frame | None) -> None:
        assert self.loop_seen is not None and self._inbox is not None
        self.loop_seen.call_soon_threadsafe(self._inbox.put_nowait, frame)

    async def _write_message(self, data: bytes) -> None:
        self.written.append(data)

    async def _disconnect(self) -> None:
        if self._inbox is not None:
            self._inbox.put_nowait(None)


def frame(kind: str, payload: dict[str, Any], message_id: str) -> Frame:
    result = Frame()
    headers = {
        "type": kind,
        "message_id": message_id,
        "trace_id": "t-" + message_id,
        "sum": "1",
        "seq": "0",
    }
    for key, value in headers.items():
        header = result.headers.add()
        header.key, header.value = key, value
    result.service, result.method, result.SeqID, result.LogID = 1, FrameType.DATA.value, 1, 1
    result.payload = json.dumps(payload).encode("utf-8")
    return result


def answer(data: bytes) -> dict[str, Any]:
    parsed = Frame()
    parsed.ParseFromString(data)
    body: dict[str, Any] = json.loads(parsed.payload)
    return body


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


async def noop_sleep(seconds: float) -> None:
    return None


async def test_events_from_the_socket_thread_run_on_the_main_loop(
    core: Core, fake: FakeFeishuApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversation = conversation_of(core)
    ran_on: list[tuple[int, asyncio.AbstractEventLoop, str]] = []
    original = conversation.handle

    async def spy(turn: Turn, adapter: ChatAdapter, *, ack_shown: bool = False) -> None:
        ran_on.append((threading.get_ident(), asyncio.get_running_loop(), turn.event.kind))
        await original(turn, adapter, ack_shown=ack_shown)

    monkeypatch.setattr(conversation, "handle", spy)
    clients: list[SocketlessClient] = []

    def connection(dispatcher: lark.EventDispatcherHandler) -> LongConnection:
        def build(*args: Any, **kwargs: Any) -> SocketlessClient:
            clients.append(SocketlessClient(*args, **kwargs))
            return clients[-1]

        return LongConnection(
            fake.app_id, fake.app_secret, fake.base_url, dispatcher, client_factory=build
        )

    config = FeishuConfig(app_id=fake.app_id, app_secret=fake.app_secret, domain=fake.base_url)
    bot = FeishuBot(
        conversation,
        config,
        pacer=ChannelPacer(0.2, sleep=noop_sleep),
        retry=RetryPolicy(sleep=noop_sleep),
        clock=lambda: NOW,
        connection_factory=connection,
    )
    main_loop, main_thread = asyncio.get_running_loop(), threading.get_ident()
    await bot.start()
    try:
        [client] = clients
        assert client.started.wait(10)
        # The SDK's module-level loop was replaced by the thread's own loop, not ours.
        assert client.loop_seen is not main_loop and client.thread_seen != main_thread
        client.feed(frame("event", load("message_text_p2p"), "m1"))
        await wait_until(lambda: len(client.written) == 1)
        assert answer(client.written[0])["code"] == 200
        await settle(bot)
        assert ran_on == [(main_thread, main_loop, "mention")]
        help_reply = fake.posted()[-1]
        assert "digestbot commands" in help_reply.content

        # A card callback in a `card` frame (which lark-oapi 1.7 drops) is dispatched and
        # answered with the callback response.
        card = load("card_action_trigger")
        card["event"]["action"]["value"]["sha"] = "00248d8"
        client.feed(frame("card", card, "m2"))
        await wait_until(lambda: len(client.written) == 2)
        reply = answer(client.written[1])
        assert reply["code"] == 200 and json.loads(base64.b64decode(reply["data"])) == {}
        await settle(bot)
        assert [kind for _, _, kind in ran_on] == ["mention", "button"]
        assert all(thread == main_thread for thread, _, _ in ran_on)
    finally:
        await bot.stop(timeout=5)
    assert bot._connection is not None and not bot._connection.running
    assert client.loop_seen is not None and client.loop_seen.is_closed()


async def test_one_long_connection_per_process_and_stop_frees_the_slot(
    fake: FakeFeishuApi,
) -> None:
    dispatcher = lark.EventDispatcherHandler.builder("", "").build()
    first = LongConnection("a", "s", fake.base_url, dispatcher, client_factory=SocketlessClient)
    first.start()
    try:
        second = LongConnection(
            "a", "s", fake.base_url, dispatcher, client_factory=SocketlessClient
        )
        with pytest.raises(RuntimeError, match="one Feishu long connection"):
            second.start()
    finally:
        await asyncio.to_thread(first.stop)
    assert not first.running and first.error is None
    third = LongConnection("a", "s", fake.base_url, dispatcher, client_factory=SocketlessClient)
    third.start()
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
