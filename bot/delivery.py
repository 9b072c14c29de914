"""Posting one scheduled digest exactly once, part by part: claim, plan, fence, post, record.

One attempt on a deliveries row (see bot/storage/deliveries.py):

1. claim it (compare-and-set: pending and due, or sending with an expired lease, measured in
   database time); the claim's `attempts` is its fencing token;
2. on the first attempt, build the digest (heartbeating the lease), render it into the
   platform's messages and store them as parts (fenced) — retries post exactly those;
3. for each part not yet final: renew the lease and mark the part "posting" in one fenced
   transaction, post it with its idempotency key (bounded by half the lease, on the monotonic
   clock), then record its message refs;
4. when every part is final, the row is sent — or partial (some parts failed for good) or
   failed, and the channel gets one short notice.

A part left "posting" by a crash or a timeout may be up: the next holder looks for it by its
key in the platform, within the time its post could have happened (never "the last N
messages"), and records what it finds instead of posting again. When the platform cannot
answer the lookup (no history permission, or no lookup at all), the part is never re-posted:
after LOOKUP_TRIES failed lookups it is recorded "unknown", the rest of the digest goes on, and
the notice says which part may be missing (at most once beats twice: docs/delivery.md).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
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
from bot.notices import failed_text, missed_text, partial_text
from bot.repos import RepoResolver, RepoTarget
from bot.service import DigestRequest, DigestService
from bot.storage.deliveries import (
    Delivery,
    DeliveryPart,
    DeliveryState,
    DeliveryStore,
    PartState,
    PostRef,
)
from bot.storage.subscriptions import Subscription, SubscriptionStore
from bot.windows import days_window

log = logging.getLogger(__name__)
T = TypeVar("T")

_PERMANENT = (ConfigError, InvalidInputError, RepoNotAllowedError)  # retrying will not help
# A part's lookup is tried this many times (one per attempt, with the backoff between) before
# the part is recorded "unknown": a channel the bot may post in but not read must not block
# the digest for the whole retry period.
LOOKUP_TRIES = 3
# How far around a part's post time its lookup reads. The post time is the database's clock and
# the platform stamps messages with its own: NTP keeps them within seconds, but a machine whose
# clock was stepped (the SQLite case: the process's clock is the database's) may be off by
# minutes. An hour either side still reads a bounded span — a few pages in a busy channel.
LOOKUP_MARGIN = timedelta(hours=1)


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


@dataclass(frozen=True)
class PreparedDigest:
    """A digest rendered for its channel: the messages to post ([0] is the root, the rest go
    in its thread) and the poster's JSON to record posted parts with (thread replies)."""

    parts: list[str]
    context: str


class Poster(Protocol):
    """Where scheduled digests go (implemented over the chat adapters in handlers/)."""

    async def prepare(
        self, subscription: Subscription, repo: RepoTarget, digest: Digest, key: str
    ) -> PreparedDigest:
        """Save the digest and render it into the platform's messages."""
        ...

    async def post_part(
        self, subscription: Subscription, part: DeliveryPart, key: str, root: PostRef | None
    ) -> list[PostRef]:
        """Post one stored part carrying its idempotency key (`key`, `part.index`), under
        `root` for parts after the first. PlatformError: refused, nothing was posted."""
        ...

    async def find_part(
        self,
        subscription: Subscription,
        key: str,
        part: DeliveryPart,
        root: PostRef | None,
        between: tuple[datetime, datetime],
    ) -> list[PostRef] | None:
        """The messages of `part` posted between the two instants; [] when there are none,
        None when the platform cannot tell. PlatformError: the lookup failed."""
        ...

    async def record(
        self, subscription: Subscription, refs: Sequence[PostRef], context: str
    ) -> None:
        """Record posted (or found) messages so thread replies under them work."""
        ...

    async def notify(self, subscription: Subscription, text: str) -> None:
        """A short plain-text notice in the subscription's channel."""
        ...


class DigestBuilder(Protocol):
    async def build(
        self, subscription: Subscription, first: date, last: date
    ) -> tuple[RepoTarget, Digest]: ...


class Planner(Protocol):
    """What a row posts: rendered once, on the row's first attempt (retries post the stored
    parts). Daily digests and alerts are two planners over the same runner."""

    @property
    def notifies(self) -> bool:
        """Whether a row that is missed or fails for good owes its channel a notice."""
        ...

    async def plan(self, row: Delivery, subscription: Subscription) -> PreparedDigest: ...


class DigestPlanner:
    """A daily post: the subscription's digest over the days its run covers, rendered."""

    notifies = True

    def __init__(self, builder: DigestBuilder, poster: Poster) -> None:
        self._builder = builder
        self._poster = poster

    async def plan(self, row: Delivery, subscription: Subscription) -> PreparedDigest:
        first, last = subscription.schedule.covered_days(row.local_date)
        repo, digest = await self._builder.build(subscription, first, last)
        return await self._poster.prepare(subscription, repo, digest, row.key)


class AlertMarks(Protocol):
    def alerted_at(self, subscription_id: int, shas: Sequence[str]) -> dict[str, datetime]:
        """When each of `shas` was alerted in the subscription's channel (those that were)."""
        ...


class ServiceDigestBuilder:
    """Builds a subscription's digest over local days [first, last] with the digest service;
    commits the channel was alerted about are marked with the alert's time."""

    def __init__(
        self,
        service: DigestService,
        resolver: RepoResolver,
        base_filter: Callable[[RepoTarget], CommitFilter],
        marks: AlertMarks | None = None,
    ) -> None:
        self._service = service
        self._resolver = resolver
        self._base_filter = base_filter
        self._marks = marks

    async def build(
        self, subscription: Subscription, first: date, last: date
    ) -> tuple[RepoTarget, Digest]:
        spec = subscription.spec
        repo = self._resolver.resolve(spec.repo)
        label = first.isoformat() if first == last else f"{first}..{last}"
        window = days_window(first, last, spec.schedule.zone, label)
        request = subscription_request(subscription, self._base_filter(repo))
        # An LLM outage does not fail the post: the analyzer falls back to the heuristic and
        # the digest's provenance (fallbacks) says so in the card.
        digest = await self._service.build_digest(repo, window, request)
        if self._marks is not None and digest.items:
            shas = [item.commit.sha for item in digest.items]
            alerted = await asyncio.to_thread(self._marks.alerted_at, subscription.id, shas)
            if alerted:
                items = tuple(
                    item.model_copy(update={"alerted_at": alerted[item.commit.sha]})
                    if item.commit.sha in alerted
                    else item
                    for item in digest.items
                )
                digest = digest.model_copy(update={"items": items})
        return repo, digest


def subscription_request(subscription: Subscription, base: CommitFilter) -> DigestRequest:
    """The digest request of a subscription's posts (its alerts use it too, so both share one
    analysis per commit): its language, minimum and filters on top of the repository's."""
    spec = subscription.spec
    return DigestRequest(
        language=spec.language,
        min_importance=spec.min_importance,
        commit_filter=CommitFilter(
            exclude_authors=base.exclude_authors + spec.exclude_authors,
            exclude_merges=base.exclude_merges,
            exclude_paths=base.exclude_paths + spec.exclude_paths,
        ),
    )


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
    """Runs attempts on deliveries rows; several runners (processes) may share one PostgreSQL
    database. Times come from the database (`DeliveryStore.now`), not this process's clock."""

    def __init__(
        self,
        *,
        subscriptions: SubscriptionStore,
        deliveries: DeliveryStore,
        planner: Planner,
        poster: Poster,
        settings: DeliverySettings | None = None,
        worker_id: str | None = None,
        observer: DeliveryObserver | None = None,
    ) -> None:
        self._observer = observer if observer is not None else NO_METRICS
        self.subscriptions = subscriptions
        self.deliveries = deliveries
        self._planner = planner
        self._poster = poster
        self.settings = settings or DeliverySettings()
        self.worker_id = worker_id or new_worker_id()
        self._slots = asyncio.Semaphore(self.settings.concurrency)
        # Rows this process is working on: never claimed again by it, whatever the clocks say
        # (on SQLite this process is the only writer, so this is the whole guard).
        self._active: set[int] = set()

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
        if row.id in self._active:
            return Outcome(row, None)
        self._active.add(row.id)
        try:
            async with self._slots:
                return await self._attempt(row, recovering=recovering)
        finally:
            self._active.discard(row.id)

    async def _attempt(self, row: Delivery, *, recovering: bool) -> Outcome:
        lease = self.settings.lease
        claimed = await _db(
            self.deliveries.claim, row.id, self.worker_id, lease, recovering=recovering
        )
        if claimed is None:
            return Outcome(row, None)
        subscription = await _db(self.subscriptions.get, claimed.subscription_id)
        try:
            return await self._work(claimed, subscription)
        except DigestbotError as exc:
            log.warning("delivery %s attempt %s failed: %s", claimed.key, claimed.fence, exc)
            return await self._failed(claimed, exc.user_message, exc)
        except Exception:  # the job boundary: the row is retried, the log has the details
            log.exception("delivery %s attempt %s failed", claimed.key, claimed.fence)
            return await self._failed(claimed, "internal error", None)

    async def _work(self, row: Delivery, subscription: Subscription | None) -> Outcome:
        if subscription is None:
            return await self._finish(row, DeliveryState.FAILED, "the subscription is gone")
        planned = await _db(self.deliveries.parts, row.id)
        context = row.context or ""
        if not planned:
            if await self._too_late(row):
                return await self._finish(
                    row, DeliveryState.MISSED, "too late to post", notify=self._planner.notifies
                )
            if not subscription.active:
                return await self._finish(
                    row, DeliveryState.FAILED, "unsubscribed before it was due"
                )
            prepared = await self._heartbeat(row, self._planner.plan(row, subscription))
            context = prepared.context
            if not await _db(self.deliveries.plan, row.id, row.fence, prepared.parts, context):
                log.warning("delivery %s was taken over during the build; not posting", row.key)
                return Outcome(row, None)
            planned = await _db(self.deliveries.parts, row.id)
        elif not subscription.active:
            return await self._give_up(row, planned, "unsubscribed while it was being posted")
        return await self._post_parts(row, subscription, planned, context)

    async def _post_parts(
        self,
        row: Delivery,
        subscription: Subscription,
        planned: list[DeliveryPart],
        context: str,
    ) -> Outcome:
        for index in range(len(planned)):
            root = _root(planned)
            if planned[index].state is PartState.POSTING:
                planned[index] = await self._reconcile(
                    row, subscription, planned[index], root, context
                )
            if planned[index].state.final:
                continue
            if index == 0 and await self._too_late(row):  # nothing is up yet
                return await self._finish(
                    row, DeliveryState.MISSED, "too late to post", notify=self._planner.notifies
                )
            if index > 0 and root is None:
                reason = "the first message is not up, so there is no thread to post it in"
                planned[index] = await self._end(
                    row, planned[index], PartState.FAILED, reason=reason
                )
                continue
            began = await _db(
                self.deliveries.begin_part, row.id, row.fence, index, self.settings.lease
            )
            if began is None:
                settled = (await _db(self.deliveries.parts, row.id))[index]
                if settled.state.final:  # an earlier attempt's late answer recorded it
                    planned[index] = settled
                    continue
                log.warning("delivery %s: lost the claim before part %d", row.key, index)
                return Outcome(row, None)
            part = replace(
                planned[index], state=PartState.POSTING, attempt=row.fence, posting_at=began
            )
            try:
                async with asyncio.timeout(self.settings.post_timeout):
                    refs = await self._poster.post_part(subscription, part, row.key, root)
            except PlatformError as exc:  # a clean refusal: nothing of this part is up
                await self._end(row, part, PartState.PENDING, reason=exc.user_message, failed=True)
                raise
            planned[index] = await self._end(row, part, PartState.SENT, refs=refs)
            await self._poster.record(subscription, refs, context)
        return await self._settle(row, planned, "")

    async def _too_late(self, row: Delivery) -> bool:
        now = await _db(self.deliveries.now)
        return now - row.due_at > self.settings.catchup_window

    async def _reconcile(
        self,
        row: Delivery,
        subscription: Subscription,
        part: DeliveryPart,
        root: PostRef | None,
        context: str,
    ) -> DeliveryPart:
        """A part an earlier attempt began: found (sent), not there (pending), or unknown."""
        if part.index > 0 and root is None:
            return await self._end(
                row, part, PartState.UNKNOWN, reason="its thread's first message is unknown"
            )
        began = part.posting_at or row.due_at
        between = (
            began - LOOKUP_MARGIN,
            began + timedelta(seconds=self.settings.post_timeout) + LOOKUP_MARGIN,
        )
        try:
            found = await self._poster.find_part(subscription, row.key, part, root, between)
        except PlatformError as exc:
            reason = f"could not check whether it was posted: {exc.user_message}"
            if part.failures + 1 >= LOOKUP_TRIES:
                log.warning("delivery %s part %d: %s; not re-posted", row.key, part.index, reason)
                return await self._end(row, part, PartState.UNKNOWN, reason=reason, failed=True)
            await self._end(row, part, PartState.POSTING, reason=reason, failed=True)
            raise
        if found is None:
            reason = "the platform cannot tell whether it was posted"
            return await self._end(row, part, PartState.UNKNOWN, reason=reason)
        if not found:
            return replace(part, state=PartState.PENDING)
        log.info("delivery %s part %d was already up; recorded", row.key, part.index)
        await self._poster.record(subscription, found, context)
        return await self._end(row, part, PartState.SENT, refs=found)

    async def _end(
        self,
        row: Delivery,
        part: DeliveryPart,
        state: PartState,
        *,
        refs: Sequence[PostRef] = (),
        reason: str | None = None,
        failed: bool = False,
    ) -> DeliveryPart:
        await _db(
            self.deliveries.end_part,
            row.id,
            row.fence,
            part.index,
            state,
            refs=refs,
            reason=reason,
            failed=failed,
        )
        return replace(
            part,
            state=state,
            refs=tuple(refs) or part.refs,
            reason=reason,
            failures=part.failures + failed,
        )

    async def _settle(self, row: Delivery, planned: list[DeliveryPart], reason: str) -> Outcome:
        """Every part is final: sent, or partial / failed with one notice owed."""
        refs = [ref for part in planned for ref in part.refs]
        lost = [part for part in planned if part.state is not PartState.SENT]
        if not lost:
            if await _db(self.deliveries.mark_sent, row.id, row.fence, refs):
                log.info("delivery %s sent (%d messages)", row.key, len(refs))
                return Outcome(row, DeliveryState.SENT)
            log.error("delivery %s: lost the claim while posting; the next holder checks", row.key)
            return Outcome(row, None)
        why = _lost_parts(lost, len(planned), reason)
        state = DeliveryState.FAILED if len(lost) == len(planned) else DeliveryState.PARTIAL
        if state is DeliveryState.PARTIAL:
            self._observer.delivery_failed("partial")
        return await self._finish(row, state, why, refs=refs, notify=self._planner.notifies)

    async def _finish(
        self,
        row: Delivery,
        state: DeliveryState,
        reason: str,
        *,
        refs: Sequence[PostRef] = (),
        notify: bool = False,
    ) -> Outcome:
        done = await _db(
            self.deliveries.finish, row.id, row.fence, state, reason, refs=refs, notify=notify
        )
        if not done:
            return Outcome(row, None)
        if state is DeliveryState.MISSED:
            self._observer.delivery_failed("missed")
        log.warning("delivery %s %s: %s", row.key, state.value, reason)
        return Outcome(row, state, reason)

    async def _failed(self, row: Delivery, reason: str, exc: DigestbotError | None) -> Outcome:
        self._observer.delivery_failed(delivery_failure_reason(exc))
        now = await _db(self.deliveries.now)
        delay = self.settings.backoff[min(row.attempts, len(self.settings.backoff)) - 1]
        next_at = now + delay
        give_up = (
            isinstance(exc, _PERMANENT)
            or row.attempts >= self.settings.max_attempts
            or next_at > row.created_at + self.settings.retry_for
        )
        if not give_up:
            ok = await _db(self.deliveries.retry_later, row.id, row.fence, next_at, reason)
            return Outcome(row, DeliveryState.PENDING if ok else None, reason)
        planned = await _db(self.deliveries.parts, row.id)
        if not planned:
            return await self._finish(
                row, DeliveryState.FAILED, reason, notify=self._planner.notifies
            )
        return await self._give_up(row, planned, reason)

    async def _give_up(self, row: Delivery, planned: list[DeliveryPart], reason: str) -> Outcome:
        """End every part still open (one that may be up is "unknown", never re-posted)."""
        for part in planned:
            if not part.state.final:
                state = PartState.UNKNOWN if part.state is PartState.POSTING else PartState.FAILED
                planned[part.index] = await self._end(row, part, state, reason=reason)
        return await self._settle(row, planned, reason)

    async def _heartbeat(self, row: Delivery, work: Awaitable[T]) -> T:
        """Await `work` while renewing the lease every third of it (long LLM builds)."""

        async def beat() -> None:
            while True:
                await asyncio.sleep(self.settings.lease.total_seconds() / 3)
                if not await _db(self.deliveries.renew, row.id, row.fence, self.settings.lease):
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
        token = f"{self.worker_id}/{uuid.uuid4().hex[:8]}"  # this claim only
        owed = await _db(self.deliveries.claim_notices, token, self.settings.lease)
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
                    ([r], _final_text(subscription, r))
                    for r in rows
                    if r.state in {DeliveryState.FAILED, DeliveryState.PARTIAL}
                ]
                for covered, text in texts:
                    if await self.notify(subscription, text):
                        sent += [r.id for r in covered]
                if missed:
                    notified[sub_id] = [r.local_date for r in missed]
            if sent:
                await _db(self.deliveries.notices_sent, sent, token)
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


def _root(planned: Sequence[DeliveryPart]) -> PostRef | None:
    first = planned[0] if planned else None
    if first is None or first.state is not PartState.SENT or not first.refs:
        return None
    return first.refs[0]


def _lost_parts(lost: Sequence[DeliveryPart], total: int, reason: str) -> str:
    """Which parts are missing and why, for the row and the channel notice."""
    numbers = ", ".join(str(part.index + 1) for part in lost)
    why = reason or next((part.reason for part in lost if part.reason), None) or "unknown error"
    if len(lost) == total:
        return why
    maybe = any(part.state is PartState.UNKNOWN for part in lost)
    label = "may be missing" if maybe else "could not be posted"
    return f"part {numbers} of {total} {label}: {why}"


def _final_text(subscription: Subscription, row: Delivery) -> str:
    reason = row.reason or "unknown error"
    if row.state is DeliveryState.PARTIAL:
        return partial_text(subscription, row.local_date, reason)
    return failed_text(subscription, row.local_date, reason)


async def _db(call: Callable[..., T], *args: object, **kwargs: object) -> T:
    return await asyncio.to_thread(call, *args, **kwargs)
