"""Slack payloads (slash command, message and app_mention events, Details click) -> InboundEvent."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any, Literal

from formatters.slack_blocks import parse_details_value
from handlers.ports import ButtonPayload, InboundEvent

# Pure functions over the payloads bolt hands the listeners (tested without a platform); the
# caller passes the instant the event was received.

PLATFORM = "slack"
_MENTION_PREFIX = "<@"
# Message subtypes that are still a person writing in a thread.
_HUMAN_SUBTYPES = {None, "thread_broadcast", "file_share"}


def command_event(body: dict[str, Any], *, received_at: datetime) -> InboundEvent:
    """The InboundEvent of a `/digest` slash command."""
    trigger = str(body.get("trigger_id") or "")
    return InboundEvent(
        platform=PLATFORM,
        # Slack does not retry slash commands; the trigger id is unique per invocation.
        event_id=f"command:{trigger or uuid.uuid4().hex}",
        user_id=str(body.get("user_id") or ""),
        channel_id=str(body.get("channel_id") or ""),
        kind="command",
        text=str(body.get("text") or ""),
        received_at=received_at,
        context={"trigger_id": trigger, "response_url": str(body.get("response_url") or "")},
    )


def message_event(
    body: dict[str, Any],
    event: dict[str, Any],
    bot_user_id: str | None,
    kind: Literal["mention", "message"],
    *,
    received_at: datetime,
) -> InboundEvent | None:
    """The InboundEvent of an `app_mention` or `message` event; None for what is not for us:
    other bots, edits, and (for plain messages) anything outside a thread or mentioning the bot
    (that comes again as app_mention)."""
    if event.get("bot_id") or event.get("subtype") not in _HUMAN_SUBTYPES:
        return None
    user, text, ts = event.get("user"), str(event.get("text") or ""), event.get("ts")
    if not user or not ts or (bot_user_id and user == bot_user_id):
        return None
    thread_ts = event.get("thread_ts")
    if thread_ts == ts:
        thread_ts = None
    mentioned = bool(bot_user_id) and f"{_MENTION_PREFIX}{bot_user_id}" in text
    if kind == "message" and (thread_ts is None or mentioned):
        return None
    return InboundEvent(
        platform=PLATFORM,
        event_id=str(body.get("event_id") or f"{event.get('channel')}:{ts}"),
        user_id=str(user),
        channel_id=str(event.get("channel") or ""),
        kind=kind,
        text=strip_mention(text, bot_user_id),
        thread_id=str(thread_ts) if thread_ts else None,
        message_id=str(ts),
        received_at=received_at,
    )


def button_event(
    body: dict[str, Any], *, received_at: datetime, private: bool = False
) -> InboundEvent | None:
    """The InboundEvent of a Details button click; None for a click outside a message.
    `private`: the details open in a modal for the clicker (SLACK_DETAILS_VIEW=modal)."""
    actions = body.get("actions") or []
    if not actions:
        return None
    repo, sha = parse_details_value(str(actions[0].get("value") or ""))
    message = body.get("message") or {}
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    ts = message.get("ts") or container.get("message_ts")
    thread_ts = message.get("thread_ts") or container.get("thread_ts")
    trigger = str(body.get("trigger_id") or "")
    if not channel or not ts:
        return None  # a button outside a message (e.g. in a modal): nothing to thread on
    return InboundEvent(
        platform=PLATFORM,
        event_id=f"action:{trigger or ts + ':' + sha}",
        user_id=str((body.get("user") or {}).get("id") or ""),
        channel_id=str(channel),
        kind="button",
        thread_id=str(thread_ts) if thread_ts and thread_ts != ts else None,
        message_id=str(ts),
        button=ButtonPayload("details", repo, sha, private=private),
        received_at=received_at,
        context={"trigger_id": trigger},
    )


def strip_mention(text: str, bot_user_id: str | None) -> str:
    """Remove `<@BOT>` / `<@BOT|name>` of our bot (other mentions stay as they are)."""
    if not bot_user_id:
        return text
    return re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", " ", text).strip()
