"""The Feishu long connection: lark-oapi's websocket client in its own thread and event loop.

lark-oapi's `ws.Client` runs on a module-level `loop` it grabs at import time, and `start()`
blocks in `loop.run_until_complete(...)`. Imported inside our running asyncio loop, that `loop`
*is* our loop and `start()` fails with "This event loop is already running"
(https://github.com/larksuite/oapi-sdk-python/issues/133, #119). So the client is built and
started in a dedicated thread, with a new event loop patched into the module's `loop`. Its
dispatcher calls our handlers on that thread; they only hand the event over to the main loop
(`asyncio.run_coroutine_threadsafe`) and return, so the platform gets its answer at once.

The SDK also drops `card` frames instead of dispatching them
(https://github.com/larksuite/oapi-sdk-python/issues/126); `_Client` routes them through the
dispatcher like `event` frames, so card.action.trigger works whichever frame type carries it.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import http
import logging
import threading
from collections.abc import Callable
from typing import Any

import lark_oapi as lark
import lark_oapi.ws.client as ws_client
from lark_oapi.ws.const import HEADER_MESSAGE_ID, HEADER_SEQ, HEADER_SUM, HEADER_TYPE
from lark_oapi.ws.enum import MessageType
from lark_oapi.ws.model import Response

log = logging.getLogger(__name__)

START_TIMEOUT = 10.0  # seconds to wait for the thread to build its client

_active_lock = threading.Lock()
_active: list[LongConnection] = []  # the SDK's module-level `loop` allows one client per process


class _Client(ws_client.Client):  # type: ignore[misc]
    """lark-oapi's websocket client, also answering `card` frames (see the module docstring)."""

    async def _handle_data_frame(self, frame: Any) -> None:
        if _header(frame, HEADER_TYPE) != MessageType.CARD.value:
            await super()._handle_data_frame(frame)
            return
        # Mirrors the SDK's `event` branch: combine parts, dispatch, answer on the same frame.
        payload = frame.payload
        total = int(_header(frame, HEADER_SUM) or 1)
        if total > 1:
            seq = int(_header(frame, HEADER_SEQ) or 0)
            payload = self._combine(_header(frame, HEADER_MESSAGE_ID) or "", total, seq, payload)
            if payload is None:
                return
        response = Response(code=http.HTTPStatus.OK)
        try:
            result = self._event_handler._do_without_validation(payload)
            if result is not None:
                response.data = base64.b64encode(lark.JSON.marshal(result).encode("utf-8"))
        except Exception:  # the SDK's boundary: answer 500 like its event branch does
            log.exception("Feishu card callback failed")
            response = Response(code=http.HTTPStatus.INTERNAL_SERVER_ERROR)
        frame.payload = lark.JSON.marshal(response).encode("utf-8")
        await self._write_message(frame.SerializeToString())


def _header(frame: Any, key: str) -> str | None:
    for header in frame.headers:
        if header.key == key:
            return str(header.value)
    return None


ClientFactory = Callable[..., Any]


class LongConnection:
    """Runs one lark-oapi websocket client in a daemon thread; `stop()` ends it."""

    def __init__(
        self,
        app_id: str,
        app_secret: str,
        domain: str,
        dispatcher: lark.EventDispatcherHandler,
        *,
        client_factory: ClientFactory = _Client,
    ) -> None:
        self._app_id = app_id
        self._app_secret = app_secret
        self._domain = domain
        self._dispatcher = dispatcher
        self._factory = client_factory
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.client: Any = None
        self.error: BaseException | None = None

    def start(self) -> None:
        """Start the thread; returns once the client is built (connecting goes on there)."""
        with _active_lock:
            if _active:
                raise RuntimeError("only one Feishu long connection can run per process")
            _active.append(self)
        self._thread = threading.Thread(target=self._run, name="feishu-ws", daemon=True)
        self._thread.start()
        self._ready.wait(START_TIMEOUT)

    def stop(self, timeout: float = 5.0) -> None:
        """Close the connection, stop the thread's loop and wait for the thread (blocking)."""
        self._stopping.set()
        loop, client = self.loop, self.client
        if loop is not None and client is not None and loop.is_running():
            client._auto_reconnect = False  # no stop() in lark-oapi: disconnect, then stop
            future = asyncio.run_coroutine_threadsafe(client._disconnect(), loop)
            try:
                future.result(timeout)
            except (concurrent.futures.TimeoutError, OSError, RuntimeError) as exc:
                log.info("Feishu websocket did not close cleanly: %s", exc)
            # RuntimeError: the client returned by itself and the loop is closed already.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout)
        with _active_lock:
            if self in _active:
                _active.remove(self)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        previous = ws_client.loop
        ws_client.loop = loop  # the SDK's module-level loop: ours, on this thread
        self.loop = loop
        try:
            self._serve(loop)
        finally:
            ws_client.loop = previous  # leave the module as we found it

    def _serve(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            self.client = self._factory(
                self._app_id,
                self._app_secret,
                event_handler=self._dispatcher,
                domain=self._domain,
                # INFO would log the connection URL with its access ticket.
                log_level=lark.LogLevel.WARNING,
            )
        except Exception as exc:  # a bad domain or SDK change: reported, the thread ends
            self.error = exc
            log.exception("cannot build the Feishu websocket client")
            self._ready.set()
            _close(loop)
            return
        self._ready.set()
        try:
            self.client.start()
        except RuntimeError as exc:  # "Event loop stopped before Future completed" on stop()
            if not self._stopping.is_set():
                self.error = exc
                log.exception("the Feishu long connection stopped")
        except Exception as exc:  # refused credentials (ClientException) and the like
            self.error = exc
            log.exception("the Feishu long connection failed")
        finally:
            _close(loop)


def _close(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what the SDK left on its loop (ping loop, receive loop) and close it."""
    for _ in range(2):  # a second round when a racing stop() interrupted the first
        tasks = [task for task in asyncio.all_tasks(loop) if not task.done()]
        if not tasks:
            break
        for task in tasks:
            task.cancel()
        with contextlib.suppress(RuntimeError):  # "Event loop stopped before Future completed"
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    loop.close()
