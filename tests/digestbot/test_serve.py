"""`digestbot serve`: refuses half-configured platforms, serves Slack over HTTP, stops cleanly."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest

from bot.errors import ConfigError
from digestbot.chat_wiring import build_runtime
from digestbot.cli import main
from digestbot.serve import run_serve
from digestbot.settings_loading import no_platform_message
from tests.fakes.chat import (
    build_chat_core,
    make_widget_repo,
    preserved_logging,
    use_timed_source,
    write_config,
)
from tests.fakes.platforms import platform_settings, slack_http
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.slack_requests import SIGNING_SECRET, sign, slash_command


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_refuses_to_start_without_any_platform(tmp_path: Path) -> None:
    make_widget_repo(tmp_path / "widget")
    core = build_chat_core(tmp_path, tmp_path / "widget")
    try:
        with pytest.raises(ConfigError) as raised:
            build_runtime(core, platform_settings())
        assert raised.value.user_message == no_platform_message()
        assert "SLACK_BOT_TOKEN" in no_platform_message()
    finally:
        await core.aclose()


async def test_webhook_alerts_need_their_secret_and_get_their_route(tmp_path: Path) -> None:
    make_widget_repo(tmp_path / "widget")
    slack = slack_http("http://127.0.0.1:9", SIGNING_SECRET, token="xoxb-hook")
    toml = '[alerts]\nwebhook = true\nwebhook_path = "/hooks/github"\n'
    core = build_chat_core(tmp_path, tmp_path / "widget", extra_config=toml)
    try:
        with pytest.raises(ConfigError) as raised:
            build_runtime(core, platform_settings(slack=slack))
        assert "GITHUB_WEBHOOK_SECRET" in raised.value.user_message
    finally:
        await core.aclose()
    core = build_chat_core(
        tmp_path, tmp_path / "widget", extra_config=toml, github_webhook_secret="s" * 32
    )
    try:
        runtime = build_runtime(core, platform_settings(slack=slack))
        routes = {(r.method, r.resource.canonical) for r in runtime.http.app.router.routes()}
        assert ("POST", "/hooks/github") in routes
        assert "alerts" in [s.name for s in runtime.services]
    finally:
        await core.aclose()


async def test_pages_need_their_secret_and_get_their_routes(tmp_path: Path) -> None:
    make_widget_repo(tmp_path / "widget")
    slack = slack_http("http://127.0.0.1:9", SIGNING_SECRET, token="xoxb-pages")
    url = {"digestbot_public_url": "https://bot.example.com"}
    core = build_chat_core(tmp_path, tmp_path / "widget", **url)
    try:
        with pytest.raises(ConfigError) as raised:
            build_runtime(core, platform_settings(slack=slack))
        assert "DIGESTBOT_PAGES_SECRET" in raised.value.user_message
    finally:
        await core.aclose()
    core = build_chat_core(tmp_path, tmp_path / "widget", digestbot_pages_secret="p" * 32, **url)
    try:
        runtime = build_runtime(core, platform_settings(slack=slack))
        routes = {r.resource.canonical for r in runtime.http.app.router.routes()}
        assert "/reports/{digest_id}" in routes and "/reports/repo/{owner}/{name}" in routes
    finally:
        await core.aclose()


def test_cli_refuses_a_half_configured_slack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make_widget_repo(tmp_path / "widget")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite'}")
    monkeypatch.setenv(
        "DIGESTBOT_CONFIG", str(write_config(tmp_path / "c.toml", tmp_path / "widget"))
    )
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-123")
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    monkeypatch.delenv("SLACK_MODE", raising=False)
    with preserved_logging():
        assert main(["serve"]) == ConfigError.exit_code
    err = capsys.readouterr().err
    assert "SLACK_APP_TOKEN is missing" in err and "xoxb-123" not in err


async def test_http_mode_serves_and_finishes_in_flight_replies_on_stop(tmp_path: Path) -> None:
    make_widget_repo(tmp_path / "widget")
    port = _free_port()
    with FakeSlackApi() as fake:
        core = build_chat_core(
            tmp_path,
            tmp_path / "widget",
            http_port=port,
        )
        gate = asyncio.Event()
        source = use_timed_source(core, gate)
        stop = asyncio.Event()
        slack = slack_http(fake.base_url, SIGNING_SECRET, token="xoxb-serve")
        server = asyncio.create_task(run_serve(core, platform_settings(slack=slack), stop=stop))
        try:
            body = slash_command("widget today", trigger_id="serve-1")
            stamp = int(time.time())
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": str(stamp),
                "X-Slack-Signature": sign(SIGNING_SECRET, stamp, body),
            }
            async with aiohttp.ClientSession() as http:
                for _ in range(200):  # the server binds shortly after the task starts
                    try:
                        async with http.post(
                            f"http://127.0.0.1:{port}/slack/events", data=body, headers=headers
                        ) as response:
                            assert response.status == 200
                            ack = json.loads(await response.text())
                            break
                    except aiohttp.ClientConnectorError:
                        await asyncio.sleep(0.02)
                else:
                    raise AssertionError("serve did not listen")
            assert ack["text"].startswith("Building the digest of acme/widget")
            for _ in range(200):
                if source.started:
                    break
                await asyncio.sleep(0.01)
            stop.set()  # what SIGTERM does
            await asyncio.sleep(0.2)
            assert not server.done()  # waiting for the in-flight digest
            assert not fake.calls_to("chat.postMessage")
            gate.set()
            assert await asyncio.wait_for(server, timeout=30) == 0
            (post,) = fake.calls_to("chat.postMessage")
            assert post.ok and post.args["channel"] == "C0CHAN"
        finally:
            gate.set()
            stop.set()
            await asyncio.wait_for(asyncio.gather(server, return_exceptions=True), timeout=30)
            await core.aclose()


def test_sigterm_stops_the_process_cleanly(tmp_path: Path) -> None:
    make_widget_repo(tmp_path / "widget")
    config = write_config(tmp_path / "c.toml", tmp_path / "widget")
    with FakeSlackApi() as fake:
        proc = _serve(tmp_path, fake, config)
        try:
            lines = _wait_serving(proc)
            proc.send_signal(signal.SIGTERM)
            _, rest = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0
        assert "shutting down" in rest
        assert "xoxb-proc" not in "".join(lines) + rest


def _serve(tmp_path: Path, fake: FakeSlackApi, config: Path) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "DIGESTBOT_CONFIG": str(config),
        "SLACK_BOT_TOKEN": "xoxb-proc",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_MODE": "http",
        "SLACK_API_URL": fake.base_url,
        "HTTP_PORT": str(_free_port()),
        "LOG_LEVEL": "INFO",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    env.pop("OPENAI_API_KEY", None)
    env.pop("SLACK_APP_TOKEN", None)
    return subprocess.Popen(
        [sys.executable, "-m", "digestbot", "serve"],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_serving(proc: subprocess.Popen[str]) -> list[str]:
    """The process's log lines up to "is serving" (asserting it got there)."""
    assert proc.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        lines.append(line)
        if "is serving" in line or not line:
            break
    assert any("is serving" in line for line in lines), "".join(lines)
    return lines


def test_a_second_serve_on_one_sqlite_file_refuses_to_start(tmp_path: Path) -> None:
    """SQLite has one writer: a second `serve` (a rolling restart, a copy-pasted unit) stops
    with a clear message instead of posting every digest twice; a killed first server
    leaves no stale lock behind."""
    make_widget_repo(tmp_path / "widget")
    config = write_config(tmp_path / "c.toml", tmp_path / "widget")
    with FakeSlackApi() as fake:
        first = _serve(tmp_path, fake, config)
        later: list[subprocess.Popen[str]] = []
        try:
            _wait_serving(first)
            second = _serve(tmp_path, fake, config)
            later.append(second)
            _, err = second.communicate(timeout=60)
            assert second.returncode == 78  # EX_CONFIG
            assert "Another `digestbot serve` is already using" in err and "PostgreSQL" in err
            first.kill()  # SIGKILL: no cleanup runs, the kernel drops the lock
            first.wait(30)
            third = _serve(tmp_path, fake, config)
            later.append(third)
            _wait_serving(third)
        finally:
            for proc in [first, *later]:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(30)


class HangingStart:
    """A service whose start never returns (a platform that cannot connect)."""

    name = "hanging"

    def __init__(self) -> None:
        self.stopped = False
        self.cancelled = False

    async def start(self) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise

    async def stop(self, timeout: float) -> None:
        self.stopped = True


async def test_a_stop_request_ends_a_start_that_hangs() -> None:
    from digestbot.serve import _serve
    from handlers.runtime.http import HttpServer

    service = HangingStart()
    runtime: Any = SimpleNamespace(http=HttpServer("127.0.0.1", 0), services=[service])
    stop = asyncio.Event()
    server = asyncio.create_task(_serve(runtime, stop))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    stop.set()
    assert await asyncio.wait_for(server, timeout=10) == 0
    assert time.monotonic() - started < 2
    assert service.cancelled and service.stopped


def test_sigterm_while_slack_is_unreachable_exits_within_10_s(tmp_path: Path) -> None:
    """Socket Mode against a Slack that refuses connections: /healthz says 503 for Slack, and
    SIGTERM ends the process within 10 s without a traceback."""
    make_widget_repo(tmp_path / "widget")
    config = write_config(tmp_path / "c.toml", tmp_path / "widget")
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "DIGESTBOT_CONFIG": str(config),
        "SLACK_BOT_TOKEN": "xoxb-unreachable",
        "SLACK_APP_TOKEN": "xapp-unreachable",
        "SLACK_API_URL": f"http://127.0.0.1:{_free_port()}/api/",  # nobody listens there
        "HTTP_PORT": str(port),
        "LOG_LEVEL": "INFO",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    env.pop("SLACK_MODE", None)
    env.pop("OPENAI_API_KEY", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "digestbot", "serve"],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        status = _health_status(port, proc)
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        _, log = proc.communicate(timeout=10)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
    assert status == 503
    assert proc.returncode == 0 and took < 10
    assert "Traceback" not in log and "xoxb-unreachable" not in log


def _health_status(port: int, proc: subprocess.Popen[str]) -> int:
    """GET /healthz until the server answers (it starts before the platforms connect)."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, "serve exited"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                return int(r.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
        except OSError:
            time.sleep(0.1)
    raise AssertionError("/healthz never answered")
