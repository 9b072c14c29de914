"""The scheduler's way to post: a digest's parts (or an alert's card) through the chat adapters,
then recorded."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from bot.delivery import PreparedDigest
from bot.errors import PlatformError
from bot.metrics import CommandObserver
from bot.models import Alert, Digest, Language
from bot.repos import RepoTarget
from bot.storage.alerts import ALERT_KEY_PREFIX
from bot.storage.base import Store
from bot.storage.conversations import ConversationStore, PostedMessage
from bot.storage.deliveries import DeliveryPart, PostRef
from bot.storage.subscriptions import (
    Subscription,
)
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
    ) -> None:
        self._adapters = adapters  # serve fills it as platforms start: read it late
        self._digests = digests
        self._conversations = conversations
        self._clock = clock
        self._metrics = metrics

    async def prepare(
        self, subscription: Subscription, repo: RepoTarget, digest: Digest, key: str
    ) -> PreparedDigest:
        adapter = self._adapter(subscription.platform)
        digest_id = await asyncio.to_thread(self._digests.save_digest, digest, repo.key)
        # Rendering a long day takes milliseconds of CPU: off the event loop.
        parts = await asyncio.to_thread(adapter.render_digest, digest, delivery_key=key)
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
        parts = adapter.render_alert(alert, delivery_key=key)
        context = _PostContext(
            digest_id, repo.name, tuple(item.commit.sha for item in digest.items), digest.language
        )
        return PreparedDigest(parts, context.dump())

    async def post_part(
        self, subscription: Subscription, part: DeliveryPart, key: str, root: PostRef | None
    ) -> list[PostRef]:
        adapter = self._adapter(subscription.platform)
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
        if getattr(adapter, "find_part", None) is None:  # the platform cannot be asked
            return None
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


def _message_ref(subscription: Subscription, ref: PostRef | None) -> MessageRef | None:
    if ref is None:
        return None
    return MessageRef(subscription.platform, ref.channel_id, ref.message_id, ref.thread_id)


def _target(subscription: Subscription) -> ReplyTarget:
    return ReplyTarget(subscription.platform, subscription.channel_id)


def _post_ref(ref: MessageRef) -> PostRef:
    return PostRef(ref.channel_id, ref.message_id, ref.thread_id)
