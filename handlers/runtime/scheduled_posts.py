"""The scheduler's way to post: a digest's parts (or an alert's card) through the chat adapters,
then recorded."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import cast

from bot.delivery import PreparedDigest
from bot.errors import PlatformError
from bot.metrics import CommandObserver
from bot.models import Alert, Digest, Language
from bot.report_links import ReportLinks
from bot.repos import RepoTarget
from bot.storage.alerts import ALERT_KEY_PREFIX
from bot.storage.base import Store
from bot.storage.conversations import ConversationStore, PostedMessage
from bot.storage.deliveries import DeliveryPart, PostRef
from bot.storage.subscriptions import (
    Subscription,
)
from formatters.labels import card_labels_for
from formatters.week_chart import render_week_chart, week_summary
from handlers.ports import ChatAdapter, MessageRef, PartKey, PartLookup, ReplyTarget

log = logging.getLogger(__name__)


class ChatPoster:
    """The scheduler's Poster over the chat adapters: renders a digest into the platform's
    messages once, posts them one by one with their part keys, and records every posted
    message so thread questions work under it."""

    def __init__(
        self,
        adapters: Mapping[str, ChatAdapter],
        *,
        digests: Store,
        conversations: ConversationStore,
        clock: Callable[[], datetime],
        metrics: CommandObserver,
        links: ReportLinks | None = None,
    ) -> None:
        self._adapters = adapters  # serve fills it as platforms start: read it late
        self._links = links  # None: no web pages, so no "Full report" links
        self._digests = digests
        self._conversations = conversations
        self._clock = clock
        self._metrics = metrics

    async def prepare(
        self, subscription: Subscription, repo: RepoTarget, digest: Digest, key: str
    ) -> PreparedDigest:
        adapter = self._adapter(subscription.platform)
        digest_id = await asyncio.to_thread(self._digests.save_digest, digest, repo.key)
        digest = self._linked(digest, digest_id)
        # Rendering a long day takes milliseconds of CPU: off the event loop.
        parts = await asyncio.to_thread(adapter.render_digest, digest, delivery_key=key)
        if subscription.spec.cadence == "weekly":
            # The week's chart goes last, in the digest's thread: the digest's own parts keep
            # the indexes their platform keys carry (docs/pages.md, "The week in a picture").
            parts.append(await asyncio.to_thread(_chart_part, digest))
        context = _PostContext(
            digest_id, repo.name, tuple(item.commit.sha for item in digest.items), digest.language
        )
        return PreparedDigest(parts, context.dump())

    async def prepare_alert(
        self, subscription: Subscription, repo: RepoTarget, alert: Alert, key: str
    ) -> PreparedDigest:
        """One card; its commits are saved as a digest so Details buttons and thread
        questions under the card work as under a daily post."""
        adapter = self._adapter(subscription.platform)
        digest = alert.digest
        digest_id = await asyncio.to_thread(self._digests.save_digest, digest, repo.key)
        parts = adapter.render_alert(
            alert.model_copy(update={"digest": self._linked(digest, digest_id)}), delivery_key=key
        )
        context = _PostContext(
            digest_id, repo.name, tuple(item.commit.sha for item in digest.items), digest.language
        )
        return PreparedDigest(parts, context.dump())

    async def post_part(
        self, subscription: Subscription, part: DeliveryPart, key: str, root: PostRef | None
    ) -> list[PostRef]:
        adapter = self._adapter(subscription.platform)
        chart = _ChartPart.load(part.payload)
        if chart is not None:
            thread = _message_ref(subscription, root)
            target = _target(subscription)
            if thread is not None:
                target = replace(target, thread_id=thread.thread_id or thread.message_id)
            refs = await adapter.send_image(
                target,
                chart.png,
                filename=chart.filename,
                title=chart.title,
                alt_text=chart.alt_text,
                text=chart.title,
            )
            return [_post_ref(r) for r in refs]
        refs = await adapter.post_part(
            _target(subscription),
            part.payload,
            root=_message_ref(subscription, root),
            key=PartKey(key, part.index),
        )
        if part.index == 0 and not key.startswith(ALERT_KEY_PREFIX):
            self._metrics.digest_posted(subscription.platform)
        return [_post_ref(r) for r in refs]

    async def find_part(
        self,
        subscription: Subscription,
        key: str,
        part: DeliveryPart,
        root: PostRef | None,
        between: tuple[datetime, datetime],
    ) -> list[PostRef] | None:
        adapter = self._adapter(subscription.platform)
        if getattr(adapter, "find_part", None) is None or _ChartPart.load(part.payload):
            return None  # the platform cannot be asked (an image carries no key)
        found = await cast("PartLookup", adapter).find_part(
            _target(subscription),
            PartKey(key, part.index),
            root=_message_ref(subscription, root),
            between=between,
            payload=part.payload,
        )
        return None if found is None else [_post_ref(r) for r in found]

    async def record(
        self, subscription: Subscription, refs: Sequence[PostRef], context: str
    ) -> None:
        loaded = _PostContext.load(context)
        if loaded is None or not refs:
            return
        posted = [
            PostedMessage(
                subscription.platform,
                r.channel_id,
                r.message_id,
                r.thread_id,
                "digest",
                loaded.digest_id,
                loaded.repo,
                loaded.shas,
                loaded.language,
            )
            for r in refs
        ]
        await asyncio.to_thread(self._conversations.record_messages, posted, self._clock())

    async def notify(self, subscription: Subscription, text: str) -> None:
        await self._adapter(subscription.platform).send_text(_target(subscription), text)

    def _linked(self, digest: Digest, digest_id: int) -> Digest:
        """The digest with its page's address, when serve publishes pages."""
        if self._links is None:
            return digest
        return digest.model_copy(
            update={"report_url": self._links.report_url(digest.repo, digest_id)}
        )

    def _adapter(self, platform: str) -> ChatAdapter:
        adapter = self._adapters.get(platform)
        if adapter is None:
            raise PlatformError(f"{platform} is not connected on this bot.")
        return adapter


@dataclass(frozen=True)
class _PostContext:
    """What recording a posted part needs (thread replies find the digest's commits by it)."""

    digest_id: int
    repo: str
    shas: tuple[str, ...]
    language: Language

    def dump(self) -> str:
        return json.dumps(
            {"digest": self.digest_id, "repo": self.repo, "shas": self.shas, "lang": self.language}
        )

    @classmethod
    def load(cls, text: str) -> _PostContext | None:
        try:
            data = json.loads(text)
            language: Language = "zh" if data["lang"] == "zh" else "en"
            return cls(int(data["digest"]), str(data["repo"]), tuple(data["shas"]), language)
        except (ValueError, KeyError, TypeError):
            log.warning("a delivery with an unreadable post context: parts not recorded")
            return None


@dataclass(frozen=True)
class _ChartPart:
    """A stored part that is the week's chart (a PNG posted with the platform's upload)."""

    png: bytes
    filename: str
    title: str
    alt_text: str

    def dump(self) -> str:
        return json.dumps(
            {
                CHART_MARK: base64.b64encode(self.png).decode("ascii"),
                "filename": self.filename,
                "title": self.title,
                "alt": self.alt_text,
            }
        )

    @classmethod
    def load(cls, payload: str) -> _ChartPart | None:
        if CHART_MARK not in payload[:40]:
            return None
        try:
            data = json.loads(payload)
            png = base64.b64decode(data[CHART_MARK], validate=True)
            return cls(png, str(data["filename"]), str(data["title"]), str(data["alt"]))
        except (ValueError, KeyError, TypeError):
            return None


CHART_MARK = "digestbot_chart_png"


def _chart_part(digest: Digest) -> str:
    """The week's chart of a weekly digest, as a stored part."""
    summary = week_summary(digest)
    image = render_week_chart(summary, fmt="png")
    labels = card_labels_for(digest.language)
    title = labels.week_chart.format(repo=digest.repo, days=digest.window.title)
    alt = labels.week_chart_alt.format(
        total=summary.total, high=summary.high, medium=summary.medium, low=summary.low
    )
    filename = f"week-{digest.window.first_day}.png"
    return _ChartPart(image.data, filename, title, alt).dump()


def _message_ref(subscription: Subscription, ref: PostRef | None) -> MessageRef | None:
    if ref is None:
        return None
    return MessageRef(subscription.platform, ref.channel_id, ref.message_id, ref.thread_id)


def _target(subscription: Subscription) -> ReplyTarget:
    return ReplyTarget(subscription.platform, subscription.channel_id)


def _post_ref(ref: MessageRef) -> PostRef:
    return PostRef(ref.channel_id, ref.message_id, ref.thread_id)
