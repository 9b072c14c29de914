"""A fake Discord gateway (v10, JSON text frames) on 127.0.0.1 for the real discord.py client.

Speaks what a session needs (https://discord.com/developers/docs/events/gateway): HELLO on
connect, HEARTBEAT → HEARTBEAT_ACK, IDENTIFY → READY (the guild unavailable, then its
GUILD_CREATE), RESUME → RESUMED for a known session or INVALID_SESSION otherwise, and a
wrong token → close code 4004. A test scripts the trouble: `drop()` closes every open socket
with a resumable code, `refusing` answers the websocket upgrade with 503, `close_on_identify`
closes with a fatal code (4014 disallowed intents). Runs on the test's event loop; point
discord.py at it with `DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway.url)`.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.discord_payloads import APPLICATION_ID, BOT_TOKEN, BOT_USER, GUILD_ID

# https://discord.com/developers/docs/topics/opcodes-and-status-codes#gateway-gateway-opcodes
DISPATCH, HEARTBEAT, IDENTIFY, RESUME, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 0, 1, 2, 6, 9, 10, 11
HEARTBEAT_INTERVAL_MS = 41_250  # what Discord sends
AUTHENTICATION_FAILED = 4004


@dataclass
class _Session:
    id: str
    sequence: int = 0


@dataclass
class FakeGateway:
    """The gateway's state and its scripted trouble; counters say what the client did."""

    guild: dict[str, Any]
    token: str = BOT_TOKEN
    refusing: bool = False
    close_on_identify: int | None = None
    connections: int = 0
    refused: int = 0
    identifies: int = 0
    resumes: list[str] = field(default_factory=list)  # "resumed" or "invalid"
    sessions: dict[str, _Session] = field(default_factory=dict)
    _sockets: dict[web.WebSocketResponse, _Session | None] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    @property
    def open_sockets(self) -> int:
        return sum(1 for ws in self._sockets if not ws.closed)

    async def start(self) -> FakeGateway:
        app = web.Application()
        app.router.add_get("/", self._serve)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def close(self) -> None:
        await self.drop(1001)
        if self._runner is not None:
            await self._runner.cleanup()

    async def drop(self, code: int = 4000) -> None:
        """Close every open connection with `code` (4000 "unknown error": resumable)."""
        for ws in list(self._sockets):
            if not ws.closed:
                await ws.close(code=code)

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a DISPATCH event to every open session."""
        for ws, session in list(self._sockets.items()):
            if not ws.closed and session is not None:
                await self._send_event(ws, session, event, data)

    # -- the protocol ----------------------------------------------------------------------

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        if self.refusing:
            self.refused += 1
            return web.Response(status=503, text="Service Unavailable")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.connections += 1
        self._sockets[ws] = None
        try:
            await ws.send_json({"op": HELLO, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}})
            async for message in ws:
                if message.type is not WSMsgType.TEXT:
                    continue
                await self._received(ws, json.loads(message.data))
        finally:
            self._sockets.pop(ws, None)
        return ws

    async def _received(self, ws: web.WebSocketResponse, message: dict[str, Any]) -> None:
        op, data = message.get("op"), message.get("d") or {}
        if op == HEARTBEAT:
            await ws.send_json({"op": HEARTBEAT_ACK})
        elif op == IDENTIFY:
            self.identifies += 1
            if data.get("token") != self.token:
                await ws.close(code=AUTHENTICATION_FAILED, message=b"Authentication failed.")
                return
            if self.close_on_identify is not None:
                await ws.close(code=self.close_on_identify)
                return
            session = _Session(f"session-{next(self._ids)}")
            self.sessions[session.id] = session
            self._sockets[ws] = session
            await self._send_event(ws, session, "READY", self._ready(session))
            await self._send_event(ws, session, "GUILD_CREATE", self.guild)
        elif op == RESUME:
            known = self.sessions.get(str(data.get("session_id")))
            if known is None or data.get("token") != self.token:
                self.resumes.append("invalid")
                await ws.send_json({"op": INVALID_SESSION, "d": False})
                return
            self.resumes.append("resumed")
            self._sockets[ws] = known
            await self._send_event(ws, known, "RESUMED", {})

    def _ready(self, session: _Session) -> dict[str, Any]:
        return {
            "v": 10,
            "user": dict(BOT_USER),
            "guilds": [{"id": GUILD_ID, "unavailable": True}],
            "session_id": session.id,
            "resume_gateway_url": self.url,
            "shard": [0, 1],
            "application": {"id": APPLICATION_ID, "flags": 0},
            "private_channels": [],
        }

    async def _send_event(
        self, ws: web.WebSocketResponse, session: _Session, event: str, data: dict[str, Any]
    ) -> None:
        session.sequence += 1
        await ws.send_json({"op": DISPATCH, "t": event, "s": session.sequence, "d": data})
