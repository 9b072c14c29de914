"""The Discord bot end to end: discord.py's own objects (gateway parsers, the command tree, the
dynamic Details button) against a fake Discord REST API, a real git repo, the heuristic analyzer."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.storage.conversations import SqlConversationStore
from digestbot.chat_wiring import build_runtime
from formatters.discord_embeds import embed_size
from handlers.discord.app_commands import command_text
from handlers.discord.outbound import DiscordAdapter
from handlers.discord.service import build
from handlers.discord.settings import DiscordSettings
from handlers.platform import PlatformContext, RequestHandler
from tests.fakes.chat import use_timed_source
from tests.fakes.conversations import conversation_of
from tests.fakes.discord_harness import (
    BOT_ROLE_ID,
    CHANNEL,
    NO_MENTIONS,
    OTHER_BOT,
    Env,
    assert_inert,
    channel_posts,
    click,
    digest_message,
    discord_env,
    dispatch,
    followups,
    gateway_message,
    post_digest,
    settle,
    start_user_thread,
)
from tests.fakes.discord_payloads import (
    APPLICATION_ID,
    BOT_TOKEN,
    BOT_USER,
    BOT_USER_ID,
    EPHEMERAL,
    GUILD_ID,
)
from tests.fakes.platforms import platform_settings


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    async with discord_env(tmp_path) as environment:
        yield environment


# -- /digest ---------------------------------------------------------------------------------


async def test_login_against_the_fake_and_no_mentions_on_the_client(env: Env) -> None:
    bot = await env.bot()
    assert bot.client.user is not None and str(bot.client.user.id) == BOT_USER_ID
    assert bot.client.application_id == int(APPLICATION_ID)
    assert bot.client.allowed_mentions is not None
    assert dict(bot.client.allowed_mentions.to_dict()) == NO_MENTIONS
    assert [c.path for c in env.fake.calls] == ["/users/@me", "/oauth2/applications/@me"]


async def test_digest_command_defers_before_any_work_then_posts_embeds(env: Env) -> None:
    bot = await env.bot()
    env.fake.reset_calls()
    payload = env.interaction("interaction_digest.json")
    await dispatch(env, bot, payload)

    first = env.fake.calls[0]
    assert first.path == f"/interactions/{payload['id']}/{payload['token']}/callback"
    assert first.body == {"type": 5, "data": {"flags": EPHEMERAL}}
    assert env.timed.started, "the digest was never built"
    assert all(started > first.at for _, started in env.timed.started)

    ack, digest = followups(env.fake, payload["token"])
    assert "Building the digest of acme/widget" in ack["content"] and ack["flags"] == EPHEMERAL
    assert env.fake.interaction(payload["token"]).original is not None  # "thinking…" replaced
    assert not digest.get("flags")  # the digest itself is public
    assert digest["allowed_mentions"] == NO_MENTIONS
    assert len(digest["embeds"]) <= 10
    assert sum(embed_size(e) for e in digest["embeds"]) <= 6000
    custom_ids = [b["custom_id"] for row in digest["components"] for b in row["components"]]
    assert f"dg:details:acme/widget:{env.shas['feature'][:12]}" in custom_ids
    assert "free nitro" in json.dumps(digest["embeds"])  # the hostile commit is listed…

    root = digest_message(env.fake)
    thread = SqlConversationStore(env.core.store.engine).find_thread("discord", CHANNEL, root["id"])
    assert thread is not None and thread.repo == "acme/widget"
    assert env.shas["feature"] in thread.shas
    assert_inert(env.fake)  # …and inert


async def test_unknown_repo_is_answered_ephemerally_and_does_no_work(env: Env) -> None:
    bot = await env.bot()
    payload = env.interaction("interaction_digest.json")
    payload["data"]["options"] = [
        {"name": "repo", "type": 3, "value": "<@&123> [x](https://evil.example)"}
    ]
    await dispatch(env, bot, payload)
    (answer,) = followups(env.fake, payload["token"])
    assert answer["flags"] == EPHEMERAL and "repository" in answer["content"]
    assert "\\[x\\](" in answer["content"]  # echoed, escaped (the link defanged, too)
    assert "https://evil.example" not in answer["content"].replace("\\", "")
    assert env.timed.started == []
    assert env.fake.messages(CHANNEL) == []
    assert_inert(env.fake)


async def test_options_become_the_command_text(env: Env) -> None:
    assert command_text("widget", "7d", "zh", "high") == "widget 7d lang zh min high"
    assert command_text(" widget ", None, None, None) == "widget"
    bot = await env.bot()
    payload = env.interaction("interaction_digest.json")
    payload["data"]["options"] = [
        {"name": "repo", "type": 3, "value": "widget"},
        {"name": "lang", "type": 3, "value": "zh"},
        {"name": "min", "type": 3, "value": "medium"},
    ]
    await dispatch(env, bot, payload)
    digest = followups(env.fake, payload["token"])[-1]
    assert "每日更新报告" in digest["content"]  # lang zh
    titles = [str(e.get("title") or "") for e in digest["embeds"]]
    assert any(t.startswith("🟡") for t in titles)
    assert not any(t.startswith("🟢") for t in titles)  # min medium: no low section


async def test_duplicate_interaction_gets_one_reply(env: Env) -> None:
    bot = await env.bot()
    payload = env.interaction("interaction_digest.json")
    await dispatch(env, bot, payload)
    bot.client._connection.parse_interaction_create(copy.deepcopy(payload))  # type: ignore[arg-type]
    await settle()
    callbacks = env.fake.calls_to("POST", rf"/interactions/{payload['id']}/.*/callback")
    assert len(callbacks) == 2  # Discord refuses the second acknowledgement (40060)
    assert len(followups(env.fake, payload["token"])) == 2  # the ack and one digest
    assert len([m for m in env.fake.messages(CHANNEL) if m["components"]]) == 1


async def test_slow_digest_posts_to_the_channel_after_the_token_expires(env: Env) -> None:
    gate = asyncio.Event()
    env.timed = use_timed_source(env.core, gate)
    env.conversation = conversation_of(env.core)
    bot = await env.bot()
    payload = env.interaction("interaction_digest.json")
    env.fake.interaction_created(payload)
    bot.client._connection.parse_interaction_create(payload)  # type: ignore[arg-type]
    for _ in range(2000):  # until the work has started (and is held at the gate)
        if env.timed.started:
            break
        await asyncio.sleep(0.005)
    assert env.timed.started
    env.clock.now += timedelta(minutes=20)
    gate.set()
    await settle()
    assert len(followups(env.fake, payload["token"])) == 1  # only the ack
    (post,) = channel_posts(env.fake, CHANNEL)
    assert post["embeds"] and post["allowed_mentions"] == NO_MENTIONS
    root = digest_message(env.fake)
    assert "webhook_id" not in root and root["author"]["id"] == BOT_USER_ID


# -- Details button --------------------------------------------------------------------------


async def test_details_button_answers_ephemerally_even_after_a_restart(env: Env) -> None:
    first = await env.bot()
    root = await post_digest(env, first)
    await first.stop(10)
    restarted = await env.bot()  # a new process: only the custom_id template knows the button
    env.fake.reset_calls()
    payload = click(env, root, env.shas["feature"])
    await dispatch(env, restarted, payload)

    callback = env.fake.calls[0]
    assert callback.path.endswith("/callback")
    assert callback.body == {"type": 5, "data": {"flags": EPHEMERAL}}
    (details,) = followups(env.fake, payload["token"])
    assert env.fake.interaction(payload["token"]).original is not None
    assert "add streaming endpoint" in details["embeds"][0]["title"]
    assert details["allowed_mentions"] == NO_MENTIONS
    assert channel_posts(env.fake, CHANNEL) == [] and env.fake.thread(root["id"]) is None
    assert_inert(env.fake)


async def test_details_button_in_thread_mode_replies_in_the_digest_thread(env: Env) -> None:
    bot = await env.bot(details_mode="thread")
    root = await post_digest(env, bot)
    env.fake.reset_calls()
    await dispatch(env, bot, click(env, root, env.shas["feature"]))

    assert env.fake.calls[0].body == {"type": 6}  # silent acknowledgement
    assert env.fake.thread(root["id"]) is not None
    (details,) = channel_posts(env.fake, root["id"])
    assert "add streaming endpoint" in details["embeds"][0]["title"]
    posted = env.fake.messages(root["id"])[0]
    store = SqlConversationStore(env.core.store.engine)
    thread = store.find_thread("discord", CHANNEL, posted["id"])
    assert thread is not None and thread.root_message_id == root["id"]
    assert_inert(env.fake)


# -- thread messages -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["details {sha7}", "{sha7}", "what could break with {sha7}?"],
    ids=["details", "bare-sha", "question"],
)
async def test_thread_message_gets_the_details_in_the_thread(env: Env, text: str) -> None:
    bot = await env.bot(message_content=True)
    root = await post_digest(env, bot)
    thread = await start_user_thread(env, bot, root)
    env.fake.reset_calls()
    content = text.format(sha7=env.shas["feature"][:7])
    await gateway_message(bot, env.message(content, thread))

    (details,) = channel_posts(env.fake, thread)
    assert "add streaming endpoint" in details["embeds"][0]["title"]
    assert env.fake.calls_to("POST", r"/channels/\d+/messages/\d+/threads") == []
    assert_inert(env.fake)


async def test_without_message_content_only_mentions_are_answered(env: Env) -> None:
    bot = await env.bot(message_content=False)
    root = await post_digest(env, bot)
    thread = await start_user_thread(env, bot, root)
    env.fake.reset_calls()
    sha7 = env.shas["feature"][:7]
    await gateway_message(bot, env.message(f"details {sha7}", thread))
    assert env.fake.calls == []
    mention = env.message(f"<@{BOT_USER_ID}> details {sha7}", thread, mentions=[BOT_USER])
    await gateway_message(bot, mention)
    (details,) = channel_posts(env.fake, thread)
    assert "add streaming endpoint" in details["embeds"][0]["title"]


@pytest.mark.parametrize("how", ["user-mention", "role-mention", "reply-with-ping"])
async def test_the_discord_hint_is_answered_without_message_content(env: Env, how: str) -> None:
    """`@digestbot details <sha>` works with the default DISCORD_MESSAGE_CONTENT=false, however
    the Discord client fills in the mention: the bot user, the bot's own role (what the
    mention picker often offers), or a reply to the digest that pings its author."""
    bot = await env.bot()
    assert not bot.client.intents.message_content
    root = await post_digest(env, bot)
    sha7 = env.shas["feature"][:7]
    if how == "reply-with-ping":
        where = CHANNEL
        message = env.message(
            f"details {sha7}",  # the ping rides in `mentions`, not in the text
            CHANNEL,
            type=19,
            mentions=[BOT_USER],
            message_reference={"type": 0, "message_id": root["id"], "channel_id": CHANNEL},
        )
    else:
        where = await start_user_thread(env, bot, root)
        mention = f"<@{BOT_USER_ID}>" if how == "user-mention" else f"<@&{BOT_ROLE_ID}>"
        message = env.message(
            f"{mention} details {sha7}",
            where,
            mentions=[BOT_USER] if how == "user-mention" else [],
            mention_roles=[BOT_ROLE_ID] if how == "role-mention" else [],
        )
    env.fake.reset_calls()
    await gateway_message(bot, message)
    (details,) = channel_posts(env.fake, where)
    assert "add streaming endpoint" in details["embeds"][0]["title"]
    assert_inert(env.fake)


async def test_duplicate_message_gets_one_reply_and_bots_are_ignored(env: Env) -> None:
    bot = await env.bot(message_content=True)
    root = await post_digest(env, bot)
    thread = await start_user_thread(env, bot, root)
    env.fake.reset_calls()
    sha7 = env.shas["feature"][:7]
    message = env.message(f"details {sha7}", thread)
    await gateway_message(bot, message)
    await gateway_message(bot, copy.deepcopy(message))  # a gateway replay after RESUME
    assert len(channel_posts(env.fake, thread)) == 1
    await gateway_message(bot, env.message(f"details {sha7}", thread, author=OTHER_BOT))
    await gateway_message(bot, env.message(f"details {sha7}", thread, author=dict(BOT_USER)))
    assert len(channel_posts(env.fake, thread)) == 1


async def test_sha_outside_the_digest_is_explained_in_the_thread(env: Env) -> None:
    bot = await env.bot(message_content=True)
    root = await post_digest(env, bot)
    thread = await start_user_thread(env, bot, root)
    env.fake.reset_calls()
    await gateway_message(bot, env.message("what about 1234567? @everyone <@&1>", thread))
    (notice,) = channel_posts(env.fake, thread)
    assert "not one of this digest's commits" in notice["content"]
    assert_inert(env.fake)


async def test_top_level_mention_is_answered_as_a_reply(env: Env) -> None:
    bot = await env.bot()
    message = env.message(f"<@{BOT_USER_ID}> help", CHANNEL, mentions=[BOT_USER])
    await gateway_message(bot, message)
    (answer,) = channel_posts(env.fake, CHANNEL)
    assert "digestbot commands" in answer["content"]
    assert answer["message_reference"]["message_id"] == message["id"]
    assert env.fake.calls_to("POST", r"/channels/\d+/messages/\d+/threads") == []


async def test_a_reply_to_a_digest_finds_it_and_is_answered_in_the_channel(env: Env) -> None:
    bot = await env.bot()
    root = await post_digest(env, bot)
    env.fake.reset_calls()
    reply = env.message(
        f"<@{BOT_USER_ID}> {env.shas['feature'][:7]}",  # a bare SHA: must be the digest's
        CHANNEL,
        type=19,
        mentions=[BOT_USER],
        message_reference={
            "type": 0,
            "message_id": root["id"],
            "channel_id": CHANNEL,
            "guild_id": GUILD_ID,
        },
    )
    await gateway_message(bot, reply)
    (details,) = channel_posts(env.fake, CHANNEL)
    assert "add streaming endpoint" in details["embeds"][0]["title"]
    assert details["message_reference"]["message_id"] == reply["id"]
    assert env.fake.calls_to("POST", r"/channels/\d+/messages/\d+/threads") == []


class Routes:
    """Where an HTTP-mode platform would register; Discord (a gateway bot) registers nothing."""

    def __init__(self) -> None:
        self.added: list[tuple[str, str]] = []

    def add_route(self, method: str, path: str, handler: RequestHandler) -> None:
        self.added.append((method, path))


def context_of(env: Env, routes: Routes) -> PlatformContext:
    return PlatformContext(
        conversation=env.conversation,
        clock=env.clock,
        routes=routes,
        repo_names=env.core.resolver.names,
        language=None,
    )


async def test_service_is_built_only_with_a_token(env: Env) -> None:
    routes = Routes()
    context = context_of(env, routes)
    unset = DiscordSettings(_env_file=None, bot_token=None)  # type: ignore[call-arg]
    assert build(unset, context) is None
    settings = DiscordSettings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=SecretStr(BOT_TOKEN),
        guild_ids="1, 2",
        details_mode="thread",
    )
    bot = build(settings, context)
    assert bot is not None and bot.config.guild_ids == (1, 2)
    assert bot.config.details_mode == "thread" and not bot.client.intents.message_content
    assert bot.repo_names() == ["acme/widget", "widget"]
    assert bot.conversation is env.conversation and routes.added == []


async def test_serve_runs_the_discord_bot_when_its_token_is_set(env: Env) -> None:
    settings = DiscordSettings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=SecretStr(BOT_TOKEN),
    )
    runtime = build_runtime(env.core, platform_settings(discord=settings))
    assert [s.name for s in runtime.services] == ["discord", "scheduler", "alerts"]
    assert isinstance(runtime.adapters["discord"], DiscordAdapter)
