"""The deliveries outbox: one row per (subscription, local date), claimed with a lease.

States: pending → sending (claimed: `claimed_by`, `lease_until`; `posting_since` once the
platform call began) → sent (message refs) | failed (reason, attempts) | missed (was due while
the bot was down for longer than the catch-up window). Every change after a claim is fenced on
`claimed_by`, so a replica that lost its lease cannot overwrite the new holder's work.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.errors import StorageError
from bot.storage.delivery_records import Delivery, DeliveryState, PostRef, delivery_key
from bot.storage.subscriptions import from_db, to_db

# The records live in their own module; importing them from here keeps working.
__all__ = [
    "Delivery",
    "DeliveryState",
    "DeliveryStore",
    "PostRef",
    "SqlDeliveryStore",
    "create_tables",
    "delivery_key",
]

log = logging.getLogger(__name__)

metadata = MetaData()

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subscription_id", Integer, nullable=False),
    Column("local_date", String(10), nullable=False),  # YYYY-MM-DD in the subscription's zone
    Column("delivery_key", String(64), nullable=False, unique=True),
    Column("state", String(10), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("claimed_by", String(120), nullable=True),
    Column("lease_until", DateTime(timezone=True), nullable=True),
    Column("posting_since", DateTime(timezone=True), nullable=True),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("refs", Text, nullable=False, default="[]"),  # JSON [[channel, message, thread]]
    Column("reason", Text, nullable=True),
    # A channel notice this row owes (missed, or failed for good): owed -> sent. It is claimed
    # with the same claimed_by/lease_until columns, which a final row no longer uses.
    Column("notice", String(10), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("subscription_id", "local_date", name="uq_deliveries_run"),
    Index("ix_deliveries_state", "state", "next_attempt_at"),
    Index("ix_deliveries_notice", "notice"),
)


def create_tables(conn: Connection) -> None:
    """Part of schema migration v3 (see bot.storage.schema.MIGRATIONS)."""
    deliveries.create(conn, checkfirst=True)


class DeliveryStore(Protocol):
    """Synchronous; async callers run it in a worker thread. Claims are compare-and-set
    updates, so several processes on one PostgreSQL never hold the same row."""

    def ensure(
        self, subscription_id: int, local_date: date, due_at: datetime, now: datetime
    ) -> Delivery: ...

    def find(self, subscription_id: int, local_date: date) -> Delivery | None: ...

    def workable(self, now: datetime, worker: str, *, recovering: bool) -> list[Delivery]:
        """Pending rows whose retry time came, and sending rows whose lease expired (with
        `recovering`, also any row another worker left in sending: see `claim`)."""
        ...

    def claim(
        self,
        delivery_id: int,
        worker: str,
        now: datetime,
        lease_until: datetime,
        *,
        recovering: bool = False,
    ) -> Delivery | None:
        """Take the row (pending and due, or sending with an expired lease; `recovering`:
        sending under any other worker — only safe when no other process can be alive)."""
        ...

    def renew(
        self,
        delivery_id: int,
        worker: str,
        lease_until: datetime,
        *,
        posting_at: datetime | None = None,
    ) -> bool:
        """Extend our lease (and mark the platform call as begun); False if we lost it."""
        ...

    def mark_sent(
        self, delivery_id: int, worker: str, refs: Sequence[PostRef], now: datetime
    ) -> bool: ...

    def retry_later(
        self,
        delivery_id: int,
        worker: str,
        next_attempt_at: datetime,
        reason: str,
        now: datetime,
        *,
        posted_maybe: bool,
    ) -> bool: ...

    def finish(
        self,
        delivery_id: int,
        worker: str,
        state: DeliveryState,
        reason: str,
        now: datetime,
        *,
        notify: bool = False,
    ) -> bool:
        """End the row (failed or missed); `notify`: it owes the channel a notice."""
        ...

    def record_missed(
        self,
        subscription_id: int,
        runs: Sequence[tuple[date, datetime]],
        now: datetime,
        reason: str,
    ) -> list[date]:
        """Insert `missed` rows (each owing a notice) for runs without one; returns the days
        newly recorded."""
        ...

    def claim_notices(self, worker: str, now: datetime, lease_until: datetime) -> list[Delivery]:
        """Rows owing a notice that nobody is sending (or whose sender's lease ran out).
        `worker` should be unique per call (a claim token)."""
        ...

    def notices_sent(self, delivery_ids: Sequence[int], worker: str, now: datetime) -> None: ...

    def latest_days(self) -> dict[int, date]:
        """The latest local date with a row, per subscription."""
        ...


class SqlDeliveryStore:
    """DeliveryStore over the SqlStore's engine (tables created by migration v3)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def ensure(
        self, subscription_id: int, local_date: date, due_at: datetime, now: datetime
    ) -> Delivery:
        values = _new_row(subscription_id, local_date, due_at, now, DeliveryState.PENDING)
        with self._begin("Could not record the delivery.") as conn:
            _insert_ignore(conn, values)
            row = conn.execute(select(deliveries).where(_run(subscription_id, local_date))).one()
            return _from_row(row)

    def find(self, subscription_id: int, local_date: date) -> Delivery | None:
        rows = self._select(_run(subscription_id, local_date))
        return rows[0] if rows else None

    def workable(self, now: datetime, worker: str, *, recovering: bool) -> list[Delivery]:
        return self._select(_claimable(now, worker, recovering=recovering))

    def claim(
        self,
        delivery_id: int,
        worker: str,
        now: datetime,
        lease_until: datetime,
        *,
        recovering: bool = False,
    ) -> Delivery | None:
        t = deliveries
        with self._begin("Could not claim the delivery.") as conn:
            result = conn.execute(
                update(t)
                .where(and_(t.c.id == delivery_id, _claimable(now, worker, recovering=recovering)))
                .values(
                    state=DeliveryState.SENDING.value,
                    claimed_by=worker,
                    lease_until=to_db(lease_until),
                    attempts=t.c.attempts + 1,
                    updated_at=to_db(now),
                )
            )
            if result.rowcount != 1:
                return None
            return _from_row(conn.execute(select(t).where(t.c.id == delivery_id)).one())

    def renew(
        self,
        delivery_id: int,
        worker: str,
        lease_until: datetime,
        *,
        posting_at: datetime | None = None,
    ) -> bool:
        values: dict[str, Any] = {"lease_until": to_db(lease_until)}
        if posting_at is not None:
            values["posting_since"] = to_db(posting_at)
        return self._fenced(delivery_id, worker, values)

    def mark_sent(
        self, delivery_id: int, worker: str, refs: Sequence[PostRef], now: datetime
    ) -> bool:
        return self._fenced(
            delivery_id,
            worker,
            {
                "state": DeliveryState.SENT.value,
                "refs": json.dumps([[r.channel_id, r.message_id, r.thread_id] for r in refs]),
                "lease_until": None,
                "reason": None,
                "updated_at": to_db(now),
            },
        )

    def retry_later(
        self,
        delivery_id: int,
        worker: str,
        next_attempt_at: datetime,
        reason: str,
        now: datetime,
        *,
        posted_maybe: bool,
    ) -> bool:
        values: dict[str, Any] = {
            "state": DeliveryState.PENDING.value,
            "next_attempt_at": to_db(next_attempt_at),
            "lease_until": None,
            "reason": reason[:1000],
            "updated_at": to_db(now),
        }
        if not posted_maybe:
            values["posting_since"] = None  # the platform refused: nothing to look up
        return self._fenced(delivery_id, worker, values)

    def finish(
        self,
        delivery_id: int,
        worker: str,
        state: DeliveryState,
        reason: str,
        now: datetime,
        *,
        notify: bool = False,
    ) -> bool:
        return self._fenced(
            delivery_id,
            worker,
            {
                "state": state.value,
                "lease_until": None,
                "reason": reason[:1000],
                "notice": "owed" if notify else None,
                "updated_at": to_db(now),
            },
        )

    def claim_notices(self, worker: str, now: datetime, lease_until: datetime) -> list[Delivery]:
        t = deliveries
        final = t.c.state.in_([DeliveryState.MISSED.value, DeliveryState.FAILED.value])
        free = or_(t.c.lease_until.is_(None), t.c.lease_until < to_db(now))
        owed = and_(t.c.notice == "owed", final)
        with self._begin("Could not claim notices.") as conn:
            conn.execute(
                update(t)
                .where(and_(owed, free))
                .values(claimed_by=worker, lease_until=to_db(lease_until))
            )
            mine = and_(owed, t.c.claimed_by == worker)
            rows = conn.execute(select(t).where(mine).order_by(t.c.local_date)).all()
        return [_from_row(r) for r in rows]

    def notices_sent(self, delivery_ids: Sequence[int], worker: str, now: datetime) -> None:
        t = deliveries
        with self._begin("Could not record sent notices.") as conn:
            conn.execute(
                update(t)
                .where(and_(t.c.id.in_(list(delivery_ids)), t.c.claimed_by == worker))
                .values(notice="sent", lease_until=None, updated_at=to_db(now))
            )

    def record_missed(
        self,
        subscription_id: int,
        runs: Sequence[tuple[date, datetime]],
        now: datetime,
        reason: str,
    ) -> list[date]:
        fresh: list[date] = []
        with self._begin("Could not record missed deliveries.") as conn:
            for day, due_at in runs:
                values = _new_row(subscription_id, day, due_at, now, DeliveryState.MISSED)
                if _insert_ignore(conn, {**values, "reason": reason, "notice": "owed"}):
                    fresh.append(day)
        return fresh

    def latest_days(self) -> dict[int, date]:
        t = deliveries
        try:
            with self._engine.connect() as conn:
                rows = conn.execute(
                    select(t.c.subscription_id, func.max(t.c.local_date)).group_by(
                        t.c.subscription_id
                    )
                ).all()
        except SQLAlchemyError as exc:
            raise StorageError("The database is not reachable.", detail=str(exc)) from exc
        return {int(sub): date.fromisoformat(day) for sub, day in rows}

    def all(self) -> list[Delivery]:
        """Every row (tests, diagnostics)."""
        return self._select(deliveries.c.id.is_not(None))

    # -- helpers ---------------------------------------------------------------------------

    def _fenced(self, delivery_id: int, worker: str, values: dict[str, Any]) -> bool:
        t = deliveries
        with self._begin("Could not update the delivery.") as conn:
            result = conn.execute(
                update(t)
                .where(
                    and_(
                        t.c.id == delivery_id,
                        t.c.state == DeliveryState.SENDING.value,
                        t.c.claimed_by == worker,
                    )
                )
                .values(**values)
            )
            return bool(result.rowcount == 1)

    def _select(self, where: Any) -> list[Delivery]:
        t = deliveries
        try:
            with self._engine.connect() as conn:
                rows = conn.execute(select(t).where(where).order_by(t.c.due_at, t.c.id)).all()
        except SQLAlchemyError as exc:
            raise StorageError("The database is not reachable.", detail=str(exc)) from exc
        return [_from_row(r) for r in rows]

    def _begin(self, message: str) -> AbstractContextManager[Connection]:
        return _transaction(self._engine, message)


@contextmanager
def _transaction(engine: Engine, message: str) -> Iterator[Connection]:
    """`engine.begin()` that turns database errors into StorageError."""
    try:
        with engine.begin() as conn:
            yield conn
    except SQLAlchemyError as exc:
        raise StorageError(message, detail=str(exc)) from exc


def _claimable(now: datetime, worker: str, *, recovering: bool) -> Any:
    t = deliveries
    sending = t.c.state == DeliveryState.SENDING.value
    stale = or_(t.c.lease_until.is_(None), t.c.lease_until < to_db(now))
    if recovering:
        stale = or_(stale, t.c.claimed_by.is_(None), t.c.claimed_by != worker)
    return or_(
        and_(t.c.state == DeliveryState.PENDING.value, t.c.next_attempt_at <= to_db(now)),
        and_(sending, stale),
    )


def _run(subscription_id: int, local_date: date) -> Any:
    t = deliveries
    return and_(t.c.subscription_id == subscription_id, t.c.local_date == local_date.isoformat())


def _new_row(
    subscription_id: int, local_date: date, due_at: datetime, now: datetime, state: DeliveryState
) -> dict[str, Any]:
    return {
        "subscription_id": subscription_id,
        "local_date": local_date.isoformat(),
        "delivery_key": delivery_key(subscription_id, local_date),
        "state": state.value,
        "due_at": to_db(due_at),
        "attempts": 0,
        "next_attempt_at": to_db(now),
        "refs": "[]",
        "created_at": to_db(now),
        "updated_at": to_db(now),
    }


def _insert_ignore(conn: Connection, values: dict[str, Any]) -> bool:
    """Insert unless the (subscription, day) row exists; True when this call inserted it.
    ON CONFLICT DO NOTHING waits for a concurrent inserter instead of failing the transaction."""
    dialect = conn.dialect.name
    if dialect in {"postgresql", "sqlite"}:
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = (
            insert(deliveries).values(**values).on_conflict_do_nothing().returning(deliveries.c.id)
        )
        return conn.execute(statement).first() is not None
    try:  # pragma: no cover - other databases
        with conn.begin_nested():
            conn.execute(deliveries.insert().values(**values))
        return True
    except IntegrityError:  # pragma: no cover
        return False


def _from_row(row: Row[Any]) -> Delivery:
    return Delivery(
        id=int(row.id),
        subscription_id=int(row.subscription_id),
        local_date=date.fromisoformat(row.local_date),
        key=row.delivery_key,
        state=DeliveryState(row.state),
        due_at=from_db(row.due_at),
        attempts=int(row.attempts),
        claimed_by=row.claimed_by,
        lease_until=from_db(row.lease_until) if row.lease_until is not None else None,
        posting_since=from_db(row.posting_since) if row.posting_since is not None else None,
        next_attempt_at=from_db(row.next_attempt_at),
        refs=tuple(_refs(row.refs)),
        reason=row.reason,
        created_at=from_db(row.created_at),
        notice=row.notice,
    )


def _refs(raw: str | None) -> list[PostRef]:
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        log.warning("delivery with unreadable refs")
        return []
    refs: list[PostRef] = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, list) and len(item) == 3:
            thread = None if item[2] is None else str(item[2])
            refs.append(PostRef(str(item[0]), str(item[1]), thread))
    return refs
