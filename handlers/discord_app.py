"""The Discord bot: a discord.py gateway client feeding the conversation layer — `/digest`
(an application command), the persistent Details button, and messages in digest threads."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import discord

from bot.app import Core
from bot.config import Settings
from bot.doctor import Check
from bot.errors import ConfigError, PlatformError
from handlers.conversation import Conversation
from handlers.discord_adapter import PLATFORM, POST_INTERVAL_SECONDS, DetailsMode, DiscordAdapter
from handlers.discord_buttons import DetailsButton
from handlers.discord_commands import build_command_tree, parse_guild_ids
from handlers.inflight import InFlight
from handlers.pacing import ChannelPacer
from handlers.ports import ButtonPayload, EventKind, InboundEvent

log = logging.getLogger(__name__)

WORKING = "Working on it…"
# discord.py waits out 429s up to this long, then raises RateLimited (we report it).
MAX_RATELIMIT_WAIT = 60.0
READY_TIMEOUT = 60.0  # how long `start` waits for the gateway before carrying on
# View Channel, Send Messages, Send Messages in Threads, Create Public Threads, Embed Links,
# Read Message History (https://discord.com/developers/docs/topics/permissions); the README's
# "Run on Discord" says what each is for.
INVITE_PERMISSIONS = 309_237_730_304
TOKEN_REFUSED = "Discord refused DISCORD_BOT_TOKEN; copy the bot token again."
INTENTS_HELP = (
    "Discord refused the Message Content intent. Enable it in the Developer Portal (Bot → "
    "Privileged Gateway Intents) or set DISCORD_MESSAGE_CONTENT=false."
)


@dataclass(frozen=True)
class DiscordConfig:
    """What the Discord bot needs; `from_settings` is None when Discord is not configured."""

    token: str
    guild_ids: tuple[int, ...] = ()
    details_mode: DetailsMode = "ephemeral"
    message_content: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> DiscordConfig | None:
        secret = settings.discord_bot_token
        token = secret.get_secret_value().strip() if secret is not None else ""
        if not token:
            return None
        return cls(
            token=token,
            guild_ids=tuple(parse_guild_ids([settings.discord_guild_ids])),
            details_mode=settings.discord_details_mode,
            message_content=settings.discord_message_content,
        )


def intents_for(config: DiscordConfig) -> discord.Intents:
    """Guilds (channel and thread cache) and guild messages; Message Content only if asked."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.message_content = config.message_content
    return intents


class DigestClient(discord.Client):
    """discord.Client carrying the `/digest` tree, the Details button and our handlers."""

    def __init__(self, bot: DiscordBot, *, intents: discord.Intents) -> None:
        super().__init__(
            intents=intents,
            allowed_mentions=discord.AllowedMentions.none(),
            max_ratelimit_timeout=MAX_RATELIMIT_WAIT,
        )
        self.command_handler = bot  # read by handlers.discord_commands
        self.details_handler = bot  # read by handlers.discord_buttons
        self._bot = bot
        self.tree = build_command_tree(self)

    async def setup_hook(self) -> None:
        # Registered on every start: buttons of digests posted before a restart keep working.
        self.add_dynamic_items(DetailsButton)

    async def on_message(self, message: discord.Message) -> None:
        await self._bot.on_message(message)


class DiscordBot:
    """Owns the client and the adapter; a `serve` service (start/stop)."""

    def __init__(
        self,
        conversation: Conversation,
        config: DiscordConfig,
        *,
        repo_names: Callable[[], list[str]] = list,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        pacer: ChannelPacer | None = None,
        inflight: InFlight | None = None,
    ) -> None:
        self.config = config
        self.conversation = conversation
        self._repo_names = repo_names
        self._clock = clock
        self.inflight = inflight or InFlight()
        self.client = DigestClient(self, intents=intents_for(config))
        self.adapter = DiscordAdapter(
            self.client,
            pacer=pacer or ChannelPacer(POST_INTERVAL_SECONDS),
            clock=clock,
            details_mode=config.details_mode,
        )
        self._gateway: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return "discord"

    async def login(self) -> None:
        """REST login (GET /users/@me, the application): enough to answer interactions."""
        try:
            await self.client.login(self.config.token)
        except discord.LoginFailure as exc:
            raise ConfigError(TOKEN_REFUSED) from exc
        except discord.HTTPException as exc:
            raise PlatformError("Discord login failed.", detail=f"{exc.status} {exc.text}") from exc

    async def start(self) -> None:
        await self.login()
        self._gateway = asyncio.create_task(self.client.connect(reconnect=True), name="discord")
        ready = asyncio.create_task(self.client.wait_until_ready())
        done, _ = await asyncio.wait(
            {self._gateway, ready}, timeout=READY_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
        ready.cancel()
        if self._gateway in done:
            error = self._gateway.exception()
            if isinstance(error, discord.PrivilegedIntentsRequired):
                raise ConfigError(INTENTS_HELP) from error
            raise PlatformError("The Discord gateway connection ended.", detail=repr(error))
        if not done:
            log.warning("Discord gateway not ready after %.0f s; still trying", READY_TIMEOUT)
        log.info(
            "Discord bot started as %s; invite it with %s",
            self.client.user,
            invite_url(self.client.application_id),
        )

    async def stop(self, timeout: float = 60.0) -> None:
        """Take no new events, let in-flight replies finish, close the connection."""
        await self.inflight.drain(timeout)
        await self.client.close()
        if self._gateway is not None:
            with contextlib.suppress(asyncio.CancelledError, discord.DiscordException, OSError):
                await self._gateway

    # -- handlers (called by the client, the command tree and the Details button) --------------

    def repo_names(self) -> list[str]:
        return self._repo_names()

    async def on_digest_command(self, interaction: discord.Interaction[Any], text: str) -> None:
        # Ack first: Discord allows 3 s, and nothing below may run before it
        # (https://discord.com/developers/docs/interactions/receiving-and-responding#responding-to-an-interaction).
        if not await self._defer(interaction, ephemeral=True, thinking=True):
            return
        event = self.interaction_event(interaction, "command", text)
        reply = self.conversation.ack(event)
        self.adapter.remember(event, interaction)
        # The first follow-up replaces the ephemeral "thinking…" state, so the answers after it
        # (the digest) can be public.
        await self._tell(event, reply.text if reply.text is not None else WORKING)
        if reply.done:
            self.adapter.forget(event)
            return
        self._spawn(event, acked=reply.text is not None)

    async def on_details_click(
        self, interaction: discord.Interaction[Any], repo: str, sha: str
    ) -> None:
        ephemeral = self.config.details_mode == "ephemeral"
        # Ephemeral: "thinking…" only the clicker sees, replaced by the details. Thread: a
        # silent acknowledgement; the details appear in the digest's thread.
        if not await self._defer(interaction, ephemeral=ephemeral, thinking=ephemeral):
            return
        button = ButtonPayload("details", repo, sha)
        event = self.interaction_event(interaction, "button", button=button)
        self.adapter.remember(event, interaction)
        self._spawn(event, acked=False)

    async def on_message(self, message: discord.Message) -> None:
        event = self.message_event(message)
        if event is not None:
            self._spawn(event, acked=False)

    async def _defer(
        self, interaction: discord.Interaction[Any], *, ephemeral: bool, thinking: bool
    ) -> bool:
        try:
            await interaction.response.defer(ephemeral=ephemeral, thinking=thinking)
        except discord.InteractionResponded:
            return False
        except discord.HTTPException as exc:
            # 40060 already acknowledged (a redelivery), 10062 unknown (too late): not ours now.
            log.info("interaction %s not acknowledged: %s %s", interaction.id, exc.status, exc.code)
            return False
        return True

    async def _tell(self, event: InboundEvent, text: str) -> None:
        try:
            await self.adapter.send_ephemeral(event, text)
        except PlatformError as exc:
            log.warning("could not acknowledge interaction %s: %s", event.event_id, exc)

    def _spawn(self, event: InboundEvent, *, acked: bool) -> None:
        async def answer() -> None:
            try:
                await self.conversation.handle(event, self.adapter, acked=acked)
            finally:
                self.adapter.forget(event)

        if not self.inflight.spawn(answer(), name=f"discord-{event.kind}-{event.event_id}"):
            self.adapter.forget(event)
            log.info("shutting down; discord event %s dropped", event.event_id)

    # -- discord.py objects -> InboundEvent ----------------------------------------------------

    def interaction_event(
        self,
        interaction: discord.Interaction[Any],
        kind: EventKind,
        text: str = "",
        *,
        button: ButtonPayload | None = None,
    ) -> InboundEvent:
        channel_id, thread_id = self._split(interaction.channel, interaction.channel_id)
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
            received_at=self._clock(),
            is_channel_manager=permissions.manage_channels or permissions.administrator,
            context={"interaction_channel": str(interaction.channel_id)},
        )

    def message_event(self, message: discord.Message) -> InboundEvent | None:
        """None for what is not for us: bots (ourselves included), webhooks, system messages,
        DMs, and plain messages outside threads or (without Message Content) not mentioning us."""
        me = self.client.user
        author = message.author
        if me is None or author.bot or author.id == me.id or message.webhook_id is not None:
            return None
        if message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return None
        if message.guild is None:
            return None
        mentioned = any(user.id == me.id for user in message.mentions)
        in_thread = isinstance(message.channel, discord.Thread)
        if not mentioned and not (in_thread and self.config.message_content):
            return None
        channel_id, thread_id = self._split(message.channel, message.channel.id)
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
            text=strip_mention(message.content, me.id),
            thread_id=thread_id,
            message_id=str(message.id),
            received_at=self._clock(),
            is_channel_manager=_manages(message),
            context=context,
        )

    def _split(self, channel: Any, channel_id: int | None) -> tuple[str, str | None]:
        """(the channel, the thread's root message) — a thread's id is its starter message's."""
        if isinstance(channel, discord.Thread) and channel.parent_id is not None:
            self.adapter.known_thread(str(channel.id))
            return str(channel.parent_id), str(channel.id)
        return str(channel_id), None


def invite_url(application_id: int | None) -> str:
    """The OAuth2 URL that adds the bot with `/digest` and exactly the permissions it uses."""
    return (
        f"https://discord.com/oauth2/authorize?client_id={application_id or 'APPLICATION_ID'}"
        f"&scope=bot+applications.commands&permissions={INVITE_PERMISSIONS}"
    )


def strip_mention(text: str, user_id: int) -> str:
    """Remove `<@ID>` / `<@!ID>` of our bot (other mentions stay as they are)."""
    return re.sub(rf"<@!?{user_id}>", " ", text).strip()


def _manages(message: discord.Message) -> bool:
    try:
        permissions = message.channel.permissions_for(message.author)  # type: ignore[arg-type]
    except (discord.ClientException, AttributeError, TypeError):
        return False  # uncached parent channel or member: not a manager as far as we know
    return bool(permissions.manage_channels or permissions.administrator)


def build_discord_service(core: Core, conversation: Conversation) -> DiscordBot | None:
    """The Discord bot for `digestbot serve`, or None when DISCORD_BOT_TOKEN is unset."""
    config = DiscordConfig.from_settings(core.settings)
    if config is None:
        return None
    return DiscordBot(conversation, config, repo_names=core.resolver.names, clock=core.clock)


# -- digestbot doctor ----------------------------------------------------------------------

# Application flags: the Message Content intent is enabled (verified apps: limited)
# https://discord.com/developers/docs/resources/application#application-object-application-flags
MESSAGE_CONTENT_FLAGS = (1 << 18) | (1 << 19)


async def doctor_check(settings: Settings) -> Check | None:
    """GET /users/@me with the bot token (and, when DISCORD_MESSAGE_CONTENT is on, the
    application's intent flags); None when Discord is not configured."""
    config = DiscordConfig.from_settings(settings)
    if config is None:
        return None
    http = discord.http.HTTPClient(asyncio.get_running_loop())
    try:
        user = await http.static_login(config.token)
        if config.message_content:
            app = await http.application_info()
            if not int(app.get("flags") or 0) & MESSAGE_CONTENT_FLAGS:
                return Check.failed("discord", "the Message Content intent is off", INTENTS_HELP)
    except discord.LoginFailure:
        return Check.failed(
            "discord",
            "Discord refused DISCORD_BOT_TOKEN (401)",
            "Developer Portal → your app → Bot → Reset Token, and put the new "
            "token in DISCORD_BOT_TOKEN (the bot token, not the client "
            "secret or the public key).",
        )
    except discord.HTTPException as exc:
        return Check.failed(
            "discord",
            f"Discord answered HTTP {exc.status} (code {exc.code})",
            "Retry later; https://discordstatus.com shows outages.",
        )
    except (aiohttp.ClientError, OSError) as exc:
        return Check.failed(
            "discord",
            f"Discord could not be reached ({type(exc).__name__})",
            "Check the network and proxy.",
        )
    finally:
        await http.close()
    name = f"{user.get('username', '?')} (id {user.get('id', '?')})"
    return Check.passed("discord", f"logged in as {name}; invite: {invite_url(_int(user))}")


def _int(user: Any) -> int | None:
    try:
        return int(user.get("id"))
    except (TypeError, ValueError):
        return None
