"""A fake Socket Mode websocket endpoint on 127.0.0.1 for slack_sdk's aiohttp SocketModeClient.

Speaks the Socket Mode protocol (https://api.slack.com/apis/socket-mode): a `hello` on
connect, then envelopes `{"envelope_id", "type", "payload", "accepts_response_payload",
"retry_attempt"}`; the app answers each with `{"envelope_id", "payload"?}`. Runs in the test's
event loop; point FakeSlackApi.socket_url at `url`.

Outages are scripted: `drop()` closes the open socket from Slack's side, `refusing = True`
answers new handshakes with HTTP 503, `disconnect()` sends Slack's "please reconnect" message.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

from aiohttp import WSMsgType, web


class FakeSocketMode:
    def __init__(self) -> None:
        self.connected = asyncio.Event()
        self.connections = 0  # websockets accepted so far
        self.refusing = False  # answer handshakes with 503 (Slack down)
        self.acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._ws: web.WebSocketResponse | None = None
        self._runner: web.AppRunner | None = None
        self._ids = itertools.count(1)
        self.url = ""

    async def start(self) -> FakeSocketMode:
        app = web.Application()
        app.router.add_get("/link/", self._socket)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"ws://127.0.0.1:{port}/link/?ticket=fake-ticket"
        return self

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def drop(self) -> None:
        """Slack closes the link (a deploy, a network blip): the client sees a close frame."""
        assert self._ws is not None, "no client connected"
        self.connected.clear()
        await self._ws.close()

    async def disconnect(self, reason: str = "refresh_requested") -> None:
        """Slack's `disconnect` message (https://api.slack.com/apis/socket-mode#disconnect)."""
        assert self._ws is not None, "no client connected"
        await self._ws.send_json({"type": "disconnect", "reason": reason})

    async def wait_for_connections(self, count: int, timeout: float = 5.0) -> None:
        """Until `count` websockets have been accepted in all."""
        async with asyncio.timeout(timeout):
            while self.connections < count:
                await asyncio.sleep(0.01)

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        if self.refusing:
            return web.Response(status=503, text="slack is down")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._ws = ws
        self.connections += 1
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": 1,
                "debug_info": {"host": "fake", "approximate_connection_time": 18060},
                "connection_info": {"app_id": "A0DIGEST"},
            }
        )
        self.connected.set()
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            future = self.acks.get(str(data.get("envelope_id")))
            if future is not None and not future.done():
                future.set_result(data)
        return ws

    async def deliver(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        envelope_id: str | None = None,
        retry_attempt: int = 0,
        timeout: float = 3.0,
    ) -> dict[str, Any]:
        """Send one envelope and wait for the app's ack (Slack waits 3 s, then redelivers)."""
        assert self._ws is not None, "no client connected"
        envelope = envelope_id or f"env-{next(self._ids)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.acks[envelope] = future
        await self._ws.send_json(
            {
                "envelope_id": envelope,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": kind != "events_api",
                "retry_attempt": retry_attempt,
                "retry_reason": "timeout" if retry_attempt else "",
            }
        )
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self.acks.pop(envelope, None)
