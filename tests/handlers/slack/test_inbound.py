"""Slack payloads -> InboundEvent: slash commands, message and mention events, Details clicks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import pytest

from handlers.ports import ButtonPayload
from handlers.slack.inbound import button_event, command_event, message_event, strip_mention
from tests.fakes.slack_api import BOT_USER_ID
from tests.fakes.slack_requests import block_action, event_callback, slash_command
from tests.fakes.slack_requests import message_event as message_payload

NOW = datetime(2026, 2, 8, 20, 0, tzinfo=UTC)
SHA = "0123456789abcdef0123456789abcdef01234567"
ROOT = "1700000000.000100"


def command_body(text: str, **fields: Any) -> dict[str, Any]:
    """The form fields bolt hands the command listener."""
    return dict(parse_qsl(slash_command(text, **fields)))


def action_body(value: str, **fields: Any) -> dict[str, Any]:
    """The block_actions payload bolt hands the action listener."""
    body: dict[str, Any] = json.loads(dict(parse_qsl(block_action(value, **fields)))["payload"])
    return body


def callback(event: dict[str, Any], event_id: str = "Ev1") -> dict[str, Any]:
    body: dict[str, Any] = json.loads(event_callback(event, event_id=event_id))
    return body


def test_a_slash_command_keeps_its_trigger_and_response_url() -> None:
    event = command_event(command_body("widget today", trigger_id="trig-1"), received_at=NOW)
    assert (event.platform, event.kind, event.text) == ("slack", "command", "widget today")
    assert (event.user_id, event.channel_id) == ("U0USER", "C0CHAN")
    assert event.event_id == "command:trig-1" and event.received_at == NOW
    assert event.thread_id is None and event.message_id is None
    assert event.context == {
        "trigger_id": "trig-1",
        "response_url": "https://hooks.slack.com/commands/T0TEAM/1/trig-1",
    }


def test_a_slash_command_without_a_trigger_still_gets_a_unique_id() -> None:
    body = {"user_id": "U1", "channel_id": "C1", "text": ""}
    first, second = (command_event(body, received_at=NOW) for _ in range(2))
    assert first.event_id.startswith("command:") and first.event_id != second.event_id
    assert first.context == {"trigger_id": "", "response_url": ""}


def test_a_thread_message_is_a_message_in_that_thread() -> None:
    payload = message_payload("abc1234", ts="1700000500.000001", thread_ts=ROOT)
    event = message_event(callback(payload), payload, BOT_USER_ID, "message", received_at=NOW)
    assert event is not None
    assert (event.kind, event.text, event.event_id) == ("message", "abc1234", "Ev1")
    assert (event.thread_id, event.message_id) == (ROOT, "1700000500.000001")
    assert (event.user_id, event.channel_id, event.received_at) == ("U0USER", "C0CHAN", NOW)


def test_a_mention_loses_the_bot_markup_and_may_be_top_level() -> None:
    payload = message_payload(
        f"<@{BOT_USER_ID}> widget today", ts="1700000600.000001", kind="app_mention"
    )
    event = message_event(callback(payload), payload, BOT_USER_ID, "mention", received_at=NOW)
    assert event is not None
    assert (event.kind, event.text, event.thread_id) == ("mention", "widget today", None)


def test_a_thread_root_is_not_its_own_thread() -> None:
    payload = message_payload(f"<@{BOT_USER_ID}> hi", ts=ROOT, thread_ts=ROOT, kind="app_mention")
    event = message_event(callback(payload), payload, BOT_USER_ID, "mention", received_at=NOW)
    assert event is not None and event.thread_id is None


def test_without_an_event_id_the_channel_and_ts_identify_the_event() -> None:
    payload = message_payload("abc1234", ts="1.5", thread_ts=ROOT)
    event = message_event({}, payload, BOT_USER_ID, "message", received_at=NOW)
    assert event is not None and event.event_id == "C0CHAN:1.5"


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        (message_payload("abc1234", ts="1.1", thread_ts=ROOT, bot_id="B0OTHER"), "message"),
        (message_payload("abc1234", ts="1.2", thread_ts=ROOT, user=BOT_USER_ID), "message"),
        (
            message_payload("abc1234", ts="1.3", thread_ts=ROOT, subtype="message_changed"),
            "message",
        ),
        (message_payload("abc1234", ts="1.4"), "message"),  # top level, not a mention
        # the same words come again as app_mention: the plain message is dropped
        (message_payload(f"<@{BOT_USER_ID}> abc1234", ts="1.5", thread_ts=ROOT), "message"),
        (message_payload("abc1234", ts="", thread_ts=ROOT), "message"),
        (message_payload("abc1234", ts="1.6", thread_ts=ROOT, user=""), "mention"),
    ],
    ids=["other-bot", "ourselves", "edit", "top-level", "mention-twice", "no-ts", "no-user"],
)
def test_what_is_not_for_us_is_none(payload: dict[str, Any], kind: Any) -> None:
    assert message_event(callback(payload), payload, BOT_USER_ID, kind, received_at=NOW) is None


@pytest.mark.parametrize("subtype", ["thread_broadcast", "file_share"])
def test_people_writing_with_a_subtype_still_count(subtype: str) -> None:
    payload = message_payload("abc1234", ts="1.7", thread_ts=ROOT, subtype=subtype)
    event = message_event(callback(payload), payload, BOT_USER_ID, "message", received_at=NOW)
    assert event is not None and event.text == "abc1234"


def test_a_details_click_names_the_commit_and_the_message() -> None:
    body = action_body(f"acme/widget|{SHA}", trigger_id="trig-btn", message_ts=ROOT)
    event = button_event(body, received_at=NOW)
    assert event is not None
    assert (event.kind, event.event_id, event.user_id) == ("button", "action:trig-btn", "U0USER")
    assert (event.channel_id, event.message_id, event.thread_id) == ("C0CHAN", ROOT, None)
    assert event.button == ButtonPayload("details", "acme/widget", SHA)
    assert event.context == {"trigger_id": "trig-btn"} and event.received_at == NOW


def test_a_click_on_a_continuation_threads_on_the_digest_root() -> None:
    body = action_body(SHA, trigger_id="", message_ts="1700000001.000200", thread_ts=ROOT)
    event = button_event(body, received_at=NOW)
    assert event is not None
    assert event.thread_id == ROOT and event.message_id == "1700000001.000200"
    assert event.button == ButtonPayload("details", "", SHA)  # a value without the repo
    assert event.event_id == f"action:1700000001.000200:{SHA}"  # no trigger: ts and sha


def test_the_container_stands_in_for_a_missing_message_and_channel() -> None:
    body = action_body(f"acme/widget|{SHA}", trigger_id="t", message_ts=ROOT)
    del body["message"], body["channel"]
    event = button_event(body, received_at=NOW)
    assert event is not None and (event.channel_id, event.message_id) == ("C0CHAN", ROOT)


def test_a_click_outside_a_message_or_without_an_action_is_none() -> None:
    in_modal = action_body(f"acme/widget|{SHA}", trigger_id="t", message_ts=ROOT)
    del in_modal["message"]
    in_modal["container"] = {"type": "view", "view_id": "V1"}
    assert button_event(in_modal, received_at=NOW) is None
    no_action = action_body(f"acme/widget|{SHA}", trigger_id="t", message_ts=ROOT)
    no_action["actions"] = []
    assert button_event(no_action, received_at=NOW) is None


def test_strip_mention_removes_only_our_bot() -> None:
    assert strip_mention(f"<@{BOT_USER_ID}> details abc1234", BOT_USER_ID) == "details abc1234"
    assert strip_mention(f"hi <@{BOT_USER_ID}|digestbot> <@U2>", BOT_USER_ID) == "hi   <@U2>"
    assert strip_mention(f"<@{BOT_USER_ID}> hi", None) == f"<@{BOT_USER_ID}> hi"
