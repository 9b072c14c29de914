"""What an alert row posts: its commits' card, rendered once from the cached analyses."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from bot.delivery import PreparedDigest, subscription_request
from bot.errors import InvalidInputError, StorageError
from bot.filters import CommitFilter
from bot.models import Alert, HeldBack, Importance, Window
from bot.repos import RepoResolver, RepoTarget
from bot.service import DigestService
from bot.storage.alerts import SqlAlertStore
from bot.storage.delivery_records import Delivery
from bot.storage.subscriptions import Subscription
from bot.vocabulary import alert_threshold


class AlertPoster(Protocol):
    async def prepare_alert(
        self, subscription: Subscription, repo: RepoTarget, alert: Alert, key: str
    ) -> PreparedDigest:
        """Save the alert's commits (so Details and thread questions work under the card) and
        render its one message."""
        ...


class AlertPlanner:
    """The runner's Planner for alert rows. A missed or failed alert owes no channel notice:
    the commit is in the next daily digest either way (unmarked, since it was not alerted)."""

    notifies = False

    def __init__(
        self,
        *,
        alerts: SqlAlertStore,
        service: DigestService,
        resolver: RepoResolver,
        base_filter: Callable[[RepoTarget], CommitFilter],
        poster: AlertPoster,
    ) -> None:
        self._alerts = alerts
        self._service = service
        self._resolver = resolver
        self._base_filter = base_filter
        self._poster = poster

    async def plan(self, row: Delivery, subscription: Subscription) -> PreparedDigest:
        if alert_threshold(subscription.spec.alerts) is None:
            raise InvalidInputError("alerts were turned off before it was posted")
        detail = await asyncio.to_thread(self._alerts.detail, row.id)
        if detail is None:
            raise StorageError("The alert's commits are missing.", detail=f"row {row.id}")
        repo = self._resolver.resolve(subscription.repo)
        # Every commit the card was queued with is shown, whatever the subscription's minimum.
        request = replace(
            subscription_request(subscription, self._base_filter(repo)),
            min_importance=Importance.LOW,
        )
        window = Window(
            start=row.created_at,
            end=row.created_at,
            tz=subscription.schedule.timezone,
            label="alert",
        )
        digest = await self._service.digest_of_commits(repo, detail.shas, window, request)
        alert = Alert(
            digest=digest,
            folded=detail.folded,
            forced=detail.forced,
            held=HeldBack(
                quiet_hours=detail.held_quiet,
                rate_cap=detail.held_rate,
                since=detail.held_since,
            ),
        )
        return await self._poster.prepare_alert(subscription, repo, alert, row.key)
