"""`digestbot serve`: every configured chat platform and the scheduler in one asyncio process,
started in order and stopped in reverse on SIGTERM/SIGINT (the wiring is digestbot/wiring.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Mapping
from typing import Any

from bot.storage.writer_lock import single_writer
from digestbot.chat_wiring import Runtime, build_runtime
from digestbot.wiring import Core
from handlers.platform import PlatformSettings, Service

log = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT = 60.0  # seconds in-flight replies get to finish after SIGTERM
STOP_GRACE = 5.0  # seconds a service may overrun that (or a cancelled start may take) at most


async def run_serve(
    core: Core,
    platform_settings: Mapping[str, PlatformSettings],
    *,
    stop: asyncio.Event | None = None,
) -> int:
    """Run until SIGTERM/SIGINT (or `stop` is set), then shut down gracefully. ConfigError
    when another server holds this SQLite database (see bot/storage/writer_lock.py)."""
    with single_writer(core.store.engine):
        return await _serve(build_runtime(core, platform_settings), stop)


async def _serve(runtime: Runtime, stop: asyncio.Event | None) -> int:
    """Start the HTTP endpoints (so `/healthz` answers, 503 while platforms connect), then each
    service in order; a stop request ends a start that hangs (Slack unreachable, say). Stop in
    reverse order, each bounded in time."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError):  # not the main thread / not Unix
            log.debug("cannot install a handler for %s", sig.name)
    stopping = asyncio.ensure_future(stop.wait())
    begun: list[Service] = []
    try:
        await runtime.http.start()
        for service in runtime.services:
            begun.append(service)  # stopped too if its start is cut short
            if not await _start_unless_stopped(service, stopping):
                break
            log.info("started %s", service.name)
        else:
            log.info("digestbot is serving; SIGTERM or Ctrl-C stops it")
            await stopping
        log.info("shutting down: letting in-flight replies finish")
    finally:
        stopping.cancel()
        for service in reversed(begun):
            await _stop(service)
        await runtime.http.stop()
        for sig in installed:
            loop.remove_signal_handler(sig)
    return 0


async def _start_unless_stopped(service: Service, stopping: asyncio.Future[Any]) -> bool:
    """Start `service`; False (its start cancelled) when a stop is requested first."""
    starting: asyncio.Future[Any] = asyncio.ensure_future(service.start())
    await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if starting.done():
        starting.result()  # a failed start is serve's failure (ConfigError, …)
        return True
    log.info("stop requested while %s was starting", service.name)
    starting.cancel()
    with contextlib.suppress(asyncio.CancelledError, TimeoutError):
        await asyncio.wait_for(starting, STOP_GRACE)
    return False


async def _stop(service: Service) -> None:
    """`service.stop`, given SHUTDOWN_TIMEOUT for in-flight work and STOP_GRACE beyond it."""
    try:
        await asyncio.wait_for(service.stop(SHUTDOWN_TIMEOUT), SHUTDOWN_TIMEOUT + STOP_GRACE)
    except TimeoutError:
        log.warning("%s did not stop in time; leaving it", service.name)
    except Exception:  # keep stopping the others; the log has it
        log.exception("stopping %s failed", service.name)
