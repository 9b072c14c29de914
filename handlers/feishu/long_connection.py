"""The Feishu long connection: lark-oapi's websocket client in its own thread and event loop.

lark-oapi's `ws.Client` runs on a module-level `loop` it grabs at import time, and `start()`
blocks in `loop.run_until_complete(...)`. Imported inside our running asyncio loop, that `loop`
*is* our loop and `start()` fails with "This event loop is already running"
(https://github.com/larksuite/oapi-sdk-python/issues/133, #119). So the client is built and
started in a dedicated thread, with a new event loop patched into the module's `loop`. Its
dispatcher calls our handlers on that thread; they only hand the event over to the main loop
(`asyncio.run_coroutine_threadsafe`) and return, so the platform gets its answer at once.

The public API of `ws.Client` is its constructor, `start()` (which never returns) and the
`on_reconnecting` / `on_reconnected` hooks. Three things we need are not in it, so this module
reaches into the client's private parts, all listed in `PRIVATE_PARTS` and checked when the
client is built (a changed SDK stops the connection with a clear error instead of misbehaving):

- **card frames**: the SDK drops `card` frames instead of dispatching them
  (https://github.com/larksuite/oapi-sdk-python/issues/126; Feishu pushes card.action.trigger
  in them while the app's callback subscription is being switched to the long connection).
  `_Client._handle_data_frame` routes them through the dispatcher like `event` frames.
- **connection state**: `_conn` is the open websocket, None while connecting, after
  "connect failed" and between reconnects; `LongConnection.connected` reads it.
- **stopping**: there is no `stop()`; we clear `_auto_reconnect` and await `_disconnect()`.

These were read in lark-oapi 1.7.0 and 1.7.5 (identical there), hence the `lark-oapi>=1.7,<1.8`
pin in pyproject.toml; tests/handlers/feishu/test_long_connection.py runs them over a real
websocket (tests/fakes/feishu_ws.py).
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
# The private parts of lark_oapi.ws.client this module relies on (see the module docstring).
PRIVATE_PARTS = (
    "_conn",
    "_auto_reconnect",
    "_disconnect",
    "_handle_data_frame",
    "_combine",
    "_write_message",
    "_event_handler",
)

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


def missing_parts(client: Any) -> list[str]:
    """The private parts of `client` this module needs but does not find (an SDK change)."""
    return [name for name in PRIVATE_PARTS if not hasattr(client, name)]


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

    @property
    def connected(self) -> bool:
        """The websocket is open right now: False while connecting, after "connect failed",
        between reconnects and once stopped. Read from any thread (one attribute read)."""
        client = self.client
        return (
            self.running
            and not self._stopping.is_set()
            and client is not None
            and getattr(client, "_conn", None) is not None
        )

    def _run(self) -> None:
        quiet = _QuietStop(self._stopping)
        sdk_log = logging.getLogger("Lark")
        sdk_log.addFilter(quiet)
        try:
            self._run_loop()
        finally:
            sdk_log.removeFilter(quiet)

    def _run_loop(self) -> None:
        loop = asyncio.new_event_loop()
        loop.set_exception_handler(self._unhandled)
        asyncio.set_event_loop(loop)
        previous = ws_client.loop
        ws_client.loop = loop  # the SDK's module-level loop: ours, on this thread
        self.loop = loop
        try:
            self._serve(loop)
        finally:
            ws_client.loop = previous  # leave the module as we found it

    def _unhandled(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """Once we stop, the SDK's receive loop ends by raising ConnectionClosed in a task no
        one awaits ("Task exception was never retrieved"): expected then, not an error."""
        if self._stopping.is_set():
            log.debug("after stop, on the Feishu websocket loop: %s", context.get("message"))
            return
        loop.default_exception_handler(context)

    def _serve(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            client = self._factory(
                self._app_id,
                self._app_secret,
                event_handler=self._dispatcher,
                domain=self._domain,
                # INFO would log the connection URL with its access ticket.
                log_level=lark.LogLevel.WARNING,
            )
            missing = missing_parts(client)
            if missing:
                raise RuntimeError(
                    "this lark-oapi version changed its websocket client (no "
                    f"{', '.join(missing)}); digestbot's long connection needs lark-oapi 1.7.x"
                )
        except Exception as exc:  # a bad domain or SDK change: reported, the thread ends
            self.error = exc
            log.exception("cannot build the Feishu websocket client")
            self._ready.set()
            _close(loop)
            return
        # Public hooks: say so when the link drops and comes back (the SDK logs at WARNING).
        client.on_reconnecting = lambda: log.warning("Feishu long connection down; reconnecting")
        client.on_reconnected = lambda: log.info("Feishu long connection re-established")
        self.client = client
        self._ready.set()
        try:
            client.start()
        except RuntimeError as exc:  # "Event loop stopped before Future completed" on stop()
            if not self._stopping.is_set():
                self.error = exc
                log.exception("the Feishu long connection stopped")
        except Exception as exc:  # refused credentials (ClientException) and the like
            self.error = exc
            log.exception("the Feishu long connection failed")
        finally:
            _close(loop)


class _QuietStop(logging.Filter):
    """On the SDK's "Lark" logger: after our stop(), lark-oapi logs the receive loop's exit on
    the socket we closed at ERROR; that is the expected end, so it is dropped."""

    def __init__(self, stopping: threading.Event) -> None:
        super().__init__()
        self._stopping = stopping

    def filter(self, record: logging.LogRecord) -> bool:
        ended = record.getMessage().startswith("receive message loop exit")
        return not (ended and self._stopping.is_set())


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
