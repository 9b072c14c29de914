"""Posting a rendered digest at once: root first, the rest in its thread, a refusal stops it."""

from __future__ import annotations

import pytest

from bot.errors import PlatformError
from handlers.ports import ReplyTarget
from handlers.runtime.digest_parts import post_all
from tests.data.reference_day import reference_digest
from tests.fakes.scheduled_chat import LookupPlatform

TARGET = ReplyTarget("test", "C1")


async def test_parts_after_the_root_go_in_its_thread_with_their_keys() -> None:
    platform = LookupPlatform(parts=3)
    payloads = platform.render_digest(reference_digest("en"), delivery_key="dg-1-20260301")
    refs = await post_all(platform, TARGET, payloads, "dg-1-20260301")
    assert [p.index for p in platform.posts] == [0, 1, 2]
    assert {p.key for p in platform.posts} == {"dg-1-20260301"}
    assert refs[0].thread_id is None and {r.thread_id for r in refs[1:]} == {refs[0].message_id}


async def test_a_refused_continuation_stops_there_and_a_refused_root_raises() -> None:
    platform = LookupPlatform(parts=3, refuse=lambda key, index: index == 1)
    refs = await post_all(platform, TARGET, platform.render_digest(reference_digest("en")))
    assert len(refs) == 1 and [p.index for p in platform.posts] == [0]  # the root is up
    refusing = LookupPlatform(parts=2, refuse=lambda key, index: index == 0)
    with pytest.raises(PlatformError):
        await post_all(refusing, TARGET, refusing.render_digest(reference_digest("en")))
    assert refusing.posts == []
