"""A fake Feishu/Lark long-connection gateway on 127.0.0.1: a real websocket speaking lark's frame
protocol, for lark-oapi's own `ws.Client`.

What the client does, read from lark_oapi/ws/client.py (1.7.x): it POSTs `{AppID, AppSecret}`
to `<domain>/callback/ws/endpoint` (served by tests.fakes.feishu_api.FakeFeishuApi, which hands
out this gateway's URL and ClientConfig), opens the websocket at that URL (its query carries
`device_id` and `service_id`), sends a `ping` CONTROL frame every PingInterval seconds, and
answers every DATA frame on the same frame: the payload replaced by `{"code": 200, "data":
base64(callback answer)}`. Frames are the protobuf `Frame` of lark_oapi.ws.pb.pbbp2_pb2.

The gateway pushes `event` or `card` DATA frames (split in `parts` when asked, as the platform
splits large payloads with the `sum` / `seq` headers), records the answers by message id, pongs
the pings and can drop the connection from its side, as a gateway restart does.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import threading
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from aiohttp import WSMsgType, web
from lark_oapi.ws.enum import FrameType
from lark_oapi.ws.pb.pbbp2_pb2 import Frame

from tests.fakes.feishu_api import FakeFeishuApi

SERVICE_ID = 7
TIMEOUT = 10.0


@dataclass
class Session:
    """One websocket the client opened."""

    device_id: str
    service_id: str
    socket: web.WebSocketResponse
    pings: int = 0
    closed: bool = False


@dataclass
class Answer:
    """The client's answer to one pushed frame."""

    code: int
    data: Any  # the decoded callback answer (a card callback's JSON), or None
    headers: dict[str, str] = field(default_factory=dict)


class FakeLarkGateway:
    """Serves the websocket from its own thread and loop; attach it to a FakeFeishuApi."""

    def __init__(
        self, api: FakeFeishuApi, *, reconnect_interval: int = 1, ping_interval: int = 120
    ) -> None:
        self.api = api
        # lark-oapi sleeps ReconnectNonce * random() before its first reconnect and
        # ReconnectInterval between tries (the platform's real values: 30 s and 120 s).
        self.client_config = {
            "ReconnectCount": -1,
            "ReconnectInterval": reconnect_interval,
            "ReconnectNonce": 0,
            "PingInterval": ping_interval,
        }
        self.sessions: list[Session] = []
        self.answers: dict[str, Answer] = {}
        self._ids = itertools.count(1)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self.url = ""

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self._thread.start()
        self.url = self._run(self._start())
        self.api.ws_url = self.url
        self.api.ws_client_config = dict(self.client_config)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.api.ws_url = None
        self._run(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(TIMEOUT)
        self._loop.close()

    async def _start(self) -> str:
        app = web.Application()
        app.router.add_get("/ws", self._serve)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        return f"ws://{host}:{port}/ws"

    async def _shutdown(self) -> None:
        for session in self.sessions:
            if not session.socket.closed:
                await session.socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def _run(self, work: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(TIMEOUT)

    # -- what tests do -------------------------------------------------------------------------

    @property
    def open_sessions(self) -> list[Session]:
        return [s for s in self.sessions if not s.closed]

    def push(self, kind: str, payload: dict[str, Any], *, parts: int = 1) -> str:
        """Send `payload` as an `event` or `card` DATA frame (in `parts` frames) on the open
        connection; returns the message id its answer is recorded under."""
        [session] = self.open_sessions
        message_id = f"msg-{next(self._ids)}"
        data = json.dumps(payload).encode("utf-8")
        size = -(-len(data) // parts)
        chunks = [data[i * size : (i + 1) * size] for i in range(parts)]
        for seq, chunk in enumerate(chunks):
            frame = _frame(kind, message_id, chunk, total=parts, seq=seq)
            self._run(session.socket.send_bytes(frame.SerializeToString()))
        return message_id

    def drop(self) -> None:
        """Close the open connection from the gateway's side."""
        [session] = self.open_sessions
        self._run(session.socket.close(code=1001, message=b"gateway restart"))

    # -- serving -------------------------------------------------------------------------------

    async def _serve(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        session = Session(
            request.query.get("device_id", ""), request.query.get("service_id", ""), socket
        )
        self.sessions.append(session)  # before the handshake's answer: the client sees it then
        await socket.prepare(request)
        try:
            async for message in socket:
                if message.type == WSMsgType.BINARY:
                    await self._received(session, message.data)
        finally:
            session.closed = True
        return socket

    async def _received(self, session: Session, data: bytes) -> None:
        frame = Frame()
        frame.ParseFromString(data)
        headers = {h.key: h.value for h in frame.headers}
        if frame.method == FrameType.CONTROL.value:
            if headers.get("type") == "ping":
                session.pings += 1
                await session.socket.send_bytes(_pong(frame.service).SerializeToString())
            return
        body = json.loads(frame.payload)
        raw = body.get("data")
        decoded = json.loads(base64.b64decode(raw)) if raw else None
        self.answers[headers["message_id"]] = Answer(int(body["code"]), decoded, headers)


def _frame(kind: str, message_id: str, payload: bytes, *, total: int, seq: int) -> Frame:
    frame = Frame()
    values = {
        "type": kind,
        "message_id": message_id,
        "trace_id": f"trace-{message_id}",
        "sum": str(total),
        "seq": str(seq),
    }
    for key, value in values.items():
        header = frame.headers.add()
        header.key, header.value = key, value
    frame.SeqID, frame.LogID, frame.service = seq + 1, 1, SERVICE_ID
    frame.method = FrameType.DATA.value
    frame.payload = payload
    return frame


def _pong(service: int) -> Frame:
    frame = Frame()
    header = frame.headers.add()
    header.key, header.value = "type", "pong"
    frame.SeqID, frame.LogID, frame.service = 0, 0, service
    frame.method = FrameType.CONTROL.value
    return frame
