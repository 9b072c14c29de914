"""The Discord ChatAdapter against the fake API: scheduled posts (nonces, threads, pacing,
reconciliation), 429s, repeated Missing Access, and inert text within Discord's limits."""

from __future__ import annotations

import json
import re
import struct
import threading
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import MissingAccessError, PlatformError
from bot.models import Digest
from formatters.discord_alert import render_discord_alert
from formatters.discord_details import render_discord_details
from formatters.discord_embeds import render_discord
from handlers.discord import outbound
from handlers.discord.messages import delivery_nonce, delivery_tag, text_payload
from handlers.ports import PartKey, ReplyTarget
from tests.data.reference_day import big_digest
from tests.fakes.discord_api import DiscordCall, DiscordFailure, rate_limited
from tests.fakes.discord_harness import (
    CHANNEL,
    NO_MENTIONS,
    Env,
    assert_inert,
    channel_posts,
    discord_env,
    visible_texts,
)
from tests.formatters.builders import golden_alerts
from tests.formatters.digest_strategies import digests
from tests.formatters.payload_checks import allowed_urls, check_discord_message


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    async with discord_env(tmp_path) as environment:
        yield environment


# -- scheduled posts, limits, rate limits and access -----------------------------------------


async def test_scheduled_post_uses_nonces_threads_and_can_be_found_again(env: Env) -> None:
    bot = await env.bot()
    adapter = bot.adapter
    target = ReplyTarget("discord", CHANNEL)
    key = "subscription:7:2026-02-08"
    refs = await adapter.send_digest(target, big_digest(), delivery_key=key)

    posts = channel_posts(env.fake, CHANNEL) + channel_posts(env.fake, refs[0].message_id)
    assert len(refs) == len(posts) > 2
    assert [p["nonce"] for p in posts] == [delivery_nonce(key, i) for i in range(len(posts))]
    assert all(p["enforce_nonce"] is True and len(p["nonce"]) <= 25 for p in posts)
    assert delivery_tag(key) in posts[0]["embeds"][0]["footer"]["text"]
    assert refs[0].thread_id is None and {r.thread_id for r in refs[1:]} == {refs[0].message_id}
    # Continuations are paced one per second in their thread (the root went elsewhere).
    assert bot is env.bots[0] and env.sleeps == [1.0] * (len(posts) - 2)

    before = len(env.fake.messages(CHANNEL)) + len(env.fake.messages(refs[0].message_id))
    again = await adapter.send_digest(target, big_digest(), delivery_key=key)
    after = len(env.fake.messages(CHANNEL)) + len(env.fake.messages(refs[0].message_id))
    assert [r.message_id for r in again] == [r.message_id for r in refs] and after == before

    # Each part is found again within the span it was posted in — reading by time (`after`),
    # not the channel's newest messages.
    payloads = adapter.render_digest(big_digest(), delivery_key=key)
    span = (datetime.now(UTC) - timedelta(minutes=1), datetime.now(UTC) + timedelta(minutes=1))
    for index, ref in enumerate(refs):
        root = refs[0] if index else None
        found = await adapter.find_part(
            target, PartKey(key, index), root=root, between=span, payload=payloads[index]
        )
        assert found == [ref]
    other = PartKey("subscription:7:2026-02-09", 0)
    assert await adapter.find_part(target, other, root=None, between=span, payload="{}") == []
    earlier = (span[0] - timedelta(hours=3), span[0] - timedelta(hours=2))
    first = PartKey(key, 0)
    assert await adapter.find_part(target, first, root=None, between=earlier, payload="{}") == []
    reads = env.fake.calls_to("GET", rf"/channels/{CHANNEL}/messages")
    assert reads and all("after" in c.query for c in reads)
    assert_inert(env.fake)


async def test_an_alert_is_one_message_keyed_like_a_digest_root_and_found_again(
    env: Env,
) -> None:
    adapter = (await env.bot()).adapter
    target = ReplyTarget("discord", CHANNEL)
    alert = golden_alerts("en")["folded"]
    key = "alert:7:00248d85c798"
    [payload] = adapter.render_alert(alert, delivery_key=key)
    data = json.loads(payload)
    assert data == {
        "message": render_discord_alert(alert, footer_tag=delivery_tag(key)),
        "thread": "sgl-project/sglang · 00248d8",
    }
    [ref] = await adapter.post_part(target, payload, key=PartKey(key, 0))
    [post] = channel_posts(env.fake, CHANNEL)
    assert post["nonce"] == delivery_nonce(key, 0) and post["enforce_nonce"] is True
    assert post["embeds"][0]["footer"]["text"].endswith(delivery_tag(key))
    span = (datetime.now(UTC) - timedelta(minutes=1), datetime.now(UTC) + timedelta(minutes=1))
    found = await adapter.find_part(
        target, PartKey(key, 0), root=None, between=span, payload=payload
    )
    assert found == [ref]


async def test_digests_and_details_are_rendered_off_the_event_loop(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = await env.bot()
    loop_thread = threading.get_ident()
    rendered_in: list[tuple[str, int]] = []

    def digest_renderer(digest: Digest, **options: object) -> object:
        rendered_in.append(("digest", threading.get_ident()))
        return render_discord(digest, **options)  # type: ignore[arg-type]

    def details_renderer(*args: object) -> object:
        rendered_in.append(("details", threading.get_ident()))
        return render_discord_details(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(outbound, "render_discord", digest_renderer)
    monkeypatch.setattr(outbound, "render_discord_details", details_renderer)
    digest = big_digest(229)
    refs = await bot.adapter.send_digest(ReplyTarget("discord", CHANNEL), digest)
    in_thread = ReplyTarget("discord", CHANNEL, thread_id=refs[0].message_id)
    await bot.adapter.send_details(in_thread, digest.items[0], digest.repo_url, "en")

    assert [what for what, _ in rendered_in] == ["digest", "details"]
    assert all(thread != loop_thread for _, thread in rendered_in)
    # The continuations and the details went to the digest's thread.
    assert len(channel_posts(env.fake, refs[0].message_id)) == len(refs) - 1 + 1


async def test_rate_limit_is_waited_out(env: Env) -> None:
    bot = await env.bot()
    env.fake.fail_next("POST", f"/channels/{CHANNEL}/messages", rate_limited(0.01))
    (ref,) = await bot.adapter.send_text(ReplyTarget("discord", CHANNEL), "hello")
    assert len(channel_posts(env.fake, CHANNEL)) == 2
    assert [m["id"] for m in env.fake.messages(CHANNEL)] == [ref.message_id]


async def test_repeated_missing_access_pauses_the_channel(env: Env) -> None:
    bot = await env.bot()
    denied = "1100000000000000201"
    env.fake.add_channel(denied)
    env.fake.deny_channel(denied)
    target = ReplyTarget("discord", denied)
    failures = []
    for _ in range(4):
        with pytest.raises(MissingAccessError) as caught:
            await bot.adapter.send_text(target, "hello")
        failures.append((caught.value.failures, caught.value.pause))
    assert failures == [(1, False), (2, False), (3, True), (3, True)]
    assert len(channel_posts(env.fake, denied)) == 3  # the fourth never reached Discord
    assert isinstance(caught.value, PlatformError) and "View Channel" in caught.value.user_message

    env.clock.now += timedelta(hours=2)
    env.fake.allow_channel(denied)
    (ref,) = await bot.adapter.send_text(target, "back")
    assert ref.message_id and len(channel_posts(env.fake, denied)) == 4


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=5000))
def test_text_payload_is_inert_and_within_limits(text: str) -> None:
    payload = text_payload(text)
    assert payload["allowed_mentions"] == NO_MENTIONS
    if "content" in payload:
        assert 0 < len(payload["content"]) <= 2000
    else:
        assert len(payload["embeds"][0]["description"]) <= 4096
    for value in visible_texts(payload):
        assert not re.search(r"@(everyone|here)\b", value)
        assert not re.search(r"(?<!\\)<[@#]", value)


@given(st.text(max_size=300), st.integers(min_value=0, max_value=100))
def test_nonces_fit_discord(key: str, index: int) -> None:
    nonce = delivery_nonce(key, index)
    assert len(nonce) <= 25 and nonce == delivery_nonce(key, index)
    assert nonce != delivery_nonce(key, index + 1)


@settings(max_examples=40, deadline=None)
@given(digests(max_commits=400), st.text(max_size=200))
def test_the_delivery_tag_survives_any_digest_within_limits(digest: Digest, key: str) -> None:
    tag = delivery_tag(key)
    messages = render_discord(digest, footer_tag=tag)
    assert messages[0]["embeds"][0]["footer"]["text"].endswith(tag)
    for message in messages:
        check_discord_message(message, allowed_urls(digest))


# -- images ---------------------------------------------------------------------------------------


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


def image_posts(env: Env, channel: str) -> list[DiscordCall]:
    return [c for c in env.fake.calls_to("POST", rf"/channels/{channel}/messages") if c.files]


async def test_an_image_is_an_attachment_shown_by_an_embed(env: Env) -> None:
    bot = await env.bot()
    png = tiny_png() + bytes(range(256))  # every byte value survives the multipart body
    [ref] = await bot.adapter.send_image(
        ReplyTarget("discord", CHANNEL),
        png,
        filename="commits.png",
        title="Commits per day",
        alt_text="Bar chart: 3 commits on Monday",
        text="Commits this week",
    )

    [call] = image_posts(env, CHANNEL)
    assert call.files["files[0]"].data == png and call.files["files[0]"].filename == "commits.png"
    body = call.body
    assert body["content"] == "Commits this week"
    assert body["embeds"] == [
        {"title": "Commits per day", "image": {"url": "attachment://commits.png"}}
    ]
    assert body["attachments"] == [
        {"id": 0, "filename": "commits.png", "description": "Bar chart: 3 commits on Monday"}
    ]
    assert body["allowed_mentions"] == NO_MENTIONS
    [message] = env.fake.messages(CHANNEL)
    assert message["id"] == ref.message_id and ref.thread_id is None
    [attachment] = message["attachments"]
    assert env.fake.attachment(attachment["id"]) == png
    assert attachment["description"] == "Bar chart: 3 commits on Monday"
    assert message["embeds"][0]["image"]["url"] == attachment["url"]  # the embed shows it


async def test_an_image_for_a_thread_is_posted_in_the_thread(env: Env) -> None:
    bot = await env.bot()
    [root] = await bot.adapter.send_text(ReplyTarget("discord", CHANNEL), "the digest")
    target = ReplyTarget("discord", CHANNEL, thread_id=root.message_id)
    png = tiny_png(5, 5)
    [ref] = await bot.adapter.send_image(
        target, png, filename="weekly chart.png", title="", alt_text=""
    )
    assert env.fake.thread(root.message_id) is not None
    [call] = image_posts(env, root.message_id)
    assert call.files["files[0]"].data == png
    assert call.body["embeds"] == [{"image": {"url": "attachment://weekly_chart.png"}}]
    assert "content" not in call.body and call.body["attachments"][0]["filename"] == (
        "weekly_chart.png"
    )
    [message] = env.fake.messages(root.message_id)
    assert message["id"] == ref.message_id and ref.thread_id == root.message_id


async def test_a_hostile_caption_and_title_are_inert(env: Env) -> None:
    bot = await env.bot()
    await bot.adapter.send_image(
        ReplyTarget("discord", CHANNEL),
        tiny_png(),
        filename="c.png",
        title="<@&111> @here",
        alt_text="a",
        text="look @everyone <!channel> <@222> [x](http://evil)",
    )
    [call] = image_posts(env, CHANNEL)
    assert call.body["allowed_mentions"] == NO_MENTIONS
    for value in visible_texts(call.body):
        assert not re.search(r"@(everyone|here)\b", value)
        assert not re.search(r"(?<!\\)<[@#!]", value)
        assert "](http" not in value and "http://evil" not in value


async def test_a_refused_image_is_a_platform_error(env: Env) -> None:
    bot = await env.bot()
    path = f"/channels/{CHANNEL}/messages"
    env.fake.fail_next("POST", path, DiscordFailure(403, 50013, "Missing Permissions"))
    with pytest.raises(PlatformError) as caught:
        await bot.adapter.send_image(
            ReplyTarget("discord", CHANNEL), tiny_png(), filename="c.png", title="t", alt_text="a"
        )
    assert "Attach Files" in caught.value.user_message
    assert env.fake.messages(CHANNEL) == []


async def test_a_rate_limited_image_is_sent_again_whole(env: Env) -> None:
    bot = await env.bot()
    env.fake.fail_next("POST", f"/channels/{CHANNEL}/messages", rate_limited(0.01))
    png = tiny_png(4, 4)
    [ref] = await bot.adapter.send_image(
        ReplyTarget("discord", CHANNEL), png, filename="c.png", title="t", alt_text="a"
    )
    first, second = image_posts(env, CHANNEL)
    assert first.files["files[0]"].data == second.files["files[0]"].data == png
    [message] = env.fake.messages(CHANNEL)
    assert message["id"] == ref.message_id
    assert env.fake.attachment(message["attachments"][0]["id"]) == png
