"""Feishu/Lark event payloads (schema 2.0) -> InboundEvent: messages and card button clicks.

Pure functions over the decrypted JSON, so they are tested without a platform:

- `im.message.receive_v1` (https://open.feishu.cn/document/server-docs/im-v1/message/events/receive):
  text and post (rich text) messages. The bot's own @mention (`@_user_N` placeholders in the
  text, `at` elements in posts, both listed in `message.mentions`) is stripped; other people's
  mentions become `@name`. In a group the bot answers messages that mention it, start with
  `/digest`, or sit in a thread (`root_id`; the conversation layer answers only under its own
  digests); in a one-to-one chat every message is for it. Messages from apps and bots (our own
  included) are ignored. While the bot's own open_id is unknown (bot/v3/info did not answer
  yet) it cannot tell a mention of itself from a mention of someone else, so it answers
  one-to-one chats only. The delivery-stable id is the `message_id`: Feishu re-pushes an
  unacknowledged event after about 15 s, 5 min, 1 h and 6 h, always for the same message.
- `card.action.trigger` (https://open.feishu.cn/document/feishu-cards/card-callback-communication):
  the Details button of a digest card, whose value formatters.feishu_card encodes as
  `{"action": "digest_details", "repo": …, "sha": …}`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.models import Language
from formatters.feishu_card import DETAILS_ACTION
from formatters.text_safety import valid_sha
from handlers.conversation.commands import COMMAND_WORD, normalize
from handlers.ports import ButtonPayload, InboundEvent

PLATFORM = "feishu"
MAX_TEXT = 4000  # the grammar reads 2000 characters; the rest is never looked at
_REPO_MAX = 300
_PLACEHOLDER = re.compile(r"@_user_\d+|@_all")
_SPACES = re.compile(r"[ \t]+")


@dataclass(frozen=True)
class BotIdentity:
    """Who the bot is on this tenant (from /open-apis/bot/v3/info).

    `open_id` None means unknown: then only one-to-one chats are answered (`needs_identity`)."""

    open_id: str | None = None
    name: str | None = None


def message_event(
    body: Mapping[str, Any],
    bot: BotIdentity,
    *,
    received_at: datetime,
    language: Language | None = None,
) -> InboundEvent | None:
    """The InboundEvent for an im.message.receive_v1 body, or None when it is not for us."""
    if bot.open_id is None and needs_identity(body):
        return None
    event = _mapping(body.get("event"))
    sender = _mapping(event.get("sender"))
    if sender.get("sender_type") != "user":
        return None
    message = _mapping(event.get("message"))
    message_id = _text(message.get("message_id"))
    chat_id = _text(message.get("chat_id"))
    user_id = _text(_mapping(sender.get("sender_id")).get("open_id"))
    if not (message_id and chat_id and user_id):
        return None
    mentions = [m for m in _sequence(message.get("mentions")) if isinstance(m, Mapping)]
    ours = {_text(m.get("key")) for m in mentions if _is_bot(m, bot)} - {""}
    if bot.open_id:
        ours.add(bot.open_id)  # post `at` elements may carry the open_id instead of a key
    text = message_text(message.get("message_type"), message.get("content"), mentions, ours)
    if text is None:
        return None
    chat_type = _text(message.get("chat_type")) or "group"
    root = _text(message.get("root_id")) or None
    if root == message_id:
        root = None
    words = normalize(text).split(" ", 1)
    mentioned = any(_is_bot(m, bot) for m in mentions)
    if chat_type == "p2p" or mentioned or words[0].lower() == COMMAND_WORD:
        kind: Any = "mention"
    elif root is not None:
        kind = "message"  # overheard in a thread: answered only under one of our digests
    else:
        return None
    return InboundEvent(
        platform=PLATFORM,
        event_id=message_id,
        user_id=user_id,
        channel_id=chat_id,
        kind=kind,
        text=text,
        thread_id=root,
        message_id=message_id,
        received_at=received_at,
        language=language,
        is_channel_manager=chat_type == "p2p",  # one's own chat with the bot
        context={"chat_type": chat_type},
    )


def needs_identity(body: Mapping[str, Any]) -> bool:
    """True for a user's message outside a one-to-one chat: whether it is for us depends on
    who was mentioned, so it can only be answered once the bot knows its own open_id."""
    event = _mapping(body.get("event"))
    if _mapping(event.get("sender")).get("sender_type") != "user":
        return False
    return _text(_mapping(event.get("message")).get("chat_type")) != "p2p"


def card_action_event(
    body: Mapping[str, Any], *, received_at: datetime, language: Language | None = None
) -> InboundEvent | None:
    """The InboundEvent for a card.action.trigger body (a Details click), or None."""
    event = _mapping(body.get("event"))
    button = details_button(_mapping(event.get("action")).get("value"))
    if button is None:
        return None
    context = _mapping(event.get("context"))
    chat_id = _text(context.get("open_chat_id"))
    message_id = _text(context.get("open_message_id"))
    user_id = _text(_mapping(event.get("operator")).get("open_id"))
    if not (chat_id and message_id and user_id):
        return None
    event_id = _text(_mapping(body.get("header")).get("event_id"))
    return InboundEvent(
        platform=PLATFORM,
        event_id=f"card:{event_id or f'{message_id}:{user_id}:{button.sha}'}",
        user_id=user_id,
        channel_id=chat_id,
        kind="button",
        message_id=message_id,
        button=button,
        received_at=received_at,
        language=language,
    )


def details_button(value: Any) -> ButtonPayload | None:
    """Decode a Details button's callback value (an object; older clients send a JSON string)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if not isinstance(value, Mapping) or value.get("action") != DETAILS_ACTION:
        return None
    sha = valid_sha(_text(value.get("sha")))
    repo = _text(value.get("repo")).strip()
    if sha is None or len(repo) > _REPO_MAX:
        return None
    return ButtonPayload("details", repo, sha)


def message_text(
    message_type: Any, content: Any, mentions: Sequence[Mapping[str, Any]], ours: set[str]
) -> str | None:
    """The text a user typed, our mention removed; None for messages that carry no text."""
    try:
        parsed = json.loads(content) if isinstance(content, str) else None
    except ValueError:
        return None
    if not isinstance(parsed, Mapping):
        return None
    names = {_text(m.get("key")): _text(m.get("name")) for m in mentions}
    if message_type == "text":
        raw = _text(parsed.get("text"))
        text = _PLACEHOLDER.sub(lambda match: _mention(match.group(0), names, ours), raw)
    elif message_type == "post":
        text = _post_text(parsed, names, ours)
    else:
        return None
    return _SPACES.sub(" ", text[:MAX_TEXT]).strip() or None


def _post_text(post: Mapping[str, Any], names: dict[str, str], ours: set[str]) -> str:
    body = post
    if "content" not in body:  # a post may arrive wrapped in its locale: {"zh_cn": {...}}
        body = next((v for v in post.values() if isinstance(v, Mapping) and "content" in v), {})
    lines: list[str] = []
    for paragraph in _sequence(body.get("content")):
        parts: list[str] = []
        for element in _sequence(paragraph):
            if not isinstance(element, Mapping):
                continue
            tag = element.get("tag")
            if tag in {"text", "a", "code_block", "md"}:
                parts.append(_text(element.get("text")))
            elif tag == "at":
                key = _text(element.get("user_id"))
                names.setdefault(key, _text(element.get("user_name")))
                parts.append(_mention(key, names, ours))
        lines.append("".join(parts))
    return "\n".join(lines)


def _mention(key: str, names: dict[str, str], ours: set[str]) -> str:
    if key in ours:
        return " "
    if key in {"@_all", "all"}:
        return "@all"
    name = names.get(key) or "someone"
    return f"@{name}"


def _is_bot(mention: Mapping[str, Any], bot: BotIdentity) -> bool:
    if _text(mention.get("key")) == "@_all":
        return False
    if bot.open_id is None:
        return False  # unknown: never assume a mention is ours
    return _text(_mapping(mention.get("id")).get("open_id")) == bot.open_id


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _sequence(value: Any) -> Sequence[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
