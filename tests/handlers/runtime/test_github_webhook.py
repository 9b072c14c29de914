"""`POST /github/webhook` over real HTTP: signatures (good, bad, missing), replays, sizes,
malformed bodies, unfollowed repositories, and a push that becomes one alert."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.alerts.service import AlertService
from bot.alerts.webhook import MAX_BODY
from handlers.runtime.github_webhook import webhook_endpoint
from handlers.runtime.http import HttpServer
from tests.bot.alerts.alert_world import (
    HIGH,
    REPO,
    AlertWorld,
    alerts_toml,
    followed_github,
    make_world,
)
from tests.fakes.github_server import FakeGitHub

SECRET = b"a-long-random-webhook-secret-for-tests"
PATH = "/github/webhook"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sign(body: bytes, secret: bytes = SECRET) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def push_body(before: str, after: str, *, repo: str = REPO, ref: str = "refs/heads/main") -> bytes:
    return json.dumps(
        {
            "ref": ref,
            "before": before,
            "after": after,
            "forced": False,
            "repository": {"full_name": repo, "default_branch": "main"},
            "head_commit": {"id": after, "timestamp": "2026-06-01T08:05:00Z"},
            "commits": [{"id": after, "distinct": True}],
        }
    ).encode()


@dataclass
class Served:
    url: str
    world: AlertWorld
    alerts: AlertService

    async def post(
        self,
        body: bytes,
        *,
        event: str = "push",
        signature: str | None = "sign",
        guid: str | None = None,
    ) -> tuple[int, dict[str, Any]]:
        headers = {"X-GitHub-Event": event, "Content-Type": "application/json"}
        headers["X-GitHub-Delivery"] = guid or str(uuid.uuid4())
        if signature == "sign":
            headers["X-Hub-Signature-256"] = sign(body)
        elif signature is not None:
            headers["X-Hub-Signature-256"] = signature
        async with (
            aiohttp.ClientSession() as client,
            client.post(self.url, data=body, headers=headers) as response,
        ):
            return response.status, await response.json()


github = pytest.fixture(followed_github)


@pytest.fixture
async def served(tmp_path: Path, github: FakeGitHub) -> AsyncIterator[Served]:
    world = make_world(tmp_path, github, alerts_toml(webhook=True))
    alerts = await world.sync(world.start())
    await alerts.poll_once()  # what serve does at start: the branch's baseline
    port = _free_port()
    http = HttpServer("127.0.0.1", port)
    http.add_route("POST", PATH, webhook_endpoint(alerts, SECRET))
    await http.start()
    try:
        yield Served(f"http://127.0.0.1:{port}{PATH}", world, alerts)
    finally:
        await alerts.stop(5)
        await http.stop()
        await world.close()


async def settle(alerts: AlertService) -> None:
    """Wait for the pushes being handled in the background."""
    for _ in range(200):
        if alerts.jobs.idle:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("background pushes did not finish")


async def test_a_signed_push_becomes_one_alert(served: Served) -> None:
    world = served.world
    world.clock.advance(timedelta(minutes=5))
    (sha,) = world.push(HIGH)
    status, answer = await served.post(push_body(world.first, sha))
    assert (status, answer["status"]) == (202, "accepted")
    await settle(served.alerts)
    (card,) = world.platform.alerts()
    assert card.alert is not None and card.alert.digest.items[0].commit.sha == sha


async def test_unsigned_forged_and_wrong_secret_deliveries_are_refused(served: Served) -> None:
    world = served.world
    (sha,) = world.push(HIGH)
    body = push_body(world.first, sha)
    assert (await served.post(body, signature=None))[0] == 401
    assert (await served.post(body, signature="sha256=" + "0" * 64))[0] == 401
    assert (await served.post(body, signature=sign(body, b"another secret")))[0] == 401
    assert (await served.post(body, signature="sha1=" + "0" * 40))[0] == 401
    tampered = body.replace(b"main", b"mainx")
    assert (await served.post(tampered, signature=sign(body)))[0] == 401
    await settle(served.alerts)
    assert world.platform.alerts() == []


async def test_a_replayed_delivery_is_refused_and_alerts_once(served: Served) -> None:
    world = served.world
    world.clock.advance(timedelta(minutes=5))
    (sha,) = world.push(HIGH)
    body, guid = push_body(world.first, sha), str(uuid.uuid4())
    assert (await served.post(body, guid=guid))[0] == 202
    status, answer = await served.post(body, guid=guid)
    assert status == 409 and "already" in answer["status"]
    await settle(served.alerts)
    # The same push under a new id (a redelivery) changes nothing either: the head is seen.
    assert (await served.post(body))[0] == 202
    await settle(served.alerts)
    assert len(world.platform.alerts()) == 1


async def test_an_oversized_body_gets_413_without_being_read_whole(served: Served) -> None:
    big = b"{" + b" " * (MAX_BODY + 10) + b"}"
    status, _ = await served.post(big)
    assert status == 413


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"{}",
        b'{"ref": "refs/heads/main", "before": "x", "after": "y", "repository": {}}',
        json.dumps({"ref": "refs/heads/main", "repository": {"full_name": REPO}}).encode(),
        json.dumps(
            {"ref": 5, "before": "0" * 40, "after": "g" * 40, "repository": {"full_name": REPO}}
        ).encode(),
    ],
)
async def test_a_malformed_push_gets_400(served: Served, body: bytes) -> None:
    status, _ = await served.post(body)
    assert status == 400


async def test_a_missing_delivery_id_gets_400(served: Served) -> None:
    body = push_body("0" * 40, "1" * 40)
    async with (
        aiohttp.ClientSession() as client,
        client.post(
            served.url,
            data=body,
            headers={"X-GitHub-Event": "push", "X-Hub-Signature-256": sign(body)},
        ) as response,
    ):
        assert response.status == 400


async def test_unfollowed_repositories_other_branches_and_other_events(served: Served) -> None:
    world = served.world
    (sha,) = world.push(HIGH)
    assert (await served.post(push_body(world.first, sha, repo="evil/other")))[0] == 404
    status, answer = await served.post(push_body(world.first, sha, ref="refs/heads/dev"))
    assert status == 202 and "not a followed branch" in answer["status"]
    status, answer = await served.post(push_body(world.first, sha, ref="refs/tags/v1"))
    assert status == 202
    assert (await served.post(b'{"zen": "hi"}', event="ping"))[0] == 200
    status, answer = await served.post(b"{}", event="issues")
    assert status == 202 and "ignored" in answer["status"]
    await settle(served.alerts)
    assert world.platform.alerts() == []
