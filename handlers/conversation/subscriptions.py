"""Subscriptions from chat: subscribe, unsubscribe and list a channel's daily posts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from bot.errors import DigestbotError, InvalidInputError
from bot.models import Importance, Language
from bot.repos import RepoTarget
from bot.schedules import Schedule
from bot.storage.subscriptions import Subscription, SubscriptionSpec, SubscriptionStore
from handlers.conversation.authz import Authorizer
from handlers.conversation.commands import SubscribeCommand, UnsubscribeCommand
from handlers.ports import InboundEvent


class SubscriptionCommands(Protocol):
    """The subscription use cases (implemented by the scheduling feature); reply texts out."""

    async def subscribe(
        self, event: InboundEvent, command: SubscribeCommand, repo: RepoTarget
    ) -> str:
        """Subscribe the channel to `repo` (authorized already, as the command named it)."""
        ...

    async def unsubscribe(self, event: InboundEvent, command: UnsubscribeCommand) -> str: ...

    async def list(self, event: InboundEvent) -> str: ...


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
        self._schedule = schedule

    async def subscribe(
        self, event: InboundEvent, command: SubscribeCommand, repo: RepoTarget
    ) -> str:
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
        if self._schedule is not None:
            self._schedule.apply(saved)
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
        if gone is not None and self._schedule is not None:
            self._schedule.remove(gone.id)
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
