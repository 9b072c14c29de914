"""Subscriptions from chat: subscribe, unsubscribe and list a channel's daily posts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from bot.errors import DigestbotError, InvalidInputError
from bot.models import Importance, Language
from bot.repos import RepoTarget
from bot.schedules import Schedule
from bot.storage.subscriptions import Subscription, SubscriptionSpec, SubscriptionStore
from handlers.conversation.authz import Authorizer
from handlers.conversation.commands import AlertsCommand, SubscribeCommand, UnsubscribeCommand
from handlers.ports import InboundEvent


class SubscriptionCommands(Protocol):
    """The subscription use cases (implemented by the scheduling feature); reply texts out."""

    async def subscribe(
        self, event: InboundEvent, command: SubscribeCommand, repo: RepoTarget
    ) -> str:
        """Subscribe the channel to `repo` (authorized already, as the command named it)."""
        ...

    async def set_alerts(self, event: InboundEvent, command: AlertsCommand) -> str:
        """Turn the alerts of the channel's subscription of `command.repo` on or off."""
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
            alerts=command.alerts or (existing.spec.alerts if existing is not None else "off"),
            cadence=command.cadence,
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
            f"language {spec.language}, minimum importance {spec.min_importance.value}"
            f"{_alerts_clause(spec.alerts)}{_cadence_clause(spec.cadence)}. "
            f"Next post {following:%Y-%m-%d %H:%M} "
            f"({schedule.timezone}); each post covers the days since the previous one."
        )

    async def set_alerts(self, event: InboundEvent, command: AlertsCommand) -> str:
        try:
            name = self._authz.repo(command.repo).name
        except DigestbotError:
            name = command.repo
        existing = await asyncio.to_thread(self._store.find, event.platform, event.channel_id, name)
        if existing is None or not existing.active:
            raise InvalidInputError(
                f"There is no subscription of {name} in this channel; subscribe first: "
                f"subscribe {name} at 09:00 Asia/Shanghai alerts {command.level}"
            )
        if existing.origin == "config":
            raise InvalidInputError(
                f"The subscription of {name} here is set in the config file; set alerts there."
            )
        spec = replace(existing.spec, alerts=command.level)
        await asyncio.to_thread(
            self._store.save,
            spec,
            origin="chat",
            created_by=f"{event.platform}:{event.user_id}",
            now=self._clock(),
        )
        if command.level == "off":
            return f"Alerts for {existing.repo} are off in this channel; the daily post stays."
        return (
            f"Alerts for {existing.repo} in this channel: commits of {command.level} importance "
            "and above, posted as they land; the daily post marks what was alerted."
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
                f"minimum {sub.spec.min_importance.value}{_alerts_clause(sub.spec.alerts)}{origin}"
            )
        return "\n".join(lines)


def _cadence_clause(cadence: str) -> str:
    return ", weekly with the week's chart" if cadence == "weekly" else ""


def _alerts_clause(level: str) -> str:
    return "" if level == "off" else f", alerts for {level} and above"
