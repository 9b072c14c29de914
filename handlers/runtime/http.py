"""`serve`'s one HTTP server (platform endpoints in HTTP mode, /healthz, /metrics)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.metrics import Metrics

log = logging.getLogger(__name__)

METRICS_PATH = "/metrics"


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


def metrics_endpoint(
    metrics: Metrics,
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """`GET /metrics`: the registry in the Prometheus text format."""

    async def handle(request: web.Request) -> web.StreamResponse:
        body, content_type = metrics.render()
        return web.Response(body=body, headers={"Content-Type": content_type})

    return handle
