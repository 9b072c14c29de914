"""Subscriptions from chat (subscribe, unsubscribe, list) and the scheduler's way to post."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, cast

from bot.app import Core
from bot.delivery import DeliveryRunner, DeliverySettings, ServiceDigestBuilder
from bot.errors import DigestbotError, InvalidInputError, PlatformError
from bot.models import Digest, Importance, Language
from bot.repos import RepoTarget
from bot.scheduler import SchedulerSettings, SubscriptionScheduler, config_specs
from bot.schedules import Schedule
from bot.storage.base import Store
from bot.storage.conversations import ConversationStore, PostedMessage, SqlConversationStore
from bot.storage.deliveries import PostRef, SqlDeliveryStore
from bot.storage.subscriptions import (
    SqlSubscriptionStore,
    Subscription,
    SubscriptionSpec,
    SubscriptionStore,
)
from handlers.authz import Authorizer
from handlers.commands import SubscribeCommand, UnsubscribeCommand
from handlers.conversation import Conversation
from handlers.ports import ChatAdapter, InboundEvent, MessageRef, ReplyTarget

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
    """The scheduler's Poster over the chat adapters: scheduled digests go through
    `Conversation.publish_digest`, so thread questions work under them too."""

    def __init__(
        self,
        conversation: Conversation,
        adapters: Mapping[str, ChatAdapter],
        *,
        digests: Store,
        conversations: ConversationStore,
        clock: Callable[[], datetime],
    ) -> None:
        self._conversation = conversation
        self._adapters = adapters  # serve fills it as platforms start: read it late
        self._digests = digests
        self._conversations = conversations
        self._clock = clock

    async def post(
        self, subscription: Subscription, repo: RepoTarget, digest: Digest, key: str
    ) -> list[PostRef]:
        adapter = self._adapter(subscription.platform)
        refs = await self._conversation.publish_digest(
            adapter, _target(subscription), repo, digest, delivery_key=key
        )
        return [_post_ref(r) for r in refs]

    async def find(self, subscription: Subscription, key: str) -> list[PostRef] | None:
        adapter = self._adapter(subscription.platform)
        finder = cast(
            "Callable[[ReplyTarget, str], Awaitable[list[MessageRef]]] | None",
            getattr(adapter, "find_delivery", None),
        )
        if finder is None:
            return None
        return [_post_ref(r) for r in await finder(_target(subscription), key)]

    async def adopt(
        self, subscription: Subscription, repo: RepoTarget, digest: Digest, refs: Sequence[PostRef]
    ) -> None:
        digest_id = await asyncio.to_thread(self._digests.save_digest, digest, repo.key)
        shas = tuple(item.commit.sha for item in digest.items)
        posted = [
            PostedMessage(
                subscription.platform,
                r.channel_id,
                r.message_id,
                r.thread_id,
                "digest",
                digest_id,
                repo.name,
                shas,
                digest.language,
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
    deliveries = SqlDeliveryStore(engine)
    poster = ChatPoster(
        conversation,
        adapters,
        digests=core.store,
        conversations=SqlConversationStore(engine),
        clock=core.clock,
    )
    runner = DeliveryRunner(
        subscriptions=subscriptions,
        deliveries=deliveries,
        builder=ServiceDigestBuilder(core.service, core.resolver, core.commit_filter),
        poster=poster,
        clock=core.clock,
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
