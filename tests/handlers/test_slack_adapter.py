"""The Slack adapter against the fake Web API: finding a scheduled post again by its key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from handlers.pacing import ChannelPacer
from handlers.ports import ReplyTarget
from handlers.slack_adapter import SlackAdapter
from tests.data.reference_day import reference_digest
from tests.fakes.slack_api import FakeSlackApi


@pytest.fixture
async def adapter() -> AsyncIterator[tuple[SlackAdapter, FakeSlackApi]]:
    with FakeSlackApi() as fake:
        client = AsyncWebClient(token="xoxb-test", base_url=fake.base_url)
        pacer = ChannelPacer(0.0)
        yield SlackAdapter(client, pacer=pacer, clock=lambda: datetime.now(UTC)), fake


async def test_scheduled_post_is_found_by_its_delivery_key(
    adapter: tuple[SlackAdapter, FakeSlackApi],
) -> None:
    slack, fake = adapter
    target = ReplyTarget("slack", "C1")
    await slack.send_text(target, "unrelated chatter")
    posted = await slack.send_digest(target, reference_digest("zh"), delivery_key="dg-7-20260208")
    await slack.send_digest(target, reference_digest("en"), delivery_key="dg-8-20260208")

    found = await slack.find_delivery(target, "dg-7-20260208")

    assert found == posted
    assert found[0].thread_id is None
    assert await slack.find_delivery(target, "dg-9-20260208") == []
    assert await slack.find_delivery(ReplyTarget("slack", "C2"), "dg-7-20260208") == []
    history = fake.calls_to("conversations.history")
    assert history and all(
        c.args.get("include_all_metadata") in ("1", "true", True) for c in history
    )
