"""Subscription and delivery stores on SQLite and PostgreSQL: identity, config sync, outbox CAS."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest

from bot.models import Importance
from bot.schedules import Schedule
from bot.storage.deliveries import (
    DeliveryState,
    PostRef,
    SqlDeliveryStore,
    delivery_key,
)
from bot.storage.sql import SqlStore
from bot.storage.subscriptions import SqlSubscriptionStore, SubscriptionSpec
from tests.fakes.postgres import postgres_url

NOW = datetime(2026, 2, 9, 1, 0, tzinfo=UTC)
LEASE = timedelta(minutes=10)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'subs.sqlite'}"
    else:
        url = postgres_url(request)
    opened = SqlStore.open(url)
    yield opened
    opened.close()


def spec(
    repo: str = "acme/widget",
    *,
    at: time = time(9),
    zone: str = "Asia/Shanghai",
    channel: str = "C1",
    language: str = "en",
) -> SubscriptionSpec:
    return SubscriptionSpec(
        platform="slack",
        channel_id=channel,
        repo=repo,
        schedule=Schedule(at, zone, ("mon", "tue", "wed", "thu", "fri")),
        language="zh" if language == "zh" else "en",
        min_importance=Importance.MEDIUM,
        exclude_authors=("bot*",),
        exclude_paths=("docs/**",),
    )


def test_save_roundtrips_and_keeps_the_id_across_edits(store: SqlStore) -> None:
    subs = SqlSubscriptionStore(store.engine)
    first = subs.save(spec(), origin="chat", created_by="slack:U1", now=NOW)
    assert first.spec == spec() and first.active and first.active_since == NOW
    assert first.created_by == "slack:U1"
    # Same repo with another case: the same subscription, updated; the schedule kept.
    later = NOW + timedelta(hours=1)
    zh = spec("ACME/Widget", language="zh")
    renamed = subs.save(zh, origin="chat", created_by=None, now=later)
    assert renamed.id == first.id and renamed.spec.language == "zh"
    assert renamed.active_since == NOW  # same schedule: runs already owed stay owed
    retimed = subs.save(spec(at=time(8)), origin="chat", created_by=None, now=later)
    assert retimed.id == first.id and retimed.active_since == later
    assert subs.get(first.id) == retimed
    assert [s.id for s in subs.active()] == [first.id]


def test_unsubscribe_keeps_the_row_and_resubscribe_reuses_the_id(store: SqlStore) -> None:
    subs = SqlSubscriptionStore(store.engine)
    first = subs.save(spec(), origin="chat", created_by=None, now=NOW)
    gone = subs.deactivate("slack", "C1", "Acme/Widget")
    assert gone is not None and not gone.active
    assert subs.active() == [] and subs.in_channel("slack", "C1") == []
    assert subs.deactivate("slack", "C1", "acme/widget") is None
    back = subs.save(spec(), origin="chat", created_by=None, now=NOW + timedelta(days=2))
    assert back.id == first.id and back.active and back.active_since == NOW + timedelta(days=2)


def test_sync_config_activates_updates_and_drops_config_rows_only(store: SqlStore) -> None:
    subs = SqlSubscriptionStore(store.engine)
    chat = subs.save(spec("acme/chat"), origin="chat", created_by=None, now=NOW)
    synced = subs.sync_config([spec("acme/a"), spec("acme/b", channel="C2")], NOW)
    assert [s.origin for s in synced] == ["config", "config"]
    again = subs.sync_config([spec("acme/a")], NOW + timedelta(days=1))
    assert again[0].id == synced[0].id and again[0].updated_at == synced[0].updated_at
    active = {s.repo for s in subs.active()}
    assert active == {"acme/a", "acme/chat"}  # acme/b left the file; the chat one stays
    assert subs.get(chat.id) is not None and subs.get(chat.id).active  # type: ignore[union-attr]
    assert [s.repo for s in subs.in_channel("slack", "C1")] == ["acme/chat", "acme/a"]


def test_subscriptions_survive_reopening(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'again.sqlite'}"
    first = SqlStore.open(url)
    saved = SqlSubscriptionStore(first.engine).save(spec(), origin="chat", created_by=None, now=NOW)
    first.close()
    second = SqlStore.open(url)
    try:
        assert SqlSubscriptionStore(second.engine).get(saved.id) == saved
    finally:
        second.close()


def test_ensure_is_idempotent_and_claims_are_exclusive(store: SqlStore) -> None:
    outbox = SqlDeliveryStore(store.engine)
    day = date(2026, 2, 9)
    row = outbox.ensure(7, day, NOW, NOW)
    assert row == outbox.ensure(7, day, NOW, NOW + timedelta(hours=1))
    assert row.key == delivery_key(7, day) == "dg-7-20260209" and row.state is DeliveryState.PENDING
    claimed = outbox.claim(row.id, "a", NOW, NOW + LEASE)
    assert claimed is not None and claimed.state is DeliveryState.SENDING and claimed.attempts == 1
    assert outbox.claim(row.id, "b", NOW, NOW + LEASE) is None  # held
    assert outbox.claim(row.id, "b", NOW, NOW + LEASE, recovering=False) is None
    # `a` marks the platform call begun; `b` cannot fence in, nor finish a's work.
    assert outbox.renew(row.id, "a", NOW + LEASE, posting_at=NOW)
    assert not outbox.renew(row.id, "b", NOW + LEASE)
    assert not outbox.mark_sent(row.id, "b", [], NOW)
    # After the lease, b takes over; a's late completion is refused (fencing).
    later = NOW + LEASE + timedelta(seconds=1)
    stolen = outbox.claim(row.id, "b", later, later + LEASE)
    assert stolen is not None and stolen.attempts == 2 and stolen.posting_since == NOW
    assert not outbox.mark_sent(row.id, "a", [PostRef("C1", "m1")], later)
    refs = [PostRef("C1", "m1"), PostRef("C1", "m2", "m1")]
    assert outbox.mark_sent(row.id, "b", refs, later)
    sent = outbox.find(7, day)
    assert sent is not None and sent.state is DeliveryState.SENT and sent.refs == tuple(refs)
    assert outbox.claim(row.id, "c", later + LEASE * 9, later + LEASE * 10) is None  # final


def test_recovering_claims_rows_of_other_workers_only(store: SqlStore) -> None:
    outbox = SqlDeliveryStore(store.engine)
    mine = outbox.ensure(1, date(2026, 2, 9), NOW, NOW)
    theirs = outbox.ensure(2, date(2026, 2, 9), NOW, NOW)
    assert outbox.claim(mine.id, "me", NOW, NOW + LEASE) is not None
    assert outbox.claim(theirs.id, "dead", NOW, NOW + LEASE) is not None
    workable = outbox.workable(NOW, "me", recovering=True)
    assert [r.id for r in workable] == [theirs.id]
    assert outbox.workable(NOW, "me", recovering=False) == []
    assert outbox.claim(mine.id, "me", NOW, NOW + LEASE, recovering=True) is None
    assert outbox.claim(theirs.id, "me", NOW, NOW + LEASE, recovering=True) is not None


def test_retry_later_keeps_posting_mark_only_when_the_post_may_exist(store: SqlStore) -> None:
    outbox = SqlDeliveryStore(store.engine)
    row = outbox.ensure(1, date(2026, 2, 9), NOW, NOW)
    outbox.claim(row.id, "a", NOW, NOW + LEASE)
    outbox.renew(row.id, "a", NOW + LEASE, posting_at=NOW)
    assert outbox.retry_later(
        row.id, "a", NOW + timedelta(minutes=1), "timeout", NOW, posted_maybe=True
    )
    kept = outbox.find(1, date(2026, 2, 9))
    assert kept is not None and kept.state is DeliveryState.PENDING and kept.posting_since == NOW
    assert outbox.workable(NOW, "a", recovering=False) == []  # not before its retry time
    assert [r.id for r in outbox.workable(NOW + timedelta(minutes=1), "a", recovering=False)] == [
        row.id
    ]
    outbox.claim(row.id, "a", NOW + timedelta(minutes=1), NOW + LEASE)
    outbox.retry_later(row.id, "a", NOW + timedelta(minutes=3), "refused", NOW, posted_maybe=False)
    cleared = outbox.find(1, date(2026, 2, 9))
    assert cleared is not None and cleared.posting_since is None and cleared.reason == "refused"


def test_record_missed_reports_only_new_days_and_latest_days(store: SqlStore) -> None:
    outbox = SqlDeliveryStore(store.engine)
    runs = [(date(2026, 2, d), NOW - timedelta(days=10 - d)) for d in (5, 6)]
    assert outbox.record_missed(3, runs, NOW, "down") == [date(2026, 2, 5), date(2026, 2, 6)]
    assert outbox.record_missed(3, runs, NOW, "down") == []
    outbox.ensure(4, date(2026, 2, 1), NOW, NOW)
    assert outbox.latest_days() == {3: date(2026, 2, 6), 4: date(2026, 2, 1)}
    missed = outbox.find(3, date(2026, 2, 6))
    assert missed is not None and missed.state is DeliveryState.MISSED and missed.reason == "down"


def test_times_are_stored_as_utc_whatever_zone_they_come_in(store: SqlStore) -> None:
    outbox = SqlDeliveryStore(store.engine)
    shanghai = timezone(timedelta(hours=8))
    due = datetime(2026, 2, 9, 9, 0, tzinfo=shanghai)
    row = outbox.ensure(1, date(2026, 2, 9), due, due)
    assert row.due_at == due and row.due_at.tzinfo == UTC
    # Comparisons happen in UTC: one second before the due time is not yet workable.
    assert outbox.workable(due - timedelta(seconds=1), "w", recovering=False) == []
    assert len(outbox.workable(due.astimezone(UTC), "w", recovering=False)) == 1


def test_delivery_keys_fit_discord_nonce_and_feishu_uuid_limits() -> None:
    key = delivery_key(9_999_999_999, date(2099, 12, 31))
    assert len(key) <= 25 and key == "dg-9999999999-20991231"


def test_notices_are_claimed_by_one_worker_until_sent(store: SqlStore) -> None:
    outbox = SqlDeliveryStore(store.engine)
    outbox.record_missed(5, [(date(2026, 2, 5), NOW), (date(2026, 2, 6), NOW)], NOW, "down")
    row = outbox.ensure(5, date(2026, 2, 7), NOW, NOW)
    outbox.claim(row.id, "a", NOW, NOW + LEASE)
    outbox.finish(row.id, "a", DeliveryState.FAILED, "refused", NOW, notify=True)
    mine = outbox.claim_notices("a", NOW, NOW + LEASE)
    assert [(r.local_date.day, r.state.value) for r in mine] == [
        (5, "missed"),
        (6, "missed"),
        (7, "failed"),
    ]
    assert outbox.claim_notices("b", NOW, NOW + LEASE) == []  # a holds them
    outbox.notices_sent([mine[0].id], "a", NOW)
    later = NOW + LEASE + timedelta(seconds=1)
    retaken = outbox.claim_notices("b", later, later + LEASE)  # a's lease ran out on the rest
    assert [r.local_date.day for r in retaken] == [6, 7]
    outbox.notices_sent([r.id for r in retaken], "b", later)
    assert outbox.claim_notices("c", later + LEASE * 2, later + LEASE * 3) == []
    assert {r.notice for r in outbox.all()} == {"sent"}
