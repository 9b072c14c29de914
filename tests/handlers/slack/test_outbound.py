"""The Slack adapter against the fake Web API: finding a scheduled post's parts again by key."""

from __future__ import annotations

import json
import struct
import time
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import PlatformError
from formatters.slack_alert import render_slack_alert
from handlers.ports import PartKey, ReplyTarget
from handlers.runtime.pacing import ChannelPacer
from handlers.slack.outbound import (
    DELIVERY_EVENT_TYPE,
    RetryAfterHandler,
    SlackAdapter,
    install_retry_handler,
)
from tests.data.reference_day import big_digest, empty_digest, reference_digest
from tests.fakes.slack_api import FakeSlackApi, SlackFailure
from tests.formatters.builders import golden_alerts


@pytest.fixture
async def adapter() -> AsyncIterator[tuple[SlackAdapter, FakeSlackApi]]:
    with FakeSlackApi() as fake:
        client = AsyncWebClient(token="xoxb-test", base_url=fake.base_url)
        pacer = ChannelPacer(0.0)
        yield SlackAdapter(client, pacer=pacer, clock=lambda: datetime.now(UTC)), fake


async def test_every_part_of_a_scheduled_post_is_found_by_its_key(
    adapter: tuple[SlackAdapter, FakeSlackApi],
) -> None:
    slack, fake = adapter
    target = ReplyTarget("slack", "C1")
    await slack.send_text(target, "unrelated chatter")
    posted = await slack.send_digest(target, big_digest(), delivery_key="dg-7-20260208")
    await slack.send_digest(target, reference_digest("en"), delivery_key="dg-8-20260208")
    assert len(posted) >= 2  # the reference day needs a continuation in the thread
    span = (datetime.now(UTC) - timedelta(minutes=1), datetime.now(UTC) + timedelta(minutes=1))

    for index, ref in enumerate(posted):
        root = posted[0] if index else None
        key = PartKey("dg-7-20260208", index)
        assert await slack.find_part(target, key, root=root, between=span, payload="") == [ref]
    assert posted[0].thread_id is None and posted[1].thread_id == posted[0].message_id
    missing = PartKey("dg-9-20260208", 0)
    assert await slack.find_part(target, missing, root=None, between=span, payload="") == []
    other = ReplyTarget("slack", "C2")
    key = PartKey("dg-7-20260208", 0)
    assert await slack.find_part(other, key, root=None, between=span, payload="") == []
    reads = fake.calls_to("conversations.history") + fake.calls_to("conversations.replies")
    assert reads and all(c.args.get("include_all_metadata") in ("1", "true", True) for c in reads)


async def test_a_busy_channel_does_not_hide_the_post_and_the_read_is_bounded_by_time(
    adapter: tuple[SlackAdapter, FakeSlackApi],
) -> None:
    """250 messages after the post (more than any "newest N" page) and 150 before it: the
    lookup reads only the span the post could have been made in."""
    slack, fake = adapter
    target = ReplyTarget("slack", "C1")
    for n in range(150):
        fake.add_user_message("C1", f"earlier {n}")
    time.sleep(0.01)
    began = datetime.now(UTC)
    (root,) = await slack.send_digest(target, empty_digest(), delivery_key="dg-1-20260301")
    ended = datetime.now(UTC)
    time.sleep(0.01)
    for n in range(250):
        fake.add_user_message("C1", f"later {n}")
    fake.reset()

    key = PartKey("dg-1-20260301", 0)
    found = await slack.find_part(target, key, root=None, between=(began, ended), payload="")

    assert found == [root]
    (read,) = fake.calls_to("conversations.history")
    assert len(read.response["messages"]) == 1  # one message read, not the last 200
    assert float(read.args["oldest"]) <= float(root.message_id) <= float(read.args["latest"])


async def test_a_channel_the_bot_cannot_read_makes_the_lookup_fail_loudly(
    adapter: tuple[SlackAdapter, FakeSlackApi],
) -> None:
    """A bot posting with chat:write.public is not a member: history answers not_in_channel.
    The lookup raises (the scheduler's policy decides), posting itself still works."""
    slack, fake = adapter
    fake.unreadable.add("C1")
    target = ReplyTarget("slack", "C1")
    posted = await slack.send_digest(target, empty_digest(), delivery_key="dg-1-20260301")
    assert len(posted) == 1
    span = (datetime.now(UTC) - timedelta(minutes=1), datetime.now(UTC))
    with pytest.raises(PlatformError) as raised:
        await slack.find_part(
            target, PartKey("dg-1-20260301", 0), root=None, between=span, payload=""
        )
    assert "not_in_channel" in (str(raised.value))


async def test_an_alert_is_one_message_keyed_like_a_digest_root_and_found_again(
    adapter: tuple[SlackAdapter, FakeSlackApi],
) -> None:
    slack, _ = adapter
    target = ReplyTarget("slack", "C1")
    alert = golden_alerts("en")["folded"]
    key = "alert:7:00248d85c798"
    [payload] = slack.render_alert(alert, delivery_key=key)
    message = json.loads(payload)
    assert message.pop("metadata") == {
        "event_type": DELIVERY_EVENT_TYPE,
        "event_payload": {"delivery_key": key, "part": 0},
    }
    assert message == render_slack_alert(alert)
    await slack.send_text(target, "unrelated chatter")
    posted = await slack.post_part(target, payload, key=PartKey(key, 0))
    span = (datetime.now(UTC) - timedelta(minutes=1), datetime.now(UTC) + timedelta(minutes=1))
    found = await slack.find_part(target, PartKey(key, 0), root=None, between=span, payload=payload)
    assert found == posted and len(posted) == 1


# -- images: the external upload flow ------------------------------------------------------------


def tiny_png(width: int = 3, height: int = 2) -> bytes:
    """A real PNG (8-bit greyscale), built by hand."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" + bytes(range(i, i + width)) for i in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def test_an_image_is_uploaded_and_shared_with_its_title_alt_text_and_caption(
    adapter: tuple[SlackAdapter, FakeSlackApi],
) -> None:
    slack, fake = adapter
    png = tiny_png()
    [ref] = await slack.send_image(
        ReplyTarget("slack", "C1"),
        png,
        filename="commits.png",
        title="Commits per day",
        alt_text="Bar chart: 3 commits on Monday",
        text="Commits this week",
    )

    [upload] = fake.shared_files()
    assert upload.data == png and upload.length == len(png)
    assert (upload.filename, upload.title) == ("commits.png", "Commits per day")
    assert upload.alt_txt == "Bar chart: 3 commits on Monday"
    assert (upload.channel_id, upload.thread_ts) == ("C1", None)
    assert upload.initial_comment == "Commits this week"
    assert ref.message_id == upload.ts and ref.thread_id is None and ref.channel_id == "C1"
    order = [c.method for c in fake.calls]
    assert order[:3] == ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"]
    assert "files.upload" not in order  # retired
    [shared] = fake.messages("C1")
    assert shared["files"][0]["id"] == upload.file_id and shared["text"] == "Commits this week"


async def test_an_image_for_a_thread_is_shared_in_the_thread(
    adapter: tuple[SlackAdapter, FakeSlackApi],
) -> None:
    slack, fake = adapter
    [root] = await slack.send_text(ReplyTarget("slack", "C1"), "the digest")
    target = ReplyTarget("slack", "C1", thread_id=root.message_id)
    png = tiny_png(5, 5)
    [ref] = await slack.send_image(target, png, filename="c.png", title="t", alt_text="a")

    [upload] = fake.shared_files()
    assert upload.thread_ts == root.message_id and upload.data == png
    assert upload.initial_comment is None  # no caption, no comment
    assert ref.thread_id == root.message_id and ref.message_id == upload.ts
    assert fake.calls_to("conversations.replies")[0].args["ts"] == root.message_id


async def test_a_hostile_caption_is_escaped_like_any_text(
    adapter: tuple[SlackAdapter, FakeSlackApi],
) -> None:
    slack, fake = adapter
    hostile = "look @everyone <!channel> [x](http://evil) <@U123>"
    await slack.send_image(
        ReplyTarget("slack", "C1"),
        tiny_png(),
        filename="c.png",
        title="t",
        alt_text="a",
        text=hostile,
    )
    [upload] = fake.shared_files()
    comment = upload.initial_comment or ""
    assert "<!channel>" not in comment and "&lt;!channel&gt;" in comment
    assert "<@U123>" not in comment and "@everyone" not in comment
    assert "http://evil" not in comment


async def test_a_refused_share_is_a_platform_error(
    adapter: tuple[SlackAdapter, FakeSlackApi],
) -> None:
    slack, fake = adapter
    fake.fail_next("files.completeUploadExternal", SlackFailure(error="not_in_channel"))
    with pytest.raises(PlatformError) as raised:
        await slack.send_image(
            ReplyTarget("slack", "C1"), tiny_png(), filename="c.png", title="t", alt_text="a"
        )
    assert "invite me" in raised.value.user_message
    assert "not_in_channel" in str(raised.value)
    assert fake.shared_files() == [] and fake.messages("C1") == []


async def test_a_refused_upload_url_is_a_platform_error(
    adapter: tuple[SlackAdapter, FakeSlackApi],
) -> None:
    slack, fake = adapter
    fake.fail_next("upload", SlackFailure(status=403))
    with pytest.raises(PlatformError):
        await slack.send_image(
            ReplyTarget("slack", "C1"), tiny_png(), filename="c.png", title="t", alt_text="a"
        )
    assert fake.calls_to("files.completeUploadExternal") == []


async def test_rate_limits_on_the_upload_steps_wait_retry_after(
    adapter: tuple[SlackAdapter, FakeSlackApi],
) -> None:
    slack, fake = adapter
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    install_retry_handler(slack.client, RetryAfterHandler(sleep=sleep))
    fake.rate_limit_next("files.getUploadURLExternal", retry_after=2)
    fake.fail_next("upload", SlackFailure(status=429, retry_after=1))
    fake.rate_limit_next("files.completeUploadExternal", retry_after=3)
    png = tiny_png()
    [ref] = await slack.send_image(
        ReplyTarget("slack", "C1"), png, filename="c.png", title="t", alt_text="a"
    )
    assert waits == [2.0, 1.0, 3.0]
    [upload] = fake.shared_files()
    assert upload.data == png and ref.message_id == upload.ts
    assert len(fake.calls_to("files.completeUploadExternal")) == 2


async def test_an_image_whose_message_cannot_be_read_back_is_still_up(
    adapter: tuple[SlackAdapter, FakeSlackApi],
) -> None:
    """The share is done when the history read fails: no error (a retry would post it twice)."""
    slack, fake = adapter
    fake.unreadable.add("C1")
    refs = await slack.send_image(
        ReplyTarget("slack", "C1"), tiny_png(), filename="c.png", title="t", alt_text="a"
    )
    assert refs == [] and len(fake.shared_files()) == 1
