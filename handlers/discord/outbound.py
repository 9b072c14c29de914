"""The Discord ChatAdapter: formatter payloads sent as interaction follow-ups or channel messages.

Channel messages go through discord.py's HTTP client (its per-route buckets and 429 handling)
after our per-channel pacing. A digest's continuation messages, thread-mode details and thread
answers go in a thread started on the digest message (a thread started from a message has
that message's id, https://discord.com/developers/docs/topics/threads#message-threads).
Scheduled posts carry each part's key as `nonce` + `enforce_nonce` (Discord drops a repeat
for a few minutes) and the delivery's tag in the first embed's footer, which `find_part` looks
for among the messages created in the span the post could have happened in. Repeated 403
Missing Access on a channel becomes a `MissingAccessError` with `pause=True`, and the channel
is left alone for a while.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import discord
from discord.http import Route

from bot.errors import MissingAccessError, PlatformError
from bot.models import Alert, Digest, DigestItem, Language
from formatters.discord_alert import render_discord_alert
from formatters.discord_details import render_discord_details
from formatters.discord_embeds import NO_MENTIONS, DiscordMessage, render_discord
from formatters.limits import DISCORD_CONTENT_MAX, DISCORD_EMBED_TITLE_MAX
from formatters.text_safety import clip, escape_discord, fit, one_line
from handlers.discord.buttons import details_view
from handlers.discord.messages import delivery_nonce, delivery_tag, text_payload, thread_name
from handlers.discord.settings import DetailsMode
from handlers.ports import InboundEvent, MessageRef, PartKey, ReplyTarget
from handlers.runtime.digest_parts import send_digest
from handlers.runtime.pacing import ChannelPacer

log = logging.getLogger(__name__)

PLATFORM = "discord"

# Interaction tokens last 15 minutes
# (https://discord.com/developers/docs/interactions/receiving-and-responding#followup-messages);
# a follow-up is not started in the last minute, the reply goes to the channel instead.
TOKEN_LIFETIME = timedelta(minutes=15)
TOKEN_MARGIN = timedelta(minutes=1)
# About 5 messages per 5 s per channel (https://discord.com/developers/docs/topics/rate-limits).
POST_INTERVAL_SECONDS = 1.0
# https://discord.com/developers/docs/topics/opcodes-and-status-codes#json-json-error-codes
ACCESS_CODES = {50001: "Missing Access", 50013: "Missing Permissions"}
THREAD_ALREADY_EXISTS = 160004
EXPIRED_TOKEN_CODES = {10015, 10062, 50027}  # unknown webhook / interaction, invalid token
ACCESS_STRIKES = 3  # refusals in a row before the channel is paused
ACCESS_PAUSE = timedelta(hours=1)
# Threads archive after a day without messages
# (https://discord.com/developers/docs/resources/channel#start-thread-from-message).
THREAD_ARCHIVE_MINUTES = 1440
# Messages per page when a restarted scheduler reads the span a part's post could have
# happened in (https://discord.com/developers/docs/resources/message#get-channel-messages:
# limit 1–100, `after` a snowflake — so the read is bounded by time, not by a count).
LOOKUP_PAGE = 100
UNKNOWN_CHANNEL = 10003  # a thread never started: none of its parts can be up
DISCORD_EPOCH_MS = 1_420_070_400_000  # https://discord.com/developers/docs/reference#snowflakes
KNOWN_THREADS_MAX = 10_000
# https://discord.com/developers/docs/resources/message#attachment-object: description ≤ 1024.
ATTACHMENT_DESCRIPTION_MAX = 1024
ATTACHMENT_NAME_MAX = 100
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")
ACCESS_MESSAGE = (
    "I can't see or post in this channel. Give digestbot View Channel, Send Messages, "
    "Send Messages in Threads, Create Public Threads, Embed Links, Attach Files and Read Message "
    "History here."
)


class _TokenExpired(Exception):
    """The interaction token no longer works; the caller posts to the channel instead."""


@dataclass
class _Strikes:
    count: int = 0
    paused_until: datetime | None = None


class DiscordAdapter:
    """ChatAdapter (and PartLookup) for Discord over a logged-in `discord.Client`."""

    def __init__(
        self,
        client: discord.Client,
        *,
        pacer: ChannelPacer,
        clock: Callable[[], datetime],
        details_mode: DetailsMode = "ephemeral",
    ) -> None:
        self.client = client
        self._pacer = pacer
        self._clock = clock
        self._details_mode = details_mode
        self._interactions: dict[str, discord.Interaction[Any]] = {}
        self._threads: OrderedDict[str, None] = OrderedDict()
        self._strikes: dict[str, _Strikes] = {}

    @property
    def platform(self) -> str:
        return PLATFORM

    # -- bookkeeping for the bot ---------------------------------------------------------------

    def remember(self, event: InboundEvent, interaction: discord.Interaction[Any]) -> None:
        """Replies to `event` may use the interaction's follow-up webhook while it lives."""
        self._interactions[event.event_id] = interaction

    def forget(self, event: InboundEvent) -> None:
        self._interactions.pop(event.event_id, None)

    def known_thread(self, thread_id: str) -> None:
        """`thread_id` is an existing thread (an event came from it): no need to start one."""
        self._threads[thread_id] = None
        self._threads.move_to_end(thread_id)
        while len(self._threads) > KNOWN_THREADS_MAX:
            self._threads.popitem(last=False)

    async def send_ephemeral(self, event: InboundEvent, text: str) -> bool:
        """Tell only the user behind `event` (an interaction); False when that is not possible."""
        interaction = self._live(event)
        if interaction is None:
            return False
        try:
            await self._followup(interaction, text_payload(text), ephemeral=True)
        except _TokenExpired:
            return False
        return True

    # -- ChatAdapter ---------------------------------------------------------------------------

    async def send_digest(
        self, target: ReplyTarget, digest: Digest, *, delivery_key: str | None = None
    ) -> list[MessageRef]:
        return await send_digest(self, target, digest, delivery_key)

    def render_digest(self, digest: Digest, *, delivery_key: str | None = None) -> list[str]:
        tag = delivery_tag(delivery_key) if delivery_key else None
        name = thread_name(f"{digest.repo} · {digest.window.first_day}")
        return [_serialised(message, name) for message in render_discord(digest, footer_tag=tag)]

    def render_alert(self, alert: Alert, *, delivery_key: str) -> list[str]:
        """One message whose embed footer carries the delivery's tag (its nonce is derived
        from the same key when posted: see `post_part`)."""
        message = render_discord_alert(alert, footer_tag=delivery_tag(delivery_key))
        items = alert.digest.items
        name = f"{alert.digest.repo} · {items[0].commit.short_sha}" if items else alert.digest.repo
        return [_serialised(message, thread_name(name))]

    async def post_part(
        self,
        target: ReplyTarget,
        payload: str,
        *,
        root: MessageRef | None = None,
        key: PartKey | None = None,
    ) -> list[MessageRef]:
        data = json.loads(payload)
        message, name = dict(data["message"]), str(data["thread"])
        # With enforce_nonce, Discord answers a repeat within minutes with the first message.
        nonce = delivery_nonce(key.delivery_key, key.index) if key is not None else None
        if root is None:
            return [await self._send(target, message, name, nonce=nonce)]
        thread = root.thread_id or root.message_id
        channel = await self._thread(target.channel_id, thread, name)
        if nonce is not None:
            message["nonce"], message["enforce_nonce"] = nonce, True
        posted = await self._post(target.channel_id, channel, message)
        return [MessageRef(PLATFORM, target.channel_id, str(posted["id"]), thread)]

    async def find_part(
        self,
        target: ReplyTarget,
        key: PartKey,
        *,
        root: MessageRef | None,
        between: tuple[datetime, datetime],
        payload: str,
    ) -> list[MessageRef] | None:
        """Our messages of this part posted in `between`: the root by the delivery tag in its
        footer, a later part (in the root's thread) by its content and embed titles, which
        the stored payload fixes."""
        if root is None:
            tag = delivery_tag(key.delivery_key)
            channel, thread = target.thread_id or target.channel_id, target.thread_id
            found = await self._between(target.channel_id, channel, between)
            return [
                MessageRef(PLATFORM, target.channel_id, str(m["id"]), thread)
                for m in found
                if self._is_mine(m) and _footer_has(m, tag)
            ]
        expected = json.loads(payload)["message"]
        thread = root.thread_id or root.message_id
        found = await self._between(target.channel_id, thread, between)
        self.known_thread(thread)
        return [
            MessageRef(PLATFORM, target.channel_id, str(m["id"]), thread)
            for m in found
            if self._is_mine(m) and _same_message(m, expected)
        ]

    async def send_details(
        self, target: ReplyTarget, item: DigestItem, repo_url: str, language: Language
    ) -> list[MessageRef]:
        payload = await asyncio.to_thread(render_discord_details, item, repo_url, language)
        interaction = self._live(target.event)
        if self._details_mode == "ephemeral" and interaction is not None:
            try:
                await self._followup(interaction, payload, ephemeral=True)
                return []
            except _TokenExpired:
                log.info("interaction expired; posting the details in the thread")
        name = thread_name(f"{item.commit.repo} digest")
        return [await self._send(target, payload, name)]

    async def send_text(self, target: ReplyTarget, text: str) -> list[MessageRef]:
        return [await self._send(target, text_payload(text), thread_name("digestbot"))]

    async def send_notice(self, target: ReplyTarget, text: str) -> None:
        if target.event is not None and await self.send_ephemeral(target.event, text):
            return
        await self.send_text(target, text)

    async def send_image(
        self,
        target: ReplyTarget,
        image: bytes,
        *,
        filename: str,
        title: str,
        alt_text: str,
        text: str = "",
    ) -> list[MessageRef]:
        """One message with the PNG attached (multipart: `payload_json` + `files[0]`, the
        attachment's `description` its alt text), shown by an embed whose image is
        `attachment://<filename>` (https://discord.com/developers/docs/reference#uploading-
        files), the escaped caption as content and no mention parsed. Sent as a channel (or
        thread) message through discord.py's HTTP client, which re-reads the file on its
        429 retries."""
        name = _attachment_name(filename)
        embed: dict[str, Any] = {"image": {"url": f"attachment://{name}"}}
        if one_line(title):
            embed["title"] = fit(one_line(title), DISCORD_EMBED_TITLE_MAX, escape_discord)
        payload: dict[str, Any] = {"embeds": [embed], "allowed_mentions": dict(NO_MENTIONS)}
        caption = text.strip()
        if caption:
            payload["content"] = fit(caption, DISCORD_CONTENT_MAX, escape_discord)
        description = clip(one_line(alt_text), ATTACHMENT_DESCRIPTION_MAX) or None
        file = discord.File(io.BytesIO(image), filename=name, description=description)
        return [await self._send(target, payload, thread_name("digestbot"), file=file)]

    # -- sending -------------------------------------------------------------------------------

    async def _send(
        self,
        target: ReplyTarget,
        payload: dict[str, Any],
        name: str,
        *,
        nonce: str | None = None,
        file: discord.File | None = None,
    ) -> MessageRef:
        """One message to the target: through the interaction while it lives and replies in
        its channel, else as a channel (or thread) message (always so with a `file`)."""
        interaction = self._live(target.event) if file is None else None
        destination = target.thread_id or target.channel_id
        if interaction is not None and str(interaction.channel_id) == destination:
            try:
                message_id = await self._followup(interaction, payload, ephemeral=False)
                return MessageRef(PLATFORM, target.channel_id, message_id, target.thread_id)
            except _TokenExpired:
                log.info("interaction expired; posting to the channel instead")
        body = dict(payload)
        if nonce is not None:
            body["nonce"] = nonce
            body["enforce_nonce"] = True
        channel = target.channel_id
        if target.thread_id is not None:
            event = target.event
            if event is not None and event.context.get("answer_in_channel") == target.thread_id:
                # A message at a channel's top level: answered as a reply, not in a new thread.
                body["message_reference"] = {
                    "message_id": event.context.get("reply_to"),
                    "fail_if_not_exists": False,
                }
            else:
                channel = await self._thread(target.channel_id, target.thread_id, name)
        posted = await self._post(target.channel_id, channel, body, file=file)
        return MessageRef(PLATFORM, target.channel_id, str(posted["id"]), target.thread_id)

    def _live(self, event: InboundEvent | None) -> discord.Interaction[Any] | None:
        if event is None:
            return None
        interaction = self._interactions.get(event.event_id)
        if interaction is None:
            return None
        if self._clock() >= interaction.created_at + TOKEN_LIFETIME - TOKEN_MARGIN:
            return None
        return interaction

    async def _followup(
        self, interaction: discord.Interaction[Any], payload: dict[str, Any], *, ephemeral: bool
    ) -> str:
        self._check_logged_in("followup")
        embeds = [discord.Embed.from_dict(e) for e in payload.get("embeds") or []]
        content = payload.get("content")
        components = payload.get("components")
        try:
            message = await interaction.followup.send(
                content or discord.utils.MISSING,
                embeds=embeds,
                view=details_view(components) if components else discord.utils.MISSING,
                ephemeral=ephemeral,
                allowed_mentions=discord.AllowedMentions.none(),
                wait=True,
            )
        except discord.HTTPException as exc:
            if exc.status == 401 or exc.code in EXPIRED_TOKEN_CODES:
                self._interactions = {
                    k: v for k, v in self._interactions.items() if v is not interaction
                }
                raise _TokenExpired from exc
            raise PlatformError(
                "Discord refused the reply.", detail=f"followup: {exc.status} {exc.code} {exc.text}"
            ) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise PlatformError("Discord could not be reached.", detail=f"followup: {exc}") from exc
        return str(message.id)

    async def _thread(self, parent: str, root: str, name: str) -> str:
        """The thread on message `root` in `parent` (started when there is none yet)."""
        if root in self._threads:
            return root
        route = Route(
            "POST",
            "/channels/{channel_id}/messages/{message_id}/threads",
            channel_id=parent,
            message_id=root,
        )
        body = {"name": name, "auto_archive_duration": THREAD_ARCHIVE_MINUTES}
        await self._request(route, parent, json=body, tolerate={THREAD_ALREADY_EXISTS})
        self.known_thread(root)
        return root

    async def _post(
        self,
        access: str,
        channel: str,
        payload: dict[str, Any],
        *,
        file: discord.File | None = None,
    ) -> dict[str, Any]:
        self._check_paused(access)
        await self._pacer.wait(channel)
        route = Route("POST", "/channels/{channel_id}/messages", channel_id=channel)
        if file is None:
            posted = await self._request(route, access, json=payload)
        else:
            # https://discord.com/developers/docs/reference#uploading-files: the JSON body as
            # `payload_json`, the file as `files[0]`, described in `attachments`.
            body = {**payload, "attachments": [file.to_dict(0)]}
            form = [
                {"name": "payload_json", "value": json.dumps(body)},
                {
                    "name": "files[0]",
                    "value": file.fp,
                    "filename": file.filename,
                    "content_type": "image/png",
                },
            ]
            posted = await self._request(route, access, files=[file], form=form)
        if not isinstance(posted, dict) or "id" not in posted:
            detail = f"post: {posted!r:.200}"
            raise PlatformError("Discord gave an unexpected answer.", detail=detail)
        return posted

    async def _between(
        self, access: str, channel: str, between: tuple[datetime, datetime]
    ) -> list[dict[str, Any]]:
        """The channel's messages created in `between`, oldest first ([] for a channel or
        thread that does not exist)."""
        after, last = _snowflake(between[0]), _snowflake(between[1])
        route = Route("GET", "/channels/{channel_id}/messages", channel_id=channel)
        found: list[dict[str, Any]] = []
        while True:
            params = {"limit": LOOKUP_PAGE, "after": str(after)}
            page = await self._request(route, access, params=params, tolerate={UNKNOWN_CHANNEL})
            messages = sorted(
                (m for m in page or [] if isinstance(m, dict)), key=lambda m: int(m["id"])
            )
            found += [m for m in messages if int(m["id"]) <= last]
            if len(messages) < LOOKUP_PAGE or int(messages[-1]["id"]) > last:
                return found
            after = int(messages[-1]["id"])

    def _is_mine(self, message: dict[str, Any]) -> bool:
        me = self.client.user
        return me is not None and str((message.get("author") or {}).get("id")) == str(me.id)

    async def _request(
        self, route: Route, access: str, *, tolerate: set[int] | None = None, **kwargs: Any
    ) -> Any:
        """One REST call (discord.py waits out 429s within its limits); errors become ours.
        `access` is the subscribed channel that repeated 403s pause."""
        self._check_paused(access)
        what = f"{route.method} {route.path}"
        self._check_logged_in(what)
        try:
            result = await self.client.http.request(route, **kwargs)
        except discord.HTTPException as exc:
            if tolerate and exc.code in tolerate:
                return None
            if exc.status == 403 and exc.code in ACCESS_CODES:
                raise self._strike(access, exc) from exc
            detail = f"{what}: {exc.status} {exc.code} {exc.text}"
            if exc.status == 403:
                raise PlatformError(ACCESS_MESSAGE, detail=detail) from exc
            raise PlatformError("Discord refused the message.", detail=detail) from exc
        except discord.RateLimited as exc:
            raise PlatformError(
                "Discord is rate limiting me; try again in a minute.",
                detail=f"{what}: retry after {exc.retry_after:.0f} s",
            ) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise PlatformError("Discord could not be reached.", detail=f"{what}: {exc}") from exc
        self._strikes.pop(access, None)
        return result

    def _check_logged_in(self, what: str) -> None:
        """Before the background login succeeded (or after `stop`) discord.py has no HTTP
        session: say so as a PlatformError, like any other failed post."""
        if self.client.user is None or self.client.is_closed():
            raise PlatformError("Discord is not connected yet.", detail=f"{what}: not logged in")

    # -- repeated Missing Access -----------------------------------------------------------------

    def _strike(self, channel: str, exc: discord.HTTPException) -> MissingAccessError:
        strikes = self._strikes.setdefault(channel, _Strikes())
        strikes.count += 1
        pause = strikes.count >= ACCESS_STRIKES
        if pause:
            strikes.paused_until = self._clock() + ACCESS_PAUSE
            log.warning(
                "discord channel %s: %s %d times in a row; not posting there until %s. Pause "
                "its subscriptions or give the bot access.",
                channel,
                ACCESS_CODES.get(exc.code, exc.code),
                strikes.count,
                strikes.paused_until.isoformat(timespec="minutes"),
            )
        return MissingAccessError(
            ACCESS_MESSAGE,
            platform=PLATFORM,
            channel_id=channel,
            failures=strikes.count,
            pause=pause,
            detail=f"403 {exc.code} {exc.text}",
        )

    def _check_paused(self, channel: str) -> None:
        strikes = self._strikes.get(channel)
        if strikes is None or strikes.paused_until is None:
            return
        if self._clock() < strikes.paused_until:
            raise MissingAccessError(
                ACCESS_MESSAGE,
                platform=PLATFORM,
                channel_id=channel,
                failures=strikes.count,
                pause=True,
                detail="paused after repeated Missing Access; not calling Discord",
            )
        strikes.paused_until = None  # the pause is over: the next call probes once


def _attachment_name(filename: str) -> str:
    """A file name `attachment://` can name: ASCII letters, digits, `.`, `_` and `-`."""
    name = _UNSAFE_NAME.sub("_", one_line(filename)).strip("._") or "image.png"
    return name[-ATTACHMENT_NAME_MAX:]


def _serialised(message: DiscordMessage, thread: str) -> str:
    """One message as its stored payload, with the name of the thread answers to it start."""
    return json.dumps({"message": message, "thread": thread})


def _snowflake(moment: datetime) -> int:
    return (int(moment.timestamp() * 1000) - DISCORD_EPOCH_MS) << 22


def _same_message(message: dict[str, Any], expected: dict[str, Any]) -> bool:
    def titles(m: dict[str, Any]) -> list[str]:
        return [str(e.get("title") or "") for e in m.get("embeds") or []]

    return bool(
        message.get("content") == expected.get("content") and titles(message) == titles(expected)
    )


def _footer_has(message: dict[str, Any], tag: str) -> bool:
    for embed in message.get("embeds") or []:
        footer = embed.get("footer") or {}
        if tag in str(footer.get("text") or ""):
            return True
    return False
