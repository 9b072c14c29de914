"""`GET /healthz`: 200 with a JSON report when every check passes, 503 when one does not."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from aiohttp import web

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
CHECK_TIMEOUT = 5.0  # seconds; a probe (Kubernetes, Docker) gives up soon after

Check = Callable[[], bool | Awaitable[bool]]
Detail = Callable[[], Awaitable[Any]]  # JSON-ready facts shown beside the checks


class Connected(Protocol):
    @property
    def connected(self) -> bool: ...


class HealthCheck:
    """Named checks (the scheduler runs, the store answers, each platform is connected)."""

    def __init__(
        self,
        checks: Mapping[str, Check],
        *,
        details: Mapping[str, Detail] | None = None,
        timeout: float = CHECK_TIMEOUT,
    ) -> None:
        self._checks = dict(checks)
        self._details = dict(details or {})
        self._timeout = timeout

    def add(self, name: str, check: Check) -> None:
        self._checks[name] = check

    async def report(self) -> tuple[bool, dict[str, bool]]:
        names = list(self._checks)
        results = await asyncio.gather(*(self._run(n) for n in names))
        report = dict(zip(names, results, strict=True))
        return all(results), report

    async def handle(self, request: web.Request) -> web.Response:
        ok, checks = await self.report()
        body: dict[str, Any] = {"status": "ok" if ok else "unavailable", "checks": checks}
        for name, detail in self._details.items():
            try:
                async with asyncio.timeout(self._timeout):
                    body[name] = await detail()
            except Exception:  # facts are a courtesy: never a 500
                log.exception("health detail %s failed", name)
                body[name] = None
        return web.json_response(body, status=200 if ok else 503)

    async def _run(self, name: str) -> bool:
        try:
            async with asyncio.timeout(self._timeout):
                value: Any = self._checks[name]()
                if inspect.isawaitable(value):
                    value = await value
                return bool(value)
        except TimeoutError:
            log.warning("health check %s timed out", name)
        except Exception:  # a failing check is a 503, never a 500
            log.exception("health check %s failed", name)
        return False


def platform_connected(service: Connected) -> Check:
    """A platform's own report of its link (never assumed: a platform that cannot say is down)."""

    def check() -> bool:
        return bool(service.connected)

    return check


def store_reachable(ping: Callable[[], None]) -> Check:
    """Runs a synchronous `ping` (raises when the database does not answer) off the loop."""

    async def check() -> bool:
        await asyncio.to_thread(ping)
        return True

    return check
