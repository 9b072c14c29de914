"""Subscriptions from chat (subscribe, unsubscribe, list) and the scheduler's way to post."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, cast

from bot.app import Core
from bot.delivery import DeliveryRunner, DeliverySettings, PreparedDigest, ServiceDigestBuilder
from bot.errors import DigestbotError, InvalidInputError, PlatformError
from bot.metrics import CommandObserver
from bot.models import Digest, Importance, Language
from bot.repos import RepoTarget
from bot.scheduler import SchedulerSettings, SubscriptionScheduler, config_specs
from bot.schedules import Schedule
from bot.storage.base import Store
from bot.storage.conversations import ConversationStore, PostedMessage, SqlConversationStore
from bot.storage.deliveries import DeliveryPart, PostRef, SqlDeliveryStore
from bot.storage.subscriptions import (
    SqlSubscriptionStore,
    Subscription,
    SubscriptionSpec,
    SubscriptionStore,
)
from handlers.authz import Authorizer
from handlers.commands import SubscribeCommand, UnsubscribeCommand
from handlers.conversation import Conversation
from handlers.ports import ChatAdapter, InboundEvent, MessageRef, PartKey, PartLookup, ReplyTarget

log = logging.getLogger(__name__)


class ScheduleUpdates(Protocol):
    """The scheduler's side of a chat change (SubscriptionScheduler implements it)."""

    def apply(self, subscription: Subscription) -> None: ...

    def remove(self, subscription_id: int) -> None: ...


class ChatSubscriptions:
    """`SubscriptionCommands` for the conversation layer, which has already checked that the
    user may manage this channel's subscriptions. Replies are plain text."""

    def __init__(
        self,
        *,
        store: SubscriptionStore,
        authorizer: Authorizer,
        clock: Callable[[], datetime],
        default_timezone: str,
        default_language: Language,
        schedule: ScheduleUpdates | None = None,
    ) -> None:
        self._store = store
        self._authz = authorizer
        self._clock = clock
        self._zone = default_timezone
        self._language = default_language
        self.schedule = schedule  # settable: the scheduler may be built after us

    async def subscribe(self, event: InboundEvent, command: SubscribeCommand) -> str:
        repo = self._authz.repo(command.repo)  # allowlist: raises with a clear message
        schedule = Schedule(command.at, command.timezone or self._zone, command.days)
        existing = await asyncio.to_thread(
            self._store.find, event.platform, event.channel_id, repo.name
        )
        if existing is not None and existing.active and existing.origin == "config":
            raise InvalidInputError(
                f"The subscription of {repo.name} here is set in the config file; change it there."
            )
        spec = SubscriptionSpec(
            platform=event.platform,
            channel_id=event.channel_id,
            repo=repo.name,
            schedule=schedule,
            language=command.language or event.language or self._language,
            min_importance=command.min_importance or Importance.LOW,
        )
        now = self._clock()
        saved = await asyncio.to_thread(
            self._store.save,
            spec,
            origin="chat",
            created_by=f"{event.platform}:{event.user_id}",
            now=now,
        )
        if self.schedule is not None:
            self.schedule.apply(saved)
        verb = "Updated" if existing is not None and existing.active else "Subscribed"
        following = schedule.next_run(now).astimezone(schedule.zone)
        return (
            f"{verb}: {repo.name} in this channel at {schedule.describe()}, "
            f"language {spec.language}, minimum importance {spec.min_importance.value}. "
            f"Next post {following:%Y-%m-%d %H:%M} ({schedule.timezone}); each post covers "
            "the days since the previous one."
        )

    async def unsubscribe(self, event: InboundEvent, command: UnsubscribeCommand) -> str:
        try:
            name = self._authz.repo(command.repo).name
        except DigestbotError:  # a repo dropped from the config can still be unsubscribed
            name = command.repo
        existing = await asyncio.to_thread(self._store.find, event.platform, event.channel_id, name)
        if existing is None or not existing.active:
            return f"There is no subscription of {name} in this channel."
        if existing.origin == "config":
            raise InvalidInputError(
                f"The subscription of {name} here is set in the config file; remove it there."
            )
        gone = await asyncio.to_thread(
            self._store.deactivate, event.platform, event.channel_id, existing.repo
        )
        if gone is not None and self.schedule is not None:
            self.schedule.remove(gone.id)
        return f"Unsubscribed: {existing.repo} will no longer be posted in this channel."

    async def list(self, event: InboundEvent) -> str:
        subs = await asyncio.to_thread(self._store.in_channel, event.platform, event.channel_id)
        if not subs:
            return (
                "No subscriptions in this channel. Add one with: "
                "subscribe <repo> at 09:00 Asia/Shanghai"
            )
        lines = ["Subscriptions in this channel:"]
        for sub in subs:
            origin = " (config file)" if sub.origin == "config" else ""
            lines.append(
                f"- {sub.repo}: {sub.schedule.describe()}, language {sub.spec.language}, "
                f"minimum {sub.spec.min_importance.value}{origin}"
            )
        return "\n".join(lines)


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
        if part.index == 0:
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


@dataclass
class Scheduling:
    """The scheduling feature wired for `serve`: a Service, the chat commands, the poster."""

    scheduler: SubscriptionScheduler
    commands: ChatSubscriptions
    poster: ChatPoster
    subscriptions: SqlSubscriptionStore
    deliveries: SqlDeliveryStore


def build_scheduling(
    core: Core, conversation: Conversation, adapters: Mapping[str, ChatAdapter]
) -> Scheduling:
    """Wire stores, runner, scheduler and chat commands over the core's database, and hand the
    commands to `conversation`. ConfigError for a bad `[[subscriptions]]` entry."""
    engine = core.store.engine
    subscriptions = SqlSubscriptionStore(engine)
    deliveries = SqlDeliveryStore(engine, core.clock)
    poster = ChatPoster(
        adapters,
        digests=core.store,
        conversations=SqlConversationStore(engine),
        clock=core.clock,
        metrics=core.metrics,
    )
    runner = DeliveryRunner(
        subscriptions=subscriptions,
        deliveries=deliveries,
        builder=ServiceDigestBuilder(core.service, core.resolver, core.commit_filter),
        poster=poster,
        settings=DeliverySettings.from_config(core.config.scheduler),
        observer=core.metrics,
    )
    language: Language = "zh" if core.default_language() == "zh" else "en"
    specs = config_specs(
        core.config,
        core.resolver,
        default_timezone=core.default_timezone(),
        default_language=language,
    )
    scheduler = SubscriptionScheduler(
        runner=runner,
        clock=core.clock,
        # SQLite is one process by design; PostgreSQL allows replicas (README "Daily posts").
        settings=SchedulerSettings.from_config(
            core.config.scheduler, single_process=engine.dialect.name == "sqlite"
        ),
        config_subscriptions=specs,
    )
    commands = ChatSubscriptions(
        store=subscriptions,
        authorizer=Authorizer(core.resolver, core.config.access),
        clock=core.clock,
        default_timezone=core.default_timezone(),
        default_language=language,
        schedule=scheduler,
    )
    conversation.subscriptions = commands
    return Scheduling(scheduler, commands, poster, subscriptions, deliveries)
