"""`GET /metrics` on a running `serve`: every family is exported, and a Slack `/digest`
(dispatched over HTTP, answered through the fake Slack API) shows up in the counters."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from digestbot.serve import run_serve
from handlers.runtime.http import METRICS_PATH
from tests.fakes.chat import build_chat_core, make_widget_repo
from tests.fakes.conversations import conversation_of
from tests.fakes.platforms import platform_settings, slack_http
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.slack_requests import SIGNING_SECRET, sign, slash_command

FAMILIES = {
    "digestbot_digests_built",
    "digestbot_digests_posted",
    "digestbot_deliveries_failed",
    "digestbot_llm_analyses",
    "digestbot_llm_tokens",
    "digestbot_github_requests",
    "digestbot_github_rate_limit_remaining",
    "digestbot_github_rate_limit_reset_timestamp_seconds",
    "digestbot_command_duration_seconds",
    "digestbot_cache_lookups",
    "digestbot_cache_hit_ratio",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def _get(http: aiohttp.ClientSession, url: str) -> tuple[int, str, str]:
    async with http.get(url) as response:
        return response.status, response.headers["Content-Type"], await response.text()


async def test_metrics_endpoint_exports_the_families_and_counts_a_slack_digest(
    tmp_path: Path,
) -> None:
    make_widget_repo(tmp_path / "widget")
    port = _free_port()
    with FakeSlackApi() as fake:
        core = build_chat_core(
            tmp_path,
            tmp_path / "widget",
            http_port=port,
        )
        stop = asyncio.Event()
        slack = slack_http(fake.base_url, SIGNING_SECRET, token="xoxb-metrics")
        server = asyncio.create_task(run_serve(core, platform_settings(slack=slack), stop=stop))
        base = f"http://127.0.0.1:{port}"
        try:
            async with aiohttp.ClientSession() as http:
                for _ in range(300):  # serve binds shortly after it starts
                    try:
                        status, content_type, text = await _get(http, base + METRICS_PATH)
                        break
                    except aiohttp.ClientConnectorError:
                        await asyncio.sleep(0.02)
                else:
                    raise AssertionError("serve did not listen")
                assert status == 200 and content_type.startswith("text/plain")
                exported = {f.name for f in text_string_to_metric_families(text)}
                assert exported >= FAMILIES

                body = slash_command("widget 2026-02-08", trigger_id="metrics-1")
                stamp = int(time.time())
                headers = {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Slack-Request-Timestamp": str(stamp),
                    "X-Slack-Signature": sign(SIGNING_SECRET, stamp, body),
                }
                async with http.post(base + "/slack/events", data=body, headers=headers) as ack:
                    assert ack.status == 200
                for _ in range(500):  # the command is observed once its last reply is out
                    _, _, text = await _get(http, base + METRICS_PATH)
                    if "digestbot_command_duration_seconds_count{" in text:
                        break
                    await asyncio.sleep(0.02)
                assert fake.calls_to("chat.postMessage")
        finally:
            stop.set()
            assert await asyncio.wait_for(server, timeout=30) == 0
            await core.aclose()
    found = samples(text)
    assert found[("digestbot_digests_posted_total", (("platform", "slack"),))] == 1
    built = (("analyzer", "heuristic"), ("repo", "acme/widget"))
    assert found[("digestbot_digests_built_total", built)] == 1
    latency = (("command", "digest"), ("platform", "slack"))
    assert found[("digestbot_command_duration_seconds_count", latency)] == 1
    assert found[("digestbot_cache_lookups_total", (("cache", "commit"), ("result", "miss")))] == 3


async def test_conversation_observes_each_answered_command_once(tmp_path: Path) -> None:
    """Latency is observed for commands we answer, with the injected clock; redeliveries and
    chatter outside our threads are not commands."""
    from bot.metrics import Metrics
    from handlers.ports import InboundEvent
    from tests.fakes.chat import RecordingAdapter

    make_widget_repo(tmp_path / "widget")
    core = build_chat_core(tmp_path, tmp_path / "widget")
    ticks = iter(float(n) for n in range(100))
    core.metrics = Metrics(clock=lambda: next(ticks))
    conversation, adapter = conversation_of(core), RecordingAdapter()

    def event(text: str, kind: str, n: int, thread: str | None = None) -> InboundEvent:
        return InboundEvent(
            platform="test",
            event_id=f"ev{n}",
            user_id="U1",
            channel_id="C1",
            kind=kind,
            text=text,
            thread_id=thread,
            message_id=f"m{n}",
        )  # type: ignore[arg-type]

    try:
        digest = event("widget 2026-02-08", "command", 1)
        await conversation.respond(digest, adapter)
        await conversation.respond(digest, adapter)  # the platform redelivers it
        await conversation.respond(event("thanks!", "message", 2, thread="elsewhere"), adapter)
        await conversation.respond(event("help", "mention", 3), adapter)
    finally:
        await core.aclose()
    m = core.metrics
    digest_labels = {"platform": "test", "command": "digest"}
    assert m.value("digestbot_command_duration_seconds_count", digest_labels) == 1
    assert m.value("digestbot_command_duration_seconds_sum", digest_labels) == 1.0  # 0 → 1
    assert (
        m.value("digestbot_command_duration_seconds_count", {"platform": "test", "command": "help"})
        == 1
    )
    assert m.value("digestbot_digests_posted_total", {"platform": "test"}) == 1
