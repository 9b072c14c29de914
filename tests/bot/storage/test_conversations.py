"""Message refs and processed inbound events, on a real SQLite file (migration v2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import inspect, text

from bot.storage import schema
from bot.storage.conversations import PostedMessage, SqlConversationStore
from bot.storage.sql import SqlStore

NOW = datetime(2026, 2, 8, 9, 0, tzinfo=UTC)
SHAS = ("a" * 40, "b" * 40)


def _store(path: Path) -> tuple[SqlStore, SqlConversationStore]:
    store = SqlStore.open(f"sqlite:///{path}")
    return store, SqlConversationStore(store.engine)


def test_migration_v2_creates_the_tables(tmp_path: Path) -> None:
    store, _ = _store(tmp_path / "db.sqlite")
    tables = set(inspect(store.engine).get_table_names())
    assert {"message_refs", "inbound_events"} <= tables
    assert schema.SCHEMA_VERSION >= 2
    store.close()


def test_a_v1_database_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    store, _ = _store(path)
    with store.engine.begin() as conn:
        conn.execute(text("drop table message_refs"))
        conn.execute(text("drop table inbound_events"))
        conn.execute(text("update schema_meta set version = 1"))
    store.close()
    store, conversations = _store(path)
    assert conversations.claim_event("slack", "Ev1", NOW)
    store.close()


def test_claim_event_is_once_per_platform_and_id_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    store, conversations = _store(path)
    assert conversations.claim_event("slack", "Ev1", NOW) is True
    assert conversations.claim_event("slack", "Ev1", NOW) is False
    assert conversations.claim_event("feishu", "Ev1", NOW) is True
    store.close()
    store, reopened = _store(path)
    assert reopened.claim_event("slack", "Ev1", NOW) is False
    store.close()


def test_prune_forgets_only_old_events(tmp_path: Path) -> None:
    store, conversations = _store(tmp_path / "db.sqlite")
    conversations.claim_event("slack", "old", NOW - timedelta(days=10))
    conversations.claim_event("slack", "new", NOW)
    assert conversations.prune_events(NOW - timedelta(days=7)) == 1
    assert conversations.claim_event("slack", "old", NOW) is True
    assert conversations.claim_event("slack", "new", NOW) is False
    store.close()


def test_thread_lookup_by_root_by_continuation_and_by_reply(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    store, conversations = _store(path)
    conversations.record_messages(
        [
            PostedMessage("slack", "C1", "100.1", None, "digest", 7, "acme/widget", SHAS, "zh"),
            PostedMessage("slack", "C1", "100.2", "100.1", "digest", 7, "acme/widget", SHAS, "zh"),
        ],
        NOW,
    )
    conversations.record_messages(
        [PostedMessage("slack", "C1", "100.3", "100.1", "details", None, "acme/widget", SHAS[:1])],
        NOW,
    )
    store.close()
    store, reopened = _store(path)  # after a restart
    for message_id in ("100.1", "100.2", "100.3"):
        thread = reopened.find_thread("slack", "C1", message_id)
        assert thread is not None, message_id
        assert thread.root_message_id == "100.1"
        assert thread.digest_id == 7
        assert thread.repo == "acme/widget"
        assert thread.shas == SHAS
        assert thread.language == "zh"
    assert reopened.find_thread("slack", "C2", "100.1") is None
    assert reopened.find_thread("discord", "C1", "100.1") is None
    assert reopened.find_thread("slack", "C1", "999.9") is None
    store.close()


def test_the_latest_digest_in_a_thread_wins(tmp_path: Path) -> None:
    store, conversations = _store(tmp_path / "db.sqlite")
    conversations.record_messages(
        [PostedMessage("console", "console", "m1", None, "digest", 1, "one/repo", SHAS[:1])], NOW
    )
    conversations.record_messages(
        [PostedMessage("console", "console", "m2", "m1", "digest", 2, "two/repo", SHAS[1:])], NOW
    )
    thread = conversations.find_thread("console", "console", "m1")
    assert thread is not None and thread.digest_id == 2 and thread.repo == "two/repo"
    store.close()
