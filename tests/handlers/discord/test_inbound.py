"""discord.py objects -> InboundEvent: which gateway messages are for the bot, where answers go
(channel, thread, reply), mentions stripped, and interactions' channels, threads and managers."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import discord
import pytest

from handlers.discord.inbound import (
    interaction_event,
    manages,
    message_event,
    split_channel,
    strip_mention,
)
from handlers.ports import ButtonPayload, InboundEvent
from tests.fakes.discord_harness import (
    BOT_ROLE_ID,
    CHANNEL,
    OTHER_BOT,
    OTHER_ROLE_ID,
    USER,
    guild_payload,
    load,
)
from tests.fakes.discord_payloads import BOT_USER, BOT_USER_ID, GUILD_ID

WHEN = datetime(2026, 2, 8, 20, 0, tzinfo=UTC)
THREAD = "1300000000000000500"  # the digest message, and the thread started on it
MESSAGE = "1300000000000000100"  # message_create.json's id
MANAGER = "8"  # Administrator
STRANGER = {
    "id": "1100000000000000600",
    "username": "bob",
    "discriminator": "0",
    "global_name": "Bob",
    "avatar": None,
    "public_flags": 0,
}

THREAD_CREATE: dict[str, Any] = {
    "id": THREAD,
    "type": 11,
    "guild_id": GUILD_ID,
    "parent_id": CHANNEL,
    "owner_id": USER,
    "name": "questions",
    "thread_metadata": {
        "archived": False,
        "auto_archive_duration": 1440,
        "archive_timestamp": "2026-02-08T20:00:00+00:00",
        "locked": False,
    },
    "member_count": 1,
    "message_count": 0,
    "rate_limit_per_user": 0,
    "flags": 0,
    "last_message_id": None,
}


@pytest.fixture
async def client() -> AsyncIterator[discord.Client]:
    """A client whose cache holds the bot user, the guild (owned by USER), #dev and a thread."""
    client = discord.Client(intents=discord.Intents.none())
    state = client._connection
    state.user = discord.ClientUser(state=state, data=copy.deepcopy(BOT_USER))  # type: ignore[arg-type]
    state.parse_guild_create(guild_payload())  # type: ignore[arg-type]
    state.parse_thread_create(copy.deepcopy(THREAD_CREATE))  # type: ignore[arg-type]
    yield client
    await client.close()


def message(
    client: discord.Client, content: str, channel: str = CHANNEL, **changes: Any
) -> discord.Message:
    data = load("message_create.json")
    data.update(channel_id=channel, content=content, **changes)
    where = client.get_channel(int(channel))
    return discord.Message(state=client._connection, channel=where, data=data)  # type: ignore[arg-type]


def convert(
    client: discord.Client, msg: discord.Message, *, message_content: bool = False
) -> tuple[InboundEvent | None, list[str]]:
    seen: list[str] = []
    event = message_event(
        msg,
        client.user,
        message_content=message_content,
        received_at=WHEN,
        thread_seen=seen.append,
    )
    return event, seen


def interaction(
    client: discord.Client, name: str = "interaction_button.json", **changes: Any
) -> discord.Interaction[Any]:
    data = load(name)
    data.update(changes)
    return discord.Interaction(data=data, state=client._connection)  # type: ignore[arg-type]


def digest_message(channel: str = CHANNEL) -> dict[str, Any]:
    data = load("message_create.json")
    data.update(id=THREAD, channel_id=channel, author=dict(BOT_USER), content="")
    return data


def thread_channel() -> dict[str, Any]:
    return {
        "id": THREAD,
        "type": 11,
        "guild_id": GUILD_ID,
        "parent_id": CHANNEL,
        "name": "questions",
        "permissions": "0",
    }


# -- gateway messages ------------------------------------------------------------------------


async def test_a_thread_message_with_message_content(client: discord.Client) -> None:
    event, seen = convert(client, message(client, "details abc1234", THREAD), message_content=True)
    assert event == InboundEvent(
        platform="discord",
        event_id=MESSAGE,
        user_id=USER,
        channel_id=CHANNEL,
        kind="message",
        text="details abc1234",
        thread_id=THREAD,
        message_id=MESSAGE,
        received_at=WHEN,
        is_channel_manager=True,  # USER owns the guild
        context={},
    )
    assert seen == [THREAD]  # the adapter learns the thread exists


async def test_without_message_content_only_mentions_count(client: discord.Client) -> None:
    plain = message(client, "details abc1234", THREAD)
    assert convert(client, plain) == (None, [])
    mention = message(
        client, f"<@{BOT_USER_ID}> details abc1234", THREAD, mentions=[dict(BOT_USER)]
    )
    event, seen = convert(client, mention)
    assert event is not None and event.kind == "mention" and event.text == "details abc1234"
    assert (event.channel_id, event.thread_id, seen) == (CHANNEL, THREAD, [THREAD])


async def test_a_top_level_mention_is_answered_as_a_reply(client: discord.Client) -> None:
    text = f"<@!{BOT_USER_ID}> help"
    event, seen = convert(client, message(client, text, mentions=[dict(BOT_USER)]))
    assert event is not None and (event.kind, event.text) == ("mention", "help")
    assert (event.channel_id, event.thread_id, seen) == (CHANNEL, None, [])
    assert event.context == {"answer_in_channel": MESSAGE, "reply_to": MESSAGE}


async def test_a_reply_to_a_digest_names_the_digest(client: discord.Client) -> None:
    reply = message(
        client,
        f"<@{BOT_USER_ID}> abc1234",
        type=19,
        mentions=[dict(BOT_USER)],
        message_reference={"message_id": THREAD, "channel_id": CHANNEL, "guild_id": GUILD_ID},
    )
    event, _ = convert(client, reply)
    assert event is not None and event.thread_id == THREAD and event.message_id == MESSAGE
    assert event.context == {"answer_in_channel": THREAD, "reply_to": MESSAGE}


@pytest.mark.parametrize(
    ("changes", "mentioned"),
    [
        ({"author": OTHER_BOT}, True),
        ({"author": dict(BOT_USER)}, True),
        ({"webhook_id": "1100000000000000700"}, True),
        ({"type": 18}, True),  # THREAD_CREATED, a system message
        ({}, False),  # top level without a mention: not even with Message Content
    ],
    ids=["bot", "ourselves", "webhook", "system", "top-level-plain"],
)
async def test_what_is_not_for_us(
    client: discord.Client, changes: dict[str, Any], mentioned: bool
) -> None:
    if mentioned:
        changes = {**changes, "mentions": [dict(BOT_USER)]}
    msg = message(client, f"<@{BOT_USER_ID}> details abc1234" if mentioned else "hi", **changes)
    assert convert(client, msg, message_content=True) == (None, [])


async def test_direct_messages_and_an_unknown_self_are_ignored(client: discord.Client) -> None:
    state = client._connection
    data = load("message_create.json")
    data.pop("guild_id")
    data.pop("member")
    data.update(content=f"<@{BOT_USER_ID}> help", mentions=[dict(BOT_USER)])
    dm = discord.DMChannel(
        me=state.user,  # type: ignore[arg-type]
        state=state,
        data={"id": "1100000000000000800", "type": 1, "recipients": [data["author"]]},  # type: ignore[typeddict-item]
    )
    direct = discord.Message(state=state, channel=dm, data=data)  # type: ignore[arg-type]
    assert direct.guild is None
    assert convert(client, direct) == (None, [])
    mention = message(client, f"<@{BOT_USER_ID}> help", mentions=[dict(BOT_USER)])
    assert message_event(mention, None, message_content=True, received_at=WHEN) is None


async def test_channel_managers(client: discord.Client) -> None:
    owner = message(client, "hi")
    assert manages(owner)
    stranger = message(client, "hi", author=STRANGER)
    assert not manages(stranger)  # @everyone has neither Manage Channels nor Administrator
    no_member = message(client, "hi", author=STRANGER)
    no_member.channel = discord.Object(id=1)  # type: ignore[assignment]
    assert not manages(no_member)  # nothing to ask: not a manager as far as we know


def test_strip_mention_keeps_other_mentions() -> None:
    assert strip_mention("<@!42> details abc1234 <@7>", 42) == "details abc1234 <@7>"
    assert strip_mention("<@&5> details abc1234 <@&6>", 42, 5) == "details abc1234 <@&6>"
    assert strip_mention("<@&5> details", 42) == "<@&5> details"


async def test_a_mention_of_the_bots_own_role_is_a_mention(client: discord.Client) -> None:
    # Typing "@digestbot" in Discord often picks the bot's managed role, not the bot user.
    me = client.user
    text = f"<@&{BOT_ROLE_ID}> details abc1234"
    own = message(client, text, THREAD, mention_roles=[BOT_ROLE_ID])
    event = message_event(own, me, message_content=False, received_at=WHEN)
    assert event is not None and (event.kind, event.text) == ("mention", "details abc1234")
    assert (event.channel_id, event.thread_id) == (CHANNEL, THREAD)
    other = message(client, f"<@&{OTHER_ROLE_ID}> details abc1234", mention_roles=[OTHER_ROLE_ID])
    assert message_event(other, me, message_content=False, received_at=WHEN) is None


# -- interactions ----------------------------------------------------------------------------


async def test_a_command_in_a_channel(client: discord.Client) -> None:
    command = interaction(client, "interaction_digest.json")
    event = interaction_event(command, "command", "widget 7d", received_at=WHEN)
    assert (event.kind, event.text, event.channel_id) == ("command", "widget 7d", CHANNEL)
    assert event.thread_id is None and event.message_id is None and event.button is None
    assert event.event_id == "1300000000000000000" and event.user_id == USER
    assert event.received_at == WHEN and not event.is_channel_manager
    assert event.context == {"interaction_channel": CHANNEL}


async def test_a_click_on_a_digest_at_the_top_level_names_it_as_the_thread(
    client: discord.Client,
) -> None:
    button = ButtonPayload("details", "acme/widget", "abc1234")
    seen: list[str] = []
    event = interaction_event(
        interaction(client, message=digest_message()),
        "button",
        button=button,
        received_at=WHEN,
        thread_seen=seen.append,
    )
    assert (event.channel_id, event.thread_id, event.message_id) == (CHANNEL, THREAD, THREAD)
    assert event.button == button and seen == []


async def test_a_click_in_a_thread_and_a_managers_click(client: discord.Client) -> None:
    data = load("interaction_button.json")
    member = dict(data["member"], permissions=MANAGER)
    seen: list[str] = []
    event = interaction_event(
        interaction(
            client,
            channel_id=THREAD,
            channel=thread_channel(),
            member=member,
            message=digest_message(THREAD),
        ),
        "button",
        received_at=WHEN,
        thread_seen=seen.append,
    )
    assert (event.channel_id, event.thread_id, seen) == (CHANNEL, THREAD, [THREAD])
    assert event.is_channel_manager
    assert event.context == {"interaction_channel": THREAD}


async def test_split_channel(client: discord.Client) -> None:
    thread = client.get_channel(int(THREAD))
    assert isinstance(thread, discord.Thread)
    assert split_channel(thread, thread.id) == (CHANNEL, THREAD)
    assert split_channel(client.get_channel(int(CHANNEL)), int(CHANNEL)) == (CHANNEL, None)
    assert split_channel(None, 5) == ("5", None)  # an uncached channel
