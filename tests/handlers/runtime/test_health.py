"""`/healthz` over real HTTP: 200 with every check passing, 503 naming the failing one."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import aiohttp
import pytest

from bot.errors import StorageError
from handlers.runtime.health import HEALTH_PATH, HealthCheck, platform_connected, store_reachable
from handlers.runtime.http import HttpServer


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class State:
    scheduler = True
    store_up = True

    def ping(self) -> None:
        if not self.store_up:
            raise StorageError("The database is not reachable.")


class Adapter:
    def __init__(self, connected: bool) -> None:
        self.connected = connected


@pytest.fixture
async def served() -> AsyncIterator[tuple[str, State, Adapter]]:
    state, slack = State(), Adapter(True)
    health = HealthCheck(
        {
            "scheduler": lambda: state.scheduler,
            "store": store_reachable(state.ping),
            "slack": platform_connected(slack),
        }
    )
    port = _free_port()
    http = HttpServer("127.0.0.1", port)
    http.add_route("GET", HEALTH_PATH, health.handle)
    await http.start()
    try:
        yield f"http://127.0.0.1:{port}{HEALTH_PATH}", state, slack
    finally:
        await http.stop()


async def get(url: str) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as client, client.get(url) as response:
        return response.status, await response.json()


async def test_healthy_is_200_with_every_check(served: tuple[str, State, Adapter]) -> None:
    url, _, _ = served
    status, body = await get(url)
    assert status == 200
    assert body == {
        "status": "ok",
        "checks": {"scheduler": True, "store": True, "slack": True},
    }


@pytest.mark.parametrize("broken", ["scheduler", "store", "slack"])
async def test_any_failing_check_is_503(served: tuple[str, State, Adapter], broken: str) -> None:
    url, state, slack = served
    if broken == "scheduler":
        state.scheduler = False
    elif broken == "store":
        state.store_up = False
    else:
        slack.connected = False
    status, body = await get(url)
    assert status == 503 and body["status"] == "unavailable"
    checks = body["checks"]
    assert isinstance(checks, dict)
    assert [name for name, ok in checks.items() if not ok] == [broken]


async def test_a_hanging_check_times_out_as_failed() -> None:
    never = asyncio.Event()

    async def hangs() -> bool:
        await never.wait()
        return True

    ok, report = await HealthCheck({"hangs": hangs, "fine": lambda: True}, timeout=0.05).report()
    assert not ok and report == {"hangs": False, "fine": True}


async def test_serve_runs_the_scheduler_and_answers_healthz(tmp_path: Path) -> None:
    """`digestbot serve` wiring: the scheduler is a service, chat commands reach it, and
    /healthz reports it with the store and the platform."""
    from digestbot.chat_wiring import build_runtime
    from digestbot.serve import run_serve
    from handlers.conversation.subscriptions import ChatSubscriptions
    from tests.fakes.chat import build_chat_core, make_widget_repo
    from tests.fakes.platforms import platform_settings, slack_http
    from tests.fakes.slack_api import FakeSlackApi
    from tests.fakes.slack_requests import SIGNING_SECRET

    make_widget_repo(tmp_path / "widget")
    port = _free_port()
    with FakeSlackApi() as fake:
        core = build_chat_core(
            tmp_path,
            tmp_path / "widget",
            # Alerts on the local checkout: its branch is polled (a free `git rev-parse`).
            extra_config=(
                '[[subscriptions]]\nrepo = "widget"\nplatform = "slack"\nchannel = "C1"\n'
                'alerts = "high"\n'
            ),
            http_port=port,
        )
        try:
            platforms = platform_settings(
                slack=slack_http(fake.base_url, SIGNING_SECRET, token="xoxb-health")
            )
            runtime = build_runtime(core, platforms)
            assert "scheduler" in [s.name for s in runtime.services]
            assert isinstance(runtime.scheduling.commands, ChatSubscriptions)
            assert list(runtime.adapters) == ["slack"]
            stop = asyncio.Event()
            server = asyncio.create_task(run_serve(core, platforms, stop=stop))
            url = f"http://127.0.0.1:{port}{HEALTH_PATH}"
            # /healthz answers as soon as serve listens: 503 while the platforms and the
            # scheduler start, 200 once they all run.
            seen: list[int] = []
            for _ in range(500):
                try:
                    status, body = await get(url)
                    seen.append(status)
                    if status == 200 and (body.get("last_poll") or {}).get("acme/widget"):
                        break
                except aiohttp.ClientConnectorError:
                    pass
                await asyncio.sleep(0.02)
            assert seen and seen[-1] == 200 and set(seen) <= {200, 503}, seen
            assert body["checks"] == {
                "scheduler": True,
                "store": True,
                "alert_polls": True,
                "slack": True,
            }
            # The last successful poll of each followed repository (ISO 8601, UTC).
            assert list(body["last_poll"]) == ["acme/widget"]
            assert datetime.fromisoformat(body["last_poll"]["acme/widget"]).tzinfo is not None
            stop.set()
            assert await asyncio.wait_for(server, timeout=30) == 0
        finally:
            await core.aclose()
