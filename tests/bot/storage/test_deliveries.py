"""The deliveries outbox on SQLite and PostgreSQL: claims, fencing tokens, parts, database time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from bot.storage import schema
from bot.storage.deliveries import (
    DeliveryState,
    PartState,
    PostRef,
    SqlDeliveryStore,
)
from bot.storage.sql import SqlStore
from tests.fakes.postgres import postgres_url
from tests.fakes.scheduled_chat import FakeClock

LEASE = timedelta(minutes=10)
EXPIRED = timedelta(seconds=-1)  # a lease that has already run out, on any database clock
DAY = date(2026, 2, 9)


@dataclass
class Outbox:
    store: SqlDeliveryStore
    clock: FakeClock  # the worker's clock (read only on SQLite)
    postgres: bool


@pytest.fixture(params=["sqlite", "postgres"])
def outbox(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Outbox]:
    postgres = request.param == "postgres"
    url = postgres_url(request) if postgres else f"sqlite:///{tmp_path / 'outbox.sqlite'}"
    opened = SqlStore.open(url)
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    yield Outbox(SqlDeliveryStore(opened.engine, clock), clock, postgres)
    opened.close()


def test_claims_are_exclusive_and_every_write_is_fenced_by_the_attempt(outbox: Outbox) -> None:
    store, now = outbox.store, outbox.store.now()
    row = store.ensure(7, DAY, now, now)
    assert row == store.ensure(7, DAY, now, now + timedelta(hours=1))
    first = store.claim(row.id, "w1", EXPIRED)
    assert first is not None and first.state is DeliveryState.SENDING and first.fence == 1
    # Its lease ran out: the same worker id or another takes it again, with a new fence.
    second = store.claim(row.id, "w1", LEASE)
    assert second is not None and second.fence == 2
    assert store.claim(row.id, "w2", LEASE) is None  # held
    # The first attempt (fence 1) can change nothing any more — not even from the same worker.
    assert not store.renew(row.id, 1, LEASE)
    assert not store.plan(row.id, 1, ["a"], "{}")
    assert store.begin_part(row.id, 1, 0, LEASE) is None
    assert not store.mark_sent(row.id, 1, [PostRef("C1", "m1")])
    assert not store.retry_later(row.id, 1, now, "late")
    assert not store.finish(row.id, 1, DeliveryState.FAILED, "late")
    refs = [PostRef("C1", "m1"), PostRef("C1", "m2", "m1")]
    assert store.mark_sent(row.id, 2, refs)
    sent = store.find(7, DAY)
    assert sent is not None and sent.state is DeliveryState.SENT and sent.refs == tuple(refs)
    assert store.claim(row.id, "w3", LEASE) is None  # final


def test_parts_are_planned_once_and_a_late_answer_counts_only_if_no_one_took_over(
    outbox: Outbox,
) -> None:
    store, now = outbox.store, outbox.store.now()
    row = store.ensure(1, DAY, now, now)
    claimed = store.claim(row.id, "w1", EXPIRED)
    assert claimed is not None
    assert store.plan(row.id, claimed.fence, ["root", "more", "end"], '{"digest": 1}')
    assert not store.plan(row.id, claimed.fence, ["again"], "{}")  # once
    began = store.begin_part(row.id, claimed.fence, 0, EXPIRED)
    assert began is not None and abs(began - store.now()) < timedelta(seconds=5)
    parts = store.parts(row.id)
    assert [(p.index, p.payload, p.state) for p in parts] == [
        (0, "root", PartState.POSTING),
        (1, "more", PartState.PENDING),
        (2, "end", PartState.PENDING),
    ]
    assert parts[0].attempt == claimed.fence and parts[0].posting_at == began
    # A new attempt claims the row: the old one's late answer for part 0 still records the
    # message (nobody began the part again), but once the new attempt began part 1 itself,
    # the old attempt's write for it is refused.
    taken = store.claim(row.id, "w2", LEASE)
    assert taken is not None and taken.fence == claimed.fence + 1
    assert taken.context == '{"digest": 1}'
    late = [PostRef("C1", "m0")]
    assert store.end_part(row.id, claimed.fence, 0, PartState.SENT, refs=late)
    assert store.begin_part(row.id, taken.fence, 0, LEASE) is None  # settled: not begun again
    assert store.begin_part(row.id, taken.fence, 1, LEASE) is not None
    assert not store.end_part(row.id, claimed.fence, 1, PartState.SENT, refs=[PostRef("C", "x")])
    assert store.end_part(row.id, taken.fence, 1, PartState.PENDING, reason="no", failed=True)
    assert not store.end_part(row.id, taken.fence, 0, PartState.FAILED)  # sent is final
    parts = store.parts(row.id)
    assert parts[0].state is PartState.SENT and parts[0].refs == tuple(late)
    assert parts[1].state is PartState.PENDING and parts[1].failures == 1
    assert parts[1].reason == "no"


def test_recovering_claims_rows_of_other_workers_only(outbox: Outbox) -> None:
    store, now = outbox.store, outbox.store.now()
    mine = store.ensure(1, DAY, now, now)
    theirs = store.ensure(2, DAY, now, now)
    assert store.claim(mine.id, "me", LEASE) is not None
    assert store.claim(theirs.id, "dead", LEASE) is not None
    assert [r.id for r in store.workable("me", recovering=True)] == [theirs.id]
    assert store.workable("me", recovering=False) == []
    assert store.claim(mine.id, "me", LEASE, recovering=True) is None
    assert store.claim(theirs.id, "me", LEASE, recovering=True) is not None


def test_a_retry_waits_for_its_time(outbox: Outbox) -> None:
    store, now = outbox.store, outbox.store.now()
    row = store.ensure(1, DAY, now, now)
    claimed = store.claim(row.id, "a", LEASE)
    assert claimed is not None
    assert store.retry_later(row.id, claimed.fence, now + timedelta(hours=1), "refused")
    kept = store.find(1, DAY)
    assert kept is not None and kept.state is DeliveryState.PENDING and kept.reason == "refused"
    assert store.workable("a", recovering=False) == []  # not before its retry time
    assert store.retry_later(row.id, claimed.fence, now, "x") is False  # no longer claimed
    again = store.ensure(2, DAY, now, now - timedelta(seconds=1))
    assert [r.id for r in store.workable("a", recovering=False)] == [again.id]


def test_leases_are_measured_on_the_database_clock(outbox: Outbox) -> None:
    """A worker whose clock is a day off: on PostgreSQL its claims still expire on the
    database's time; on SQLite the single process's clock is the database clock."""
    store = outbox.store
    outbox.clock.advance(timedelta(days=1))  # the worker's clock jumps
    now = store.now()
    row = store.ensure(1, DAY, now, now)
    claimed = store.claim(row.id, "w", LEASE)
    assert claimed is not None and claimed.lease_until is not None
    truth = datetime.now(UTC) if outbox.postgres else outbox.clock.now
    assert abs(claimed.lease_until - (truth + LEASE)) < timedelta(seconds=30)
    assert store.claim(row.id, "other", LEASE) is None


def test_record_missed_reports_only_new_days_and_latest_days(outbox: Outbox) -> None:
    store, now = outbox.store, outbox.store.now()
    runs = [(date(2026, 2, d), now - timedelta(days=10 - d)) for d in (5, 6)]
    assert store.record_missed(3, runs, now, "down") == [date(2026, 2, 5), date(2026, 2, 6)]
    assert store.record_missed(3, runs, now, "down") == []
    store.ensure(4, date(2026, 2, 1), now, now)
    assert store.latest_days() == {3: date(2026, 2, 6), 4: date(2026, 2, 1)}
    missed = store.find(3, date(2026, 2, 6))
    assert missed is not None and missed.state is DeliveryState.MISSED and missed.reason == "down"


def test_times_are_stored_as_utc_whatever_zone_they_come_in(outbox: Outbox) -> None:
    store, now = outbox.store, outbox.store.now()
    shanghai = timezone(timedelta(hours=8))
    due = (now + timedelta(hours=1)).astimezone(shanghai)
    row = store.ensure(1, DAY, due, due)
    assert row.due_at == due and row.due_at.tzinfo == UTC
    assert store.workable("w", recovering=False) == []  # due in an hour (compared in UTC)


def test_notices_are_claimed_by_one_worker_until_sent(outbox: Outbox) -> None:
    store, now = outbox.store, outbox.store.now()
    store.record_missed(5, [(date(2026, 2, 5), now), (date(2026, 2, 6), now)], now, "down")
    row = store.ensure(5, date(2026, 2, 7), now, now)
    partial = store.ensure(5, date(2026, 2, 8), now, now)
    for one in (row, partial):
        claimed = store.claim(one.id, "a", LEASE)
        assert claimed is not None
    assert store.finish(row.id, 1, DeliveryState.FAILED, "refused", notify=True)
    assert store.finish(partial.id, 1, DeliveryState.PARTIAL, "part 2 of 3", notify=True)
    mine = store.claim_notices("a", EXPIRED)  # a "dies" at once: its claim runs out
    assert [(r.local_date.day, r.state.value) for r in mine] == [
        (5, "missed"),
        (6, "missed"),
        (7, "failed"),
        (8, "partial"),
    ]
    store.notices_sent([mine[0].id], "a")
    retaken = store.claim_notices("b", LEASE)  # a's lease ran out on the rest
    assert [r.local_date.day for r in retaken] == [6, 7, 8]
    assert store.claim_notices("c", LEASE) == []  # b holds them
    store.notices_sent([r.id for r in retaken], "b")
    assert store.claim_notices("c", LEASE) == []
    assert {r.notice for r in store.all()} == {"sent"}


def test_a_v4_database_gains_the_parts_table_and_the_context_column(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'old.sqlite'}")
    with engine.begin() as conn:
        schema.schema_meta.create(conn)
        for migration in schema.MIGRATIONS[:4]:
            migration(conn)
        conn.execute(text("INSERT INTO schema_meta (id, version) VALUES (1, 4)"))
        # A v4 deliveries table had no context column: drop the one the shared definition adds.
        conn.execute(text("ALTER TABLE deliveries DROP COLUMN context"))
    with engine.begin() as conn:
        assert schema.migrate(conn) == 4
    names = inspect(engine)
    assert "delivery_parts" in names.get_table_names()
    assert "context" in {c["name"] for c in names.get_columns("deliveries")}
    engine.dispose()
