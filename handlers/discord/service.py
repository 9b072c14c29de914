"""The running Discord bot: the gateway client, its start/stop, the handlers, and `build`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import discord

from bot.errors import ConfigError, PlatformError
from handlers.conversation.conversation import Conversation
from handlers.discord.app_commands import build_command_tree
from handlers.discord.buttons import DetailsButton
from handlers.discord.gateway import TOKEN_REFUSED, GatewayLink
from handlers.discord.inbound import interaction_event, message_event
from handlers.discord.outbound import POST_INTERVAL_SECONDS, DiscordAdapter
from handlers.discord.settings import DiscordConfig, DiscordSettings
from handlers.platform import PlatformContext
from handlers.ports import ButtonPayload, InboundEvent
from handlers.runtime.backoff import Backoff
from handlers.runtime.inflight import InFlight
from handlers.runtime.pacing import ChannelPacer

log = logging.getLogger(__name__)

WORKING = "Working on it…"
# discord.py waits out 429s up to this long, then raises RateLimited (we report it).
MAX_RATELIMIT_WAIT = 60.0


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
        # No voice here: discord.py would warn at every start that its voice libraries
        # (PyNaCl, davey) are missing.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        super().__init__(
            intents=intents,
            allowed_mentions=discord.AllowedMentions.none(),
            max_ratelimit_timeout=MAX_RATELIMIT_WAIT,
        )
        self.command_handler = bot  # read by handlers.discord.app_commands
        self.details_handler = bot  # read by handlers.discord.buttons
        self._bot = bot
        self.tree = build_command_tree(self)

    async def setup_hook(self) -> None:
        # Registered on every start: buttons of digests posted before a restart keep working.
        self.add_dynamic_items(DetailsButton)

    async def on_message(self, message: discord.Message) -> None:
        await self._bot.on_message(message)

    def dispatch(self, event: str, /, *args: Any, **kwargs: Any) -> None:
        # Synchronous, before the listeners run: `connected` flips with the event itself.
        self._bot.on_gateway_event(event)
        super().dispatch(event, *args, **kwargs)


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
        backoff: Backoff | None = None,
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
        self.link = GatewayLink(self.client, config.token, backoff=backoff)
        self._connecting: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return "discord"

    @property
    def connected(self) -> bool:
        """The gateway session is ready (READY or RESUMED since the last disconnect)."""
        return self.link.connected

    def on_gateway_event(self, event: str) -> None:
        self.link.seen(event)

    async def login(self) -> None:
        """REST login only (GET /users/@me, the application): enough to post and to answer
        interactions; `start` does this itself, in the background."""
        try:
            await self.client.login(self.config.token)
        except discord.LoginFailure as exc:
            raise ConfigError(TOKEN_REFUSED) from exc
        except discord.HTTPException as exc:
            raise PlatformError("Discord login failed.", detail=f"{exc.status} {exc.text}") from exc

    async def start(self) -> None:
        """Connect in the background and return at once: an unreachable Discord is retried
        (one log line per attempt) while the rest of `serve` runs; `connected` says when the
        session is up. A refused token or intents stop the retries with one clear line."""
        if self._connecting is None:
            self._connecting = asyncio.create_task(self.link.run(), name="discord-gateway")

    async def stop(self, timeout: float = 60.0) -> None:
        """Take no new events, let in-flight replies finish, close the connection — all within
        `timeout`, whatever the connection's state."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        connecting = self._connecting
        if connecting is not None and not self.connected:
            connecting.cancel()  # logging in, handshaking or waiting to retry: nothing to keep
        await self.inflight.drain(timeout)
        try:
            async with asyncio.timeout(max(0.0, deadline - loop.time())):
                await self.client.close()  # the gateway loop then ends by itself
        except TimeoutError:
            log.warning("Discord connection not closed within %.0f s; leaving it", timeout)
        if connecting is not None and not connecting.done():
            connecting.cancel()
            await asyncio.wait({connecting}, timeout=max(0.01, deadline - loop.time()))

    # -- handlers (called by the client, the command tree and the Details button) --------------

    def repo_names(self) -> list[str]:
        return self._repo_names()

    async def on_digest_command(self, interaction: discord.Interaction[Any], text: str) -> None:
        # Ack first: Discord allows 3 s, and nothing below may run before it
        # (https://discord.com/developers/docs/interactions/receiving-and-responding#responding-to-an-interaction).
        if not await self._defer(interaction, ephemeral=True, thinking=True):
            return
        event = interaction_event(
            interaction,
            "command",
            text,
            received_at=self._clock(),
            thread_seen=self.adapter.known_thread,
        )
        turn = await self.conversation.admit(event)  # no I/O: parse, authorize, limit
        self.adapter.remember(event, interaction)
        # The first follow-up replaces the ephemeral "thinking…" state, so the answers after it
        # (the digest) can be public.
        shown = turn.ack_text
        await self._tell(event, shown if shown is not None else WORKING)
        if turn.done:
            self.adapter.forget(event)
            return
        answer = self.conversation.handle(turn, self.adapter, ack_shown=shown is not None)
        self._spawn(event, answer)

    async def on_details_click(
        self, interaction: discord.Interaction[Any], repo: str, sha: str
    ) -> None:
        ephemeral = self.config.details_mode == "ephemeral"
        # Ephemeral: "thinking…" only the clicker sees, replaced by the details. Thread: a
        # silent acknowledgement; the details appear in the digest's thread.
        if not await self._defer(interaction, ephemeral=ephemeral, thinking=ephemeral):
            return
        button = ButtonPayload("details", repo, sha, private=ephemeral)
        event = interaction_event(
            interaction,
            "button",
            button=button,
            received_at=self._clock(),
            thread_seen=self.adapter.known_thread,
        )
        self.adapter.remember(event, interaction)
        self._spawn(event, self.conversation.respond(event, self.adapter))

    async def on_message(self, message: discord.Message) -> None:
        event = message_event(
            message,
            self.client.user,
            message_content=self.config.message_content,
            received_at=self._clock(),
            thread_seen=self.adapter.known_thread,
        )
        if event is not None:
            self._spawn(event, self.conversation.respond(event, self.adapter))

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

    def _spawn(self, event: InboundEvent, work: Coroutine[Any, Any, None]) -> None:
        async def answer() -> None:
            try:
                await work
            finally:
                self.adapter.forget(event)

        if not self.inflight.spawn(answer(), name=f"discord-{event.kind}-{event.event_id}"):
            work.close()  # never started: close it unrun, as `spawn` closed the wrapper
            self.adapter.forget(event)
            log.info("shutting down; discord event %s dropped", event.event_id)


def build(settings: DiscordSettings, context: PlatformContext) -> DiscordBot | None:
    """The Discord bot for `digestbot serve`, or None when DISCORD_BOT_TOKEN is unset."""
    config = DiscordConfig.from_settings(settings)
    if config is None:
        return None
    return DiscordBot(
        context.conversation, config, repo_names=context.repo_names, clock=context.clock
    )
