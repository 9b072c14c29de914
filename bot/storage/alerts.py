"""Alerts in SQL: which commits each subscription was alerted about, the alert outbox, and
each followed branch's poll state and webhook deliveries seen (schema v7).

An alert is queued in one transaction that inserts `(subscription, sha)` rows first: the
primary key makes "one alert per commit per subscription" hold across crashes and replicas
(a second poller, a webhook and a poll racing, a replayed push). Only the commits this
transaction inserted go into the new outbox rows, which the delivery runner then posts exactly
as it posts daily digests (bot/delivery.py), with the same fencing and lookups.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    func,
    inspect,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.storage.deliveries import (
    OutboxTables,
    insert_ignore,
    outbox_part_columns,
    outbox_row_columns,
)
from bot.storage.delivery_records import DeliveryState
from bot.storage.failures import storage_failure
from bot.storage.subscriptions import from_db, to_db

log = logging.getLogger(__name__)

metadata = MetaData()

HoldReason = Literal["quiet_hours", "rate_cap"]

alert_deliveries = Table(
    "alert_deliveries",
    metadata,
    *outbox_row_columns(),  # local_date: the subscription's day it was queued
    # What the card shows: AlertDetail as JSON (the commits, folded, forced, held back).
    Column("detail", Text, nullable=False),
    Column("channel", String(230), nullable=False),  # "platform:channel_id", for the rate cap
    Index("ix_alert_deliveries_state", "state", "next_attempt_at"),
    Index("ix_alert_deliveries_channel", "channel", "created_at"),
)

alert_parts = Table("alert_parts", metadata, *outbox_part_columns())

ALERT_OUTBOX = OutboxTables(alert_deliveries, alert_parts)

alerted = Table(
    "alerted",
    metadata,
    Column("subscription_id", Integer, primary_key=True),
    Column("sha", String(40), primary_key=True),
    Column("repo", String(300), nullable=False),
    Column("state", String(10), nullable=False),  # queued | held
    Column("reason", String(20), nullable=True),  # held: quiet_hours | rate_cap
    Column("delivery_id", Integer, nullable=True),  # queued: its alert_deliveries row
    Column("reported_by", Integer, nullable=True),  # held: the card that counted it
    Column("created_at", DateTime(timezone=True), nullable=False),
)

poll_state = Table(
    "poll_state",
    metadata,
    Column("repo", String(300), primary_key=True),  # RepoTarget.key
    Column("branch", String(250), primary_key=True),  # "" for the default branch
    Column("head_sha", String(40), nullable=True),
    Column("head_at", DateTime(timezone=True), nullable=True),  # the head's commit time
    Column("etag", String(200), nullable=True),
    # JSON: the SHAs the last look listed (its span), so the next one tells new from known.
    Column("known", Text, nullable=True),
    Column("last_success_at", DateTime(timezone=True), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("claimed_by", String(120), nullable=True),
    Column("lease_until", DateTime(timezone=True), nullable=True),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("guid", String(100), primary_key=True),  # X-GitHub-Delivery
    Column("received_at", DateTime(timezone=True), nullable=False, index=True),
)


def create_tables(conn: Connection) -> None:
    """Schema migration v7: alert tables, and the subscriptions' `alerts` and `cadence`."""
    metadata.create_all(conn, checkfirst=True)
    columns = {c["name"] for c in inspect(conn).get_columns("subscriptions")}
    for name, default in (("alerts", "off"), ("cadence", "daily")):
        if name not in columns:
            conn.execute(
                text(
                    f"ALTER TABLE subscriptions ADD COLUMN {name} VARCHAR(10) "
                    f"NOT NULL DEFAULT '{default}'"
                )
            )


@dataclass(frozen=True)
class AlertDetail:
    """What one alert card shows, fixed when it is queued."""

    repo: str
    shas: tuple[str, ...]
    folded: bool = False
    forced: bool = False
    held_quiet: int = 0
    held_rate: int = 0
    held_since: datetime | None = None

    def dump(self) -> str:
        return json.dumps(
            {
                "repo": self.repo,
                "shas": list(self.shas),
                "folded": self.folded,
                "forced": self.forced,
                "held_quiet": self.held_quiet,
                "held_rate": self.held_rate,
                "held_since": None if self.held_since is None else self.held_since.isoformat(),
            }
        )

    @classmethod
    def load(cls, raw: str) -> AlertDetail:
        data = json.loads(raw)
        since = data.get("held_since")
        return cls(
            repo=str(data["repo"]),
            shas=tuple(str(s) for s in data["shas"]),
            folded=bool(data.get("folded")),
            forced=bool(data.get("forced")),
            held_quiet=int(data.get("held_quiet", 0)),
            held_rate=int(data.get("held_rate", 0)),
            held_since=None if since is None else datetime.fromisoformat(since),
        )


@dataclass(frozen=True)
class AlertRequest:
    """Commits one subscription should be alerted about, from one push or poll."""

    subscription_id: int
    channel: str  # "platform:channel_id"
    repo: str
    shas: tuple[str, ...]  # at or above its threshold, most important first
    local_date: str  # the subscription's local day now (YYYY-MM-DD)
    fold_at: int  # this many or more commits become one card
    forced: bool = False
    hold: HoldReason | None = None  # quiet hours: held whatever the rate
    max_per_hour: int = 0  # cards per channel per hour; 0: no cap


@dataclass
class Queued:
    """What `queue` did for one subscription."""

    delivery_ids: list[int] = field(default_factory=list)
    held: dict[str, HoldReason] = field(default_factory=dict)  # sha -> why
    already: int = 0  # commits alerted (or held) before: nothing new


@dataclass(frozen=True)
class PollState:
    repo: str
    branch: str
    head_sha: str | None
    head_at: datetime | None
    etag: str | None
    last_success_at: datetime | None
    last_error: str | None
    known: tuple[str, ...] | None = None  # None: never listed


class SqlAlertStore:
    """Alerted commits, alert rows, poll state and webhook deliveries over the SqlStore's
    engine (tables created by migration v7). Times are the database's (as for deliveries):
    PostgreSQL's `now()`, or this single process's clock on SQLite."""

    def __init__(self, engine: Engine, now: Any) -> None:
        self._engine = engine
        self._now = now  # () -> datetime: the database's time (DeliveryStore.now)

    # -- queueing --------------------------------------------------------------------------

    def queue(self, request: AlertRequest) -> Queued:
        """Record the commits and queue their cards, in one transaction: a commit already
        recorded for this subscription is skipped, so it is never alerted twice. Quiet hours
        and the channel's rate cap hold commits back (recorded, counted on the next card)."""
        now = self._now()
        done = Queued()
        with self._begin("Could not queue the alert.") as conn:
            fresh = [
                sha
                for sha in request.shas
                if insert_ignore(
                    conn,
                    alerted,
                    {
                        "subscription_id": request.subscription_id,
                        "sha": sha,
                        "repo": request.repo,
                        "state": "queued",
                        "created_at": to_db(now),
                    },
                )
            ]
            done.already = len(request.shas) - len(fresh)
            if not fresh:
                return done
            cards: list[tuple[str, ...]]
            if len(fresh) >= request.fold_at or request.forced:
                cards = [tuple(fresh)]
            else:
                cards = [(sha,) for sha in fresh]
            room = self._room(conn, request, now)
            for card in cards:
                reason: HoldReason | None = request.hold
                if reason is None and room is not None and room <= 0:
                    reason = "rate_cap"
                if reason is not None:
                    self._hold(conn, request.subscription_id, card, reason)
                    done.held.update(dict.fromkeys(card, reason))
                    continue
                if room is not None:
                    room -= 1
                delivery_id = self._insert_card(conn, request, card, now)
                done.delivery_ids.append(delivery_id)
        return done

    def _room(self, conn: Connection, request: AlertRequest, now: datetime) -> int | None:
        """Cards the channel may still get this hour (None: no cap)."""
        if request.max_per_hour <= 0:
            return None
        t = alert_deliveries
        recent = conn.execute(
            select(func.count())
            .select_from(t)
            .where(and_(t.c.channel == request.channel, t.c.created_at > to_db(now - _HOUR)))
        ).scalar_one()
        return request.max_per_hour - int(recent)

    @staticmethod
    def _hold(
        conn: Connection, subscription_id: int, shas: Sequence[str], reason: HoldReason
    ) -> None:
        conn.execute(
            update(alerted)
            .where(and_(alerted.c.subscription_id == subscription_id, alerted.c.sha.in_(shas)))
            .values(state="held", reason=reason)
        )

    def _insert_card(
        self, conn: Connection, request: AlertRequest, card: Sequence[str], now: datetime
    ) -> int:
        a = alerted
        mine = a.c.subscription_id == request.subscription_id
        unreported = and_(mine, a.c.state == "held", a.c.reported_by.is_(None))
        held = conn.execute(
            select(a.c.reason, func.count(), func.min(a.c.created_at))
            .where(unreported)
            .group_by(a.c.reason)
        ).all()
        counts = {str(reason): int(count) for reason, count, _ in held}
        since = min((from_db(first) for _, _, first in held), default=None)
        detail = AlertDetail(
            repo=request.repo,
            shas=tuple(card),
            folded=len(card) > 1,
            forced=request.forced,
            held_quiet=counts.get("quiet_hours", 0),
            held_rate=counts.get("rate_cap", 0),
            held_since=since,
        )
        result = conn.execute(
            alert_deliveries.insert().values(
                subscription_id=request.subscription_id,
                local_date=request.local_date,
                # A placeholder unique per row until the id is known (the key carries it).
                delivery_key=f"new-{request.subscription_id}-{card[0]}",
                state=DeliveryState.PENDING.value,
                due_at=to_db(now),
                attempts=0,
                next_attempt_at=to_db(now),
                refs="[]",
                created_at=to_db(now),
                updated_at=to_db(now),
                detail=detail.dump(),
                channel=request.channel,
            )
        )
        delivery_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        conn.execute(
            update(alert_deliveries)
            .where(alert_deliveries.c.id == delivery_id)
            .values(delivery_key=alert_key(request.subscription_id, delivery_id))
        )
        conn.execute(update(a).where(and_(mine, a.c.sha.in_(card))).values(delivery_id=delivery_id))
        if held:
            conn.execute(update(a).where(unreported).values(reported_by=delivery_id))
        return delivery_id

    # -- reading ---------------------------------------------------------------------------

    def detail(self, delivery_id: int) -> AlertDetail | None:
        t = alert_deliveries
        with self._connect() as conn:
            raw = conn.execute(select(t.c.detail).where(t.c.id == delivery_id)).scalar()
        return None if raw is None else AlertDetail.load(raw)

    def alerted_at(self, subscription_id: int, shas: Sequence[str]) -> dict[str, datetime]:
        """When each of `shas` was alerted in this subscription's channel: commits whose card
        is up (sent, or partial with its card posted), keyed by SHA."""
        if not shas:
            return {}
        a, t = alerted, alert_deliveries
        posted = [DeliveryState.SENT.value, DeliveryState.PARTIAL.value]
        found: dict[str, datetime] = {}
        with self._connect() as conn:
            for chunk in _chunks(list(shas), 500):
                rows = conn.execute(
                    select(a.c.sha, t.c.updated_at)
                    .join(t, t.c.id == a.c.delivery_id)
                    .where(
                        and_(
                            a.c.subscription_id == subscription_id,
                            a.c.sha.in_(chunk),
                            t.c.state.in_(posted),
                        )
                    )
                ).all()
                found.update({str(sha): from_db(at) for sha, at in rows})
        return found

    def held(self, subscription_id: int) -> dict[str, str]:
        """Commits held back for this subscription (tests, diagnostics): sha -> reason."""
        a = alerted
        with self._connect() as conn:
            rows = conn.execute(
                select(a.c.sha, a.c.reason).where(
                    and_(a.c.subscription_id == subscription_id, a.c.state == "held")
                )
            ).all()
        return {str(sha): str(reason) for sha, reason in rows}

    # -- polling ---------------------------------------------------------------------------

    def poll_state(self, repo: str, branch: str) -> PollState | None:
        p = poll_state
        with self._connect() as conn:
            row = conn.execute(
                select(p).where(and_(p.c.repo == repo, p.c.branch == branch))
            ).first()
        return None if row is None else _poll_from_row(row)

    def poll_states(self) -> list[PollState]:
        with self._connect() as conn:
            rows = conn.execute(select(poll_state).order_by(poll_state.c.repo)).all()
        return [_poll_from_row(r) for r in rows]

    def claim_poll(self, repo: str, branch: str, worker: str, lease: timedelta) -> bool:
        """Take the branch's poll for `lease` (one replica polls it at a time): False when
        another worker holds it."""
        p = poll_state
        now = self._now()
        with self._begin("Could not claim the poll.") as conn:
            insert_ignore(conn, p, {"repo": repo, "branch": branch})
            free = or_(
                p.c.lease_until.is_(None),
                p.c.lease_until < self._db_now(now),
                p.c.claimed_by == worker,
            )
            result = conn.execute(
                update(p)
                .where(and_(p.c.repo == repo, p.c.branch == branch, free))
                .values(claimed_by=worker, lease_until=to_db(now + lease))
            )
            return bool(result.rowcount == 1)

    def poll_done(
        self,
        repo: str,
        branch: str,
        worker: str,
        *,
        head_sha: str | None,
        head_at: datetime | None,
        etag: str | None,
        known: Sequence[str] | None = None,
    ) -> None:
        """The poll (or push) was handled up to `head_sha`: its alerts are queued. `known`:
        the SHAs its listing held (kept from the last listing when None)."""
        p = poll_state
        values: dict[str, Any] = {
            "last_success_at": to_db(self._now()),
            "last_error": None,
            "claimed_by": None,
            "lease_until": None,
        }
        if head_sha is not None:
            values.update(head_sha=head_sha, head_at=None if head_at is None else to_db(head_at))
        if etag is not None:
            values["etag"] = etag
        if known is not None:
            values["known"] = json.dumps(list(known))
        with self._begin("Could not record the poll.") as conn:
            insert_ignore(conn, p, {"repo": repo, "branch": branch})
            mine = or_(p.c.claimed_by.is_(None), p.c.claimed_by == worker)
            conn.execute(
                update(p).where(and_(p.c.repo == repo, p.c.branch == branch, mine)).values(**values)
            )

    def poll_failed(self, repo: str, branch: str, worker: str, error: str) -> None:
        p = poll_state
        with self._begin("Could not record the poll.") as conn:
            conn.execute(
                update(p)
                .where(and_(p.c.repo == repo, p.c.branch == branch, p.c.claimed_by == worker))
                .values(last_error=error[:500], claimed_by=None, lease_until=None)
            )

    # -- webhooks --------------------------------------------------------------------------

    def first_delivery(self, guid: str, keep: timedelta) -> bool:
        """Record a webhook delivery id; False when it was seen before (a replay). Ids older
        than `keep` are forgotten (GitHub redelivers within days, replays come sooner)."""
        now = self._now()
        w = webhook_deliveries
        with self._begin("Could not record the webhook delivery.") as conn:
            conn.execute(w.delete().where(w.c.received_at < to_db(now - keep)))
            return insert_ignore(conn, w, {"guid": guid[:100], "received_at": to_db(now)})

    def forget_delivery(self, guid: str) -> None:
        """A delivery we could not handle: GitHub's redelivery of it must be accepted."""
        w = webhook_deliveries
        with self._begin("Could not update the webhook delivery.") as conn:
            conn.execute(w.delete().where(w.c.guid == guid[:100]))

    # -- helpers ---------------------------------------------------------------------------

    def _db_now(self, now: datetime) -> Any:
        if self._engine.dialect.name == "postgresql":
            return func.now()
        return literal(to_db(now), DateTime(True))

    @contextmanager
    def _begin(self, message: str) -> Iterator[Connection]:
        try:
            with self._engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise storage_failure(exc, message) from exc

    @contextmanager
    def _connect(self) -> Iterator[Connection]:
        try:
            with self._engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise storage_failure(exc, "The database is not reachable.") from exc


_HOUR = timedelta(hours=1)
ALERT_KEY_PREFIX = "al-"


def alert_key(subscription_id: int, delivery_id: int) -> str:
    """Short and stable like the digests' key: it rides as Discord's nonce (≤ 25 chars),
    Feishu's uuid and Slack's message metadata, so a crashed post is found, not repeated."""
    return f"{ALERT_KEY_PREFIX}{subscription_id}-{delivery_id}"


def _chunks(values: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


def _poll_from_row(row: Any) -> PollState:
    return PollState(
        repo=row.repo,
        branch=row.branch,
        head_sha=row.head_sha,
        head_at=None if row.head_at is None else from_db(row.head_at),
        etag=row.etag,
        last_success_at=None if row.last_success_at is None else from_db(row.last_success_at),
        last_error=row.last_error,
        known=None if row.known is None else tuple(json.loads(row.known)),
    )


def counts_by_reason(held: Mapping[str, HoldReason]) -> dict[HoldReason, int]:
    """How many commits each reason held back."""
    counts: dict[HoldReason, int] = {}
    for reason in held.values():
        counts[reason] = counts.get(reason, 0) + 1
    return counts
