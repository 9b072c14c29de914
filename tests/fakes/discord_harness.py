"""Shared pieces of the Discord tests: the fake API, a repo with hostile commits, a logged-in
bot fed through discord.py's own gateway parsers, and checks over the recorded requests."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import re
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from digestbot.wiring import Core
from handlers.conversation.conversation import Conversation
from handlers.discord.service import DiscordBot
from handlers.discord.settings import DiscordConfig
from handlers.runtime.backoff import Backoff
from handlers.runtime.pacing import ChannelPacer
from tests.fakes.chat import DAY, TimedSource, build_chat_core, make_widget_repo, use_timed_source
from tests.fakes.conversations import conversation_of
from tests.fakes.discord_api import FakeDiscordApi
from tests.fakes.discord_gateway import FakeGateway
from tests.fakes.discord_payloads import APPLICATION_ID, BOT_TOKEN, BOT_USER_ID, snowflake_at
from tests.fakes.git_repo import GitRepoBuilder

DATA = Path(__file__).resolve().parents[1] / "data" / "discord"
CHANNEL = "1100000000000000200"
USER = "1100000000000000300"
OTHER_BOT = {
    "id": "1100000000000000400",
    "username": "ci",
    "discriminator": "0",
    "bot": True,
    "avatar": None,
    "global_name": None,
}
DISCORD_INJECTION = "fix: drop <@&111> <@222> @everyone [free nitro](https://evil.example) cache"
NO_MENTIONS: dict[str, list[str]] = {"parse": []}
# The role Discord creates for the bot when it joins a server (managed, tagged with the bot).
BOT_ROLE_ID = "1100000000000000110"
OTHER_ROLE_ID = "1100000000000000120"
# Retries in milliseconds, so tests see several attempts without sleeping for real.
FAST_BACKOFF = {"first": 0.02, "cap": 0.1}


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return data


def _role(role_id: str, name: str, *, bot_id: str | None = None) -> dict[str, Any]:
    role: dict[str, Any] = {
        "id": role_id,
        "name": name,
        "permissions": "0",
        "position": 1,
        "color": 0,
        "hoist": False,
        "managed": bot_id is not None,
        "mentionable": True,
        "icon": None,
        "unicode_emoji": None,
        "flags": 0,
    }
    if bot_id is not None:
        role["tags"] = {"bot_id": bot_id}
    return role


def guild_payload() -> dict[str, Any]:
    """GUILD_CREATE of the test server: its channel, @everyone, the bot's own managed role
    and one ordinary role."""
    guild = load("guild_create.json")
    guild["roles"] = [
        *guild["roles"],
        _role(BOT_ROLE_ID, "digestbot", bot_id=BOT_USER_ID),
        _role(OTHER_ROLE_ID, "maintainers"),
    ]
    return guild


class Clock:
    """The adapter's wall clock; tests move it (never sleep)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Env:
    fake: FakeDiscordApi
    core: Core
    conversation: Conversation
    timed: TimedSource
    shas: dict[str, str]
    clock: Clock
    sleeps: list[float]
    bots: list[DiscordBot] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: iter(range(1, 10**6)))

    async def bot(self, **config: Any) -> DiscordBot:
        """A logged-in bot (REST only; the gateway is replaced by feeding its parsers)."""
        monotonic = [0.0]

        async def sleep(seconds: float) -> None:
            self.sleeps.append(round(seconds, 6))
            monotonic[0] += seconds

        bot = DiscordBot(
            self.conversation,
            DiscordConfig(token=BOT_TOKEN, **config),
            repo_names=self.core.resolver.names,
            clock=self.clock,
            pacer=ChannelPacer(1.0, clock=lambda: monotonic[0], sleep=sleep),
        )
        await bot.login()
        bot.client._connection.parse_guild_create(guild_payload())  # type: ignore[arg-type]
        self.bots.append(bot)
        return bot

    def unstarted_bot(self, *, backoff: Backoff | None = None, **config: Any) -> DiscordBot:
        """A bot `start` connects (login and gateway in the background), retrying fast."""
        bot = DiscordBot(
            self.conversation,
            DiscordConfig(token=BOT_TOKEN, **config),
            repo_names=self.core.resolver.names,
            clock=self.clock,
            backoff=backoff or Backoff(**FAST_BACKOFF),
        )
        # READY waits this long for more GUILD_CREATEs before on_ready (discord.py: 2 s).
        bot.client._connection.guild_ready_timeout = 0.05
        self.bots.append(bot)
        return bot

    def interaction(self, name: str, **changes: Any) -> dict[str, Any]:
        payload = load(name)
        n = next(self._ids)
        payload["id"] = snowflake_at(self.clock.now, n)
        payload["token"] = f"{payload['token']}-{n}"
        payload.update(changes)
        return payload

    def message(self, content: str, channel_id: str, **changes: Any) -> dict[str, Any]:
        payload = load("message_create.json")
        payload.update(
            id=snowflake_at(self.clock.now, next(self._ids)), channel_id=channel_id, content=content
        )
        payload.update(changes)
        return payload


@contextlib.asynccontextmanager
async def fake_gateway() -> AsyncIterator[FakeGateway]:
    """A fake gateway discord.py connects to instead of wss://gateway.discord.gg."""
    gateway = await FakeGateway(guild_payload()).start()
    old = DiscordWebSocket.DEFAULT_GATEWAY
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway.url)
    try:
        yield gateway
    finally:
        DiscordWebSocket.DEFAULT_GATEWAY = old
        await gateway.close()


async def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll `condition` on the loop (the gateway works in the background) until it holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)


async def settle() -> None:
    """Wait until every task the dispatch started (and the tasks they started) is done."""
    for _ in range(100):
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
        if not tasks:
            return
        await asyncio.wait(tasks, timeout=60)
    raise AssertionError("tasks kept spawning")


async def dispatch(env: Env, bot: DiscordBot, payload: dict[str, Any]) -> None:
    """INTERACTION_CREATE through discord.py's gateway parser (tree / dynamic items)."""
    env.fake.interaction_created(payload)
    bot.client._connection.parse_interaction_create(payload)  # type: ignore[arg-type]
    await settle()


async def gateway_message(bot: DiscordBot, payload: dict[str, Any]) -> None:
    bot.client._connection.parse_message_create(payload)  # type: ignore[arg-type]
    await settle()


@contextlib.asynccontextmanager
async def discord_env(tmp_path: Path) -> AsyncIterator[Env]:
    """A fake Discord API (Route.BASE pointed at it), a real repo, core and conversation."""
    repo_path = tmp_path / "widget"
    shas = make_widget_repo(repo_path)
    shas["discord_injection"] = GitRepoBuilder(repo_path).commit(
        DISCORD_INJECTION, {"src/cache.py": "CACHE = {}\n"}, when=DAY.replace(hour=13)
    )
    fake = FakeDiscordApi().start()
    fake.add_channel(CHANNEL)
    old_base = Route.BASE
    Route.BASE = fake.base_url
    core = build_chat_core(tmp_path, repo_path)
    timed = use_timed_source(core)
    conversation = conversation_of(core)
    environment = Env(fake, core, conversation, timed, shas, Clock(), [])
    try:
        yield environment
    finally:
        for bot in environment.bots:
            await bot.stop(10)
        await core.aclose()
        Route.BASE = old_base
        fake.close()


# -- helpers over the recorded requests -------------------------------------------------------


def sent_bodies(fake: FakeDiscordApi) -> list[dict[str, Any]]:
    """Every message body that puts text in front of users (channel posts, follow-ups,
    interaction responses with a message)."""
    bodies = []
    for call in fake.calls:
        body = call.body
        if not isinstance(body, dict):
            continue
        if call.path.endswith("/callback"):
            body = body.get("data") or {}
        if "content" in body or "embeds" in body:
            bodies.append(body)
    return bodies


def visible_texts(body: dict[str, Any]) -> list[str]:
    texts = [str(body.get("content") or "")]
    for embed in body.get("embeds") or []:
        texts += [str(embed.get("title") or ""), str(embed.get("description") or "")]
        texts.append(str((embed.get("footer") or {}).get("text") or ""))
        for f in embed.get("fields") or []:
            texts += [str(f["name"]), str(f["value"])]
    return texts


def assert_inert(fake: FakeDiscordApi) -> None:
    """No mention can fire and no foreign link renders in anything the bot sent."""
    bodies = sent_bodies(fake)
    assert bodies
    for body in bodies:
        assert body["allowed_mentions"] == NO_MENTIONS, body
        for text in visible_texts(body):
            assert not re.search(r"@(everyone|here)\b", text), text
            assert not re.search(r"(?<!\\)<[@#]", text), text
            assert not re.search(r"(?<!\\)\]\(https://evil", text), text


def followups(fake: FakeDiscordApi, token: str) -> list[dict[str, Any]]:
    path = rf"/webhooks/{APPLICATION_ID}/{re.escape(token)}"
    return [c.body for c in fake.calls_to("POST", path)]


def channel_posts(fake: FakeDiscordApi, channel: str) -> list[dict[str, Any]]:
    return [c.body for c in fake.calls_to("POST", rf"/channels/{channel}/messages")]


def digest_message(fake: FakeDiscordApi) -> dict[str, Any]:
    roots = [m for m in fake.messages(CHANNEL) if m["components"]]
    assert len(roots) == 1
    return roots[0]


async def post_digest(env: Env, bot: DiscordBot) -> dict[str, Any]:
    await dispatch(env, bot, env.interaction("interaction_digest.json"))
    return digest_message(env.fake)


def click(env: Env, message: dict[str, Any], sha: str) -> dict[str, Any]:
    custom_id = next(
        b["custom_id"]
        for row in message["components"]
        for b in row["components"]
        if b["custom_id"].endswith(sha[:12])
    )
    payload = env.interaction("interaction_button.json", message=copy.deepcopy(message))
    payload["data"] = {"custom_id": custom_id, "component_type": 2}
    return payload


async def start_user_thread(env: Env, bot: DiscordBot, root: dict[str, Any]) -> str:
    thread = env.fake.user_starts_thread(CHANNEL, root["id"], "questions", USER)
    bot.client._connection.parse_thread_create(thread)  # type: ignore[arg-type]
    return str(thread["id"])
