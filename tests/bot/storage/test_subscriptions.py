"""The subscription store on SQLite and PostgreSQL: identity, config sync, delivery keys."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from bot.models import Importance
from bot.schedules import Schedule
from bot.storage.deliveries import delivery_key
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


def test_delivery_keys_fit_discord_nonce_and_feishu_uuid_limits() -> None:
    key = delivery_key(9_999_999_999, date(2099, 12, 31))
    assert len(key) <= 25 and key == "dg-9999999999-20991231"
