"""Finding new commits on followed branches (a poll, or a webhook push) and queueing alerts.

A branch is handled in three steps, and its poll state moves only after the last:

1. its head: a conditional request (`If-None-Match`; GitHub's 304 costs no rate limit) when
   polling, the push's `after` SHA for a webhook;
2. the commits that reached it since the last look: one listing of the span since the last
   success, less the commits that listing held then (a previous head missing from a span
   that covers it means history was rewritten: a force-push, whose commits fold into one card);
3. for each subscription with alerts on: its filters, then the analyses (the digest
   service's cached pipeline under the digest's own keys, so the next daily digest pays
   nothing again), the threshold, quiet hours and the channel's rate cap, and the alert rows
   (bot/storage/alerts.py).

A branch seen for the first time, or not polled successfully for longer than an alert may be
late (`max_delay`), is only re-based on its head: what landed meanwhile is old news, and the
daily digest has it.

A crash anywhere before the poll state moves repeats the work on the next poll: the analyses
come from the cache and the `(subscription, sha)` rows make the repeat queue nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from bot.alerts.policy import AlertPolicy
from bot.alerts.webhook import PushEvent, WebhookRejected
from bot.delivery import DeliveryRunner, Outcome, subscription_request
from bot.errors import DigestbotError
from bot.filters import CommitFilter
from bot.models import CommitSummary, Window
from bot.repos import RepoResolver, RepoTarget
from bot.service import DigestService
from bot.storage.alerts import AlertRequest, SqlAlertStore
from bot.storage.subscriptions import Subscription, SubscriptionStore
from bot.vocabulary import alert_threshold

log = logging.getLogger(__name__)

# A poll lease: long enough for a big push's analyses, short enough that a dead replica's
# branch is polled again soon.
POLL_LEASE = timedelta(minutes=10)
# The listing reaches this far before the last successful poll (committer clocks differ a
# little; a push lands a commit made minutes earlier).
LOOKBACK = timedelta(hours=1)
# More new commits than this at once is an import or a mirror sync, not news: the branch is
# re-based on its new head without alerts (the daily digest still covers every commit).
MAX_BATCH = 300
# How long a webhook push waits for a poll another replica is running on the same branch.
PUSH_WAIT = 30.0


@dataclass(frozen=True)
class Followed:
    """One followed branch and the subscriptions that want its alerts."""

    repo: RepoTarget
    subscriptions: tuple[Subscription, ...]

    @property
    def branch(self) -> str:
        return self.repo.branch or ""


@dataclass
class BranchReport:
    """What handling one branch did (logs, tests, the benchmark)."""

    repo: str
    changed: bool = False
    new: int = 0
    queued: int = 0  # alert rows
    held: int = 0  # commits held back (quiet hours, rate cap)
    skipped: str | None = None  # why nothing was done (claimed elsewhere, first sight, …)
    error: str | None = None


@dataclass
class PollReport:
    branches: list[BranchReport] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)


class AlertWatcher:
    """Polls followed branches, takes webhook pushes, queues alerts and posts them."""

    def __init__(
        self,
        *,
        service: DigestService,
        resolver: RepoResolver,
        base_filter: Callable[[RepoTarget], CommitFilter],
        subscriptions: SubscriptionStore,
        alerts: SqlAlertStore,
        runner: DeliveryRunner,
        policy: AlertPolicy,
        now: Callable[[], datetime],
    ) -> None:
        self._service = service
        self._resolver = resolver
        self._base_filter = base_filter
        self._subscriptions = subscriptions
        self.alerts = alerts
        self.runner = runner
        self.policy = policy
        self._now = now  # the database's time (DeliveryStore.now)

    @property
    def worker_id(self) -> str:
        return self.runner.worker_id

    async def followed(self) -> list[Followed]:
        """Branches with at least one active subscription whose alerts are on."""
        active = await asyncio.to_thread(self._subscriptions.active)
        groups: dict[tuple[str, str], tuple[RepoTarget, list[Subscription]]] = {}
        for sub in active:
            if alert_threshold(sub.spec.alerts) is None:
                continue
            try:
                repo = self._resolver.resolve(sub.repo)
            except DigestbotError as exc:
                log.warning("alerts of subscription %s: %s", sub.id, exc)
                continue
            key = (repo.key, repo.branch or "")
            groups.setdefault(key, (repo, []))[1].append(sub)
        return [Followed(repo, tuple(subs)) for repo, subs in groups.values()]

    # -- polling ---------------------------------------------------------------------------

    async def poll_all(self) -> PollReport:
        """One poll of every followed branch, then post what is due."""
        report = PollReport()
        for followed in await self.followed():
            report.branches.append(await self.poll(followed))
        report.outcomes = await self.deliver()
        return report

    async def poll(self, followed: Followed) -> BranchReport:
        """One conditional request for the branch head; the rest only when it moved."""
        repo = followed.repo
        report = BranchReport(repo.name)
        if not await self._claim(followed):
            report.skipped = "another replica is polling it"
            return report
        try:
            state = await asyncio.to_thread(self.alerts.poll_state, repo.key, followed.branch)
            etag = state.etag if state is not None and state.head_sha else None
            head = await self._service.source_for(repo).branch_head(repo, etag)
            sha = head.sha or (state.head_sha if state is not None else None)
            await self._advance(followed, sha, head.etag, report=report)
        except DigestbotError as exc:
            log.warning("poll of %s failed: %s", repo.name, exc)
            report.error = exc.user_message
            await asyncio.to_thread(
                self.alerts.poll_failed, repo.key, followed.branch, self.worker_id, str(exc)
            )
        return report

    # -- webhooks --------------------------------------------------------------------------

    async def match_push(self, event: PushEvent) -> Followed | None:
        """The followed branch a push moves; None when it moves another branch (or a tag, or
        deletes the branch) or no subscription of the repository has alerts on.
        WebhookRejected(404) when no subscription follows the repository at all."""
        known = [f for f in await self.followed() if f.repo.kind == "github"]
        mine = [f for f in known if f.repo.name.lower() == event.repo.lower()]
        if not mine:
            # Subscribed without alerts: nothing to do, but not a stranger either.
            active = await asyncio.to_thread(self._subscriptions.active)
            if any(sub.repo.lower() == event.repo.lower() for sub in active):
                return None
            raise WebhookRejected(404, "repository not followed")
        if event.deleted:
            return None
        return next((f for f in mine if event.on_branch(f.repo.branch)), None)

    async def on_push(self, followed: Followed, event: PushEvent) -> BranchReport:
        """Handle a verified push to a followed branch (its head is the push's `after`)."""
        report = BranchReport(followed.repo.name)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + PUSH_WAIT
        while not await self._claim(followed):
            if loop.time() > deadline:
                report.skipped = "another replica kept the branch; its next poll sees the push"
                return report
            await asyncio.sleep(1.0)
        try:
            await self._advance(followed, event.after, None, report=report, forced=event.forced)
        except DigestbotError as exc:
            log.warning("push to %s failed: %s", followed.repo.name, exc)
            report.error = exc.user_message
            await asyncio.to_thread(
                self.alerts.poll_failed,
                followed.repo.key,
                followed.branch,
                self.worker_id,
                str(exc),
            )
        return report

    # -- the work --------------------------------------------------------------------------

    async def deliver(self) -> list[Outcome]:
        """Post (or retry, or recover) every alert row that is due."""
        rows = await asyncio.to_thread(
            self.runner.deliveries.workable, self.worker_id, recovering=False
        )
        return await self.runner.run_many(rows)

    async def _claim(self, followed: Followed) -> bool:
        return await asyncio.to_thread(
            self.alerts.claim_poll,
            followed.repo.key,
            followed.branch,
            self.worker_id,
            POLL_LEASE,
        )

    async def _advance(
        self,
        followed: Followed,
        head: str | None,
        etag: str | None,
        *,
        report: BranchReport,
        forced: bool = False,
    ) -> None:
        """Queue the alerts of the commits that reached the branch since it was last looked
        at (those listed now and not then), then record `head` and the listing as seen."""
        repo = followed.repo
        state = await asyncio.to_thread(self.alerts.poll_state, repo.key, followed.branch)
        now = await asyncio.to_thread(self._now)
        last = state.last_success_at if state is not None else None
        seen = state.head_sha if state is not None else None
        if head is None or (head == seen and state is not None and state.known is not None):
            await self._done(followed, head, etag)  # unchanged
            return
        window = Window(
            start=(last or now) - LOOKBACK - (self.policy.poll_every or timedelta()),
            end=now + timedelta(minutes=10),  # a committer clock a little ahead of ours
            tz="UTC",
            label="alerts",
        )
        listed = await self._service.source_for(repo).list_commits(repo, window)
        listing = [c.sha for c in listed]
        head_at = next((c.committed_at for c in listed if c.sha == head), None)
        stale = last is not None and now - last > self.policy.max_delay
        if seen is None or state is None or state.known is None or stale:
            # First sight, or too long without a poll: re-base, do not alert old news.
            report.skipped = "re-based on the branch head"
            await self._done(followed, head, etag, head_at, listing)
            return
        report.changed = True
        known = set(state.known)
        # Oldest first. Not "the commits before the previous head": committer dates do not
        # follow push order (a merge brings older commits), so the listing's order cannot be
        # cut at a SHA; what was not there at the previous look is new.
        new = [c for c in reversed(listed) if c.sha not in known]
        # The previous head gone from a span that covers its commit time: history was
        # rewritten (a force-push), and what it brings folds into one card.
        rewritten = seen not in listing and (
            state.head_at is not None and state.head_at >= window.start
        )
        report.new = len(new)
        if len(new) > MAX_BATCH:
            log.warning(
                "%s: %d new commits at once (an import?): no alerts, the digest has them",
                repo.name,
                len(new),
            )
            report.skipped = f"{len(new)} commits at once"
        elif new:
            for sub in followed.subscriptions:
                folded = forced or rewritten
                await self._queue(
                    repo, sub, new, window=window, now=now, forced=folded, report=report
                )
        await self._done(followed, head, etag, head_at, listing)

    async def _queue(
        self,
        repo: RepoTarget,
        sub: Subscription,
        new: Sequence[CommitSummary],
        *,
        window: Window,
        now: datetime,
        forced: bool,
        report: BranchReport,
    ) -> None:
        threshold = alert_threshold(sub.spec.alerts)
        if threshold is None:
            return
        request = subscription_request(sub, self._base_filter(repo))
        kept = [c.sha for c in new if request.commit_filter.keeps_summary(c)]
        if not kept:
            return
        wanted = replace(request, min_importance=threshold)
        digest = await self._service.digest_of_commits(repo, kept, window, wanted)
        shas = tuple(item.commit.sha for item in digest.items)
        if not shas:
            return
        zone = sub.schedule.zone
        quiet = self.policy.quiet is not None and self.policy.quiet.contains(now, zone)
        queued = await asyncio.to_thread(
            self.alerts.queue,
            AlertRequest(
                subscription_id=sub.id,
                channel=f"{sub.platform}:{sub.channel_id}",
                repo=repo.name,
                shas=shas,
                local_date=now.astimezone(zone).date().isoformat(),
                fold_at=self.policy.fold_at,
                forced=forced,
                hold="quiet_hours" if quiet else None,
                max_per_hour=self.policy.max_per_hour,
            ),
        )
        report.queued += len(queued.delivery_ids)
        report.held += len(queued.held)
        log.info(
            "alerts of %s → %s:%s: %d commit(s), %d card(s), %d held back",
            repo.name,
            sub.platform,
            sub.channel_id,
            len(shas),
            len(queued.delivery_ids),
            len(queued.held),
        )

    async def _done(
        self,
        followed: Followed,
        head: str | None,
        etag: str | None,
        head_at: datetime | None = None,
        known: Sequence[str] | None = None,
    ) -> None:
        await asyncio.to_thread(
            self.alerts.poll_done,
            followed.repo.key,
            followed.branch,
            self.worker_id,
            head_sha=head,
            head_at=head_at,
            etag=etag,
            known=known,
        )
