"""discord.py objects (interactions, gateway messages) -> the neutral InboundEvent."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import discord

from handlers.discord.outbound import PLATFORM
from handlers.ports import ButtonPayload, EventKind, InboundEvent

ThreadSeen = Callable[[str], None]


def _ignore(_thread_id: str) -> None:
    return None


def interaction_event(
    interaction: discord.Interaction[Any],
    kind: EventKind,
    text: str = "",
    *,
    received_at: datetime,
    button: ButtonPayload | None = None,
    thread_seen: ThreadSeen = _ignore,
) -> InboundEvent:
    """The event of a `/digest` command or a Details click; `thread_seen` hears of the thread
    the interaction happened in (the adapter posts there without starting one)."""
    channel_id, thread_id = split_channel(interaction.channel, interaction.channel_id, thread_seen)
    message = interaction.message
    message_id = str(message.id) if message is not None else None
    if kind == "button" and thread_id is None:
        thread_id = message_id  # the digest message is the thread's root
    permissions = interaction.permissions
    return InboundEvent(
        platform=PLATFORM,
        event_id=str(interaction.id),
        user_id=str(interaction.user.id),
        channel_id=channel_id,
        kind=kind,
        text=text,
        thread_id=thread_id,
        message_id=message_id,
        button=button,
        received_at=received_at,
        is_channel_manager=permissions.manage_channels or permissions.administrator,
        context={"interaction_channel": str(interaction.channel_id)},
    )


def message_event(
    message: discord.Message,
    me: discord.abc.User | None,
    *,
    message_content: bool,
    received_at: datetime,
    thread_seen: ThreadSeen = _ignore,
) -> InboundEvent | None:
    """The event of a gateway message to `me` (the bot user), or None for what is not for us:
    bots (ourselves included), webhooks, system messages, DMs, and plain messages outside
    threads or (without `message_content`, the Message Content intent) not mentioning us —
    the bot user or the bot's own role."""
    author = message.author
    if me is None or author.bot or author.id == me.id or message.webhook_id is not None:
        return None
    if message.type not in (discord.MessageType.default, discord.MessageType.reply):
        return None
    if message.guild is None:
        return None
    role = self_role_id(message.guild)
    mentioned = any(user.id == me.id for user in message.mentions) or any(
        mentioned_role.id == role for mentioned_role in message.role_mentions
    )
    in_thread = isinstance(message.channel, discord.Thread)
    if not mentioned and not (in_thread and message_content):
        return None
    channel_id, thread_id = split_channel(message.channel, message.channel.id, thread_seen)
    context: dict[str, str] = {}
    if thread_id is None:
        # At a channel's top level the answer is a reply to the message, not a new thread.
        # A reply to a digest names the digest (as the thread root) for the lookup.
        reference = message.reference
        if reference is not None and reference.message_id is not None:
            thread_id = str(reference.message_id)
        context = {
            "answer_in_channel": thread_id or str(message.id),
            "reply_to": str(message.id),
        }
    return InboundEvent(
        platform=PLATFORM,
        event_id=str(message.id),
        user_id=str(author.id),
        channel_id=channel_id,
        kind="mention" if mentioned else "message",
        text=strip_mention(message.content, me.id, role),
        thread_id=thread_id,
        message_id=str(message.id),
        received_at=received_at,
        is_channel_manager=manages(message),
        context=context,
    )


def split_channel(
    channel: Any, channel_id: int | None, thread_seen: ThreadSeen = _ignore
) -> tuple[str, str | None]:
    """(the channel, the thread's root message) — a thread's id is its starter message's."""
    if isinstance(channel, discord.Thread) and channel.parent_id is not None:
        thread_seen(str(channel.id))
        return str(channel.parent_id), str(channel.id)
    return str(channel_id), None


def self_role_id(guild: discord.Guild) -> int | None:
    """The id of the role Discord made for the bot in `guild` (its managed integration role).
    Typing "@digestbot" often picks that role rather than the bot user, so a mention of it is
    a mention of the bot (and no other role is)."""
    role = guild.self_role
    return role.id if role is not None else None


def strip_mention(text: str, user_id: int, role_id: int | None = None) -> str:
    """Remove `<@ID>` / `<@!ID>` of our bot and `<@&ID>` of its own role (other mentions stay
    as they are)."""
    text = re.sub(rf"<@!?{user_id}>", " ", text)
    if role_id is not None:
        text = re.sub(rf"<@&{role_id}>", " ", text)
    return text.strip()


def manages(message: discord.Message) -> bool:
    """Whether the author may manage the channel (Manage Channels or Administrator)."""
    try:
        permissions = message.channel.permissions_for(message.author)  # type: ignore[arg-type]
    except (discord.ClientException, AttributeError, TypeError):
        return False  # uncached parent channel or member: not a manager as far as we know
    return bool(permissions.manage_channels or permissions.administrator)
