"""Posting one scheduled digest exactly once: claim, build, fence, post, record — and recover.

One attempt on a deliveries row (see bot/storage/deliveries.py):

1. claim it (compare-and-set: pending and due, or sending with an expired lease);
2. when this is a retry or a recovery, ask the platform whether a message carrying the
   delivery key is already there (Slack metadata, Feishu uuid, Discord nonce) — if so,
   record it as sent and stop;
3. build the digest (heartbeating the lease), then renew the lease *and* mark "posting"
   in one fenced update: a replica that lost its claim stops here;
4. post with the delivery key (bounded by half the lease), then mark sent (fenced).

A crash before 3 leaves `posting_since` empty: the row is simply retried. A crash between 3
and 4 leaves `posting_since` set: the next holder looks the key up before posting again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol, TypeVar

from bot.config import SchedulerConfig
from bot.errors import (
    ConfigError,
    DigestbotError,
    InvalidInputError,
    PlatformError,
    RepoNotAllowedError,
)
from bot.filters import CommitFilter
from bot.metrics import NO_METRICS, DeliveryObserver, delivery_failure_reason
from bot.models import Digest
from bot.notices import failed_text, missed_text
from bot.repos import RepoResolver, RepoTarget
from bot.service import DigestRequest, DigestService
from bot.storage.deliveries import Delivery, DeliveryState, DeliveryStore, PostRef
from bot.storage.subscriptions import Subscription, SubscriptionStore
from bot.windows import days_window

log = logging.getLogger(__name__)
T = TypeVar("T")

_PERMANENT = (ConfigError, InvalidInputError, RepoNotAllowedError)  # retrying will not help


@dataclass(frozen=True)
class DeliverySettings:
    lease: timedelta = timedelta(minutes=10)
    catchup_window: timedelta = timedelta(hours=24)
    retry_for: timedelta = timedelta(hours=12)
    backoff: tuple[timedelta, ...] = tuple(timedelta(minutes=m) for m in (1, 2, 5, 10, 20, 30, 60))
    max_attempts: int = 12
    concurrency: int = 4

    @classmethod
    def from_config(cls, config: SchedulerConfig) -> DeliverySettings:
        return cls(
            lease=timedelta(seconds=config.lease_seconds),
            catchup_window=timedelta(hours=config.catchup_hours),
            retry_for=timedelta(hours=config.retry_hours),
        )

    @property
    def post_timeout(self) -> float:
        """A post must end well inside the lease renewed just before it, so no other replica
        can take the row over (and look the key up) while our request is still in flight."""
        return self.lease.total_seconds() / 2


class Poster(Protocol):
    """Where scheduled digests go (implemented over the chat adapters in handlers/)."""

    async def post(
        self, subscription: Subscription, repo: RepoTarget, digest: Digest, key: str
    ) -> list[PostRef]:
        """Post the digest carrying `key` (the platform's idempotency key / metadata)."""
        ...

    async def find(self, subscription: Subscription, key: str) -> list[PostRef] | None:
        """Messages carrying `key` already in the channel; None when the platform cannot tell."""
        ...

    async def adopt(
        self, subscription: Subscription, repo: RepoTarget, digest: Digest, refs: Sequence[PostRef]
    ) -> None:
        """Record messages found by `find`, so thread replies under them work."""
        ...

    async def notify(self, subscription: Subscription, text: str) -> None:
        """A short plain-text notice in the subscription's channel."""
        ...


class DigestBuilder(Protocol):
    async def build(
        self, subscription: Subscription, first: date, last: date
    ) -> tuple[RepoTarget, Digest]: ...


class ServiceDigestBuilder:
    """Builds a subscription's digest over local days [first, last] with the digest service."""

    def __init__(
        self,
        service: DigestService,
        resolver: RepoResolver,
        base_filter: Callable[[RepoTarget], CommitFilter],
    ) -> None:
        self._service = service
        self._resolver = resolver
        self._base_filter = base_filter

    async def build(
        self, subscription: Subscription, first: date, last: date
    ) -> tuple[RepoTarget, Digest]:
        spec = subscription.spec
        repo = self._resolver.resolve(spec.repo)
        label = first.isoformat() if first == last else f"{first}..{last}"
        window = days_window(first, last, spec.schedule.zone, label)
        base = self._base_filter(repo)
        request = DigestRequest(
            language=spec.language,
            min_importance=spec.min_importance,
            commit_filter=CommitFilter(
                exclude_authors=base.exclude_authors + spec.exclude_authors,
                exclude_merges=base.exclude_merges,
                exclude_paths=base.exclude_paths + spec.exclude_paths,
            ),
        )
        # An LLM outage does not fail the post: the analyzer falls back to the heuristic and
        # the digest's provenance (fallbacks) says so in the card.
        return repo, await self._service.build_digest(repo, window, request)


@dataclass(frozen=True)
class Outcome:
    """What one attempt did. `state` None: the row was not ours (claimed elsewhere, or we
    lost the lease)."""

    delivery: Delivery
    state: DeliveryState | None
    reason: str | None = None


def new_worker_id() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class DeliveryRunner:
    """Runs attempts on deliveries rows; several runners (processes) may share one database."""

    def __init__(
        self,
        *,
        subscriptions: SubscriptionStore,
        deliveries: DeliveryStore,
        builder: DigestBuilder,
        poster: Poster,
        clock: Callable[[], datetime],
        settings: DeliverySettings | None = None,
        worker_id: str | None = None,
        observer: DeliveryObserver | None = None,
    ) -> None:
        self._observer = observer if observer is not None else NO_METRICS
        self.subscriptions = subscriptions
        self.deliveries = deliveries
        self._builder = builder
        self._poster = poster
        self._clock = clock
        self.settings = settings or DeliverySettings()
        self.worker_id = worker_id or new_worker_id()
        self._slots = asyncio.Semaphore(self.settings.concurrency)

    async def run_many(
        self, rows: Sequence[Delivery], *, recovering: bool = False
    ) -> list[Outcome]:
        """Attempt every row (at most `concurrency` at once); one row's storage failure does
        not stop the others."""
        results = await asyncio.gather(
            *(self.run(row, recovering=recovering) for row in rows), return_exceptions=True
        )
        outcomes: list[Outcome] = []
        for row, result in zip(rows, results, strict=True):
            if isinstance(result, Outcome):
                outcomes.append(result)
            elif isinstance(result, Exception):
                log.error("delivery %s: attempt aborted", row.key, exc_info=result)
                outcomes.append(Outcome(row, None, "aborted"))
            else:
                raise result  # cancellation and the like end the whole batch
        return outcomes

    async def run(self, row: Delivery, *, recovering: bool = False) -> Outcome:
        async with self._slots:
            now = self._clock()
            claimed = await _db(
                self.deliveries.claim,
                row.id,
                self.worker_id,
                now,
                now + self.settings.lease,
                recovering=recovering,
            )
            if claimed is None:
                return Outcome(row, None)
            subscription = await _db(self.subscriptions.get, claimed.subscription_id)
            attempt = _Attempt(claimed)
            try:
                return await self._work(attempt, subscription)
            except DigestbotError as exc:
                log.warning("delivery %s attempt %s failed: %s", claimed.key, claimed.attempts, exc)
                return await self._failed(attempt, subscription, exc.user_message, exc)
            except Exception:  # the job boundary: the row is retried, the log has the details
                log.exception("delivery %s attempt %s failed", claimed.key, claimed.attempts)
                return await self._failed(attempt, subscription, "internal error", None)

    async def _work(self, attempt: _Attempt, subscription: Subscription | None) -> Outcome:
        row = attempt.row
        if subscription is None:
            return await self._finish(row, DeliveryState.FAILED, "the subscription is gone")
        if row.attempts > 1 or row.posting_since is not None:
            found = await self._poster.find(subscription, row.key)
            if found:
                await self._adopt(subscription, row, found)
                return await self._sent(row, found)
            if found is None and row.posting_since is not None:
                # The platform may or may not have it and cannot tell us: never post twice.
                reason = "interrupted while posting; not re-posted (the platform cannot check)"
                return await self._finish(row, DeliveryState.FAILED, reason)
        now = self._clock()
        if now - row.due_at > self.settings.catchup_window:
            return await self._finish(row, DeliveryState.MISSED, "too late to post", notify=True)
        if not subscription.active:
            return await self._finish(row, DeliveryState.FAILED, "unsubscribed before it was due")
        first, last = subscription.schedule.covered_days(row.local_date)
        repo, digest = await self._heartbeat(row, self._builder.build(subscription, first, last))
        now = self._clock()
        fenced = await _db(
            self.deliveries.renew, row.id, self.worker_id, now + self.settings.lease, posting_at=now
        )
        if not fenced:
            log.warning("delivery %s was taken over during the build; not posting", row.key)
            return Outcome(row, None)
        attempt.posting = True
        async with asyncio.timeout(self.settings.post_timeout):
            refs = await self._poster.post(subscription, repo, digest, row.key)
        return await self._sent(row, refs)

    async def _sent(self, row: Delivery, refs: Sequence[PostRef]) -> Outcome:
        if await _db(self.deliveries.mark_sent, row.id, self.worker_id, refs, self._clock()):
            log.info("delivery %s sent (%d messages)", row.key, len(refs))
            return Outcome(row, DeliveryState.SENT)
        log.error("delivery %s: lost the lease while posting; the new holder looks it up", row.key)
        return Outcome(row, None)

    async def _finish(
        self, row: Delivery, state: DeliveryState, reason: str, *, notify: bool = False
    ) -> Outcome:
        now = self._clock()
        done = await _db(
            self.deliveries.finish, row.id, self.worker_id, state, reason, now, notify=notify
        )
        if not done:
            return Outcome(row, None)
        if state is DeliveryState.MISSED:
            self._observer.delivery_failed("missed")
        log.warning("delivery %s %s: %s", row.key, state.value, reason)
        return Outcome(row, state, reason)

    async def _failed(
        self,
        attempt: _Attempt,
        subscription: Subscription | None,
        reason: str,
        exc: DigestbotError | None,
    ) -> Outcome:
        self._observer.delivery_failed(delivery_failure_reason(exc))
        row, now = attempt.row, self._clock()
        # A refusal the adapter reports cleanly posted nothing; anything else after the call
        # began (timeout, crash of the adapter) may have: the next attempt looks first. A
        # failure before this attempt posted keeps what an earlier interrupted attempt left.
        if attempt.posting:
            posted_maybe = not isinstance(exc, PlatformError)
        else:
            posted_maybe = row.posting_since is not None
        delay = self.settings.backoff[min(row.attempts, len(self.settings.backoff)) - 1]
        next_at = now + delay
        give_up = (
            isinstance(exc, _PERMANENT)
            or row.attempts >= self.settings.max_attempts
            or next_at > row.created_at + self.settings.retry_for
        )
        if not give_up or posted_maybe:
            ok = await _db(
                self.deliveries.retry_later,
                row.id,
                self.worker_id,
                next_at,
                reason,
                now,
                posted_maybe=posted_maybe,
            )
            return Outcome(row, DeliveryState.PENDING if ok else None, reason)
        return await self._finish(row, DeliveryState.FAILED, reason, notify=True)

    async def _adopt(self, subscription: Subscription, row: Delivery, refs: list[PostRef]) -> None:
        """Record found messages so thread replies work (best effort: the post exists)."""
        try:
            first, last = subscription.schedule.covered_days(row.local_date)
            repo, digest = await self._builder.build(subscription, first, last)
            await self._poster.adopt(subscription, repo, digest, refs)
        except DigestbotError as exc:
            log.warning("delivery %s found posted; refs not recorded: %s", row.key, exc)

    async def _heartbeat(self, row: Delivery, work: Awaitable[T]) -> T:
        """Await `work` while renewing the lease every third of it (long LLM builds)."""

        async def beat() -> None:
            while True:
                await asyncio.sleep(self.settings.lease.total_seconds() / 3)
                lease_until = self._clock() + self.settings.lease
                if not await _db(self.deliveries.renew, row.id, self.worker_id, lease_until):
                    log.warning("delivery %s: lease lost during the build", row.key)
                    return

        beater = asyncio.create_task(beat())
        try:
            return await work
        finally:
            beater.cancel()

    async def send_notices(self) -> dict[int, list[date]]:
        """Send the notices rows owe: one per subscription for its missed runs, one per run
        that failed for good. Claimed with a lease like posts, so one replica sends each;
        returns the missed days notified, per subscription."""
        now = self._clock()
        token = f"{self.worker_id}/{uuid.uuid4().hex[:8]}"  # this claim only
        owed = await _db(self.deliveries.claim_notices, token, now, now + self.settings.lease)
        by_sub: dict[int, list[Delivery]] = {}
        for row in owed:
            by_sub.setdefault(row.subscription_id, []).append(row)
        notified: dict[int, list[date]] = {}
        for sub_id, rows in by_sub.items():
            subscription = await _db(self.subscriptions.get, sub_id)
            sent: list[int] = []
            if subscription is None or not subscription.active:
                sent = [r.id for r in rows]  # nobody left to tell
            else:
                missed = [r for r in rows if r.state is DeliveryState.MISSED]
                texts: list[tuple[list[Delivery], str]] = []
                if missed:
                    days = [r.local_date for r in missed]
                    texts.append((missed, missed_text(subscription, days)))
                texts += [
                    ([r], failed_text(subscription, r.local_date, r.reason or "unknown error"))
                    for r in rows
                    if r.state is DeliveryState.FAILED
                ]
                for covered, text in texts:
                    if await self.notify(subscription, text):
                        sent += [r.id for r in covered]
                if missed:
                    notified[sub_id] = [r.local_date for r in missed]
            if sent:
                await _db(self.deliveries.notices_sent, sent, token, self._clock())
        return notified

    async def notify(self, subscription: Subscription, text: str) -> bool:
        """A notice in the channel; False (logged) when it could not be sent: the row keeps
        owing it and the next tick tries again once the claim's lease ran out."""
        try:
            await self._poster.notify(subscription, text)
            return True
        except DigestbotError as exc:
            log.warning(
                "could not send a notice to %s:%s: %s",
                subscription.platform,
                subscription.channel_id,
                exc,
            )
        except Exception:  # a notice is never worth failing the tick for
            log.exception(
                "could not send a notice to %s:%s", subscription.platform, subscription.channel_id
            )
        return False


@dataclass
class _Attempt:
    row: Delivery
    posting: bool = False


async def _db(call: Callable[..., T], *args: object, **kwargs: object) -> T:
    return await asyncio.to_thread(call, *args, **kwargs)
