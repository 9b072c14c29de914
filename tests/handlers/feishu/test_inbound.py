"""Feishu payloads -> InboundEvent: recorded im.message.receive_v1 / card.action.trigger bodies,
mention stripping, what a group message must carry to reach the bot, and property tests."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from handlers.feishu.inbound import (
    BotIdentity,
    card_action_event,
    details_button,
    message_event,
    message_text,
    needs_identity,
)
from handlers.ports import ButtonPayload
from tests.fakes.feishu_api import BOT_OPEN_ID
from tests.fakes.feishu_bot import load

NOW = datetime(2026, 2, 8, 20, 0, tzinfo=UTC)
BOT = BotIdentity(BOT_OPEN_ID, "digestbot")
SHA = "0123456789abcdef0123456789abcdef01234567"


def with_message(payload: dict[str, Any], **fields: Any) -> dict[str, Any]:
    payload["event"]["message"].update(fields)
    return payload


def content(text: str) -> str:
    return json.dumps({"text": text})


def test_group_mention_strips_the_bot_and_is_a_mention() -> None:
    event = message_event(load("message_text_group_mention"), BOT, received_at=NOW, language="zh")
    assert event is not None
    assert (event.kind, event.text, event.language) == ("mention", "digest widget today", "zh")
    assert event.event_id == event.message_id == "om_5ce6d572455d361153b7cb51da133945"
    assert event.channel_id == "oc_5ad11d72b830411d72b836c20"
    assert event.user_id == "ou_84aad35d084aa403a838cf73ee18467"
    assert event.thread_id is None and not event.is_channel_manager


def test_post_in_a_thread_keeps_the_root_and_reads_every_text_element() -> None:
    event = message_event(
        load("message_post_thread", SHA_PLACEHOLDER="00248d8"), BOT, received_at=NOW
    )
    assert event is not None
    assert (event.kind, event.text) == ("mention", "details 00248d8")
    assert event.thread_id == "om_root00000000000000000000000000"


def test_thread_reply_without_mention_is_overheard() -> None:
    event = message_event(
        load("message_text_thread", SHA_PLACEHOLDER="00248d8"), BOT, received_at=NOW
    )
    assert event is not None
    assert (event.kind, event.text, event.thread_id) == (
        "message",
        "00248d8",
        "om_root00000000000000000000000000",
    )


def test_one_to_one_chat_is_always_for_the_bot_and_its_owner_manages_it() -> None:
    event = message_event(load("message_text_p2p"), BOT, received_at=NOW)
    assert event is not None
    assert (event.kind, event.text, event.is_channel_manager) == ("mention", "help", True)
    assert event.context["chat_type"] == "p2p"


def test_group_chatter_without_mention_is_ignored_but_slash_digest_is_not() -> None:
    chatter = with_message(
        load("message_text_group_mention"), mentions=[], content=content("lunch at noon?")
    )
    assert message_event(chatter, BOT, received_at=NOW) is None
    slash = with_message(
        load("message_text_group_mention"), mentions=[], content=content("/digest widget yesterday")
    )
    event = message_event(slash, BOT, received_at=NOW)
    assert event is not None and (event.kind, event.text) == ("mention", "/digest widget yesterday")


def test_a_mention_of_someone_else_is_not_a_mention_of_the_bot() -> None:
    other = {"key": "@_user_1", "id": {"open_id": "ou_alice"}, "name": "Alice"}
    payload = with_message(
        load("message_text_group_mention"),
        mentions=[other],
        content=content("@_user_1 digest widget"),
    )
    assert message_event(payload, BOT, received_at=NOW) is None
    in_thread = with_message(payload, root_id="om_root")
    event = message_event(in_thread, BOT, received_at=NOW)
    assert event is not None and (event.kind, event.text) == ("message", "@Alice digest widget")


def test_unknown_identity_answers_one_to_one_chats_only() -> None:
    """Without its open_id the bot cannot tell a mention of itself from one of someone else:
    no group message is taken for it (before, every mention counted as ours)."""
    other = {"key": "@_user_1", "id": {"open_id": "ou_someone"}, "name": "Someone"}
    unknown = BotIdentity()
    for payload in (
        with_message(load("message_text_group_mention"), mentions=[other]),
        load("message_text_group_mention"),  # the bot's own mention, but it cannot know
        with_message(load("message_text_group_mention"), content=content("/digest widget")),
        load("message_text_thread", SHA_PLACEHOLDER="00248d8"),
    ):
        assert needs_identity(payload)
        assert message_event(payload, unknown, received_at=NOW) is None
    direct = load("message_text_p2p")
    assert not needs_identity(direct)
    event = message_event(direct, unknown, received_at=NOW)
    assert event is not None and (event.kind, event.text) == ("mention", "help")
    from_app = load("message_text_group_mention")
    from_app["event"]["sender"]["sender_type"] = "app"
    assert not needs_identity(from_app)  # not a user's: ignored anyway, nothing to wait for


def test_placeholders_do_not_collide_and_at_all_stays_text() -> None:
    mentions = [
        {"key": "@_user_1", "id": {"open_id": BOT_OPEN_ID}, "name": "digestbot"},
        {"key": "@_user_10", "id": {"open_id": "ou_ten"}, "name": "Ten"},
    ]
    text = message_text("text", content("@_user_10 @_user_1 help @_all"), mentions, {"@_user_1"})
    assert text == "@Ten help @all"


def test_messages_from_apps_and_without_text_are_ignored() -> None:
    from_app = load("message_text_group_mention")
    from_app["event"]["sender"]["sender_type"] = "app"
    assert message_event(from_app, BOT, received_at=NOW) is None
    image = with_message(
        load("message_text_group_mention"),
        message_type="image",
        content=json.dumps({"image_key": "img_v2_1"}),
    )
    assert message_event(image, BOT, received_at=NOW) is None
    broken = with_message(load("message_text_group_mention"), content="{not json")
    assert message_event(broken, BOT, received_at=NOW) is None


def test_post_wrapped_in_a_locale_is_read() -> None:
    first = [
        {"tag": "at", "user_id": BOT_OPEN_ID, "user_name": "digestbot"},
        {"tag": "text", "text": "digest widget"},
    ]
    second = [{"tag": "a", "text": "week", "href": "x"}, {"tag": "img", "image_key": "k"}]
    post = {"zh_cn": {"title": "t", "content": [first, second]}}
    assert message_text("post", json.dumps(post), [], {BOT_OPEN_ID}) == "digest widget\nweek"


def test_card_action_decodes_the_details_button() -> None:
    event = card_action_event(load("card_action_trigger", SHA_PLACEHOLDER=SHA), received_at=NOW)
    assert event is not None
    assert event.kind == "button"
    assert event.button == ButtonPayload("details", "acme/widget", SHA)
    assert event.event_id == "card:0f9e8d7c6b5a49382716051f2e3d4c5b"
    assert (event.message_id, event.channel_id) == (
        "om_root00000000000000000000000000",
        "oc_5ad11d72b830411d72b836c20",
    )


def test_details_button_values() -> None:
    assert details_button(json.dumps({"action": "digest_details", "sha": SHA[:7]})) == (
        ButtonPayload("details", "", SHA[:7])
    )
    assert details_button({"action": "digest_details", "sha": "not-a-sha"}) is None
    assert details_button({"action": "other", "sha": SHA}) is None
    assert details_button({"action": "digest_details", "sha": SHA, "repo": "x" * 301}) is None
    assert details_button("{") is None and details_button(None) is None


@given(st.text(max_size=300), st.lists(st.sampled_from(["@_user_1", "@_user_2", "@_all"])))
def test_the_bot_placeholder_never_survives(text: str, keys: list[str]) -> None:
    mentions = [
        {"key": "@_user_1", "id": {"open_id": BOT_OPEN_ID}, "name": "digestbot"},
        {"key": "@_user_2", "id": {"open_id": "ou_b"}, "name": "B"},
    ]
    raw = " ".join([*keys, text])
    result = message_text("text", content(raw), mentions, {"@_user_1"})
    if result is not None:
        assert re.search(r"@_user_\d", result) is None
        assert result == result.strip()


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
        ),
        max_leaves=30,
    )
)
def test_arbitrary_payloads_never_raise(junk: Any) -> None:
    for body in (junk, {"event": junk}, {"event": {"message": junk, "sender": junk}}):
        if isinstance(body, dict):
            message_event(body, BOT, received_at=NOW)
            card_action_event(body, received_at=NOW)
    message_text("post", json.dumps(junk), [], set())
    message_text("text", json.dumps(junk), [], set())
    details_button(junk)
