"""`digestbot serve`: every configured chat platform and the scheduler in one asyncio process,
started in order and stopped in reverse on SIGTERM/SIGINT (the wiring is digestbot/wiring.py)."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Mapping

from bot.storage.writer_lock import single_writer
from digestbot.chat_wiring import Runtime, build_runtime
from digestbot.wiring import Core
from handlers.platform import PlatformSettings, Service

log = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT = 60.0  # seconds in-flight replies get to finish after SIGTERM


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
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError):  # not the main thread / not Unix
            log.debug("cannot install a handler for %s", sig.name)
    started: list[Service] = []
    try:
        for service in runtime.services:
            await service.start()
            started.append(service)
            log.info("started %s", service.name)
        await runtime.http.start()
        log.info("digestbot is serving; SIGTERM or Ctrl-C stops it")
        await stop.wait()
        log.info("shutting down: letting in-flight replies finish")
    finally:
        await runtime.http.stop()
        for service in reversed(started):
            try:
                await service.stop(SHUTDOWN_TIMEOUT)
            except Exception:  # keep stopping the others; the log has it
                log.exception("stopping %s failed", service.name)
        for sig in installed:
            loop.remove_signal_handler(sig)
    return 0
