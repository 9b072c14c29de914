"""`digestbot serve`: every configured chat platform (and the scheduler) in one asyncio process.

Platforms and background services plug in through the factory lists below: a factory gets the
ServeContext and returns a Service (start/stop) or None when its settings are absent; it
raises ConfigError when they are incomplete, and serve refuses to start with that message.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from aiohttp import web

from bot.analysis.llm_factory import build_answerer
from bot.app import Core
from bot.config import Settings
from bot.errors import ConfigError
from bot.metrics import Metrics
from bot.storage.writer_lock import single_writer
from handlers.conversation import Conversation
from handlers.ports import ChatAdapter

log = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT = 60.0  # seconds in-flight replies get to finish after SIGTERM
METRICS_PATH = "/metrics"


class Service(Protocol):
    """Something `serve` runs: a chat platform connection, the scheduler, …"""

    @property
    def name(self) -> str: ...

    async def start(self) -> None: ...

    async def stop(self, timeout: float) -> None:
        """Take no new work; return when in-flight work finished (or `timeout` passed)."""
        ...


class HttpServer:
    """One aiohttp server for every HTTP endpoint (Slack/Feishu HTTP modes, /healthz).
    It only listens when someone added a route."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.app = web.Application()
        self._routes = 0
        self._runner: web.AppRunner | None = None

    def add_route(
        self,
        method: str,
        path: str,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> None:
        self.app.router.add_route(method, path, handler)
        self._routes += 1

    async def start(self) -> None:
        if not self._routes:
            return
        self._runner = web.AppRunner(self.app)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        log.info("HTTP endpoints on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@dataclass
class ServeContext:
    """What factories get. Platform factories register their adapter in `adapters`, so
    later factories (the scheduler) can post through every platform."""

    settings: Settings
    core: Core
    conversation: Conversation
    http: HttpServer
    adapters: dict[str, ChatAdapter] = field(default_factory=dict)


ServiceFactory = Callable[[ServeContext], Service | None]


def _slack(context: ServeContext) -> Service | None:
    from handlers.slack_app import HTTP_PATH, SlackBot, SlackConfig

    config = SlackConfig.from_settings(context.settings)
    if config is None:
        return None
    bot = SlackBot(context.conversation, config, clock=context.core.clock)
    if config.mode == "http":
        context.http.add_route("POST", HTTP_PATH, bot.http_handler())
    context.adapters[bot.adapter.platform] = bot.adapter
    return bot


# Chat platforms, in start order. The Feishu and Discord adapters append their factory here.
def _feishu(context: ServeContext) -> Service | None:
    from handlers.feishu_app import HTTP_PATH, FeishuBot, FeishuConfig

    config = FeishuConfig.from_settings(context.settings, context.core.config)
    if config is None:
        return None
    bot = FeishuBot(context.conversation, config, clock=context.core.clock)
    if config.mode == "http":
        context.http.add_route("POST", HTTP_PATH, bot.http_handler())
    context.adapters[bot.adapter.platform] = bot.adapter
    return bot


def _discord(context: ServeContext) -> Service | None:
    from handlers.discord_app import build_discord_service

    bot = build_discord_service(context.core, context.conversation)
    if bot is None:
        return None
    context.adapters[bot.adapter.platform] = bot.adapter
    return bot


PLATFORM_FACTORIES: list[ServiceFactory] = [_slack, _feishu, _discord]


def _scheduler(context: ServeContext) -> Service | None:
    """Daily posts (subscriptions) and `GET /healthz` on HTTP_HOST:HTTP_PORT."""
    from handlers.health import HEALTH_PATH, HealthCheck, adapter_connected, store_reachable
    from handlers.subscriptions import build_scheduling

    scheduling = build_scheduling(context.core, context.conversation, context.adapters)
    scheduler = scheduling.scheduler
    health = HealthCheck(
        {
            "scheduler": lambda: scheduler.running,
            "store": store_reachable(scheduling.subscriptions.ping),
            **{name: adapter_connected(adapter) for name, adapter in context.adapters.items()},
        }
    )
    context.http.add_route("GET", HEALTH_PATH, health.handle)
    return scheduler


# Everything else that runs next to the platforms (the scheduler, health endpoint), built
# after the platforms so it can use `context.adapters`.
SERVICE_FACTORIES: list[ServiceFactory] = [_scheduler]

NO_PLATFORM_MESSAGE = (
    "No chat platform is configured. Set SLACK_BOT_TOKEN and SLACK_APP_TOKEN (Socket Mode) "
    "or SLACK_MODE=http with SLACK_SIGNING_SECRET; or FEISHU_APP_ID and FEISHU_APP_SECRET "
    "(Feishu/Lark); or DISCORD_BOT_TOKEN (Discord); see the README. To try the bot without "
    "a platform, run `digestbot chat`."
)


@dataclass
class Runtime:
    context: ServeContext
    services: list[Service]
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


def build_runtime(core: Core) -> Runtime:
    """Build every configured service; ConfigError when a platform is half configured or
    none is configured at all."""
    settings = core.settings
    built = build_answerer(settings)
    answerer, llm_client = built if built is not None else (None, None)
    conversation = Conversation.from_core(core, answerer=answerer)
    http = HttpServer(settings.http_host, settings.http_port)
    http.add_route("GET", METRICS_PATH, metrics_endpoint(core.metrics))
    context = ServeContext(settings=settings, core=core, conversation=conversation, http=http)
    services = [s for f in PLATFORM_FACTORIES if (s := f(context)) is not None]
    if not services:
        raise ConfigError(NO_PLATFORM_MESSAGE)
    services += [s for f in SERVICE_FACTORIES if (s := f(context)) is not None]
    runtime = Runtime(context, services)
    if llm_client is not None:
        runtime.closers.append(llm_client.aclose)
    return runtime


def metrics_endpoint(
    metrics: Metrics,
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """`GET /metrics`: the registry in the Prometheus text format."""

    async def handle(request: web.Request) -> web.StreamResponse:
        body, content_type = metrics.render()
        return web.Response(body=body, headers={"Content-Type": content_type})

    return handle


async def run_serve(core: Core, *, stop: asyncio.Event | None = None) -> int:
    """Run until SIGTERM/SIGINT (or `stop` is set), then shut down gracefully. ConfigError
    when another server holds this SQLite database (see bot/storage/writer_lock.py)."""
    with single_writer(core.store.engine):
        return await _serve(core, stop)


async def _serve(core: Core, stop: asyncio.Event | None) -> int:
    runtime = build_runtime(core)
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
        await runtime.context.http.start()
        log.info("digestbot is serving; SIGTERM or Ctrl-C stops it")
        await stop.wait()
        log.info("shutting down: letting in-flight replies finish")
    finally:
        await runtime.context.http.stop()
        for service in reversed(started):
            try:
                await service.stop(SHUTDOWN_TIMEOUT)
            except Exception:  # keep stopping the others; the log has it
                log.exception("stopping %s failed", service.name)
        for close in runtime.closers:
            await close()
        for sig in installed:
            loop.remove_signal_handler(sig)
    return 0
