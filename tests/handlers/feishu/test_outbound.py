"""The Feishu adapter's sending path against the fake OpenAPI: rate limits and retries, cards
too large for the platform, idempotent scheduled posts and finding them again, escaping."""

from __future__ import annotations

import json
import struct
import threading
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.errors import PlatformError
from bot.models import Importance
from bot.service import DigestRequest
from bot.windows import parse_window
from digestbot.wiring import Core
from formatters.feishu_alert import render_feishu_alert
from formatters.feishu_card import render_feishu
from formatters.feishu_details import render_feishu_details
from handlers.feishu.outbound import delivery_marker
from handlers.feishu.service import POST_INTERVAL_SECONDS, FeishuBot
from handlers.ports import PartKey, ReplyTarget
from handlers.runtime.pacing import ChannelPacer
from tests.fakes.chat import NOW
from tests.fakes.feishu_api import FakeFeishuApi, FeishuFailure
from tests.fakes.feishu_bot import (
    CHAT,
    Sleeps,
    cards,
    deliver,
    mention,
    post_digest,
    settle,
    started_bot,
)
from tests.fakes.feishu_fixtures import core, fake, widget  # noqa: F401 - fixtures
from tests.formatters.builders import golden_alerts


@pytest.mark.parametrize("status", [400, 429])
async def test_rate_limit_waits_the_reset_and_retries(
    core: Core, fake: FakeFeishuApi, status: int
) -> None:
    sleeps = Sleeps()
    bot = await started_bot(core, fake, sleeps=sleeps)
    fake.rate_limit_next("create", reset=3, status=status, code=99991400)
    await post_digest(bot, fake)
    assert sleeps.waits == [3.0]
    creates = fake.calls_to("create")
    assert len(creates) == 2 and creates[0].body == creates[1].body  # same uuid on the retry


async def test_rate_limit_beyond_the_bound_fails_with_a_short_message(
    core: Core, fake: FakeFeishuApi
) -> None:
    bot = await started_bot(core, fake)
    target = ReplyTarget("feishu", CHAT)
    fake.rate_limit_next("create", reset=3600)
    with pytest.raises(Exception, match="rate limit") as caught:
        await bot.adapter.send_text(target, "hello")
    assert "try again" in getattr(caught.value, "user_message", "")
    assert fake.posted() == []


async def test_server_errors_and_a_stale_token_are_retried(core: Core, fake: FakeFeishuApi) -> None:
    sleeps = Sleeps()
    bot = await started_bot(core, fake, sleeps=sleeps)
    tokens = len(fake.calls_to("token"))
    fake.fail_next(
        "create",
        FeishuFailure(status=503, code=1, msg="service unavailable"),
        FeishuFailure(status=400, code=99991663, msg="invalid token"),
    )
    [ref] = await bot.adapter.send_text(ReplyTarget("feishu", CHAT), "hello")
    creates = fake.calls_to("create")
    assert len(creates) == 3 and len({c.body and c.body["uuid"] for c in creates}) == 1
    assert len(fake.calls_to("token")) == tokens + 1  # the stale token was fetched anew
    assert sleeps.waits == [1.0]
    assert [m.message_id for m in fake.posted()] == [ref.message_id]


async def test_oversize_cards_are_split_and_nothing_is_dropped(
    tmp_path: Path, core: Core, widget: tuple[Path, dict[str, str]]
) -> None:
    with FakeFeishuApi(max_body_bytes=1400) as small:
        bot = await started_bot(core, small)
        await post_digest_allowing_parts(bot)
        refused = small.calls_to("create") + small.calls_to("reply")
        posted = cards(small)
        assert len(refused) > len(small.posted())  # some were refused as too large
        assert len(posted) > 1
        root = posted[0]
        assert root.parent_id is None
        assert all(m.root_id == root.message_id and m.reply_in_thread for m in posted[1:])
        everything = "".join(m.content for m in posted)
        for name in ("feature", "injection", "docs"):
            assert widget[1][name][:7] in everything


async def post_digest_allowing_parts(bot: FeishuBot) -> None:
    assert deliver(bot, mention("digest widget today")).status_code == 200
    await settle(bot)


async def test_a_card_over_the_element_limit_is_split(core: Core, fake: FakeFeishuApi) -> None:
    bot = await started_bot(core, fake)
    card = {
        "schema": "2.0",
        "header": {"title": {"tag": "plain_text", "content": "many"}},
        "body": {"elements": [{"tag": "markdown", "content": f"line {i}"} for i in range(250)]},
    }
    refs = await bot.adapter.post_part(ReplyTarget("feishu", CHAT), json.dumps(card))
    # Refused once (code 230099), then posted as two cards: the second in the first's thread.
    assert (len(fake.calls_to("create")), len(fake.calls_to("reply"))) == (2, 1)
    assert len(refs) == 2 and refs[1].thread_id == refs[0].message_id
    shown = [e["content"] for m in fake.posted() for e in m.card["body"]["elements"]]
    assert shown == [f"line {i}" for i in range(250)]


async def test_scheduled_post_is_idempotent_and_found_again(
    core: Core, fake: FakeFeishuApi
) -> None:
    bot = await started_bot(core, fake)
    conversation = bot.conversation
    repo = core.resolver.resolve("widget")
    window = parse_window("today", "UTC", NOW)
    request = DigestRequest(
        language="zh", min_importance=Importance.LOW, commit_filter=core.commit_filter(repo)
    )
    digest = await core.service.build_digest(repo, window, request)
    target = ReplyTarget("feishu", CHAT)
    key = "subscription:7:2026-02-08T09:00+08:00"
    refs = await conversation.publish_digest(bot.adapter, target, repo, digest, delivery_key=key)
    posted = len(fake.posted())
    again = await bot.adapter.send_digest(target, digest, delivery_key=key)
    assert [r.message_id for r in again] == [r.message_id for r in refs]
    assert len(fake.posted()) == posted  # the same uuid posted nothing new
    uuids = [c.body["uuid"] for c in fake.calls_to("create") if c.body]
    assert len(set(uuids)) == 1 and len(uuids[0]) <= 50
    now = datetime.now(UTC)
    # Within the hour a re-post with the part's uuid is the lookup: nothing is read.
    recent = (now - timedelta(minutes=5), now + timedelta(minutes=1))
    first = PartKey(key, 0)
    assert await bot.adapter.find_part(target, first, root=None, between=recent, payload="") == []
    assert fake.calls_to("list") == []
    # Later, the chat's messages of that span are read (by time) for the part's marker.
    span = (now - timedelta(hours=2), now + timedelta(minutes=1))
    found = await bot.adapter.find_part(target, first, root=None, between=span, payload="")
    assert found is not None and [r.message_id for r in found] == [refs[0].message_id]
    other = PartKey("another-key", 0)
    assert await bot.adapter.find_part(target, other, root=None, between=span, payload="") == []
    before = (now - timedelta(hours=3), now - timedelta(hours=2))
    assert await bot.adapter.find_part(target, first, root=None, between=before, payload="") == []
    listing = fake.calls_to("list")[0]
    assert listing.query["card_msg_content_type"] == "raw_card_content"
    assert int(listing.query["start_time"]) == int(span[0].timestamp())


async def test_an_alert_is_one_card_keyed_like_a_digest_root_and_found_again(
    core: Core, fake: FakeFeishuApi
) -> None:
    bot = await started_bot(core, fake)
    alert = golden_alerts("zh")["folded"]
    key = "alert:7:00248d85c798"
    [payload] = bot.adapter.render_alert(alert, delivery_key=key)
    card = json.loads(payload)
    assert card["body"]["elements"][0].pop("element_id") == delivery_marker(f"{key}/0")
    assert card == render_feishu_alert(alert)
    target = ReplyTarget("feishu", CHAT)
    [ref] = await bot.adapter.post_part(target, payload, key=PartKey(key, 0))
    # A retry carries the same uuid: Feishu answers with the first message, posts nothing.
    [again] = await bot.adapter.post_part(target, payload, key=PartKey(key, 0))
    assert again.message_id == ref.message_id and len(fake.posted()) == 1
    now = datetime.now(UTC)
    span = (now - timedelta(hours=2), now + timedelta(minutes=1))
    found = await bot.adapter.find_part(
        target, PartKey(key, 0), root=None, between=span, payload=payload
    )
    assert found is not None and [r.message_id for r in found] == [ref.message_id]


async def test_a_lookup_without_history_access_fails_loudly(
    core: Core, fake: FakeFeishuApi
) -> None:
    """The scheduler's policy decides what a failed lookup means (never a silent "none")."""
    bot = await started_bot(core, fake)
    fake.fail_next("list", FeishuFailure(status=400, code=99991672, msg="Access denied."))
    span = (datetime.now(UTC) - timedelta(hours=2), datetime.now(UTC))
    with pytest.raises(PlatformError):
        await bot.adapter.find_part(
            ReplyTarget("feishu", CHAT), PartKey("k", 0), root=None, between=span, payload=""
        )


async def test_plain_text_cannot_mention_anyone(core: Core, fake: FakeFeishuApi) -> None:
    bot = await started_bot(core, fake)
    hostile = 'answer <at user_id="all">所有人</at> <at id=all></at> <at id="ou_x"></at> [x](y)'
    await bot.adapter.send_text(ReplyTarget("feishu", CHAT), hostile)
    [message] = fake.posted()
    assert "<at" not in message.content  # neither in the markdown nor in the preview
    markdown = message.card["body"]["elements"][0]["content"]
    assert markdown.startswith("answer &#60;at") and "[x](y)" not in markdown


async def test_posts_are_paced_per_chat(core: Core, fake: FakeFeishuApi) -> None:
    waits = Sleeps()
    pacer = ChannelPacer(POST_INTERVAL_SECONDS, clock=lambda: 0.0, sleep=waits)
    bot = await started_bot(core, fake, pacer=pacer)
    for text in ("one", "two", "three"):
        await bot.adapter.send_text(ReplyTarget("feishu", CHAT), text)
    await bot.adapter.send_text(ReplyTarget("feishu", "oc_other"), "elsewhere")
    assert waits.waits == pytest.approx([0.2, 0.4])  # ≤ 5 per second in one chat only
    assert len(fake.posted()) == 4


async def test_cards_are_rendered_off_the_event_loop(
    core: Core, fake: FakeFeishuApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large digest takes tens of milliseconds to render (92 ms for 229 commits): it is built
    in a worker thread so the loop keeps answering events meanwhile."""
    rendered_on: list[tuple[str, int]] = []

    def spying(name: str, render: Any) -> Any:
        def spy(*args: Any, **kwargs: Any) -> Any:
            rendered_on.append((name, threading.get_ident()))
            return render(*args, **kwargs)

        return spy

    outbound = "handlers.feishu.outbound"
    monkeypatch.setattr(f"{outbound}.render_feishu", spying("digest", render_feishu))
    monkeypatch.setattr(
        f"{outbound}.render_feishu_details", spying("details", render_feishu_details)
    )
    bot = await started_bot(core, fake)
    repo = core.resolver.resolve("widget")
    window = parse_window("today", "UTC", NOW)
    request = DigestRequest(
        language="en", min_importance=Importance.LOW, commit_filter=core.commit_filter(repo)
    )
    digest = await core.service.build_digest(repo, window, request)
    target = ReplyTarget("feishu", CHAT)
    [root, *_] = await bot.adapter.send_digest(target, digest)
    thread = ReplyTarget("feishu", CHAT, thread_id=root.message_id)
    await bot.adapter.send_details(thread, digest.items[0], "https://github.com/acme/widget", "en")
    loop_thread = threading.get_ident()
    assert [name for name, _ in rendered_on] == ["digest", "details"]
    assert all(ident != loop_thread for _, ident in rendered_on)
    assert len(cards(fake)) >= 2


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


async def test_an_image_is_uploaded_then_shown_in_a_card_with_its_caption(
    core: Core, fake: FakeFeishuApi
) -> None:
    bot = await started_bot(core, fake)
    png = tiny_png() + bytes(range(256))  # every byte value survives the multipart body
    [ref] = await bot.adapter.send_image(
        ReplyTarget("feishu", CHAT),
        png,
        filename="commits.png",
        title="Commits per day",
        alt_text="Bar chart: 3 commits on Monday",
        text="Commits this week",
    )

    [image] = fake.images.values()
    assert image.data == png and image.image_type == "message"
    assert image.filename == "commits.png"
    [upload] = fake.calls_to("image")
    assert upload.body == {
        "image_type": "message",
        "image": {"filename": "commits.png", "content_type": "image/png", "size": len(png)},
    }
    [message] = fake.posted()
    assert message.msg_type == "interactive" and message.message_id == ref.message_id
    assert message.chat_id == CHAT and message.parent_id is None and ref.thread_id is None
    img, caption = message.card["body"]["elements"]
    assert img["tag"] == "img" and img["img_key"] == image.image_key
    assert img["alt"] == {"tag": "plain_text", "content": "Bar chart: 3 commits on Monday"}
    assert img["title"] == {"tag": "plain_text", "content": "Commits per day"}
    assert caption == {"tag": "markdown", "content": "Commits this week"}


async def test_an_image_for_a_thread_is_a_reply_in_the_thread(
    core: Core, fake: FakeFeishuApi
) -> None:
    bot = await started_bot(core, fake)
    [root] = await bot.adapter.send_text(ReplyTarget("feishu", CHAT), "the digest")
    target = ReplyTarget("feishu", CHAT, thread_id=root.message_id)
    [ref] = await bot.adapter.send_image(
        target, tiny_png(), filename="c.png", title="Chart", alt_text="a chart"
    )
    reply = fake.message(ref.message_id)
    assert reply.parent_id == root.message_id and reply.reply_in_thread
    assert ref.thread_id == root.message_id
    assert [e["tag"] for e in reply.card["body"]["elements"]] == ["img"]  # no caption


async def test_a_hostile_caption_and_title_are_inert(core: Core, fake: FakeFeishuApi) -> None:
    bot = await started_bot(core, fake)
    hostile = 'look @everyone <at user_id="all"></at> <!channel> [x](http://evil)'
    await bot.adapter.send_image(
        ReplyTarget("feishu", CHAT),
        tiny_png(),
        filename="c.png",
        title='<at id="all"></at> chart',
        alt_text="<at id=all>",
        text=hostile,
    )
    [message] = fake.posted()
    img, caption = message.card["body"]["elements"]
    markdown = caption["content"]
    assert "<at" not in markdown and "@everyone" not in markdown
    assert "[x](" not in markdown and "http://evil" not in markdown
    assert "<at" not in img["title"]["content"] and "<at" not in img["alt"]["content"]
    assert "<at" not in message.content


async def test_a_refused_upload_is_a_platform_error(core: Core, fake: FakeFeishuApi) -> None:
    bot = await started_bot(core, fake)
    fake.fail_next("image", FeishuFailure(status=400, code=99991672, msg="Access denied."))
    with pytest.raises(PlatformError) as caught:
        await bot.adapter.send_image(
            ReplyTarget("feishu", CHAT), tiny_png(), filename="c.png", title="t", alt_text="a"
        )
    assert "permission" in caught.value.user_message
    assert fake.images == {} and fake.posted() == []


async def test_a_refused_card_is_a_platform_error(core: Core, fake: FakeFeishuApi) -> None:
    bot = await started_bot(core, fake)
    fake.fail_next("create", FeishuFailure(status=400, code=230002, msg="Bot is not in the chat"))
    with pytest.raises(PlatformError) as caught:
        await bot.adapter.send_image(
            ReplyTarget("feishu", CHAT), tiny_png(), filename="c.png", title="t", alt_text="a"
        )
    assert "not in this chat" in caught.value.user_message
    assert fake.posted() == []


async def test_a_rate_limited_upload_waits_the_reset_and_sends_the_bytes_again(
    core: Core, fake: FakeFeishuApi
) -> None:
    sleeps = Sleeps()
    bot = await started_bot(core, fake, sleeps=sleeps)
    fake.rate_limit_next("image", reset=2, status=429)
    png = tiny_png(4, 4)
    [ref] = await bot.adapter.send_image(
        ReplyTarget("feishu", CHAT), png, filename="c.png", title="t", alt_text="a"
    )
    assert sleeps.waits == [2.0]
    first, second = fake.calls_to("image")
    assert first.body == second.body and second.body is not None
    assert second.body["image"]["size"] == len(png)  # the retry carried the whole file again
    [image] = fake.images.values()
    assert image.data == png and fake.posted()[0].message_id == ref.message_id
