"""The deliveries outbox: one row per (subscription, local date) and one row per message part.

States: pending → sending (claimed: `claimed_by`, `lease_until`, and `attempts` incremented —
the claim's fencing token) → sent (every part's refs) | partial (some parts failed for good) |
failed (reason) | missed (was due while the bot was down for longer than the catch-up window).
Every change after a claim is conditional on the fencing token, so an attempt that lost its
claim cannot change anything the next holder does.

Time: leases and due checks use the database's clock — `now()` on PostgreSQL, so replicas with
skewed or stepped clocks agree — and, on SQLite, the one process that may open the file (see
digestbot/serve.py: a second `serve` refuses to start) is the single clock source.

The `posting_since` column of schema v3 is no longer read or written: the parts table holds
where each message's platform call began (schema v5).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
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
    inspect,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.storage.delivery_records import (
    Delivery,
    DeliveryPart,
    DeliveryState,
    PartState,
    PostRef,
    delivery_key,
)
from bot.storage.failures import storage_failure
from bot.storage.subscriptions import from_db, to_db

# The records live in their own module; importing them from here keeps working.
__all__ = [
    "Delivery",
    "DeliveryPart",
    "DeliveryState",
    "DeliveryStore",
    "OutboxTables",
    "PartState",
    "PostRef",
    "SqlDeliveryStore",
    "create_tables",
    "delivery_key",
]

log = logging.getLogger(__name__)

metadata = MetaData()


def outbox_row_columns() -> list[Column[Any]]:
    """The columns of an outbox's rows (daily posts here; alerts in bot/storage/alerts.py)."""
    return [
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("subscription_id", Integer, nullable=False),
        Column("local_date", String(10), nullable=False),  # YYYY-MM-DD, the subscription's zone
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
        # A channel notice this row owes (missed, or failed for good): owed -> sent. It is
        # claimed with the same claimed_by/lease_until columns, which a final row no longer uses.
        Column("notice", String(10), nullable=True),
        # Schema v5: the poster's JSON for recording posted parts (a v3 database gets it by ALTER).
        Column("context", Text, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
    ]


def outbox_part_columns() -> list[Column[Any]]:
    """The columns of an outbox's message parts."""
    return [
        Column("delivery_id", Integer, primary_key=True),
        Column("part_index", Integer, primary_key=True),
        Column("payload", Text, nullable=False),
        Column("state", String(10), nullable=False),
        Column("attempt", Integer, nullable=False, default=0),
        Column("posting_at", DateTime(timezone=True), nullable=True),
        Column("refs", Text, nullable=False, default="[]"),
        Column("failures", Integer, nullable=False, default=0),
        Column("reason", Text, nullable=True),
    ]


deliveries = Table(
    "deliveries",
    metadata,
    *outbox_row_columns(),
    UniqueConstraint("subscription_id", "local_date", name="uq_deliveries_run"),
    Index("ix_deliveries_state", "state", "next_attempt_at"),
    Index("ix_deliveries_notice", "notice"),
)

parts = Table("delivery_parts", metadata, *outbox_part_columns())


@dataclass(frozen=True)
class OutboxTables:
    """An outbox's two tables: one row per post (claimed, fenced) and one row per message."""

    rows: Table
    parts: Table


DIGEST_OUTBOX = OutboxTables(deliveries, parts)


def create_tables(conn: Connection) -> None:
    """Part of schema migration v3 (see bot.storage.schema.MIGRATIONS)."""
    deliveries.create(conn, checkfirst=True)


def add_parts(conn: Connection) -> None:
    """Schema migration v5: the per-part outbox and the delivery's poster context."""
    parts.create(conn, checkfirst=True)
    if "context" not in {c["name"] for c in inspect(conn).get_columns("deliveries")}:
        conn.execute(text("ALTER TABLE deliveries ADD COLUMN context TEXT"))


class DeliveryStore(Protocol):
    """Synchronous; async callers run it in a worker thread. Claims are compare-and-set
    updates, so several processes on one PostgreSQL never hold the same row; every write after
    a claim carries the claim's fence (`Delivery.fence`)."""

    def now(self) -> datetime:
        """The database's time (PostgreSQL `now()`; SQLite: the single process's clock)."""
        ...

    def ensure(
        self, subscription_id: int, local_date: date, due_at: datetime, now: datetime
    ) -> Delivery: ...

    def find(self, subscription_id: int, local_date: date) -> Delivery | None: ...

    def workable(self, worker: str, *, recovering: bool) -> list[Delivery]:
        """Pending rows whose retry time came, and sending rows whose lease expired (with
        `recovering`, also any row another worker left in sending: see `claim`)."""
        ...

    def claim(
        self, delivery_id: int, worker: str, lease: timedelta, *, recovering: bool = False
    ) -> Delivery | None:
        """Take the row (pending and due, or sending with an expired lease; `recovering`:
        sending under any other worker — only safe when no other process can be alive)."""
        ...

    def renew(self, delivery_id: int, fence: int, lease: timedelta) -> bool:
        """Extend our lease from the database's now; False if we lost the claim."""
        ...

    def plan(self, delivery_id: int, fence: int, payloads: Sequence[str], context: str) -> bool:
        """Store the rendered parts (once: False if we lost the claim or parts exist)."""
        ...

    def parts(self, delivery_id: int) -> list[DeliveryPart]: ...

    def begin_part(
        self, delivery_id: int, fence: int, index: int, lease: timedelta
    ) -> datetime | None:
        """Renew the lease and mark the part posting, in one fenced transaction; the
        database time it began, or None if we lost the claim or the part is settled."""
        ...

    def end_part(
        self,
        delivery_id: int,
        fence: int,
        index: int,
        state: PartState,
        *,
        refs: Sequence[PostRef] = (),
        reason: str | None = None,
        failed: bool = False,
    ) -> bool:
        """Record a part's outcome (`failed`: count one more failure). Fenced on the attempt
        that began the part, so a late answer from a lost attempt still records what it
        posted unless a newer attempt took the part over."""
        ...

    def mark_sent(self, delivery_id: int, fence: int, refs: Sequence[PostRef]) -> bool: ...

    def retry_later(
        self, delivery_id: int, fence: int, next_attempt_at: datetime, reason: str
    ) -> bool: ...

    def finish(
        self,
        delivery_id: int,
        fence: int,
        state: DeliveryState,
        reason: str,
        *,
        refs: Sequence[PostRef] = (),
        notify: bool = False,
    ) -> bool:
        """End the row (failed, partial or missed); `notify`: it owes the channel a notice."""
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

    def claim_notices(self, worker: str, lease: timedelta) -> list[Delivery]:
        """Rows owing a notice that nobody is sending (or whose sender's lease ran out).
        `worker` should be unique per call (a claim token)."""
        ...

    def notices_sent(self, delivery_ids: Sequence[int], worker: str) -> None: ...

    def latest_days(self) -> dict[int, date]:
        """The latest local date with a row, per subscription."""
        ...


class SqlDeliveryStore:
    """DeliveryStore over the SqlStore's engine (tables created by migrations v3 and v5).

    `clock` is read only on SQLite, where this process is the file's single writer."""

    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], datetime],
        tables: OutboxTables | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._postgres = engine.dialect.name == "postgresql"
        self.tables = tables or DIGEST_OUTBOX
        self._t = self.tables.rows
        self._p = self.tables.parts

    def now(self) -> datetime:
        if not self._postgres:
            return self._clock()
        try:
            with self._engine.connect() as conn:
                return from_db(conn.execute(select(func.now())).scalar_one())
        except SQLAlchemyError as exc:
            raise storage_failure(exc, "The database is not reachable.") from exc

    def ensure(
        self, subscription_id: int, local_date: date, due_at: datetime, now: datetime
    ) -> Delivery:
        values = _new_row(subscription_id, local_date, due_at, now, DeliveryState.PENDING)
        with self._begin("Could not record the delivery.") as conn:
            insert_ignore(conn, self._t, values)
            row = conn.execute(select(self._t).where(self._run(subscription_id, local_date))).one()
            return _from_row(row)

    def find(self, subscription_id: int, local_date: date) -> Delivery | None:
        rows = self._select(self._run(subscription_id, local_date))
        return rows[0] if rows else None

    def workable(self, worker: str, *, recovering: bool) -> list[Delivery]:
        return self._select(self._claimable(worker, recovering=recovering))

    def claim(
        self, delivery_id: int, worker: str, lease: timedelta, *, recovering: bool = False
    ) -> Delivery | None:
        t = self._t
        with self._begin("Could not claim the delivery.") as conn:
            result = conn.execute(
                update(t)
                .where(and_(t.c.id == delivery_id, self._claimable(worker, recovering=recovering)))
                .values(
                    state=DeliveryState.SENDING.value,
                    claimed_by=worker,
                    lease_until=self._later(lease),
                    attempts=t.c.attempts + 1,
                    updated_at=self._now(),
                )
            )
            if result.rowcount != 1:
                return None
            return _from_row(conn.execute(select(t).where(t.c.id == delivery_id)).one())

    def renew(self, delivery_id: int, fence: int, lease: timedelta) -> bool:
        with self._begin("Could not renew the delivery.") as conn:
            return self._fenced(conn, delivery_id, fence, {"lease_until": self._later(lease)})

    def plan(self, delivery_id: int, fence: int, payloads: Sequence[str], context: str) -> bool:
        with self._begin("Could not plan the delivery.") as conn:
            if conn.execute(select(self._p.c.part_index).where(self._of(delivery_id))).first():
                return False
            if not self._fenced(conn, delivery_id, fence, {"context": context}):
                return False
            conn.execute(
                self._p.insert(),
                [
                    {
                        "delivery_id": delivery_id,
                        "part_index": index,
                        "payload": payload,
                        "state": PartState.PENDING.value,
                        "attempt": 0,
                        "refs": "[]",
                        "failures": 0,
                    }
                    for index, payload in enumerate(payloads)
                ],
            )
            return True

    def parts(self, delivery_id: int) -> list[DeliveryPart]:
        try:
            with self._engine.connect() as conn:
                rows = conn.execute(
                    select(self._p).where(self._of(delivery_id)).order_by(self._p.c.part_index)
                ).all()
        except SQLAlchemyError as exc:
            raise storage_failure(exc, "The database is not reachable.") from exc
        return [_part_from_row(r) for r in rows]

    def begin_part(
        self, delivery_id: int, fence: int, index: int, lease: timedelta
    ) -> datetime | None:
        with self._begin("Could not record the post.") as conn:
            if not self._fenced(conn, delivery_id, fence, {"lease_until": self._later(lease)}):
                return None
            begun = conn.execute(
                update(self._p)
                .where(
                    and_(
                        self._of(delivery_id),
                        self._p.c.part_index == index,
                        self._p.c.state.in_([PartState.PENDING.value, PartState.POSTING.value]),
                    )
                )
                .values(state=PartState.POSTING.value, attempt=fence, posting_at=self._now())
            )
            if begun.rowcount != 1:  # a late answer settled it meanwhile
                return None
            began = conn.execute(
                select(self._p.c.posting_at).where(
                    and_(self._of(delivery_id), self._p.c.part_index == index)
                )
            ).scalar_one()
            return from_db(began)

    def end_part(
        self,
        delivery_id: int,
        fence: int,
        index: int,
        state: PartState,
        *,
        refs: Sequence[PostRef] = (),
        reason: str | None = None,
        failed: bool = False,
    ) -> bool:
        values: dict[str, Any] = {"state": state.value, "reason": _short(reason)}
        if refs:
            values["refs"] = _dump_refs(refs)
        if failed:
            values["failures"] = self._p.c.failures + 1
        with self._begin("Could not record the post.") as conn:
            result = conn.execute(
                update(self._p)
                .where(
                    and_(
                        self._of(delivery_id),
                        self._p.c.part_index == index,
                        self._p.c.attempt <= fence,
                        self._p.c.state.in_([PartState.PENDING.value, PartState.POSTING.value]),
                    )
                )
                .values(**values)
            )
            return bool(result.rowcount == 1)

    def mark_sent(self, delivery_id: int, fence: int, refs: Sequence[PostRef]) -> bool:
        return self.finish(delivery_id, fence, DeliveryState.SENT, "", refs=refs)

    def retry_later(
        self, delivery_id: int, fence: int, next_attempt_at: datetime, reason: str
    ) -> bool:
        values: dict[str, Any] = {
            "state": DeliveryState.PENDING.value,
            "next_attempt_at": to_db(next_attempt_at),
            "lease_until": None,
            "reason": _short(reason),
            "updated_at": self._now(),
        }
        with self._begin("Could not update the delivery.") as conn:
            return self._fenced(conn, delivery_id, fence, values)

    def finish(
        self,
        delivery_id: int,
        fence: int,
        state: DeliveryState,
        reason: str,
        *,
        refs: Sequence[PostRef] = (),
        notify: bool = False,
    ) -> bool:
        values: dict[str, Any] = {
            "state": state.value,
            "lease_until": None,
            "reason": _short(reason) or None,
            "notice": "owed" if notify else None,
            "updated_at": self._now(),
        }
        if refs:
            values["refs"] = _dump_refs(refs)
        with self._begin("Could not update the delivery.") as conn:
            return self._fenced(conn, delivery_id, fence, values)

    def claim_notices(self, worker: str, lease: timedelta) -> list[Delivery]:
        t = self._t
        final = t.c.state.in_(
            [DeliveryState.MISSED.value, DeliveryState.FAILED.value, DeliveryState.PARTIAL.value]
        )
        free = or_(t.c.lease_until.is_(None), t.c.lease_until < self._now())
        owed = and_(t.c.notice == "owed", final)
        with self._begin("Could not claim notices.") as conn:
            conn.execute(
                update(t)
                .where(and_(owed, free))
                .values(claimed_by=worker, lease_until=self._later(lease))
            )
            mine = and_(owed, t.c.claimed_by == worker)
            rows = conn.execute(select(t).where(mine).order_by(t.c.local_date)).all()
        return [_from_row(r) for r in rows]

    def notices_sent(self, delivery_ids: Sequence[int], worker: str) -> None:
        t = self._t
        with self._begin("Could not record sent notices.") as conn:
            conn.execute(
                update(t)
                .where(and_(t.c.id.in_(list(delivery_ids)), t.c.claimed_by == worker))
                .values(notice="sent", lease_until=None, updated_at=self._now())
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
                if insert_ignore(conn, self._t, {**values, "reason": reason, "notice": "owed"}):
                    fresh.append(day)
        return fresh

    def latest_days(self) -> dict[int, date]:
        t = self._t
        try:
            with self._engine.connect() as conn:
                rows = conn.execute(
                    select(t.c.subscription_id, func.max(t.c.local_date)).group_by(
                        t.c.subscription_id
                    )
                ).all()
        except SQLAlchemyError as exc:
            raise storage_failure(exc, "The database is not reachable.") from exc
        return {int(sub): date.fromisoformat(day) for sub, day in rows}

    def all(self) -> list[Delivery]:
        """Every row (tests, diagnostics)."""
        return self._select(self._t.c.id.is_not(None))

    # -- helpers ---------------------------------------------------------------------------

    def _now(self) -> Any:
        """The database's now, as a SQL expression (a bound value on SQLite)."""
        return func.now() if self._postgres else literal(to_db(self._clock()), DateTime(True))

    def _later(self, lease: timedelta) -> Any:
        if self._postgres:
            return func.now() + literal(lease)
        return to_db(self._clock() + lease)

    def _claimable(self, worker: str, *, recovering: bool) -> Any:
        t = self._t
        now = self._now()
        sending = t.c.state == DeliveryState.SENDING.value
        stale = or_(t.c.lease_until.is_(None), t.c.lease_until < now)
        if recovering:
            stale = or_(stale, t.c.claimed_by.is_(None), t.c.claimed_by != worker)
        return or_(
            and_(t.c.state == DeliveryState.PENDING.value, t.c.next_attempt_at <= now),
            and_(sending, stale),
        )

    def _fenced(
        self, conn: Connection, delivery_id: int, fence: int, values: dict[str, Any]
    ) -> bool:
        t = self._t
        result = conn.execute(
            update(t)
            .where(
                and_(
                    t.c.id == delivery_id,
                    t.c.state == DeliveryState.SENDING.value,
                    t.c.attempts == fence,
                )
            )
            .values(**values)
        )
        return bool(result.rowcount == 1)

    def _of(self, delivery_id: int) -> Any:
        return self._p.c.delivery_id == delivery_id

    def _run(self, subscription_id: int, local_date: date) -> Any:
        t = self._t
        return and_(
            t.c.subscription_id == subscription_id, t.c.local_date == local_date.isoformat()
        )

    def _select(self, where: Any) -> list[Delivery]:
        t = self._t
        try:
            with self._engine.connect() as conn:
                rows = conn.execute(select(t).where(where).order_by(t.c.due_at, t.c.id)).all()
        except SQLAlchemyError as exc:
            raise storage_failure(exc, "The database is not reachable.") from exc
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
        raise storage_failure(exc, message) from exc


def _short(reason: str | None) -> str | None:
    return None if reason is None else reason[:1000]


def _dump_refs(refs: Sequence[PostRef]) -> str:
    return json.dumps([[r.channel_id, r.message_id, r.thread_id] for r in refs])


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


def insert_ignore(conn: Connection, table: Table, values: dict[str, Any]) -> bool:
    """Insert unless a row with the same unique key exists; True when this call inserted it.
    ON CONFLICT DO NOTHING waits for a concurrent inserter instead of failing the transaction."""
    dialect = conn.dialect.name
    if dialect in {"postgresql", "sqlite"}:
        # Imported here: only the dialect in use is loaded (a SQLite run never loads PostgreSQL's).
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
        statement = (
            insert(table)
            .values(**values)
            .on_conflict_do_nothing()
            .returning(*table.primary_key.columns)
        )
        return conn.execute(statement).first() is not None
    try:  # pragma: no cover - other databases
        with conn.begin_nested():
            conn.execute(table.insert().values(**values))
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
        next_attempt_at=from_db(row.next_attempt_at),
        refs=tuple(_refs(row.refs)),
        reason=row.reason,
        created_at=from_db(row.created_at),
        notice=row.notice,
        context=row.context,
    )


def _part_from_row(row: Row[Any]) -> DeliveryPart:
    return DeliveryPart(
        delivery_id=int(row.delivery_id),
        index=int(row.part_index),
        payload=row.payload,
        state=PartState(row.state),
        attempt=int(row.attempt),
        posting_at=from_db(row.posting_at) if row.posting_at is not None else None,
        refs=tuple(_refs(row.refs)),
        failures=int(row.failures),
        reason=row.reason,
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
