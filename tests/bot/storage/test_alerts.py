"""The alert tables on SQLite and PostgreSQL: one alert per commit per subscription under
concurrent queues, folding, holds and their count, poll claims, webhook ids, migration v7."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from bot.storage.alerts import AlertDetail, AlertRequest, SqlAlertStore, alert_key
from bot.storage.sql import SqlStore
from bot.storage.subscriptions import SqlSubscriptionStore
from tests.fakes.postgres import postgres_url
from tests.fakes.scheduled_chat import FakeClock

SHAS = tuple(f"{n:040x}" for n in range(1, 9))


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return postgres_url(request)
    return f"sqlite:///{tmp_path / 'alerts.sqlite'}"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 6, 1, 8, tzinfo=UTC))


@pytest.fixture
def store(url: str, clock: FakeClock) -> Iterator[SqlAlertStore]:
    opened = SqlStore.open(url)
    yield SqlAlertStore(opened.engine, clock)
    opened.close()


def request_for(shas: tuple[str, ...], **extra: object) -> AlertRequest:
    values: dict[str, object] = {
        "subscription_id": 1,
        "channel": "slack:C1",
        "repo": "acme/rocket",
        "shas": shas,
        "local_date": "2026-06-01",
        "fold_at": 3,
        **extra,
    }
    return AlertRequest(**values)  # type: ignore[arg-type]


def test_a_commit_is_queued_once_however_often_it_is_seen(store: SqlAlertStore) -> None:
    first = store.queue(request_for(SHAS[:2]))
    again = store.queue(request_for(SHAS[:3]))
    assert len(first.delivery_ids) == 2 and first.already == 0
    assert len(again.delivery_ids) == 1 and again.already == 2
    other_channel = store.queue(request_for(SHAS[:1], subscription_id=2, channel="slack:C2"))
    assert len(other_channel.delivery_ids) == 1  # each subscription hears of it once
    keys = [alert_key(1, i) for i in first.delivery_ids]
    assert all(len(k) <= 25 for k in keys)  # Discord's nonce limit


def test_concurrent_queues_of_the_same_commits_make_one_row_each(url: str) -> None:
    stores = []
    for _ in range(4):
        opened = SqlStore.open(url)
        stores.append((opened, SqlAlertStore(opened.engine, lambda: datetime.now(UTC))))
    try:
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda s: s[1].queue(request_for(SHAS[:2])), stores))
        assert sum(len(r.delivery_ids) for r in results) == 2
        assert sum(r.already for r in results) == 6
    finally:
        for opened, _ in stores:
            opened.close()


def test_a_burst_folds_and_a_force_push_folds_whatever_its_size(store: SqlAlertStore) -> None:
    burst = store.queue(request_for(SHAS[:4]))
    (folded,) = burst.delivery_ids
    detail = store.detail(folded)
    assert detail is not None and detail.folded and detail.shas == SHAS[:4]
    forced = store.queue(request_for(SHAS[4:5], forced=True))
    (one,) = forced.delivery_ids
    assert store.detail(one) == AlertDetail("acme/rocket", SHAS[4:5], folded=False, forced=True)


def test_holds_are_counted_once_on_the_next_card(store: SqlAlertStore, clock: FakeClock) -> None:
    quiet = store.queue(request_for(SHAS[:2], hold="quiet_hours"))
    assert quiet.delivery_ids == [] and set(quiet.held.values()) == {"quiet_hours"}
    capped = store.queue(request_for(SHAS[2:4], max_per_hour=1))  # one card fits, one is held
    assert len(capped.delivery_ids) == 1 and list(capped.held.values()) == ["rate_cap"]
    detail = store.detail(capped.delivery_ids[0])
    assert detail is not None and (detail.held_quiet, detail.held_rate) == (2, 0)
    clock.advance(timedelta(hours=2))
    later = store.queue(request_for(SHAS[4:5], max_per_hour=1))
    detail = store.detail(later.delivery_ids[0])
    assert detail is not None and (detail.held_quiet, detail.held_rate) == (0, 1)
    assert detail.held_since is not None
    assert store.held(1) == {
        SHAS[0]: "quiet_hours",
        SHAS[1]: "quiet_hours",
        SHAS[3]: "rate_cap",
    }


def test_the_rate_cap_is_per_channel(store: SqlAlertStore) -> None:
    store.queue(request_for(SHAS[:1], max_per_hour=1))
    other = store.queue(
        request_for(SHAS[1:2], subscription_id=2, channel="slack:C2", max_per_hour=1)
    )
    same = store.queue(request_for(SHAS[2:3], subscription_id=3, max_per_hour=1))
    assert len(other.delivery_ids) == 1 and same.delivery_ids == []


def test_one_worker_polls_a_branch_until_its_lease_ends(
    store: SqlAlertStore, clock: FakeClock, url: str
) -> None:
    if url.startswith("postgresql"):
        pytest.skip("leases are in the database's time there; the SQLite clock is the test's")
    assert store.claim_poll("acme/rocket", "", "a", timedelta(minutes=10))
    assert not store.claim_poll("acme/rocket", "", "b", timedelta(minutes=10))
    store.poll_done("acme/rocket", "", "a", head_sha="f" * 40, head_at=None, etag='"x"')
    assert store.claim_poll("acme/rocket", "", "b", timedelta(minutes=10))
    clock.advance(timedelta(minutes=11))  # b died holding it
    assert store.claim_poll("acme/rocket", "", "a", timedelta(minutes=10))
    state = store.poll_state("acme/rocket", "")
    assert state is not None and state.head_sha == "f" * 40 and state.etag == '"x"'
    assert state.last_success_at == datetime(2026, 6, 1, 8, tzinfo=UTC)


def test_a_webhook_delivery_id_is_accepted_once(store: SqlAlertStore, clock: FakeClock) -> None:
    assert store.first_delivery("guid-1", timedelta(days=7))
    assert not store.first_delivery("guid-1", timedelta(days=7))
    store.forget_delivery("guid-1")
    assert store.first_delivery("guid-1", timedelta(days=7))
    clock.advance(timedelta(days=8))
    assert store.first_delivery("guid-2", timedelta(days=7))  # and guid-1 is forgotten
    assert store.first_delivery("guid-1", timedelta(days=7))


def test_a_version_6_database_gains_the_alert_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    first = SqlStore.open(url)
    with first.engine.begin() as conn:
        for table in ("alert_deliveries", "alert_parts", "alerted", "poll_state"):
            conn.execute(text(f"drop table {table}"))
        conn.execute(text("drop table webhook_deliveries"))
        conn.execute(text("alter table subscriptions drop column alerts"))
        conn.execute(
            text(
                "insert into subscriptions (platform, channel_id, repo, repo_key, at, timezone,"
                " days, language, min_importance, exclude_authors, exclude_paths, origin,"
                " active, active_since, created_at, updated_at) values ('slack', 'C1',"
                " 'acme/rocket', 'acme/rocket', '09:00', 'UTC', 'mon', 'en', 'low', '[]', '[]',"
                " 'config', 1, '2026-01-01', '2026-01-01', '2026-01-01')"
            )
        )
        conn.execute(text("update schema_meta set version = 6"))
    first.close()
    second = SqlStore.open(url)
    tables = set(inspect(second.engine).get_table_names())
    assert {"alert_deliveries", "alert_parts", "alerted", "poll_state"} <= tables
    (old,) = SqlSubscriptionStore(second.engine).active()
    assert old.spec.alerts == "off"
    second.close()
